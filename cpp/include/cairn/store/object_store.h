// A folder of packs with their indexes: the local cache (.cairn/cache/packs) or a remote.
#pragma once

#include <arrow/buffer.h>
#include <arrow/filesystem/filesystem.h>
#include <arrow/io/interfaces.h>

#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "cairn/common/status.h"
#include "cairn/store/pack.h"

namespace cairn::store {

/// Where a copy of an object is: a pack of this store and the record in its index.
struct Location {
  uint32_t pack = 0;  // index into ObjectStore::pack_names()
  IndexRecord record;
};

/// The objects in a folder of packs, read through arrow::fs (so a remote can be any
/// filesystem Arrow supports). Open() reads every index; Refresh() picks up packs added
/// since. Lookups and reads are thread-safe; so is AddPack (readers see it after it returns).
class ObjectStore {
 public:
  /// Opens `dir` (a folder of pack-<H>.pack / pack-<H>.idx) on `fs`; a missing folder is an
  /// empty store. A corrupt index is skipped and reported by damaged_indexes().
  static Result<std::shared_ptr<ObjectStore>> Open(std::shared_ptr<arrow::fs::FileSystem> fs,
                                                   std::string dir);
  /// Loads indexes of packs that appeared since Open (another process's add or push).
  Status Refresh();

  bool Contains(const Digest& id) const;
  /// Every copy of `id` (empty if none).
  std::vector<Location> Find(const Digest& id) const;
  /// The verified payload of `id`: tries each copy in turn; when a pack has vanished (a
  /// compaction or gc replaced it), looks at the folder again for the replacement. The
  /// error (when no copy is good) names the object and every pack it was read from, and
  /// what to do.
  Result<std::shared_ptr<arrow::Buffer>> Read(const Digest& id) const;
  /// The stored (possibly compressed) bytes of one copy, unverified: for transfers, which
  /// verify on arrival.
  Result<std::shared_ptr<arrow::Buffer>> ReadStored(const Location& where) const;
  /// The stored bytes of several copies in one pack with one read of the span they cover
  /// (one request on S3 instead of one per object), unverified, in the order given. Each
  /// result fails alone if its entry does not match its index.
  /// Errors: the whole call fails if the span cannot be read.
  Result<std::vector<Result<std::shared_ptr<arrow::Buffer>>>> ReadStoredSpan(
      uint32_t pack, const std::vector<IndexRecord>& records) const;
  /// Reads and verifies one copy.
  Result<std::shared_ptr<arrow::Buffer>> ReadCopy(const Location& where) const;

  /// Deletes pack `pack`'s index, then the pack (a pack without an index is not part of
  /// the store); files already gone are fine. Callers hold the store's lock exclusively.
  /// Lookups still list the pack until the store is opened again.
  Status DeletePack(uint32_t pack);
  /// Registers a pack just written into this store's folder.
  void AddPack(const std::string& name, std::vector<IndexRecord> records);

  std::vector<std::string> pack_names() const;
  /// Records of every pack, by pack number.
  std::vector<std::vector<IndexRecord>> pack_records() const;
  std::vector<std::string> damaged_indexes() const;
  const std::string& dir() const { return dir_; }
  arrow::fs::FileSystem& fs() const { return *fs_; }
  std::string PackPath(uint32_t pack) const;

 private:
  ObjectStore(std::shared_ptr<arrow::fs::FileSystem> fs, std::string dir)
      : fs_(std::move(fs)), dir_(std::move(dir)) {}
  Result<std::shared_ptr<arrow::io::RandomAccessFile>> OpenPack(uint32_t pack) const;
  void AddPackLocked(const std::string& name, std::vector<IndexRecord> records);
  // Drops the locations of a pack found deleted (its number stays taken).
  void ForgetPack(uint32_t pack);
  // The payload of entry `r` in `entry` (its header and stored bytes), checked against `r`.
  Result<std::shared_ptr<arrow::Buffer>> PayloadOfEntry(const IndexRecord& r,
                                                        std::shared_ptr<arrow::Buffer> entry,
                                                        const std::string& path) const;

  std::shared_ptr<arrow::fs::FileSystem> fs_;
  std::string dir_;
  mutable std::shared_mutex mutex_;
  std::vector<std::string> names_;
  std::vector<std::vector<IndexRecord>> records_;
  std::unordered_map<std::string, uint32_t> number_of_;
  std::unordered_multimap<Digest, Location, DigestHash> locations_;
  std::vector<std::string> damaged_;
  mutable std::mutex files_mutex_;
  mutable std::unordered_map<uint32_t, std::shared_ptr<arrow::io::RandomAccessFile>> files_;
};

}  // namespace cairn::store
