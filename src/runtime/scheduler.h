// Continuous batching: up to `parallel` sequences decode together, one
// batched forward pass per step (the weights stream once for all of them);
// new requests join between steps, prompts are prefilled in chunks so running
// streams keep flowing, a cancelled request frees its slot at the next step.
// KV memory is a fixed budget: `parallel` slots of `slot_context` tokens,
// allocated up front; a request that does not fit its slot is refused before
// it is queued, and one that finds no slot waits in a bounded queue.
// Each free slot remembers its last tokens, so a request sharing a prefix
// with an earlier one (a chat's next turn) reuses that part of the cache.
//
// Thread-safety: Submit, Cancel, Stats and Shutdown may be called from any
// thread. Callbacks run on the scheduler's own thread and must be quick.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "model/model.h"
#include "runtime/generate.h"
#include "tokenizer/tokenizer.h"

namespace dseek {

struct SchedulerOptions {
  int parallel = 4;               // sequences decoding at once
  int64_t slot_context = 4096;    // tokens per sequence (prompt + answer)
  int max_queue = 64;             // requests waiting for a slot
  int64_t prefill_chunk = 512;    // prompt tokens per sequence per step
};

struct RequestCallbacks {
  // Text that became final; return false to stop the request.
  std::function<bool(const std::string&)> on_text;
  // Called exactly once at the end; result.finish_reason is "stop",
  // "length", "cancelled" or "error" (then error holds the message).
  std::function<void(const GenerationResult&, const std::string& error)> on_done;
};

struct SchedulerStats {
  int active = 0, queued = 0, parallel = 0;
  uint64_t requests_total = 0, requests_rejected = 0;
  int64_t prompt_tokens_total = 0, completion_tokens_total = 0, cached_tokens_total = 0;
  double decode_tokens_per_second = 0;  // over the recent steps
  int64_t kv_tokens_used = 0, kv_tokens_capacity = 0;
  bool accepting = true;
};

class Scheduler {
 public:
  // Thrown by Submit: the request can never fit, or the queue is full.
  struct TooLong : Error {
    using Error::Error;
  };
  struct QueueFull : Error {
    using Error::Error;
  };
  struct ShuttingDown : Error {
    using Error::Error;
  };

  Scheduler(Model& model, const Tokenizer& tokenizer, const SchedulerOptions& options);
  ~Scheduler();  // cancels what is running and joins the thread
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Queues a request; returns its id. Throws TooLong, QueueFull or ShuttingDown.
  uint64_t Submit(GenerationRequest request, RequestCallbacks callbacks);
  // Stops a request (queued or running); its on_done reports "cancelled".
  void Cancel(uint64_t id);
  SchedulerStats Stats() const;
  // Stops accepting; with cancel=true ends running requests at once,
  // otherwise lets them finish. Returns when nothing is running.
  void Shutdown(bool cancel);
  const SchedulerOptions& options() const { return opt_; }

 private:
  struct Request;
  struct Slot;
  void Loop();
  void Step();
  void Admit();
  void Finish(Slot& slot, const std::string& reason, const std::string& error);

  Model& model_;
  Tokenizer tokenizer_;
  SchedulerOptions opt_;
  std::vector<std::unique_ptr<Slot>> slots_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable idle_cv_;
  std::deque<std::unique_ptr<Request>> queue_;
  std::vector<uint64_t> cancel_requests_;
  bool accepting_ = true;
  bool stop_ = false;
  uint64_t next_id_ = 1;
  SchedulerStats stats_;
  std::thread thread_;
  // Reused batch buffers (scheduler thread only).
  std::vector<BatchSeq> batch_;
  std::vector<Slot*> batch_slots_;
};

}  // namespace dseek
