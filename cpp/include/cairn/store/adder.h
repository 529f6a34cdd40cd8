// Adding files and directories to the local cache: chunking, hashing and compression
// pipelined across cores; new objects go into one new pack per Adder.
#pragma once

#include <arrow/util/thread_pool.h>

#include <functional>
#include <memory>
#include <string>
#include <unordered_set>

#include "cairn/common/status.h"
#include "cairn/store/formats.h"
#include "cairn/store/object_store.h"

namespace cairn::store {

class PackAppender;

/// Called on the thread that runs an operation with the bytes done so far; returning false
/// cancels the operation (it then fails with Status::Cancelled, having stored nothing new).
using ProgressFn = std::function<bool(uint64_t done)>;

struct AddOptions {
  /// zstd level for new chunks; 0 stores them raw, marked for compaction to compress
  /// later (the default: docs/store.md has the measurements).
  int compression_level = 0;
  /// Worker threads for hashing and compression; 0 = one per core.
  int threads = 0;
};

struct AddStats {
  uint64_t files = 0;
  uint64_t bytes = 0;  // bytes read from the work tree
  uint64_t new_chunks = 0;
  uint64_t new_bytes = 0;     // raw bytes of chunks the cache did not have
  uint64_t stored_bytes = 0;  // what they take in the pack (compressed)
};

/// One `add` session over the local cache. AddFile/AddDirectory hash and chunk the data and
/// stage new objects in a temporary pack; Commit() makes it durable and visible. Nothing is
/// visible before Commit, so a crash or an error leaves the cache as it was.
/// Not thread-safe (it parallelises internally).
struct StoredBytes;

class Adder {
 public:
  /// `tmp_dir` must be on the same file system as the cache's pack folder (a rename moves
  /// the pack into place).
  static Result<std::unique_ptr<Adder>> Make(std::shared_ptr<ObjectStore> cache,
                                             std::string tmp_dir, AddOptions options);
  ~Adder();

  /// Reports the bytes of the next operation, counted from 0.
  void set_progress(ProgressFn progress) {
    progress_ = std::move(progress);
    done_ = 0;
  }
  /// A regular file: its pointer (oid = SHA-256 of the content). Errors name the path.
  Result<Pointer> AddFile(const std::string& path);
  /// Every regular file below `path`; symlinks, sockets and the like are refused (the error
  /// names them). The pointer's oid is the id of the directory's manifest.
  /// Files in `known` whose oid the cache has are not read (their stat said they did not
  /// change since they were hashed).
  Result<Pointer> AddDirectory(const std::string& path, const KnownOids& known = {});
  /// Writes the staged pack and its index durably into the cache. Returns the pack name, or
  /// "" when nothing new was staged.
  Result<std::string> Commit();
  const AddStats& stats() const { return stats_; }

 private:
  struct FileResult;
  Adder(std::shared_ptr<ObjectStore> cache, std::string tmp_dir, AddOptions options);
  Result<FileResult> HashSmallFile(const std::string& path, uint64_t size) const;
  Result<Pointer> AddLargeFile(const std::string& path, uint64_t size, bool executable);
  Status Stage(ObjectType type, const Digest& id, uint64_t raw_size, Codec codec,
               StoredBytes&& stored);
  Status StageRaw(ObjectType type, const Digest& id, std::string_view payload);
  bool Known(const Digest& id) const;
  bool Report(uint64_t bytes);

  std::shared_ptr<ObjectStore> cache_;
  std::string tmp_dir_;
  AddOptions options_;
  std::shared_ptr<arrow::internal::ThreadPool> pool_;
  std::unique_ptr<PackAppender> pack_;  // the pack being staged, written on its own thread
  std::unordered_set<Digest, DigestHash> staged_;
  ProgressFn progress_;
  uint64_t done_ = 0;
  AddStats stats_;
};

}  // namespace cairn::store
