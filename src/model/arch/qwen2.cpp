// qwen2: Qwen2 / Qwen2.5 (model-architectures.md §5).
//
// The llama block with RoPE NEOX (half-split pairs), Q/K/V biases and an
// optional output bias:
//   per layer:  x += Wo Attn(rope_neox(Wq n + bq), rope_neox(Wk n + bk), Wv n + bv)
//               x += down(silu(gate m) * up m)
// Attention scale 1/sqrt(head_dim); tied embeddings on the small models.
#include "model/arch/arch.h"

namespace kiln {
namespace {

class Qwen2 final : public ArchModel {
 public:
  Qwen2(const ModelConfig& c, GlobalWeights g, std::vector<LayerWeights> layers)
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
    attention_block(f, il, w, attn_, cur, out);
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

Result<std::unique_ptr<ArchModel>> load_qwen2(const gguf::GgufFile& file, ModelConfig& c) {
  KILN_TRY(reject_moe(file, c));
  c.rope_mode = cpu::RopeMode::kNeox;
  c.ffn = FfnKind::kSwiGlu;
  const WeightBinder b(file);
  KILN_ASSIGN_OR_RETURN(GlobalWeights g, bind_globals(b, c));
  KILN_ASSIGN_OR_RETURN(auto layers, bind_layers(b, c, {.qkv_bias = true}));
  return std::unique_ptr<ArchModel>(new Qwen2(c, std::move(g), std::move(layers)));
}

}  // namespace kiln
