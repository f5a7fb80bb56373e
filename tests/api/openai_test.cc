// The wire format without HTTP: request parsing and validation, error JSON,
// response and SSE chunk shapes, auth compare, metrics text.
#include "api/openai.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "api/auth.h"
#include "api/metrics.h"

namespace dseek::api {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

ParseLimits Limits() {
  ParseLimits l;
  l.vocab_size = 1000;
  return l;
}

ChatRequest Chat(const std::string& body) {
  return ParseChatRequest(ParseBody(body, Limits()), SamplingParams{}, Limits());
}

// Runs `fn`, expecting an ApiError; returns it.
template <typename F>
ApiError Expect(F fn) {
  try {
    fn();
  } catch (const ApiError& e) {
    return e;
  }
  ADD_FAILURE() << "no ApiError";
  return ApiError(0, "");
}

TEST(ParseBody, MalformedJsonIs400) {
  for (const char* bad : {"", "{", "{\"a\":}", "[1,2", "nul", "{\"a\":1} x", "\xff\xfe"}) {
    ApiError e = Expect([&] { ParseBody(bad, Limits()); });
    EXPECT_EQ(e.status(), 400) << bad;
    EXPECT_EQ(e.code(), "invalid_json") << bad;
  }
}

TEST(ParseBody, NonObjectIs400) {
  for (const char* bad : {"[]", "1", "\"x\"", "null", "true"})
    EXPECT_EQ(Expect([&] { ParseBody(bad, Limits()); }).status(), 400) << bad;
}

TEST(ParseBody, DeepNestingRefusedBeforeParsing) {
  std::string deep(100000, '[');
  ApiError e = Expect([&] { ParseBody(deep, Limits()); });
  EXPECT_EQ(e.status(), 400);
  EXPECT_THAT(e.what(), HasSubstr("nests deeper"));
  // Brackets inside strings do not count.
  EXPECT_FALSE(JsonTooDeep("{\"a\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"}", 4));
  EXPECT_FALSE(JsonTooDeep("{\"a\\\"[[[[[\":[[1]]}", 3));
  EXPECT_TRUE(JsonTooDeep("[[[[1]]]]", 3));
}

TEST(ParseChat, FullRequest) {
  ChatRequest r = Chat(R"({
    "model": "m", "messages": [{"role": "system", "content": "be brief"},
                               {"role": "user", "content": [{"type": "text", "text": "hi "}, {"type": "text", "text": "there"}]},
                               {"role": "assistant", "content": "ok", "reasoning_content": "hmm"},
                               {"role": "developer", "content": "dev"}],
    "temperature": 0.5, "top_p": 0.9, "max_tokens": 12, "stop": ["a", "bb"], "seed": 42,
    "presence_penalty": 0.5, "frequency_penalty": -0.5, "logit_bias": {"7": 5, "9": -100},
    "n": 1, "stream": true, "stream_options": {"include_usage": true}, "user": "u1", "unknown_field": [1]
  })");
  EXPECT_EQ(r.model, "m");
  ASSERT_EQ(r.messages.size(), 4u);
  EXPECT_EQ(r.messages[1]["content"], "hi there");
  EXPECT_FALSE(r.messages[2].contains("reasoning_content"));
  EXPECT_EQ(r.messages[3]["role"], "system");
  EXPECT_FLOAT_EQ(r.params.temperature, 0.5f);
  EXPECT_FLOAT_EQ(r.params.top_p, 0.9f);
  EXPECT_EQ(r.max_tokens, 12);
  EXPECT_EQ(r.params.stop, (std::vector<std::string>{"a", "bb"}));
  EXPECT_TRUE(r.seed_given);
  EXPECT_EQ(r.params.seed, 42u);
  EXPECT_FLOAT_EQ(r.params.presence_penalty, 0.5f);
  EXPECT_FLOAT_EQ(r.params.frequency_penalty, -0.5f);
  EXPECT_FLOAT_EQ(r.params.logit_bias.at(7), 5.0f);
  EXPECT_TRUE(std::isinf(r.params.logit_bias.at(9)) && r.params.logit_bias.at(9) < 0);
  EXPECT_TRUE(r.stream);
  EXPECT_TRUE(r.include_usage);
}

TEST(ParseChat, DefaultsKeptAndNullMeansAbsent) {
  SamplingParams defaults;
  defaults.temperature = 0.6f;
  defaults.top_p = 0.95f;
  ChatRequest r = ParseChatRequest(
      json::parse(R"({"messages":[{"role":"user","content":"x"}],"temperature":null,"max_tokens":null,"stop":null})"),
      defaults, Limits());
  EXPECT_FLOAT_EQ(r.params.temperature, 0.6f);
  EXPECT_FLOAT_EQ(r.params.top_p, 0.95f);
  EXPECT_FALSE(r.max_tokens.has_value());
  EXPECT_FALSE(r.seed_given);
  EXPECT_FALSE(r.stream);
  ChatRequest s = Chat(R"({"messages":[{"role":"user","content":"x"}],"stop":"END","max_completion_tokens":5})");
  EXPECT_EQ(s.params.stop, std::vector<std::string>{"END"});
  EXPECT_EQ(s.max_tokens, 5);
}

TEST(ParseChat, WrongTypesAndValuesAre400WithTheField) {
  struct Case {
    const char* body;
    const char* param;
  };
  const Case cases[] = {
      {R"({})", "messages"},
      {R"({"messages":"hi"})", "messages"},
      {R"({"messages":[]})", "messages"},
      {R"({"messages":[1]})", "messages[0]"},
      {R"({"messages":[{"content":"x"}]})", "messages[0].role"},
      {R"({"messages":[{"role":"wizard","content":"x"}]})", "messages[0].role"},
      {R"({"messages":[{"role":"user","content":5}]})", "messages[0].content"},
      {R"({"messages":[{"role":"user"}]})", "messages[0].content"},
      {R"({"messages":[{"role":"user","content":[{"type":"image_url","image_url":{}}]}]})", "messages[0].content"},
      {R"({"model":5,"messages":[{"role":"user","content":"x"}]})", "model"},
      {R"({"messages":[{"role":"user","content":"x"}],"temperature":"hot"})", "temperature"},
      {R"({"messages":[{"role":"user","content":"x"}],"temperature":3})", "temperature"},
      {R"({"messages":[{"role":"user","content":"x"}],"top_p":0})", "top_p"},
      {R"({"messages":[{"role":"user","content":"x"}],"max_tokens":0})", "max_tokens"},
      {R"({"messages":[{"role":"user","content":"x"}],"max_tokens":1.5})", "max_tokens"},
      {R"({"messages":[{"role":"user","content":"x"}],"max_tokens":"9"})", "max_tokens"},
      {R"({"messages":[{"role":"user","content":"x"}],"stop":5})", "stop"},
      {R"({"messages":[{"role":"user","content":"x"}],"stop":[""]})", "stop"},
      {R"({"messages":[{"role":"user","content":"x"}],"seed":"1"})", "seed"},
      {R"({"messages":[{"role":"user","content":"x"}],"presence_penalty":2.5})", "presence_penalty"},
      {R"({"messages":[{"role":"user","content":"x"}],"frequency_penalty":true})", "frequency_penalty"},
      {R"({"messages":[{"role":"user","content":"x"}],"logit_bias":[1]})", "logit_bias"},
      {R"({"messages":[{"role":"user","content":"x"}],"logit_bias":{"abc":1}})", "logit_bias"},
      {R"({"messages":[{"role":"user","content":"x"}],"logit_bias":{"5000":1}})", "logit_bias"},
      {R"({"messages":[{"role":"user","content":"x"}],"logit_bias":{"5":101}})", "logit_bias"},
      {R"({"messages":[{"role":"user","content":"x"}],"n":2})", "n"},
      {R"({"messages":[{"role":"user","content":"x"}],"stream":"yes"})", "stream"},
      {R"({"messages":[{"role":"user","content":"x"}],"stream_options":{"include_usage":1}})",
       "stream_options.include_usage"},
      {R"({"messages":[{"role":"user","content":"x"}],"logprobs":true})", "logprobs"},
  };
  for (const Case& c : cases) {
    ApiError e = Expect([&] { Chat(c.body); });
    EXPECT_EQ(e.status(), 400) << c.body;
    EXPECT_EQ(e.type(), "invalid_request_error") << c.body;
    EXPECT_EQ(e.param(), c.param) << c.body;
  }
}

TEST(ParseCompletion, PromptForms) {
  auto parse = [](const std::string& body) {
    return ParseCompletionRequest(json::parse(body), SamplingParams{}, Limits());
  };
  EXPECT_EQ(parse(R"({"prompt":"abc"})").prompt, "abc");
  EXPECT_EQ(parse(R"({"prompt":["abc"]})").prompt, "abc");
  CompletionRequest ids = parse(R"({"prompt":[1,2,3]})");
  EXPECT_TRUE(ids.prompt_is_ids);
  EXPECT_EQ(ids.prompt_ids, (std::vector<int32_t>{1, 2, 3}));
  EXPECT_EQ(parse(R"({"prompt":[[4,5]]})").prompt_ids, (std::vector<int32_t>{4, 5}));
  for (const char* bad : {R"({})", R"({"prompt":5})", R"({"prompt":["a","b"]})", R"({"prompt":[1,2000]})",
                          R"({"prompt":[-1]})", R"({"prompt":"a","echo":true})", R"({"prompt":"a","best_of":3})",
                          R"({"prompt":"a","logprobs":2})", R"({"prompt":"a","n":3})"}) {
    EXPECT_EQ(Expect([&] { parse(bad); }).status(), 400) << bad;
  }
}

TEST(Errors, OpenAiShape) {
  json e = ErrorJson(ApiError(404, "no such model", "invalid_request_error", "model_not_found", "model"));
  EXPECT_EQ(e["error"]["message"], "no such model");
  EXPECT_EQ(e["error"]["type"], "invalid_request_error");
  EXPECT_EQ(e["error"]["code"], "model_not_found");
  EXPECT_EQ(e["error"]["param"], "model");
  json n = ErrorJson("boom", "server_error", "");
  EXPECT_TRUE(n["error"]["code"].is_null());
  EXPECT_TRUE(n["error"]["param"].is_null());
  EXPECT_EQ(ErrorTypeForStatus(401), "authentication_error");
  EXPECT_EQ(ErrorTypeForStatus(429), "rate_limit_error");
  EXPECT_EQ(ErrorTypeForStatus(500), "server_error");
  std::string msg = ContextLengthMessage(512, 900);
  EXPECT_THAT(msg, HasSubstr("512"));
  EXPECT_THAT(msg, HasSubstr("900"));
}

TEST(Responses, ChatAndCompletionShapes) {
  AnswerMeta meta{"chatcmpl-1", 1700000000, "m"};
  Usage u{10, 5, 3};
  json c = ChatCompletionJson(meta, "answer", "thoughts", true, "stop", u);
  EXPECT_EQ(c["object"], "chat.completion");
  EXPECT_EQ(c["choices"][0]["message"]["role"], "assistant");
  EXPECT_EQ(c["choices"][0]["message"]["content"], "answer");
  EXPECT_EQ(c["choices"][0]["message"]["reasoning_content"], "thoughts");
  EXPECT_EQ(c["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(c["usage"]["total_tokens"], 15);
  EXPECT_EQ(c["usage"]["prompt_tokens_details"]["cached_tokens"], 3);
  EXPECT_FALSE(ChatCompletionJson(meta, "a", "", false, "length", u)["choices"][0]["message"].contains(
      "reasoning_content"));
  json t = CompletionJson(AnswerMeta{"cmpl-1", 1, "m"}, "text", "length", u);
  EXPECT_EQ(t["object"], "text_completion");
  EXPECT_EQ(t["choices"][0]["text"], "text");
}

TEST(Responses, SseChunks) {
  AnswerMeta meta{"chatcmpl-1", 1, "m"};
  ChatDelta d;
  d.reasoning_content = "because";
  std::string ev = SseEvent(ChatChunkJson(meta, d, "", true));
  ASSERT_EQ(ev.rfind("data: ", 0), 0u);
  ASSERT_EQ(ev.substr(ev.size() - 2), "\n\n");
  EXPECT_EQ(ev.find('\n'), ev.size() - 2) << "one line per event";
  json j = json::parse(ev.substr(6));
  EXPECT_EQ(j["object"], "chat.completion.chunk");
  EXPECT_EQ(j["choices"][0]["delta"]["reasoning_content"], "because");
  EXPECT_FALSE(j["choices"][0]["delta"].contains("content"));
  EXPECT_TRUE(j["choices"][0]["finish_reason"].is_null());
  EXPECT_TRUE(j.contains("usage") && j["usage"].is_null());
  json fin = ChatChunkJson(meta, ChatDelta{}, "length", false);
  EXPECT_EQ(fin["choices"][0]["finish_reason"], "length");
  EXPECT_FALSE(fin.contains("usage"));
  json u = UsageChunkJson(meta, "chat.completion.chunk", Usage{3, 4, 0});
  EXPECT_TRUE(u["choices"].empty());
  EXPECT_EQ(u["usage"]["completion_tokens"], 4);
  EXPECT_EQ(SseDone(), "data: [DONE]\n\n");
  // Newlines in text stay inside the JSON string; broken UTF-8 does not throw.
  ChatDelta nl;
  nl.content = std::string("a\n\nb\xff");
  std::string ev2 = SseEvent(ChatChunkJson(meta, nl, "", false));
  EXPECT_EQ(ev2.find("\n\n"), ev2.size() - 2);
  EXPECT_EQ(FinishReason("length"), "length");
  EXPECT_EQ(FinishReason("stop"), "stop");
}

TEST(Auth, ConstantTimeCompareAndBearer) {
  EXPECT_TRUE(ConstantTimeEqual("secret", "secret"));
  EXPECT_FALSE(ConstantTimeEqual("secret", "secreT"));
  EXPECT_FALSE(ConstantTimeEqual("secre", "secret"));
  EXPECT_FALSE(ConstantTimeEqual("secrets", "secret"));
  EXPECT_FALSE(ConstantTimeEqual("", "secret"));
  EXPECT_TRUE(Authorized("", ""));
  EXPECT_TRUE(Authorized("anything", ""));
  EXPECT_TRUE(Authorized("Bearer k1", "k1"));
  EXPECT_TRUE(Authorized("bearer k1", "k1"));
  EXPECT_FALSE(Authorized("Bearer k2", "k1"));
  EXPECT_FALSE(Authorized("k1", "k1"));
  EXPECT_FALSE(Authorized("Basic k1", "k1"));
  EXPECT_FALSE(Authorized("", "k1"));
}

TEST(Metrics, PrometheusText) {
  SchedulerStats s;
  s.active = 2;
  s.queued = 3;
  s.parallel = 4;
  s.requests_total = 10;
  s.prompt_tokens_total = 100;
  s.completion_tokens_total = 50;
  s.kv_tokens_used = 256;
  s.kv_tokens_capacity = 1024;
  s.decode_tokens_per_second = 12.5;
  HttpCounters h;
  h.responses_by_status[200] = 7;
  h.responses_by_status[429] = 1;
  std::string t = MetricsText(s, h, "my\"model");
  EXPECT_THAT(t, HasSubstr("# TYPE dseek_requests_total counter\ndseek_requests_total 10\n"));
  EXPECT_THAT(t, HasSubstr("dseek_requests_active 2\n"));
  EXPECT_THAT(t, HasSubstr("dseek_requests_queued 3\n"));
  EXPECT_THAT(t, HasSubstr("dseek_prompt_tokens_total 100\n"));
  EXPECT_THAT(t, HasSubstr("dseek_completion_tokens_total 50\n"));
  EXPECT_THAT(t, HasSubstr("dseek_decode_tokens_per_second 12.5\n"));
  EXPECT_THAT(t, HasSubstr("dseek_kv_cache_usage_ratio 0.25\n"));
  EXPECT_THAT(t, HasSubstr("dseek_http_responses_total{code=\"429\"} 1\n"));
  EXPECT_THAT(t, HasSubstr("dseek_info{model=\"my\\\"model\"} 1\n"));
  // Every line is a comment or "name[{labels}] value".
  size_t start = 0;
  while (start < t.size()) {
    size_t end = t.find('\n', start);
    ASSERT_NE(end, std::string::npos);
    std::string line = t.substr(start, end - start);
    if (line[0] != '#') {
      EXPECT_GE(std::count(line.begin(), line.end(), ' '), 1) << line;
    }
    start = end + 1;
  }
}

}  // namespace
}  // namespace dseek::api
