#include "core/thread_pool.h"

#include <algorithm>
#include <chrono>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace kiln {

namespace {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#else
  std::this_thread::yield();
#endif
}

// How long an idle worker spins before sleeping on the futex. Between the
// matmuls of one forward pass the engine thread works alone for a few
// microseconds (norms, attention setup, sampling between tokens); a spinning
// worker joins the next call within ~0.1 us, a sleeping one after a wake-up
// (~5-50 us on a busy VM) while the caller has started without it.
constexpr auto kSpin = std::chrono::microseconds(100);

// Spins until pred() or the spin budget is spent; true if pred() held.
template <typename Pred>
bool spin_until(Pred pred) {
  const auto deadline = std::chrono::steady_clock::now() + kSpin;
  for (;;) {
    for (int i = 0; i < 64; ++i) {
      if (pred()) return true;
      cpu_relax();
    }
    if (std::chrono::steady_clock::now() > deadline) return pred();
  }
}

// ctl_ layout.
constexpr uint64_t kJoinedMask = 0xFFFF;
constexpr uint64_t kClosed = uint64_t{1} << 16;
inline uint32_t gen_of(uint64_t c) { return static_cast<uint32_t>(c >> 32); }

}  // namespace

ThreadPool::ThreadPool(int n_threads) : n_threads_(std::max(1, n_threads)) {
  ctl_.store(kClosed, std::memory_order_relaxed);  // generation 0: no job
  for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  stopping_.store(true, std::memory_order_release);
  wake_.fetch_add(1, std::memory_order_release);
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::run_ranges(int index) {
  const size_t units = (job_n_ + job_grain_ - 1) / job_grain_;
  for (;;) {
    const size_t u = next_unit_.fetch_add(job_piece_, std::memory_order_relaxed);
    if (u >= units) return;
    const size_t b = u * job_grain_;
    const size_t e = std::min(job_n_, (u + job_piece_) * job_grain_);
    (*job_)(b, e, index);
  }
}

void ThreadPool::parallel_for(size_t n, const RangeFn& fn, size_t grain) {
  if (n == 0) return;
  grain = std::max<size_t>(1, grain);
  const size_t units = (n + grain - 1) / grain;
  if (n_threads_ == 1 || units == 1) {
    fn(0, n, 0);
    return;
  }
  // No worker is joined here (the previous job was closed and drained), so the
  // job fields can be written.
  job_ = &fn;
  job_n_ = n;
  job_grain_ = grain;
  // About eight grabs per thread: contiguous enough for streaming and cache
  // locality, small enough that uneven units (causal attention: late tokens
  // cost more) and threads running at different speeds end close together.
  // A grab is one atomic add (~50 ns) against >= ~1 us of work per piece.
  constexpr size_t kPiecesPerThread = 8;
  const size_t pieces = kPiecesPerThread * static_cast<size_t>(n_threads_);
  job_piece_ = std::max<size_t>(1, (units + pieces - 1) / pieces);
  next_unit_.store(0, std::memory_order_relaxed);
  const uint32_t gen = gen_of(ctl_.load(std::memory_order_relaxed)) + 1;
  ctl_.store(static_cast<uint64_t>(gen) << 32, std::memory_order_release);  // publishes the job
  wake_.store(gen, std::memory_order_release);
  wake_.notify_all();
  run_ranges(0);
  // Every range is taken: close the job, then wait for the workers still
  // running theirs.
  uint64_t c = ctl_.fetch_or(kClosed, std::memory_order_acq_rel);
  if ((c & kJoinedMask) != 0 &&
      !spin_until([&] { return (ctl_.load(std::memory_order_acquire) & kJoinedMask) == 0; })) {
    while ((ctl_.load(std::memory_order_acquire) & kJoinedMask) != 0) std::this_thread::yield();
  }
  job_ = nullptr;
}

void ThreadPool::worker_loop(int index) {
  uint32_t seen = 0;
  for (;;) {
    if (!spin_until([&] { return wake_.load(std::memory_order_acquire) != seen; })) {
      wake_.wait(seen, std::memory_order_acquire);
      continue;  // re-check (wait may return spuriously)
    }
    seen = wake_.load(std::memory_order_acquire);
    if (stopping_.load(std::memory_order_acquire)) return;
    // Join the job of generation `seen` unless it is already closed (or a
    // later one started): then it has no range left for us anyway.
    uint64_t c = ctl_.load(std::memory_order_acquire);
    bool joined = false;
    while (gen_of(c) == seen && (c & kClosed) == 0) {
      if (ctl_.compare_exchange_weak(c, c + 1, std::memory_order_acq_rel,
                                     std::memory_order_acquire)) {
        joined = true;
        break;
      }
    }
    if (!joined) continue;
    run_ranges(index);
    ctl_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

}  // namespace kiln
