#include "api/metrics.h"

#include <cstdio>

namespace dseek::api {

namespace {

class Writer {
 public:
  void Metric(const char* name, const char* type, const char* help, double value, const std::string& labels = "") {
    Header(name, type, help);
    Sample(name, value, labels);
  }
  void Header(const char* name, const char* type, const char* help) {
    out_ += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  }
  void Sample(const char* name, double value, const std::string& labels = "") {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", value);
    out_ += name;
    if (!labels.empty()) out_ += "{" + labels + "}";
    out_ += std::string(" ") + buf + "\n";
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

std::string LabelValue(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') { out += "\\n"; continue; }
    out += c;
  }
  return out;
}

}  // namespace

std::string MetricsText(const SchedulerStats& s, const HttpCounters& h, const std::string& model) {
  Writer w;
  w.Metric("dseek_info", "gauge", "The served model.", 1, "model=\"" + LabelValue(model) + "\"");
  w.Metric("dseek_requests_total", "counter", "Generation requests accepted by the scheduler.",
           static_cast<double>(s.requests_total));
  w.Metric("dseek_requests_rejected_total", "counter", "Generation requests refused (too long, queue full, shutdown).",
           static_cast<double>(s.requests_rejected));
  w.Metric("dseek_prompt_tokens_total", "counter", "Prompt tokens processed (tokens in).",
           static_cast<double>(s.prompt_tokens_total));
  w.Metric("dseek_prompt_tokens_cached_total", "counter", "Prompt tokens reused from the prefix cache.",
           static_cast<double>(s.cached_tokens_total));
  w.Metric("dseek_completion_tokens_total", "counter", "Tokens generated (tokens out).",
           static_cast<double>(s.completion_tokens_total));
  w.Metric("dseek_requests_active", "gauge", "Requests holding a decode slot.", s.active);
  w.Metric("dseek_requests_queued", "gauge", "Requests waiting for a slot (queue depth).", s.queued);
  w.Metric("dseek_slots", "gauge", "Decode slots (--parallel).", s.parallel);
  w.Metric("dseek_decode_tokens_per_second", "gauge", "Aggregate decode speed over the recent steps.",
           s.decode_tokens_per_second);
  w.Metric("dseek_kv_cache_tokens_used", "gauge", "KV-cache tokens in use.", static_cast<double>(s.kv_tokens_used));
  w.Metric("dseek_kv_cache_tokens_capacity", "gauge", "KV-cache tokens allocated.",
           static_cast<double>(s.kv_tokens_capacity));
  w.Metric("dseek_kv_cache_usage_ratio", "gauge", "KV-cache use, 0 to 1.",
           s.kv_tokens_capacity > 0 ? static_cast<double>(s.kv_tokens_used) / s.kv_tokens_capacity : 0.0);
  w.Metric("dseek_accepting", "gauge", "1 while new requests are accepted, 0 while shutting down.",
           s.accepting ? 1 : 0);
  w.Header("dseek_http_responses_total", "counter", "HTTP responses by status code.");
  for (const auto& [status, n] : h.responses_by_status)
    w.Sample("dseek_http_responses_total", static_cast<double>(n), "code=\"" + std::to_string(status) + "\"");
  w.Metric("dseek_http_client_disconnects_total", "counter", "Streams whose client went away before the end.",
           static_cast<double>(h.client_disconnects));
  w.Metric("dseek_http_streams_open", "gauge", "Streaming responses being written.",
           static_cast<double>(h.streams_open));
  w.Metric("dseek_uptime_seconds", "gauge", "Seconds since the server started.", h.uptime_seconds);
  return w.Take();
}

}  // namespace dseek::api
