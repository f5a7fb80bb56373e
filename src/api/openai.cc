#include "api/openai.h"

#include <cmath>
#include <limits>

#include "base/error.h"

namespace dseek::api {

using nlohmann::json;
using nlohmann::ordered_json;

namespace {

ApiError BadField(const std::string& field, const std::string& reason, const std::string& code = "invalid_value") {
  return ApiError(400, "'" + field + "': " + reason, "invalid_request_error", code, field);
}

ApiError WrongType(const std::string& field, const char* expected) {
  return BadField(field, std::string("expected ") + expected, "invalid_type");
}

// A present, non-null field (OpenAI treats null as "not given").
const json* Field(const json& body, const char* name) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return nullptr;
  return &*it;
}

double Number(const json& v, const std::string& field) {
  if (!v.is_number()) throw WrongType(field, "a number");
  double d = v.get<double>();
  if (!std::isfinite(d)) throw BadField(field, "must be finite");
  return d;
}

int64_t Integer(const json& v, const std::string& field) {
  if (v.is_number_integer()) {
    if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      throw BadField(field, "is too large");
    return v.get<int64_t>();
  }
  if (v.is_number_float()) {
    double d = v.get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9e18) return static_cast<int64_t>(d);
  }
  throw WrongType(field, "an integer");
}

bool Bool(const json& v, const std::string& field) {
  if (!v.is_boolean()) throw WrongType(field, "a boolean");
  return v.get<bool>();
}

const std::string& String(const json& v, const std::string& field) {
  if (!v.is_string()) throw WrongType(field, "a string");
  return v.get_ref<const std::string&>();
}

void ParseRange(const json& body, const char* name, double lo, double hi, float* out) {
  if (const json* v = Field(body, name)) {
    double d = Number(*v, name);
    if (d < lo || d > hi)
      throw BadField(name, "must be between " + json(lo).dump() + " and " + json(hi).dump() + ", got " + v->dump());
    *out = static_cast<float>(d);
  }
}

void ParseCommon(const json& body, const SamplingParams& defaults, const ParseLimits& limits, CommonRequest* r) {
  r->params = defaults;
  if (const json* v = Field(body, "model")) r->model = String(*v, "model");

  SamplingParams& p = r->params;
  ParseRange(body, "temperature", 0.0, 2.0, &p.temperature);
  if (const json* v = Field(body, "top_p")) {
    double d = Number(*v, "top_p");
    if (!(d > 0.0 && d <= 1.0)) throw BadField("top_p", "must be in (0, 1], got " + v->dump());
    p.top_p = static_cast<float>(d);
  }
  // Extensions llama.cpp and vLLM accept as well.
  if (const json* v = Field(body, "top_k")) {
    int64_t k = Integer(*v, "top_k");
    if (k < 0 || k > (1 << 24)) throw BadField("top_k", "must be between 0 and 16777216");
    p.top_k = static_cast<int>(k);
  }
  ParseRange(body, "min_p", 0.0, 1.0, &p.min_p);
  ParseRange(body, "repetition_penalty", 0.01, 10.0, &p.repetition_penalty);
  ParseRange(body, "presence_penalty", -2.0, 2.0, &p.presence_penalty);
  ParseRange(body, "frequency_penalty", -2.0, 2.0, &p.frequency_penalty);

  if (const json* v = Field(body, "seed")) {
    p.seed = static_cast<uint64_t>(Integer(*v, "seed"));
    r->seed_given = true;
  }

  for (const char* name : {"max_tokens", "max_completion_tokens"}) {
    if (const json* v = Field(body, name)) {
      int64_t n = Integer(*v, name);
      if (n < 1) throw BadField(name, "must be at least 1, got " + std::to_string(n));
      r->max_tokens = static_cast<int>(std::min<int64_t>(n, 1 << 30));
    }
  }

  if (const json* v = Field(body, "stop")) {
    std::vector<std::string> stop;
    if (v->is_string()) {
      stop.push_back(v->get<std::string>());
    } else if (v->is_array()) {
      if (static_cast<int>(v->size()) > limits.max_stop)
        throw BadField("stop", "at most " + std::to_string(limits.max_stop) + " stop strings");
      for (const json& s : *v) stop.push_back(String(s, "stop"));
    } else {
      throw WrongType("stop", "a string or an array of strings");
    }
    for (const std::string& s : stop)
      if (s.empty()) throw BadField("stop", "stop strings must not be empty");
    p.stop = std::move(stop);
  }

  if (const json* v = Field(body, "logit_bias")) {
    if (!v->is_object()) throw WrongType("logit_bias", "an object of token id -> bias");
    p.logit_bias.clear();
    for (auto it = v->begin(); it != v->end(); ++it) {
      const std::string& key = it.key();
      int64_t id = -1;
      bool ok = !key.empty() && key.size() <= 10 && key.find_first_not_of("0123456789") == std::string::npos;
      if (ok) id = std::stoll(key);
      if (!ok || (limits.vocab_size > 0 && id >= limits.vocab_size))
        throw BadField("logit_bias", "'" + key + "' is not a token id of this model" +
                                         (limits.vocab_size > 0 ? " (0.." + std::to_string(limits.vocab_size - 1) + ")"
                                                                : std::string()));
      double b = Number(it.value(), "logit_bias");
      if (b < -100.0 || b > 100.0) throw BadField("logit_bias", "biases must be between -100 and 100");
      // OpenAI: -100 bans the token in practice.
      p.logit_bias[static_cast<int32_t>(id)] = b <= -100.0 ? -INFINITY : static_cast<float>(b);
    }
  }

  if (const json* v = Field(body, "n")) {
    if (Integer(*v, "n") != 1) throw BadField("n", "only n=1 is supported", "unsupported_value");
  }
  if (const json* v = Field(body, "stream")) r->stream = Bool(*v, "stream");
  if (const json* v = Field(body, "stream_options")) {
    if (!v->is_object()) throw WrongType("stream_options", "an object");
    if (const json* u = Field(*v, "include_usage")) r->include_usage = Bool(*u, "stream_options.include_usage");
  }
  if (const json* v = Field(body, "user")) String(*v, "user");

  try {
    p.Validate("request");
  } catch (const Error& e) {
    throw BadField(e.field(), e.reason());
  }
}

std::string ContentText(const json& content, const std::string& field) {
  if (content.is_null()) return "";
  if (content.is_string()) return content.get<std::string>();
  if (!content.is_array()) throw WrongType(field, "a string or an array of content parts");
  std::string text;
  for (const json& part : content) {
    if (!part.is_object()) throw WrongType(field, "an array of content parts");
    const json* type = Field(part, "type");
    if (type == nullptr || !type->is_string()) throw BadField(field, "each part needs a 'type'");
    if (*type != "text") throw BadField(field, "only text parts are supported, got '" + type->get<std::string>() + "'",
                                        "unsupported_value");
    const json* t = Field(part, "text");
    if (t == nullptr) throw BadField(field, "a text part needs 'text'");
    text += String(*t, field + ".text");
  }
  return text;
}

}  // namespace

json ErrorJson(const std::string& message, const std::string& type, const std::string& code,
               const std::string& param) {
  json e = {{"message", message}, {"type", type}, {"param", nullptr}, {"code", nullptr}};
  if (!code.empty()) e["code"] = code;
  if (!param.empty()) e["param"] = param;
  return json{{"error", e}};
}

json ErrorJson(const ApiError& e) { return ErrorJson(e.what(), e.type(), e.code(), e.param()); }

std::string ErrorTypeForStatus(int status) {
  switch (status) {
    case 401: return "authentication_error";
    case 403: return "permission_error";
    case 404: return "not_found_error";
    case 413: return "invalid_request_error";
    case 429: return "rate_limit_error";
    case 503: return "server_overloaded";
    default: return status >= 500 ? "server_error" : "invalid_request_error";
  }
}

bool JsonTooDeep(std::string_view text, int limit) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '[' || c == '{') {
      if (++depth > limit) return true;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return false;
}

json ParseBody(std::string_view body, const ParseLimits& limits) {
  if (JsonTooDeep(body, limits.max_json_depth))
    throw ApiError(400, "the request body nests deeper than " + std::to_string(limits.max_json_depth) + " levels",
                   "invalid_request_error", "invalid_json");
  json v = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (v.is_discarded())
    throw ApiError(400, "the request body is not valid JSON", "invalid_request_error", "invalid_json");
  if (!v.is_object()) throw ApiError(400, "the request body must be a JSON object", "invalid_request_error", "invalid_json");
  return v;
}

ChatRequest ParseChatRequest(const json& body, const SamplingParams& defaults, const ParseLimits& limits) {
  ChatRequest r;
  ParseCommon(body, defaults, limits, &r);
  const json* msgs = Field(body, "messages");
  if (msgs == nullptr) throw BadField("messages", "is required", "missing_required_parameter");
  if (!msgs->is_array()) throw WrongType("messages", "an array");
  if (msgs->empty()) throw BadField("messages", "must hold at least one message");
  for (size_t i = 0; i < msgs->size(); ++i) {
    const std::string where = "messages[" + std::to_string(i) + "]";
    const json& m = (*msgs)[i];
    if (!m.is_object()) throw WrongType(where, "an object");
    const json* role = Field(m, "role");
    if (role == nullptr) throw BadField(where + ".role", "is required", "missing_required_parameter");
    std::string r_name = String(*role, where + ".role");
    if (r_name == "developer") r_name = "system";
    if (r_name != "system" && r_name != "user" && r_name != "assistant" && r_name != "tool")
      throw BadField(where + ".role", "must be system, developer, user, assistant or tool, got '" + r_name + "'");
    ordered_json out = {{"role", r_name}};
    const json* content = Field(m, "content");
    if (content == nullptr && r_name != "assistant")
      throw BadField(where + ".content", "is required", "missing_required_parameter");
    out["content"] = ContentText(content ? *content : json(), where + ".content");
    if (const json* v = Field(m, "name")) out["name"] = String(*v, where + ".name");
    if (const json* v = Field(m, "tool_calls")) {
      if (!v->is_array()) throw WrongType(where + ".tool_calls", "an array");
      out["tool_calls"] = ordered_json(*v);
    }
    if (const json* v = Field(m, "tool_call_id")) out["tool_call_id"] = String(*v, where + ".tool_call_id");
    // reasoning_content sent back as history is dropped, as DeepSeek's templates expect.
    r.messages.push_back(std::move(out));
  }
  if (const json* v = Field(body, "logprobs"))
    if (Bool(*v, "logprobs")) throw BadField("logprobs", "log probabilities are not supported", "unsupported_value");
  return r;
}

CompletionRequest ParseCompletionRequest(const json& body, const SamplingParams& defaults, const ParseLimits& limits) {
  CompletionRequest r;
  ParseCommon(body, defaults, limits, &r);
  const json* prompt = Field(body, "prompt");
  if (prompt == nullptr) throw BadField("prompt", "is required", "missing_required_parameter");
  auto ids_from = [&](const json& arr) {
    std::vector<int32_t> ids;
    for (const json& t : arr) {
      int64_t id = Integer(t, "prompt");
      if (id < 0 || (limits.vocab_size > 0 && id >= limits.vocab_size))
        throw BadField("prompt", "token id " + std::to_string(id) + " is outside the vocabulary");
      ids.push_back(static_cast<int32_t>(id));
    }
    if (ids.empty()) throw BadField("prompt", "must not be empty");
    return ids;
  };
  if (prompt->is_string()) {
    r.prompt = prompt->get<std::string>();
  } else if (prompt->is_array() && !prompt->empty() && (*prompt)[0].is_string()) {
    if (prompt->size() != 1) throw BadField("prompt", "only one prompt per request is supported", "unsupported_value");
    r.prompt = (*prompt)[0].get<std::string>();
  } else if (prompt->is_array() && !prompt->empty() && (*prompt)[0].is_array()) {
    if (prompt->size() != 1) throw BadField("prompt", "only one prompt per request is supported", "unsupported_value");
    r.prompt_ids = ids_from((*prompt)[0]);
    r.prompt_is_ids = true;
  } else if (prompt->is_array()) {
    r.prompt_ids = ids_from(*prompt);
    r.prompt_is_ids = true;
  } else {
    throw WrongType("prompt", "a string, an array of strings or an array of token ids");
  }
  if (const json* v = Field(body, "echo"))
    if (Bool(*v, "echo")) throw BadField("echo", "echo is not supported", "unsupported_value");
  if (const json* v = Field(body, "best_of"))
    if (Integer(*v, "best_of") != 1) throw BadField("best_of", "only best_of=1 is supported", "unsupported_value");
  if (Field(body, "logprobs") != nullptr)
    throw BadField("logprobs", "log probabilities are not supported", "unsupported_value");
  if (const json* v = Field(body, "suffix"))
    if (!String(*v, "suffix").empty()) throw BadField("suffix", "suffix is not supported", "unsupported_value");
  return r;
}

json UsageJson(const Usage& u) {
  return json{{"prompt_tokens", u.prompt_tokens},
              {"completion_tokens", u.completion_tokens},
              {"total_tokens", u.prompt_tokens + u.completion_tokens},
              {"prompt_tokens_details", {{"cached_tokens", u.cached_tokens}}}};
}

json ChatCompletionJson(const AnswerMeta& meta, const std::string& content, const std::string& reasoning,
                        bool with_reasoning, const std::string& finish_reason, const Usage& usage) {
  json message = {{"role", "assistant"}, {"content", content}};
  if (with_reasoning) message["reasoning_content"] = reasoning;
  return json{{"id", meta.id},
              {"object", "chat.completion"},
              {"created", meta.created},
              {"model", meta.model},
              {"choices", json::array({json{{"index", 0},
                                            {"message", message},
                                            {"logprobs", nullptr},
                                            {"finish_reason", finish_reason}}})},
              {"usage", UsageJson(usage)}};
}

json CompletionJson(const AnswerMeta& meta, const std::string& text, const std::string& finish_reason,
                    const Usage& usage) {
  return json{{"id", meta.id},
              {"object", "text_completion"},
              {"created", meta.created},
              {"model", meta.model},
              {"choices", json::array({json{{"index", 0},
                                            {"text", text},
                                            {"logprobs", nullptr},
                                            {"finish_reason", finish_reason}}})},
              {"usage", UsageJson(usage)}};
}

json ChatChunkJson(const AnswerMeta& meta, const ChatDelta& delta, const std::string& finish_reason,
                   bool include_usage_null) {
  json d = json::object();
  if (delta.role) d["role"] = *delta.role;
  if (delta.content) d["content"] = *delta.content;
  if (delta.reasoning_content) d["reasoning_content"] = *delta.reasoning_content;
  json choice = {{"index", 0}, {"delta", d}, {"logprobs", nullptr}, {"finish_reason", nullptr}};
  if (!finish_reason.empty()) choice["finish_reason"] = finish_reason;
  json chunk = {{"id", meta.id},
                {"object", "chat.completion.chunk"},
                {"created", meta.created},
                {"model", meta.model},
                {"choices", json::array({choice})}};
  if (include_usage_null) chunk["usage"] = nullptr;
  return chunk;
}

json CompletionChunkJson(const AnswerMeta& meta, const std::string& text, const std::string& finish_reason,
                         bool include_usage_null) {
  json choice = {{"index", 0}, {"text", text}, {"logprobs", nullptr}, {"finish_reason", nullptr}};
  if (!finish_reason.empty()) choice["finish_reason"] = finish_reason;
  json chunk = {{"id", meta.id},
                {"object", "text_completion"},
                {"created", meta.created},
                {"model", meta.model},
                {"choices", json::array({choice})}};
  if (include_usage_null) chunk["usage"] = nullptr;
  return chunk;
}

json UsageChunkJson(const AnswerMeta& meta, const std::string& object, const Usage& usage) {
  return json{{"id", meta.id},          {"object", object},         {"created", meta.created},
              {"model", meta.model},    {"choices", json::array()}, {"usage", UsageJson(usage)}};
}

std::string SseEvent(const json& data) {
  // Invalid UTF-8 from a model (a token cut mid-character) must not throw.
  return "data: " + data.dump(-1, ' ', false, json::error_handler_t::replace) + "\n\n";
}

std::string FinishReason(const std::string& generation_reason) {
  if (generation_reason == "length") return "length";
  return "stop";
}

std::string ContextLengthMessage(int64_t context, int64_t prompt_tokens) {
  return "This model's maximum context length is " + std::to_string(context) + " tokens. However, your messages " +
         "resulted in " + std::to_string(prompt_tokens) + " tokens (at least 1 more is needed for the answer). " +
         "Please reduce the length of the messages.";
}

}  // namespace dseek::api
