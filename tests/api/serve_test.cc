// `dseek serve` over real HTTP on 127.0.0.1 (ephemeral port): every
// endpoint, every error status, streaming shape, reasoning_content, client
// disconnects, a request fuzz, and graceful SIGTERM. The model is the random
// deepseek-demo checkpoint with R1's tokenizer made by make_serve_model.py.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

namespace {

using nlohmann::json;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

const char* kR1Template = DSEEK_TEST_DATA "/templates/deepseek-ai-DeepSeek-R1-Distill-Llama-8B.jinja";
constexpr int kThinkEnd = 128799;  // "</think>" in R1's tokenizer

// A `dseek serve` child process on an ephemeral port.
class ServeProcess {
 public:
  explicit ServeProcess(std::vector<std::string> extra) {
    log_ = (fs::temp_directory_path() / ("dseek_serve_test_" + std::to_string(getpid()) + "_" +
                                         std::to_string(counter_++) + ".log")).string();
    std::vector<std::string> args = {DSEEK_BINARY, "serve", DSEEK_SERVE_MODEL, "--port", "0", "-t", "1"};
    args.insert(args.end(), extra.begin(), extra.end());
    pid_ = fork();
    if (pid_ == 0) {
      FILE* f = std::freopen(log_.c_str(), "w", stderr);
      (void)f;
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    std::regex re("listening on http://127\\.0\\.0\\.1:([0-9]+)");
    while (std::chrono::steady_clock::now() < deadline) {
      std::smatch m;
      std::string text = Log();
      if (std::regex_search(text, m, re)) {
        port_ = std::stoi(m[1]);
        return;
      }
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << "dseek serve did not start:\n" << Log();
  }
  ~ServeProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    fs::remove(log_);
  }
  std::string Log() const {
    std::ifstream f(log_);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  }
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  // Sends SIGTERM and waits up to `seconds`; returns the exit status or -1.
  int Terminate(double seconds) {
    kill(pid_, SIGTERM);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return -1;
  }
  httplib::Client Client() const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(60, 0);
    return c;
  }

 private:
  static inline int counter_ = 0;
  std::string log_;
  pid_t pid_ = -1;
  int port_ = 0;
};

httplib::Headers Auth(const std::string& key) { return {{"Authorization", "Bearer " + key}}; }

json ChatBody(const std::string& text, int max_tokens, bool stream = false) {
  return json{{"model", "model"},
              {"messages", json::array({json{{"role", "user"}, {"content", text}}})},
              {"max_tokens", max_tokens},
              {"stream", stream}};
}

// Parses an SSE body into its JSON events; checks the framing on the way.
std::vector<json> SseEvents(const std::string& body, bool* saw_done) {
  std::vector<json> out;
  *saw_done = false;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t end = body.find("\n\n", pos);
    EXPECT_NE(end, std::string::npos) << "unterminated event";
    if (end == std::string::npos) break;
    std::string ev = body.substr(pos, end - pos);
    pos = end + 2;
    if (ev.rfind(":", 0) == 0) continue;  // comment (keep-alive)
    EXPECT_EQ(ev.rfind("data: ", 0), 0u) << ev;
    std::string data = ev.substr(6);
    EXPECT_FALSE(*saw_done) << "event after [DONE]";
    if (data == "[DONE]") {
      *saw_done = true;
      continue;
    }
    out.push_back(json::parse(data));
  }
  return out;
}

double Metric(httplib::Client& c, const std::string& name) {
  auto r = c.Get("/metrics");
  if (!r || r->status != 200) return -1;
  std::regex re("\n" + name + " ([0-9.e+-]+)\n");
  std::smatch m;
  if (!std::regex_search(r->body, m, re)) return -1;
  return std::stod(m[1]);
}

void ExpectError(const httplib::Result& r, int status, const std::string& code = "") {
  ASSERT_TRUE(r) << "no response";
  EXPECT_EQ(r->status, status) << r->body;
  json j = json::parse(r->body, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r->body;
  ASSERT_TRUE(j.contains("error")) << r->body;
  EXPECT_TRUE(j["error"]["message"].is_string());
  EXPECT_TRUE(j["error"]["type"].is_string());
  EXPECT_TRUE(j["error"].contains("code"));
  if (!code.empty()) {
    EXPECT_EQ(j["error"]["code"], code) << r->body;
  }
}

class ServeApi : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new ServeProcess({"--api-key", "sekrit", "-c", "256", "--parallel", "1", "--max-queue", "1",
                                "--max-body", "65536"});
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  static ServeProcess* server_;
};
ServeProcess* ServeApi::server_ = nullptr;

TEST_F(ServeApi, HealthAndPageNeedNoKey) {
  auto c = server_->Client();
  auto h = c.Get("/health");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
  EXPECT_EQ(json::parse(h->body)["status"], "ok");
  auto page = c.Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_THAT(page->get_header_value("Content-Type"), HasSubstr("text/html"));
  EXPECT_THAT(page->body, HasSubstr("<textarea id=\"prompt\""));
  EXPECT_THAT(page->get_header_value("Content-Security-Policy"), HasSubstr("default-src 'self'"));
  auto js = c.Get("/app.js");
  ASSERT_TRUE(js);
  EXPECT_EQ(js->status, 200);
  EXPECT_THAT(js->get_header_value("Content-Type"), HasSubstr("javascript"));
  auto m = c.Get("/metrics");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->status, 200);
  EXPECT_THAT(m->body, HasSubstr("dseek_requests_active"));
  EXPECT_THAT(m->body, HasSubstr("dseek_kv_cache_tokens_capacity"));
}

TEST_F(ServeApi, ApiKeyRequiredOnV1) {
  auto c = server_->Client();
  ExpectError(c.Get("/v1/models"), 401, "invalid_api_key");
  ExpectError(c.Get("/v1/models", Auth("wrong")), 401, "invalid_api_key");
  ExpectError(c.Get("/v1/models", Auth("sekri")), 401, "invalid_api_key");
  ExpectError(c.Post("/v1/chat/completions", ChatBody("hi", 2).dump(), "application/json"), 401);
  auto r = c.Get("/v1/models", Auth("sekrit"));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  json j = json::parse(r->body);
  EXPECT_EQ(j["object"], "list");
  ASSERT_EQ(j["data"].size(), 1u);
  EXPECT_EQ(j["data"][0]["id"], "model");
  EXPECT_EQ(j["data"][0]["object"], "model");
  auto one = c.Get("/v1/models/model", Auth("sekrit"));
  ASSERT_TRUE(one);
  EXPECT_EQ(one->status, 200);
  ExpectError(c.Get("/v1/models/gpt-4", Auth("sekrit")), 404, "model_not_found");
}

TEST_F(ServeApi, ErrorStatuses) {
  auto c = server_->Client();
  auto post = [&](const std::string& path, const std::string& body) {
    return c.Post(path, Auth("sekrit"), body, "application/json");
  };
  ExpectError(post("/v1/chat/completions", "{not json"), 400, "invalid_json");
  ExpectError(post("/v1/chat/completions", ""), 400, "invalid_json");
  ExpectError(post("/v1/chat/completions", "[1,2]"), 400, "invalid_json");
  ExpectError(post("/v1/chat/completions", R"({"messages":"hello"})"), 400);
  ExpectError(post("/v1/chat/completions", R"({"messages":[{"role":"user","content":"x"}],"temperature":"hot"})"), 400);
  ExpectError(post("/v1/chat/completions", R"({"messages":[{"role":"user","content":"x"}],"n":2})"), 400);
  ExpectError(post("/v1/completions", R"({"prompt":7})"), 400);
  json unknown = ChatBody("hi", 2);
  unknown["model"] = "deepseek-chat";
  ExpectError(post("/v1/chat/completions", unknown.dump()), 404, "model_not_found");
  // Body over --max-body.
  json big = ChatBody(std::string(70000, 'a'), 2);
  ExpectError(post("/v1/chat/completions", big.dump()), 413, "request_too_large");
  // Prompt longer than the context (256): the numbers are in the message.
  std::string words;
  for (int i = 0; i < 400; ++i) words += "word" + std::to_string(i) + " ";
  auto r = post("/v1/chat/completions", ChatBody(words, 2).dump());
  ExpectError(r, 400, "context_length_exceeded");
  EXPECT_THAT(r->body, HasSubstr("256"));
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r->body, m, std::regex("resulted in ([0-9]+) tokens")));
  EXPECT_GT(std::stoi(m[1]), 256);
  ExpectError(c.Get("/v1/nothing-here", Auth("sekrit")), 404);
  ExpectError(c.Get("/nothing-here"), 404);
}

TEST_F(ServeApi, ChatNonStreaming) {
  auto c = server_->Client();
  json body = ChatBody("Hello there", 6);
  body["seed"] = 3;
  body["temperature"] = 0.7;
  body["stop"] = json::array({"zzzz"});
  auto r = c.Post("/v1/chat/completions", Auth("sekrit"), body.dump(), "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  json j = json::parse(r->body);
  EXPECT_EQ(j["object"], "chat.completion");
  EXPECT_EQ(j["model"], "model");
  EXPECT_THAT(j["id"].get<std::string>(), ::testing::StartsWith("chatcmpl-"));
  EXPECT_EQ(j["choices"][0]["message"]["role"], "assistant");
  EXPECT_TRUE(j["choices"][0]["message"]["content"].is_string());
  EXPECT_FALSE(j["choices"][0]["message"].contains("reasoning_content")) << "not an R1 template";
  std::string reason = j["choices"][0]["finish_reason"];
  EXPECT_TRUE(reason == "length" || reason == "stop") << reason;
  EXPECT_GT(j["usage"]["prompt_tokens"].get<int>(), 0);
  EXPECT_LE(j["usage"]["completion_tokens"].get<int>(), 6);
  EXPECT_EQ(j["usage"]["total_tokens"], j["usage"]["prompt_tokens"].get<int>() + j["usage"]["completion_tokens"].get<int>());
  // Same seed, same text.
  auto r2 = c.Post("/v1/chat/completions", Auth("sekrit"), body.dump(), "application/json");
  ASSERT_TRUE(r2);
  EXPECT_EQ(json::parse(r2->body)["choices"][0]["message"]["content"], j["choices"][0]["message"]["content"]);
}

TEST_F(ServeApi, ChatStreamingIsWellFormed) {
  auto c = server_->Client();
  json body = ChatBody("Stream please", 8, true);
  body["stream_options"] = {{"include_usage", true}};
  auto r = c.Post("/v1/chat/completions", Auth("sekrit"), body.dump(), "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_THAT(r->get_header_value("Content-Type"), HasSubstr("text/event-stream"));
  bool done = false;
  std::vector<json> ev = SseEvents(r->body, &done);
  EXPECT_TRUE(done);
  ASSERT_GE(ev.size(), 3u);
  EXPECT_EQ(ev[0]["choices"][0]["delta"]["role"], "assistant");
  std::string id = ev[0]["id"];
  std::string text, finish;
  for (size_t i = 0; i + 1 < ev.size(); ++i) {
    EXPECT_EQ(ev[i]["id"], id);
    EXPECT_EQ(ev[i]["object"], "chat.completion.chunk");
    ASSERT_EQ(ev[i]["choices"].size(), 1u);
    const json& ch = ev[i]["choices"][0];
    if (ch["delta"].contains("content")) text += ch["delta"]["content"].get<std::string>();
    if (!ch["finish_reason"].is_null()) finish = ch["finish_reason"];
  }
  EXPECT_EQ(finish, "length");
  const json& usage = ev.back();
  EXPECT_TRUE(usage["choices"].empty());
  EXPECT_EQ(usage["usage"]["completion_tokens"], 8);
}

TEST_F(ServeApi, Completions) {
  auto c = server_->Client();
  auto r = c.Post("/v1/completions", Auth("sekrit"), R"({"model":"model","prompt":"Once upon","max_tokens":5})",
                  "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  json j = json::parse(r->body);
  EXPECT_EQ(j["object"], "text_completion");
  EXPECT_TRUE(j["choices"][0]["text"].is_string());
  EXPECT_EQ(j["usage"]["completion_tokens"], 5);
  auto s = c.Post("/v1/completions", Auth("sekrit"), R"({"prompt":[1,2,3],"max_tokens":3,"stream":true})",
                  "application/json");
  ASSERT_TRUE(s);
  ASSERT_EQ(s->status, 200);
  bool done = false;
  std::vector<json> ev = SseEvents(s->body, &done);
  EXPECT_TRUE(done);
  ASSERT_FALSE(ev.empty());
  EXPECT_EQ(ev.back()["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(ev.back()["object"], "text_completion");
}

// --parallel 1 --max-queue 1: one running, one waiting, the next is refused
// with 429 and Retry-After. Dropping the two streams frees the slot at once.
TEST_F(ServeApi, QueueFullIs429AndDisconnectsFreeTheSlot) {
  std::atomic<bool> stop{false};
  std::atomic<int> chunks{0};
  auto streamer = [&] {
    auto c = server_->Client();
    httplib::Request req;
    req.method = "POST";
    req.path = "/v1/chat/completions";
    req.headers = Auth("sekrit");
    req.body = ChatBody("a long answer please", 240, true).dump();
    req.set_header("Content-Type", "application/json");
    req.content_receiver = [&](const char*, size_t, uint64_t, uint64_t) {
      ++chunks;
      return !stop.load();
    };
    c.send(req);
  };
  std::thread a(streamer);
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  std::thread b(streamer);
  auto c = server_->Client();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while ((Metric(c, "dseek_requests_active") < 1 || Metric(c, "dseek_requests_queued") < 1) &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_EQ(Metric(c, "dseek_requests_queued"), 1);
  auto r = c.Post("/v1/chat/completions", Auth("sekrit"), ChatBody("me too", 2).dump(), "application/json");
  ExpectError(r, 429, "queue_full");
  EXPECT_EQ(r->get_header_value("Retry-After"), "1");
  double before = Metric(c, "dseek_http_client_disconnects_total");
  stop = true;
  a.join();
  b.join();
  auto t0 = std::chrono::steady_clock::now();
  while ((Metric(c, "dseek_requests_active") != 0 || Metric(c, "dseek_requests_queued") != 0) &&
         std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5))
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(Metric(c, "dseek_requests_active"), 0);
  EXPECT_EQ(Metric(c, "dseek_requests_queued"), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(3));
  EXPECT_GE(Metric(c, "dseek_http_client_disconnects_total"), before + 1);
  EXPECT_LT(Metric(c, "dseek_completion_tokens_total"), 400) << "the dropped streams were not cancelled";
}

TEST_F(ServeApi, FuzzedBodiesNeverCrash) {
  auto c = server_->Client();
  std::mt19937 rng(1234);
  const std::vector<std::string> seeds = {
      R"({"messages":[{"role":"user","content":"x"}],"max_tokens":1})",
      R"({"prompt":"x","max_tokens":1})",
      R"({"messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"1","type":"function","function":{"name":"f","arguments":"{}"}}]}],"max_tokens":1})",
  };
  int ok = 0;
  for (int i = 0; i < 150; ++i) {
    std::string body = seeds[i % seeds.size()];
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !body.empty(); ++e) {
      size_t at = rng() % body.size();
      switch (rng() % 3) {
        case 0: body[at] = static_cast<char>(rng() % 256); break;
        case 1: body.erase(at, 1 + rng() % 8); break;
        default: body.insert(at, std::string(1 + rng() % 3, "{[\"0:,}]-\\"[rng() % 10])); break;
      }
    }
    const char* path = (i % 2) ? "/v1/completions" : "/v1/chat/completions";
    auto r = c.Post(path, Auth("sekrit"), body, "application/json");
    ASSERT_TRUE(r) << "no answer to " << body;
    ASSERT_TRUE(r->status == 200 || (r->status >= 400 && r->status < 500)) << r->status << " for " << body;
    if (r->status != 200) {
      json j = json::parse(r->body, nullptr, false);
      ASSERT_TRUE(j.is_object() && j.contains("error")) << r->body;
    } else {
      ++ok;
    }
  }
  auto h = c.Get("/health");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
  std::printf("fuzz: %d of 150 mutated bodies were still valid requests\n", ok);
}

// R1 template: the prompt opens <think>, so text until </think> is reasoning.
TEST(ServeR1, ReasoningContentAndGracefulSigterm) {
  ServeProcess server({"--chat-template", kR1Template, "-c", "1024", "--shutdown-grace", "0.5"});
  ASSERT_GT(server.port(), 0);
  auto c = server.Client();
  json body = ChatBody("Think first", 24);
  body["seed"] = 7;
  body["logit_bias"] = {{std::to_string(kThinkEnd), 5}};
  auto r = c.Post("/v1/chat/completions", body.dump(), "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  json msg = json::parse(r->body)["choices"][0]["message"];
  ASSERT_TRUE(msg.contains("reasoning_content"));
  EXPECT_FALSE(msg["reasoning_content"].get<std::string>().empty());
  EXPECT_FALSE(msg["content"].get<std::string>().empty());
  EXPECT_THAT(msg["reasoning_content"].get<std::string>(), ::testing::Not(HasSubstr("</think>")));

  body["stream"] = true;
  auto s = c.Post("/v1/chat/completions", body.dump(), "application/json");
  ASSERT_TRUE(s);
  bool done = false;
  std::vector<json> ev = SseEvents(s->body, &done);
  EXPECT_TRUE(done);
  std::string reasoning, content;
  for (const json& e : ev) {
    const json& d = e["choices"][0]["delta"];
    if (d.contains("reasoning_content")) reasoning += d["reasoning_content"].get<std::string>();
    if (d.contains("content")) content += d["content"].get<std::string>();
  }
  EXPECT_EQ(reasoning, msg["reasoning_content"].get<std::string>());
  EXPECT_EQ(content, msg["content"].get<std::string>());

  // SIGTERM while a long answer streams: the stream still ends cleanly
  // ([DONE], after an error event when cut short) and the process exits 0.
  std::string streamed;
  std::atomic<bool> got_first{false};
  std::thread t([&] {
    auto c2 = server.Client();
    httplib::Request req;
    req.method = "POST";
    req.path = "/v1/chat/completions";
    req.body = ChatBody("a very long answer", 900, true).dump();
    req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
      streamed.append(data, n);
      got_first = true;
      return true;
    };
    c2.send(req);
  });
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!got_first && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  int status = server.Terminate(20);
  t.join();
  EXPECT_EQ(status, 0) << server.Log();
  bool stream_done = false;
  std::vector<json> tail = SseEvents(streamed, &stream_done);
  EXPECT_TRUE(stream_done) << streamed.substr(streamed.size() > 400 ? streamed.size() - 400 : 0);
  ASSERT_FALSE(tail.empty());
  EXPECT_TRUE(tail.back().contains("error") || !tail.back()["choices"][0]["finish_reason"].is_null());
  EXPECT_THAT(server.Log(), HasSubstr("shutting down"));
  httplib::Client after("127.0.0.1", server.port());
  after.set_connection_timeout(1, 0);
  EXPECT_FALSE(after.Get("/health")) << "still accepting after shutdown";
}

}  // namespace
