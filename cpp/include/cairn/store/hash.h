// SHA-256 (OpenSSL) and the 32-byte ids the store names objects by.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "cairn/common/status.h"

namespace cairn::store {

/// A SHA-256 digest: the id of a chunk, recipe or manifest, and a file's oid.
struct Digest {
  std::array<uint8_t, 32> bytes{};

  bool operator==(const Digest&) const = default;
  auto operator<=>(const Digest&) const = default;
  /// 64 lowercase hex digits.
  std::string ToHex() const;
  /// Parses 64 hex digits (either case); Invalid otherwise.
  static Result<Digest> FromHex(std::string_view hex);
};

/// For unordered containers: the digest is already uniformly distributed.
struct DigestHash {
  size_t operator()(const Digest& d) const {
    size_t h;
    static_assert(sizeof(h) <= sizeof(d.bytes));
    __builtin_memcpy(&h, d.bytes.data(), sizeof(h));
    return h;
  }
};

/// Incremental SHA-256 through OpenSSL's EVP interface (uses SHA-NI where the CPU has it).
/// Not thread-safe; one per stream.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(const void* data, size_t size);
  /// Ends the stream; the object must not be updated afterwards.
  Digest Finish();

  static Digest Of(const void* data, size_t size);
  static Digest Of(std::string_view data) { return Of(data.data(), data.size()); }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cairn::store
