// PackedMatrix: repacking GGUF rows into 16-row panels (layouts in
// packed_kernels.h), and the packed matmul driver.
#include "backend/cpu/packed.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "backend/cpu/matmul.h"
#include "backend/cpu/matmul_kernels.h"
#include "backend/cpu/packed_kernels.h"
#include "core/check.h"
#include "quant/blocks.h"
#include "quant/quant.h"

namespace kiln::cpu {

using namespace kiln::quant;

namespace {

constexpr int kR = kPanelRows;

size_t round64(size_t n) { return (n + 63) / 64 * 64; }

// ---- per-row unpacking at pack time (scalar; runs once per weight) ----

// Q4_K (Q5_K) / Q6_K super-block of one row: codes in column order (unsigned, before
// the offset), scales per sub-block, mins (Q4_K), d, dmin.
struct KRow {
  uint8_t q[256];
  int sc[16];  // Q4_K: 8 sub-blocks of 32; Q6_K: 16 of 16
  int mn[8];
  uint16_t d = 0, dmin = 0;
};

void unpack_q4_k(const BlockQ4_K& b, KRow* k) {
  for (int i = 0; i < 256; ++i)
    k->q[i] = (b.qs[32 * (i / 64) + i % 32] >> (4 * ((i / 32) % 2))) & 15;
  const uint8_t* s = b.scales;
  for (int j = 0; j < 8; ++j) {
    if (j < 4) {
      k->sc[j] = s[j] & 63;
      k->mn[j] = s[j + 4] & 63;
    } else {
      k->sc[j] = (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4);
      k->mn[j] = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
    }
  }
  std::memcpy(&k->d, &b.d, 2);
  std::memcpy(&k->dmin, &b.dmin, 2);
}

void unpack_q6_k(const BlockQ6_K& b, KRow* k) {
  for (int i = 0; i < 256; ++i) {
    const int half = i / 128, plane = (i % 128) / 32, l = i % 32;
    const uint8_t lowbyte = b.ql[64 * half + l + ((plane & 1) ? 32 : 0)];
    const int low4 = plane < 2 ? (lowbyte & 15) : (lowbyte >> 4);
    k->q[i] = static_cast<uint8_t>(low4 | (((b.qh[32 * half + l] >> (2 * plane)) & 3) << 4));
  }
  for (int g = 0; g < 16; ++g) k->sc[g] = b.scales[g];
  std::memcpy(&k->d, &b.d, 2);
}

// Row r of one panel-block (layouts in packed_kernels.h) from GGUF block(s)
// `src` (one legacy block, one super-block, or 32 F16 values). dst is zeroed.
void pack_row_block(GgmlType type, const uint8_t* src, int r, uint8_t* dst) {
  switch (type) {
    case GgmlType::Q4_0:
    case GgmlType::Q5_0:
    case GgmlType::Q4_1:
    case GgmlType::Q5_1: {
      const bool q5 = type == GgmlType::Q5_0 || type == GgmlType::Q5_1;
      const bool affine = type == GgmlType::Q4_1 || type == GgmlType::Q5_1;
      const int head = affine ? 4 : 2;  // d (and m) come first in the GGUF block
      const uint8_t* qs = src + head + (q5 ? 4 : 0);
      uint8_t* nib = dst + (q5 ? 64 : 0);
      for (int g = 0; g < 4; ++g) std::memcpy(nib + (g * kR + r) * 4, qs + 4 * g, 4);
      if (q5) {
        uint32_t qh;
        std::memcpy(&qh, src + head, 4);
        for (int g = 0; g < 8; ++g) {
          for (int j = 0; j < 4; ++j) dst[r * 4 + j] |= ((qh >> (4 * g + j)) & 1) << g;
        }
      }
      const int scales = q5 ? 320 : 256;
      std::memcpy(dst + scales + r * 2, src, 2);                       // d
      if (affine) std::memcpy(dst + scales + 32 + r * 2, src + 2, 2);  // m
      return;
    }
    case GgmlType::Q8_0:
      for (int g = 0; g < 8; ++g) {
        for (int j = 0; j < 4; ++j) dst[(g * kR + r) * 4 + j] = src[2 + 4 * g + j] ^ 0x80;
      }
      std::memcpy(dst + 512 + r * 2, src, 2);
      return;
    case GgmlType::Q4_K:
    case GgmlType::Q5_K: {
      // Q5_K is Q4_K (d, dmin, scales at the same offsets; qs after qh) plus 5th bits.
      const bool q5 = type == GgmlType::Q5_K;
      BlockQ4_K blk;
      std::memcpy(&blk, src, 16);  // d, dmin, scales
      std::memcpy(blk.qs, src + (q5 ? 48 : 16), sizeof(blk.qs));
      KRow k;
      unpack_q4_k(blk, &k);
      for (int c = 0; c < 4; ++c) {
        for (int g = 0; g < 8; ++g) {
          std::memcpy(dst + ((c * 8 + g) * kR + r) * 4, blk.qs + 32 * c + 4 * g, 4);
        }
      }
      for (int j = 0; j < 8; ++j) dst[2048 + j * kR + r] = static_cast<uint8_t>(k.sc[j]);
      for (int j = 0; j < 8; ++j) {
        dst[2176 + ((j / 2) * kR + r) * 2 + j % 2] = static_cast<uint8_t>(k.mn[j]);
      }
      std::memcpy(dst + 2304 + r * 2, &k.d, 2);
      std::memcpy(dst + 2336 + r * 2, &k.dmin, 2);
      if (q5) {
        // hv [4 chunks][lo, hi][16 rows][4 j]: bit g = 5th bit of the code in
        // k-group g, byte j (low nibble: sub-block 2c, high: 2c + 1).
        const uint8_t* qh = src + 16;
        for (int c = 0; c < 4; ++c) {
          for (int h = 0; h < 2; ++h) {
            for (int j = 0; j < 4; ++j) {
              uint8_t bits = 0;
              for (int g = 0; g < 8; ++g) bits |= ((qh[4 * g + j] >> (2 * c + h)) & 1) << g;
              dst[2368 + ((c * 2 + h) * kR + r) * 4 + j] = bits;
            }
          }
        }
      }
      return;
    }
    case GgmlType::Q6_K: {
      BlockQ6_K blk;
      std::memcpy(&blk, src, sizeof(blk));
      KRow k;
      unpack_q6_k(blk, &k);
      for (int g = 0; g < 64; ++g) std::memcpy(dst + (g * kR + r) * 4, k.q + 4 * g, 4);
      for (int j = 0; j < 16; ++j) {
        dst[4096 + j * kR + r] = static_cast<uint8_t>(static_cast<int8_t>(k.sc[j]));
      }
      std::memcpy(dst + 4352 + r * 2, &k.d, 2);
      return;
    }
    case GgmlType::F16:
    case GgmlType::BF16:
      for (int c = 0; c < 32; ++c) std::memcpy(dst + (c * kR + r) * 2, src + c * 2, 2);
      return;
    default:
      KILN_CHECK_MSG(false, "pack_row_block: type without a packed layout");
  }
}

}  // namespace

// Process-wide allocator of panel memory in large chunks on transparent huge
// pages. Single-token matmuls stream every weight once per token; with 4 KiB
// pages the TLB misses and the prefetchers stopping at every page boundary
// cost ~25% of the bandwidth (measured on this VM: 21 -> 28 GB/s for a plain
// read loop on one core), and most matrices (0.1-2 MB) are too small for huge
// pages on their own, so they share chunks. A chunk is freed when its last
// matrix is.
class PanelArena {
 public:
  struct Chunk {
    uint8_t* base;
    size_t size, used;
    int live;
  };
  static PanelArena& instance() {
    static PanelArena arena;
    return arena;
  }
  // n bytes, 64-byte aligned; *owner gets the chunk to release.
  uint8_t* allocate(size_t n, void** owner) {
    std::lock_guard<std::mutex> lock(mu_);
    if (current_ == nullptr || current_->size - current_->used < n) {
      const size_t size = std::max(kChunk, (n + kHuge - 1) / kHuge * kHuge);
      auto* base = static_cast<uint8_t*>(std::aligned_alloc(kHuge, size));
      KILN_CHECK(base != nullptr);
#if defined(__linux__)
      madvise(base, size, MADV_HUGEPAGE);  // a hint: failure only costs speed
#endif
      if (current_ != nullptr && current_->live == 0) free_chunk(current_);
      current_ = new Chunk{base, size, 0, 0};
    }
    uint8_t* p = current_->base + current_->used;
    current_->used += round64(n);
    ++current_->live;
    *owner = current_;
    return p;
  }
  void release(void* owner) {
    std::lock_guard<std::mutex> lock(mu_);
    auto* c = static_cast<Chunk*>(owner);
    if (--c->live == 0 && c != current_) free_chunk(c);
  }

 private:
  static constexpr size_t kHuge = size_t{2} << 20;
  static constexpr size_t kChunk = size_t{64} << 20;
  static void free_chunk(Chunk* c) {
    std::free(c->base);
    delete c;
  }
  std::mutex mu_;
  Chunk* current_ = nullptr;  // the chunk new matrices go to (kept while empty)
};

size_t packed_block_bytes(GgmlType type) {
  switch (type) {
    case GgmlType::Q4_0:
      return 256 + 32;
    case GgmlType::Q5_0:
      return 256 + 64 + 32;
    case GgmlType::Q4_1:
      return 256 + 32 + 32;
    case GgmlType::Q5_1:
      return 256 + 64 + 32 + 32;
    case GgmlType::Q8_0:
      return 512 + 32;
    case GgmlType::Q4_K:
      return 2048 + 128 + 128 + 32 + 32;
    case GgmlType::Q5_K:
      return 2048 + 128 + 128 + 32 + 32 + 512;
    case GgmlType::Q6_K:
      return 4096 + 256 + 32 + 32;  // + 32 bytes of padding: 64-byte aligned blocks
    case GgmlType::F16:
    case GgmlType::BF16:
      return 32 * kR * 2;
    default:
      return 0;
  }
}

// The activation family (packed_kernels.h) is the weight's dot type.
int64_t packed_block_cols(GgmlType type) {
  return activation_type(type) == GgmlType::Q8_K ? 256 : 32;
}

size_t packed_act_stride(GgmlType type, int64_t cols) {
  const size_t n = static_cast<size_t>(cols);
  switch (activation_type(type)) {
    case GgmlType::Q8_0:
    case GgmlType::Q8_1:
      return round64(n + (n / 32) * 20);
    case GgmlType::Q8_K:
      return round64(n + (n / 256) * (4 + 16 + 64));
    default:  // F16, BF16: floats
      return round64(n * 4);
  }
}

bool PackedMatrix::supported(GgmlType wtype, int64_t cols) {
  if (!cpu_isa_supported(CpuIsa::kAvx512) || cols <= 0) return false;
  return packed_block_bytes(wtype) > 0 && cols % packed_block_cols(wtype) == 0;
}

PackedMatrix::PackedMatrix(GgmlType type, int64_t rows, int64_t cols)
    : type_(type),
      rows_(rows),
      cols_(cols),
      n_blocks_(cols / packed_block_cols(type)),
      block_bytes_(packed_block_bytes(type)) {
  // Whole groups: the padding panels are zero rows (d = 0).
  group_bytes_ = static_cast<size_t>(kPanelGroup * n_blocks_) * block_bytes_;
  const size_t n = std::max<size_t>(64, group_bytes_ * static_cast<size_t>(n_groups()));
  data_ = PanelArena::instance().allocate(n, &chunk_);
  std::memset(data_, 0, n);
}

PackedMatrix::~PackedMatrix() { PanelArena::instance().release(chunk_); }

std::unique_ptr<PackedMatrix> PackedMatrix::pack(GgmlType wtype, const void* w, int64_t rows,
                                                 int64_t cols, ThreadPool& pool) {
  if (rows <= 0 || !supported(wtype, cols)) return nullptr;
  std::unique_ptr<PackedMatrix> m(new PackedMatrix(wtype, rows, cols));
  const size_t w_row = quant::row_bytes(wtype, cols);
  const size_t src_block = quant::row_bytes(wtype, packed_block_cols(wtype));
  const auto* src = static_cast<const uint8_t*>(w);
  PackedMatrix* pm = m.get();
  pool.parallel_for(static_cast<size_t>(m->n_panels()), [&](size_t b, size_t e, int) {
    for (auto p = static_cast<int64_t>(b); p < static_cast<int64_t>(e); ++p) {
      for (int r = 0; r < kR && p * kR + r < rows; ++r) {
        const uint8_t* row = src + (p * kR + r) * w_row;
        for (int64_t k = 0; k < pm->n_blocks_; ++k) {
          pack_row_block(wtype, row + k * src_block, r, const_cast<uint8_t*>(pm->block(p, k)));
        }
      }
    }
  });
  return m;
}

bool PackedMatrix::shares_activations(const PackedMatrix& a, const PackedMatrix& b) {
  return a.cols() == b.cols() && activation_type(a.type()) == activation_type(b.type());
}

void matmul_packed(const PackedMatrix& w, const float* x, int64_t n_tokens, float* y,
                   ThreadPool& pool) {
  const PackedMatrix* ws[] = {&w};
  float* ys[] = {y};
  matmul_packed_multi(ws, x, n_tokens, ys, pool);
}

void matmul_packed_multi(std::span<const PackedMatrix* const> ws, const float* x, int64_t n_tokens,
                         std::span<float* const> ys, ThreadPool& pool) {
  KILN_CHECK(!ws.empty() && ws.size() == ys.size());
  for (const PackedMatrix* w : ws) KILN_CHECK(PackedMatrix::shares_activations(*w, *ws[0]));
  if (n_tokens <= 0) return;
  const PackedMatrix& w0 = *ws[0];
  const int64_t cols = w0.cols();
  const size_t stride = packed_act_stride(w0.type(), cols);
  // Reused across calls (the engine thread calls matmul): no steady-state allocation.
  thread_local std::vector<uint8_t> buf;
  const size_t need = stride * static_cast<size_t>(n_tokens) + 64;
  if (buf.size() < need) buf.resize(need);
  uint8_t* act = buf.data() + (64 - reinterpret_cast<uintptr_t>(buf.data()) % 64) % 64;
  auto quantize = [&](size_t b, size_t e) {
    for (size_t t = b; t < e; ++t) {
      avx512_packed_quantize(w0.type(), x + t * cols, cols, act + t * stride);
    }
  };
  // A few tokens: not worth a parallel_for (~1 us of work per token).
  if (n_tokens < 4) {
    quantize(0, static_cast<size_t>(n_tokens));
  } else {
    pool.parallel_for(static_cast<size_t>(n_tokens),
                      [&](size_t b, size_t e, int) { quantize(b, e); });
  }
  // One job over the panels of all matrices. Single tokens: in whole groups,
  // so a thread never reads part of one (the kernels stream whole groups; two
  // threads sharing one each read every other block, which the prefetchers
  // follow badly: measured 28 vs 35 GB/s for F16 tg with 2 threads). Prompts
  // (compute-bound, panels reused from cache): in single panels, which split
  // small matrices evenly (576 rows: 36 panels, but 18 groups, 9 pieces).
  const int64_t unit = n_tokens == 1 ? kPanelGroup : 1;  // panels per unit
  int64_t total = 0;
  for (const PackedMatrix* w : ws) total += (w->n_panels() + unit - 1) / unit;
  pool.parallel_for(static_cast<size_t>(total), [&](size_t b, size_t e, int) {
    int64_t first = 0;  // global index of matrix i's first unit
    for (size_t i = 0; i < ws.size(); ++i) {
      const int64_t np = ws[i]->n_panels(), n = (np + unit - 1) / unit;
      const int64_t u0 = std::max<int64_t>(static_cast<int64_t>(b) - first, 0);
      const int64_t u1 = std::min<int64_t>(static_cast<int64_t>(e) - first, n);
      if (u0 < u1) {
        avx512_packed_gemm(*ws[i], u0 * unit, std::min(u1 * unit, np), act, stride, n_tokens, ys[i],
                           ws[i]->rows());
      }
      first += n;
    }
  });
}

}  // namespace kiln::cpu
