#include "hub/digest.h"

#include <openssl/evp.h>

#include <stdexcept>

namespace dseek::hub {

struct Digest::Impl {
  EVP_MD_CTX* ctx = nullptr;
};

Digest::Digest(Kind kind) : impl_(std::make_unique<Impl>()) {
  impl_->ctx = EVP_MD_CTX_new();
  if (!impl_->ctx || EVP_DigestInit_ex(impl_->ctx, kind == Kind::kSha256 ? EVP_sha256() : EVP_sha1(), nullptr) != 1)
    throw std::runtime_error("OpenSSL: cannot start a digest");
}

Digest::~Digest() { EVP_MD_CTX_free(impl_->ctx); }

void Digest::Update(const void* data, size_t n) {
  if (EVP_DigestUpdate(impl_->ctx, data, n) != 1) throw std::runtime_error("OpenSSL: digest update failed");
}

std::string Digest::HexFinal() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(impl_->ctx, md, &len) != 1) throw std::runtime_error("OpenSSL: digest failed");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) {
    hex += kHex[md[i] >> 4];
    hex += kHex[md[i] & 15];
  }
  return hex;
}

std::string Sha256Hex(const std::string& bytes) {
  Digest d(Digest::Kind::kSha256);
  d.Update(bytes.data(), bytes.size());
  return d.HexFinal();
}

}  // namespace dseek::hub
