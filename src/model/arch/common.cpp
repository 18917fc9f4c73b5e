// Binding helpers shared by the architecture files.
#include <fmt/format.h>

#include "model/arch/arch.h"

namespace kiln {
namespace {

Status bind_attention(const WeightBinder& b, const ModelConfig& c, int64_t il,
                      const LayerTensors& spec, LayerWeights& w) {
  auto name = [&](std::string_view n) { return WeightBinder::layer_name(il, n); };
  const int64_t qd = c.q_dim(), kvd = c.kv_dim();
  if (spec.fused_qkv && b.has(name("attn_qkv.weight"))) {
    KILN_ASSIGN_OR_RETURN(w.wqkv, b.matrix(name("attn_qkv.weight"), c.n_embd, qd + 2 * kvd));
  } else {
    KILN_ASSIGN_OR_RETURN(w.wq, b.matrix(name("attn_q.weight"), c.n_embd, qd));
    KILN_ASSIGN_OR_RETURN(w.wk, b.matrix(name("attn_k.weight"), c.n_embd, kvd));
    KILN_ASSIGN_OR_RETURN(w.wv, b.matrix(name("attn_v.weight"), c.n_embd, kvd));
  }
  KILN_ASSIGN_OR_RETURN(w.wo, b.matrix(name("attn_output.weight"), qd, c.n_embd));
  if (spec.qkv_bias) {
    KILN_ASSIGN_OR_RETURN(w.bq, b.vector(name("attn_q.bias"), qd));
    KILN_ASSIGN_OR_RETURN(w.bk, b.vector(name("attn_k.bias"), kvd));
    KILN_ASSIGN_OR_RETURN(w.bv, b.vector(name("attn_v.bias"), kvd));
  } else if (spec.optional_biases && !w.wqkv.present()) {
    KILN_ASSIGN_OR_RETURN(w.bq, b.optional_vector(name("attn_q.bias"), qd));
    KILN_ASSIGN_OR_RETURN(w.bk, b.optional_vector(name("attn_k.bias"), kvd));
    KILN_ASSIGN_OR_RETURN(w.bv, b.optional_vector(name("attn_v.bias"), kvd));
  }
  if (spec.optional_biases) {
    KILN_ASSIGN_OR_RETURN(w.bo, b.optional_vector(name("attn_output.bias"), c.n_embd));
  }
  if (spec.qk_norm) {
    KILN_ASSIGN_OR_RETURN(w.q_norm, b.vector(name("attn_q_norm.weight"), c.head_dim));
    KILN_ASSIGN_OR_RETURN(w.k_norm, b.vector(name("attn_k_norm.weight"), c.head_dim));
  }
  return Status::ok();
}

Status bind_ffn(const WeightBinder& b, const ModelConfig& c, int64_t il, const LayerTensors& spec,
                LayerWeights& w) {
  auto name = [&](std::string_view n) { return WeightBinder::layer_name(il, n); };
  KILN_ASSIGN_OR_RETURN(w.ffn_norm, b.vector(name("ffn_norm.weight"), c.n_embd));
  if (spec.fused_gate_up) {
    KILN_ASSIGN_OR_RETURN(w.ffn_gate_up, b.matrix(name("ffn_up.weight"), c.n_embd, 2 * c.n_ff));
  } else {
    KILN_ASSIGN_OR_RETURN(w.ffn_gate, b.matrix(name("ffn_gate.weight"), c.n_embd, c.n_ff));
    KILN_ASSIGN_OR_RETURN(w.ffn_up, b.matrix(name("ffn_up.weight"), c.n_embd, c.n_ff));
  }
  KILN_ASSIGN_OR_RETURN(w.ffn_down, b.matrix(name("ffn_down.weight"), c.n_ff, c.n_embd));
  if (spec.post_norms) {
    KILN_ASSIGN_OR_RETURN(w.post_attn_norm, b.vector(name("post_attention_norm.weight"), c.n_embd));
    KILN_ASSIGN_OR_RETURN(w.post_ffn_norm, b.vector(name("post_ffw_norm.weight"), c.n_embd));
  }
  return Status::ok();
}

}  // namespace

Result<GlobalWeights> bind_globals(const WeightBinder& b, ModelConfig& c) {
  GlobalWeights g;
  KILN_ASSIGN_OR_RETURN(g.token_embd, b.matrix("token_embd.weight", c.n_embd, c.n_vocab));
  KILN_ASSIGN_OR_RETURN(g.output_norm, b.vector("output_norm.weight", c.n_embd));
  KILN_ASSIGN_OR_RETURN(g.output, b.optional_matrix("output.weight", c.n_embd, c.n_vocab));
  c.tied_embeddings = !g.output.present();
  if (c.tied_embeddings) g.output = g.token_embd;
  KILN_ASSIGN_OR_RETURN(g.output_bias, b.optional_vector("output.bias", c.n_vocab));
  return g;
}

Result<std::vector<LayerWeights>> bind_layers(const WeightBinder& b, const ModelConfig& c,
                                              const LayerTensors& spec) {
  std::vector<LayerWeights> layers(static_cast<size_t>(c.n_layer));
  for (int64_t il = 0; il < c.n_layer; ++il) {
    LayerWeights& w = layers[static_cast<size_t>(il)];
    KILN_ASSIGN_OR_RETURN(w.attn_norm,
                          b.vector(WeightBinder::layer_name(il, "attn_norm.weight"), c.n_embd));
    KILN_TRY(bind_attention(b, c, il, spec, w));
    KILN_TRY(bind_ffn(b, c, il, spec, w));
  }
  return layers;
}

Status reject_moe(const gguf::GgufFile& file, const ModelConfig& c) {
  const std::string key = c.arch + ".expert_count";
  if (!file.has(key)) return Status::ok();
  KILN_ASSIGN_OR_RETURN(uint32_t n, file.get_u32(key));
  if (n > 0) {
    return Status::error(
        fmt::format("{} = {}: mixture-of-experts models are not supported yet", key, n));
  }
  return Status::ok();
}

cpu::RopeParams global_rope(const ModelConfig& c, const Vec& freq_factors) {
  return cpu::RopeParams{.mode = c.rope_mode,
                         .n_rot = c.n_rot,
                         .freq_base = c.rope_freq_base,
                         .freq_scale = c.rope_freq_scale,
                         .attn_factor = c.rope_attn_factor,
                         .freq_factors = freq_factors.empty() ? nullptr : freq_factors.data()};
}

}  // namespace kiln
