// Counting strings: the table behind native frequencies, distinct and topk.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cairn/common/value.h"

namespace cairn::text {

/// Counts of distinct strings, in order of first insertion (the order Dask's frequencies and
/// distinct give). Open addressing over an arena of key bytes; no per-key allocation.
/// Not thread-safe: each task owns its table; tables are combined with Merge.
class CountsTable {
 public:
  CountsTable();

  /// Adds `count` occurrences of `key`.
  void Add(std::string_view key, int64_t count = 1);
  /// Adds every entry of `other` (its new keys are appended in its order).
  void Merge(const CountsTable& other);

  size_t size() const { return entries_.size(); }
  std::string_view key(size_t i) const {
    return {arena_.data() + entries_[i].offset, entries_[i].length};
  }
  int64_t count(size_t i) const { return entries_[i].count; }
  int64_t total() const;

  /// Entry indices by count, largest first; equal counts keep insertion order (a stable
  /// sort, as Python's sorted(..., reverse=True) and heapq.nlargest). At most `k` (all if
  /// k < 0).
  std::vector<size_t> LargestFirst(int64_t k) const;

 private:
  struct Entry {
    uint64_t hash;
    uint64_t offset;
    uint32_t length;
    int64_t count;
  };
  void Grow();
  static uint64_t Hash(std::string_view key);

  std::vector<Entry> entries_;
  // (hash tag << 32) | (entry index + 1); 0 = empty. The tag settles most mismatches
  // without touching the entry or its key bytes (fewer cache misses on large tables).
  std::vector<uint64_t> slots_;
  std::string arena_;
  uint64_t mask_;
};

/// A CountsTable as a task result. `keys_only` marks the result of distinct (the Python
/// form is the list of keys rather than (key, count) pairs); `sorted_order`, when set, is
/// the order in which entries are presented.
class CountsValue final : public Value {
 public:
  /// Shared, not copied, between values that present the same table differently (topk).
  std::shared_ptr<const CountsTable> table;
  bool keys_only = false;
  std::vector<size_t> order;  // empty: insertion order
  bool has_order = false;
};

}  // namespace cairn::text
