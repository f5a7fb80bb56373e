#include "apps/dseek/hub_settings.h"

#include <cstdlib>
#include <filesystem>
#include <optional>

#include "base/error.h"
#include "hub/hub_client.h"
#include "hub/model_cache.h"

namespace dseek::cli {
namespace fs = std::filesystem;

namespace {
std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}
std::string Trim(std::string s) {
  const size_t b = s.find_first_not_of(" \t\r\n");
  const size_t e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}
std::string CacheRootFromEnv() {
  if (std::string home = Env("DSEEK_HOME"); !home.empty()) return (fs::path(home) / "models").string();
  if (std::string h = Env("HOME"); !h.empty()) return (fs::path(h) / ".cache" / "dseek" / "models").string();
  return "";
}
}  // namespace

HubSettings HubSettingsFromEnv() {
  HubSettings s;
  s.cache_root = CacheRootFromEnv();
  s.endpoint = Trim(Env("HF_ENDPOINT"));
  if (s.endpoint.empty()) s.endpoint = hub::kDefaultEndpoint;
  while (s.endpoint.size() > 1 && s.endpoint.back() == '/') s.endpoint.pop_back();
  if (s.endpoint.rfind("http://", 0) != 0 && s.endpoint.rfind("https://", 0) != 0)
    throw Error("HF_ENDPOINT", "", "'" + s.endpoint + "' is not an http:// or https:// URL");
  s.token = Trim(Env("HF_TOKEN"));
  return s;
}

std::string ResolveModelPath(const std::string& arg) {
  std::error_code ec;
  if (arg.empty() || fs::exists(arg, ec)) return arg;
  std::optional<hub::ModelRef> ref;
  try {
    ref = hub::ParseModelRef(arg);
  } catch (const Error&) {
    return arg;
  }
  if (!ref) return arg;
  const std::string root = CacheRootFromEnv();  // not HubSettingsFromEnv: a bad HF_ENDPOINT is no concern here
  if (!root.empty())
    if (std::optional<std::string> p = hub::ModelCache(root).Find(*ref)) return *p;
  throw Error(arg, "", "no such file or folder, and not in the model cache" + (root.empty() ? "" : " (" + root + ")") +
                           "; run `dseek pull " + arg + "` to download it");
}

}  // namespace dseek::cli
