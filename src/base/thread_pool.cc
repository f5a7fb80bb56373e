#include "base/thread_pool.h"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <tuple>

namespace dseek {
namespace {
// Polling before sleeping: decode issues hundreds of short jobs per token
// and a sleep/wake round trip costs tens of microseconds. The first polls
// only pause the core (cheapest when every thread has its own core); later
// ones yield, so a core shared with another busy process is handed over
// rather than burnt (pure spinning was 4x slower on a loaded machine).
constexpr int kSpins = 20000;
constexpr int kPauseSpins = 2000;
inline void CpuRelax(int spin) {
  if (spin >= kPauseSpins) {
    std::this_thread::yield();
    return;
  }
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}
}  // namespace

namespace {

// "0-3,8,10-11" -> {0,1,2,3,8,10,11}; empty on anything malformed.
std::vector<int> ParseCpuList(const std::string& text) {
  std::vector<int> out;
  std::stringstream ss(text);
  std::string part;
  while (std::getline(ss, part, ',')) {
    if (part.empty() || part == "\n") continue;
    try {
      const size_t dash = part.find('-');
      const int a = std::stoi(part.substr(0, dash));
      const int b = dash == std::string::npos ? a : std::stoi(part.substr(dash + 1));
      if (a < 0 || b < a || b - a > 65536) return {};
      for (int c = a; c <= b; ++c) out.push_back(c);
    } catch (const std::exception&) {
      return {};
    }
  }
  return out;
}

std::string ReadSmall(const std::string& path) {
  std::ifstream f(path);
  std::string s;
  std::getline(f, s);
  return s;
}

void PinCurrentThread(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_setaffinity_np(pthread_self(), sizeof(set), &set);  // best effort: a refusal leaves it unpinned
}

}  // namespace

std::vector<int> PinOrder() {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0) return {};
  std::map<int, int> node_of;  // cpu -> NUMA node
  for (int node = 0; node < 1024; ++node) {
    const std::string list = ReadSmall("/sys/devices/system/node/node" + std::to_string(node) + "/cpulist");
    if (list.empty()) {
      if (node > 0) break;
      continue;
    }
    for (int c : ParseCpuList(list)) node_of.emplace(c, node);
  }
  // (node, SMT rank, cpu): a core's first sibling has rank 0.
  std::set<std::tuple<int, int, int>> order;
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (!CPU_ISSET(c, &allowed)) continue;
    const auto siblings =
        ParseCpuList(ReadSmall("/sys/devices/system/cpu/cpu" + std::to_string(c) + "/topology/thread_siblings_list"));
    const int rank = static_cast<int>(std::count_if(siblings.begin(), siblings.end(), [&](int s) { return s < c; }));
    const auto it = node_of.find(c);
    order.emplace(it == node_of.end() ? 0 : it->second, rank, c);
  }
  std::vector<int> out;
  for (const auto& [node, rank, c] : order) out.push_back(c);
  return out;
}

ThreadPool::ThreadPool(int n_threads, bool pin) {
  if (n_threads <= 0) n_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  n_threads_ = n_threads;
  if (pin) {
    const std::vector<int> order = PinOrder();
    // More threads than CPUs: wrap around (pinning then only limits migration).
    for (int i = 0; i < n_threads_ && !order.empty(); ++i) cpus_.push_back(order[i % order.size()]);
  }
  for (int i = 1; i < n_threads_; ++i)
    workers_.emplace_back([this, i] {
      if (!cpus_.empty()) PinCurrentThread(cpus_[i]);
      WorkerLoop(i);
    });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    generation_.fetch_add(1);
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::WorkerLoop(int index) {
  uint64_t seen = 0;
  for (;;) {
    // Spin briefly first: decode issues many short jobs per token and a
    // condition-variable wake-up costs tens of microseconds.
    uint64_t gen = generation_.load(std::memory_order_acquire);
    for (int spin = 0; gen == seen && spin < kSpins; ++spin) {
      CpuRelax(spin);
      gen = generation_.load(std::memory_order_acquire);
    }
    const std::function<void(int)>* job = nullptr;
    {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait(lock, [&] { return stop_ || generation_.load() != seen; });
      if (stop_) return;
      seen = generation_.load();
      job = job_;
    }
    (*job)(index);
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      std::lock_guard<std::mutex> lock(mu_);
      done_cv_.notify_one();
    }
  }
}

void ThreadPool::RunOnAll(const std::function<void(int)>& fn) {
  if (n_threads_ == 1) {
    fn(0);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    job_ = &fn;
    pending_.store(n_threads_ - 1, std::memory_order_release);
    generation_.fetch_add(1, std::memory_order_acq_rel);
  }
  wake_.notify_all();
  fn(0);
  // Spin before sleeping for the same reason as the workers do.
  for (int spin = 0; pending_.load(std::memory_order_acquire) != 0 && spin < kSpins; ++spin) CpuRelax(spin);
  std::unique_lock<std::mutex> lock(mu_);
  done_cv_.wait(lock, [&] { return pending_.load(std::memory_order_acquire) == 0; });
  job_ = nullptr;
}

void ThreadPool::ParallelFor(size_t n, size_t grain,
                             const std::function<void(size_t, size_t)>& fn) {
  if (n == 0) return;
  if (grain == 0) grain = 1;
  size_t n_chunks = (n + grain - 1) / grain;
  size_t parts = std::min<size_t>(n_chunks, static_cast<size_t>(n_threads_));
  if (parts <= 1) {
    fn(0, n);
    return;
  }
  size_t chunks_per = (n_chunks + parts - 1) / parts;
  RunOnAll([&](int t) {
    size_t begin = static_cast<size_t>(t) * chunks_per * grain;
    size_t end = std::min(n, begin + chunks_per * grain);
    if (begin < end) fn(begin, end);
  });
}

}  // namespace dseek
