#include "model/blocks.h"

#include <algorithm>
#include <initializer_list>
#include <span>
#include <unordered_map>

#include "backend/cpu/matmul.h"
#include "backend/cpu/packed.h"
#include "core/check.h"
#include "quant/quant.h"

namespace kiln {
namespace {

// ggml's CPU flash attention takes its tiled F32 path from this many queries
// in a batch (GGML_FA_TILE_Q), its F16-accumulating one-chunk path below it.
constexpr int64_t kGgmlFaTileQ = 64;

void grow(std::vector<float>& v, int64_t n) {
  if (static_cast<int64_t>(v.size()) < n) v.resize(static_cast<size_t>(n));
}

// fn(t0, t1) over the batch's tokens: split over the pool for prompts (these
// O(T x width) loops would otherwise run on the engine thread alone while the
// workers wait), inline for a few tokens. Each token is handled by one call,
// so results do not depend on the split.
template <typename Fn>
void over_tokens(Forward& f, Fn&& fn) {
  constexpr int64_t kMinParallel = 8;
  if (f.n_tokens < kMinParallel || f.pool().size() == 1) {
    fn(int64_t{0}, f.n_tokens);
    return;
  }
  f.pool().parallel_for(
      static_cast<size_t>(f.n_tokens),
      [&](size_t b, size_t e, int) { fn(static_cast<int64_t>(b), static_cast<int64_t>(e)); }, 2);
}

// y: [n][w.rows] = x: [n][w.cols] times W^T.
void matmul_rows(ForwardState& st, const Matrix& w, const float* x, int64_t n, float* y) {
  if (st.matmul_mode == MatmulMode::kFast) {
    if (const cpu::PackedMatrix* pm = st.packed_of(w)) {
      cpu::matmul_packed(*pm, x, n, y, st.pool);
    } else {
      cpu::matmul(w.type, w.data, w.rows, w.cols, x, n, y, st.pool);
    }
    return;
  }
  if (st.pool.size() == 1) {
    cpu::matmul_reference(w.type, w.data, w.rows, w.cols, x, n, y);
    return;
  }
  // The reference kernel is single-threaded: split the rows over the pool.
  // Each row's result does not depend on the split, so threads never change it.
  grow(st.ref_tmp, n * w.rows);
  float* tmp = st.ref_tmp.data();
  st.pool.parallel_for(static_cast<size_t>(w.rows), [&](size_t b, size_t e, int) {
    const int64_t r0 = static_cast<int64_t>(b);
    const int64_t nr = static_cast<int64_t>(e - b);
    if (nr == 0) return;
    float* part = tmp + n * r0;  // [n][nr]
    cpu::matmul_reference(w.type, w.row(r0), nr, w.cols, x, n, part);
    for (int64_t t = 0; t < n; ++t) {
      std::copy(part + t * nr, part + (t + 1) * nr, y + t * w.rows + r0);
    }
  });
}

// y_i = W_i x for matrices that read the same x (q/k/v, gate/up): one
// activation conversion and one parallel_for when all are packed alike.
void linear_same_input(Forward& f, std::initializer_list<const Matrix*> ws, const float* x,
                       std::initializer_list<float*> ys) {
  ForwardState& st = f.state;
  constexpr size_t kMax = 4;
  const cpu::PackedMatrix* pms[kMax];
  float* yp[kMax];
  size_t n = 0;
  bool together = st.matmul_mode == MatmulMode::kFast && ws.size() <= kMax;
  for (auto it = ws.begin(); together && it != ws.end(); ++it, ++n) {
    pms[n] = st.packed_of(**it);
    yp[n] = ys.begin()[n];
    together = pms[n] != nullptr && cpu::PackedMatrix::shares_activations(*pms[n], *pms[0]);
  }
  if (together) {
    cpu::matmul_packed_multi(std::span(pms, n), x, f.n_tokens, std::span(yp, n), st.pool);
    return;
  }
  for (size_t i = 0; i < ws.size(); ++i) {
    matmul_rows(st, *ws.begin()[i], x, f.n_tokens, ys.begin()[i]);
  }
}

}  // namespace

ForwardState::ForwardState(const ModelConfig& config, const LoadOptions& options)
    : pool(std::max(1, options.n_threads)),
      matmul_mode(options.matmul),
      attention_mode(options.attention),
      config_(config) {
  scores.resize(static_cast<size_t>(pool.size()));
}

const cpu::PackedMatrix* ForwardState::packed_of(const Matrix& w) {
  auto it = packed_.find(w.data);
  if (it == packed_.end()) {
    it = packed_.emplace(w.data, cpu::PackedMatrix::pack(w.type, w.data, w.rows, w.cols, pool))
             .first;
  }
  return it->second.get();
}

const float* ForwardState::rope_tables(const Batch& batch, const cpu::RopeParams& p) {
  const auto& q = rope_params_;
  const bool same = rope_valid_ && q.mode == p.mode && q.n_rot == p.n_rot &&
                    q.freq_base == p.freq_base && q.freq_scale == p.freq_scale &&
                    q.attn_factor == p.attn_factor && q.freq_factors == p.freq_factors;
  if (!same) {
    const auto n = static_cast<int64_t>(batch.size());
    grow(rope_cs_, n * p.n_rot);
    for (int64_t t = 0; t < n; ++t)
      cpu::rope_table(batch.positions[t], p, rope_cs_.data() + t * p.n_rot);
    rope_params_ = p;
    rope_valid_ = true;
  }
  return rope_cs_.data();
}

void ForwardState::reserve(int64_t n_tokens, int64_t n_ctx) {
  rope_valid_ = false;
  const ModelConfig& c = config_;
  grow(x, n_tokens * c.n_embd);
  grow(cur, n_tokens * c.n_embd);
  grow(out, n_tokens * c.n_embd);
  grow(q, n_tokens * c.q_dim());
  grow(k, n_tokens * c.kv_dim());
  grow(v, n_tokens * c.kv_dim());
  grow(attn, n_tokens * c.q_dim());
  grow(gate, n_tokens * 2 * c.n_ff);
  grow(up, n_tokens * c.n_ff);
  // attention_kt scores of one GQA group.
  for (auto& s : scores) grow(s, n_ctx * (c.n_head / c.n_head_kv));
}

void linear(Forward& f, const Matrix& w, const float* x, float* y) {
  matmul_rows(f.state, w, x, f.n_tokens, y);
}

void add_bias(Forward& f, const Vec& b, float* y) {
  if (b.empty()) return;
  const auto n = static_cast<int64_t>(b.size());
  over_tokens(f, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) cpu::add(y + t * n, b.data(), y + t * n, n);
  });
}

void rms_norm_rows(Forward& f, const float* x, const Vec& w, float* y) {
  const auto n = static_cast<int64_t>(w.size());
  over_tokens(f, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      cpu::rms_norm(x + t * n, w.data(), y + t * n, n, f.config.norm_eps);
    }
  });
}

void add_residual(Forward& f, float* x, const float* y) {
  const int64_t n = f.config.n_embd;
  over_tokens(f, [&](int64_t t0, int64_t t1) {
    cpu::add(x + t0 * n, y + t0 * n, x + t0 * n, (t1 - t0) * n);
  });
}

void embed_tokens(Forward& f, const Matrix& token_embd, float scale, float* x) {
  const int64_t n = f.config.n_embd;
  for (int64_t t = 0; t < f.n_tokens; ++t) {
    quant::dequantize_row(token_embd.type, token_embd.row(f.batch.tokens[t]), x + t * n, n);
    if (scale != 1.0f) cpu::scale(x + t * n, n, scale);
  }
}

namespace {

// q, k, v of the batch: projections, biases, per-head QK-norm, RoPE.
void project_qkv(Forward& f, const LayerWeights& w, const AttentionSpec& spec, const float* in) {
  const ModelConfig& c = f.config;
  ForwardState& st = f.state;
  const int64_t T = f.n_tokens, qd = c.q_dim(), kvd = c.kv_dim(), hd = c.head_dim;
  if (w.wqkv.present()) {
    grow(st.qkv, T * (qd + 2 * kvd));
    linear(f, w.wqkv, in, st.qkv.data());
    for (int64_t t = 0; t < T; ++t) {
      const float* row = st.qkv.data() + t * (qd + 2 * kvd);
      std::copy(row, row + qd, st.q.data() + t * qd);
      std::copy(row + qd, row + qd + kvd, st.k.data() + t * kvd);
      std::copy(row + qd + kvd, row + qd + 2 * kvd, st.v.data() + t * kvd);
    }
  } else {
    linear_same_input(f, {&w.wq, &w.wk, &w.wv}, in, {st.q.data(), st.k.data(), st.v.data()});
  }
  add_bias(f, w.bq, st.q.data());
  add_bias(f, w.bk, st.k.data());
  add_bias(f, w.bv, st.v.data());
  const float* cs = st.rope_tables(f.batch, spec.rope);  // [T][n_rot]
  over_tokens(f, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      float* qt = st.q.data() + t * qd;
      float* kt = st.k.data() + t * kvd;
      if (!w.q_norm.empty()) {
        for (int64_t h = 0; h < c.n_head; ++h) {
          cpu::rms_norm(qt + h * hd, w.q_norm.data(), qt + h * hd, hd, c.norm_eps);
        }
      }
      if (!w.k_norm.empty()) {
        for (int64_t h = 0; h < c.n_head_kv; ++h) {
          cpu::rms_norm(kt + h * hd, w.k_norm.data(), kt + h * hd, hd, c.norm_eps);
        }
      }
      cpu::rope_apply(qt, c.n_head, hd, cs + t * spec.rope.n_rot, spec.rope);
      cpu::rope_apply(kt, c.n_head_kv, hd, cs + t * spec.rope.n_rot, spec.rope);
    }
  });
}

}  // namespace

void attention_block(Forward& f, int64_t il, const LayerWeights& w, const AttentionSpec& spec,
                     const float* in, float* out) {
  const ModelConfig& c = f.config;
  ForwardState& st = f.state;
  const int64_t T = f.n_tokens, qd = c.q_dim(), kvd = c.kv_dim(), hd = c.head_dim;
  project_qkv(f, w, spec, in);
  for (int64_t t = 0; t < T; ++t) {
    f.cache.write(il, f.batch.seq_ids[t], f.batch.positions[t], st.k.data() + t * kvd,
                  st.v.data() + t * kvd);
  }
  // Per distinct sequence of the batch (usually one): its K/V rows, read once
  // per layer, and its keys transposed per KV head for attention_kt.
  std::vector<SeqKvView>& seqs = st.seq_kv;
  seqs.clear();
  std::vector<int32_t>& seq_of = st.seq_index;  // [T] index into seqs
  seq_of.resize(static_cast<size_t>(T));
  for (int64_t t = 0; t < T; ++t) {
    const int32_t seq = f.batch.seq_ids[t];
    size_t i = 0;
    while (i < seqs.size() && seqs[i].seq != seq) ++i;
    if (i == seqs.size()) {
      if (st.kv_scratch.size() <= i) st.kv_scratch.resize(i + 1);
      if (st.kt.size() <= i) st.kt.resize(i + 1);
      const int32_t n_pos = f.cache.seq_length(seq);
      const KvRows r = f.cache.read(il, seq, n_pos, st.kv_scratch[i]);
      // Rows of kt a whole number of 16-float vectors apart, but an odd number
      // of them: a power-of-two stride would put every 8th row in the same L1 set.
      int64_t ld = (n_pos + 15) / 16 * 16;
      if ((ld / 16) % 2 == 0) ld += 16;
      grow(st.kt[i], c.n_head_kv * hd * ld);
      for (int64_t g = 0; g < c.n_head_kv; ++g) {
        cpu::transpose_keys(r.k + g * hd, kvd, n_pos, hd, st.kt[i].data() + g * hd * ld, ld);
      }
      seqs.push_back({seq, r, st.kt[i].data(), ld});
    }
    seq_of[t] = static_cast<int32_t>(i);
  }

  const int64_t group = c.n_head / c.n_head_kv;
  cpu::AttentionParams p{.n_head = 1,
                         .n_head_kv = 1,
                         .head_dim = hd,
                         .scale = spec.scale,
                         .softcap = spec.softcap,
                         .kv_stride = kvd};
  // kGgmlF16 copies llama.cpp's CPU flash attention, which for batches of
  // fewer than 64 queries (decode, short prompts) accumulates V in F16; larger
  // batches take ggml's tiled F32 path, which plain F32 attention matches.
  const bool ggml_fa = st.attention_mode == AttentionMode::kGgmlF16 && T < kGgmlFaTileQ;
  // One work item per (token, KV head): the group's query heads share each
  // key and value row load. Each item is computed by exactly one thread, so
  // results do not depend on the thread count.
  st.pool.parallel_for(static_cast<size_t>(T * c.n_head_kv), [&](size_t b, size_t e, int ti) {
    float* scores = st.scores[static_cast<size_t>(ti)].data();
    for (size_t u = b; u < e; ++u) {
      const int64_t t = static_cast<int64_t>(u) / c.n_head_kv;
      const int64_t g = static_cast<int64_t>(u) % c.n_head_kv, pos = f.batch.positions[t];
      const int64_t begin = spec.n_swa > 0 ? std::max<int64_t>(0, pos - spec.n_swa + 1) : 0;
      const SeqKvView& sk = seqs[static_cast<size_t>(seq_of[t])];
      const int64_t q0 = t * qd + g * group * hd;  // the group's first query head
      if (ggml_fa) {
        for (int64_t h = 0; h < group; ++h) {
          cpu::attention_f16acc(st.q.data() + q0 + h * hd, sk.rows.k + g * hd, sk.rows.v + g * hd,
                                begin, pos + 1, p, st.attn.data() + q0 + h * hd);
        }
      } else {
        cpu::attention_kt(st.q.data() + q0, group, sk.kt + g * hd * sk.ld, sk.ld,
                          sk.rows.v + g * hd, kvd, begin, pos + 1, hd, spec.scale, spec.softcap,
                          st.attn.data() + q0, scores);
      }
    }
  });
  linear(f, w.wo, st.attn.data(), out);
  add_bias(f, w.bo, out);
}

void ffn_block(Forward& f, const LayerWeights& w, FfnKind kind, const float* in, float* out) {
  ForwardState& st = f.state;
  const int64_t T = f.n_tokens, n_ff = f.config.n_ff;
  float* gate = st.gate.data();
  float* up = st.up.data();
  if (w.ffn_gate_up.present()) {
    linear(f, w.ffn_gate_up, in, gate);  // [T][2 n_ff]: gate then up per row
    // Compact in place, ascending: row t's gate moves down to t * n_ff, never over
    // a row not yet read.
    for (int64_t t = 0; t < T; ++t) {
      std::copy(gate + t * 2 * n_ff + n_ff, gate + (t + 1) * 2 * n_ff, up + t * n_ff);
      std::copy(gate + t * 2 * n_ff, gate + t * 2 * n_ff + n_ff, gate + t * n_ff);
    }
  } else {
    linear_same_input(f, {&w.ffn_gate, &w.ffn_up}, in, {gate, up});
  }
  over_tokens(f, [&](int64_t t0, int64_t t1) {
    float* g = gate + t0 * n_ff;
    const float* u = up + t0 * n_ff;
    if (kind == FfnKind::kSwiGlu) {
      cpu::swiglu(g, u, g, (t1 - t0) * n_ff);
    } else {
      cpu::geglu_tanh(g, u, g, (t1 - t0) * n_ff);
    }
  });
  linear(f, w.ffn_down, gate, out);
}

void output_head(Forward& f, const GlobalWeights& g, const float* x, std::vector<float>& logits) {
  const ModelConfig& c = f.config;
  ForwardState& st = f.state;
  std::vector<int64_t> wanted;
  for (int64_t t = 0; t < f.n_tokens; ++t) {
    if (f.batch.want_logits[t]) wanted.push_back(t);
  }
  const auto n = static_cast<int64_t>(wanted.size());
  logits.resize(static_cast<size_t>(n * c.n_vocab));
  if (n == 0) return;
  grow(st.rows, n * c.n_embd);
  for (int64_t j = 0; j < n; ++j) {
    cpu::rms_norm(x + wanted[j] * c.n_embd, g.output_norm.data(), st.rows.data() + j * c.n_embd,
                  c.n_embd, c.norm_eps);
  }
  matmul_rows(st, g.output, st.rows.data(), n, logits.data());
  for (int64_t j = 0; j < n; ++j) {
    float* row = logits.data() + j * c.n_vocab;
    if (!g.output_bias.empty()) cpu::add(row, g.output_bias.data(), row, c.n_vocab);
    if (c.final_logit_softcap > 0) cpu::softcap(row, c.n_vocab, c.final_logit_softcap);
  }
}

}  // namespace kiln
