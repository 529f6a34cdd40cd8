#include "cairn/store/object_store.h"

#include <unistd.h>

#include <algorithm>
#include <unordered_set>

#include "cairn/io/file_io.h"
#include "cairn/store/durable_file.h"

namespace cairn::store {

Result<std::shared_ptr<ObjectStore>> ObjectStore::Open(std::shared_ptr<arrow::fs::FileSystem> fs,
                                                       std::string dir) {
  std::shared_ptr<ObjectStore> store(new ObjectStore(std::move(fs), std::move(dir)));
  CAIRN_RETURN_NOT_OK(store->Refresh());
  return store;
}

Status ObjectStore::Refresh() {
  arrow::fs::FileSelector selector;
  selector.base_dir = dir_;
  selector.allow_not_found = true;
  auto listed = fs_->GetFileInfo(selector);
  if (!listed.ok()) {
    return Status::IOError("cannot list the store folder '", dir_,
                           "': ", listed.status().message());
  }
  std::vector<std::string> fresh;
  {
    std::shared_lock lock(mutex_);
    for (const auto& info : *listed) {
      const std::string base = info.base_name();
      if (base.size() != 5 + 64 + 4 || base.rfind("pack-", 0) != 0 ||
          base.substr(base.size() - 4) != ".idx") {
        continue;
      }
      std::string name = base.substr(0, base.size() - 4);
      if (!number_of_.count(name)) fresh.push_back(name);
    }
  }
  std::sort(fresh.begin(), fresh.end());
  for (const auto& name : fresh) {
    std::string where = dir_ + "/" + name + ".idx";
    auto data = io::ReadFile(*fs_, where, arrow::Compression::UNCOMPRESSED);
    Result<std::vector<IndexRecord>> records =
        data.ok() ? ParseIndex(std::string_view(reinterpret_cast<const char*>((*data)->data()),
                                                static_cast<size_t>((*data)->size())),
                               where)
                  : Result<std::vector<IndexRecord>>(data.status());
    std::unique_lock lock(mutex_);
    if (number_of_.count(name)) continue;
    auto known = std::find(damaged_.begin(), damaged_.end(), where);
    if (!records.ok()) {
      if (known == damaged_.end()) damaged_.push_back(where);
      continue;
    }
    if (known != damaged_.end()) damaged_.erase(known);  // repaired since
    AddPackLocked(name, std::move(*records));
  }
  return Status::OK();
}

void ObjectStore::AddPack(const std::string& name, std::vector<IndexRecord> records) {
  std::unique_lock lock(mutex_);
  if (!number_of_.count(name)) AddPackLocked(name, std::move(records));
}

void ObjectStore::AddPackLocked(const std::string& name, std::vector<IndexRecord> records) {
  auto number = static_cast<uint32_t>(names_.size());
  names_.push_back(name);
  number_of_[name] = number;
  for (const auto& r : records) locations_.emplace(r.id, Location{number, r});
  records_.push_back(std::move(records));
}

Status ObjectStore::DeletePack(uint32_t pack) {
  const bool local = fs_->type_name() == "local";
  const std::string base = dir_ + "/" + pack_names().at(pack);
  for (const char* suffix : {".idx", ".pack"}) {  // the index first
    const std::string path = base + suffix;
    if (local) {
      if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
        return ErrnoError("cannot delete", path, errno);
      }
    } else {
      auto st = fs_->DeleteFile(path);
      if (!st.ok() && fs_->GetFileInfo(path).ValueOr(arrow::fs::FileInfo{}).type() !=
                          arrow::fs::FileType::NotFound) {
        return Status::IOError("cannot delete '", path, "': ", st.message());
      }
    }
  }
  return Status::OK();
}

void ObjectStore::ForgetPack(uint32_t pack) {
  std::unique_lock lock(mutex_);
  if (pack >= records_.size()) return;
  for (const auto& r : records_[pack]) {
    auto [begin, end] = locations_.equal_range(r.id);
    for (auto it = begin; it != end;) {
      it = it->second.pack == pack ? locations_.erase(it) : std::next(it);
    }
  }
}

bool ObjectStore::Contains(const Digest& id) const {
  std::shared_lock lock(mutex_);
  return locations_.count(id) > 0;
}

std::vector<Location> ObjectStore::Find(const Digest& id) const {
  std::shared_lock lock(mutex_);
  std::vector<Location> out;
  auto [begin, end] = locations_.equal_range(id);
  for (auto it = begin; it != end; ++it) out.push_back(it->second);
  return out;
}

std::string ObjectStore::PackPath(uint32_t pack) const {
  std::shared_lock lock(mutex_);
  return dir_ + "/" + names_.at(pack) + ".pack";
}

Result<std::shared_ptr<arrow::io::RandomAccessFile>> ObjectStore::OpenPack(uint32_t pack) const {
  std::lock_guard lock(files_mutex_);
  auto it = files_.find(pack);
  if (it != files_.end()) return it->second;
  std::string path = PackPath(pack);
  auto file = fs_->OpenInputFile(path);
  if (!file.ok()) return io::OpenError(*fs_, path, file.status());
  files_[pack] = *file;
  return *file;
}

Result<std::shared_ptr<arrow::Buffer>> ObjectStore::ReadStored(const Location& where) const {
  CAIRN_ASSIGN_OR_RAISE(auto file, OpenPack(where.pack));
  const IndexRecord& r = where.record;
  auto entry = file->ReadAt(static_cast<int64_t>(r.offset),
                            static_cast<int64_t>(kEntryHeaderSize + r.stored_size));
  std::string path = PackPath(where.pack);
  if (!entry.ok()) {
    return Status::IOError("cannot read '", path, "': ", entry.status().message());
  }
  return PayloadOfEntry(r, *entry, path);
}

Result<std::vector<Result<std::shared_ptr<arrow::Buffer>>>> ObjectStore::ReadStoredSpan(
    uint32_t pack, const std::vector<IndexRecord>& records) const {
  std::vector<Result<std::shared_ptr<arrow::Buffer>>> out;
  if (records.empty()) return out;
  uint64_t begin = UINT64_MAX, end = 0;
  for (const auto& r : records) {
    begin = std::min(begin, r.offset);
    end = std::max(end, r.offset + kEntryHeaderSize + r.stored_size);
  }
  CAIRN_ASSIGN_OR_RAISE(auto file, OpenPack(pack));
  std::string path = PackPath(pack);
  auto span = file->ReadAt(static_cast<int64_t>(begin), static_cast<int64_t>(end - begin));
  if (!span.ok()) return Status::IOError("cannot read '", path, "': ", span.status().message());
  std::shared_ptr<arrow::Buffer> bytes = *span;
  out.reserve(records.size());
  for (const auto& r : records) {
    const auto at = static_cast<int64_t>(r.offset - begin);
    const auto size = static_cast<int64_t>(kEntryHeaderSize + r.stored_size);
    if (at + size > bytes->size()) {
      out.push_back(
          Status::Invalid(path, ": truncated (entry at byte ", r.offset, " is cut short)"));
      continue;
    }
    out.push_back(PayloadOfEntry(r, arrow::SliceBuffer(bytes, at, size), path));
  }
  return out;
}

Result<std::shared_ptr<arrow::Buffer>> ObjectStore::PayloadOfEntry(
    const IndexRecord& r, std::shared_ptr<arrow::Buffer> entry, const std::string& path) const {
  if (entry->size() != static_cast<int64_t>(kEntryHeaderSize + r.stored_size)) {
    return Status::Invalid(path, ": truncated (entry at byte ", r.offset, " is cut short)");
  }
  CAIRN_ASSIGN_OR_RAISE(auto parsed, DecodeEntryHeader(entry->data(), r.offset, path));
  if (parsed.id != r.id || parsed.type != r.type || parsed.codec != r.codec ||
      parsed.stored_size != r.stored_size || parsed.raw_size != r.raw_size) {
    return Status::Invalid(path, ": entry at byte ", r.offset,
                           " does not match its index (corrupt)");
  }
  return arrow::SliceBuffer(entry, kEntryHeaderSize);
}

Result<std::shared_ptr<arrow::Buffer>> ObjectStore::ReadCopy(const Location& where) const {
  CAIRN_ASSIGN_OR_RAISE(auto stored, ReadStored(where));
  std::string path = PackPath(where.pack);
  CAIRN_ASSIGN_OR_RAISE(auto payload, DecodePayload(where.record, stored->data(), path));
  CAIRN_RETURN_NOT_OK(VerifyPayload(where.record, *payload, path));
  return payload;
}

Result<std::shared_ptr<arrow::Buffer>> ObjectStore::Read(const Digest& id) const {
  auto copies = Find(id);
  if (copies.empty()) {
    return Status::KeyError("object ", id.ToHex(), " is not in '", dir_,
                            "' (run `cairn fetch` to get it from the remote)");
  }
  std::string problems;
  std::unordered_set<uint32_t> tried;
  bool vanished = false;  // a pack deleted since the indexes were read
  for (const auto& copy : copies) {
    tried.insert(copy.pack);
    auto payload = ReadCopy(copy);
    if (payload.ok()) return payload;
    if (dynamic_cast<io::NotFoundDetail*>(payload.status().detail().get()) != nullptr) {
      vanished = true;
      const_cast<ObjectStore*>(this)->ForgetPack(copy.pack);
    }
    problems += "\n  " + payload.status().message();
  }
  if (vanished && const_cast<ObjectStore*>(this)->Refresh().ok()) {
    // A compaction or gc replaced the pack: its objects are in a pack written before the
    // old one was deleted. Read any copy not tried yet.
    for (const auto& copy : Find(id)) {
      if (tried.count(copy.pack)) continue;
      auto payload = ReadCopy(copy);
      if (payload.ok()) return payload;
      problems += "\n  " + payload.status().message();
    }
  }
  return Status::IOError(
      "every copy of ", ObjectTypeName(copies[0].record.type), " ", id.ToHex(), " in '", dir_,
      "' is damaged:", problems,
      "\n(run `cairn pull` to repair it from the remote, `cairn fsck` to see all damage)");
}

std::vector<std::string> ObjectStore::pack_names() const {
  std::shared_lock lock(mutex_);
  return names_;
}

std::vector<std::vector<IndexRecord>> ObjectStore::pack_records() const {
  std::shared_lock lock(mutex_);
  return records_;
}

std::vector<std::string> ObjectStore::damaged_indexes() const {
  std::shared_lock lock(mutex_);
  return damaged_;
}

}  // namespace cairn::store
