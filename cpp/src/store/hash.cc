#include "cairn/store/hash.h"

#include <openssl/evp.h>

#include <cstdlib>

namespace cairn::store {

std::string Digest::ToHex() const {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(64, '0');
  for (size_t i = 0; i < 32; ++i) {
    out[2 * i] = kHex[bytes[i] >> 4];
    out[2 * i + 1] = kHex[bytes[i] & 15];
  }
  return out;
}

Result<Digest> Digest::FromHex(std::string_view hex) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (hex.size() != 64) {
    return Status::Invalid("not a SHA-256 id (want 64 hex digits): '", hex, "'");
  }
  Digest d;
  for (size_t i = 0; i < 32; ++i) {
    int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return Status::Invalid("not a SHA-256 id (non-hex digit): '", hex, "'");
    d.bytes[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return d;
}

struct Sha256::Impl {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~Impl() { EVP_MD_CTX_free(ctx); }
};

Sha256::Sha256() : impl_(std::make_unique<Impl>()) {
  // Failing here means OpenSSL itself is broken (out of memory); nothing to recover.
  if (impl_->ctx == nullptr || EVP_DigestInit_ex(impl_->ctx, EVP_sha256(), nullptr) != 1) {
    std::abort();
  }
}

Sha256::~Sha256() = default;

void Sha256::Update(const void* data, size_t size) {
  if (size > 0) EVP_DigestUpdate(impl_->ctx, data, size);
}

Digest Sha256::Finish() {
  Digest d;
  unsigned int n = 0;
  EVP_DigestFinal_ex(impl_->ctx, d.bytes.data(), &n);
  return d;
}

Digest Sha256::Of(const void* data, size_t size) {
  Digest d;
  unsigned int n = 0;
  EVP_Digest(data, size, d.bytes.data(), &n, EVP_sha256(), nullptr);
  return d;
}

}  // namespace cairn::store
