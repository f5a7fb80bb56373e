#include "hub/hub_client.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <cctype>
#include <cstring>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <system_error>

#include "base/error.h"
#include "hub/digest.h"

namespace dseek::hub {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr size_t kMaxApiBody = 64u << 20;  // a listing is far smaller; cap hostile replies

// One file the listing names.
struct RemoteFile {
  std::string path;
  uint64_t size = 0;
  bool size_known = false;
  std::string sha256;   // LFS oid
  std::string git_oid;  // git blob sha1 of a small file
};

bool IsHex(const std::string& s, size_t n) {
  return s.size() == n && std::all_of(s.begin(), s.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Percent-encodes all but RFC 3986 unreserved characters (and '/' when
// `keep_slash`, for file paths).
std::string UrlEncode(const std::string& s, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

// What one HTTP exchange left behind: the final response's status, a few
// headers, and (for API calls and error replies) the body.
struct Reply {
  long status = 0;
  std::string body;
  std::string error_code;     // X-Error-Code
  std::string error_message;  // X-Error-Message
  std::string link;           // Link (paging)
  std::string content_range;  // Content-Range
};

std::string HeaderValue(const std::string& line, const char* name) {
  const size_t n = std::strlen(name);
  if (line.size() <= n || Lower(line.substr(0, n)) != name || line[n] != ':') return "";
  std::string v = line.substr(n + 1);
  const size_t b = v.find_first_not_of(" \t");
  const size_t e = v.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? "" : v.substr(b, e - b + 1);
}

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* r = static_cast<Reply*>(user);
  const std::string line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) {  // a new response (after a redirect): forget the last one's
    r->error_code.clear();
    r->error_message.clear();
    r->link.clear();
    r->content_range.clear();
  }
  if (std::string v = HeaderValue(line, "x-error-code"); !v.empty()) r->error_code = v;
  if (std::string v = HeaderValue(line, "x-error-message"); !v.empty()) r->error_message = v;
  if (std::string v = HeaderValue(line, "link"); !v.empty()) r->link = v;
  if (std::string v = HeaderValue(line, "content-range"); !v.empty()) r->content_range = v;
  return size * n;
}

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  auto* r = static_cast<Reply*>(user);
  if (r->body.size() + size * n > kMaxApiBody) return 0;  // aborts the transfer
  r->body.append(data, size * n);
  return size * n;
}

class Http {
 public:
  explicit Http(const HubOptions& opt) : opt_(opt) {}

  // A handle set up for `url` with the common options.
  std::unique_ptr<CURL, CurlDeleter> Handle(const std::string& url, Reply* reply) {
    std::unique_ptr<CURL, CurlDeleter> c(curl_easy_init());
    if (!c) throw Error(url, "", "libcurl: cannot create a handle");
    curl_easy_setopt(c.get(), CURLOPT_URL, url.c_str());
    curl_easy_setopt(c.get(), CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c.get(), CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(c.get(), CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c.get(), CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c.get(), CURLOPT_USERAGENT, "dseek/0.1");
    curl_easy_setopt(c.get(), CURLOPT_CONNECTTIMEOUT, 30L);
    // A stalled transfer (under 1 byte/s for a minute) counts as dropped.
    curl_easy_setopt(c.get(), CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c.get(), CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(c.get(), CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c.get(), CURLOPT_HEADERFUNCTION, OnHeader);
    curl_easy_setopt(c.get(), CURLOPT_HEADERDATA, reply);
    curl_easy_setopt(c.get(), CURLOPT_ERRORBUFFER, errbuf_);
    headers_.reset();
    curl_slist* h = nullptr;
    // libcurl drops custom Authorization headers when a redirect leaves the
    // host (CURLOPT_UNRESTRICTED_AUTH stays off), so a CDN never sees it.
    if (!opt_.token.empty()) h = curl_slist_append(h, ("Authorization: Bearer " + opt_.token).c_str());
    headers_.reset(h);
    if (h) curl_easy_setopt(c.get(), CURLOPT_HTTPHEADER, h);
    errbuf_[0] = '\0';
    return c;
  }

  std::string CurlMessage(CURLcode rc) const {
    return errbuf_[0] ? std::string(errbuf_) : std::string(curl_easy_strerror(rc));
  }

  // GET of an API URL into memory; throws on connection failures only.
  Reply Get(const std::string& url) {
    Reply r;
    auto c = Handle(url, &r);
    curl_easy_setopt(c.get(), CURLOPT_WRITEFUNCTION, OnBody);
    curl_easy_setopt(c.get(), CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(c.get(), CURLOPT_TIMEOUT, 300L);
    const CURLcode rc = curl_easy_perform(c.get());
    if (rc != CURLE_OK) throw Error(url, "", "cannot reach the hub: " + CurlMessage(rc) + Hint());
    curl_easy_getinfo(c.get(), CURLINFO_RESPONSE_CODE, &r.status);
    return r;
  }

  std::string Hint() const {
    return opt_.endpoint == kDefaultEndpoint ? "" : " (HF_ENDPOINT is " + opt_.endpoint + ")";
  }

  const HubOptions& opt() const { return opt_; }

 private:
  const HubOptions& opt_;
  std::unique_ptr<curl_slist, SlistDeleter> headers_;
  char errbuf_[CURL_ERROR_SIZE] = {};
};

// A user-facing error for a non-2xx reply. `what` names the object asked for.
[[noreturn]] void ThrowHttp(const Http& http, const Reply& r, const std::string& where, const std::string& what) {
  std::string hub_says = r.error_message;
  if (hub_says.empty()) {
    try {
      const json j = json::parse(r.body);
      if (j.is_object() && j.contains("error") && j["error"].is_string()) hub_says = j["error"].get<std::string>();
    } catch (const std::exception&) {
    }
  }
  if (hub_says.size() > 300) hub_says = hub_says.substr(0, 300) + "...";
  const std::string tail = hub_says.empty() ? "" : " (the hub says: " + hub_says + ")";
  const bool have_token = !http.opt().token.empty();
  std::string reason;
  if (r.error_code == "RepoNotFound" || (r.status == 404 && r.error_code.empty() && what.empty())) {
    reason = "repository not found (HTTP " + std::to_string(r.status) + "); check the name" +
             (have_token ? "" : ", and set HF_TOKEN if it is private or gated");
  } else if (r.error_code == "RevisionNotFound") {
    reason = "revision '" + http.opt().revision + "' not found (HTTP " + std::to_string(r.status) + ")";
  } else if (r.error_code == "EntryNotFound" || r.status == 404) {
    reason = (what.empty() ? std::string("not found") : what + " not found") + " (HTTP 404)";
  } else if (r.status == 401) {
    reason = have_token ? "unauthorized (HTTP 401): HF_TOKEN was rejected or has no access to this repository"
                        : "unauthorized (HTTP 401): the repository is gated or private; set HF_TOKEN to an access token";
  } else if (r.status == 403) {
    reason = "access denied (HTTP 403): the repository is gated; accept its terms on the hub page, and set HF_TOKEN to a token of that account";
  } else if (r.status == 429) {
    reason = "rate limited (HTTP 429); try again later" + std::string(have_token ? "" : " or set HF_TOKEN");
  } else {
    reason = "HTTP " + std::to_string(r.status);
  }
  throw Error(where, "", reason + tail + http.Hint());
}

// The "next" URL of a Link header, or "".
std::string NextLink(const std::string& link) {
  size_t pos = 0;
  while (pos < link.size()) {
    const size_t lt = link.find('<', pos), gt = link.find('>', lt == std::string::npos ? pos : lt);
    if (lt == std::string::npos || gt == std::string::npos) return "";
    const size_t end = link.find(',', gt);
    const std::string params = link.substr(gt + 1, end == std::string::npos ? std::string::npos : end - gt - 1);
    if (params.find("rel=\"next\"") != std::string::npos || params.find("rel=next") != std::string::npos)
      return link.substr(lt + 1, gt - lt - 1);
    if (end == std::string::npos) return "";
    pos = end + 1;
  }
  return "";
}

json ParseJson(const Reply& r, const std::string& url) {
  try {
    return json::parse(r.body);
  } catch (const std::exception& e) {
    throw Error(url, "", std::string("the hub's reply is not JSON: ") + e.what());
  }
}

std::vector<RemoteFile> ListFiles(Http& http, const ModelRef& ref, std::string* commit) {
  const std::string base = http.opt().endpoint + "/api/models/" + ref.repo();
  const std::string rev_url = base + "/revision/" + UrlEncode(http.opt().revision, false);
  Reply r = http.Get(rev_url);
  if (r.status != 200) ThrowHttp(http, r, ref.repo(), "");
  const json info = ParseJson(r, rev_url);
  if (info.is_object() && info.contains("sha") && info["sha"].is_string() && IsHex(info["sha"].get<std::string>(), 40))
    *commit = info["sha"].get<std::string>();
  const std::string rev = commit->empty() ? http.opt().revision : *commit;

  std::vector<RemoteFile> files;
  std::string url = base + "/tree/" + UrlEncode(rev, false) + "?recursive=true";
  for (int page = 0; !url.empty(); ++page) {
    if (page > 10000) throw Error(url, "", "the hub's listing does not end");
    r = http.Get(url);
    if (r.status != 200) ThrowHttp(http, r, ref.repo(), "the file listing");
    const json arr = ParseJson(r, url);
    if (!arr.is_array()) throw Error(url, "", "the hub's file listing is not a JSON array");
    for (const json& e : arr) {
      if (!e.is_object() || e.value("type", "") != "file" || !e.contains("path") || !e["path"].is_string()) continue;
      RemoteFile f;
      f.path = e["path"].get<std::string>();
      if (!IsCacheablePath(f.path))
        throw Error(url, f.path, "unsafe file path in the hub's listing");
      const json* lfs = e.contains("lfs") && e["lfs"].is_object() ? &e["lfs"] : nullptr;
      const json* size = lfs && lfs->contains("size") ? &(*lfs)["size"] : e.contains("size") ? &e["size"] : nullptr;
      if (size && size->is_number_unsigned()) {
        f.size = size->get<uint64_t>();
        f.size_known = true;
      }
      if (lfs && lfs->contains("oid") && (*lfs)["oid"].is_string()) {
        f.sha256 = Lower((*lfs)["oid"].get<std::string>());
        if (f.sha256.rfind("sha256:", 0) == 0) f.sha256 = f.sha256.substr(7);
        if (!IsHex(f.sha256, 64)) throw Error(url, f.path, "the hub's lfs.oid is not a SHA-256");
      } else if (f.size_known && e.contains("oid") && e["oid"].is_string() && IsHex(e["oid"].get<std::string>(), 40)) {
        f.git_oid = Lower(e["oid"].get<std::string>());
      }
      files.push_back(std::move(f));
    }
    url = NextLink(r.link);
    if (!url.empty() && url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) url = http.opt().endpoint + url;
  }
  return files;
}

PullEvent Ev(PullEvent::Kind kind, const std::string& path, uint64_t done = 0, uint64_t total = 0,
             uint64_t resumed_from = 0, int files = 0, const std::string& message = "") {
  PullEvent e;
  e.kind = kind;
  e.path = path;
  e.done = done;
  e.total = total;
  e.resumed_from = resumed_from;
  e.files = files;
  e.message = message;
  return e;
}

// The state of one download, shared with libcurl's callbacks.
struct Transfer {
  FILE* out = nullptr;
  std::unique_ptr<Digest> digest;
  const RemoteFile* file = nullptr;
  Reply* reply = nullptr;
  CURL* curl = nullptr;
  uint64_t offset = 0;      // bytes already on disk when this attempt began
  uint64_t written = 0;     // bytes on disk now
  bool started = false;     // the first body byte arrived and was checked
  bool ok_status = false;   // 200 or a matching 206
  std::string fatal;        // why the callbacks aborted, when they did
  const PullObserver* observer = nullptr;
  std::string part_path;
};

std::unique_ptr<Digest> NewDigest(const RemoteFile& f) {
  if (!f.sha256.empty()) return std::make_unique<Digest>(Digest::Kind::kSha256);
  if (!f.git_oid.empty()) {
    auto d = std::make_unique<Digest>(Digest::Kind::kSha1);
    const std::string head = "blob " + std::to_string(f.size) + '\0';
    d->Update(head.data(), head.size());
    return d;
  }
  return nullptr;
}

size_t OnFileBody(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t len = size * n;
  if (!t->started) {
    t->started = true;
    long status = 0;
    curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
    t->reply->status = status;
    if (status == 206) {
      unsigned long long start = 0;
      if (std::sscanf(t->reply->content_range.c_str(), "bytes %llu-", &start) != 1 || start != t->offset) {
        t->fatal = "the server resumed at the wrong offset (Content-Range: " + t->reply->content_range + ")";
        return 0;
      }
      t->ok_status = true;
    } else if (status == 200) {
      t->ok_status = true;
      if (t->offset > 0) {  // the server ignored Range: start over
        if (!std::freopen(t->part_path.c_str(), "wb", t->out)) {
          t->out = nullptr;
          t->fatal = "cannot rewrite " + t->part_path;
          return 0;
        }
        t->offset = t->written = 0;
        t->digest = NewDigest(*t->file);
      }
    }
  }
  if (!t->ok_status) return OnBody(data, size, n, t->reply);  // an error page: keep it for the message
  if (t->file->size_known && t->written + len > t->file->size) {
    t->fatal = "the server sent more bytes than the listing's size " + std::to_string(t->file->size);
    return 0;
  }
  if (std::fwrite(data, 1, len, t->out) != len) {
    t->fatal = "write failed (disk full?)";
    return 0;
  }
  if (t->digest) t->digest->Update(data, len);
  t->written += len;
  return len;
}

int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  if (*t->observer && t->ok_status)
    (*t->observer)(Ev(PullEvent::Kind::kProgress, t->file->path, t->written, t->file->size_known ? t->file->size : 0));
  return 0;
}

// Downloads `f` to `dest` through "{dest}.part", resuming and retrying.
// Returns the bytes transferred.
uint64_t FetchFile(Http& http, const std::string& url, const RemoteFile& f, const fs::path& dest, const PullObserver& observer) {
  const fs::path part = dest.string() + ".part";
  std::error_code ec;
  fs::create_directories(dest.parent_path(), ec);
  if (ec) throw Error(dest.parent_path().string(), "", "cannot create the folder: " + ec.message());
  uint64_t transferred = 0;
  for (int attempt = 0;; ++attempt) {
    uint64_t have = fs::is_regular_file(part, ec) ? fs::file_size(part, ec) : 0;
    if (ec) have = 0;
    if (f.size_known && have > f.size) {  // cannot be a prefix of the file
      fs::remove(part, ec);
      have = 0;
    }
    Transfer t;
    Reply reply;
    t.file = &f;
    t.reply = &reply;
    t.offset = t.written = have;
    t.observer = &observer;
    t.part_path = part.string();
    t.digest = NewDigest(f);
    if (t.digest && have > 0) {  // the bytes already on disk count toward the hash
      std::ifstream in(part, std::ios::binary);
      std::vector<char> buf(1 << 20);
      uint64_t left = have;
      while (in && left > 0) {
        in.read(buf.data(), static_cast<std::streamsize>(std::min<uint64_t>(buf.size(), left)));
        t.digest->Update(buf.data(), static_cast<size_t>(in.gcount()));
        left -= static_cast<uint64_t>(in.gcount());
      }
    }
    if (observer) observer(Ev(PullEvent::Kind::kStart, f.path, have, f.size_known ? f.size : 0, have));
    std::string transient;
    if (!(f.size_known && have == f.size && have > 0)) {
      t.out = std::fopen(part.c_str(), have > 0 ? "ab" : "wb");
      if (!t.out) throw Error(part.string(), "", "cannot open for writing");
      auto c = http.Handle(url, &reply);
      t.curl = c.get();
      curl_easy_setopt(c.get(), CURLOPT_WRITEFUNCTION, OnFileBody);
      curl_easy_setopt(c.get(), CURLOPT_WRITEDATA, &t);
      curl_easy_setopt(c.get(), CURLOPT_NOPROGRESS, 0L);
      curl_easy_setopt(c.get(), CURLOPT_XFERINFOFUNCTION, OnProgress);
      curl_easy_setopt(c.get(), CURLOPT_XFERINFODATA, &t);
      const std::string range = std::to_string(have) + "-";
      if (have > 0) curl_easy_setopt(c.get(), CURLOPT_RANGE, range.c_str());
      const CURLcode rc = curl_easy_perform(c.get());
      if (!t.started) curl_easy_getinfo(c.get(), CURLINFO_RESPONSE_CODE, &reply.status);
      const bool closed = t.out && std::fclose(t.out) == 0;
      t.out = nullptr;
      transferred += t.written - t.offset;
      if (!t.fatal.empty()) {
        fs::remove(part, ec);
        throw Error(dest.string(), "", t.fatal + "; the partial download was deleted");
      }
      if (!closed) throw Error(part.string(), "", "write failed (disk full?)");
      if (rc != CURLE_OK) {
        transient = http.CurlMessage(rc);
        if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_COULDNT_RESOLVE_PROXY)
          throw Error(url, "", "cannot reach the hub: " + transient + http.Hint());
      } else if (reply.status == 416) {
        fs::remove(part, ec);  // our partial file does not fit the server's: start over
        transient = "the server refused to resume (HTTP 416)";
      } else if (reply.status >= 500) {
        transient = "HTTP " + std::to_string(reply.status);
      } else if (reply.status != 200 && reply.status != 206) {
        if (fs::file_size(part, ec) == 0) fs::remove(part, ec);  // opened for nothing
        ThrowHttp(http, reply, dest.string(), f.path);
      } else if (f.size_known && t.written < f.size) {
        transient = "the transfer ended early";
      }
    }
    if (!transient.empty()) {
      if (attempt >= http.opt().retries)
        throw Error(dest.string(), "", "download failed: " + transient + "; run the same pull again to resume");
      if (observer) observer(Ev(PullEvent::Kind::kRetry, f.path, t.written, f.size, 0, 0, transient));
      std::this_thread::sleep_for(std::chrono::seconds(std::min(attempt, 8)));  // back off: 0, 1, 2... s
      continue;
    }
    const uint64_t size = fs::file_size(part, ec);
    if (f.size_known && size != f.size) {
      fs::remove(part, ec);
      throw Error(dest.string(), "size", "the download has " + std::to_string(size) + " bytes, the hub lists " +
                                             std::to_string(f.size) + "; the file was deleted");
    }
    if (t.digest) {
      const std::string got = t.digest->HexFinal();
      const std::string& want = f.sha256.empty() ? f.git_oid : f.sha256;
      if (got != want) {
        fs::remove(part, ec);
        throw Error(dest.string(), f.sha256.empty() ? "git oid" : "sha256",
                    "checksum mismatch: the hub lists " + want + ", the download is " + got +
                        "; the corrupted file was deleted (run pull again; if it repeats, the mirror or a proxy serves bad data)");
      }
    }
    fs::rename(part, dest, ec);
    if (ec) throw Error(dest.string(), "", "cannot move the finished download into place: " + ec.message());
    if (observer) observer(Ev(PullEvent::Kind::kDone, f.path, size, size));
    return transferred;
  }
}

bool Glob(const std::string& pattern, const std::string& path) { return fnmatch(pattern.c_str(), path.c_str(), 0) == 0; }

}  // namespace

bool IsDefaultModelFile(const std::string& path) {
  if (path.find('/') != std::string::npos) return false;
  static constexpr const char* kNames[] = {
      "config.json",        "generation_config.json", "tokenizer.json",     "tokenizer_config.json",
      "tokenizer.model",    "special_tokens_map.json", "added_tokens.json", "vocab.json",
      "merges.txt",         "chat_template.jinja",    "chat_template.json"};
  for (const char* n : kNames)
    if (path == n) return true;
  return path.ends_with(".safetensors") || path.ends_with(".safetensors.index.json");
}

PullResult Pull(const HubOptions& opt, const ModelRef& ref, const ModelCache& cache, const PullObserver& observer) {
  Http http(opt);
  std::string commit;
  const std::vector<RemoteFile> listing = ListFiles(http, ref, &commit);

  std::vector<const RemoteFile*> want;
  if (!ref.file.empty()) {
    for (const RemoteFile& f : listing)
      if (f.path == ref.file) want.push_back(&f);
    if (want.empty()) {
      std::string names;
      int n = 0;
      for (const RemoteFile& f : listing)
        if ((f.path.ends_with(".gguf") || f.path.ends_with(".safetensors")) && n++ < 12) names += (names.empty() ? "" : ", ") + f.path;
      throw Error(ref.repo(), ref.file, "no such file in the repository at revision '" + opt.revision + "'" +
                                            (names.empty() ? "" : "; it has: " + names));
    }
  } else {
    bool weights = false;
    for (const RemoteFile& f : listing) {
      bool take = IsDefaultModelFile(f.path);
      for (const std::string& g : opt.include) take = take || Glob(g, f.path);
      if (!take) continue;
      want.push_back(&f);
      weights = weights || f.path.ends_with(".safetensors");
    }
    if (!weights && opt.include.empty()) {
      std::string gguf;
      for (const RemoteFile& f : listing)
        if (f.path.ends_with(".gguf")) {
          gguf = f.path;
          break;
        }
      throw Error(ref.repo(), "", "no .safetensors weights at the top of the repository" +
                                      (gguf.empty() ? std::string("; pick files with --include GLOB")
                                                    : "; pick one file, e.g. dseek pull " + ref.repo() + ":" + gguf));
    }
  }
  if (observer) observer(Ev(PullEvent::Kind::kListed, "", 0, 0, 0, static_cast<int>(want.size())));

  const fs::path dir = cache.DirFor(ref);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error(dir.string(), "", "cannot create the cache folder: " + ec.message());
  // One pull per cache folder at a time: a second would write the same .part files.
  const fs::path lock_path = dir / ".dseek-pull.lock";
  const int lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd < 0) throw Error(lock_path.string(), "", "cannot create the lock file");
  std::unique_ptr<int, void (*)(int*)> unlock(new int(lock_fd), [](int* fd) {
    ::close(*fd);
    delete fd;
  });
  if (::flock(lock_fd, LOCK_EX | LOCK_NB) != 0)
    throw Error(dir.string(), "", "another dseek pull of this model is running; wait for it to finish");
  ModelRef whole = ref;
  whole.file.clear();
  Manifest manifest = cache.ReadManifest(whole);
  manifest.repo = ref.repo();
  manifest.revision = opt.revision;
  manifest.commit = commit;

  PullResult result;
  const std::string rev = commit.empty() ? opt.revision : commit;
  for (const RemoteFile* f : want) {
    const fs::path dest = dir / f->path;
    CachedFile rec{f->path, f->size, f->sha256, f->git_oid};
    bool have = false;
    if (fs::is_regular_file(dest, ec) && (!f->size_known || fs::file_size(dest, ec) == f->size)) {
      const CachedFile* old = manifest.Find(f->path);
      if (old && old->size == f->size && old->sha256 == f->sha256 && old->git_oid == f->git_oid) {
        have = true;  // verified when it was downloaded
      } else {
        std::unique_ptr<Digest> d = NewDigest(*f);
        std::string got;
        if (d) {
          std::ifstream in(dest, std::ios::binary);
          std::vector<char> buf(1 << 20);
          while (in) {
            in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
            d->Update(buf.data(), static_cast<size_t>(in.gcount()));
          }
          got = d->HexFinal();
        }
        have = !d || got == (f->sha256.empty() ? f->git_oid : f->sha256);
      }
    }
    if (have) {
      if (observer) observer(Ev(PullEvent::Kind::kSkipped, f->path, f->size, f->size));
    } else {
      fs::remove(dest, ec);
      const uint64_t part = fs::is_regular_file(dest.string() + ".part", ec) ? fs::file_size(dest.string() + ".part", ec) : 0;
      const fs::space_info space = fs::space(dir, ec);
      if (!ec && f->size_known && f->size > part && space.available < f->size - part)
        throw Error(dest.string(), "", "not enough disk space: it needs " + HumanBytes(f->size - part) + ", " +
                                           HumanBytes(space.available) + " are free in " + dir.string());
      const std::string url = opt.endpoint + "/" + ref.repo() + "/resolve/" + UrlEncode(rev, false) + "/" + UrlEncode(f->path, true);
      result.bytes_downloaded += FetchFile(http, url, *f, dest, observer);
      if (!f->size_known) rec.size = fs::file_size(dest, ec);
    }
    manifest.Put(rec);
    cache.WriteManifest(whole, manifest);  // after each file, so an interrupted pull keeps what it verified
    result.files.push_back(f->path);
  }
  result.path = ref.file.empty() ? dir.string() : (dir / ref.file).string();
  return result;
}

}  // namespace dseek::hub
