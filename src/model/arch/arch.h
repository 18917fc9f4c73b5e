// The architecture interface and registry. Each file in this folder holds one
// architecture: its hyperparameter keys, its tensor list and its forward pass.
// registry.cpp maps general.architecture to the file's loader; nothing outside
// this folder switches on the architecture.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "gguf/gguf.h"
#include "model/blocks.h"
#include "model/config.h"
#include "model/weights.h"

namespace kiln {

class ArchModel {
 public:
  virtual ~ArchModel() = default;
  // The whole forward pass of f.batch (already accepted by the cache); fills
  // logits [n_wanted][n_vocab]. Cannot fail: everything was validated at load.
  virtual void forward(Forward& f, std::vector<float>& logits) const = 0;
};

// Reads the arch's own keys into `config` (common keys already read), sets its
// constants (rope mode, scales, FFN kind), validates, and binds every tensor.
using ArchLoadFn = Result<std::unique_ptr<ArchModel>> (*)(const gguf::GgufFile& file,
                                                          ModelConfig& config);

struct ArchEntry {
  std::string_view name;  // general.architecture
  ArchLoadFn load;
};

const ArchEntry* find_arch(std::string_view name);  // nullptr if unsupported
std::string supported_arch_names();                 // "llama, qwen2, ..."

// The loaders (one per file).
Result<std::unique_ptr<ArchModel>> load_llama(const gguf::GgufFile& file, ModelConfig& config);
Result<std::unique_ptr<ArchModel>> load_qwen2(const gguf::GgufFile& file, ModelConfig& config);
Result<std::unique_ptr<ArchModel>> load_qwen3(const gguf::GgufFile& file, ModelConfig& config);
Result<std::unique_ptr<ArchModel>> load_gemma3(const gguf::GgufFile& file, ModelConfig& config);
Result<std::unique_ptr<ArchModel>> load_phi3(const gguf::GgufFile& file, ModelConfig& config);

// ---- Binding helpers shared by the arch files (common.cpp) ----

// token_embd [n_embd, n_vocab], output_norm [n_embd], output [n_embd, n_vocab]
// or tied to token_embd (sets config.tied_embeddings), optional output.bias.
Result<GlobalWeights> bind_globals(const WeightBinder& b, ModelConfig& config);

// Which per-layer tensors an architecture has.
struct LayerTensors {
  bool qkv_bias = false;         // attn_{q,k,v}.bias required (qwen2)
  bool optional_biases = false;  // attn_{q,k,v,output}.bias accepted if present (llama)
  bool qk_norm = false;          // attn_{q,k}_norm [head_dim] (qwen3, gemma3)
  bool post_norms = false;       // post_attention_norm, post_ffw_norm (gemma3)
  bool fused_qkv = false;        // attn_qkv accepted instead of attn_q/k/v (llama, phi3)
  bool fused_gate_up = false;    // ffn_up [n_embd, 2 n_ff] holds gate and up (phi3)
};
Result<std::vector<LayerWeights>> bind_layers(const WeightBinder& b, const ModelConfig& config,
                                              const LayerTensors& spec);

// Rejects keys of features this build does not implement (MoE experts).
Status reject_moe(const gguf::GgufFile& file, const ModelConfig& config);

// The rope parameters of a layer using the global base and scale.
cpu::RopeParams global_rope(const ModelConfig& config, const Vec& freq_factors);

}  // namespace kiln
