// Counting strings: the table behind native frequencies, distinct and topk.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "cairn/common/value.h"
#include "cairn/text/key_hash.h"

namespace cairn::text {

/// Counts of distinct strings, in order of first insertion (the order Dask's frequencies and
/// distinct give). Open addressing over an arena of key bytes; no per-key allocation.
/// Not thread-safe: each task owns its table; tables are combined with Merge.
class CountsTable {
 public:
  CountsTable();

  /// Adds `count` occurrences of `key`; returns its entry index (entries are numbered in
  /// order of first insertion, so the index interns the key). Inline: it is the innermost
  /// loop of word counting.
  size_t Add(std::string_view key, int64_t count = 1) {
    if (key.size() <= kInline) return AddShort(key, count);
    const uint64_t h = key_hash::HashLong(key);
    uint64_t slot;
    Entry* e = Probe(h, &slot, [&](const Entry& e) {
      return e.length == key.size() &&
             std::memcmp(arena_.data() + e.key.offset, key.data(), key.size()) == 0;
    });
    if (e == nullptr) return Insert(key, h, slot, count);
    e->count += count;
    return static_cast<size_t>(e - entries_.data());
  }
  /// Adds every entry of `other` (its new keys are appended in its order).
  void Merge(const CountsTable& other);

  size_t size() const { return entries_.size(); }
  std::string_view key(size_t i) const { return {KeyData(entries_[i]), entries_[i].length}; }
  int64_t count(size_t i) const { return entries_[i].count; }
  int64_t total() const;

  /// Entry indices by count, largest first; equal counts keep insertion order (a stable
  /// sort, as Python's sorted(..., reverse=True) and heapq.nlargest). At most `k` (all if
  /// k < 0).
  std::vector<size_t> LargestFirst(int64_t k) const;

 private:
  // Keys up to kInline bytes live in the entry itself (one cache line with the count);
  // longer ones in the arena.
  static constexpr uint32_t kInline = 16;
  struct Entry {
    uint64_t hash;
    int64_t count;
    uint64_t length;  // 64 bits (free: padding otherwise): a word may pass 4 GiB
    union {
      char bytes[kInline];  // zero-padded
      uint64_t words[2];
      uint64_t offset;
    } key;
  };
  const char* KeyData(const Entry& e) const {
    return e.length <= kInline ? e.key.bytes : arena_.data() + e.key.offset;
  }
  void Grow();
  size_t Insert(std::string_view key, uint64_t hash, uint64_t slot, int64_t count);
  size_t AddShort(std::string_view key, int64_t count) {
    uint64_t w0, w1;
    key_hash::LoadShort(key, &w0, &w1);
    const uint64_t h = key_hash::HashShort(key.size(), w0, w1);
    uint64_t slot;
    Entry* e = Probe(h, &slot, [&](const Entry& e) {
      return e.length == key.size() && e.key.words[0] == w0 && e.key.words[1] == w1;
    });
    if (e == nullptr) return Insert(key, h, slot, count);
    e->count += count;
    return static_cast<size_t>(e - entries_.data());
  }
  // The entry with hash `h` that `same` accepts, or nullptr with *empty at the free slot
  // where it belongs. The slot's hash tag settles most mismatches without touching entries.
  template <typename Same>
  Entry* Probe(uint64_t h, uint64_t* empty, Same&& same) {
    const uint64_t tag = (h >> 32) << 32;
    for (uint64_t i = h & mask_;; i = (i + 1) & mask_) {
      const uint64_t slot = slots_[i];
      if (slot == 0) {
        *empty = i;
        return nullptr;
      }
      if ((slot & 0xFFFFFFFF00000000ull) == tag) {
        Entry& e = entries_[(slot & 0xFFFFFFFFu) - 1];
        if (same(e)) return &e;
      }
    }
  }

  std::vector<Entry> entries_;
  // (hash tag << 32) | (entry index + 1); 0 = empty. The tag settles most mismatches
  // without touching the entry or its key bytes (fewer cache misses on large tables).
  std::vector<uint64_t> slots_;
  std::string arena_;
  uint64_t mask_;
};

class NgramCounts;  // ngram_counts.h

/// A CountsTable as a task result. `keys_only` marks the result of distinct (the Python
/// form is the list of keys rather than (key, count) pairs); `order`, when has_order is
/// set, is the order in which entries are presented.
class CountsValue final : public Value {
 public:
  /// Shared, not copied, between values that present the same table differently (topk).
  /// Null when the counts are `ngrams`.
  std::shared_ptr<const CountsTable> table;
  /// N-gram counts kept as word-id tuples (set instead of `table`).
  std::shared_ptr<const NgramCounts> ngrams;
  bool keys_only = false;
  std::vector<size_t> order;  // empty: insertion order
  bool has_order = false;

  /// `table`, or for n-gram counts their strings in order of first occurrence (made on
  /// first use, once; safe to call from several threads).
  std::shared_ptr<const CountsTable> Table() const;

 private:
  mutable std::once_flag made_;
  mutable std::shared_ptr<const CountsTable> made_table_;
};

}  // namespace cairn::text
