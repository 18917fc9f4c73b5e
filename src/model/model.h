// Model: a GGUF model file bound to its architecture, ready to run forward
// passes on the CPU.
//
//   KILN_ASSIGN_OR_RETURN(auto model, Model::load(path, {.n_threads = 2}));
//   KILN_ASSIGN_OR_RETURN(auto cache, model->make_kv_cache(/*n_seq=*/1, /*n_ctx=*/2048));
//   Batch batch;  // the prompt, logits for its last token only
//   for (int i = 0; i < n; ++i) batch.add(ids[i], i, 0, i == n - 1);
//   std::vector<float> logits;  // [n_wanted][n_vocab]
//   KILN_TRY(model->forward(batch, *cache, logits));
//
// load() validates every hyperparameter and the name, type and shape of every
// tensor the architecture needs; an error names the key or tensor. Weights stay
// memory-mapped in their stored (quantized) type; small vectors (norms, biases)
// are copied to F32 at load. The architecture is chosen by general.architecture
// through a registry (model/arch/registry.h); nothing else switches on it.
//
// Thread-safety: load() is thread-safe. A Model owns a thread pool and scratch
// buffers: forward() must be called from one thread at a time. config() and
// file() are immutable and safe to read from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/ggml_type.h"
#include "core/status.h"
#include "gguf/gguf.h"
#include "model/batch.h"
#include "model/config.h"
#include "model/kv_cache.h"

namespace kiln {

enum class MatmulMode {
  kFast,       // cpu::matmul: SIMD, activations quantized to the weight's dot partner like
               // ggml (matches llama.cpp's `default` numerics)
  kReference,  // cpu::matmul_reference: exact F32 math on dequantized weights (`f32ref`)
};

enum class AttentionMode {
  kExact,  // F32 scores, softmax and V accumulation: the most accurate (default)
  // llama.cpp's CPU flash-attention numerics (golden `default` parity): for
  // batches of fewer than 64 queries q, k, v are rounded to F16 and V is
  // accumulated in F16 (cpu::attention_f16acc); larger batches as kExact.
  kGgmlF16,
};

struct LoadOptions {
  int n_threads = 1;  // >= 1; the forward pass splits matmuls over them
  MatmulMode matmul = MatmulMode::kFast;
  AttentionMode attention = AttentionMode::kExact;
  GgmlType kv_type = GgmlType::F32;  // make_kv_cache's storage type: F32 or F16
};

class ArchModel;  // model/arch/arch.h: one architecture's weights and forward pass
class ForwardState;

class Model {
 public:
  // Opens, validates and binds `path`. Errors are prefixed with the path.
  static Result<std::unique_ptr<Model>> load(const std::string& path,
                                             const LoadOptions& options = {});
  ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  const ModelConfig& config() const { return config_; }
  const gguf::GgufFile& file() const { return file_; }
  const LoadOptions& options() const { return options_; }

  // A ContiguousKvCache sized for this model (options().kv_type). n_ctx may
  // exceed n_ctx_train (no context extension is applied; quality may drop).
  Result<std::unique_ptr<KvCache>> make_kv_cache(int32_t n_seq_max, int32_t n_ctx) const;

  // Runs the batch. Validates it first (equal lengths, non-empty, token ids in
  // [0, n_vocab), positions/sequences accepted by cache.begin_batch, cache
  // geometry equal to this model's). On success `logits` is resized to
  // [n_wanted][n_vocab], row-major, wanted entries in batch order. On a
  // validation error nothing changed; forward never fails after validation.
  Status forward(const Batch& batch, KvCache& cache, std::vector<float>& logits);

 private:
  Model(gguf::GgufFile file, ModelConfig config, LoadOptions options);

  gguf::GgufFile file_;
  ModelConfig config_;
  LoadOptions options_;
  std::unique_ptr<ArchModel> arch_;
  std::unique_ptr<ForwardState> state_;
};

}  // namespace kiln
