#include "cairn/text/ngram_counts.h"

#include <algorithm>
#include <limits>
#include <type_traits>

#include "byte_stream.h"
#include "cairn/text/utf8.h"
#include "ngram_runs.h"
#include "tokens.h"
#include "word_ids.h"

namespace cairn::text {
namespace {

using namespace ngram_internal;  // NOLINT: this file is their one user

template <typename Key>
class NgramCountsImpl final : public NgramCounts {
 public:
  using RunPtr = std::shared_ptr<const Run<Key>>;
  NgramCountsImpl(int n, std::string sep, std::vector<RunPtr> runs)
      : NgramCounts(n, std::move(sep)), runs_(std::move(runs)) {}

  const std::vector<RunPtr>& runs() const { return runs_; }

  size_t entries() const override {
    size_t total = 0;
    for (const auto& run : runs_) total += run->entries.size();
    return total;
  }
  int64_t total() const override {
    int64_t total = 0;
    for (const auto& run : runs_) {
      for (const auto& e : run->entries) total += e.count;
    }
    return total;
  }

  // One run with the sum of `runs`, merged by key range on several threads. Room for every
  // input entry of the first range is reserved, but that is address space: only the pages
  // the distinct entries fill become resident.
  static RunPtr MergeRuns(const std::vector<RunPtr>& runs, int n) {
    if (runs.size() == 1) return runs[0];
    std::vector<const Run<Key>*> views;
    size_t most = 0;
    for (const auto& run : runs) {
      views.push_back(run.get());
      most += run->entries.size();
    }
    const Dictionary<Key> dict(views);
    auto out = std::make_shared<Run<Key>>();
    out->words.assign(dict.words.begin(), dict.words.end());
    const auto ranges = SplitByKey(views, n, dict, MergeThreads());
    std::vector<std::vector<Entry<Key>>> merged(ranges.size());
    merged[0].reserve(most);
    RunParts(ranges.size(), [&](size_t p) {
      auto& entries = merged[p];
      if (p > 0) {
        size_t room = 0;
        for (const auto& slice : ranges[p]) room += static_cast<size_t>(slice.end - slice.begin);
        entries.reserve(room);
      }
      ForEachMerged(ranges[p], n, [&entries](Key key, int64_t count, uint64_t rank) {
        entries.push_back({key, count, rank});
      });
    });
    out->entries = std::move(merged[0]);
    for (size_t p = 1; p < merged.size(); ++p) AppendReleasing(&out->entries, &merged[p]);
    return out;
  }

  std::shared_ptr<CountsTable> LargestFirst(int64_t k) const override {
    using Entry = ngram_internal::Entry<Key>;
    auto better = [](const Entry& a, const Entry& b) {
      return a.count != b.count ? a.count > b.count : a.rank < b.rank;
    };
    std::vector<const Run<Key>*> views;
    for (const auto& run : runs_) views.push_back(run.get());
    const Dictionary<Key> dict(views);
    std::vector<Entry> best;
    if (k > 0 && LargestByThreshold(views, n_, dict, static_cast<size_t>(k), &best)) {
      return TableOf(&best, k, dict);
    }
    const auto ranges = SplitByKey(views, n_, dict, MergeThreads());
    // Each key range keeps its own best k; (count, rank) is a total order (ranks are
    // distinct), so the best k of the union are the same for any split.
    std::vector<std::vector<Entry>> bests(ranges.size());
    if (k != 0) {
      RunParts(ranges.size(), [&](size_t p) {
        auto& best = bests[p];
        if (k < 0) {
          size_t room = 0;
          for (const auto& slice : ranges[p]) room += static_cast<size_t>(slice.end - slice.begin);
          best.reserve(room);
          ForEachMerged(ranges[p], n_, [&best](Key key, int64_t count, uint64_t rank) {
            best.push_back({key, count, rank});
          });
          return;
        }
        // A heap whose front is the worst of the best k so far.
        const auto limit = static_cast<size_t>(k);
        ForEachMerged(ranges[p], n_, [&](Key key, int64_t count, uint64_t rank) {
          const Entry e{key, count, rank};
          if (best.size() < limit) {
            best.push_back(e);
            std::push_heap(best.begin(), best.end(), better);
          } else if (better(e, best.front())) {
            std::pop_heap(best.begin(), best.end(), better);
            best.back() = e;
            std::push_heap(best.begin(), best.end(), better);
          }
        });
      });
    }
    best = std::move(bests[0]);
    for (size_t p = 1; p < bests.size(); ++p) {
      best.insert(best.end(), bests[p].begin(), bests[p].end());
      bests[p] = {};
    }
    return TableOf(&best, k, dict);
  }

  // The best k (all if k < 0) of `best`, largest first, as joined strings.
  std::shared_ptr<CountsTable> TableOf(std::vector<Entry<Key>>* best, int64_t k,
                                       const Dictionary<Key>& dict) const {
    std::sort(best->begin(), best->end(), [](const Entry<Key>& a, const Entry<Key>& b) {
      return a.count != b.count ? a.count > b.count : a.rank < b.rank;
    });
    if (k >= 0 && best->size() > static_cast<size_t>(k)) best->resize(static_cast<size_t>(k));
    auto table = std::make_shared<CountsTable>();
    std::string joined;
    for (const auto& e : *best) table->Add(Join(e.key, dict.words, &joined), e.count);
    return table;
  }

  void EncodeTo(std::string* out) const override {
    ByteWriter w(out);
    w.Put<int32_t>(n_);
    w.PutString(sep_);
    w.Put<uint32_t>(sizeof(Key));
    w.Put<uint64_t>(runs_.size());
    for (const auto& run : runs_) {
      w.Put<uint64_t>(run->words.size());
      for (const auto& word : run->words) w.PutString(word);
      w.Put<uint64_t>(run->entries.size());
      w.PutBytes(run->entries.data(), run->entries.size() * sizeof(Entry<Key>));
    }
  }

  // The runs after n and sep (see EncodeTo), checked.
  static Result<std::shared_ptr<const NgramCounts>> DecodeRuns(int n, std::string sep,
                                                               ByteReader* in) {
    auto bad = [](const char* what) {
      return Status::Invalid("n-gram counts do not decode: ", what);
    };
    uint64_t runs = 0;
    if (!in->Get(&runs) || !in->Holds(runs, 2 * sizeof(uint64_t))) return bad("cut short");
    std::vector<RunPtr> out;
    for (uint64_t r = 0; r < runs; ++r) {
      auto run = std::make_shared<Run<Key>>();
      uint64_t words = 0;
      if (!in->Get(&words) || !in->Holds(words, sizeof(uint64_t))) return bad("cut short");
      run->words.reserve(words);
      for (uint64_t i = 0; i < words; ++i) {
        std::string_view word;
        if (!in->GetString(&word)) return bad("cut short");
        if (i > 0 && !(run->words.back() < word)) return bad("words out of order");
        run->words.emplace_back(word);
      }
      uint64_t entries = 0;
      if (!in->Get(&entries) || !in->Holds(entries, sizeof(Entry<Key>))) return bad("cut short");
      run->entries.resize(entries);
      if (!in->GetArray(entries, run->entries.data())) return bad("cut short");
      const Key unused = ~LowMask<Key>(kIdBits * n);
      for (uint64_t i = 0; i < entries; ++i) {
        const auto& e = run->entries[i];
        if ((e.key & unused) != 0 || e.count <= 0) return bad("a malformed entry");
        for (int j = 0; j < n; ++j) {
          if (static_cast<uint32_t>(e.key >> (kIdBits * j)) >= words) {
            return bad("a word id past the dictionary");
          }
        }
        if (i > 0 && !(run->entries[i - 1].key < e.key)) return bad("keys out of order");
      }
      out.push_back(std::move(run));
    }
    return std::shared_ptr<const NgramCounts>(
        std::make_shared<NgramCountsImpl<Key>>(n, std::move(sep), std::move(out)));
  }

  std::shared_ptr<CountsTable> ToTable() const override {
    using Entry = ngram_internal::Entry<Key>;
    std::vector<const Run<Key>*> views;
    for (const auto& run : runs_) views.push_back(run.get());
    const Dictionary<Key> dict(views);
    std::vector<Slice<Key>> slices;
    for (size_t r = 0; r < views.size(); ++r) {
      const auto& entries = views[r]->entries;
      slices.push_back({entries.data(), entries.data() + entries.size(), dict.remap[r].data()});
    }
    std::vector<Entry> all;
    all.reserve(entries());
    ForEachMerged(slices, n_, [&all](Key key, int64_t count, uint64_t rank) {
      all.push_back({key, count, rank});
    });
    std::sort(all.begin(), all.end(),
              [](const Entry& a, const Entry& b) { return a.rank < b.rank; });
    auto table = std::make_shared<CountsTable>();
    std::string joined;
    for (const auto& e : all) table->Add(Join(e.key, dict.words, &joined), e.count);
    return table;
  }

 private:
  std::string_view Join(Key key, const std::vector<std::string_view>& words,
                        std::string* out) const {
    out->clear();
    for (int j = n_ - 1; j >= 0; --j) {
      if (j != n_ - 1) out->append(sep_);
      out->append(words[static_cast<uint32_t>(key >> (kIdBits * j))]);
    }
    return *out;
  }

  std::vector<RunPtr> runs_;
};

// LSD radix sort by bits [low, low + bits) of each element (bits above them must be zero);
// stable, so elements equal there keep their order. The digit counts of all passes are
// taken in one pass, Count, which the caller makes while it writes the elements.
template <typename Elem>
class RadixSorter {
 public:
  RadixSorter(int low, int bits)
      : low_(low), passes_((bits + kDigit - 1) / kDigit), counts_(passes_ << kDigit) {}

  void Count(Elem e) {
    for (int p = 0; p < passes_; ++p) {
      ++counts_[(static_cast<size_t>(p) << kDigit) + Digit(e, p)];
    }
  }

  /// Sorts `a`, whose every element went through Count.
  void Sort(std::vector<Elem>* a) {
    const size_t size = a->size();
    auto spare = std::make_unique_for_overwrite<Elem[]>(size);
    Elem* from = a->data();
    Elem* to = spare.get();
    for (int p = 0; p < passes_; ++p) {
      size_t* offsets = counts_.data() + (static_cast<size_t>(p) << kDigit);
      if (std::find(offsets, offsets + kBuckets, size) != offsets + kBuckets) continue;
      size_t sum = 0;
      for (size_t d = 0; d < kBuckets; ++d) {
        const size_t c = offsets[d];
        offsets[d] = sum;
        sum += c;
      }
      for (size_t i = 0; i < size; ++i) to[offsets[Digit(from[i], p)]++] = from[i];
      std::swap(from, to);
    }
    if (from != a->data()) std::copy(from, from + size, a->data());
  }

 private:
  static constexpr int kDigit = 11;
  static constexpr size_t kBuckets = size_t{1} << kDigit;
  size_t Digit(Elem e, int p) const {
    return static_cast<size_t>(e >> (low_ + kDigit * p)) & (kBuckets - 1);
  }
  int low_;
  int passes_;
  std::vector<size_t> counts_;
};

template <typename Key>
class NgramCounterImpl final : public NgramCounter {
 public:
  NgramCounterImpl(int n, std::string sep, int64_t partition)
      : n_(n), sep_(std::move(sep)), partition_(partition), mask_(LowMask<Key>(kIdBits * n)) {}

  void FeedText(std::string_view text) override {
    // Room for the most n-grams the text can hold (a word and a space each): reserved
    // address space only, pages are touched as n-grams arrive.
    grams_.reserve(grams_.size() + text.size() / 2 + 1);
    Key window = 0;
    int filled = 0;
    ForEachToken(
        text,
        [&](std::string_view token) {
          window = ((window << kIdBits) | static_cast<Key>(words_.Add(token))) & mask_;
          if (++filled >= n_) grams_.push_back(window);
        },
        [&filled] { filled = 0; });
  }

  Result<std::shared_ptr<const NgramCounts>> Finish() override {
    const uint64_t count = grams_.size();
    if (count >> kPositionBits) {
      return Status::Invalid("ngrams: a partition has more than 2^40 n-grams; use a smaller "
                             "blocksize");
    }
    // The dictionary in sorted order, and local ids (first seen) -> sorted ids.
    std::vector<uint32_t> order(words_.size());
    for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(),
              [this](uint32_t a, uint32_t b) { return words_.word(a) < words_.word(b); });
    std::vector<uint32_t> remap(order.size());
    auto run = std::make_shared<Run<Key>>();
    run->words.reserve(order.size());
    for (uint32_t i = 0; i < order.size(); ++i) {
      remap[order[i]] = i;
      run->words.emplace_back(words_.word(order[i]));
    }
    words_ = WordIds();
    const int id_bits = BitsFor(order.size());
    const int position_bits = BitsFor(count);
    const int key_bits = id_bits * n_;
    // Sort (key, position) packed into one integer, key high, so that equal keys come
    // together with their first occurrence first.
    if (key_bits + position_bits <= 64) {
      Collect<uint64_t>(remap, id_bits, position_bits, run.get());
    } else if (key_bits + position_bits <= 128) {
      Collect<u128>(remap, id_bits, position_bits, run.get());
    } else {
      return Status::Invalid("ngrams: too many distinct words in one partition; use a "
                             "smaller blocksize");
    }
    using Impl = NgramCountsImpl<Key>;
    return std::shared_ptr<const NgramCounts>(
        std::make_shared<Impl>(n_, sep_, std::vector<typename Impl::RunPtr>{std::move(run)}));
  }

 private:
  template <typename Elem>
  void Collect(const std::vector<uint32_t>& remap, int id_bits, int position_bits,
               Run<Key>* run) {
    auto pack = [&](Key gram, size_t i) {
      Elem key = 0;
      for (int j = n_ - 1; j >= 0; --j) {
        key = (key << id_bits) | remap[static_cast<uint32_t>(gram >> (kIdBits * j))];
      }
      return (key << position_bits) | i;
    };
    RadixSorter<Elem> sorter(position_bits, id_bits * n_);
    std::vector<Elem> packed;
    if constexpr (std::is_same_v<Elem, Key>) {  // in place: no second array
      for (size_t i = 0; i < grams_.size(); ++i) {
        grams_[i] = pack(grams_[i], i);
        sorter.Count(grams_[i]);
      }
      packed.swap(grams_);
    } else {
      packed.resize(grams_.size());
      for (size_t i = 0; i < grams_.size(); ++i) {
        packed[i] = pack(grams_[i], i);
        sorter.Count(packed[i]);
      }
      grams_ = std::vector<Key>();
    }
    sorter.Sort(&packed);
    // Room for one entry per occurrence: address space, of which only the pages the
    // distinct entries fill become resident (saves a pass counting them).
    run->entries.reserve(packed.size());
    const Elem id_mask = LowMask<Elem>(id_bits);
    const uint64_t rank_base = static_cast<uint64_t>(partition_) << kPositionBits;
    for (size_t i = 0; i < packed.size();) {
      const Elem key = packed[i] >> position_bits;
      size_t j = i + 1;
      while (j < packed.size() && (packed[j] >> position_bits) == key) ++j;
      Key out = 0;
      for (int w = n_ - 1; w >= 0; --w) {
        out = (out << kIdBits) | static_cast<Key>((key >> (id_bits * w)) & id_mask);
      }
      run->entries.push_back(
          {out, static_cast<int64_t>(j - i),
           rank_base | static_cast<uint64_t>(packed[i] & LowMask<Elem>(position_bits))});
      i = j;
    }
  }

  int n_;
  std::string sep_;
  int64_t partition_;
  Key mask_;
  WordIds words_;           // local ids, in order of first occurrence
  std::vector<Key> grams_;  // each occurrence: local ids, 32 bits each
};

// Runs of `parts` (all NgramCountsImpl<Key>), or nullptr if a part has another key type.
template <typename Key>
bool RunsOf(std::span<const NgramCounts* const> parts,
            std::vector<typename NgramCountsImpl<Key>::RunPtr>* runs) {
  for (const auto* part : parts) {
    auto* impl = dynamic_cast<const NgramCountsImpl<Key>*>(part);
    if (impl == nullptr) return false;
    runs->insert(runs->end(), impl->runs().begin(), impl->runs().end());
  }
  return true;
}

template <typename Key>
Result<std::shared_ptr<const NgramCounts>> Combine(std::span<const NgramCounts* const> parts,
                                                   bool merge) {
  std::vector<typename NgramCountsImpl<Key>::RunPtr> runs;
  if (!RunsOf<Key>(parts, &runs)) return Status::Invalid("ngram counts of different n");
  const int n = parts[0]->n();
  if (merge && runs.size() > 1) runs = {NgramCountsImpl<Key>::MergeRuns(runs, n)};
  return std::shared_ptr<const NgramCounts>(
      std::make_shared<NgramCountsImpl<Key>>(n, parts[0]->sep(), std::move(runs)));
}

Result<std::shared_ptr<const NgramCounts>> CombineAny(std::span<const NgramCounts* const> parts,
                                                      bool merge) {
  if (parts.empty()) return Status::Invalid("no ngram counts to merge");
  for (const auto* part : parts) {
    if (part->n() != parts[0]->n() || part->sep() != parts[0]->sep()) {
      return Status::Invalid("ngram counts of different n or sep cannot be merged");
    }
  }
  return parts[0]->n() <= 2 ? Combine<uint64_t>(parts, merge) : Combine<u128>(parts, merge);
}

}  // namespace

bool NgramsCountableAsIds(int n, std::string_view sep) {
  if (n < 1 || n > kMaxIdNgram) return false;
  if (n == 1) return true;
  if (sep.empty() || FindInvalidUtf8(sep) >= 0) return false;
  for (size_t i = 0; i < sep.size();) {
    const int length = SpaceLengthAt(sep, i);
    if (length == 0) return false;
    i += static_cast<size_t>(length);
  }
  return true;
}

Result<std::shared_ptr<const NgramCounts>> NgramCounts::Decode(std::string_view bytes) {
  ByteReader in(bytes);
  int32_t n = 0;
  std::string_view sep;
  uint32_t key_size = 0;
  if (!in.Get(&n) || !in.GetString(&sep) || !in.Get(&key_size)) {
    return Status::Invalid("n-gram counts do not decode: cut short");
  }
  if (n < 1 || n > kMaxIdNgram) return Status::Invalid("n-gram counts do not decode: bad n");
  const bool wide = n > 2;
  if (key_size != (wide ? sizeof(u128) : sizeof(uint64_t))) {
    return Status::Invalid("n-gram counts do not decode: another key size");
  }
  auto decoded = wide ? NgramCountsImpl<u128>::DecodeRuns(n, std::string(sep), &in)
                      : NgramCountsImpl<uint64_t>::DecodeRuns(n, std::string(sep), &in);
  if (decoded.ok() && !in.AtEnd()) {
    return Status::Invalid("n-gram counts do not decode: bytes past the end");
  }
  return decoded;
}

Result<std::shared_ptr<const NgramCounts>> NgramCounts::Merge(
    std::span<const NgramCounts* const> parts) {
  return CombineAny(parts, true);
}

Result<std::shared_ptr<const NgramCounts>> NgramCounts::Concat(
    std::span<const std::shared_ptr<const NgramCounts>> parts) {
  std::vector<const NgramCounts*> views;
  for (const auto& part : parts) views.push_back(part.get());
  return CombineAny(views, false);
}

std::unique_ptr<NgramCounter> NgramCounter::Make(int n, std::string sep, int64_t partition) {
  if (n <= 2) return std::make_unique<NgramCounterImpl<uint64_t>>(n, std::move(sep), partition);
  return std::make_unique<NgramCounterImpl<u128>>(n, std::move(sep), partition);
}

int64_t CountNgrams(std::string_view text, int n) {
  int64_t total = 0, in_line = 0;
  auto end_line = [&] {
    total += std::max<int64_t>(0, in_line - n + 1);
    in_line = 0;
  };
  ForEachToken(text, [&in_line](std::string_view) { ++in_line; }, end_line);
  end_line();
  return total;
}

}  // namespace cairn::text
