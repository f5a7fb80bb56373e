#include "hub/model_cache.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <system_error>

#include "base/error.h"

namespace dseek::hub {
namespace fs = std::filesystem;

namespace {

constexpr const char* kManifest = ".dseek-pull.json";
constexpr const char* kLock = ".dseek-pull.lock";

// The hub's rule for user/org and repo names, plus its ban on "--" and "..".
bool IsHubName(const std::string& s) {
  if (s.empty() || s.size() > 96) return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') return false;
  if (s.front() == '-' || s.front() == '.' || s.back() == '-' || s.back() == '.') return false;
  return s.find("--") == std::string::npos && s.find("..") == std::string::npos;
}

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

bool IsSafeRelativePath(const std::string& path) {
  if (path.empty() || path.front() == '/' || path.size() > 4096) return false;
  for (char c : path)
    if (c == '\\' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    const std::string part = path.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") return false;
    start = end + 1;
  }
  return true;
}

bool IsCacheablePath(const std::string& path) {
  if (!IsSafeRelativePath(path) || path.ends_with(".part")) return false;
  const std::string base = path.substr(path.rfind('/') + 1);
  return base != kManifest && base != kLock && base != std::string(kManifest) + ".tmp";
}

std::optional<ModelRef> ParseModelRef(const std::string& s) {
  const size_t colon = s.find(':');
  const std::string repo = s.substr(0, colon);
  const size_t slash = repo.find('/');
  if (slash == std::string::npos || repo.find('/', slash + 1) != std::string::npos) return std::nullopt;
  ModelRef ref;
  ref.org = repo.substr(0, slash);
  ref.name = repo.substr(slash + 1);
  if (!IsHubName(ref.org) || !IsHubName(ref.name)) return std::nullopt;
  if (colon != std::string::npos) {
    ref.file = s.substr(colon + 1);
    if (!IsCacheablePath(ref.file))
      throw Error(s, "FILE", "not a file path inside the repository (ORG/NAME:FILE, FILE relative, no '..')");
  }
  return ref;
}

const CachedFile* Manifest::Find(const std::string& path) const {
  for (const CachedFile& f : files)
    if (f.path == path) return &f;
  return nullptr;
}

void Manifest::Put(const CachedFile& f) {
  for (CachedFile& g : files)
    if (g.path == f.path) {
      g = f;
      return;
    }
  files.push_back(f);
}

std::string ModelCache::DirFor(const ModelRef& ref) const {
  return (fs::path(root_) / (ref.org + "--" + ref.name)).string();
}

std::optional<std::string> ModelCache::Find(const ModelRef& ref) const {
  const fs::path dir = DirFor(ref);
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return std::nullopt;
  if (ref.file.empty()) return dir.string();
  const fs::path file = dir / ref.file;
  if (!fs::is_regular_file(file, ec)) return std::nullopt;
  return file.string();
}

std::vector<CacheEntry> ModelCache::List() const {
  std::vector<CacheEntry> out;
  std::error_code ec;
  if (!fs::is_directory(root_, ec)) return out;
  for (const auto& d : fs::directory_iterator(root_, ec)) {
    if (!d.is_directory(ec)) continue;
    const std::string dir = d.path().filename().string();
    const size_t sep = dir.find("--");
    if (sep == std::string::npos) continue;
    ModelRef ref{dir.substr(0, sep), dir.substr(sep + 2), ""};
    if (!IsHubName(ref.org) || !IsHubName(ref.name)) continue;
    CacheEntry e;
    e.repo = ref.repo();
    e.path = d.path().string();
    for (auto it = fs::recursive_directory_iterator(d.path(), ec); it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (ec) break;
      if (!it->is_regular_file(ec)) continue;
      const std::string name = it->path().filename().string();
      if (name == kManifest || name == kLock) continue;
      if (name.ends_with(".part")) {
        e.incomplete = true;
        continue;
      }
      e.bytes += it->file_size(ec);
      ++e.files;
    }
    out.push_back(std::move(e));
  }
  std::sort(out.begin(), out.end(), [](const CacheEntry& a, const CacheEntry& b) { return a.repo < b.repo; });
  return out;
}

void ModelCache::Remove(const ModelRef& ref) const {
  const std::optional<std::string> path = Find(ref);
  if (!path)
    throw Error(ref.ToString(), "", "not in the model cache (" + root_ + "); `dseek list` shows what is");
  std::error_code ec;
  if (ref.file.empty()) {
    fs::remove_all(*path, ec);
  } else {
    fs::remove(*path, ec);
    if (!ec) {
      Manifest m = ReadManifest(ref);
      std::erase_if(m.files, [&](const CachedFile& f) { return f.path == ref.file; });
      if (!m.repo.empty()) WriteManifest(ref, m);
    }
  }
  if (ec) throw Error(*path, "", "cannot delete: " + ec.message());
}

Manifest ModelCache::ReadManifest(const ModelRef& ref) const {
  Manifest m;
  const fs::path p = fs::path(DirFor(ref)) / kManifest;
  std::error_code ec;
  if (!fs::is_regular_file(p, ec)) return m;
  try {
    const nlohmann::json j = nlohmann::json::parse(ReadAll(p));
    m.repo = j.value("repo", "");
    m.revision = j.value("revision", "");
    m.commit = j.value("commit", "");
    for (const auto& f : j.at("files")) {
      CachedFile c;
      c.path = f.at("path").get<std::string>();
      c.size = f.at("size").get<uint64_t>();
      c.sha256 = f.value("sha256", "");
      c.git_oid = f.value("git_oid", "");
      if (IsSafeRelativePath(c.path)) m.files.push_back(c);
    }
  } catch (const std::exception&) {
    return Manifest{};  // a damaged manifest only costs a re-check of the files
  }
  return m;
}

void ModelCache::WriteManifest(const ModelRef& ref, const Manifest& m) const {
  nlohmann::json j;
  j["repo"] = m.repo;
  j["revision"] = m.revision;
  j["commit"] = m.commit;
  j["files"] = nlohmann::json::array();
  for (const CachedFile& f : m.files) {
    nlohmann::json e{{"path", f.path}, {"size", f.size}};
    if (!f.sha256.empty()) e["sha256"] = f.sha256;
    if (!f.git_oid.empty()) e["git_oid"] = f.git_oid;
    j["files"].push_back(e);
  }
  const fs::path dir = DirFor(ref);
  const fs::path tmp = dir / (std::string(kManifest) + ".tmp");
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << j.dump(1) << "\n";
    out.close();
    if (!out) throw Error(tmp.string(), "", "cannot write the cache manifest");
  }
  std::error_code ec;
  fs::rename(tmp, dir / kManifest, ec);
  if (ec) throw Error((dir / kManifest).string(), "", "cannot write the cache manifest: " + ec.message());
}

std::string HumanBytes(uint64_t n) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1000.0 && u < 4) {
    v /= 1000.0;
    ++u;
  }
  char buf[32];
  if (u == 0) std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(n));
  else std::snprintf(buf, sizeof buf, v < 10 ? "%.1f %s" : "%.0f %s", v, units[u]);
  return buf;
}

}  // namespace dseek::hub
