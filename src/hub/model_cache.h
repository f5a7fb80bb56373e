// The local model cache: where `dseek pull` puts a hub repository and how a
// name such as "deepseek-ai/DeepSeek-V2-Lite" or "org/repo:model-Q4_K_M.gguf"
// maps to a folder or file on disk. No network here (hub_client.h downloads).
//
// Layout, one folder per repository under the cache root:
//   {root}/{org}--{name}/                  the repository's files, same paths
//   {root}/{org}--{name}/.dseek-pull.json  repo, revision and verified files
//   {root}/{org}--{name}/{path}.part       a download in progress (resumable)
//   {root}/{org}--{name}/.dseek-pull.lock  flock'd while a pull runs
// The hub forbids "--" in its names, so the folder name maps back uniquely.
//
// Names and file paths from users and from the hub are untrusted: they are
// validated here so that nothing is ever written outside the repo's folder.
// Thread-safety: plain values; Pull (hub_client.h) locks a repo's folder.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dseek::hub {

// ORG/NAME[:FILE]
struct ModelRef {
  std::string org, name;
  std::string file;  // empty: the whole repo
  std::string repo() const { return org + "/" + name; }
  std::string ToString() const { return file.empty() ? repo() : repo() + ":" + file; }
};

// Parses ORG/NAME[:FILE]; nullopt when `s` does not have that shape (it may
// still be a path). Throws dseek::Error for a name of that shape that is
// unsafe (a FILE with "..", an absolute FILE).
std::optional<ModelRef> ParseModelRef(const std::string& s);

// True for a relative path with no empty, "." or ".." parts and no
// backslashes or control characters: safe to join under a folder.
bool IsSafeRelativePath(const std::string& path);
// IsSafeRelativePath, and not a name the cache keeps for itself (*.part, the
// manifest, the lock): a repo path that may be stored.
bool IsCacheablePath(const std::string& path);

// One file a pull verified, as recorded in the manifest.
struct CachedFile {
  std::string path;
  uint64_t size = 0;
  std::string sha256;  // LFS files: hex sha256 checked
  std::string git_oid; // small files: the git blob sha1 checked
};

struct Manifest {
  std::string repo;
  std::string revision;  // as asked (e.g. "main")
  std::string commit;    // the commit it resolved to, when the hub said
  std::vector<CachedFile> files;
  const CachedFile* Find(const std::string& path) const;
  void Put(const CachedFile& f);  // replaces an entry with the same path
};

struct CacheEntry {
  std::string repo;     // ORG/NAME
  std::string path;     // its folder
  uint64_t bytes = 0;   // all complete files
  int files = 0;
  bool incomplete = false;  // a .part file is present
};

class ModelCache {
 public:
  explicit ModelCache(std::string root) : root_(std::move(root)) {}
  const std::string& root() const { return root_; }

  std::string DirFor(const ModelRef& ref) const;  // whether or not it exists
  // The cached folder (or, with FILE, the file); nullopt when not cached.
  std::optional<std::string> Find(const ModelRef& ref) const;
  std::vector<CacheEntry> List() const;  // sorted by repo
  // Deletes the repo's folder, or with FILE that one file. Throws
  // dseek::Error when it is not in the cache.
  void Remove(const ModelRef& ref) const;

  Manifest ReadManifest(const ModelRef& ref) const;  // empty when absent or unreadable
  void WriteManifest(const ModelRef& ref, const Manifest& m) const;  // atomic rename

 private:
  std::string root_;
};

// "1.5 GB", "312 KB", "12 B" (decimal units, as the hub shows sizes).
std::string HumanBytes(uint64_t n);

}  // namespace dseek::hub
