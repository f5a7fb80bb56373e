// API-key checks for the /v1 endpoints. Pure functions, thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace dseek::api {

// Compares in time that depends only on the lengths, never on where the
// first difference is, so a client cannot find the key byte by byte.
bool ConstantTimeEqual(std::string_view a, std::string_view b);

// True when no key is configured, or `authorization` is "Bearer <key>".
bool Authorized(std::string_view authorization, const std::string& api_key);

}  // namespace dseek::api
