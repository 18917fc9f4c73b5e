// phi3: Phi-3 / Phi-3.5 / Phi-4-mini (model-architectures.md §8).
//
//   per layer:  [q; k; v] = attn_qkv n  (fused; separate q/k/v accepted)
//               x += Wo Attn(rope_neox(q), rope_neox(k), v),   n = RMSNorm(x) * attn_norm
//               [g; u] = ffn_up m (gate rows first),            m = RMSNorm(x) * ffn_norm
//               x += down(silu(g) * u)
// RoPE NEOX over the first n_rot dims (partial rotary allowed). Sliding window
// is ignored, as llama.cpp does. LongRoPE: the *short* factors are used (kiln
// does not switch factors by context size yet), with rope.scaling.attn_factor.
#include "model/arch/arch.h"

namespace kiln {
namespace {

class Phi3 final : public ArchModel {
 public:
  Phi3(const ModelConfig& c, GlobalWeights g, std::vector<LayerWeights> layers)
      : global_(std::move(g)), layers_(std::move(layers)) {
    attn_.rope = global_rope(c, global_.rope_freqs);
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
    attention_block(f, il, w, attn_, cur, out);
    add_residual(f, x, out);
    rms_norm_rows(f, x, w.ffn_norm, cur);
    ffn_block(f, w, FfnKind::kSwiGlu, cur, out);  // fused gate/up
    add_residual(f, x, out);
  }

  GlobalWeights global_;
  std::vector<LayerWeights> layers_;
  AttentionSpec attn_;
};

}  // namespace

Result<std::unique_ptr<ArchModel>> load_phi3(const gguf::GgufFile& file, ModelConfig& c) {
  KILN_TRY(reject_moe(file, c));
  c.rope_mode = cpu::RopeMode::kNeox;
  c.ffn = FfnKind::kSwiGlu;
  const WeightBinder b(file);
  KILN_ASSIGN_OR_RETURN(GlobalWeights g, bind_globals(b, c));
  KILN_ASSIGN_OR_RETURN(g.rope_freqs, b.optional_vector("rope_factors_short.weight", c.n_rot / 2));
  KILN_ASSIGN_OR_RETURN(auto layers, bind_layers(b, c, {.fused_qkv = true, .fused_gate_up = true}));
  return std::unique_ptr<ArchModel>(new Phi3(c, std::move(g), std::move(layers)));
}

}  // namespace kiln
