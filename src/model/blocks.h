// The shared blocks of the forward pass: the pieces every architecture file in
// arch/ composes (model-architectures.md §3). Each arch's forward reads as its
// paper: embed, per layer norm -> attention -> residual -> norm -> FFN ->
// residual, then the output head; the variants (biases, QK-norm, rope mode,
// sliding window, GeGLU, fused tensors) are data in LayerWeights and
// AttentionSpec, not code paths per arch.
//
// All activations are [n_tokens][width] float32, row-major, one row per batch
// entry. Thread-safety: a Forward is used by the engine thread only; blocks
// fan out over f.pool() internally.
#pragma once

#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "backend/cpu/ops.h"
#include "backend/cpu/packed.h"
#include "core/thread_pool.h"
#include "model/batch.h"
#include "model/config.h"
#include "model/kv_cache.h"
#include "model/model.h"
#include "model/weights.h"

namespace kiln {

// One sequence's K/V for a layer's attention: the cache rows and the keys
// transposed per KV head (cpu::attention_kt).
struct SeqKvView {
  int32_t seq;
  KvRows rows;      // [n_pos][kv_dim] keys and values
  const float* kt;  // [n_head_kv][head_dim][ld]
  int64_t ld;       // n_pos rounded up to 16
};

// Scratch buffers, grown to the largest batch seen; owned by the Model.
class ForwardState {
 public:
  ForwardState(const ModelConfig& config, const LoadOptions& options);

  ThreadPool pool;
  MatmulMode matmul_mode;
  AttentionMode attention_mode;

  std::vector<float> x;                    // [T][n_embd] residual stream
  std::vector<float> cur;                  // [T][n_embd] normed input of a block
  std::vector<float> out;                  // [T][n_embd] output of a block
  std::vector<float> q;                    // [T][q_dim]
  std::vector<float> k;                    // [T][kv_dim]
  std::vector<float> v;                    // [T][kv_dim]
  std::vector<float> qkv;                  // [T][q_dim + 2 kv_dim] fused projection
  std::vector<float> attn;                 // [T][q_dim] attention output before Wo
  std::vector<float> gate;                 // [T][n_ff] (or [T][2 n_ff] fused)
  std::vector<float> up;                   // [T][n_ff]
  std::vector<float> rows;                 // [n_wanted][n_embd] final-normed rows for the head
  std::vector<std::vector<float>> scores;  // [n_threads][n_head / n_head_kv][n_ctx]
  std::vector<KvScratch> kv_scratch;       // one per distinct sequence of the batch
  std::vector<std::vector<float>> kt;      // per sequence: keys transposed [n_head_kv][hd][ld]
  std::vector<SeqKvView> seq_kv;           // per sequence of the batch (attention_block)
  std::vector<int32_t> seq_index;          // [T] batch entry -> seq_kv index
  std::vector<float> ref_tmp;              // matmul_reference chunk output

  // Called at the start of every forward: grows the buffers and forgets the
  // previous batch's RoPE tables.
  void reserve(int64_t n_tokens, int64_t n_ctx);

  // RoPE (cos, sin) tables of the batch positions for `p`: [T][n_rot], computed
  // once per forward and params (every layer with the same params shares them).
  const float* rope_tables(const Batch& batch, const cpu::RopeParams& p);

  // w repacked into row panels for the fast matmul (packed on first use, kept
  // for the model's lifetime), or nullptr where the CPU/type has no packed kernel.
  const cpu::PackedMatrix* packed_of(const Matrix& w);

 private:
  const ModelConfig& config_;
  std::unordered_map<const void*, std::unique_ptr<cpu::PackedMatrix>> packed_;  // by w.data
  std::vector<float> rope_cs_;                                                  // [T][n_rot]
  cpu::RopeParams rope_params_;  // what rope_cs_ holds, if rope_valid_
  bool rope_valid_ = false;
};

// One forward call.
struct Forward {
  const ModelConfig& config;
  ForwardState& state;
  const Batch& batch;
  KvCache& cache;
  int64_t n_tokens;
  ThreadPool& pool() { return state.pool; }
};

// Per-layer attention settings, chosen by the arch (e.g. gemma3 local layers).
struct AttentionSpec {
  cpu::RopeParams rope;
  int64_t n_swa = 0;    // 0: full causal; else a query sees keys pos - n_swa < p <= pos
  float scale = 1.f;    // scores = scale * q.k
  float softcap = 0.f;  // attention-logit softcap, 0 = off
};

// y[t] = W x[t] for all T tokens; x: [T][w.cols], y: [T][w.rows].
void linear(Forward& f, const Matrix& w, const float* x, float* y);
// y[t] += b for all T rows (b empty: no-op). y: [T][b.size()].
void add_bias(Forward& f, const Vec& b, float* y);
// y[t] = rms_norm(x[t]) * w. x, y: [T][w.size()] (may alias).
void rms_norm_rows(Forward& f, const float* x, const Vec& w, float* y);
// x += y, both [T][n_embd].
void add_residual(Forward& f, float* x, const float* y);

// x[t] = token_embd[batch.tokens[t]] * scale (rows dequantized on lookup).
void embed_tokens(Forward& f, const Matrix& token_embd, float scale, float* x);

// out = Wo attention(rope(norm(Wq in)), rope(norm(Wk in)), Wv in) (+ biases),
// writing this layer's K/V of the batch to the cache first. Uses fused wqkv
// when present. in: [T][n_embd]; out: [T][n_embd].
void attention_block(Forward& f, int64_t il, const LayerWeights& w, const AttentionSpec& spec,
                     const float* in, float* out);

// out = down(act(gate in) * up in), act = silu (SwiGLU) or gelu_tanh (GeGLU);
// uses fused ffn_gate_up when present. in, out: [T][n_embd].
void ffn_block(Forward& f, const LayerWeights& w, FfnKind kind, const float* in, float* out);

// logits[j] = head(rms_norm(x[t_j]) * output_norm) for the wanted entries t_j,
// plus output bias, then the final softcap if configured. x: [T][n_embd];
// logits resized to [n_wanted][n_vocab].
void output_head(Forward& f, const GlobalWeights& g, const float* x, std::vector<float>& logits);

}  // namespace kiln
