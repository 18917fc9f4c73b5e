// llama: Llama 1/2/3, Mistral, SmolLM, TinyLlama, llama2.c stories
// (model-architectures.md §4).
//
//   x = token_embd[tok]
//   per layer:  x += Wo Attn(rope_norm(Wq n), rope_norm(Wk n), Wv n),  n = RMSNorm(x) * attn_norm
//               x += down(silu(gate m) * up m),                        m = RMSNorm(x) * ffn_norm
//   logits = output (RMSNorm(x) * output_norm)
//
// RoPE NORM mode (adjacent pairs) over the whole head; Llama 3.1+ divides theta
// by rope_freqs.weight. Attention scale 1/sqrt(head_dim). Biases optional.
#include <fmt/format.h>

#include "model/arch/arch.h"

namespace kiln {
namespace {

class Llama final : public ArchModel {
 public:
  Llama(const ModelConfig& c, GlobalWeights g, std::vector<LayerWeights> layers)
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
    ffn_block(f, w, FfnKind::kSwiGlu, cur, out);
    add_residual(f, x, out);
  }

  GlobalWeights global_;
  std::vector<LayerWeights> layers_;
  AttentionSpec attn_;
};

}  // namespace

Result<std::unique_ptr<ArchModel>> load_llama(const gguf::GgufFile& file, ModelConfig& c) {
  KILN_TRY(reject_moe(file, c));
  c.rope_mode = cpu::RopeMode::kNorm;
  c.ffn = FfnKind::kSwiGlu;
  if (c.n_rot != c.head_dim) {
    return Status::error(
        fmt::format("llama.rope.dimension_count = {} must equal head_dim {}", c.n_rot, c.head_dim));
  }
  const WeightBinder b(file);
  KILN_ASSIGN_OR_RETURN(GlobalWeights g, bind_globals(b, c));
  KILN_ASSIGN_OR_RETURN(g.rope_freqs, b.optional_vector("rope_freqs.weight", c.n_rot / 2));
  KILN_ASSIGN_OR_RETURN(auto layers,
                        bind_layers(b, c, {.optional_biases = true, .fused_qkv = true}));
  return std::unique_ptr<ArchModel>(new Llama(c, std::move(g), std::move(layers)));
}

}  // namespace kiln
