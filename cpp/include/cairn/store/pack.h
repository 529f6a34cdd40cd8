// Pack files and their indexes (docs/store-format.md, "Packs"): encoding, decoding, and
// writing a new pack.
#pragma once

#include <arrow/buffer.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cairn/common/status.h"
#include "cairn/store/durable_file.h"
#include "cairn/store/hash.h"

namespace cairn::store {

enum class ObjectType : uint8_t { kChunk = 1, kRecipe = 2, kManifest = 3 };
/// How an entry's payload is stored. kDeferred is raw bytes whose compression was left for
/// later (`add` keeps new data this way; compaction compresses it); readers treat it as raw.
enum class Codec : uint8_t { kRaw = 0, kZstd = 1, kDeferred = 2 };
inline bool IsRaw(Codec c) { return c != Codec::kZstd; }

const char* ObjectTypeName(ObjectType type);

/// Where one object lives in a pack, and how it is stored.
struct IndexRecord {
  Digest id;
  ObjectType type = ObjectType::kChunk;
  Codec codec = Codec::kRaw;
  uint32_t stored_size = 0;
  uint64_t offset = 0;  // of the entry header in the pack
  uint64_t raw_size = 0;
};

inline constexpr std::string_view kPackMagic = "CAIRNPK1";
inline constexpr std::string_view kIndexMagic = "CAIRNIX1";
inline constexpr size_t kEntryHeaderSize = 48;
inline constexpr size_t kIndexRecordSize = 56;
/// Limits every reader enforces before it allocates (docs/store-format.md): a chunk is at
/// most the chunker's maximum; a recipe or manifest at most 1 GiB (a recipe of a 0.5 TiB
/// file, a manifest of ~10 million files); no entry starts past 2^62.
inline constexpr uint64_t kMaxChunkPayload = 256 * 1024;
inline constexpr uint64_t kMaxMetadataPayload = 1ull << 30;
inline constexpr uint64_t kMaxPackOffset = 1ull << 62;
/// The largest payload an entry of `type` may declare.
uint64_t MaxPayloadSize(ObjectType type);

/// The 48-byte entry header for `record` (its offset is not part of the header).
std::string EncodeEntryHeader(const IndexRecord& record);
/// Parses an entry header at `offset` of a pack; Invalid naming `where` if it is malformed
/// or declares sizes no writer produces (see the limits above).
Result<IndexRecord> DecodeEntryHeader(const uint8_t* header, uint64_t offset,
                                      const std::string& where);

/// The index bytes for `records` (sorted by id here).
std::string SerializeIndex(std::vector<IndexRecord> records);
/// A pack's name, "pack-<H>": H is the index's checksum (SHA-256 of the index bytes before
/// it), so it names the pack's exact entries without hashing the pack file again.
std::string PackName(std::string_view index);
/// Parses and checks an index (magic, size, checksum); Invalid naming `where` otherwise.
Result<std::vector<IndexRecord>> ParseIndex(std::string_view data, const std::string& where);
/// Rebuilds the records of a pack by walking its entries (fsck, lost indexes).
Result<std::vector<IndexRecord>> ScanPack(std::string_view pack, const std::string& where);

/// Compresses payloads with zstd at a fixed level, keeping the raw bytes when that is not
/// smaller. One per thread (holds a compression context).
class Compressor {
 public:
  static Result<std::unique_ptr<Compressor>> Make(int level);
  /// This thread's compressor for `level` (made on first use, kept for the thread's life).
  static Result<Compressor*> ForThisThread(int level);
  ~Compressor();
  /// Fills `out` with the stored form of `raw` and returns its codec.
  Result<Codec> Encode(const uint8_t* raw, size_t size, std::string* out);

 private:
  struct Impl;
  explicit Compressor(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// The payload of an entry from its stored bytes (decompressing zstd). Does not verify the
/// id: callers do, according to the type. Errors name `where`.
Result<std::shared_ptr<arrow::Buffer>> DecodePayload(const IndexRecord& record,
                                                     const uint8_t* stored,
                                                     const std::string& where);

/// Checks a payload against its id: chunks and manifests by their SHA-256, recipes by the
/// checksum they carry. Invalid naming the object and `where` on a mismatch.
Status VerifyPayload(const IndexRecord& record, const arrow::Buffer& payload,
                     const std::string& where);

/// Writes a new pack under a temporary name; Finish() moves it and its index into place.
/// Not thread-safe: callers serialise Append.
class PackWriter {
 public:
  /// kDirect for large packs of new data (add, compaction): see TempFile::Mode.
  static Result<std::unique_ptr<PackWriter>> Create(
      const std::string& tmp_dir, TempFile::Mode mode = TempFile::Mode::kBuffered);

  Status Append(ObjectType type, const Digest& id, uint64_t raw_size, Codec codec,
                const void* stored, size_t stored_size);
  uint64_t size() const { return file_.size(); }
  size_t count() const { return records_.size(); }
  const std::vector<IndexRecord>& records() const { return records_; }

  /// Makes the pack durable as `<packs_dir>/pack-<H>.pack`, then its index, and returns
  /// "pack-<H>". The writer cannot be used afterwards.
  Result<std::string> Finish(const std::string& packs_dir);

 private:
  PackWriter(TempFile file, std::string tmp_dir)
      : file_(std::move(file)), tmp_dir_(std::move(tmp_dir)) {}
  TempFile file_;
  std::string tmp_dir_;
  std::vector<IndexRecord> records_;
};

}  // namespace cairn::store
