// Reading and validating the common hyperparameters (model-architectures.md §2).
#include "model/config.h"

#include <fmt/format.h>

#include <cmath>
#include <optional>

namespace kiln {
namespace {

constexpr int64_t kMaxDim = int64_t{1} << 20;  // n_embd, n_ff, vocab sanity bound
constexpr int64_t kMaxLayers = 4096;
constexpr int64_t kMaxHeads = 4096;
constexpr int64_t kMaxHeadDim = 1024;  // cpu::rope handles up to 512 pairs

struct Keys {
  const gguf::GgufFile& file;
  std::string prefix;  // "{arch}."
  std::string key(std::string_view name) const { return prefix + std::string(name); }
};

// A u32 key, or an array of u32/i32 whose elements are all equal (per-layer
// arrays with one value). `fallback` when absent (nullopt: required).
Result<int64_t> read_count(const Keys& k, std::string_view name, std::optional<int64_t> fallback) {
  const std::string key = k.key(name);
  const gguf::Value* v = k.file.find(key);
  if (v == nullptr) {
    if (fallback) return *fallback;
    return Status::error(fmt::format("key '{}' is missing", key));
  }
  if (v->type() != gguf::ValueType::ARRAY) {
    KILN_ASSIGN_OR_RETURN(uint32_t u, k.file.get_u32(key));
    return static_cast<int64_t>(u);
  }
  const auto& arr = std::get<gguf::ArrayValue>(v->v);
  if (arr.items.empty()) return Status::error(fmt::format("key '{}' is an empty array", key));
  int64_t first = -1;
  for (const gguf::Value& item : arr.items) {
    int64_t x = -1;
    if (const auto* u = std::get_if<uint32_t>(&item.v)) x = *u;
    if (const auto* i = std::get_if<int32_t>(&item.v)) x = *i;
    if (x < 0) return Status::error(fmt::format("key '{}' must hold u32 values", key));
    if (first >= 0 && x != first) {
      return Status::error(
          fmt::format("key '{}': per-layer values that differ are not supported", key));
    }
    first = x;
  }
  return first;
}

Result<float> read_f32(const Keys& k, std::string_view name, std::optional<float> fallback) {
  const std::string key = k.key(name);
  if (!k.file.has(key)) {
    if (fallback) return *fallback;
    return Status::error(fmt::format("key '{}' is missing", key));
  }
  KILN_ASSIGN_OR_RETURN(float f, k.file.get_f32(key));
  if (!std::isfinite(f)) return Status::error(fmt::format("key '{}' is not finite", key));
  return f;
}

Status check_range(std::string_view what, int64_t v, int64_t lo, int64_t hi) {
  if (v < lo || v > hi) {
    return Status::error(fmt::format("{} = {} is out of range [{}, {}]", what, v, lo, hi));
  }
  return Status::ok();
}

Result<float> read_rope_scale(const Keys& k) {
  std::string type = "linear";
  if (k.file.has(k.key("rope.scaling.type"))) {
    KILN_ASSIGN_OR_RETURN(type, k.file.get_string(k.key("rope.scaling.type")));
  }
  if (type != "none" && type != "linear" && type != "longrope") {
    return Status::error(fmt::format("key '{}' = '{}' is not supported (none, linear, longrope)",
                                     k.key("rope.scaling.type"), type));
  }
  float factor = 0.0f;
  if (k.file.has(k.key("rope.scaling.factor"))) {
    KILN_ASSIGN_OR_RETURN(factor, read_f32(k, "rope.scaling.factor", std::nullopt));
  } else if (k.file.has(k.key("rope.scale_linear"))) {
    KILN_ASSIGN_OR_RETURN(factor, read_f32(k, "rope.scale_linear", std::nullopt));
  }
  if (type == "none" || factor == 0.0f) return 1.0f;
  if (factor < 0.0f) return Status::error("rope scaling factor must be positive");
  return 1.0f / factor;
}

Status read_sizes(const Keys& k, ModelConfig& c) {
  KILN_ASSIGN_OR_RETURN(c.n_ctx_train, read_count(k, "context_length", std::nullopt));
  KILN_ASSIGN_OR_RETURN(c.n_embd, read_count(k, "embedding_length", std::nullopt));
  KILN_ASSIGN_OR_RETURN(c.n_layer, read_count(k, "block_count", std::nullopt));
  KILN_ASSIGN_OR_RETURN(c.n_ff, read_count(k, "feed_forward_length", std::nullopt));
  KILN_ASSIGN_OR_RETURN(c.n_head, read_count(k, "attention.head_count", std::nullopt));
  KILN_TRY(check_range(k.key("embedding_length"), c.n_embd, 1, kMaxDim));
  KILN_TRY(check_range(k.key("block_count"), c.n_layer, 1, kMaxLayers));
  KILN_TRY(check_range(k.key("feed_forward_length"), c.n_ff, 1, kMaxDim));
  KILN_TRY(check_range(k.key("attention.head_count"), c.n_head, 1, kMaxHeads));
  KILN_TRY(check_range(k.key("context_length"), c.n_ctx_train, 1, int64_t{1} << 31));
  KILN_ASSIGN_OR_RETURN(c.n_head_kv, read_count(k, "attention.head_count_kv", c.n_head));
  KILN_TRY(check_range(k.key("attention.head_count_kv"), c.n_head_kv, 1, c.n_head));
  if (c.n_head % c.n_head_kv != 0) {
    return Status::error(
        fmt::format("head_count {} is not a multiple of head_count_kv {}", c.n_head, c.n_head_kv));
  }
  const int64_t default_hd = c.n_embd / c.n_head;
  KILN_ASSIGN_OR_RETURN(c.head_dim, read_count(k, "attention.key_length", default_hd));
  KILN_TRY(check_range(k.key("attention.key_length"), c.head_dim, 2, kMaxHeadDim));
  KILN_ASSIGN_OR_RETURN(int64_t v_dim, read_count(k, "attention.value_length", c.head_dim));
  if (v_dim != c.head_dim) {
    return Status::error(fmt::format("{} = {} differs from key_length {} (not supported)",
                                     k.key("attention.value_length"), v_dim, c.head_dim));
  }
  return Status::ok();
}

Status read_rope_and_norm(const Keys& k, ModelConfig& c) {
  KILN_ASSIGN_OR_RETURN(c.norm_eps, read_f32(k, "attention.layer_norm_rms_epsilon", std::nullopt));
  if (!(c.norm_eps > 0.0f && c.norm_eps < 1.0f)) {
    return Status::error(fmt::format("{} = {} must be in (0, 1)",
                                     k.key("attention.layer_norm_rms_epsilon"), c.norm_eps));
  }
  KILN_ASSIGN_OR_RETURN(c.n_rot, read_count(k, "rope.dimension_count", c.head_dim));
  if (c.n_rot <= 0 || c.n_rot % 2 != 0 || c.n_rot > c.head_dim) {
    return Status::error(fmt::format("{} = {} must be even and in [2, head_dim {}]",
                                     k.key("rope.dimension_count"), c.n_rot, c.head_dim));
  }
  KILN_ASSIGN_OR_RETURN(c.rope_freq_base, read_f32(k, "rope.freq_base", 10000.0f));
  if (!(c.rope_freq_base > 0.0f)) {
    return Status::error(fmt::format("{} must be positive", k.key("rope.freq_base")));
  }
  KILN_ASSIGN_OR_RETURN(c.rope_freq_scale, read_rope_scale(k));
  KILN_ASSIGN_OR_RETURN(c.rope_attn_factor, read_f32(k, "rope.scaling.attn_factor", 1.0f));
  return Status::ok();
}

}  // namespace

Result<ModelConfig> read_common_config(const gguf::GgufFile& file) {
  ModelConfig c;
  KILN_ASSIGN_OR_RETURN(c.arch, file.get_string("general.architecture"));
  if (file.has("general.name")) {
    KILN_ASSIGN_OR_RETURN(c.name, file.get_string("general.name"));
  }
  const Keys k{file, c.arch + "."};
  KILN_TRY(read_sizes(k, c));
  KILN_TRY(read_rope_and_norm(k, c));
  if (file.has("tokenizer.ggml.tokens")) {
    KILN_ASSIGN_OR_RETURN(const gguf::ArrayValue* tokens,
                          file.get_array("tokenizer.ggml.tokens", gguf::ValueType::STRING));
    c.n_vocab = static_cast<int64_t>(tokens->items.size());
  } else if (const gguf::TensorInfo* t = file.find_tensor("token_embd.weight")) {
    c.n_vocab = t->ne[1];
  }
  KILN_TRY(check_range("n_vocab", c.n_vocab, 1, int64_t{1} << 24));
  c.attn_scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
  return c;
}

std::string describe(const ModelConfig& c) {
  std::string s = fmt::format(
      "{}: {} layers, n_embd {}, {}/{} heads x {}, n_ff {}, vocab {}, ctx {}, rope base {} "
      "scale {} dims {}{}, eps {}",
      c.arch, c.n_layer, c.n_embd, c.n_head, c.n_head_kv, c.head_dim, c.n_ff, c.n_vocab,
      c.n_ctx_train, c.rope_freq_base, c.rope_freq_scale, c.n_rot,
      c.rope_mode == cpu::RopeMode::kNeox ? " neox" : "", c.norm_eps);
  if (c.n_swa > 0) {
    s += fmt::format(", swa {} pattern {} base {}", c.n_swa, c.swa_pattern, c.rope_freq_base_swa);
  }
  if (c.final_logit_softcap > 0) s += fmt::format(", logit softcap {}", c.final_logit_softcap);
  if (c.tied_embeddings) s += ", tied embeddings";
  return s;
}

}  // namespace kiln
