// Streaming SHA-256 and SHA-1 (OpenSSL EVP) for checking downloads: the hub
// names an LFS file by its SHA-256 and a small git file by its git blob SHA-1
// (sha1("blob {size}\0" + bytes)). Not thread-safe per object.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

namespace dseek::hub {

class Digest {
 public:
  enum class Kind { kSha256, kSha1 };
  explicit Digest(Kind kind);
  ~Digest();
  Digest(const Digest&) = delete;
  Digest& operator=(const Digest&) = delete;

  void Update(const void* data, size_t n);
  std::string HexFinal();  // lowercase hex; the object is spent afterwards

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

std::string Sha256Hex(const std::string& bytes);

}  // namespace dseek::hub
