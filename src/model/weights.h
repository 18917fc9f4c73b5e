// Binding GGUF tensors to the fields of an architecture's weight struct, with
// the name, type and shape of each checked (model-architectures.md §4-§8).
//
// Matrices stay in the mapped file in their stored type; vectors (norms,
// biases, rope factors) are copied to F32. An error names the tensor, what was
// expected and what the file holds.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/ggml_type.h"
#include "core/status.h"
#include "gguf/gguf.h"

namespace kiln {

// A weight matrix of `rows` rows of `cols` elements (GGUF ne = [cols, rows]),
// row-major in `type`, borrowed from the mapped file. data == nullptr: absent.
struct Matrix {
  const void* data = nullptr;
  GgmlType type = GgmlType::F32;
  int64_t cols = 0;  // ne0, the input width
  int64_t rows = 0;  // ne1, the output width
  size_t row_bytes = 0;
  bool present() const { return data != nullptr; }
  const uint8_t* row(int64_t r) const { return static_cast<const uint8_t*>(data) + r * row_bytes; }
};

// An F32 vector; empty: absent.
using Vec = std::vector<float>;

// The per-layer tensors every supported architecture draws from; each arch
// binds the subset it uses and leaves the rest absent.
struct LayerWeights {
  Vec attn_norm;            // [n_embd]
  Matrix wq, wk, wv;        // [n_embd -> q_dim], [n_embd -> kv_dim] x2
  Matrix wqkv;              // fused [n_embd -> q_dim + 2 kv_dim] (phi3)
  Vec bq, bk, bv;           // [q_dim], [kv_dim], [kv_dim] (qwen2)
  Vec q_norm, k_norm;       // [head_dim] (qwen3, gemma3)
  Matrix wo;                // [q_dim -> n_embd]
  Vec bo;                   // [n_embd]
  Vec post_attn_norm;       // [n_embd] (gemma3)
  Vec ffn_norm;             // [n_embd]
  Matrix ffn_gate, ffn_up;  // [n_embd -> n_ff]
  Matrix ffn_gate_up;       // fused [n_embd -> 2 n_ff], gate rows first (phi3)
  Matrix ffn_down;          // [n_ff -> n_embd]
  Vec post_ffn_norm;        // [n_embd] (gemma3)
};

// The global tensors.
struct GlobalWeights {
  Matrix token_embd;  // [n_embd, n_vocab]: row t is token t's embedding
  Vec output_norm;    // [n_embd]
  Matrix output;      // [n_embd -> n_vocab]; token_embd when tied
  Vec output_bias;    // [n_vocab] (qwen2, optional)
  Vec rope_freqs;     // [n_rot/2] (llama3) or the chosen longrope factors (phi3)
};

class WeightBinder {
 public:
  explicit WeightBinder(const gguf::GgufFile& file) : file_(file) {}

  // A 2-D tensor ne = [cols, rows] of a type the CPU matmul supports, cols a
  // multiple of the type's block size.
  Result<Matrix> matrix(std::string_view name, int64_t cols, int64_t rows) const;
  Result<Matrix> optional_matrix(std::string_view name, int64_t cols, int64_t rows) const;
  // A 1-D tensor of n elements (any dequantizable type), converted to F32.
  Result<Vec> vector(std::string_view name, int64_t n) const;
  Result<Vec> optional_vector(std::string_view name, int64_t n) const;
  bool has(std::string_view name) const { return file_.find_tensor(name) != nullptr; }

  static std::string layer_name(int64_t il, std::string_view name);  // "blk.{il}.{name}"

 private:
  const gguf::GgufFile& file_;
};

}  // namespace kiln
