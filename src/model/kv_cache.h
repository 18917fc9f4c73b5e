// KvCache: where the forward pass keeps the keys and values of past positions.
//
// The architecture code only talks to this interface: per layer it writes the
// (post-RoPE) K and V rows of each batch entry, then reads the rows of
// positions [0, n) of a sequence for attention. The engine can therefore swap
// in a paged cache without touching model/arch/.
//
// Protocol of one Model::forward call:
//   1. begin_batch(batch): validates every (seq, pos), makes room, and sets each
//      touched sequence's length to its last position in the batch + 1
//      (positions it had beyond the batch's first position are dropped). On
//      error the cache is unchanged and forward returns the error.
//   2. for each layer: write(layer, seq, pos, k, v) for every entry, then
//      read(layer, seq, n_pos, ...) for attention (n_pos <= seq_length(seq)).
// Rows are kv_dim = n_head_kv * head_dim floats, head-major.
//
// Thread-safety: none; one engine thread owns a cache. read() may be called
// from pool threads concurrently with other read()s (never with write()) as
// long as each caller passes its own scratch.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/ggml_type.h"
#include "core/status.h"
#include "model/batch.h"

namespace kiln {

// Rows of one (layer, sequence): k and v point to n_pos rows of kv_dim floats,
// either into the cache (F32 contiguous storage) or into the caller's scratch.
struct KvRows {
  const float* k = nullptr;  // [n_pos][kv_dim]
  const float* v = nullptr;  // [n_pos][kv_dim]
};

// Caller-owned buffers a cache may convert or gather into.
struct KvScratch {
  std::vector<float> k;
  std::vector<float> v;
};

class KvCache {
 public:
  virtual ~KvCache() = default;

  virtual int64_t n_layer() const = 0;
  virtual int64_t kv_dim() const = 0;
  virtual int32_t n_seq_max() const = 0;
  virtual int32_t n_ctx() const = 0;                  // positions per sequence
  virtual int32_t seq_length(int32_t seq) const = 0;  // positions [0, len) are valid

  virtual Status begin_batch(const Batch& batch) = 0;
  // k, v: [kv_dim]. Preconditions (KILN_CHECK): begin_batch accepted (seq, pos).
  virtual void write(int64_t layer, int32_t seq, int32_t pos, const float* k, const float* v) = 0;
  // Positions [0, n_pos) of `seq` in `layer`. Precondition: n_pos <= seq_length(seq).
  virtual KvRows read(int64_t layer, int32_t seq, int32_t n_pos, KvScratch& scratch) const = 0;

  // Keeps positions [0, n_pos) of `seq` (no-op if already shorter); for
  // prompt-prefix reuse and for undoing speculative tokens.
  virtual void truncate(int32_t seq, int32_t n_pos) = 0;
  virtual void clear() = 0;  // every sequence empty
};

// The simple cache: per (layer, sequence) one contiguous [n_ctx][kv_dim] buffer
// of `type` (F32, or F16 as llama.cpp's default cache; F16 rows are converted to
// F32 on read). Memory: 2 * n_layer * n_seq_max * n_ctx * kv_dim * sizeof(type),
// allocated up front.
class ContiguousKvCache final : public KvCache {
 public:
  // Errors: non-positive sizes, a type other than F32/F16, or a size over 64 GiB.
  static Result<std::unique_ptr<ContiguousKvCache>> create(int64_t n_layer, int64_t kv_dim,
                                                           int32_t n_seq_max, int32_t n_ctx,
                                                           GgmlType type = GgmlType::F32);

  int64_t n_layer() const override { return n_layer_; }
  int64_t kv_dim() const override { return kv_dim_; }
  int32_t n_seq_max() const override { return n_seq_max_; }
  int32_t n_ctx() const override { return n_ctx_; }
  int32_t seq_length(int32_t seq) const override;
  GgmlType type() const { return type_; }

  Status begin_batch(const Batch& batch) override;
  void write(int64_t layer, int32_t seq, int32_t pos, const float* k, const float* v) override;
  KvRows read(int64_t layer, int32_t seq, int32_t n_pos, KvScratch& scratch) const override;
  void truncate(int32_t seq, int32_t n_pos) override;
  void clear() override;

 private:
  ContiguousKvCache(int64_t n_layer, int64_t kv_dim, int32_t n_seq_max, int32_t n_ctx,
                    GgmlType type);
  size_t row_offset(int64_t layer, int32_t seq, int32_t pos) const;  // in elements

  int64_t n_layer_;
  int64_t kv_dim_;
  int32_t n_seq_max_;
  int32_t n_ctx_;
  GgmlType type_;
  std::vector<int32_t> length_;      // [n_seq_max]
  std::vector<float> k32_, v32_;     // [n_layer][n_seq_max][n_ctx][kv_dim] when F32
  std::vector<uint16_t> k16_, v16_;  // same layout when F16
};

}  // namespace kiln
