// Internal to ops.cpp: the AVX-512 versions of its hot ops (ops_avx512.cpp,
// x86-64 only). Call only when ops_use_avx512() is true; same contracts as the
// ops.h functions they replace.
#pragma once

#include <cstdint>

#include "backend/cpu/ops.h"

namespace kiln::cpu {

// True on x86-64 CPUs with AVX-512 F/BW/VL + VNNI (cpu_isa_supported(kAvx512)).
bool ops_use_avx512();

void avx512_rms_norm(const float* x, const float* w, float* y, int64_t n, float eps);
void avx512_swiglu(const float* gate, const float* up, float* out, int64_t n);
void avx512_f32_to_f16(const float* x, uint16_t* y, int64_t n);
void avx512_f16_to_f32(const uint16_t* x, float* y, int64_t n);
// False (nothing written) unless head_dim is a multiple of 16, at most 128.
bool avx512_attention_kt(const float* q, int64_t n_q, const float* kt, int64_t ld, const float* v,
                         int64_t v_stride, int64_t key_begin, int64_t key_end, int64_t head_dim,
                         float scale, float softcap, float* out, float* scores);

}  // namespace kiln::cpu
