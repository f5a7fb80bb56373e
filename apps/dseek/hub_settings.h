// Where `dseek pull` talks to and stores models, read from the environment in
// this one place (STYLE: options through one struct, env vars read once):
//   DSEEK_HOME   the cache is $DSEEK_HOME/models (default ~/.cache/dseek/models)
//   HF_ENDPOINT  a hub mirror with the same API (default https://huggingface.co)
//   HF_TOKEN     a Hugging Face access token, for gated or private models
// Proxies (http_proxy, https_proxy, no_proxy) are libcurl's own business.
#pragma once

#include <string>

namespace dseek::cli {

struct HubSettings {
  std::string cache_root;  // empty when neither DSEEK_HOME nor HOME is set
  std::string endpoint;    // no trailing slash
  std::string token;
};

HubSettings HubSettingsFromEnv();

// What every command that takes a model folder calls on its argument: an
// existing path is returned as is; ORG/NAME or ORG/NAME:FILE that `dseek pull`
// cached becomes the cached folder (or file); such a name that is not cached
// is a dseek::Error telling to pull it; anything else comes back unchanged
// for the command to report.
std::string ResolveModelPath(const std::string& arg);

}  // namespace dseek::cli
