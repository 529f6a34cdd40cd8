// Reading tracked files back out of a store: checkout, cairn.data.open, status.
#pragma once

#include <arrow/util/thread_pool.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cairn/common/status.h"
#include "cairn/store/adder.h"
#include "cairn/store/formats.h"
#include "cairn/store/object_store.h"

namespace cairn::store {

/// Receives a file's bytes in order.
using ByteSink = std::function<Status(const uint8_t* data, size_t size)>;

/// Reads files, directories and manifests from a store, decompressing and verifying chunks
/// on a pool of threads. Not thread-safe (one operation at a time).
class Materializer {
 public:
  static Result<std::unique_ptr<Materializer>> Make(std::shared_ptr<ObjectStore> store,
                                                    int threads = 0);
  ~Materializer();
  /// Reports the bytes of the next operation, counted from 0.
  void set_progress(ProgressFn progress) {
    progress_ = std::move(progress);
    done_ = 0;
  }

  /// Streams the content of file `oid` (of `size` bytes) to `sink`, every chunk verified and
  /// the whole checked against oid at the end (an error then, after the sink saw the bytes:
  /// see AssembleFile).
  Status ReadFile(const Digest& oid, uint64_t size, const ByteSink& sink);
  /// Writes file `oid` to `dest` (a temporary file next to it, then rename; the mode gets the
  /// executable bit if asked). Nothing at `dest` changes unless the whole file verified.
  Status WriteFile(const Digest& oid, uint64_t size, bool executable, const std::string& dest);
  /// The entries of manifest `id`, verified and with every path validated.
  Result<std::vector<ManifestEntry>> ReadManifest(const Digest& id);
  /// Writes every file of manifest `id` under `dest` (created if missing). Files that already
  /// have the right content are left alone; files not in the manifest are left alone.
  /// Returns the number of files written.
  Result<uint64_t> WriteDirectory(const Digest& id, const std::string& dest);
  /// The chunks of file `oid`: its recipe's, or the single chunk that is the file.
  Result<std::vector<ChunkRef>> FileChunks(const Digest& oid, uint64_t size);

 private:
  explicit Materializer(std::shared_ptr<ObjectStore> store) : store_(std::move(store)) {}
  bool Report(uint64_t bytes);
  std::shared_ptr<ObjectStore> store_;
  std::shared_ptr<arrow::internal::ThreadPool> pool_;
  ProgressFn progress_;
  uint64_t done_ = 0;
};

/// Streams the file `oid` made of `chunks` to `sink`, reading and verifying chunks on `pool`
/// and hashing the whole as it goes; Invalid naming the oid when a chunk's size or the
/// whole's SHA-256 disagrees (a forged or damaged recipe): the sink has then seen bytes that
/// are not the file, so a caller writes to a temporary file and keeps it only on OK.
Status AssembleFile(const ObjectStore& store, arrow::internal::ThreadPool* pool, const Digest& oid,
                    const std::vector<ChunkRef>& chunks, const ByteSink& sink);

/// The entries of manifest `id` in `store`, checked against the id (whatever type the store
/// records for it) and with every path validated.
Result<std::vector<ManifestEntry>> ReadManifestOf(const ObjectStore& store, const Digest& id);

/// SHA-256 of a file on disk (the oid it would get). Errors name the path.
Result<Digest> HashFile(const std::string& path);

/// What `cairn add` would record for a directory, without storing anything: every regular
/// file's path, oid, size and mode (hashed in parallel), sorted by path.
Result<std::vector<ManifestEntry>> ScanDirectory(const std::string& root, int threads = 0,
                                                 const KnownOids& known = {});

}  // namespace cairn::store
