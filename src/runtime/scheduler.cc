#include "runtime/scheduler.h"

#include <algorithm>
#include <chrono>

#include "runtime/sampler.h"
#include "runtime/stop_strings.h"

namespace dseek {

using Clock = std::chrono::steady_clock;

struct Scheduler::Request {
  uint64_t id = 0;
  GenerationRequest req;
  RequestCallbacks cb;
};

struct Scheduler::Slot {
  std::unique_ptr<KvCache> cache;
  std::vector<int32_t> tokens;  // exactly the tokens whose KV rows are in the cache
  std::vector<float> logits;
  std::unique_ptr<Request> req;  // null when the slot is free
  size_t prefill_pos = 0;        // prompt tokens in the cache
  int max_tokens = 0;
  int32_t next = -1;             // sampled, not yet fed
  std::unique_ptr<Sampler> sampler;
  std::unique_ptr<StreamDecoder> decoder;
  std::unique_ptr<StopStringMatcher> stops;
  GenerationResult result;
  Clock::time_point started, first_token;
  bool cancel = false;
};

Scheduler::Scheduler(Model& model, const Tokenizer& tokenizer, const SchedulerOptions& options)
    : model_(model), tokenizer_(tokenizer), opt_(options) {
  if (opt_.parallel < 1) throw Error("", "parallel", "must be at least 1");
  if (opt_.slot_context < 2) throw Error("", "ctx-size", "must be at least 2");
  if (opt_.prefill_chunk < 1) opt_.prefill_chunk = 512;
  for (int i = 0; i < opt_.parallel; ++i) {
    auto s = std::make_unique<Slot>();
    s->cache = model_.NewCache(opt_.slot_context);
    s->logits.resize(model_.facts().vocab_size);
    slots_.push_back(std::move(s));
  }
  stats_.parallel = opt_.parallel;
  stats_.kv_tokens_capacity = static_cast<int64_t>(opt_.parallel) * opt_.slot_context;
  thread_ = std::thread([this] { Loop(); });
}

Scheduler::~Scheduler() {
  Shutdown(true);
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

uint64_t Scheduler::Submit(GenerationRequest request, RequestCallbacks callbacks) {
  request.params.Validate("request");
  if (request.prompt.empty()) throw Error("", "prompt", "the prompt is empty");
  const int64_t n = static_cast<int64_t>(request.prompt.size());
  if (n >= opt_.slot_context)
    throw TooLong("", "prompt",
                  "this model's context is " + std::to_string(opt_.slot_context) + " tokens per sequence, but the prompt has " +
                      std::to_string(n) + " tokens (no room left for an answer)");
  const int64_t vocab = model_.facts().vocab_size;
  for (int32_t id : request.prompt)
    if (id < 0 || id >= vocab) throw Error("", "prompt", "token id " + std::to_string(id) + " is outside the vocabulary");
  std::lock_guard<std::mutex> lock(mu_);
  if (!accepting_) throw ShuttingDown("", "server", "shutting down");
  if (static_cast<int>(queue_.size()) >= opt_.max_queue) {
    ++stats_.requests_rejected;
    throw QueueFull("", "queue", "the request queue is full (" + std::to_string(opt_.max_queue) + " waiting)");
  }
  auto r = std::make_unique<Request>();
  r->id = next_id_++;
  r->req = std::move(request);
  r->cb = std::move(callbacks);
  const uint64_t id = r->id;
  queue_.push_back(std::move(r));
  ++stats_.requests_total;
  cv_.notify_all();
  return id;
}

void Scheduler::Cancel(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  cancel_requests_.push_back(id);
  cv_.notify_all();
}

SchedulerStats Scheduler::Stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  SchedulerStats s = stats_;
  s.queued = static_cast<int>(queue_.size());
  s.accepting = accepting_;
  return s;
}

void Scheduler::Shutdown(bool cancel) {
  std::unique_lock<std::mutex> lock(mu_);
  accepting_ = false;
  if (cancel) {
    for (auto& q : queue_) cancel_requests_.push_back(q->id);
    for (auto& s : slots_)
      if (s->req) cancel_requests_.push_back(s->req->id);
  }
  cv_.notify_all();
  idle_cv_.wait(lock, [&] { return queue_.empty() && stats_.active == 0; });
}

void Scheduler::Loop() {
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stop_ || !queue_.empty() || stats_.active > 0 || !cancel_requests_.empty(); });
      if (stop_) return;
    }
    Step();
  }
}

void Scheduler::Finish(Slot& slot, const std::string& reason, const std::string& error) {
  if (!slot.req) return;
  GenerationResult& r = slot.result;
  if (reason != "error" && !slot.stops->stopped()) {
    // Flush held-back text (an unfinished character, a partial stop string).
    auto res = slot.stops->Feed(slot.decoder->Finish());
    std::string tail = res.emit + (res.stopped ? "" : slot.stops->Flush());
    if (!tail.empty()) {
      r.text += tail;
      if (slot.req->cb.on_text) slot.req->cb.on_text(tail);
    }
  }
  r.finish_reason = reason;
  r.decode_seconds = std::chrono::duration<double>(Clock::now() - slot.first_token).count();
  std::unique_ptr<Request> req = std::move(slot.req);
  {
    std::lock_guard<std::mutex> lock(mu_);
    --stats_.active;
    stats_.completion_tokens_total += static_cast<int64_t>(r.tokens.size());
  }
  if (req->cb.on_done) req->cb.on_done(r, error);
  idle_cv_.notify_all();
}

void Scheduler::Admit() {
  std::vector<uint64_t> cancels;
  std::vector<std::unique_ptr<Request>> cancelled_queued;
  std::vector<std::pair<Slot*, std::unique_ptr<Request>>> admitted;
  {
    std::lock_guard<std::mutex> lock(mu_);
    cancels.swap(cancel_requests_);
    for (uint64_t id : cancels) {
      for (auto it = queue_.begin(); it != queue_.end(); ++it)
        if ((*it)->id == id) {
          cancelled_queued.push_back(std::move(*it));
          queue_.erase(it);
          break;
        }
      for (auto& s : slots_)
        if (s->req && s->req->id == id) s->cancel = true;
    }
    while (!queue_.empty()) {
      // The free slot whose cached tokens share the longest prefix wins.
      const std::vector<int32_t>& prompt = queue_.front()->req.prompt;
      Slot* best = nullptr;
      size_t best_common = 0;
      for (auto& s : slots_) {
        if (s->req) continue;
        bool taken = false;
        for (auto& a : admitted) taken = taken || a.first == s.get();
        if (taken) continue;
        size_t c = 0;
        while (c < s->tokens.size() && c < prompt.size() && s->tokens[c] == prompt[c]) ++c;
        if (best == nullptr || c > best_common) {
          best = s.get();
          best_common = c;
        }
      }
      if (best == nullptr) break;
      admitted.push_back({best, std::move(queue_.front())});
      queue_.pop_front();
      ++stats_.active;
    }
  }
  for (auto& r : cancelled_queued) {
    GenerationResult res;
    res.finish_reason = "cancelled";
    res.prompt_tokens = static_cast<int64_t>(r->req.prompt.size());
    if (r->cb.on_done) r->cb.on_done(res, "");
  }
  if (!cancelled_queued.empty()) idle_cv_.notify_all();
  for (auto& [slot, req] : admitted) {
    const std::vector<int32_t>& prompt = req->req.prompt;
    size_t common = 0;
    while (common < slot->tokens.size() && common < prompt.size() && slot->tokens[common] == prompt[common]) ++common;
    if (common == prompt.size()) --common;  // the last prompt token must run for its logits
    slot->cache->Truncate(static_cast<int64_t>(common));
    slot->tokens.resize(common);
    slot->prefill_pos = common;
    slot->result = GenerationResult{};
    slot->result.prompt_tokens = static_cast<int64_t>(prompt.size());
    slot->result.cached_tokens = static_cast<int64_t>(common);
    int64_t room = opt_.slot_context - static_cast<int64_t>(prompt.size());
    int max_tokens = req->req.max_tokens;
    if (req->req.params.max_tokens > 0) max_tokens = std::min(max_tokens, req->req.params.max_tokens);
    slot->max_tokens = static_cast<int>(std::min<int64_t>(std::max(max_tokens, 0), room));
    slot->sampler = std::make_unique<Sampler>(req->req.params);
    slot->decoder = std::make_unique<StreamDecoder>(tokenizer_, /*skip_special=*/true);
    slot->stops = std::make_unique<StopStringMatcher>(req->req.params.stop);
    slot->started = slot->first_token = Clock::now();
    slot->next = -1;
    slot->cancel = false;
    slot->req = std::move(req);
    {
      std::lock_guard<std::mutex> lock(mu_);
      stats_.prompt_tokens_total += slot->result.prompt_tokens;
      stats_.cached_tokens_total += slot->result.cached_tokens;
    }
  }
}

void Scheduler::Step() {
  Admit();
  for (auto& s : slots_)
    if (s->req && (s->cancel || s->max_tokens == 0)) Finish(*s, s->cancel ? "cancelled" : "length", "");

  batch_.clear();
  batch_slots_.clear();
  for (auto& sp : slots_) {
    Slot& s = *sp;
    if (!s.req) continue;
    const std::vector<int32_t>& prompt = s.req->req.prompt;
    BatchSeq b;
    b.cache = s.cache.get();
    b.logits = s.logits.data();
    if (s.prefill_pos < prompt.size()) {
      b.tokens = prompt.data() + s.prefill_pos;
      b.n = std::min<size_t>(opt_.prefill_chunk, prompt.size() - s.prefill_pos);
    } else {
      b.tokens = &s.next;
      b.n = 1;
    }
    batch_.push_back(b);
    batch_slots_.push_back(&s);
  }
  if (batch_.empty()) return;

  const auto t0 = Clock::now();
  try {
    model_.ForwardBatch(batch_);
  } catch (const std::exception& e) {
    for (Slot* s : batch_slots_) Finish(*s, "error", e.what());
    return;
  }
  const double step_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  int decoded = 0;
  for (size_t i = 0; i < batch_slots_.size(); ++i) {
    Slot& s = *batch_slots_[i];
    const BatchSeq& b = batch_[i];
    s.tokens.insert(s.tokens.end(), b.tokens, b.tokens + b.n);
    const std::vector<int32_t>& prompt = s.req->req.prompt;
    if (s.prefill_pos < prompt.size()) {
      s.prefill_pos += b.n;
      if (s.prefill_pos < prompt.size()) continue;  // more prompt to go
      s.result.prefill_seconds = std::chrono::duration<double>(Clock::now() - s.started).count();
      s.first_token = Clock::now();
    }
    int32_t tok;
    try {
      tok = s.sampler->Sample(std::span<const float>(s.logits.data(), s.logits.size()), s.tokens);
    } catch (const std::exception& e) {
      Finish(s, "error", e.what());
      continue;
    }
    const auto& eos = s.req->req.eos_ids;
    if (std::find(eos.begin(), eos.end(), tok) != eos.end()) {
      Finish(s, "stop", "");
      continue;
    }
    ++decoded;
    s.result.tokens.push_back(tok);
    auto res = s.stops->Feed(s.decoder->Push(tok));
    bool keep = true;
    if (!res.emit.empty()) {
      s.result.text += res.emit;
      if (s.req->cb.on_text) keep = s.req->cb.on_text(res.emit);
    }
    if (!keep) {
      Finish(s, "cancelled", "");
    } else if (res.stopped) {
      Finish(s, "stop", "");
    } else if (static_cast<int>(s.result.tokens.size()) >= s.max_tokens) {
      Finish(s, "length", "");
    } else {
      s.next = tok;
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (decoded > 0 && step_seconds > 0) {
    const double rate = decoded / step_seconds;
    stats_.decode_tokens_per_second =
        stats_.decode_tokens_per_second == 0 ? rate : 0.9 * stats_.decode_tokens_per_second + 0.1 * rate;
  }
  int64_t used = 0;
  for (auto& s : slots_)
    if (s->req) used += s->cache->length();
  stats_.kv_tokens_used = used;
}

}  // namespace dseek
