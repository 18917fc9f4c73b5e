// ModelConfig: the hyperparameters of one model, read from GGUF metadata and
// validated at load (../shared/docs/model-architectures.md §2, §4-§8).
//
// Common keys are read by read_common_config(); each architecture file in
// arch/ then adds its own keys and sets the per-arch constants (rope mode,
// attention scale, ...). After load every field is consistent: the forward
// pass never re-checks them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "backend/cpu/ops.h"
#include "core/status.h"
#include "gguf/gguf.h"

namespace kiln {

enum class FfnKind {
  kSwiGlu,     // down(silu(gate x) * up x)           llama, qwen2, qwen3, phi3
  kGeGluTanh,  // down(gelu_tanh(gate x) * up x)      gemma3
};

struct ModelConfig {
  std::string arch;  // general.architecture, e.g. "llama"
  std::string name;  // general.name, or "" when absent

  int64_t n_vocab = 0;  // length of tokenizer.ggml.tokens, else token_embd ne1
  int64_t n_embd = 0;   // {arch}.embedding_length
  int64_t n_layer = 0;  // {arch}.block_count
  int64_t n_head = 0;   // {arch}.attention.head_count
  int64_t n_head_kv =
      0;                 // {arch}.attention.head_count_kv (default n_head); n_head % n_head_kv == 0
  int64_t head_dim = 0;  // {arch}.attention.key_length (default n_embd / n_head) == value_length
  int64_t n_ff = 0;      // {arch}.feed_forward_length
  int64_t n_ctx_train = 0;  // {arch}.context_length
  float norm_eps = 0;       // {arch}.attention.layer_norm_rms_epsilon

  // RoPE (§3.2). n_rot <= head_dim, even.
  cpu::RopeMode rope_mode = cpu::RopeMode::kNorm;
  int64_t n_rot = 0;               // {arch}.rope.dimension_count (default head_dim)
  float rope_freq_base = 10000.f;  // {arch}.rope.freq_base
  float rope_freq_scale = 1.f;     // 1 / {arch}.rope.scaling.factor (linear), else 1
  float rope_attn_factor = 1.f;    // {arch}.rope.scaling.attn_factor

  // Sliding-window attention (gemma3). n_swa == 0: every layer is global.
  int64_t n_swa = 0;                   // window: a query sees at most n_swa keys incl. itself
  int64_t swa_pattern = 0;             // layer il is local iff (il % swa_pattern) < swa_pattern - 1
  float rope_freq_base_swa = 10000.f;  // RoPE base of local layers (freq_scale 1 there)

  FfnKind ffn = FfnKind::kSwiGlu;
  float attn_scale = 0;    // multiplies q.k (1/sqrt(head_dim) unless the arch says otherwise)
  float embd_scale = 1.f;  // multiplies token embeddings (gemma3: sqrt(n_embd))
  float final_logit_softcap = 0;  // 0 = off, else logits = cap * tanh(logits / cap)
  float attn_logit_softcap = 0;   // 0 = off, else scores = cap * tanh(scores / cap)
  bool tied_embeddings = false;   // no output.weight: the head is token_embd

  int64_t q_dim() const { return n_head * head_dim; }      // width of Q (may differ from n_embd)
  int64_t kv_dim() const { return n_head_kv * head_dim; }  // width of K and of V
  bool is_swa_layer(int64_t il) const {
    return n_swa > 0 && swa_pattern > 0 && (il % swa_pattern) < swa_pattern - 1;
  }
};

// Reads general.architecture and the common keys of §2 for `arch`, applies
// the documented defaults and checks them (positive sizes, n_head % n_head_kv,
// n_rot even and <= head_dim, known rope scaling type, eps > 0). Errors name
// the key. Arch-specific fields keep their defaults.
Result<ModelConfig> read_common_config(const gguf::GgufFile& file);

// "llama: 30 layers, n_embd 576, 9/3 heads x 64, n_ff 1536, vocab 49152, ..." for logs.
std::string describe(const ModelConfig& config);

}  // namespace kiln
