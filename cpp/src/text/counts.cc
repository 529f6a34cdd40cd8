#include "cairn/text/counts.h"

#include "cairn/text/ngram_counts.h"

#include <algorithm>
#include <cstring>
#include <numeric>

namespace cairn::text {

CountsTable::CountsTable() : slots_(1024, 0), mask_(1023) {}

size_t CountsTable::Insert(std::string_view key, uint64_t hash, uint64_t slot, int64_t count) {
  Entry e{};
  e.hash = hash;
  e.count = count;
  e.length = key.size();
  if (e.length <= kInline) {
    std::memcpy(e.key.bytes, key.data(), key.size());
  } else {
    e.key.offset = arena_.size();
    arena_.append(key);
  }
  entries_.push_back(e);
  slots_[slot] = ((hash >> 32) << 32) | static_cast<uint64_t>(entries_.size());
  if (entries_.size() * 2 > slots_.size()) Grow();
  return entries_.size() - 1;
}

void CountsTable::Grow() {
  std::vector<uint64_t> slots(slots_.size() * 2, 0);
  uint64_t mask = slots.size() - 1;
  for (size_t e = 0; e < entries_.size(); ++e) {
    uint64_t h = entries_[e].hash;
    uint64_t i = h & mask;
    while (slots[i] != 0) i = (i + 1) & mask;
    slots[i] = ((h >> 32) << 32) | static_cast<uint64_t>(e + 1);
  }
  slots_.swap(slots);
  mask_ = mask;
}

void CountsTable::Merge(const CountsTable& other) {
  // Make room first so a big merge does not rehash repeatedly.
  size_t want = slots_.size();
  while ((entries_.size() + other.size()) * 2 > want) want *= 2;
  if (want != slots_.size()) {
    slots_.assign(want / 2, 0);
    Grow();
  }
  arena_.reserve(arena_.size() + other.arena_.size());
  for (size_t i = 0; i < other.size(); ++i) Add(other.key(i), other.count(i));
}

int64_t CountsTable::total() const {
  int64_t t = 0;
  for (const auto& e : entries_) t += e.count;
  return t;
}

std::vector<size_t> CountsTable::LargestFirst(int64_t k) const {
  std::vector<size_t> order(entries_.size());
  std::iota(order.begin(), order.end(), 0);
  auto by_count = [this](size_t a, size_t b) {
    if (entries_[a].count != entries_[b].count) return entries_[a].count > entries_[b].count;
    return a < b;
  };
  if (k >= 0 && static_cast<size_t>(k) < order.size()) {
    std::partial_sort(order.begin(), order.begin() + k, order.end(), by_count);
    order.resize(k);
  } else {
    std::sort(order.begin(), order.end(), by_count);
  }
  return order;
}

std::shared_ptr<const CountsTable> CountsValue::Table() const {
  if (table != nullptr || ngrams == nullptr) return table;
  std::call_once(made_, [this] { made_table_ = ngrams->ToTable(); });
  return made_table_;
}

}  // namespace cairn::text
