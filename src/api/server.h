// The OpenAI-compatible HTTP server: routes, auth, streaming (server-sent
// events), metrics and the embedded chat page, over cpp-httplib. Generation
// itself is the Scheduler's; this file turns HTTP requests into Submit()
// calls and the callbacks back into responses.
//
// Endpoints: GET /, /health, /metrics, /v1/models[/ID]; POST
// /v1/chat/completions and /v1/completions (stream or not).
//
// Threads: cpp-httplib runs each connection on a worker of its pool; a
// streaming response holds its worker until the answer ends. Scheduler
// callbacks only queue text; workers do the formatting and writing, so a
// slow client never stalls the batch. A write that fails (client gone)
// cancels the request at once, freeing its slot.
//
// The process must ignore SIGPIPE (a write to a closed socket would end it);
// apps/ does that before Run().
//
// Owns the HTTP server; borrows the Scheduler, which must outlive it.
// Shutdown() may be called from any thread; the rest from one thread.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/metrics.h"
#include "runtime/sampler.h"
#include "runtime/scheduler.h"
#include "tokenizer/tokenizer.h"

namespace dseek::api {

struct ServedModel {
  std::string id;  // the name /v1/models lists and requests must use
  Scheduler* scheduler = nullptr;
  std::optional<Tokenizer> tokenizer;  // required
  // Chat messages -> prompt text (the model's chat template); sets
  // *opened_think when the prompt ends inside <think> (R1 distills). Throws
  // dseek::Error when the template fails. Empty: the chat endpoint answers 400.
  std::function<std::string(const nlohmann::ordered_json& messages, bool* opened_think)> render_chat;
  std::vector<int32_t> eos_ids;
  SamplingParams defaults;  // generation_config.json values, then the server's flags
  // Requests without a seed use defaults.seed (the server was given --seed);
  // otherwise each such request draws a fresh seed, as OpenAI's API does.
  bool default_seed_fixed = false;
  int64_t context = 4096;   // tokens per request, prompt + answer
  int default_max_tokens = 0;  // for requests without max_tokens; 0: the context left
  int64_t vocab_size = 0;
};

struct StaticFile {
  std::string content_type;
  std::string_view body;  // must outlive the server (embedded data)
};

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0: any free port (see Bind)
  std::string api_key;  // empty: no auth
  size_t max_body_bytes = 8u << 20;
  int http_threads = 64;  // connections served at once
  double shutdown_grace_seconds = 10;  // in-flight answers may finish for this long
  double heartbeat_seconds = 1;  // SSE comment while a stream waits (finds gone clients)
  std::map<std::string, StaticFile> static_files;  // URL path -> file ("/" = the page)
};

class Server {
 public:
  Server(ServedModel model, ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds the listening socket; returns the port. Throws dseek::Error.
  int Bind();
  // Serves until Shutdown(); returns after every worker has ended.
  void Run();
  // Graceful stop: new requests get 503, running answers may finish for the
  // grace period and are then cancelled (streams end with an error event and
  // [DONE]); then the scheduler and the listener stop. Blocks until done.
  void Shutdown();
  HttpCounters Counters() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dseek::api
