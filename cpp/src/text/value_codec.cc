#include "cairn/text/value_codec.h"

#include "byte_stream.h"
#include "cairn/text/counts.h"
#include "cairn/text/ngram_counts.h"

namespace cairn::text {
namespace {

// The first byte: what follows.
constexpr char kInt64 = 'I';
constexpr char kTable = 'T';   // a CountsTable of strings
constexpr char kNgrams = 'N';  // n-gram runs (NgramCounts::EncodeTo)

Status Bad(const char* what) { return Status::Invalid("a native value does not decode: ", what); }

void EncodeTable(const CountsTable& table, ByteWriter* w) {
  w->Put<uint64_t>(table.size());
  for (size_t i = 0; i < table.size(); ++i) {
    w->PutString(table.key(i));
    w->Put<int64_t>(table.count(i));
  }
}

Result<std::shared_ptr<CountsTable>> DecodeTable(ByteReader* in) {
  uint64_t size = 0;
  if (!in->Get(&size) || !in->Holds(size, 2 * sizeof(uint64_t))) return Bad("cut short");
  auto table = std::make_shared<CountsTable>();
  for (uint64_t i = 0; i < size; ++i) {
    std::string_view key;
    int64_t count = 0;
    if (!in->GetString(&key) || !in->Get(&count)) return Bad("cut short");
    if (table->Add(key, count) != i) return Bad("a key twice");
  }
  return table;
}

}  // namespace

bool IsEncodable(const ValuePtr& value) {
  return ValueAs<int64_t>(value) != nullptr ||
         dynamic_cast<const CountsValue*>(value.get()) != nullptr;
}

Result<std::string> EncodeValue(const ValuePtr& value) {
  std::string out;
  ByteWriter w(&out);
  if (const int64_t* v = ValueAs<int64_t>(value)) {
    w.Put(kInt64);
    w.Put(*v);
    return out;
  }
  auto* counts = dynamic_cast<const CountsValue*>(value.get());
  if (counts == nullptr) return Status::TypeError("this native value cannot be sent elsewhere");
  w.Put(counts->ngrams != nullptr ? kNgrams : kTable);
  w.Put<uint8_t>(counts->keys_only);
  w.Put<uint8_t>(counts->has_order);
  w.Put<uint64_t>(counts->order.size());
  w.PutBytes(counts->order.data(), counts->order.size() * sizeof(size_t));
  if (counts->ngrams != nullptr) {
    std::string runs;
    counts->ngrams->EncodeTo(&runs);
    w.PutString(runs);
  } else {
    EncodeTable(*counts->table, &w);
  }
  return out;
}

Result<ValuePtr> DecodeValue(std::string_view bytes) {
  ByteReader in(bytes);
  char kind = 0;
  if (!in.Get(&kind)) return Bad("empty");
  if (kind == kInt64) {
    int64_t v = 0;
    if (!in.Get(&v) || !in.AtEnd()) return Bad("cut short");
    return MakeValue(v);
  }
  if (kind != kTable && kind != kNgrams) return Bad("an unknown kind");
  auto out = std::make_shared<CountsValue>();
  uint8_t keys_only = 0, has_order = 0;
  uint64_t order = 0;
  if (!in.Get(&keys_only) || !in.Get(&has_order) || !in.Get(&order) ||
      !in.Holds(order, sizeof(size_t))) {
    return Bad("cut short");
  }
  out->keys_only = keys_only != 0;
  out->has_order = has_order != 0;
  out->order.resize(order);
  if (!in.GetArray(order, out->order.data())) return Bad("cut short");
  size_t entries = 0;
  if (kind == kNgrams) {
    std::string_view runs;
    if (!in.GetString(&runs)) return Bad("cut short");
    CAIRN_ASSIGN_OR_RAISE(out->ngrams, NgramCounts::Decode(runs));
    if (out->has_order) entries = out->Table()->size();  // order indexes the string table
  } else {
    CAIRN_ASSIGN_OR_RAISE(out->table, DecodeTable(&in));
    entries = out->table->size();
  }
  if (!in.AtEnd()) return Bad("bytes past the end");
  for (size_t i : out->order) {
    if (i >= entries) return Bad("an order past the table");
  }
  return ValuePtr(out);
}

}  // namespace cairn::text
