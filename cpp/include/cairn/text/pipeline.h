// Fused per-partition text processing: lines -> string ops -> split/flatten -> a sink,
// in one pass with no per-element allocation beyond the result.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <arrow/array.h>
#include <arrow/status.h>

#include "cairn/common/status.h"
#include "cairn/common/value.h"

namespace cairn::text {

/// One element-wise step, with the semantics of the Python operation it replaces.
struct TextOp {
  enum class Kind {
    kLower,     // str.lower()
    kUpper,     // str.upper()
    kStrip,     // str.strip()
    kSplit,     // str.split()  (string -> list of strings)
    kFlatten,   // Bag.flatten() of lists (list -> its items as elements)
    kNgrams,    // Bag.ngrams(n, sep) (list -> list of joined n-grams)
    kNonEmpty,  // Bag.filter(bool)  (drops "" and [])
  };
  Kind kind;
  int n = 0;        // kNgrams
  std::string sep;  // kNgrams
};

/// What a pipeline produces for its partition.
enum class SinkKind {
  kCollect,      // the elements: StringsValue (strings, or lists of strings)
  kCount,        // number of elements: BoxedValue<int64_t>
  kFrequencies,  // CountsValue of (element, count)
  kDistinct,     // CountsValue, keys only
};

/// Elements as Arrow arrays with 64-bit offsets: a LargeStringArray, or a LargeListArray of
/// large strings after a split (a line, or a partition's text, may pass 2 GiB).
class StringsValue final : public Value {
 public:
  explicit StringsValue(std::shared_ptr<arrow::Array> array) : array(std::move(array)) {}
  std::shared_ptr<arrow::Array> array;
};

/// Checks that `ops` type-check (string ops on strings, flatten/ngrams on lists) and that
/// the sink suits the final element type. Errors: Invalid naming the offending step.
Status ValidatePipeline(const std::vector<TextOp>& ops, SinkKind sink);

/// Runs `ops` over elements fed one by one and builds the sink's value. Not thread-safe;
/// one per task.
class PipelineRunner {
 public:
  /// `partition`: the partition's index, which orders first occurrences across partitions
  /// (n-gram counts keep it in their ranks).
  PipelineRunner(std::vector<TextOp> ops, SinkKind sink, int64_t partition = 0);
  ~PipelineRunner();
  /// Feeds one string element (a line, with its "\n" if it had one).
  void Add(std::string_view element);
  /// Feeds decoded text: its lines (as FeedLines does), or, when the steps only split
  /// into words and the sink counts them, the words of the whole text in one tight loop
  /// (every line ending is whitespace, so the words are the same); n-grams of words
  /// (split ngrams flatten) counted likewise as word-id tuples (ngram_counts.h).
  void FeedText(std::string_view text);
  /// The sink's value, or the first error met while building it.
  Result<ValuePtr> Finish();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

/// The details of invalid text, carried in a Status so Python can raise UnicodeDecodeError
/// naming the file and the byte offset.
class TextDecodeDetail final : public arrow::StatusDetail {
 public:
  TextDecodeDetail(std::string path, int64_t offset, std::string bad_bytes)
      : path(std::move(path)), offset(offset), bad_bytes(std::move(bad_bytes)) {}
  const char* type_id() const override { return "cairn::text_decode"; }
  std::string ToString() const override;
  std::string path;
  int64_t offset;
  std::string bad_bytes;
};

/// Splits decoded text into lines the way Python's universal newlines do ("\n", "\r\n" and
/// "\r" end a line and become "\n"; a last line without an ending is kept as is) and feeds
/// them to `runner`.
void FeedLines(std::string_view text, PipelineRunner* runner);

}  // namespace cairn::text
