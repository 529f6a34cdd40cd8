// Writing and bounds-checked reading of native-order bytes (internal header, value_codec).
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>

namespace cairn::text {

/// Appends trivially copyable values and length-prefixed strings to a string.
class ByteWriter {
 public:
  explicit ByteWriter(std::string* out) : out_(out) {}
  template <typename T>
  void Put(const T& value) {
    static_assert(std::is_trivially_copyable_v<T>);
    out_->append(reinterpret_cast<const char*>(&value), sizeof(T));
  }
  void PutBytes(const void* data, size_t size) {
    out_->append(static_cast<const char*>(data), size);
  }
  void PutString(std::string_view s) {
    Put<uint64_t>(s.size());
    out_->append(s);
  }

 private:
  std::string* out_;
};

/// Reads what ByteWriter wrote; every read fails (returns false) instead of passing the end.
class ByteReader {
 public:
  explicit ByteReader(std::string_view in) : in_(in) {}
  template <typename T>
  bool Get(T* value) {
    static_assert(std::is_trivially_copyable_v<T>);
    if (in_.size() < sizeof(T)) return false;
    std::memcpy(value, in_.data(), sizeof(T));
    in_.remove_prefix(sizeof(T));
    return true;
  }
  bool GetString(std::string_view* s) {
    uint64_t size;
    if (!Get(&size) || size > in_.size()) return false;
    *s = in_.substr(0, size);
    in_.remove_prefix(size);
    return true;
  }
  /// `count` elements of T, copied out; false if fewer bytes remain.
  template <typename T>
  bool GetArray(uint64_t count, T* out) {
    if (count > in_.size() / sizeof(T)) return false;
    std::memcpy(out, in_.data(), count * sizeof(T));
    in_.remove_prefix(count * sizeof(T));
    return true;
  }
  /// Whether `count` elements of `size` bytes could still be read (guards reservations).
  bool Holds(uint64_t count, size_t size) const { return count <= in_.size() / size; }
  bool AtEnd() const { return in_.empty(); }

 private:
  std::string_view in_;
};

}  // namespace cairn::text
