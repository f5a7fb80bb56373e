// Downloads a model repository (or one file of it) from the Hugging Face hub,
// or a mirror with the same API, into the ModelCache. The only module of
// dseek that opens network connections, and only when `dseek pull` asks.
//
// Protocol (the hub's public API):
//   GET {endpoint}/api/models/{repo}/revision/{rev}         -> commit sha
//   GET {endpoint}/api/models/{repo}/tree/{sha}?recursive=true
//       -> [{type, path, size, oid (git sha1), lfs: {oid: sha256}}], paged by Link
//   GET {endpoint}/{repo}/resolve/{sha}/{path}               -> bytes (redirects)
// Every file goes to "{path}.part" first and resumes with "Range: bytes=N-"
// (a 206 appends, a 200 starts over); it becomes "{path}" only after its size
// and hash match the listing (SHA-256 for LFS files, git blob SHA-1 for small
// ones). A mismatch deletes the download and throws. Transient failures
// (dropped connection, timeout, 5xx) retry from where they stopped.
//
// libcurl does the HTTP: it follows redirects (http and https only), honours
// the usual proxy variables (http_proxy, https_proxy, no_proxy), and sends
// the bearer token only to the endpoint's host, never to a redirect's.
// A second Pull of the same repo (any process) fails fast on the folder's lock.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "hub/model_cache.h"

namespace dseek::hub {

// The public hub; HF_ENDPOINT (read by apps/) replaces it.
inline constexpr const char* kDefaultEndpoint = "https://huggingface.co";

struct HubOptions {
  std::string endpoint = kDefaultEndpoint;
  std::string token;                 // sent as "Authorization: Bearer"; empty: none
  std::string revision = "main";     // branch, tag or commit
  std::vector<std::string> include;  // extra globs (fnmatch) over repo paths
  int retries = 3;                   // extra attempts per file after a transient failure
};

struct PullEvent {
  enum class Kind { kListed, kStart, kProgress, kDone, kSkipped, kRetry };
  Kind kind = Kind::kProgress;
  std::string path;       // repo path of the file (empty for kListed)
  uint64_t done = 0;      // bytes on disk so far (kProgress, kDone)
  uint64_t total = 0;     // expected size, 0 when unknown
  uint64_t resumed_from = 0;  // kStart: bytes already in the .part file
  int files = 0;          // kListed: how many files will be fetched or checked
  std::string message;    // kRetry: why
};
using PullObserver = std::function<void(const PullEvent&)>;

struct PullResult {
  std::string path;               // the folder, or with FILE the file
  std::vector<std::string> files; // repo paths now in the cache
  uint64_t bytes_downloaded = 0;
};

// Throws dseek::Error with a message a user can act on: unknown repo,
// revision or file, 401/403 (gated: set HF_TOKEN), connection failures,
// checksum mismatches.
PullResult Pull(const HubOptions& opt, const ModelRef& ref, const ModelCache& cache, const PullObserver& observer);

// Whether a plain pull (no :FILE) takes this repo path: config, generation
// config, tokenizer and chat template files, *.safetensors and their index,
// at the top level of the repo. Other weight formats (.bin, .pt, .gguf) only
// with :FILE or --include.
bool IsDefaultModelFile(const std::string& path);

}  // namespace dseek::hub
