// qwen3: Qwen3 dense models (model-architectures.md §6).
//
// The qwen2 block without biases plus QK-norm: each Q and K head vector is
// RMS-normalized (weights attn_q_norm / attn_k_norm [head_dim], shared by the
// heads) after projection and before RoPE NEOX:
//   q_h = rope_neox(RMSNorm(Wq n)_h * q_norm),  k_h = rope_neox(RMSNorm(Wk n)_h * k_norm)
// Q width n_head * head_dim may differ from n_embd.
#include "model/arch/arch.h"

namespace kiln {
namespace {

class Qwen3 final : public ArchModel {
 public:
  Qwen3(const ModelConfig& c, GlobalWeights g, std::vector<LayerWeights> layers)
      : global_(std::move(g)), layers_(std::move(layers)) {
    attn_.rope = global_rope(c, {});
    attn_.scale = c.attn_scale;
  }

  void forward(Forward& f, std::vector<float>& logits) const override {
    embed_tokens(f, global_.token_embd, 1.0f, f.state.x.data());
    for (int64_t il = 0; il < f.config.n_layer; ++il) layer(f, il);
    output_head(f, global_, f.state.x.data(), logits);
  }

 private:
  void layer(Forward& f, int64_t il) const {
    const LayerWeights& w = layers_[static_cast<size_t>(il)];
    float* x = f.state.x.data();
    float* cur = f.state.cur.data();
    float* out = f.state.out.data();
    rms_norm_rows(f, x, w.attn_norm, cur);
    attention_block(f, il, w, attn_, cur, out);  // QK-norm: w.q_norm / w.k_norm are bound
    add_residual(f, x, out);
    rms_norm_rows(f, x, w.ffn_norm, cur);
    ffn_block(f, w, FfnKind::kSwiGlu, cur, out);
    add_residual(f, x, out);
  }

  GlobalWeights global_;
  std::vector<LayerWeights> layers_;
  AttentionSpec attn_;
};

}  // namespace

Result<std::unique_ptr<ArchModel>> load_qwen3(const gguf::GgufFile& file, ModelConfig& c) {
  KILN_TRY(reject_moe(file, c));
  c.rope_mode = cpu::RopeMode::kNeox;
  c.ffn = FfnKind::kSwiGlu;
  const WeightBinder b(file);
  KILN_ASSIGN_OR_RETURN(GlobalWeights g, bind_globals(b, c));
  KILN_ASSIGN_OR_RETURN(auto layers, bind_layers(b, c, {.qk_norm = true}));
  return std::unique_ptr<ArchModel>(new Qwen3(c, std::move(g), std::move(layers)));
}

}  // namespace kiln
