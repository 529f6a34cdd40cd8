#include "cairn/text/pipeline.h"

#include <arrow/builder.h>

#include <cstring>

#include "cairn/text/counts.h"
#include "cairn/text/ngram_counts.h"
#include "cairn/text/utf8.h"
#include "tokens.h"

namespace cairn::text {
namespace {

std::string_view Strip(std::string_view s) {
  size_t begin = 0;
  while (begin < s.size()) {
    int n = SpaceLengthAt(s, begin);
    if (n == 0) break;
    begin += n;
  }
  size_t end = s.size();
  while (end > begin) {
    size_t start = end - 1;
    while (start > begin && (static_cast<uint8_t>(s[start]) & 0xC0) == 0x80) --start;
    if (SpaceLengthAt(s, start) == 0) break;
    end = start;
  }
  return s.substr(begin, end - begin);
}

// For steps [lower|upper|strip]* split ngrams(n) flatten (filter(bool) anywhere: it drops
// nothing there), the case steps to apply to the text and the ngrams step; else nullptr.
const TextOp* MatchNgramSteps(const std::vector<TextOp>& ops, std::vector<TextOp::Kind>* cases) {
  using Kind = TextOp::Kind;
  std::vector<Kind> kinds;
  const TextOp* ngrams = nullptr;
  for (const auto& op : ops) {
    if (op.kind == Kind::kNonEmpty) continue;
    if (op.kind == Kind::kNgrams) ngrams = &op;
    kinds.push_back(op.kind);
  }
  const size_t k = kinds.size();
  if (k < 3 || kinds[k - 3] != Kind::kSplit || kinds[k - 2] != Kind::kNgrams ||
      kinds[k - 1] != Kind::kFlatten) {
    return nullptr;
  }
  cases->clear();
  for (size_t i = 0; i + 3 < k; ++i) {
    if (kinds[i] == Kind::kLower || kinds[i] == Kind::kUpper) {
      cases->push_back(kinds[i]);
    } else if (kinds[i] != Kind::kStrip) {
      return nullptr;  // strip does not change the words
    }
  }
  return ngrams;
}

void Split(std::string_view s, std::vector<std::string_view>* out) {
  out->clear();
  ForEachToken(s, [out](std::string_view token) { out->push_back(token); });
}

}  // namespace

std::string TextDecodeDetail::ToString() const {
  return path + ": invalid utf-8 at byte offset " + std::to_string(offset);
}

Status ValidatePipeline(const std::vector<TextOp>& ops, SinkKind sink) {
  bool is_list = false;
  for (size_t i = 0; i < ops.size(); ++i) {
    switch (ops[i].kind) {
      case TextOp::Kind::kLower:
      case TextOp::Kind::kUpper:
      case TextOp::Kind::kStrip:
        if (is_list) return Status::Invalid("step ", i, ": a string method applied to lists");
        break;
      case TextOp::Kind::kSplit:
        if (is_list) return Status::Invalid("step ", i, ": split applied to lists");
        is_list = true;
        break;
      case TextOp::Kind::kFlatten:
        if (!is_list) return Status::Invalid("step ", i, ": flatten of strings is not native");
        is_list = false;
        break;
      case TextOp::Kind::kNgrams:
        if (!is_list) return Status::Invalid("step ", i, ": ngrams needs lists of strings");
        if (ops[i].n < 1) return Status::Invalid("ngrams: n must be at least 1");
        break;
      case TextOp::Kind::kNonEmpty:
        break;
    }
  }
  if (is_list && (sink == SinkKind::kFrequencies || sink == SinkKind::kDistinct)) {
    return Status::TypeError("unhashable type: 'list' (frequencies/distinct of lists)");
  }
  return Status::OK();
}

struct PipelineRunner::State {
  std::vector<TextOp> ops;
  SinkKind sink;
  std::vector<std::string> scratch;                   // per step: transformed string
  std::vector<std::vector<std::string_view>> lists;  // per step: list items
  std::vector<std::vector<std::string>> owned;        // per step: n-gram strings
  bool ends_in_list = false;
  int64_t count = 0;
  std::shared_ptr<CountsValue> counts;
  std::shared_ptr<CountsTable> table;
  // 64-bit offsets: one line, or one partition's lines, may pass 2 GiB.
  arrow::LargeStringBuilder strings;
  std::unique_ptr<arrow::LargeListBuilder> list_builder;
  arrow::LargeStringBuilder* list_values = nullptr;
  Status error;
  // Steps are [lower|upper]? split flatten and the sink counts: words of whole texts.
  bool words_fast_path = false;
  std::vector<TextOp::Kind> word_cases;  // kLower/kUpper when the fast path folds case
  std::string case_buffer;
  // Steps end in split ngrams(n) flatten and the sink counts: n-grams counted as word-id
  // tuples over whole texts (ngram_n > 0), after the case steps `ngram_cases`.
  int ngram_n = 0;
  std::vector<TextOp::Kind> ngram_cases;
  std::unique_ptr<NgramCounter> ngram_counter;  // frequencies/distinct
  std::string case_buffer2;

  // `text` with the case steps applied in order. Case mapping never turns whitespace into
  // non-whitespace or back, and Greek final sigma looks no further than a line ending, so
  // mapping the whole text first is exact.
  std::string_view ApplyCases(std::string_view text, const std::vector<TextOp::Kind>& cases);
  void CountNgramsOf(std::string_view text);

  void ProcessString(std::string_view s, size_t step);
  void ProcessList(const std::vector<std::string_view>& items, size_t step);
  void SinkString(std::string_view s);
  void SinkList(const std::vector<std::string_view>& items);
};

PipelineRunner::PipelineRunner(std::vector<TextOp> ops, SinkKind sink, int64_t partition)
    : state_(std::make_unique<State>()) {
  State& st = *state_;
  st.ops = std::move(ops);
  st.sink = sink;
  st.scratch.resize(st.ops.size());
  st.lists.resize(st.ops.size());
  st.owned.resize(st.ops.size());
  for (const auto& op : st.ops) {
    if (op.kind == TextOp::Kind::kSplit) st.ends_in_list = true;
    if (op.kind == TextOp::Kind::kFlatten) st.ends_in_list = false;
  }
  if (sink == SinkKind::kFrequencies || sink == SinkKind::kDistinct) {
    st.counts = std::make_shared<CountsValue>();
    st.counts->keys_only = sink == SinkKind::kDistinct;
    st.table = std::make_shared<CountsTable>();
    st.counts->table = st.table;
  }
  {
    const auto& o = st.ops;
    size_t first = 0;
    if (!o.empty() && (o[0].kind == TextOp::Kind::kLower || o[0].kind == TextOp::Kind::kUpper)) {
      st.word_cases = {o[0].kind};
      first = 1;
    }
    st.words_fast_path = sink != SinkKind::kCollect && o.size() == first + 2 &&
                         o[first].kind == TextOp::Kind::kSplit &&
                         o[first + 1].kind == TextOp::Kind::kFlatten;
  }
  if (sink != SinkKind::kCollect) {
    const TextOp* ngrams = MatchNgramSteps(st.ops, &st.ngram_cases);
    if (ngrams != nullptr && ngrams->n <= kMaxIdNgram &&
        (sink == SinkKind::kCount || NgramsCountableAsIds(ngrams->n, ngrams->sep))) {
      st.ngram_n = ngrams->n;
      if (sink != SinkKind::kCount) {
        st.ngram_counter = NgramCounter::Make(ngrams->n, ngrams->sep, partition);
      }
    }
  }
  if (sink == SinkKind::kCollect && st.ends_in_list) {
    auto values = std::make_shared<arrow::LargeStringBuilder>();
    st.list_values = values.get();
    st.list_builder =
        std::make_unique<arrow::LargeListBuilder>(arrow::default_memory_pool(), values);
  }
}

PipelineRunner::~PipelineRunner() = default;

void PipelineRunner::Add(std::string_view element) {
  if (state_->ngram_n > 0) return state_->CountNgramsOf(element);
  state_->ProcessString(element, 0);
}

std::string_view PipelineRunner::State::ApplyCases(std::string_view text,
                                                   const std::vector<TextOp::Kind>& cases) {
  for (size_t i = 0; i < cases.size(); ++i) {
    std::string& out = i % 2 == 0 ? case_buffer : case_buffer2;
    out.clear();
    if (cases[i] == TextOp::Kind::kLower) {
      AppendLower(text, &out);
    } else {
      AppendUpper(text, &out);
    }
    text = out;
  }
  return text;
}

void PipelineRunner::State::CountNgramsOf(std::string_view text) {
  text = ApplyCases(text, ngram_cases);
  if (ngram_counter != nullptr) {
    ngram_counter->FeedText(text);
  } else {
    count += CountNgrams(text, ngram_n);
  }
}

void PipelineRunner::FeedText(std::string_view text) {
  State& st = *state_;
  if (st.ngram_n > 0) return st.CountNgramsOf(text);
  if (!st.words_fast_path) return FeedLines(text, this);
  text = st.ApplyCases(text, st.word_cases);
  if (st.sink == SinkKind::kCount) {
    int64_t n = 0;
    ForEachToken(text, [&n](std::string_view) { ++n; });
    st.count += n;
  } else {
    CountsTable& table = *st.table;
    ForEachToken(text, [&table](std::string_view token) { table.Add(token); });
  }
}

void PipelineRunner::State::SinkString(std::string_view s) {
  switch (sink) {
    case SinkKind::kCount: ++count; break;
    case SinkKind::kFrequencies:
    case SinkKind::kDistinct: table->Add(s); break;
    case SinkKind::kCollect:
      if (error.ok()) error = strings.Append(s.data(), static_cast<int64_t>(s.size()));
      break;
  }
}

void PipelineRunner::State::SinkList(const std::vector<std::string_view>& items) {
  if (sink == SinkKind::kCount) {
    ++count;
    return;
  }
  if (!error.ok()) return;
  error = list_builder->Append();
  for (auto item : items) {
    if (!error.ok()) return;
    error = list_values->Append(item.data(), static_cast<int64_t>(item.size()));
  }
}

void PipelineRunner::State::ProcessString(std::string_view s, size_t step) {
  if (step == ops.size()) return SinkString(s);
  const TextOp& op = ops[step];
  switch (op.kind) {
    case TextOp::Kind::kLower:
    case TextOp::Kind::kUpper: {
      std::string& buf = scratch[step];
      buf.clear();
      if (op.kind == TextOp::Kind::kLower) {
        AppendLower(s, &buf);
      } else {
        AppendUpper(s, &buf);
      }
      return ProcessString(buf, step + 1);
    }
    case TextOp::Kind::kStrip: return ProcessString(Strip(s), step + 1);
    case TextOp::Kind::kSplit: {
      if (step + 1 < ops.size() && ops[step + 1].kind == TextOp::Kind::kFlatten) {
        // split + flatten: feed tokens straight on, no intermediate list
        ForEachToken(s, [this, step](std::string_view token) { ProcessString(token, step + 2); });
        return;
      }
      auto& items = lists[step];
      Split(s, &items);
      return ProcessList(items, step + 1);
    }
    case TextOp::Kind::kNonEmpty:
      if (!s.empty()) ProcessString(s, step + 1);
      return;
    case TextOp::Kind::kFlatten:
    case TextOp::Kind::kNgrams:
      return;  // rejected by ValidatePipeline
  }
}

void PipelineRunner::State::ProcessList(const std::vector<std::string_view>& items, size_t step) {
  if (step == ops.size()) return SinkList(items);
  const TextOp& op = ops[step];
  switch (op.kind) {
    case TextOp::Kind::kFlatten:
      for (auto item : items) ProcessString(item, step + 1);
      return;
    case TextOp::Kind::kNonEmpty:
      if (!items.empty()) ProcessList(items, step + 1);
      return;
    case TextOp::Kind::kNgrams: {
      const size_t n = static_cast<size_t>(op.n);
      if (step + 1 < ops.size() && ops[step + 1].kind == TextOp::Kind::kFlatten) {
        // ngrams + flatten: build each n-gram in one reused buffer and feed it on
        std::string& gram = scratch[step];
        for (size_t i = 0; i + n <= items.size(); ++i) {
          gram.assign(items[i]);
          for (size_t j = 1; j < n; ++j) {
            gram += op.sep;
            gram += items[i + j];
          }
          ProcessString(gram, step + 2);
        }
        return;
      }
      auto& grams = owned[step];
      auto& views = lists[step];
      grams.clear();
      views.clear();
      for (size_t i = 0; i + n <= items.size(); ++i) {
        std::string gram(items[i]);
        for (size_t j = 1; j < n; ++j) {
          gram += op.sep;
          gram += items[i + j];
        }
        grams.push_back(std::move(gram));
      }
      for (const auto& g : grams) views.push_back(g);
      return ProcessList(views, step + 1);
    }
    default:
      return;  // rejected by ValidatePipeline
  }
}

Result<ValuePtr> PipelineRunner::Finish() {
  State& st = *state_;
  CAIRN_RETURN_NOT_OK(st.error);
  switch (st.sink) {
    case SinkKind::kCount: return MakeValue<int64_t>(st.count);
    case SinkKind::kFrequencies:
    case SinkKind::kDistinct:
      if (st.ngram_counter != nullptr) {
        CAIRN_ASSIGN_OR_RAISE(st.counts->ngrams, st.ngram_counter->Finish());
        st.counts->table = nullptr;
      }
      return std::static_pointer_cast<Value>(st.counts);
    case SinkKind::kCollect: {
      std::shared_ptr<arrow::Array> array;
      if (st.ends_in_list) {
        CAIRN_RETURN_NOT_OK(st.list_builder->Finish(&array));
      } else {
        CAIRN_RETURN_NOT_OK(st.strings.Finish(&array));
      }
      return std::static_pointer_cast<Value>(std::make_shared<StringsValue>(std::move(array)));
    }
  }
  return Status::Invalid("unknown sink");
}

void FeedLines(std::string_view text, PipelineRunner* runner) {
  const char* data = text.data();
  const size_t n = text.size();
  const bool has_cr = std::memchr(data, '\r', n) != nullptr;
  size_t start = 0;
  if (!has_cr) {
    while (start < n) {
      const void* nl = std::memchr(data + start, '\n', n - start);
      if (nl == nullptr) {
        runner->Add(text.substr(start));
        return;
      }
      size_t end = static_cast<const char*>(nl) - data + 1;  // keep "\n"
      runner->Add(text.substr(start, end - start));
      start = end;
    }
    return;
  }
  std::string line;
  while (start < n) {
    size_t i = start;
    while (i < n && data[i] != '\n' && data[i] != '\r') ++i;
    if (i == n) {
      runner->Add(text.substr(start));
      return;
    }
    if (data[i] == '\n') {
      runner->Add(text.substr(start, i + 1 - start));
      start = i + 1;
      continue;
    }
    line.assign(data + start, i - start);
    line.push_back('\n');
    runner->Add(line);
    start = (i + 1 < n && data[i + 1] == '\n') ? i + 2 : i + 1;
  }
}

}  // namespace cairn::text
