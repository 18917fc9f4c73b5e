// ThreadPool: a fixed set of worker threads for data-parallel loops.
//
// parallel_for splits [0, n) into contiguous chunks, one per thread (the
// calling thread takes part), and returns when all chunks are done. It is not
// re-entrant: call it from one thread at a time (the engine thread). The pool
// with n_threads == 1 runs everything inline on the caller.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace kiln {

class ThreadPool {
 public:
  // fn(begin, end, thread_index) handles the half-open range [begin, end).
  using RangeFn = std::function<void(size_t begin, size_t end, int thread_index)>;

  explicit ThreadPool(int n_threads);  // n_threads >= 1 (clamped)
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }

  // Runs fn over [0, n) split into size() chunks; chunk boundaries are
  // multiples of `grain` (except the last) so callers can keep blocks whole.
  void parallel_for(size_t n, const RangeFn& fn, size_t grain = 1);

 private:
  void worker_loop(int index);

  int n_threads_;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable work_cv_;
  std::condition_variable done_cv_;
  const RangeFn* job_ = nullptr;
  size_t job_n_ = 0;
  size_t job_grain_ = 1;
  unsigned long generation_ = 0;
  int pending_ = 0;
  bool stopping_ = false;
};

}  // namespace kiln
