// `dseek serve MODEL_DIR [--host 127.0.0.1] [--port 8080] [--api-key KEY |
// --api-key-file F] [--parallel N] [--ctx-size N] ...`: the OpenAI-compatible
// HTTP server (src/api) over the continuous-batching scheduler, with the chat
// page of apps/web at /.
//
// Signals: SIGTERM and SIGINT are blocked in every thread and taken by one
// watcher thread with sigtimedwait, which runs the graceful shutdown (new
// requests refused, running answers finish within --shutdown-grace, then the
// rest are cancelled). No handler, so no global state.
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>

#include "api/server.h"
#include "apps/dseek/chat_setup.h"
#include "apps/dseek/commands.h"
#include "apps/web/web_assets.h"
#include "base/error.h"
#include "runtime/scheduler.h"

namespace dseek::cli {
namespace {

std::string ReadKeyFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(path, "", "cannot read the API key file");
  std::string key((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  while (!key.empty() && (key.back() == '\n' || key.back() == '\r' || key.back() == ' ')) key.pop_back();
  if (key.empty()) throw Error(path, "", "the API key file is empty");
  return key;
}

}  // namespace

void AddServe(CLI::App& app, Action& action) {
  struct Args {
    ChatModelFlags model;
    SamplingFlags sampling;
    std::string host = "127.0.0.1", api_key, api_key_file, alias;
    int port = 8080, parallel = 4, max_queue = 64, http_threads = 64;
    size_t max_body = 8u << 20;
    double grace = 10;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("serve", "OpenAI-compatible HTTP server with a web chat page");
  a->model.Register(cmd);
  cmd->add_option("--host", a->host, "Address to listen on (default 127.0.0.1: this machine only)");
  cmd->add_option("--port", a->port, "Port (0: any free port, printed at start)")->check(CLI::Range(0, 65535));
  auto* key = cmd->add_option("--api-key", a->api_key, "Require 'Authorization: Bearer KEY' on /v1");
  cmd->add_option("--api-key-file", a->api_key_file, "Read the API key from this file")->excludes(key);
  cmd->add_option("-p,--parallel", a->parallel, "Sequences decoding at once (slots)")->check(CLI::Range(1, 256));
  cmd->add_option("--max-queue", a->max_queue, "Requests waiting for a slot before 429")->check(CLI::Range(0, 100000));
  cmd->add_option("--max-body", a->max_body, "Largest request body in bytes (413 above)")->check(CLI::Range(1024, 1 << 30));
  cmd->add_option("--alias", a->alias, "Model name clients use (default: the folder's name)");
  cmd->add_option("--http-threads", a->http_threads, "Connections served at once")->check(CLI::Range(4, 4096));
  cmd->add_option("--shutdown-grace", a->grace, "Seconds running answers may finish after SIGTERM")
      ->check(CLI::Range(0.0, 3600.0));
  a->sampling.Register(cmd);
  cmd->callback([a, &action] {
    action = [a] {
      // Before any thread starts, so that every thread inherits the mask.
      sigset_t stop_signals;
      sigemptyset(&stop_signals);
      sigaddset(&stop_signals, SIGTERM);
      sigaddset(&stop_signals, SIGINT);
      pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
      signal(SIGPIPE, SIG_IGN);  // a client gone mid-write must not end the process

      std::string api_key = a->api_key_file.empty() ? a->api_key : ReadKeyFile(a->api_key_file);
      SamplingParams defaults = a->sampling.Resolve(a->model.model);
      ChatModel m = OpenChatModel(a->model);

      SchedulerOptions so;
      so.parallel = a->parallel;
      so.slot_context = m.engine->context();
      so.max_queue = a->max_queue;
      Scheduler scheduler(m.engine->model(), *m.tokenizer, so);

      std::string model_id = a->alias;
      if (model_id.empty()) {
        std::filesystem::path dir = std::filesystem::absolute(a->model.model).lexically_normal();
        model_id = dir.filename().empty() ? dir.parent_path().filename().string() : dir.filename().string();
      }
      api::ServedModel served;
      served.id = model_id;
      served.scheduler = &scheduler;
      served.tokenizer = *m.tokenizer;
      served.render_chat = [&m](const nlohmann::ordered_json& messages, bool* opened_think) {
        return RenderPrompt(m, messages, opened_think);
      };
      served.eos_ids = m.eos_ids;
      served.defaults = defaults;
      served.defaults.max_tokens = -1;
      for (CLI::Option* o : a->sampling.options)
        if (o->check_name("--seed") && o->count() > 0) served.default_seed_fixed = true;
      served.context = so.slot_context;
      if (a->sampling.max_tokens_opt->count() > 0) served.default_max_tokens = a->sampling.max_tokens;
      served.vocab_size = m.engine->facts().vocab_size;

      api::ServerOptions opt;
      opt.host = a->host;
      opt.port = a->port;
      opt.api_key = api_key;
      opt.max_body_bytes = a->max_body;
      opt.http_threads = a->http_threads;
      opt.shutdown_grace_seconds = a->grace;
      for (const web::Asset& asset : web::Assets()) 
        opt.static_files[std::string(asset.path)] = {std::string(asset.content_type), asset.body};
      if (opt.static_files.count("/index.html")) opt.static_files["/"] = opt.static_files["/index.html"];

      api::Server server(std::move(served), opt);
      const int port = server.Bind();
      std::fprintf(stderr, "dseek serve: listening on http://%s:%d (model '%s', %d slots x %lld tokens%s)%s\n",
                   a->host.c_str(), port, model_id.c_str(), so.parallel,
                   static_cast<long long>(so.slot_context), api_key.empty() ? "" : ", API key required",
                   m.synthetic ? " [random weights]" : "");
      std::fflush(stderr);

      std::atomic<bool> finished{false};
      std::thread watcher([&] {
        const timespec tick{0, 200 * 1000 * 1000};
        while (!finished.load()) {
          int sig = sigtimedwait(&stop_signals, nullptr, &tick);
          if (sig == SIGTERM || sig == SIGINT) {
            std::fprintf(stderr, "dseek serve: %s, shutting down\n", sig == SIGTERM ? "SIGTERM" : "SIGINT");
            std::fflush(stderr);
            server.Shutdown();
            return;
          }
        }
      });
      server.Run();
      finished = true;
      watcher.join();
      std::fprintf(stderr, "dseek serve: stopped\n");
      return 0;
    };
  });
}

}  // namespace dseek::cli
