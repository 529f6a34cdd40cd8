#include "cairn/text/kernels.h"

#include "cairn/io/file_io.h"
#include "cairn/io/text_block.h"
#include "cairn/text/counts.h"
#include "cairn/text/ngram_counts.h"
#include "cairn/text/utf8.h"

namespace cairn::text {
namespace {

class TextScanBody final : public TaskBody {
 public:
  TextScanBody(std::vector<TextSegment> segments, bool replace_errors, std::vector<TextOp> ops,
               SinkKind sink, int64_t partition)
      : segments_(std::move(segments)),
        replace_errors_(replace_errors),
        ops_(std::move(ops)),
        sink_(sink),
        partition_(partition) {}

  Result<ValuePtr> Run(std::span<const ValuePtr>) override {
    PipelineRunner runner(ops_, sink_, partition_);
    std::string repaired;
    for (const auto& segment : segments_) {
      CAIRN_ASSIGN_OR_RAISE(auto resolved, io::ResolvePath(segment.path, segment.s3));
      CAIRN_ASSIGN_OR_RAISE(auto block,
                            io::ReadTextBlock(*resolved.first, resolved.second, segment.offset,
                                              segment.size, segment.codec, segment.listed_size));
      std::string_view text(reinterpret_cast<const char*>(block.data->data()),
                            static_cast<size_t>(block.data->size()));
      int64_t bad = FindInvalidUtf8(text);
      if (bad >= 0) {
        if (!replace_errors_) {
          std::string bytes(text.substr(static_cast<size_t>(bad), 4));
          return Status(
              arrow::StatusCode::Invalid,
              segment.path + ": invalid utf-8 at byte offset " + std::to_string(block.start + bad),
              std::make_shared<TextDecodeDetail>(segment.path, block.start + bad,
                                                 std::move(bytes)));
        }
        repaired.clear();
        AppendReplacingInvalid(text, &repaired);
        text = repaired;
      }
      runner.FeedText(text);
    }
    return runner.Finish();
  }
  std::string Label() const override { return "read_text"; }

 private:
  std::vector<TextSegment> segments_;
  bool replace_errors_;
  std::vector<TextOp> ops_;
  SinkKind sink_;
  int64_t partition_;
};

class MergeCountsBody final : public TaskBody {
 public:
  explicit MergeCountsBody(bool concat) : concat_(concat) {}
  Result<ValuePtr> Run(std::span<const ValuePtr> inputs) override {
    auto out = std::make_shared<CountsValue>();
    std::vector<const CountsValue*> counts;
    bool all_ngrams = true;
    for (const auto& input : inputs) {
      auto* c = dynamic_cast<const CountsValue*>(input.get());
      if (c == nullptr) return Status::TypeError("merge_counts: input is not a counts table");
      counts.push_back(c);
      all_ngrams = all_ngrams && c->ngrams != nullptr;
    }
    if (!counts.empty()) out->keys_only = counts[0]->keys_only;
    if (all_ngrams && !counts.empty()) {
      std::vector<std::shared_ptr<const NgramCounts>> parts;
      for (const auto* c : counts) parts.push_back(c->ngrams);
      if (concat_) {
        CAIRN_ASSIGN_OR_RAISE(out->ngrams, NgramCounts::Concat(parts));
      } else {
        std::vector<const NgramCounts*> views;
        for (const auto& p : parts) views.push_back(p.get());
        CAIRN_ASSIGN_OR_RAISE(out->ngrams, NgramCounts::Merge(views));
      }
      return std::static_pointer_cast<Value>(out);
    }
    // Strings (n-gram counts among them as their strings: both keep first-occurrence order).
    auto table = std::make_shared<CountsTable>();
    for (const auto* c : counts) table->Merge(*c->Table());
    out->table = std::move(table);
    return std::static_pointer_cast<Value>(out);
  }
  std::string Label() const override { return "merge_counts"; }

 private:
  bool concat_;
};

class SumInt64Body final : public TaskBody {
 public:
  Result<ValuePtr> Run(std::span<const ValuePtr> inputs) override {
    int64_t total = 0;
    for (const auto& input : inputs) {
      const int64_t* v = ValueAs<int64_t>(input);
      if (v == nullptr) return Status::TypeError("sum_int64: input is not an int64");
      total += *v;
    }
    return MakeValue<int64_t>(total);
  }
  std::string Label() const override { return "sum"; }
};

class LargestCountsBody final : public TaskBody {
 public:
  explicit LargestCountsBody(int64_t k) : k_(k) {}
  Result<ValuePtr> Run(std::span<const ValuePtr> inputs) override {
    if (inputs.size() != 1) return Status::Invalid("largest_counts takes one input");
    auto* counts = dynamic_cast<const CountsValue*>(inputs[0].get());
    if (counts == nullptr) return Status::TypeError("largest_counts: input is not a counts table");
    auto out = std::make_shared<CountsValue>();
    out->keys_only = counts->keys_only;
    if (counts->ngrams != nullptr) {  // the largest only, as strings in their order
      out->table = counts->ngrams->LargestFirst(k_);
      return std::static_pointer_cast<Value>(out);
    }
    out->table = counts->Table();  // shared: tables are immutable once made
    out->order = out->table->LargestFirst(k_);
    out->has_order = true;
    return std::static_pointer_cast<Value>(out);
  }
  std::string Label() const override { return "topk"; }

 private:
  int64_t k_;
};

}  // namespace

std::shared_ptr<TaskBody> MakeTextScan(std::vector<TextSegment> segments, bool replace_errors,
                                       std::vector<TextOp> ops, SinkKind sink,
                                       int64_t partition) {
  return std::make_shared<TextScanBody>(std::move(segments), replace_errors, std::move(ops), sink,
                                        partition);
}
std::shared_ptr<TaskBody> MakeMergeCounts(bool concat) {
  return std::make_shared<MergeCountsBody>(concat);
}
std::shared_ptr<TaskBody> MakeSumInt64() { return std::make_shared<SumInt64Body>(); }
std::shared_ptr<TaskBody> MakeLargestCounts(int64_t k) {
  return std::make_shared<LargestCountsBody>(k);
}

}  // namespace cairn::text
