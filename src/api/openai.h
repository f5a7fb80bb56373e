// The OpenAI wire format, without any HTTP: request bodies parsed and checked
// into plain structs, and the JSON of answers, stream chunks and errors.
// Shapes follow OpenAI's chat/completions and completions endpoints, plus
// DeepSeek's `reasoning_content` for R1-style models.
//
// Owns nothing long-lived; every function is pure and thread-safe. Depends on
// runtime/ (SamplingParams) and nlohmann_json only; knows no model or server.
// Errors: a bad request throws ApiError, which already carries its HTTP
// status and the OpenAI error `type`/`code`/`param`.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/sampler.h"

namespace dseek::api {

// An error the client sees as {"error": {"message", "type", "param", "code"}}.
class ApiError : public std::runtime_error {
 public:
  ApiError(int status, std::string message, std::string type = "invalid_request_error", std::string code = "",
           std::string param = "")
      : std::runtime_error(message), status_(status), type_(std::move(type)), code_(std::move(code)),
        param_(std::move(param)) {}
  int status() const { return status_; }
  const std::string& type() const { return type_; }
  const std::string& code() const { return code_; }
  const std::string& param() const { return param_; }

 private:
  int status_;
  std::string type_, code_, param_;
};

// The OpenAI error body for any status; `code` and `param` become null when empty.
nlohmann::json ErrorJson(const std::string& message, const std::string& type, const std::string& code,
                         const std::string& param = "");
nlohmann::json ErrorJson(const ApiError& e);
// The `type` OpenAI uses for an HTTP status (400 -> invalid_request_error, ...).
std::string ErrorTypeForStatus(int status);

// What the parser needs to know of the served model.
struct ParseLimits {
  int64_t vocab_size = 0;  // logit_bias ids must be below it (0: unchecked)
  int max_stop = 16;       // stop strings per request
  int max_json_depth = 64; // nesting deeper than this is refused before parsing
};

// The fields both endpoints share. Sampling fields the request leaves out
// keep the values of `defaults` given to the parser.
struct CommonRequest {
  std::string model;  // empty when not given
  SamplingParams params;
  bool seed_given = false;
  std::optional<int> max_tokens;  // max_tokens or max_completion_tokens
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
};

struct ChatRequest : CommonRequest {
  // [{"role", "content"}] with content flattened to a string, in order.
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();
};

struct CompletionRequest : CommonRequest {
  std::string prompt;               // when given as text
  std::vector<int32_t> prompt_ids;  // when given as token ids
  bool prompt_is_ids = false;
};

// Parses a request body (text as received). Throws ApiError(400) for
// malformed JSON, nesting beyond the limit, wrong field types and values out
// of range, naming the field in `param`.
nlohmann::json ParseBody(std::string_view body, const ParseLimits& limits);
ChatRequest ParseChatRequest(const nlohmann::json& body, const SamplingParams& defaults, const ParseLimits& limits);
CompletionRequest ParseCompletionRequest(const nlohmann::json& body, const SamplingParams& defaults,
                                         const ParseLimits& limits);

// True when the nesting of `text` (outside strings) goes deeper than `limit`.
bool JsonTooDeep(std::string_view text, int limit);

struct Usage {
  int64_t prompt_tokens = 0, completion_tokens = 0, cached_tokens = 0;
};
nlohmann::json UsageJson(const Usage& u);

// Ids and time stamps of one answer, shared by all its chunks.
struct AnswerMeta {
  std::string id;     // "chatcmpl-..." or "cmpl-..."
  int64_t created = 0;  // unix seconds
  std::string model;
};

// Non-streaming answers. `reasoning` is emitted as message.reasoning_content
// when `with_reasoning` (R1-style model); otherwise left out.
nlohmann::json ChatCompletionJson(const AnswerMeta& meta, const std::string& content, const std::string& reasoning,
                                  bool with_reasoning, const std::string& finish_reason, const Usage& usage);
nlohmann::json CompletionJson(const AnswerMeta& meta, const std::string& text, const std::string& finish_reason,
                              const Usage& usage);

// Streaming chunks. A chat delta holds role, content and/or reasoning_content
// (empty optional = field left out); finish_reason empty = null.
struct ChatDelta {
  std::optional<std::string> role, content, reasoning_content;
};
nlohmann::json ChatChunkJson(const AnswerMeta& meta, const ChatDelta& delta, const std::string& finish_reason,
                             bool include_usage_null);
nlohmann::json CompletionChunkJson(const AnswerMeta& meta, const std::string& text, const std::string& finish_reason,
                                   bool include_usage_null);
// The usage chunk sent before [DONE] when stream_options.include_usage is set.
nlohmann::json UsageChunkJson(const AnswerMeta& meta, const std::string& object, const Usage& usage);

// One server-sent event: "data: <json>\n\n"; the terminator is SseDone().
std::string SseEvent(const nlohmann::json& data);
inline std::string SseDone() { return "data: [DONE]\n\n"; }

// The finish_reason OpenAI clients know for a generation end reason.
std::string FinishReason(const std::string& generation_reason);

// The message for a prompt that does not fit the context, with the numbers.
std::string ContextLengthMessage(int64_t context, int64_t prompt_tokens);

}  // namespace dseek::api
