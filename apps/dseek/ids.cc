#include <charconv>

#include "apps/dseek/commands.h"
#include "base/error.h"

namespace dseek::cli {

std::vector<int32_t> ParseIds(const std::string& s) {
  std::vector<int32_t> out;
  size_t i = 0;
  while (i <= s.size()) {
    size_t j = s.find(',', i);
    if (j == std::string::npos) j = s.size();
    std::string part = s.substr(i, j - i);
    while (!part.empty() && part.front() == ' ') part.erase(part.begin());
    while (!part.empty() && part.back() == ' ') part.pop_back();
    int32_t v = 0;
    auto [p, ec] = std::from_chars(part.data(), part.data() + part.size(), v);
    if (part.empty() || ec != std::errc() || p != part.data() + part.size() || v < 0)
      throw UsageError("--ids: '" + part + "' is not a token id (expected comma-separated non-negative integers)");
    out.push_back(v);
    i = j + 1;
  }
  return out;
}

}  // namespace dseek::cli
