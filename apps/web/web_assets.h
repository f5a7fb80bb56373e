// The chat page (index.html, app.js, style.css in this folder), compiled into
// the binary by embed.cmake so `dseek serve` needs no files and fetches
// nothing at run time. Immutable data; thread-safe.
#pragma once

#include <span>
#include <string_view>

namespace dseek::web {

struct Asset {
  std::string_view path;          // URL path, e.g. "/app.js"
  std::string_view content_type;
  std::string_view body;
};

std::span<const Asset> Assets();

}  // namespace dseek::web
