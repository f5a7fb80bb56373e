// A persistent pool of worker threads for data-parallel loops. Owned by a
// context object and passed down (no global pool), so two engines in one
// process each have their own. Run() is not re-entrant and must be called from
// one thread at a time; the calling thread takes part in the work.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace dseek {

// The CPUs this process may run on, in the order threads are pinned: NUMA
// node by node (Linux sysfs; one node when absent), within a node each
// core's first hardware thread before its SMT siblings.
std::vector<int> PinOrder();

class ThreadPool {
 public:
  // n_threads counts the calling thread; 0 means all hardware threads.
  // pin: worker i (1..n-1) is bound to CPU i of PinOrder(), so workers never
  // migrate and a NUMA node's cores fill up before the next node's are used.
  // The calling thread is left free (threads it starts later would inherit
  // a binding); with one thread per CPU the scheduler gives it CPU 0's place.
  explicit ThreadPool(int n_threads = 0, bool pin = false);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }
  // The CPU each thread is bound to (empty when not pinned).
  const std::vector<int>& pinned_cpus() const { return cpus_; }

  // Calls fn(thread_index) once on each of the size() threads and waits.
  void RunOnAll(const std::function<void(int)>& fn);

  // Splits [0, n) into contiguous chunks, at most one per thread, each a
  // multiple of `grain` long (except the last), and calls fn(begin, end).
  void ParallelFor(size_t n, size_t grain,
                   const std::function<void(size_t, size_t)>& fn);

 private:
  void WorkerLoop(int index);

  int n_threads_;
  std::vector<int> cpus_;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable done_cv_;
  const std::function<void(int)>* job_ = nullptr;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  bool stop_ = false;
};

}  // namespace dseek
