// Prometheus text exposition (format 0.0.4) of the scheduler's and the HTTP
// server's counters. Pure function of two snapshots; thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "runtime/scheduler.h"

namespace dseek::api {

// What the HTTP side counts (a snapshot; the server keeps the live values).
struct HttpCounters {
  std::map<int, uint64_t> responses_by_status;  // status -> count
  uint64_t client_disconnects = 0;  // streams whose client went away mid-answer
  int64_t streams_open = 0;         // SSE responses being written now
  double uptime_seconds = 0;
};

// `model` labels the info metric.
std::string MetricsText(const SchedulerStats& s, const HttpCounters& h, const std::string& model);

}  // namespace dseek::api
