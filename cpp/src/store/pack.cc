#include "cairn/store/pack.h"

#include <arrow/util/compression.h>

#include <algorithm>
#include <cstring>

#include "little_endian.h"

namespace cairn::store {
namespace {

bool ValidType(uint8_t t) { return t >= 1 && t <= 3; }
bool ValidCodec(uint8_t c) { return c <= 2; }

// What any well-formed entry satisfies, whoever wrote it: sizes a reader may allocate for,
// raw entries whose stored and payload sizes agree, and an end that cannot overflow.
const char* ImplausibleEntry(const IndexRecord& r) {
  if (r.raw_size > MaxPayloadSize(r.type)) return "declares a payload larger than the format allows";
  if (IsRaw(r.codec) && r.stored_size != r.raw_size) return "has inconsistent sizes";
  if (r.offset < kPackMagic.size() || r.offset > kMaxPackOffset) return "has an impossible offset";
  return nullptr;
}

}  // namespace

uint64_t MaxPayloadSize(ObjectType type) {
  return type == ObjectType::kChunk ? kMaxChunkPayload : kMaxMetadataPayload;
}

const char* ObjectTypeName(ObjectType type) {
  switch (type) {
    case ObjectType::kChunk:
      return "chunk";
    case ObjectType::kRecipe:
      return "recipe";
    case ObjectType::kManifest:
      return "manifest";
  }
  return "object";
}

std::string EncodeEntryHeader(const IndexRecord& r) {
  std::string out;
  out.reserve(kEntryHeaderSize);
  PutLittleEndian<uint8_t>(&out, static_cast<uint8_t>(r.type));
  PutLittleEndian<uint8_t>(&out, static_cast<uint8_t>(r.codec));
  PutLittleEndian<uint16_t>(&out, 0);
  PutLittleEndian<uint32_t>(&out, r.stored_size);
  PutLittleEndian<uint64_t>(&out, r.raw_size);
  out.append(reinterpret_cast<const char*>(r.id.bytes.data()), 32);
  return out;
}

Result<IndexRecord> DecodeEntryHeader(const uint8_t* h, uint64_t offset, const std::string& where) {
  if (!ValidType(h[0]) || !ValidCodec(h[1]) || GetLittleEndian<uint16_t>(h + 2) != 0) {
    return Status::Invalid(where, ": corrupt entry header at byte ", offset);
  }
  IndexRecord r;
  r.type = static_cast<ObjectType>(h[0]);
  r.codec = static_cast<Codec>(h[1]);
  r.stored_size = GetLittleEndian<uint32_t>(h + 4);
  r.raw_size = GetLittleEndian<uint64_t>(h + 8);
  std::memcpy(r.id.bytes.data(), h + 16, 32);
  r.offset = offset;
  if (const char* why = ImplausibleEntry(r)) {
    return Status::Invalid(where, ": corrupt entry header at byte ", offset, " (it ", why, ")");
  }
  return r;
}

std::string SerializeIndex(std::vector<IndexRecord> records) {
  std::sort(records.begin(), records.end(),
            [](const IndexRecord& a, const IndexRecord& b) { return a.id < b.id; });
  std::string out(kIndexMagic);
  PutLittleEndian<uint64_t>(&out, records.size());
  for (const auto& r : records) {
    out.append(reinterpret_cast<const char*>(r.id.bytes.data()), 32);
    PutLittleEndian<uint8_t>(&out, static_cast<uint8_t>(r.type));
    PutLittleEndian<uint8_t>(&out, static_cast<uint8_t>(r.codec));
    PutLittleEndian<uint16_t>(&out, 0);
    PutLittleEndian<uint32_t>(&out, r.stored_size);
    PutLittleEndian<uint64_t>(&out, r.offset);
    PutLittleEndian<uint64_t>(&out, r.raw_size);
  }
  Digest sum = Sha256::Of(out);
  out.append(reinterpret_cast<const char*>(sum.bytes.data()), 32);
  return out;
}

Result<std::vector<IndexRecord>> ParseIndex(std::string_view data, const std::string& where) {
  const size_t fixed = kIndexMagic.size() + 8 + 32;
  if (data.size() < fixed || data.substr(0, kIndexMagic.size()) != kIndexMagic) {
    return Status::Invalid(where, ": not a cairn pack index (bad header)");
  }
  const auto* p = reinterpret_cast<const uint8_t*>(data.data());
  uint64_t count = GetLittleEndian<uint64_t>(p + kIndexMagic.size());
  if (count > (data.size() - fixed) / kIndexRecordSize ||
      data.size() != fixed + count * kIndexRecordSize) {
    return Status::Invalid(where, ": truncated or oversized pack index");
  }
  Digest sum = Sha256::Of(data.data(), data.size() - 32);
  if (std::memcmp(sum.bytes.data(), p + data.size() - 32, 32) != 0) {
    return Status::Invalid(where, ": pack index checksum mismatch (corrupt)");
  }
  std::vector<IndexRecord> records(count);
  const uint8_t* q = p + kIndexMagic.size() + 8;
  for (auto& r : records) {
    std::memcpy(r.id.bytes.data(), q, 32);
    if (!ValidType(q[32]) || !ValidCodec(q[33]) || GetLittleEndian<uint16_t>(q + 34) != 0) {
      return Status::Invalid(where, ": corrupt record in pack index");
    }
    r.type = static_cast<ObjectType>(q[32]);
    r.codec = static_cast<Codec>(q[33]);
    r.stored_size = GetLittleEndian<uint32_t>(q + 36);
    r.offset = GetLittleEndian<uint64_t>(q + 40);
    r.raw_size = GetLittleEndian<uint64_t>(q + 48);
    if (const char* why = ImplausibleEntry(r)) {
      return Status::Invalid(where, ": corrupt record in pack index (", ObjectTypeName(r.type), " ",
                             r.id.ToHex(), " ", why, ")");
    }
    q += kIndexRecordSize;
  }
  return records;
}

Result<std::vector<IndexRecord>> ScanPack(std::string_view pack, const std::string& where) {
  if (pack.substr(0, kPackMagic.size()) != kPackMagic) {
    return Status::Invalid(where, ": not a cairn pack (bad header)");
  }
  std::vector<IndexRecord> records;
  uint64_t offset = kPackMagic.size();
  const auto* p = reinterpret_cast<const uint8_t*>(pack.data());
  while (offset < pack.size()) {
    if (pack.size() - offset < kEntryHeaderSize) {
      return Status::Invalid(where, ": truncated entry at byte ", offset);
    }
    CAIRN_ASSIGN_OR_RAISE(auto r, DecodeEntryHeader(p + offset, offset, where));
    if (pack.size() - offset - kEntryHeaderSize < r.stored_size) {
      return Status::Invalid(where, ": truncated entry at byte ", offset);
    }
    offset += kEntryHeaderSize + r.stored_size;
    records.push_back(r);
  }
  return records;
}

struct Compressor::Impl {
  std::unique_ptr<arrow::util::Codec> codec;
};

Compressor::Compressor(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Compressor::~Compressor() = default;

Result<std::unique_ptr<Compressor>> Compressor::Make(int level) {
  auto impl = std::make_unique<Impl>();
  CAIRN_ASSIGN_OR_RAISE(impl->codec, arrow::util::Codec::Create(arrow::Compression::ZSTD, level));
  return std::unique_ptr<Compressor>(new Compressor(std::move(impl)));
}

Result<Compressor*> Compressor::ForThisThread(int level) {
  thread_local std::unique_ptr<Compressor> compressor;
  thread_local int compressor_level = 0;
  if (!compressor || compressor_level != level) {
    CAIRN_ASSIGN_OR_RAISE(compressor, Make(level));
    compressor_level = level;
  }
  return compressor.get();
}

Result<Codec> Compressor::Encode(const uint8_t* raw, size_t size, std::string* out) {
  const int64_t bound = impl_->codec->MaxCompressedLen(static_cast<int64_t>(size), raw);
  out->resize(static_cast<size_t>(bound));
  CAIRN_ASSIGN_OR_RAISE(int64_t n, impl_->codec->Compress(static_cast<int64_t>(size), raw, bound,
                                                          reinterpret_cast<uint8_t*>(out->data())));
  if (static_cast<size_t>(n) >= size) {
    out->assign(reinterpret_cast<const char*>(raw), size);
    return Codec::kRaw;
  }
  out->resize(static_cast<size_t>(n));
  return Codec::kZstd;
}

Result<std::shared_ptr<arrow::Buffer>> DecodePayload(const IndexRecord& r, const uint8_t* stored,
                                                     const std::string& where) {
  if (r.raw_size > MaxPayloadSize(r.type)) {
    return Status::Invalid(where, ": ", ObjectTypeName(r.type), " ", r.id.ToHex(), " declares ",
                           r.raw_size, " bytes, more than the format allows (corrupt)");
  }
  if (IsRaw(r.codec)) {
    if (r.stored_size != r.raw_size) {
      return Status::Invalid(where, ": ", ObjectTypeName(r.type), " ", r.id.ToHex(),
                             " has inconsistent sizes (corrupt)");
    }
    CAIRN_ASSIGN_OR_RAISE(auto buf, arrow::AllocateBuffer(static_cast<int64_t>(r.raw_size)));
    std::memcpy(buf->mutable_data(), stored, r.raw_size);
    return std::shared_ptr<arrow::Buffer>(std::move(buf));
  }
  static thread_local std::unique_ptr<arrow::util::Codec> codec;
  if (!codec) {
    CAIRN_ASSIGN_OR_RAISE(codec, arrow::util::Codec::Create(arrow::Compression::ZSTD));
  }
  CAIRN_ASSIGN_OR_RAISE(auto buf, arrow::AllocateBuffer(static_cast<int64_t>(r.raw_size)));
  auto n = codec->Decompress(r.stored_size, stored, static_cast<int64_t>(r.raw_size),
                             buf->mutable_data());
  if (!n.ok() || static_cast<uint64_t>(*n) != r.raw_size) {
    return Status::Invalid(where, ": ", ObjectTypeName(r.type), " ", r.id.ToHex(),
                           " does not decompress (corrupt)");
  }
  return std::shared_ptr<arrow::Buffer>(std::move(buf));
}

Status VerifyPayload(const IndexRecord& r, const arrow::Buffer& payload, const std::string& where) {
  bool ok;
  if (r.type == ObjectType::kRecipe) {
    ok = payload.size() >= 32 && Sha256::Of(payload.data(), payload.size() - 32).bytes ==
                                     *reinterpret_cast<const std::array<uint8_t, 32>*>(
                                         payload.data() + payload.size() - 32);
  } else {
    ok = Sha256::Of(payload.data(), payload.size()) == r.id;
  }
  if (ok) return Status::OK();
  return Status::Invalid(where, ": ", ObjectTypeName(r.type), " ", r.id.ToHex(),
                         " is corrupt (its content does not match its hash)");
}

Result<std::unique_ptr<PackWriter>> PackWriter::Create(const std::string& tmp_dir,
                                                       TempFile::Mode mode) {
  CAIRN_ASSIGN_OR_RAISE(auto file, TempFile::Create(tmp_dir, mode));
  std::unique_ptr<PackWriter> w(new PackWriter(std::move(file), tmp_dir));
  CAIRN_RETURN_NOT_OK(w->file_.Write(kPackMagic.data(), kPackMagic.size()));
  return w;
}

Status PackWriter::Append(ObjectType type, const Digest& id, uint64_t raw_size, Codec codec,
                          const void* stored, size_t stored_size) {
  IndexRecord r;
  r.id = id;
  r.type = type;
  r.codec = codec;
  r.stored_size = static_cast<uint32_t>(stored_size);
  r.raw_size = raw_size;
  r.offset = file_.size();
  std::string header = EncodeEntryHeader(r);
  CAIRN_RETURN_NOT_OK(
      file_.Write(header, std::string_view(static_cast<const char*>(stored), stored_size)));
  records_.push_back(r);
  return Status::OK();
}

std::string PackName(std::string_view index) {
  Digest checksum;
  std::memcpy(checksum.bytes.data(), index.data() + index.size() - 32, 32);
  return "pack-" + checksum.ToHex();
}

Result<std::string> PackWriter::Finish(const std::string& packs_dir) {
  std::string index = SerializeIndex(records_);
  std::string name = PackName(index);
  CAIRN_RETURN_NOT_OK(file_.Commit(packs_dir + "/" + name + ".pack"));
  CAIRN_RETURN_NOT_OK(WriteFileAtomically(packs_dir + "/" + name + ".idx", index));
  return name;
}

}  // namespace cairn::store
