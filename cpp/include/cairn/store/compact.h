// Compaction: compressing what `add` stored raw (codec kDeferred), off the add's critical
// path (docs/store.md, "Compression is deferred").
#pragma once

#include <string>
#include <vector>

#include "cairn/common/status.h"
#include "cairn/store/adder.h"
#include "cairn/store/object_store.h"

namespace cairn::store {

/// Payload bytes of the objects in `store` whose compression was deferred.
uint64_t DeferredBytes(const ObjectStore& store);

struct CompactStats {
  uint64_t packs = 0;                 // packs compacted (each now has a compressed replacement)
  uint64_t objects = 0;               // deferred objects compressed (or found incompressible)
  uint64_t bytes_before = 0;          // size of the packs compacted
  uint64_t bytes_after = 0;           // size of their replacements
  std::vector<std::string> replaced;  // names of the packs compacted: to be dropped
  std::vector<std::string> problems;  // why a pack could not be compacted (it stays)
};

/// For every pack of a local store that holds deferred objects, writes a replacement pack
/// with the same objects: deferred ones compressed at zstd `level` (or stored raw, codec
/// kRaw, when that is not smaller), the others copied as stored. Every object is verified
/// before it is copied; one that already has a compressed or raw copy in another pack is
/// left out. The replacement is durable and registered before this returns; the compacted
/// packs stay (readers may be using them) until DropRedundantPacks. A pack that cannot be
/// compacted (an object fails verification, the disk is full) is left as it is and its
/// error goes into `problems`; the others are compacted. Callers hold the store's lock
/// shared. Progress counts payload bytes of deferred objects compressed.
Result<CompactStats> CompactPacks(ObjectStore& store, int level, const ProgressFn& progress,
                                  int threads = 0);

/// Deletes, among the packs named in `names`, each one every object of which has a copy in
/// another pack of the store that stays (a freshly opened store: what is on disk now);
/// a pack with an object found nowhere else is kept. Returns the number deleted. Callers
/// hold the store's lock exclusively.
Result<uint64_t> DropRedundantPacks(ObjectStore& store, const std::vector<std::string>& names);

}  // namespace cairn::store
