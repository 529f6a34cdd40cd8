// Interning words as ids for n-gram counting (internal header).
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "cairn/text/key_hash.h"

namespace cairn::text {

/// Words numbered 0, 1, ... in order of first occurrence. A CountsTable without counts:
/// a probe reads one 24-byte slot holding the word itself (up to 16 bytes) and its id, so a
/// lookup is one cache access, and nothing is written for a word already seen (the inner
/// loop of n-gram counting sees each word of the text). Not thread-safe.
class WordIds {
 public:
  WordIds() : slots_(kInitialSlots), mask_(kInitialSlots - 1) {}

  /// The id of `word`, which is new (the next id) if not seen before.
  uint32_t Add(std::string_view word) {
    uint64_t w0, w1;
    const bool inline_word = word.size() <= kInline;
    if (inline_word) {
      key_hash::LoadShort(word, &w0, &w1);
    } else {
      w0 = key_hash::HashLong(word);
      w1 = 0;
    }
    const uint64_t h = key_hash::HashShort(LengthTag(word.size()), w0, w1);
    for (uint64_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& slot = slots_[i];
      if (slot.id_plus_one == 0) return Insert(word, w0, w1, i);
      if (slot.length != LengthTag(word.size()) || slot.w0 != w0) continue;
      if (inline_word ? slot.w1 == w1 : this->word(slot.id_plus_one - 1) == word) {
        return slot.id_plus_one - 1;
      }
    }
  }

  size_t size() const { return offsets_.size(); }
  std::string_view word(uint32_t id) const {
    const uint64_t begin = offsets_[id];
    const uint64_t end = id + 1 < offsets_.size() ? offsets_[id + 1] : arena_.size();
    return {arena_.data() + begin, end - begin};
  }

 private:
  static constexpr size_t kInline = 16;
  static constexpr size_t kInitialSlots = 1024;
  // An inline word as two little-endian words, zero-padded; a longer one as (hash, 0),
  // compared with its bytes in arena_ when the hash matches.
  struct Slot {
    uint64_t w0 = 0;
    uint64_t w1 = 0;
    uint32_t length = 0;       // LengthTag of the word's length
    uint32_t id_plus_one = 0;  // 0: empty
  };
  // The length, saturated at 2^32 - 1 (a longer word is then told apart by its bytes).
  static uint32_t LengthTag(size_t n) {
    return n > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(n);
  }

  uint32_t Insert(std::string_view word, uint64_t w0, uint64_t w1, uint64_t at) {
    const auto id = static_cast<uint32_t>(offsets_.size());
    offsets_.push_back(arena_.size());
    arena_.append(word);
    slots_[at] = {w0, w1, LengthTag(word.size()), id + 1};
    if (4 * offsets_.size() > 3 * slots_.size()) Grow();  // linear probing copes at 3/4 full
    return id;
  }
  void Grow() {
    std::vector<Slot> old(slots_.size() * 2);
    old.swap(slots_);
    mask_ = slots_.size() - 1;
    for (const Slot& slot : old) {
      if (slot.id_plus_one == 0) continue;
      uint64_t i = key_hash::HashShort(slot.length, slot.w0, slot.w1) & mask_;
      while (slots_[i].id_plus_one != 0) i = (i + 1) & mask_;
      slots_[i] = slot;
    }
  }

  std::vector<Slot> slots_;
  uint64_t mask_;
  std::string arena_;              // every word's bytes, by id
  std::vector<uint64_t> offsets_;  // id -> start of its bytes in arena_
};

}  // namespace cairn::text
