// CPU ops of the forward pass other than matmul (matmul.h): RMSNorm, RoPE,
// softmax, attention, activations, elementwise. They follow ggml's CPU
// arithmetic (float32, with the few double accumulations ggml uses) so results
// match llama.cpp's f32 path to float rounding
// (../shared/docs/model-architectures.md §3). On AVX-512 CPUs rms_norm,
// swiglu, attention_kt and the half conversions run SIMD versions
// (ops_avx512.cpp): same formulas, 16-lane summation order, polynomial exp.
//
// Buffers are float32, row-major, shapes in the comments; `n` counts floats.
// In-place use is allowed where a comment says so. Preconditions are checked
// by the caller at load time (shapes come from a validated ModelConfig).
// Thread-safety: pure functions of their arguments.
#pragma once

#include <cstdint>

namespace kiln::cpu {

// y = x / sqrt(mean(x^2) + eps) * w; sum of squares in double (ggml). w may be
// nullptr (no weight). y may alias x. x, y: [n]; w: [n].
void rms_norm(const float* x, const float* w, float* y, int64_t n, float eps);

enum class RopeMode : int {
  kNorm = 0,  // pairs (x[2k], x[2k+1])          llama
  kNeox = 2,  // pairs (x[k], x[k + n_rot/2])     qwen2, qwen3, gemma3, phi3
};

struct RopeParams {
  RopeMode mode = RopeMode::kNorm;
  int64_t n_rot = 0;  // even, <= head_dim; elements past n_rot are unchanged
  float freq_base = 10000.f;
  float freq_scale = 1.f;               // linear scaling: 1 / factor
  float attn_factor = 1.f;              // multiplies cos and sin
  const float* freq_factors = nullptr;  // [n_rot/2] divisors of theta (llama3, longrope), or null
};

// Rotates, in place, the first n_rot elements of each of n_heads head vectors
// for position `pos`, computing theta by repeated float multiplication as ggml
// does. x: [n_heads][head_dim].
void rope(float* x, int64_t n_heads, int64_t head_dim, int64_t pos, const RopeParams& p);
// rope() in two steps, so one position's table serves q, k and every layer with
// the same params: cs: [n_rot] = (cos, sin) of each pair at `pos`, then the
// rotation of x: [n_heads][head_dim] in place. rope(x, ..., pos, p) equals
// rope_table(pos, p, cs) followed by rope_apply(x, ..., cs, p).
void rope_table(int64_t pos, const RopeParams& p, float* cs);
void rope_apply(float* x, int64_t n_heads, int64_t head_dim, const float* cs, const RopeParams& p);

// In place: x = exp(x - max) / sum. x: [n]. Entries equal to -INFINITY become 0.
void softmax(float* x, int64_t n);

// In place: x = cap * tanh(x / cap). x: [n]; cap > 0.
void softcap(float* x, int64_t n, float cap);

// out = silu(gate) * up, silu(a) = a / (1 + exp(-a)). All [n]; out may alias gate.
void swiglu(const float* gate, const float* up, float* out, int64_t n);
// out = gelu_tanh(gate) * up, gelu_tanh(a) = 0.5 a (1 + tanh(sqrt(2/pi) (a + 0.044715 a^3))).
void geglu_tanh(const float* gate, const float* up, float* out, int64_t n);
float silu(float a);
float gelu_tanh(float a);

// Half-precision rows (IEEE binary16, round to nearest even), x, y: [n].
void f32_to_f16_row(const float* x, uint16_t* y, int64_t n);
void f16_to_f32_row(const uint16_t* x, float* y, int64_t n);

// Elementwise, all [n]; y may alias a or b.
void add(const float* a, const float* b, float* y, int64_t n);  // y = a + b
void mul(const float* a, const float* b, float* y, int64_t n);  // y = a * b
void scale(float* x, int64_t n, float s);                       // x *= s

struct AttentionParams {
  int64_t n_head = 0;     // query heads
  int64_t n_head_kv = 0;  // key/value heads; query head h uses kv head h / (n_head / n_head_kv)
  int64_t head_dim = 0;
  float scale = 1.f;      // scores = scale * q.k
  float softcap = 0.f;    // 0 = off, else scores = softcap * tanh(scores / softcap)
  int64_t kv_stride = 0;  // floats from one key (value) row to the next; 0: n_head_kv * head_dim
};

// Attention of one query over keys [key_begin, key_end) (the causal and
// sliding-window mask expressed as a range; all other keys are masked).
// q: [n_head][head_dim]; k, v: [n_keys][kv_stride] (rows indexed by key
// position, at least key_end rows; head g at offset g * head_dim); out: [n_head][head_dim];
// scores: scratch of at least key_end - key_begin floats.
// Precondition: key_begin < key_end.
void attention(const float* q, const float* k, const float* v, int64_t key_begin, int64_t key_end,
               const AttentionParams& p, float* out, float* scores);

// The same attention with llama.cpp's CPU flash-attention numerics for a batch
// of fewer than 64 queries (ggml's one-chunk path, which the golden `default`
// config ran): q, k and v rounded to F16; each score a dot product of those
// F16 values summed in F32, times scale (then softcap); an online softmax whose
// V accumulator is F16: on a new maximum it is scaled by exp(M_old - M) and
// rounded, then every key adds v * exp(s - M) with one fused multiply-add in
// F32 and a rounding back to F16 (ggml_vec_scale_f16 / ggml_vec_mad_f16); the
// result is the accumulator times 1/sum. head_dim <= kMaxAttentionHeadDim.
// Uses F16C/AVX2 when the CPU has them, with bit-identical scalar fallback.
inline constexpr int64_t kMaxAttentionHeadDim = 1024;
void attention_f16acc(const float* q, const float* k, const float* v, int64_t key_begin,
                      int64_t key_end, const AttentionParams& p, float* out);

// Attention with the keys transposed, for batches: scores of 16 keys are one
// vector (no horizontal sums). Keys of one KV head: kt[d * ld + j] = key j's
// element d (transpose_keys), j < n_keys <= ld.
void transpose_keys(const float* k, int64_t kv_stride, int64_t n_keys, int64_t head_dim, float* kt,
                    int64_t ld);
// n_q query heads sharing this KV head (a GQA group; n_q >= 1) over keys
// [key_begin, key_end): q, out: [n_q][head_dim]; out[h] = sum_j softmax_j(scale
// * q[h].k_j, softcapped if softcap > 0) v_j, with v_j at v + j * v_stride.
// scores: scratch of at least n_q * (key_end - key_begin) floats.
// Precondition: key_begin < key_end.
void attention_kt(const float* q, int64_t n_q, const float* kt, int64_t ld, const float* v,
                  int64_t v_stride, int64_t key_begin, int64_t key_end, int64_t head_dim,
                  float scale, float softcap, float* out, float* scores);

}  // namespace kiln::cpu
