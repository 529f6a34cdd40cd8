// The store's small text and binary formats (docs/store-format.md): recipes (a file's chunk
// list), manifests (a tracked directory) and pointer files (committed to git).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "cairn/common/status.h"
#include "cairn/store/hash.h"

namespace cairn::store {

struct ChunkRef {
  Digest id;
  uint32_t size = 0;
};

/// A file made of more than one chunk: the chunks in file order.
struct Recipe {
  uint64_t file_size = 0;
  std::vector<ChunkRef> chunks;
};

std::string EncodeRecipe(const Recipe& recipe);
/// Parses a recipe payload; Invalid naming `where` when malformed or its sizes disagree.
Result<Recipe> DecodeRecipe(std::string_view data, const std::string& where);

/// One file of a tracked directory.
struct ManifestEntry {
  std::string path;  // relative, '/'-separated, validated by ValidateRelativePath
  Digest oid;
  uint64_t size = 0;
  bool executable = false;
};

/// Oids of files in a folder that the caller knows did not change since they were hashed
/// (relative path -> oid): scans and adds take them instead of reading the files.
using KnownOids = std::unordered_map<std::string, Digest>;

/// The manifest text for `entries` (sorted by path here).
std::string EncodeManifest(std::vector<ManifestEntry> entries);
/// Parses a manifest; Invalid naming `where` and the line when malformed, unsorted,
/// duplicated, or a path escapes the directory.
Result<std::vector<ManifestEntry>> DecodeManifest(std::string_view text, const std::string& where);

/// OK when `path` is a relative path that stays inside its folder: not empty, not absolute,
/// no empty, "." or ".." component, no ".git" component (any case), no NUL, CR or LF.
/// Invalid naming `where` otherwise.
Status ValidateRelativePath(std::string_view path, const std::string& where);

/// `text` with every byte that is not part of valid UTF-8 written as \xNN (Python's
/// "backslashreplace"), so that error messages naming crafted paths are valid text.
std::string EscapeNonUtf8(std::string_view text);

/// The content of a `.cairn` pointer file.
struct Pointer {
  enum class Kind { kFile, kDir };
  Kind kind = Kind::kFile;
  Digest oid;               // the file's SHA-256, or the directory manifest's id
  uint64_t size = 0;        // bytes of the file, or of all files of the directory
  bool executable = false;  // kFile only
  uint64_t files = 0;       // kDir only

  bool operator==(const Pointer&) const = default;
};

inline constexpr std::string_view kPointerSuffix = ".cairn";
std::string EncodePointer(const Pointer& pointer);
/// Parses a pointer file; Invalid naming `where` (the pointer's path) and what is wrong.
Result<Pointer> ParsePointer(std::string_view text, const std::string& where);

}  // namespace cairn::store
