#include "api/auth.h"

#include <cstdint>

namespace dseek::api {

bool ConstantTimeEqual(std::string_view a, std::string_view b) {
  // Walk the expected length (b) whatever a holds; fold the length
  // difference into the result rather than returning early.
  volatile uint8_t diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < b.size(); ++i) {
    uint8_t ca = i < a.size() ? static_cast<uint8_t>(a[i]) : 0;
    diff = diff | (ca ^ static_cast<uint8_t>(b[i]));
  }
  return diff == 0;
}

bool Authorized(std::string_view authorization, const std::string& api_key) {
  if (api_key.empty()) return true;
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.size() < kBearer.size()) return false;
  // The scheme is case-insensitive (RFC 7235).
  for (size_t i = 0; i < kBearer.size(); ++i) {
    char c = authorization[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    char k = kBearer[i];
    if (k >= 'A' && k <= 'Z') k = static_cast<char>(k - 'A' + 'a');
    if (c != k) return false;
  }
  std::string_view token = authorization.substr(kBearer.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && (token.back() == ' ' || token.back() == '\r')) token.remove_suffix(1);
  return ConstantTimeEqual(token, api_key);
}

}  // namespace dseek::api
