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

// How long a waiting thread spins before sleeping on the futex. Between the
// matmuls of one forward pass the engine thread works alone for a few
// microseconds (norms, attention setup); a sleeping worker costs a futex wake
// (~5-50 us on a busy VM) per parallel_for, a spinning one ~0.1 us.
constexpr auto kSpin = std::chrono::microseconds(200);

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

}  // namespace

ThreadPool::ThreadPool(int n_threads) : n_threads_(std::max(1, n_threads)) {
  for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  stopping_.store(true, std::memory_order_release);
  generation_.fetch_add(1, std::memory_order_release);
  generation_.notify_all();
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
  job_ = &fn;
  job_n_ = n;
  job_grain_ = grain;
  // About three grabs per thread: contiguous enough for streaming and cache
  // locality, small enough that a slow (descheduled) thread does not leave
  // the others idle at the end.
  job_piece_ = std::max<size_t>(1, (units + 3 * n_threads_ - 1) / (3 * n_threads_));
  next_unit_.store(0, std::memory_order_relaxed);
  pending_.store(n_threads_ - 1, std::memory_order_relaxed);
  generation_.fetch_add(1, std::memory_order_release);  // publishes the job
  generation_.notify_all();
  run_ranges(0);
  if (!spin_until([this] { return pending_.load(std::memory_order_acquire) == 0; })) {
    for (int p; (p = pending_.load(std::memory_order_acquire)) != 0;) {
      pending_.wait(p, std::memory_order_acquire);
    }
  }
  job_ = nullptr;
}

void ThreadPool::worker_loop(int index) {
  uint32_t seen = 0;
  for (;;) {
    if (!spin_until([&] { return generation_.load(std::memory_order_acquire) != seen; })) {
      generation_.wait(seen, std::memory_order_acquire);
      continue;  // re-check (wait may return spuriously)
    }
    seen = generation_.load(std::memory_order_acquire);
    if (stopping_.load(std::memory_order_acquire)) return;
    run_ranges(index);
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) pending_.notify_one();
  }
}

}  // namespace kiln
