#include "cairn/store/repair.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "cairn/io/file_io.h"
#include "cairn/store/durable_file.h"
#include "cairn/store/pack.h"

namespace cairn::store {
namespace {

// The entries of `pack` that are complete, in order, up to the first one that is not.
std::vector<IndexRecord> CompleteEntries(std::string_view pack, const std::string& where) {
  std::vector<IndexRecord> records;
  if (pack.substr(0, kPackMagic.size()) != kPackMagic) return records;
  const auto* p = reinterpret_cast<const uint8_t*>(pack.data());
  uint64_t offset = kPackMagic.size();
  while (pack.size() - offset >= kEntryHeaderSize) {
    auto r = DecodeEntryHeader(p + offset, offset, where);
    if (!r.ok() || pack.size() - offset - kEntryHeaderSize < r->stored_size) break;
    offset += kEntryHeaderSize + r->stored_size;
    records.push_back(*r);
  }
  return records;
}

Status Unlink(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return ErrnoError("cannot delete", path, errno);
  return Status::OK();
}

// Copies the entries of `pack` that verify into a new pack of `store`; deletes `base`.idx
// and `base`.pack once the new pack is durable.
Status Salvage(ObjectStore& store, std::string_view pack, const std::string& base,
               PackRepair* out) {
  const std::string where = base + ".pack";
  auto records = CompleteEntries(pack, where);
  std::unique_ptr<PackWriter> writer;
  const auto* bytes = reinterpret_cast<const uint8_t*>(pack.data());
  for (const auto& r : records) {
    const uint8_t* stored = bytes + r.offset + kEntryHeaderSize;
    auto payload = DecodePayload(r, stored, where);
    if (!payload.ok() || !VerifyPayload(r, **payload, where).ok()) continue;
    if (!writer) {
      CAIRN_ASSIGN_OR_RAISE(writer, PackWriter::Create(store.dir()));
    }
    CAIRN_RETURN_NOT_OK(writer->Append(r.type, r.id, r.raw_size, r.codec, stored, r.stored_size));
  }
  const uint64_t kept = writer ? writer->count() : 0;
  out->objects_salvaged += kept;
  if (writer) {
    CAIRN_ASSIGN_OR_RAISE(auto name, writer->Finish(store.dir()));
    store.AddPack(name, writer->records());
  }
  CAIRN_RETURN_NOT_OK(Unlink(base + ".idx"));  // the index first: a pack without one is no part
  CAIRN_RETURN_NOT_OK(Unlink(base + ".pack"));
  ++out->packs_salvaged;
  return Status::OK();
}

Result<std::shared_ptr<arrow::Buffer>> ReadWhole(ObjectStore& store, const std::string& path) {
  return io::ReadFile(store.fs(), path, arrow::Compression::UNCOMPRESSED);
}

std::string_view AsView(const arrow::Buffer& b) {
  return {reinterpret_cast<const char*>(b.data()), static_cast<size_t>(b.size())};
}

}  // namespace

Result<PackRepair> RepairPacks(ObjectStore& store, bool dry_run) {
  PackRepair out;
  if (store.fs().type_name() != "local") {
    return Status::Invalid("'", store.dir(), "' is not a local store: only the cache is repaired");
  }
  // Indexes that did not parse.
  for (const auto& idx : store.damaged_indexes()) {
    const std::string base = idx.substr(0, idx.size() - 4);
    const std::string name = base.substr(base.rfind('/') + 1);
    struct stat st;
    if (::stat((base + ".pack").c_str(), &st) != 0) {
      out.problems.push_back(idx + ": the index is corrupt and its pack is gone");
      if (!dry_run) {
        CAIRN_RETURN_NOT_OK(Unlink(idx));
        ++out.packs_dropped;
      }
      continue;
    }
    out.problems.push_back(idx + ": the index is corrupt");
    if (dry_run) continue;
    CAIRN_ASSIGN_OR_RAISE(auto pack, ReadWhole(store, base + ".pack"));
    auto records = CompleteEntries(AsView(*pack), base + ".pack");
    uint64_t end = kPackMagic.size();
    for (const auto& r : records) end = r.offset + kEntryHeaderSize + r.stored_size;
    std::string index = SerializeIndex(records);
    if (end == static_cast<uint64_t>(pack->size()) &&
        (PackName(index) == name || "pack-" + Sha256::Of(AsView(*pack)).ToHex() == name)) {
      // Exactly the index that was written (its checksum names the pack).
      CAIRN_RETURN_NOT_OK(WriteFileAtomically(idx, index));
      ++out.indexes_rebuilt;
      continue;
    }
    const uint64_t before = out.objects_salvaged;
    CAIRN_RETURN_NOT_OK(Salvage(store, AsView(*pack), base, &out));
    out.objects_lost += records.size() - (out.objects_salvaged - before);
  }
  // Packs that are gone or shorter than their index says.
  auto names = store.pack_names();
  auto records = store.pack_records();
  for (size_t p = 0; p < names.size(); ++p) {
    const std::string base = store.dir() + "/" + names[p];
    uint64_t need = kPackMagic.size();
    for (const auto& r : records[p]) need = std::max(need, r.offset + kEntryHeaderSize + r.stored_size);
    struct stat st;
    const bool gone = ::stat((base + ".pack").c_str(), &st) != 0;
    if (gone && errno != ENOENT) return ErrnoError("cannot read", base + ".pack", errno);
    if (!gone && static_cast<uint64_t>(st.st_size) >= need) continue;
    out.problems.push_back(base + ".pack: " + (gone ? "the pack is gone but its index remains"
                                                    : "the pack is shorter than its index says"));
    if (dry_run) continue;
    if (gone) {
      CAIRN_RETURN_NOT_OK(store.DeletePack(static_cast<uint32_t>(p)));
      out.objects_lost += records[p].size();
      ++out.packs_dropped;
      continue;
    }
    CAIRN_ASSIGN_OR_RAISE(auto pack, ReadWhole(store, base + ".pack"));
    const uint64_t before = out.objects_salvaged;
    CAIRN_RETURN_NOT_OK(Salvage(store, AsView(*pack), base, &out));
    out.objects_lost += records[p].size() - (out.objects_salvaged - before);
  }
  if (!dry_run && !out.problems.empty()) CAIRN_RETURN_NOT_OK(SyncDirectory(store.dir()));
  return out;
}

}  // namespace cairn::store
