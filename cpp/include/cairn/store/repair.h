// Repairing a local store's packs after damage that is not inside one object: an index
// that does not parse, a pack that is gone or cut short while its index remains.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cairn/common/status.h"
#include "cairn/store/object_store.h"

namespace cairn::store {

struct PackRepair {
  std::vector<std::string> problems;  // one line per damaged pack or index found
  uint64_t indexes_rebuilt = 0;       // damaged indexes written again from their pack
  uint64_t packs_salvaged = 0;        // damaged packs whose good entries moved to a new pack
  uint64_t packs_dropped = 0;         // indexes of packs that are gone, deleted
  uint64_t objects_salvaged = 0;      // entries that verified and were kept
  uint64_t objects_lost = 0;          // entries cut off or damaged (fetch them again)
};

/// Finds (dry_run) or repairs the structural damage of a local store `store`:
/// - an index that does not parse is rebuilt from its pack when the rebuilt index has the
///   pack's name (so it is exactly the index that was written); otherwise, and for a pack
///   shorter than its index says, every entry that is complete and verifies is copied to a
///   new pack, then the damaged pack and its index are deleted;
/// - the index of a pack that is gone is deleted.
/// Nothing that verifies is lost; what is lost must be fetched again (`cairn pull`).
/// Callers hold the store's lock exclusively unless dry_run, and open the store again
/// afterwards. Errors: I/O errors naming the file.
Result<PackRepair> RepairPacks(ObjectStore& store, bool dry_run);

}  // namespace cairn::store
