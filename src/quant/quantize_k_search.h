// Scale searches of ggml's K-quant reference quantizers (quant-formats.md §8),
// shared by the Q2_K..Q6_K quantizers. Float32 arithmetic in ggml's order.
#pragma once

#include <cstdint>
#include <cstring>

namespace kiln::quant::detail {

// Round half to even via the 1.5*2^23 trick, exactly as ggml's nearest_int
// (valid for |x| < 2^22; outside that it wraps the same way ggml's does).
inline int nearest_int(float x) {
  const float v = x + 12582912.0f;
  int32_t i;
  std::memcpy(&i, &v, sizeof(i));
  return (i & 0x007fffff) - 0x00400000;
}

// Symmetric search (make_qx_quants with weights x^2, rmse_type 1):
// L[i] = q + nmax in 0..2*nmax-1; returns the scale.
float make_qx_quants(int n, int nmax, const float* x, int8_t* L);

// Symmetric 3-bit search with greedy refinement (make_q3_quants, do_rmse):
// L[i] = q + nmax; returns the signed scale.
float make_q3_quants(int n, int nmax, const float* x, int8_t* L);

// Affine search (make_qkx2_quants): L[i] in 0..nmax; returns the scale and
// stores -min (>= 0) in *the_min. laux: n bytes of scratch.
float make_qkx2_quants(int n, int nmax, const float* x, const float* weights, uint8_t* L,
                       float* the_min, uint8_t* laux, float rmin, float rdelta, int nstep,
                       bool use_mad);

}  // namespace kiln::quant::detail
