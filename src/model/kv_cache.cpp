// ContiguousKvCache: one [n_ctx][kv_dim] buffer per (layer, sequence).
#include "model/kv_cache.h"

#include <fmt/format.h>

#include <algorithm>
#include <unordered_map>

#include "backend/cpu/ops.h"
#include "core/check.h"

namespace kiln {

Result<std::unique_ptr<ContiguousKvCache>> ContiguousKvCache::create(int64_t n_layer,
                                                                     int64_t kv_dim,
                                                                     int32_t n_seq_max,
                                                                     int32_t n_ctx, GgmlType type) {
  if (n_layer <= 0 || kv_dim <= 0 || n_seq_max <= 0 || n_ctx <= 0) {
    return Status::error(fmt::format(
        "KV cache: sizes must be positive (n_layer {}, kv_dim {}, n_seq_max {}, n_ctx {})", n_layer,
        kv_dim, n_seq_max, n_ctx));
  }
  if (type != GgmlType::F32 && type != GgmlType::F16) {
    return Status::error(fmt::format("KV cache: type {} is not supported (f32, f16)",
                                     ggml_type_name(static_cast<uint32_t>(type))));
  }
  const double bytes = 2.0 * static_cast<double>(n_layer) * n_seq_max * n_ctx * kv_dim *
                       (type == GgmlType::F32 ? 4.0 : 2.0);
  if (bytes > 64.0 * (1ull << 30)) {
    return Status::error(
        fmt::format("KV cache: {:.1f} GiB is more than the 64 GiB limit", bytes / (1ull << 30)));
  }
  return std::unique_ptr<ContiguousKvCache>(
      new ContiguousKvCache(n_layer, kv_dim, n_seq_max, n_ctx, type));
}

ContiguousKvCache::ContiguousKvCache(int64_t n_layer, int64_t kv_dim, int32_t n_seq_max,
                                     int32_t n_ctx, GgmlType type)
    : n_layer_(n_layer),
      kv_dim_(kv_dim),
      n_seq_max_(n_seq_max),
      n_ctx_(n_ctx),
      type_(type),
      length_(static_cast<size_t>(n_seq_max), 0) {
  const size_t n = static_cast<size_t>(n_layer) * n_seq_max * n_ctx * kv_dim;
  if (type == GgmlType::F32) {
    k32_.assign(n, 0.0f);
    v32_.assign(n, 0.0f);
  } else {
    k16_.assign(n, 0);
    v16_.assign(n, 0);
  }
}

int32_t ContiguousKvCache::seq_length(int32_t seq) const {
  KILN_CHECK(seq >= 0 && seq < n_seq_max_);
  return length_[static_cast<size_t>(seq)];
}

Status ContiguousKvCache::begin_batch(const Batch& batch) {
  if (batch.positions.size() != batch.size() || batch.seq_ids.size() != batch.size()) {
    return Status::error("batch: tokens, positions and seq_ids differ in length");
  }
  std::unordered_map<int32_t, int32_t> last;  // seq -> last position seen in this batch
  for (size_t i = 0; i < batch.size(); ++i) {
    const int32_t seq = batch.seq_ids[i];
    const int32_t pos = batch.positions[i];
    if (seq < 0 || seq >= n_seq_max_) {
      return Status::error(
          fmt::format("batch entry {}: sequence id {} is outside [0, {})", i, seq, n_seq_max_));
    }
    if (pos < 0 || pos >= n_ctx_) {
      return Status::error(fmt::format(
          "batch entry {}: position {} is outside the cache context [0, {})", i, pos, n_ctx_));
    }
    auto it = last.find(seq);
    if (it == last.end()) {
      if (pos > length_[static_cast<size_t>(seq)]) {
        return Status::error(fmt::format(
            "batch entry {}: position {} of sequence {} leaves a gap (cache holds {} positions)", i,
            pos, seq, length_[static_cast<size_t>(seq)]));
      }
      last.emplace(seq, pos);
    } else {
      if (pos != it->second + 1) {
        return Status::error(
            fmt::format("batch entry {}: position {} of sequence {} does not follow position {}", i,
                        pos, seq, it->second));
      }
      it->second = pos;
    }
  }
  for (const auto& [seq, pos] : last) length_[static_cast<size_t>(seq)] = pos + 1;
  return Status::ok();
}

size_t ContiguousKvCache::row_offset(int64_t layer, int32_t seq, int32_t pos) const {
  KILN_CHECK(layer >= 0 && layer < n_layer_ && seq >= 0 && seq < n_seq_max_ && pos >= 0 &&
             pos < n_ctx_);
  return ((static_cast<size_t>(layer) * n_seq_max_ + seq) * n_ctx_ + pos) *
         static_cast<size_t>(kv_dim_);
}

void ContiguousKvCache::write(int64_t layer, int32_t seq, int32_t pos, const float* k,
                              const float* v) {
  const size_t off = row_offset(layer, seq, pos);
  if (type_ == GgmlType::F32) {
    std::copy(k, k + kv_dim_, k32_.data() + off);
    std::copy(v, v + kv_dim_, v32_.data() + off);
    return;
  }
  cpu::f32_to_f16_row(k, k16_.data() + off, kv_dim_);
  cpu::f32_to_f16_row(v, v16_.data() + off, kv_dim_);
}

KvRows ContiguousKvCache::read(int64_t layer, int32_t seq, int32_t n_pos,
                               KvScratch& scratch) const {
  KILN_CHECK(n_pos >= 0 && n_pos <= length_[static_cast<size_t>(seq)]);
  const size_t off = row_offset(layer, seq, 0);
  if (type_ == GgmlType::F32) return {k32_.data() + off, v32_.data() + off};
  const size_t n = static_cast<size_t>(n_pos) * kv_dim_;
  if (scratch.k.size() < n) scratch.k.resize(n);
  if (scratch.v.size() < n) scratch.v.resize(n);
  cpu::f16_to_f32_row(k16_.data() + off, scratch.k.data(), static_cast<int64_t>(n));
  cpu::f16_to_f32_row(v16_.data() + off, scratch.v.data(), static_cast<int64_t>(n));
  return {scratch.k.data(), scratch.v.data()};
}

void ContiguousKvCache::truncate(int32_t seq, int32_t n_pos) {
  KILN_CHECK(seq >= 0 && seq < n_seq_max_ && n_pos >= 0);
  int32_t& len = length_[static_cast<size_t>(seq)];
  len = std::min(len, n_pos);
}

void ContiguousKvCache::clear() { std::fill(length_.begin(), length_.end(), 0); }

}  // namespace kiln
