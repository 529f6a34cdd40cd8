// Moving objects between stores (push, fetch), and keeping a store healthy (fsck, gc).
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cairn/common/status.h"
#include "cairn/store/adder.h"
#include "cairn/store/formats.h"
#include "cairn/store/object_store.h"

namespace cairn::store {

/// The objects needed to read some pointers.
struct Closure {
  std::vector<Digest> ids;      // every object reached (chunks, recipes, manifests)
  std::vector<Digest> missing;  // objects none of the sources has
  std::vector<Digest> damaged;  // manifests and recipes a source had only bad copies of
  uint64_t bytes = 0;           // raw bytes of the chunks reached
};

/// Walks `roots` (file and directory pointers) through manifests and recipes, reading them
/// from the first of `sources` that has a good copy: a manifest must hash to its id and a
/// recipe must parse and be of the size its pointer gives (its chunks are checked when the
/// file is read or copied), and a one-chunk file's chunk must be of that size. A source with only bad copies is listed in `damaged` (so a
/// fetch can repair it from the next source). Invalid when no source has a good copy.
Result<Closure> CollectClosure(const std::vector<const ObjectStore*>& sources,
                               const std::vector<Pointer>& roots);

struct TransferStats {
  uint64_t objects = 0;  // objects copied
  uint64_t bytes = 0;    // stored bytes copied
  uint64_t packs = 0;    // packs written to the destination
  /// Recipes not copied because the chunks they list do not make a file with their oid (a
  /// forged or damaged recipe), with why. The caller decides how to report them.
  std::vector<std::pair<Digest, std::string>> rejected;
};

/// Copies the objects `ids` that `dest` lacks (plus those in `replace`, whose copies in
/// `dest` are damaged) from `source` into new packs of at most 64 MiB in `dest`. Every
/// object is verified on arrival; a pack and then its index are moved into place only when
/// complete, so an interrupted transfer leaves no half-written pack visible and a rerun
/// moves only what is still missing. A recipe is copied only after the file its chunks make
/// hashed to its oid (the chunks are copied first); one that does not is left out and listed
/// in `rejected`. `tmp_dir` is a local folder for packs being built.
/// Progress counts stored bytes read from `source`. With `level` > 0, zstd objects are
/// compressed again at that zstd level on the way (kept when smaller), as push does.
Result<TransferStats> CopyObjects(const ObjectStore& source, ObjectStore& dest,
                                  const std::vector<Digest>& ids,
                                  const std::vector<Digest>& replace, const std::string& tmp_dir,
                                  const ProgressFn& progress, int threads = 0, int level = 0);

/// One damaged thing found by Verify.
struct Damage {
  std::string file;    // the pack or index file
  std::string object;  // hex id, or "" when the damage is not in one object
  std::string what;
};

/// Reads every pack and index of `store` and checks everything: pack names against their
/// content, indexes against their packs, every object against its hash, every recipe by
/// the file its chunks make, and every manifest's entries (paths that parse and stay in the
/// folder, UTF-8 names, sizes that the data in `store` has).
Result<std::vector<Damage>> Verify(const ObjectStore& store, const ProgressFn& progress);

struct GcStats {
  uint64_t objects_kept = 0, objects_dropped = 0;
  uint64_t bytes_dropped = 0;  // stored bytes
  uint64_t packs_deleted = 0, packs_rewritten = 0;
};

/// Drops every object not needed by `keep` from a store (local folder or S3): packs with
/// nothing kept are deleted, packs with some kept are rewritten with only those (the new
/// pack is in place before the old one goes; for a non-local store it is built in the
/// local folder `tmp_dir` and uploaded). With dry_run only counts. Callers hold the store's
/// lock exclusively.
Result<GcStats> CollectGarbage(ObjectStore& store, const std::vector<Pointer>& keep, bool dry_run,
                               const std::string& tmp_dir);

/// After good copies of `ids` were fetched: rewrites the packs of a store that hold damaged
/// copies of them, without those copies (a copy is dropped only when another copy
/// verifies); `tmp_dir` as for CollectGarbage. Returns the number of copies dropped.
Result<uint64_t> DropDamagedCopies(ObjectStore& store, const std::vector<Digest>& ids,
                                   const std::string& tmp_dir);

}  // namespace cairn::store
