#include "api/server.h"

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <mutex>
#include <random>
#include <set>

#include "api/auth.h"
#include "api/openai.h"
#include "base/error.h"
#include "runtime/generate.h"

namespace dseek::api {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

// One generation in flight, shared by the HTTP worker (reader) and the
// scheduler callbacks (writers).
struct RequestState {
  std::mutex mu;
  std::condition_variable cv;
  std::string pending;  // text not yet sent
  bool done = false;
  GenerationResult result;
  std::string error;
  std::atomic<bool> cancelled{false};  // stop producing (client gone or shutdown)
  std::atomic<bool> shutdown_cancel{false};
  std::atomic<uint64_t> id{0};
};

void SetJson(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

void SetError(httplib::Response& res, const ApiError& e) {
  SetJson(res, e.status(), ErrorJson(e));
  if (e.status() == 429 || e.status() == 503) res.set_header("Retry-After", "1");
}

}  // namespace

struct Server::Impl {
  ServedModel model;
  ServerOptions opt;
  ParseLimits limits;
  httplib::Server http;
  Clock::time_point started = Clock::now();

  std::atomic<bool> draining{false};
  std::mutex rng_mu;
  std::mt19937_64 rng{std::random_device{}()};

  mutable std::mutex live_mu;
  std::condition_variable live_cv;
  std::set<std::shared_ptr<RequestState>> live;  // requests whose response is not finished

  mutable std::mutex counters_mu;
  std::map<int, uint64_t> by_status;
  std::atomic<uint64_t> disconnects{0};
  std::atomic<int64_t> streams_open{0};

  Impl(ServedModel m, ServerOptions o) : model(std::move(m)), opt(std::move(o)) {
    limits.vocab_size = model.vocab_size;
    Routes();
  }

  uint64_t Random() {
    std::lock_guard<std::mutex> lock(rng_mu);
    return rng();
  }

  AnswerMeta Meta(const char* prefix) {
    char hex[32];
    std::snprintf(hex, sizeof hex, "%016llx%08llx", static_cast<unsigned long long>(Random()),
                  static_cast<unsigned long long>(Random() & 0xffffffffULL));
    return AnswerMeta{std::string(prefix) + hex, static_cast<int64_t>(std::time(nullptr)), model.id};
  }

  void Track(const std::shared_ptr<RequestState>& st) {
    std::lock_guard<std::mutex> lock(live_mu);
    live.insert(st);
  }
  void Untrack(const std::shared_ptr<RequestState>& st) {
    std::lock_guard<std::mutex> lock(live_mu);
    live.erase(st);
    live_cv.notify_all();
  }

  void CheckModel(const std::string& name) {
    if (!name.empty() && name != model.id)
      throw ApiError(404, "The model '" + name + "' does not exist; this server serves '" + model.id + "'",
                     "invalid_request_error", "model_not_found", "model");
  }

  // Wraps a handler: every exception becomes an OpenAI error, never a crash.
  httplib::Server::Handler Guard(std::function<void(const httplib::Request&, httplib::Response&)> fn) {
    return [fn = std::move(fn)](const httplib::Request& req, httplib::Response& res) {
      try {
        fn(req, res);
      } catch (const ApiError& e) {
        SetError(res, e);
      } catch (const std::bad_alloc&) {
        SetJson(res, 500, ErrorJson("out of memory", "server_error", "internal_error"));
      } catch (const std::exception& e) {
        SetJson(res, 500, ErrorJson(std::string("internal error: ") + e.what(), "server_error", "internal_error"));
      } catch (...) {
        SetJson(res, 500, ErrorJson("internal error", "server_error", "internal_error"));
      }
    };
  }

  void Routes() {
    http.new_task_queue = [n = opt.http_threads] { return new httplib::ThreadPool(static_cast<size_t>(n)); };
    http.set_payload_max_length(opt.max_body_bytes);
    http.set_logger([this](const httplib::Request&, const httplib::Response& res) {
      std::lock_guard<std::mutex> lock(counters_mu);
      ++by_status[res.status];
    });
    http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      if (req.path.rfind("/v1/", 0) == 0 && !Authorized(req.get_header_value("Authorization"), opt.api_key)) {
        SetJson(res, 401, ErrorJson("Incorrect API key provided. Send 'Authorization: Bearer KEY'.",
                                    "authentication_error", "invalid_api_key"));
        return httplib::Server::HandlerResponse::Handled;
      }
      return httplib::Server::HandlerResponse::Unhandled;
    });
    http.set_error_handler([this](const httplib::Request& req, httplib::Response& res) {
      if (!res.body.empty() || res.content_length_ > 0) return;
      if (res.status == 413) {
        SetJson(res, 413, ErrorJson("The request body is over the limit of " + std::to_string(opt.max_body_bytes) +
                                        " bytes",
                                    "invalid_request_error", "request_too_large"));
      } else if (res.status == 404) {
        SetJson(res, 404, ErrorJson("Unknown path " + req.method + " " + req.path, "not_found_error", "unknown_url"));
      } else {
        SetJson(res, res.status, ErrorJson("HTTP error " + std::to_string(res.status), ErrorTypeForStatus(res.status), ""));
      }
    });
    http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
      SetJson(res, 500, ErrorJson("internal error", "server_error", "internal_error"));
    });

    for (const auto& [path, file] : opt.static_files) {
      http.Get(path, [file = file](const httplib::Request&, httplib::Response& res) {
        res.set_content(file.body.data(), file.body.size(), file.content_type);
        res.set_header("Cache-Control", "no-cache");
        res.set_header("X-Content-Type-Options", "nosniff");
        // The page loads nothing from anywhere else and runs no inline script.
        res.set_header("Content-Security-Policy",
                       "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                       "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'");
      });
    }
    http.Get("/health", Guard([this](const httplib::Request&, httplib::Response& res) {
      if (draining) SetJson(res, 503, json{{"status", "shutting_down"}});
      else SetJson(res, 200, json{{"status", "ok"}});
    }));
    http.Get("/metrics", Guard([this](const httplib::Request&, httplib::Response& res) {
      res.set_content(MetricsText(model.scheduler->Stats(), Counters(), model.id),
                      "text/plain; version=0.0.4; charset=utf-8");
    }));
    http.Get("/v1/models", Guard([this](const httplib::Request&, httplib::Response& res) {
      SetJson(res, 200, json{{"object", "list"}, {"data", json::array({ModelJson()})}});
    }));
    http.Get(R"(/v1/models/(.+))", Guard([this](const httplib::Request& req, httplib::Response& res) {
      CheckModel(req.matches[1].str());
      SetJson(res, 200, ModelJson());
    }));
    http.Post("/v1/chat/completions", Guard([this](const httplib::Request& req, httplib::Response& res) {
      Chat(req, res);
    }));
    http.Post("/v1/completions", Guard([this](const httplib::Request& req, httplib::Response& res) {
      Completion(req, res);
    }));
  }

  json ModelJson() const {
    return json{{"id", model.id},
                {"object", "model"},
                {"created", static_cast<int64_t>(0)},
                {"owned_by", "dseek"},
                {"context_length", model.context}};
  }

  void Chat(const httplib::Request& req, httplib::Response& res) {
    json body = ParseBody(req.body, limits);
    ChatRequest cr = ParseChatRequest(body, model.defaults, limits);
    CheckModel(cr.model);
    if (!model.render_chat)
      throw ApiError(400, "this model has no chat template; use /v1/completions or start the server with --chat-template");
    bool opened_think = false;
    std::string text;
    try {
      text = model.render_chat(cr.messages, &opened_think);
    } catch (const Error& e) {
      throw ApiError(400, std::string("the chat template could not render these messages: ") + e.what(),
                     "invalid_request_error", "invalid_messages", "messages");
    }
    std::vector<int32_t> ids = model.tokenizer->Encode(text, /*add_special=*/false);
    Generate(res, std::move(ids), cr, /*chat=*/true, opened_think, "messages");
  }

  void Completion(const httplib::Request& req, httplib::Response& res) {
    json body = ParseBody(req.body, limits);
    CompletionRequest cr = ParseCompletionRequest(body, model.defaults, limits);
    CheckModel(cr.model);
    std::vector<int32_t> ids = cr.prompt_is_ids ? cr.prompt_ids : model.tokenizer->Encode(cr.prompt, true);
    Generate(res, std::move(ids), cr, /*chat=*/false, false, "prompt");
  }

  void Generate(httplib::Response& res, std::vector<int32_t> ids, const CommonRequest& cr, bool chat,
                bool opened_think, const char* prompt_field) {
    if (draining) throw ApiError(503, "the server is shutting down", "server_error", "shutting_down");
    const int64_t n_prompt = static_cast<int64_t>(ids.size());
    if (n_prompt == 0) throw ApiError(400, "the prompt is empty", "invalid_request_error", "invalid_value", prompt_field);
    if (n_prompt >= model.context)
      throw ApiError(400, ContextLengthMessage(model.context, n_prompt), "invalid_request_error",
                     "context_length_exceeded", prompt_field);
    GenerationRequest g;
    g.prompt = std::move(ids);
    g.params = cr.params;
    if (!cr.seed_given && !model.default_seed_fixed) g.params.seed = Random();
    g.eos_ids = model.eos_ids;
    const int64_t room = model.context - n_prompt;
    const int64_t wanted = cr.max_tokens ? *cr.max_tokens : model.default_max_tokens > 0 ? model.default_max_tokens : room;
    g.max_tokens = static_cast<int>(std::min<int64_t>(wanted, room));
    g.params.max_tokens = g.max_tokens;

    auto st = std::make_shared<RequestState>();
    RequestCallbacks cb;
    cb.on_text = [st](const std::string& t) {
      {
        std::lock_guard<std::mutex> lock(st->mu);
        st->pending += t;
      }
      st->cv.notify_all();
      return !st->cancelled.load();
    };
    cb.on_done = [st](const GenerationResult& r, const std::string& error) {
      {
        std::lock_guard<std::mutex> lock(st->mu);
        st->done = true;
        st->result = r;
        st->error = error;
      }
      st->cv.notify_all();
    };
    Track(st);
    try {
      st->id = model.scheduler->Submit(std::move(g), std::move(cb));
    } catch (const Scheduler::TooLong& e) {
      Untrack(st);
      throw ApiError(400, e.what(), "invalid_request_error", "context_length_exceeded", prompt_field);
    } catch (const Scheduler::QueueFull& e) {
      Untrack(st);
      throw ApiError(429, std::string("the server is busy, try again shortly: ") + e.what(), "rate_limit_error",
                     "queue_full");
    } catch (const Scheduler::ShuttingDown&) {
      Untrack(st);
      throw ApiError(503, "the server is shutting down", "server_error", "shutting_down");
    } catch (const Error& e) {
      Untrack(st);
      throw ApiError(400, e.what(), "invalid_request_error", "invalid_value", e.field());
    } catch (...) {
      Untrack(st);
      throw;
    }
    // Cancelled before the id was known: make sure the scheduler hears it.
    if (st->cancelled) model.scheduler->Cancel(st->id);

    const AnswerMeta meta = Meta(chat ? "chatcmpl-" : "cmpl-");
    if (!cr.stream) {
      std::unique_lock<std::mutex> lock(st->mu);
      st->cv.wait(lock, [&] { return st->done; });
      GenerationResult r = st->result;
      std::string error = st->error;
      lock.unlock();
      Untrack(st);
      if (r.finish_reason == "error")
        throw ApiError(500, "generation failed: " + error, "server_error", "generation_error");
      if (r.finish_reason == "cancelled")
        throw ApiError(503, "the request was cancelled: the server is shutting down", "server_error", "shutting_down");
      Usage usage{r.prompt_tokens, static_cast<int64_t>(r.tokens.size()), r.cached_tokens};
      if (chat) {
        std::string reasoning, content;
        ReasoningRouter router(opened_think);
        auto emit = [&](bool is_reasoning, const std::string& s) { (is_reasoning ? reasoning : content) += s; };
        router.Feed(r.text, emit);
        router.Flush(emit);
        SetJson(res, 200, ChatCompletionJson(meta, content, reasoning, opened_think || !reasoning.empty(),
                                             FinishReason(r.finish_reason), usage));
      } else {
        SetJson(res, 200, CompletionJson(meta, r.text, FinishReason(r.finish_reason), usage));
      }
      return;
    }

    ++streams_open;
    auto stream = std::make_shared<StreamWriter>(this, st, meta, chat, opened_think, cr.include_usage);
    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Accel-Buffering", "no");
    res.set_chunked_content_provider(
        "text/event-stream",
        [stream](size_t, httplib::DataSink& sink) { return stream->Next(sink); },
        [stream](bool success) { stream->Release(success); });
  }

  // Turns one request's queued text into SSE events, one provider call at a time.
  struct StreamWriter {
    Impl* impl;
    std::shared_ptr<RequestState> st;
    AnswerMeta meta;
    bool chat, opened_think, include_usage;
    ReasoningRouter router;
    bool started = false, finished = false, released = false;

    StreamWriter(Impl* i, std::shared_ptr<RequestState> s, AnswerMeta m, bool c, bool think, bool usage)
        : impl(i), st(std::move(s)), meta(std::move(m)), chat(c), opened_think(think), include_usage(usage),
          router(think) {}

    void AddText(std::string* out, bool is_reasoning, const std::string& s) {
      if (s.empty()) return;
      if (!chat) {
        *out += SseEvent(CompletionChunkJson(meta, s, "", include_usage));
        return;
      }
      ChatDelta d;
      (is_reasoning ? d.reasoning_content : d.content) = s;
      *out += SseEvent(ChatChunkJson(meta, d, "", include_usage));
    }

    bool Next(httplib::DataSink& sink) {
      std::string out;
      if (!started) {
        started = true;
        if (chat) out += SseEvent(ChatChunkJson(meta, ChatDelta{"assistant", "", std::nullopt}, "", include_usage));
      }
      std::string text;
      bool done = false;
      GenerationResult r;
      std::string error;
      {
        std::unique_lock<std::mutex> lock(st->mu);
        auto ready = [&] { return !st->pending.empty() || st->done; };
        if (out.empty() && !ready())
          st->cv.wait_for(lock, std::chrono::duration<double>(impl->opt.heartbeat_seconds), ready);
        text.swap(st->pending);
        done = st->done;
        if (done) {
          r = st->result;
          error = st->error;
        }
      }
      auto emit = [&](bool is_reasoning, const std::string& s) { AddText(&out, is_reasoning, s); };
      if (chat) router.Feed(text, emit);
      else AddText(&out, false, text);
      if (done) {
        if (chat) router.Flush(emit);
        if (r.finish_reason == "error" || r.finish_reason == "cancelled") {
          std::string msg = r.finish_reason == "error" ? "generation failed: " + error
                                                       : "the request was cancelled: the server is shutting down";
          out += SseEvent(ErrorJson(msg, "server_error", r.finish_reason == "error" ? "generation_error" : "shutting_down"));
        } else {
          std::string reason = FinishReason(r.finish_reason);
          out += SseEvent(chat ? ChatChunkJson(meta, ChatDelta{}, reason, include_usage)
                               : CompletionChunkJson(meta, "", reason, include_usage));
          if (include_usage)
            out += SseEvent(UsageChunkJson(meta, chat ? "chat.completion.chunk" : "text_completion",
                                           Usage{r.prompt_tokens, static_cast<int64_t>(r.tokens.size()),
                                                 r.cached_tokens}));
        }
        out += SseDone();
      }
      if (out.empty()) out = ": keep-alive\n\n";  // finds a client that went away while we wait
      if (!sink.write(out.data(), out.size())) {
        ClientGone();
        return false;
      }
      if (done) {
        finished = true;
        sink.done();
      }
      return true;
    }

    void ClientGone() {
      if (!st->cancelled.exchange(true)) {
        if (!st->done) ++impl->disconnects;
        uint64_t id = st->id.load();
        if (id != 0) impl->model.scheduler->Cancel(id);
      }
    }

    void Release(bool success) {
      if (released) return;
      released = true;
      if (!success || !finished) ClientGone();
      --impl->streams_open;
      impl->Untrack(st);
    }
  };

  HttpCounters Snapshot() const {
    HttpCounters h;
    {
      std::lock_guard<std::mutex> lock(counters_mu);
      h.responses_by_status = by_status;
    }
    h.client_disconnects = disconnects.load();
    h.streams_open = streams_open.load();
    h.uptime_seconds = std::chrono::duration<double>(Clock::now() - started).count();
    return h;
  }
  HttpCounters Counters() const { return Snapshot(); }

  void Shutdown() {
    if (draining.exchange(true)) return;
    auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                       std::chrono::duration<double>(opt.shutdown_grace_seconds));
    std::unique_lock<std::mutex> lock(live_mu);
    live_cv.wait_until(lock, deadline, [&] { return live.empty(); });
    if (!live.empty()) {
      for (const auto& st : live) {
        st->shutdown_cancel = true;
        st->cancelled = true;
        uint64_t id = st->id.load();
        if (id != 0) model.scheduler->Cancel(id);
      }
      live_cv.wait_for(lock, std::chrono::seconds(5), [&] { return live.empty(); });
    }
    lock.unlock();
    model.scheduler->Shutdown(/*cancel=*/true);
    http.stop();
  }
};

Server::Server(ServedModel model, ServerOptions options)
    : impl_(std::make_unique<Impl>(std::move(model), std::move(options))) {
  if (impl_->model.scheduler == nullptr || !impl_->model.tokenizer)
    throw Error("dseek serve", "model", "no scheduler or tokenizer given");
}

Server::~Server() = default;

int Server::Bind() {
  const ServerOptions& o = impl_->opt;
  int port = o.port;
  if (port == 0) {
    port = impl_->http.bind_to_any_port(o.host);
  } else if (!impl_->http.bind_to_port(o.host, port)) {
    port = -1;
  }
  if (port < 0)
    throw Error(o.host + ":" + std::to_string(o.port), "", "cannot listen (address in use, or not allowed)");
  return port;
}

void Server::Run() { impl_->http.listen_after_bind(); }

void Server::Shutdown() { impl_->Shutdown(); }

HttpCounters Server::Counters() const { return impl_->Counters(); }

}  // namespace dseek::api
