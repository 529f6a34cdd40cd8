// Counting n-grams as tuples of word ids: the table behind native
// `.str.split().ngrams(n).flatten().frequencies()` (and distinct, count).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cairn/common/status.h"
#include "cairn/text/counts.h"

namespace cairn::text {

/// Largest n counted as word-id tuples; longer n-grams take the string path.
constexpr int kMaxIdNgram = 4;

/// True when n-grams of `n` words joined by `sep` can be counted as word-id tuples: the
/// joined string must determine the tuple (n == 1, or `sep` non-empty and all whitespace,
/// which no word contains), so tuples and strings have the same distinct keys.
bool NgramsCountableAsIds(int n, std::string_view sep);

/// Counts of distinct n-grams, immutable once built, kept as sorted runs: each run has its
/// own dictionary (sorted, distinct words) and its n-grams as id tuples in sorted order,
/// with a count and a rank (first occurrence: partition << 40 | position in the partition).
/// A value is the sum of its runs; runs are merged by a streaming k-way merge, so merging
/// needs no hash table and memory follows the distinct n-grams, not the occurrences.
/// Ranks keep Dask's order: keys come in order of first occurrence across partitions.
/// Thread-safe for concurrent readers (nothing mutates after construction).
class NgramCounts {
 public:
  virtual ~NgramCounts() = default;
  int n() const { return n_; }
  const std::string& sep() const { return sep_; }
  /// Number of entries over all runs (a key in two runs is counted twice).
  virtual size_t entries() const = 0;
  /// Total number of n-gram occurrences.
  virtual int64_t total() const = 0;

  /// One run holding the sum of all runs of `parts` (same n and sep).
  static Result<std::shared_ptr<const NgramCounts>> Merge(
      std::span<const NgramCounts* const> parts);
  /// The sum of `parts` without merging (runs are shared): for the last step before
  /// LargestFirst or ToTable, which stream the merge themselves.
  static Result<std::shared_ptr<const NgramCounts>> Concat(
      std::span<const std::shared_ptr<const NgramCounts>> parts);

  /// The entries with the largest counts, largest first, equal counts in order of first
  /// occurrence (as CountsTable::LargestFirst); at most k (all if k < 0); as a CountsTable
  /// of joined strings in that order.
  virtual std::shared_ptr<CountsTable> LargestFirst(int64_t k) const = 0;
  /// Every entry as a CountsTable of joined strings, in order of first occurrence.
  virtual std::shared_ptr<CountsTable> ToTable() const = 0;

  /// Appends the runs as bytes (value_codec.h: one cairn build at both ends).
  virtual void EncodeTo(std::string* out) const = 0;
  /// The NgramCounts EncodeTo wrote. Errors: Invalid when the bytes are cut short or break
  /// the runs' invariants (sorted distinct words and keys, ids within the dictionary).
  static Result<std::shared_ptr<const NgramCounts>> Decode(std::string_view bytes);

 protected:
  NgramCounts(int n, std::string sep) : n_(n), sep_(std::move(sep)) {}
  int n_;
  std::string sep_;
};

/// Builds the NgramCounts of one partition from its text. Not thread-safe; one per task.
class NgramCounter {
 public:
  /// `n` in [1, kMaxIdNgram]; `partition` becomes the high bits of the ranks.
  static std::unique_ptr<NgramCounter> Make(int n, std::string sep, int64_t partition);
  virtual ~NgramCounter() = default;
  /// Counts the n-grams of the lines of `text` (universal newlines; whitespace splits words
  /// as str.split() does). Each call starts a new line.
  virtual void FeedText(std::string_view text) = 0;
  /// The counts; the counter is spent. Errors: Invalid if a partition has 2^40 n-grams.
  virtual Result<std::shared_ptr<const NgramCounts>> Finish() = 0;
};

/// Number of n-grams in the lines of `text` (for count()).
int64_t CountNgrams(std::string_view text, int n);

}  // namespace cairn::text
