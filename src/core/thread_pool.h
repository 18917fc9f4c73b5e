// ThreadPool: a fixed set of worker threads for data-parallel loops.
//
// parallel_for splits [0, n) into ranges whose boundaries are multiples of
// `grain` and runs fn on them on all threads (the calling thread takes part);
// it returns when every range is done. Ranges are handed out dynamically,
// about eight per thread, so one thread may run fn several times, and a worker that
// is slow to arrive (asleep, or descheduled on a shared machine) never holds
// the caller up: the caller takes the remaining ranges itself and only waits
// for workers that have already started one. Results must therefore not
// depend on which thread runs which range (every kernel here computes each
// output from its index alone).
//
// Latency: a forward pass issues ~200 parallel_for calls per token, so idle
// workers spin (with pause) for a while before sleeping on a futex; a call
// then costs well under a microsecond instead of a wake-up (~5-50 us).
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
  // The current job; written by the caller while no worker is joined.
  const RangeFn* job_ = nullptr;
  size_t job_n_ = 0;
  size_t job_grain_ = 1;
  size_t job_piece_ = 1;  // units (of grain) taken per grab
  alignas(64) std::atomic<size_t> next_unit_{0};
  // Job control word: generation (high 32 bits), kClosed, and the number of
  // workers that joined (low bits). A worker joins with a CAS only while the
  // generation it woke for is current and not closed; the caller closes the
  // job when no range is left and waits for the joined workers only.
  alignas(64) std::atomic<uint64_t> ctl_{0};
  alignas(64) std::atomic<uint32_t> wake_{0};  // = generation; workers sleep on it
  std::atomic<bool> stopping_{false};
};

}  // namespace kiln
