// Sorted runs of n-gram counts and how several are merged (internal header of
// ngram_counts.cc): the run layout, the merged dictionary, the k-way merge, its split into
// key ranges over threads, and the best k found without merging.
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <exception>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <type_traits>
#include <vector>

#if __has_include(<sys/mman.h>)
#include <sys/mman.h>
#include <unistd.h>
#endif

namespace cairn::text::ngram_internal {

__extension__ using u128 = unsigned __int128;  // GCC/Clang; -Wpedantic otherwise refuses it
constexpr int kPositionBits = 40;  // rank = partition << 40 | position in the partition
constexpr uint32_t kIdBits = 32;   // ids in a run's keys: 32 bits each, first word highest

// Bits needed to hold values 0..count-1 (at least 1).
inline int BitsFor(uint64_t count) { return count <= 2 ? 1 : std::bit_width(count - 1); }

template <typename Key>
Key LowMask(int bits) {
  return bits >= static_cast<int>(sizeof(Key) * 8) ? ~Key{0} : (Key{1} << bits) - 1;
}

// A sorted run: distinct n-grams as id tuples (ids into `words`, sorted and distinct, so
// key order is the words' lexicographic order), each with its count and first-occurrence rank.
template <typename Key>
struct Entry {
  Key key;
  int64_t count;
  uint64_t rank;
};
template <typename Key>
struct Run {
  std::vector<std::string> words;
  std::vector<Entry<Key>> entries;  // by key; one array, so a k-way merge reads k streams
};

// The words of several runs merged into one sorted dictionary, and each run's id mapping.
template <typename Key>
struct Dictionary {
  std::vector<std::string_view> words;
  std::vector<std::vector<uint32_t>> remap;

  explicit Dictionary(const std::vector<const Run<Key>*>& runs) {
    // Each run's words are sorted: merge them pairwise (log2(runs) passes, not a sort).
    std::vector<size_t> bounds{0};
    for (const auto* run : runs) {
      words.insert(words.end(), run->words.begin(), run->words.end());
      bounds.push_back(words.size());
    }
    while (bounds.size() > 2) {
      std::vector<size_t> merged{0};
      for (size_t i = 0; i + 1 < bounds.size(); i += 2) {
        const size_t end = i + 2 < bounds.size() ? bounds[i + 2] : bounds[i + 1];
        if (i + 2 < bounds.size()) {
          std::inplace_merge(words.begin() + static_cast<ptrdiff_t>(bounds[i]),
                             words.begin() + static_cast<ptrdiff_t>(bounds[i + 1]),
                             words.begin() + static_cast<ptrdiff_t>(end));
        }
        merged.push_back(end);
      }
      bounds = std::move(merged);
    }
    words.erase(std::unique(words.begin(), words.end()), words.end());
    for (const auto* run : runs) {
      auto& map = remap.emplace_back(run->words.size());
      size_t j = 0;
      for (size_t i = 0; i < run->words.size(); ++i) {
        while (words[j] != run->words[i]) ++j;  // both sorted: a merge walk
        map[i] = static_cast<uint32_t>(j);
      }
    }
  }
};

template <typename Key>
Key RemapKey(Key key, int n, const uint32_t* remap) {
  Key out = 0;
  for (int j = n - 1; j >= 0; --j) {
    const auto id = static_cast<uint32_t>(key >> (kIdBits * j));
    out = (out << kIdBits) | remap[id];
  }
  return out;
}

// The entries of one run that a merge reads: [begin, end), and the run's id mapping.
template <typename Key>
struct Slice {
  const Entry<Key>* begin;
  const Entry<Key>* end;
  const uint32_t* remap;
};

// Calls visit(key, count, rank) for each distinct key of `slices` in key order (ids into
// the merged dictionary), with counts summed and the smallest rank: a k-way merge through
// a heap.
template <typename Key, typename Visit>
void ForEachMerged(const std::vector<Slice<Key>>& slices, int n, Visit&& visit) {
  struct Cursor {
    Key key;
    const Entry<Key>* at;
    const Entry<Key>* end;
    const uint32_t* remap;
  };
  // A binary min-heap by key; the front is replaced in place as its run advances.
  std::vector<Cursor> heap;
  for (const auto& slice : slices) {
    if (slice.begin == slice.end) continue;
    heap.push_back({RemapKey(slice.begin->key, n, slice.remap), slice.begin, slice.end,
                    slice.remap});
  }
  auto after = [](const Cursor& a, const Cursor& b) { return a.key > b.key; };
  std::make_heap(heap.begin(), heap.end(), after);
  auto sift_down = [&heap](size_t i) {
    const size_t size = heap.size();
    Cursor moving = heap[i];
    for (;;) {
      size_t child = 2 * i + 1;
      if (child >= size) break;
      if (child + 1 < size && heap[child + 1].key < heap[child].key) ++child;
      if (!(heap[child].key < moving.key)) break;
      heap[i] = heap[child];
      i = child;
    }
    heap[i] = moving;
  };
  while (!heap.empty()) {
    const Key key = heap.front().key;
    int64_t count = 0;
    uint64_t rank = std::numeric_limits<uint64_t>::max();
    do {
      Cursor& c = heap.front();
      count += c.at->count;
      rank = std::min(rank, c.at->rank);
      if (++c.at != c.end) {
        c.key = RemapKey(c.at->key, n, c.remap);
      } else {
        c = heap.back();
        heap.pop_back();
        if (heap.empty()) break;
      }
      sift_down(0);
    } while (heap.front().key == key);
    visit(key, count, rank);
  }
}

// Merges of at least this many entries per thread are split by key range over threads.
constexpr size_t kMergeEntriesPerThread = size_t{1} << 15;
constexpr unsigned kMaxMergeThreads = 4;

// The merge of `runs` cut into key ranges of about equal size, one per thread to use (at
// most `most_parts`): ranges[p][r] is run r's part of range p. Any cut gives the same
// merged sequence, range after range, so results do not depend on the thread count.
template <typename Key>
std::vector<std::vector<Slice<Key>>> SplitByKey(const std::vector<const Run<Key>*>& runs, int n,
                                                const Dictionary<Key>& dict, size_t most_parts) {
  size_t total = 0;
  const Run<Key>* largest = nullptr;
  for (const auto* run : runs) {
    total += run->entries.size();
    if (largest == nullptr || run->entries.size() > largest->entries.size()) largest = run;
  }
  const size_t parts = std::clamp<size_t>(total / kMergeEntriesPerThread, 1, most_parts);
  // Cut keys (merged ids) at even quantiles of the largest run; strictly increasing.
  std::vector<Key> cuts;
  size_t largest_index = 0;
  for (size_t r = 0; r < runs.size(); ++r) {
    if (runs[r] == largest) largest_index = r;
  }
  for (size_t p = 1; p < parts; ++p) {
    const auto& entries = largest->entries;
    const Key cut = RemapKey(entries[entries.size() * p / parts].key, n,
                             dict.remap[largest_index].data());
    if (cuts.empty() || cuts.back() < cut) cuts.push_back(cut);
  }
  std::vector<std::vector<Slice<Key>>> ranges(cuts.size() + 1);
  for (size_t r = 0; r < runs.size(); ++r) {
    const uint32_t* remap = dict.remap[r].data();
    const Entry<Key>* at = runs[r]->entries.data();
    const Entry<Key>* end = at + runs[r]->entries.size();
    for (size_t p = 0; p <= cuts.size(); ++p) {
      const Entry<Key>* stop = end;
      if (p < cuts.size()) {
        stop = std::partition_point(at, end, [&](const Entry<Key>& e) {
          return RemapKey(e.key, n, remap) < cuts[p];
        });
      }
      ranges[p].push_back({at, stop, remap});
      at = stop;
    }
  }
  return ranges;
}

// Appends `from` to `to` and empties `from`, handing back `from`'s pages as they are
// copied, so the two never hold the copied entries twice (a merge split over threads ends
// with such copies of hundreds of MB).
template <typename T>
void AppendReleasing(std::vector<T>* to, std::vector<T>* from) {
  static_assert(std::is_trivially_copyable_v<T>);
  to->reserve(to->size() + from->size());
#if __has_include(<sys/mman.h>)
  const auto page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  constexpr size_t kChunk = (size_t{4} << 20) / sizeof(T);
  const uintptr_t first_page = (reinterpret_cast<uintptr_t>(from->data()) + page - 1) & ~(page - 1);
  for (size_t at = 0; at < from->size(); at += kChunk) {
    const size_t stop = std::min(from->size(), at + kChunk);
    to->insert(to->end(), from->begin() + static_cast<ptrdiff_t>(at),
               from->begin() + static_cast<ptrdiff_t>(stop));
    // Whole pages of `from` below `stop` are copied and never read again.
    const uintptr_t end_page = reinterpret_cast<uintptr_t>(from->data() + stop) & ~(page - 1);
    const uintptr_t begin_page =
        std::max(first_page, reinterpret_cast<uintptr_t>(from->data() + at) & ~(page - 1));
    if (end_page > begin_page) {
      madvise(reinterpret_cast<void*>(begin_page), end_page - begin_page, MADV_DONTNEED);
    }
  }
#else
  to->insert(to->end(), from->begin(), from->end());
#endif
  *from = std::vector<T>();
}

inline size_t MergeThreads() {
  return std::clamp<size_t>(std::thread::hardware_concurrency(), 1, kMaxMergeThreads);
}

// Runs work(p) for p in [0, parts), p > 0 on threads of their own; exceptions are caught in
// the threads and the first is rethrown here after all have joined.
template <typename Work>
void RunParts(size_t parts, Work&& work) {
  std::vector<std::exception_ptr> errors(parts);
  auto guarded = [&](size_t p) {
    try {
      work(p);
    } catch (...) {
      errors[p] = std::current_exception();
    }
  };
  std::vector<std::thread> threads;
  size_t p = 1;
  try {
    for (; p < parts; ++p) threads.emplace_back(guarded, p);
  } catch (const std::system_error&) {  // no more threads: the rest run here
  }
  for (size_t q = p; q < parts; ++q) guarded(q);
  guarded(0);
  for (auto& thread : threads) thread.join();
  for (auto& error : errors) {
    if (error) std::rethrow_exception(error);
  }
}

// The entry of `run` for merged key `key` (ids into the merged dictionary), or nullptr.
template <typename Key>
const Entry<Key>* FindMerged(const Run<Key>& run, const std::vector<uint32_t>& remap, int n,
                             Key key) {
  Key local = 0;
  for (int j = n - 1; j >= 0; --j) {
    const auto id = static_cast<uint32_t>(key >> (kIdBits * j));
    const auto at = std::lower_bound(remap.begin(), remap.end(), id);
    if (at == remap.end() || *at != id) return nullptr;
    local = (local << kIdBits) | static_cast<Key>(at - remap.begin());
  }
  const auto it = std::lower_bound(run.entries.begin(), run.entries.end(), local,
                                   [](const Entry<Key>& e, Key k) { return e.key < k; });
  return it != run.entries.end() && it->key == local ? &*it : nullptr;
}

// The k (> 0) entries with the largest sums over `runs` (keys in the merged dictionary's
// ids), in no particular order, found without merging: a key whose sum reaches a threshold
// T must have at least T / runs in some run. T is the k-th largest sum of the keys that are
// the k largest of some run; only entries past T / runs are summed (by binary search in
// every run). Every key of the true best k is among them with its exact sum and first
// rank, so the result is the same as a full merge's. False (and nothing) when too many
// entries pass the threshold for this to pay (flat counts): merge instead.
template <typename Key>
bool LargestByThreshold(const std::vector<const Run<Key>*>& runs, int n,
                        const Dictionary<Key>& dict, size_t k, std::vector<Entry<Key>>* out) {
  using Entry = ngram_internal::Entry<Key>;
  size_t total = 0;
  for (const auto* run : runs) total += run->entries.size();
  auto summed = [&](Key key) {
    Entry sum{key, 0, std::numeric_limits<uint64_t>::max()};
    for (size_t r = 0; r < runs.size(); ++r) {
      if (const Entry* e = FindMerged(*runs[r], dict.remap[r], n, key)) {
        sum.count += e->count;
        sum.rank = std::min(sum.rank, e->rank);
      }
    }
    return sum;
  };
  auto larger_count = [](const Entry& a, const Entry& b) { return a.count > b.count; };
  // Seeds: each run's k largest counts (runs shared out over threads).
  const size_t parts = std::clamp<size_t>(total / kMergeEntriesPerThread, 1,
                                          std::min(MergeThreads(), runs.size()));
  std::vector<std::vector<Key>> seeded(runs.size());
  RunParts(parts, [&](size_t p) {
    for (size_t r = p; r < runs.size(); r += parts) {
      std::vector<Entry> top;
      for (const Entry& e : runs[r]->entries) {
        if (top.size() < k) {
          top.push_back(e);
          std::push_heap(top.begin(), top.end(), larger_count);
        } else if (e.count > top.front().count) {
          std::pop_heap(top.begin(), top.end(), larger_count);
          top.back() = e;
          std::push_heap(top.begin(), top.end(), larger_count);
        }
      }
      for (const Entry& e : top) seeded[r].push_back(RemapKey(e.key, n, dict.remap[r].data()));
    }
  });
  std::vector<Key> seeds;
  for (const auto& keys : seeded) seeds.insert(seeds.end(), keys.begin(), keys.end());
  std::sort(seeds.begin(), seeds.end());
  seeds.erase(std::unique(seeds.begin(), seeds.end()), seeds.end());
  if (seeds.size() < k) return false;
  std::vector<int64_t> sums;
  for (Key key : seeds) sums.push_back(summed(key).count);
  std::nth_element(sums.begin(), sums.begin() + static_cast<ptrdiff_t>(k - 1), sums.end(),
                   std::greater<>());
  const int64_t threshold = sums[k - 1];
  const auto parts_of_runs = static_cast<int64_t>(runs.size());
  const int64_t at_least = threshold / parts_of_runs + (threshold % parts_of_runs != 0);
  // Candidates: entries of at least threshold / runs, scanned in slices on several threads.
  const size_t limit = std::max<size_t>(size_t{1} << 16, total / 64);
  const size_t slices = std::clamp<size_t>(total / kMergeEntriesPerThread, 1, MergeThreads());
  std::vector<std::vector<Key>> found(slices);
  std::vector<char> too_many(slices, 0);
  RunParts(slices, [&](size_t p) {
    for (size_t r = 0; r < runs.size() && !too_many[p]; ++r) {
      const auto& entries = runs[r]->entries;
      const size_t begin = entries.size() * p / slices;
      const size_t end = entries.size() * (p + 1) / slices;
      for (size_t i = begin; i < end; ++i) {
        if (entries[i].count < at_least) continue;
        found[p].push_back(RemapKey(entries[i].key, n, dict.remap[r].data()));
        if (found[p].size() > limit) {
          too_many[p] = 1;
          break;
        }
      }
    }
  });
  std::vector<Key> candidates;
  for (size_t p = 0; p < slices; ++p) {
    if (too_many[p]) return false;
    candidates.insert(candidates.end(), found[p].begin(), found[p].end());
  }
  if (candidates.size() > limit) return false;
  std::sort(candidates.begin(), candidates.end());
  candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
  out->clear();
  for (Key key : candidates) out->push_back(summed(key));
  return true;
}

}  // namespace cairn::text::ngram_internal
