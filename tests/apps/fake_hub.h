// A hub-shaped HTTP server on 127.0.0.1 (an ephemeral port) for the pull
// tests: the two listing endpoints the hub API has, /resolve/ with a redirect
// to a "CDN" path, Range requests, a gated repo, and ways to misbehave (drop
// the connection midway, serve bytes that do not match the LFS oid). Plain
// sockets, one connection at a time, "Connection: close": the client is one
// `dseek pull` process. It records every request for the tests to inspect.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "hub/digest.h"

namespace dseek::testing {

struct HubFile {
  std::string bytes;         // what the listing describes (size, oid)
  bool lfs = true;
  std::string served;        // when not empty: what /resolve/ actually serves ("<404>": nothing)
};

struct HubRepo {
  std::map<std::string, HubFile> files;  // path -> file
  std::string token;                     // when not empty: gated, needs "Bearer token"
};

struct HubRequest {
  std::string target;                        // path and query
  std::map<std::string, std::string> headers;  // lower-case names
};

class FakeHub {
 public:
  static constexpr const char* kCommit = "0123456789abcdef0123456789abcdef01234567";

  FakeHub() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd_, 16) != 0)
      throw std::runtime_error("fake hub: cannot listen on 127.0.0.1");
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Loop(); });
  }
  ~FakeHub() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }

  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

  void AddRepo(const std::string& repo, HubRepo r) {
    std::lock_guard<std::mutex> lock(mu_);
    repos_[repo] = std::move(r);
  }
  // The next GET of this repo path sends half the bytes, then hangs up.
  void DropOnce(const std::string& path) {
    std::lock_guard<std::mutex> lock(mu_);
    drop_once_.insert(path);
  }
  std::vector<HubRequest> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  void ClearRequests() {
    std::lock_guard<std::mutex> lock(mu_);
    requests_.clear();
  }

 private:
  void Loop() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      timeval tv{10, 0};
      ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      Serve(c);
      ::close(c);
    }
  }

  static void Send(int c, const std::string& s) {
    size_t off = 0;
    while (off < s.size()) {
      ssize_t n = ::send(c, s.data() + off, s.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return;
      off += static_cast<size_t>(n);
    }
  }

  static void Reply(int c, int status, const std::string& body, const std::vector<std::string>& headers = {}) {
    std::string h = "HTTP/1.1 " + std::to_string(status) + " X\r\nConnection: close\r\nContent-Length: " +
                    std::to_string(body.size()) + "\r\n";
    for (const auto& x : headers) h += x + "\r\n";
    Send(c, h + "\r\n" + body);
  }

  static std::string Hex(const std::string& bytes, hub::Digest::Kind kind, const std::string& prefix = "") {
    hub::Digest d(kind);
    d.Update(prefix.data(), prefix.size());
    d.Update(bytes.data(), bytes.size());
    return d.HexFinal();
  }

  void Serve(int c) {
    std::string req;
    char buf[4096];
    while (req.find("\r\n\r\n") == std::string::npos) {
      ssize_t n = ::recv(c, buf, sizeof buf, 0);
      if (n <= 0) return;
      req.append(buf, static_cast<size_t>(n));
    }
    HubRequest r;
    size_t eol = req.find("\r\n");
    const std::string line = req.substr(0, eol);
    const size_t sp1 = line.find(' '), sp2 = line.rfind(' ');
    r.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    for (size_t pos = eol + 2; pos < req.size();) {
      size_t e = req.find("\r\n", pos);
      if (e == pos || e == std::string::npos) break;
      const std::string h = req.substr(pos, e - pos);
      const size_t colon = h.find(':');
      std::string name = h.substr(0, colon);
      for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      r.headers[name] = h.substr(h.find_first_not_of(' ', colon + 1));
      pos = e + 2;
    }
    std::unique_lock<std::mutex> lock(mu_);
    requests_.push_back(r);
    Route(c, r);
  }

  // Splits "/a/b/c?q" into {"a","b","c"} and the query.
  static std::vector<std::string> Parts(const std::string& target, std::string* query) {
    const size_t q = target.find('?');
    *query = q == std::string::npos ? "" : target.substr(q + 1);
    std::vector<std::string> parts;
    const std::string path = target.substr(0, q);
    for (size_t pos = 1; pos <= path.size();) {
      size_t e = path.find('/', pos);
      if (e == std::string::npos) e = path.size();
      parts.push_back(path.substr(pos, e - pos));
      pos = e + 1;
    }
    return parts;
  }

  static std::string Join(const std::vector<std::string>& p, size_t from) {
    std::string s;
    for (size_t i = from; i < p.size(); ++i) s += (i > from ? "/" : "") + p[i];
    return s;
  }

  // Access check as the hub does it: unknown repos and missing tokens are 401
  // with an error code, a wrong token is 403... here 401 too, kept simple.
  bool Allowed(int c, const HubRequest& r, const std::string& repo) {
    auto it = repos_.find(repo);
    if (it == repos_.end()) {
      Reply(c, 404, R"({"error":"Repository not found"})", {"X-Error-Code: RepoNotFound"});
      return false;
    }
    if (!it->second.token.empty()) {
      auto h = r.headers.find("authorization");
      if (h == r.headers.end() || h->second != "Bearer " + it->second.token) {
        Reply(c, 401, R"({"error":"Access to model )" + repo + R"( is restricted."})", {"X-Error-Code: GatedRepo"});
        return false;
      }
    }
    return true;
  }

  void Route(int c, const HubRequest& r) {
    std::string query;
    const std::vector<std::string> p = Parts(r.target, &query);
    // /api/models/{org}/{name}/revision/{rev}
    if (p.size() == 6 && p[0] == "api" && p[1] == "models" && p[4] == "revision") {
      const std::string repo = p[2] + "/" + p[3];
      if (!Allowed(c, r, repo)) return;
      if (p[5] != "main" && p[5] != kCommit) {
        Reply(c, 404, R"({"error":"Invalid rev id"})", {"X-Error-Code: RevisionNotFound"});
        return;
      }
      nlohmann::json j{{"id", repo}, {"sha", kCommit}, {"siblings", nlohmann::json::array()}};
      for (const auto& [path, f] : repos_[repo].files) j["siblings"].push_back({{"rfilename", path}});
      Reply(c, 200, j.dump(), {"Content-Type: application/json"});
      return;
    }
    // /api/models/{org}/{name}/tree/{rev}?recursive=true[&cursor=1]: two pages
    if (p.size() == 6 && p[0] == "api" && p[1] == "models" && p[4] == "tree") {
      const std::string repo = p[2] + "/" + p[3];
      if (!Allowed(c, r, repo)) return;
      const bool second = query.find("cursor=1") != std::string::npos;
      nlohmann::json arr = nlohmann::json::array();
      if (!second) arr.push_back({{"type", "directory"}, {"path", "docs"}, {"oid", "x"}, {"size", 0}});
      size_t i = 0;
      const size_t n = repos_[repo].files.size();
      for (const auto& [path, f] : repos_[repo].files) {
        const bool first_half = i++ < n / 2;
        if (first_half == second) continue;
        nlohmann::json e{{"type", "file"}, {"path", path}, {"size", f.bytes.size()}};
        if (f.lfs) {
          e["oid"] = Hex("pointer " + path, hub::Digest::Kind::kSha1);
          e["lfs"] = {{"oid", Hex(f.bytes, hub::Digest::Kind::kSha256)}, {"size", f.bytes.size()}, {"pointerSize", 134}};
        } else {
          e["oid"] = Hex(f.bytes, hub::Digest::Kind::kSha1, "blob " + std::to_string(f.bytes.size()) + std::string(1, '\0'));
        }
        arr.push_back(e);
      }
      std::vector<std::string> headers{"Content-Type: application/json"};
      if (!second) headers.push_back("Link: </api/models/" + repo + "/tree/" + p[5] + "?recursive=true&cursor=1>; rel=\"next\"");
      Reply(c, 200, arr.dump(), headers);
      return;
    }
    // /{org}/{name}/resolve/{rev}/{path...} -> 302 to /cdn/{org}/{name}/{path...}
    if (p.size() >= 5 && p[2] == "resolve") {
      const std::string repo = p[0] + "/" + p[1];
      if (!Allowed(c, r, repo)) return;
      const std::string path = Join(p, 4);
      if (!repos_[repo].files.count(path) || repos_[repo].files[path].served == "<404>") {
        Reply(c, 404, R"({"error":"Entry not found"})", {"X-Error-Code: EntryNotFound"});
        return;
      }
      Reply(c, 302, "", {"Location: /cdn/" + repo + "/" + path});
      return;
    }
    if (p.size() >= 4 && p[0] == "cdn") {
      const std::string repo = p[1] + "/" + p[2];
      const std::string path = Join(p, 3);
      auto it = repos_.find(repo);
      if (it == repos_.end() || !it->second.files.count(path)) {
        Reply(c, 404, "no such object");
        return;
      }
      const HubFile& f = it->second.files[path];
      const std::string& body = f.served.empty() ? f.bytes : f.served;
      size_t start = 0;
      auto range = r.headers.find("range");
      if (range != r.headers.end()) {
        start = std::stoull(range->second.substr(range->second.find('=') + 1));
        if (start >= body.size()) {
          Reply(c, 416, "", {"Content-Range: bytes */" + std::to_string(body.size())});
          return;
        }
      }
      std::string head = "HTTP/1.1 " + std::string(range != r.headers.end() ? "206 Partial Content" : "200 OK") +
                         "\r\nConnection: close\r\nContent-Length: " + std::to_string(body.size() - start) + "\r\n";
      if (range != r.headers.end())
        head += "Content-Range: bytes " + std::to_string(start) + "-" + std::to_string(body.size() - 1) + "/" +
                std::to_string(body.size()) + "\r\n";
      head += "\r\n";
      if (drop_once_.erase(path)) {  // half the bytes, then hang up
        Send(c, head + body.substr(start, (body.size() - start) / 2));
        return;
      }
      Send(c, head + body.substr(start));
      return;
    }
    Reply(c, 404, "not found");
  }

  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  mutable std::mutex mu_;
  std::map<std::string, HubRepo> repos_;
  std::set<std::string> drop_once_;
  std::vector<HubRequest> requests_;
};

}  // namespace dseek::testing
