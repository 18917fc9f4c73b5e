// ThreadPool: a fixed set of worker threads for data-parallel loops.
//
// parallel_for splits [0, n) into ranges whose boundaries are multiples of
// `grain` and runs fn on them on all threads (the calling thread takes part);
// it returns when every range is done. Ranges are handed out dynamically in
// a few pieces per thread, so one thread may run fn several times and a
// descheduled worker does not hold up the others (the machine may be shared).
// Callers must therefore not depend on which thread runs which range; results
// that depend only on the index (as every kernel here) are split-independent.
//
// Latency: a forward pass issues ~200 parallel_for calls per token, so idle
// workers spin (with pause) for a short while before sleeping on a futex, and
// the caller spins on completion; a call costs a few hundred nanoseconds when
// the workers are awake instead of a condition-variable wake-up each time.
//
// It is not re-entrant: call it from one thread at a time (the engine thread).
// A pool with n_threads == 1 runs everything inline on the caller.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <thread>
#include <vector>

namespace kiln {

class ThreadPool {
 public:
  // fn(begin, end, thread_index) handles the half-open range [begin, end);
  // thread_index < size() is unique among the threads running concurrently
  // (0 = the calling thread), e.g. to pick per-thread scratch.
  using RangeFn = std::function<void(size_t begin, size_t end, int thread_index)>;

  explicit ThreadPool(int n_threads);  // n_threads >= 1 (clamped)
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }

  // Runs fn over [0, n); range boundaries are multiples of `grain` (except the
  // end, n) so callers can keep blocks whole.
  void parallel_for(size_t n, const RangeFn& fn, size_t grain = 1);

 private:
  void worker_loop(int index);
  void run_ranges(int index);  // takes ranges of the current job until none are left

  int n_threads_;
  std::vector<std::thread> workers_;
  // The current job; written by the caller before generation_ is bumped.
  const RangeFn* job_ = nullptr;
  size_t job_n_ = 0;
  size_t job_grain_ = 1;
  size_t job_piece_ = 1;  // units (of grain) taken per grab
  alignas(64) std::atomic<size_t> next_unit_{0};
  alignas(64) std::atomic<uint32_t> generation_{0};  // bumped per job; workers wait on it
  alignas(64) std::atomic<int> pending_{0};          // workers still inside the job
  std::atomic<bool> stopping_{false};
};

}  // namespace kiln
