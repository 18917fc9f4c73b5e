// gemma3: Gemma 3 text models (model-architectures.md §7).
//
//   x = token_embd[tok] * sqrt(n_embd)
//   per layer (local iff n_swa > 0 and il % pattern < pattern - 1):
//     a  = RMSNorm(x) * attn_norm
//     x += RMSNorm(Wo Attn(q, k, v)) * post_attention_norm
//          q_h = rope_neox(RMSNorm(Wq a)_h * q_norm), k likewise with k_norm,
//          local layers: window n_swa and RoPE base freq_base_swa (scale 1)
//     m  = RMSNorm(x) * ffn_norm
//     x += RMSNorm(down(gelu_tanh(gate m) * up m)) * post_ffw_norm
//   logits = output(RMSNorm(x) * output_norm), optional final softcap
//
// The GGUF norm weights already hold Gemma's (1 + w): they are used as stored.
#include <fmt/format.h>

#include <cmath>

#include "model/arch/arch.h"

namespace kiln {
namespace {

class Gemma3 final : public ArchModel {
 public:
  Gemma3(const ModelConfig& c, GlobalWeights g, std::vector<LayerWeights> layers)
      : global_(std::move(g)), layers_(std::move(layers)) {
    global_attn_.rope = global_rope(c, {});
    global_attn_.scale = c.attn_scale;
    local_attn_ = global_attn_;
    local_attn_.rope.freq_base = c.rope_freq_base_swa;
    local_attn_.rope.freq_scale = 1.0f;
    local_attn_.n_swa = c.n_swa;
  }

  void forward(Forward& f, std::vector<float>& logits) const override {
    embed_tokens(f, global_.token_embd, f.config.embd_scale, f.state.x.data());
    for (int64_t il = 0; il < f.config.n_layer; ++il) layer(f, il);
    output_head(f, global_, f.state.x.data(), logits);
  }

 private:
  void layer(Forward& f, int64_t il) const {
    const LayerWeights& w = layers_[static_cast<size_t>(il)];
    const AttentionSpec& attn = f.config.is_swa_layer(il) ? local_attn_ : global_attn_;
    float* x = f.state.x.data();
    float* cur = f.state.cur.data();
    float* out = f.state.out.data();
    rms_norm_rows(f, x, w.attn_norm, cur);
    attention_block(f, il, w, attn, cur, out);
    rms_norm_rows(f, out, w.post_attn_norm, out);
    add_residual(f, x, out);
    rms_norm_rows(f, x, w.ffn_norm, cur);
    ffn_block(f, w, FfnKind::kGeGluTanh, cur, out);
    rms_norm_rows(f, out, w.post_ffn_norm, out);
    add_residual(f, x, out);
  }

  GlobalWeights global_;
  std::vector<LayerWeights> layers_;
  AttentionSpec global_attn_;
  AttentionSpec local_attn_;
};

Status read_gemma3_keys(const gguf::GgufFile& file, ModelConfig& c) {
  if (file.has("gemma3.attention.sliding_window")) {
    KILN_ASSIGN_OR_RETURN(uint32_t n_swa, file.get_u32("gemma3.attention.sliding_window"));
    c.n_swa = n_swa;
  }
  c.swa_pattern = 6;
  if (file.has("gemma3.attention.sliding_window_pattern")) {
    KILN_ASSIGN_OR_RETURN(uint32_t p, file.get_u32("gemma3.attention.sliding_window_pattern"));
    if (p == 0) return Status::error("gemma3.attention.sliding_window_pattern must be positive");
    c.swa_pattern = p;
  }
  c.rope_freq_base_swa = 10000.0f;
  if (file.has("gemma3.rope.freq_base_swa")) {
    KILN_ASSIGN_OR_RETURN(c.rope_freq_base_swa, file.get_f32("gemma3.rope.freq_base_swa"));
    if (!(c.rope_freq_base_swa > 0.0f && std::isfinite(c.rope_freq_base_swa))) {
      return Status::error("gemma3.rope.freq_base_swa must be positive");
    }
  }
  if (file.has("gemma3.final_logit_softcapping")) {
    KILN_ASSIGN_OR_RETURN(c.final_logit_softcap, file.get_f32("gemma3.final_logit_softcapping"));
    if (!(c.final_logit_softcap >= 0.0f && std::isfinite(c.final_logit_softcap))) {
      return Status::error("gemma3.final_logit_softcapping must be >= 0");
    }
  }
  return Status::ok();
}

}  // namespace

Result<std::unique_ptr<ArchModel>> load_gemma3(const gguf::GgufFile& file, ModelConfig& c) {
  KILN_TRY(reject_moe(file, c));
  KILN_TRY(read_gemma3_keys(file, c));
  c.rope_mode = cpu::RopeMode::kNeox;
  c.ffn = FfnKind::kGeGluTanh;
  c.embd_scale = std::sqrt(static_cast<float>(c.n_embd));
  // HF query_pre_attn_scalar: n_embd / n_head on the 27B (62 layers), else head_dim.
  c.attn_scale = c.n_layer == 62 ? 1.0f / std::sqrt(static_cast<float>(c.n_embd / c.n_head))
                                 : 1.0f / std::sqrt(static_cast<float>(c.head_dim));
  const WeightBinder b(file);
  KILN_ASSIGN_OR_RETURN(GlobalWeights g, bind_globals(b, c));
  KILN_ASSIGN_OR_RETURN(auto layers, bind_layers(b, c, {.qk_norm = true, .post_norms = true}));
  return std::unique_ptr<ArchModel>(new Gemma3(c, std::move(g), std::move(layers)));
}

}  // namespace kiln
