// Appending to a pack on a thread of its own, so writing overlaps hashing and compression
// (internal to cpp/src/store).
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include "cairn/store/pack.h"

namespace cairn::store {

/// An entry's stored bytes on their way into a pack: owned (compressed output), or a view
/// into a buffer that `keep` keeps alive (raw data straight from the block it was read
/// into, with no copy).
struct StoredBytes {
  std::string owned;
  std::shared_ptr<const void> keep;
  std::string_view viewed;
  size_t pinned = 0;  // the size of what `keep` keeps alive

  static StoredBytes View(std::shared_ptr<const void> keep, size_t pinned, const uint8_t* data,
                          size_t size) {
    return {{}, std::move(keep), {reinterpret_cast<const char*>(data), size}, pinned};
  }
  std::string_view bytes() const { return keep ? viewed : std::string_view(owned); }
};

/// Owns a PackWriter while a writer thread appends queued entries to it. Push() blocks when
/// more than a bounded number of bytes wait (a viewed buffer counts whole, once, however
/// many waiting entries view it: that is the memory they hold). Errors (a full disk) come back from
/// the next Push() and from Finish(). Push and Finish are called from one thread.
class PackAppender {
 public:
  explicit PackAppender(std::unique_ptr<PackWriter> writer);
  ~PackAppender();

  Status Push(ObjectType type, const Digest& id, uint64_t raw_size, Codec codec,
              StoredBytes stored);
  /// Bytes pushed so far (what the pack will hold).
  uint64_t pushed_bytes() const { return pushed_bytes_; }
  /// Waits until everything pushed is written; returns the writer, or the first error.
  Result<std::unique_ptr<PackWriter>> Finish();

 private:
  struct Item {
    ObjectType type;
    Digest id;
    uint64_t raw_size;
    Codec codec;
    StoredBytes stored;
  };
  void Loop();

  std::unique_ptr<PackWriter> writer_;
  std::mutex mutex_;
  std::condition_variable ready_, space_;
  std::deque<Item> queue_;
  uint64_t queued_bytes_ = 0;
  std::unordered_map<const void*, uint32_t> pins_;  // viewed buffers: waiting entries each
  uint64_t pushed_bytes_ = 0;
  bool done_ = false;
  Status error_;
  std::thread thread_;
};

}  // namespace cairn::store
