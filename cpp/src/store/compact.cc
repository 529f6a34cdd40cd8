#include "cairn/store/compact.h"

#include <arrow/util/future.h>
#include <arrow/util/thread_pool.h>

#include <algorithm>
#include <deque>
#include <thread>
#include <unordered_set>

#include "cairn/store/durable_file.h"

namespace cairn::store {
namespace {

constexpr uint64_t kSpan = 8ull << 20;  // entries of a pack are read in spans this size

struct Entry {
  IndexRecord record;  // as it goes into the replacement pack
  std::shared_ptr<arrow::Buffer> stored;
  bool was_deferred = false;
};

// The entries of `span` (records of pack `p`) as the replacement pack stores them: deferred
// payloads compressed at `level`, everything verified first.
Result<std::vector<Entry>> CompactSpan(const ObjectStore& store, uint32_t p,
                                       const std::vector<IndexRecord>& span, int level) {
  CAIRN_ASSIGN_OR_RAISE(auto read, store.ReadStoredSpan(p, span));
  const std::string where = store.PackPath(p);
  std::vector<Entry> out;
  out.reserve(span.size());
  for (size_t i = 0; i < span.size(); ++i) {
    const IndexRecord& r = span[i];
    CAIRN_ASSIGN_OR_RAISE(auto stored, std::move(read[i]));
    CAIRN_ASSIGN_OR_RAISE(auto payload, DecodePayload(r, stored->data(), where));
    CAIRN_RETURN_NOT_OK(VerifyPayload(r, *payload, where));
    Entry e{r, stored, r.codec == Codec::kDeferred};
    if (e.was_deferred) {
      CAIRN_ASSIGN_OR_RAISE(Compressor * compressor, Compressor::ForThisThread(level));
      std::string compressed;
      CAIRN_ASSIGN_OR_RAISE(e.record.codec,
                            compressor->Encode(payload->data(), payload->size(), &compressed));
      if (e.record.codec == Codec::kZstd) {
        e.record.stored_size = static_cast<uint32_t>(compressed.size());
        e.stored = arrow::Buffer::FromString(std::move(compressed));
      }
    }
    out.push_back(std::move(e));
  }
  return out;
}

// True when `id` has a copy outside `pack` that is not deferred (nothing to gain).
bool SettledElsewhere(const ObjectStore& store, const Digest& id, uint32_t pack) {
  for (const auto& copy : store.Find(id)) {
    if (copy.pack != pack && copy.record.codec != Codec::kDeferred) return true;
  }
  return false;
}

struct PackOutcome {
  uint64_t objects = 0, bytes_before = 0, bytes_after = 0;
};

// Writes and registers the replacement of pack `p` (see CompactPacks).
Result<PackOutcome> CompactPack(ObjectStore& store, uint32_t p,
                                const std::vector<IndexRecord>& records, int level,
                                arrow::internal::ThreadPool& pool, const ProgressFn& progress,
                                uint64_t* done) {
  PackOutcome outcome;
  std::vector<IndexRecord> wanted;
  for (const auto& r : records) {
    outcome.bytes_before += kEntryHeaderSize + r.stored_size;
    if (!SettledElsewhere(store, r.id, p)) wanted.push_back(r);
  }
  std::sort(wanted.begin(), wanted.end(),
            [](const IndexRecord& a, const IndexRecord& b) { return a.offset < b.offset; });
  std::vector<std::vector<IndexRecord>> spans;
  for (const auto& r : wanted) {
    if (spans.empty() ||
        r.offset + kEntryHeaderSize + r.stored_size - spans.back().front().offset > kSpan) {
      spans.emplace_back();
    }
    spans.back().push_back(r);
  }
  if (spans.empty()) return outcome;  // every object has a settled copy elsewhere
  CAIRN_ASSIGN_OR_RAISE(auto writer, PackWriter::Create(store.dir(), TempFile::Mode::kDirect));
  std::deque<arrow::Future<std::vector<Entry>>> pending;
  const size_t window = 2 * static_cast<size_t>(pool.GetCapacity());
  size_t next = 0;
  Status failure;
  while (next < spans.size() || !pending.empty()) {
    while (failure.ok() && next < spans.size() && pending.size() < window) {
      auto f = pool.Submit(CompactSpan, std::cref(store), p, spans[next++], level);
      if (!f.ok()) {
        failure = f.status();
        break;
      }
      pending.push_back(*f);
    }
    if (pending.empty()) break;
    auto result = pending.front().result();
    pending.pop_front();
    if (!failure.ok()) continue;  // wait for what is running, then fail
    if (!result.ok()) {
      failure = result.status();
      continue;
    }
    for (const Entry& e : *result) {
      failure = writer->Append(e.record.type, e.record.id, e.record.raw_size, e.record.codec,
                               e.stored->data(), static_cast<size_t>(e.stored->size()));
      if (!failure.ok()) break;
      if (e.was_deferred) {
        *done += e.record.raw_size;
        ++outcome.objects;
      }
    }
    if (failure.ok() && progress && !progress(*done)) {
      failure = Status::Cancelled("compaction cancelled");
    }
  }
  CAIRN_RETURN_NOT_OK(failure);
  CAIRN_ASSIGN_OR_RAISE(auto name, writer->Finish(store.dir()));
  outcome.bytes_after = writer->size();
  store.AddPack(name, writer->records());
  return outcome;
}

}  // namespace

uint64_t DeferredBytes(const ObjectStore& store) {
  uint64_t total = 0;
  for (const auto& records : store.pack_records()) {
    for (const auto& r : records) {
      if (r.codec == Codec::kDeferred) total += r.raw_size;
    }
  }
  return total;
}

Result<CompactStats> CompactPacks(ObjectStore& store, int level, const ProgressFn& progress,
                                  int threads) {
  if (level < 1 || level > 19) {
    return Status::Invalid("compaction level must be 1 to 19 (zstd), not ", level);
  }
  if (store.fs().type_name() != "local") {
    return Status::Invalid("compaction works on the local cache only, not on '", store.dir(), "'");
  }
  CompactStats stats;
  const auto names = store.pack_names();
  const auto all_records = store.pack_records();
  const int n_threads =
      threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  CAIRN_ASSIGN_OR_RAISE(auto pool, arrow::internal::ThreadPool::Make(n_threads));
  uint64_t done = 0;
  for (uint32_t p = 0; p < names.size(); ++p) {
    const auto& records = all_records[p];
    if (std::none_of(records.begin(), records.end(),
                     [](const IndexRecord& r) { return r.codec == Codec::kDeferred; })) {
      continue;
    }
    auto outcome = CompactPack(store, p, records, level, *pool, progress, &done);
    if (!outcome.ok()) {
      if (outcome.status().IsCancelled()) return outcome.status();
      // This pack stays as it is (fsck names what is wrong in it); the others go on.
      stats.problems.push_back(outcome.status().message());
      continue;
    }
    stats.objects += outcome->objects;
    stats.bytes_before += outcome->bytes_before;
    stats.bytes_after += outcome->bytes_after;
    ++stats.packs;
    stats.replaced.push_back(names[p]);
  }
  return stats;
}

Result<uint64_t> DropRedundantPacks(ObjectStore& store, const std::vector<std::string>& names) {
  const std::unordered_set<std::string> candidates(names.begin(), names.end());
  const auto all_names = store.pack_names();
  const auto all_records = store.pack_records();
  std::unordered_set<uint32_t> dropped;
  for (uint32_t p = 0; p < all_names.size(); ++p) {
    if (!candidates.count(all_names[p])) continue;
    bool redundant = true;
    for (const auto& r : all_records[p]) {
      bool elsewhere = false;
      for (const auto& copy : store.Find(r.id)) {
        if (copy.pack != p && !dropped.count(copy.pack)) {
          elsewhere = true;
          break;
        }
      }
      if (!elsewhere) {
        redundant = false;
        break;
      }
    }
    if (!redundant) continue;
    CAIRN_RETURN_NOT_OK(store.DeletePack(p));
    dropped.insert(p);
  }
  if (!dropped.empty()) CAIRN_RETURN_NOT_OK(SyncDirectory(store.dir()));
  return static_cast<uint64_t>(dropped.size());
}

}  // namespace cairn::store
