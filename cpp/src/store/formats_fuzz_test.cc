// Mutation fuzzing of the readers that take bytes from a remote or from git: pointer files,
// manifests, recipes, pack indexes, pack entries and zstd payloads. Each reader gets mutated
// copies of valid inputs (bit flips, byte inserts and deletes, truncation, splices with
// another seed, interesting values such as huge lengths) from a fixed-seed PRNG, and must
// return a value that satisfies the format's invariants or an Invalid error: no crash, no
// exception, no other status. CAIRN_FUZZ_ITERATIONS sets the inputs per reader (default
// 20000, a few seconds; docs/store.md records a soak of 1M).
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "cairn/store/formats.h"
#include "cairn/store/pack.h"

namespace cairn::store {
namespace {

uint64_t Iterations() {
  const char* env = std::getenv("CAIRN_FUZZ_ITERATIONS");
  if (env == nullptr || *env == '\0') return 20000;
  return std::strtoull(env, nullptr, 10);
}

// Replaces a recipe's or an index's trailing SHA-256 with the right one, so that half of the
// mutants get past the checksum and exercise what the reader does after it.
void FixTrailingChecksum(std::string* data) {
  if (data->size() < 32) return;
  Digest sum = Sha256::Of(data->data(), data->size() - 32);
  data->replace(data->size() - 32, 32, reinterpret_cast<const char*>(sum.bytes.data()), 32);
}

class Mutator {
 public:
  Mutator(std::vector<std::string> seeds, bool text) : seeds_(std::move(seeds)), text_(text) {}

  std::string Next() {
    std::string s = seeds_[Below(seeds_.size())];
    const size_t rounds = 1 + Below(4);
    for (size_t i = 0; i < rounds; ++i) MutateOnce(&s);
    return s;
  }

  uint64_t Below(uint64_t n) { return n == 0 ? 0 : rng_() % n; }

 private:
  void MutateOnce(std::string* s) {
    switch (Below(7)) {
      case 0:  // flip a bit
        if (!s->empty()) (*s)[Below(s->size())] ^= static_cast<char>(1u << Below(8));
        break;
      case 1:  // insert bytes
        s->insert(Below(s->size() + 1), RandomBytes(1 + Below(8)));
        break;
      case 2:  // delete bytes
        if (!s->empty()) s->erase(Below(s->size()), 1 + Below(8));
        break;
      case 3:  // truncate
        s->resize(Below(s->size() + 1));
        break;
      case 4: {  // splice: a prefix of this input, a suffix of another seed
        const std::string& other = seeds_[Below(seeds_.size())];
        s->resize(Below(s->size() + 1));
        *s += other.substr(Below(other.size() + 1));
        break;
      }
      case 5:  // overwrite with an interesting value
        Interesting(s);
        break;
      default:  // set a byte
        if (!s->empty()) (*s)[Below(s->size())] = static_cast<char>(Below(256));
        break;
    }
  }

  std::string RandomBytes(size_t n) {
    std::string out(n, '\0');
    for (auto& c : out) c = static_cast<char>(Below(256));
    return out;
  }

  void Interesting(std::string* s) {
    if (text_) {
      static const std::string_view kTokens[] = {
          "0", "-1", "00", "18446744073709551615", "18446744073709551616",
          "99999999999999999999999", "4294967296", "..", "/", "./", ".git", ".GIT/", "a//b",
          "\n", "\r\n", " ", "\t", std::string_view("\0", 1), "\xff\xfe", "\xc3\x28",
          "sha256:", "kind dir", "files ", "mode 755", "cairn-manifest 1\n",
          "cairn-pointer 1\n"};
      const std::string_view token = kTokens[Below(std::size(kTokens))];
      const size_t at = Below(s->size() + 1);
      if (Below(2)) {
        s->insert(at, token);
      } else {
        s->replace(at, std::min(token.size(), s->size() - at), token);
      }
      return;
    }
    static const uint64_t kValues[] = {0,
                                       1,
                                       0x7f,
                                       0xff,
                                       0xffff,
                                       0xffffffffull,
                                       0x100000000ull,
                                       kMaxChunkPayload,
                                       kMaxChunkPayload + 1,
                                       kMaxMetadataPayload,
                                       kMaxMetadataPayload + 1,
                                       kMaxPackOffset,
                                       kMaxPackOffset + 1,
                                       0x7fffffffffffffffull,
                                       0xffffffffffffffffull};
    const uint64_t v = kValues[Below(std::size(kValues))];
    const size_t width = size_t{1} << Below(4);  // 1, 2, 4 or 8 bytes, little-endian
    if (s->size() < width) return;
    const size_t at = Below(s->size() - width + 1);
    for (size_t i = 0; i < width; ++i) (*s)[at + i] = static_cast<char>((v >> (8 * i)) & 0xff);
  }

  std::vector<std::string> seeds_;
  bool text_;
  std::mt19937_64 rng_{0x6361697266757a7aull};  // fixed: every run feeds the same inputs
};

// Feeds `iterations` mutants to `check`, which returns the reader's status after asserting
// the invariants of any value it returned. Counts the accepted inputs.
uint64_t Fuzz(const char* reader, Mutator* m, const std::function<Status(std::string*)>& check) {
  uint64_t accepted = 0;
  const uint64_t n = Iterations();
  for (uint64_t i = 0; i < n; ++i) {
    std::string input = m->Next();
    Status st = check(&input);
    if (st.ok()) {
      ++accepted;
    } else {
      EXPECT_TRUE(st.IsInvalid()) << "input " << i << ": " << st.ToString();
      EXPECT_NE(st.message().find("fuzz-where"), std::string::npos) << st.ToString();
    }
    if (::testing::Test::HasFailure()) {
      ADD_FAILURE() << "stopping at input " << i << " (" << input.size() << " bytes)";
      break;
    }
  }
  std::printf("[fuzz] %s: %llu inputs, %llu accepted, the rest Invalid\n", reader,
              static_cast<unsigned long long>(n), static_cast<unsigned long long>(accepted));
  return accepted;
}

Digest IdOf(int i) { return Sha256::Of("object " + std::to_string(i)); }

TEST(FormatsFuzz, PointerParserReturnsAPointerOrInvalid) {
  std::vector<std::string> seeds = {
      EncodePointer({Pointer::Kind::kFile, IdOf(1), 123456, false, 0}),
      EncodePointer({Pointer::Kind::kFile, IdOf(2), 0, true, 0}),
      EncodePointer({Pointer::Kind::kDir, IdOf(3), 18446744073709551615ull, false, 42})};
  Mutator m(seeds, /*text=*/true);
  uint64_t accepted = Fuzz("ParsePointer", &m, [](std::string* in) {
    auto p = ParsePointer(*in, "fuzz-where");
    if (!p.ok()) return p.status();
    // What was accepted survives its own encoding (hex digits may come in either case).
    EXPECT_EQ(ParsePointer(EncodePointer(*p), "again").ValueOrDie(), *p);
    return Status::OK();
  });
  RecordProperty("accepted", std::to_string(accepted));
}

TEST(FormatsFuzz, ManifestDecoderReturnsSafeSortedEntriesOrInvalid) {
  std::vector<ManifestEntry> entries;
  for (int i = 0; i < 6; ++i) {
    entries.push_back({"dir" + std::to_string(i % 2) + "/file" + std::to_string(i) + ".txt",
                       IdOf(i), static_cast<uint64_t>(i) * 1000, i % 3 == 0});
  }
  std::vector<std::string> seeds = {
      EncodeManifest(entries), EncodeManifest({entries[0]}), EncodeManifest({}),
      EncodeManifest({{"caf\xc3\xa9 \xe2\x98\x95.txt", IdOf(9), 18446744073709551615ull, false}})};
  Mutator m(seeds, /*text=*/true);
  uint64_t accepted = Fuzz("DecodeManifest", &m, [](std::string* in) {
    auto decoded = DecodeManifest(*in, "fuzz-where");
    if (!decoded.ok()) return decoded.status();
    for (size_t i = 0; i < decoded->size(); ++i) {
      const ManifestEntry& e = (*decoded)[i];
      EXPECT_TRUE(ValidateRelativePath(e.path, "accepted").ok()) << e.path;
      if (i > 0) {
        EXPECT_LT((*decoded)[i - 1].path, e.path);
      }
    }
    auto again = DecodeManifest(EncodeManifest(*decoded), "again").ValueOrDie();
    EXPECT_EQ(again.size(), decoded->size());
    for (size_t i = 0; i < again.size() && i < decoded->size(); ++i) {
      EXPECT_EQ(again[i].path, (*decoded)[i].path);
      EXPECT_EQ(again[i].oid, (*decoded)[i].oid);
      EXPECT_EQ(again[i].size, (*decoded)[i].size);
    }
    return Status::OK();
  });
  RecordProperty("accepted", std::to_string(accepted));
}

TEST(FormatsFuzz, RecipeDecoderReturnsAConsistentRecipeOrInvalid) {
  std::vector<std::string> seeds = {
      EncodeRecipe({300000, {{IdOf(1), 100000}, {IdOf(2), 150000}, {IdOf(3), 50000}}}),
      EncodeRecipe({1, {{IdOf(4), 1}}}), EncodeRecipe({0, {}})};
  Mutator m(seeds, /*text=*/false);
  uint64_t accepted = Fuzz("DecodeRecipe", &m, [&m](std::string* in) {
    if (m.Below(2)) FixTrailingChecksum(in);
    auto r = DecodeRecipe(*in, "fuzz-where");
    if (!r.ok()) return r.status();
    uint64_t total = 0;
    for (const auto& c : r->chunks) total += c.size;
    EXPECT_EQ(total, r->file_size);
    EXPECT_EQ(EncodeRecipe(*r), *in);
    return Status::OK();
  });
  RecordProperty("accepted", std::to_string(accepted));
}

std::vector<IndexRecord> SampleRecords() {
  std::vector<IndexRecord> records;
  uint64_t offset = kPackMagic.size();
  for (int i = 0; i < 5; ++i) {
    IndexRecord r;
    r.id = IdOf(i);
    r.type = static_cast<ObjectType>(1 + i % 3);
    r.codec = static_cast<Codec>(i % 3);
    r.raw_size = 1000 + static_cast<uint64_t>(i);
    r.stored_size = r.codec == Codec::kZstd ? 400 : static_cast<uint32_t>(r.raw_size);
    r.offset = offset;
    offset += kEntryHeaderSize + r.stored_size;
    records.push_back(r);
  }
  return records;
}

TEST(FormatsFuzz, IndexParserReturnsPlausibleRecordsOrInvalid) {
  auto records = SampleRecords();
  std::vector<std::string> seeds = {SerializeIndex(records), SerializeIndex({records[0]}),
                                    SerializeIndex({})};
  Mutator m(seeds, /*text=*/false);
  uint64_t accepted = Fuzz("ParseIndex", &m, [&m](std::string* in) {
    if (m.Below(2)) FixTrailingChecksum(in);
    auto parsed = ParseIndex(*in, "fuzz-where");
    if (!parsed.ok()) return parsed.status();
    for (const auto& r : *parsed) {
      EXPECT_LE(r.raw_size, MaxPayloadSize(r.type));
      EXPECT_LE(r.offset, kMaxPackOffset);
      EXPECT_GE(r.offset, kPackMagic.size());
      if (IsRaw(r.codec)) {
        EXPECT_EQ(r.stored_size, r.raw_size);
      }
    }
    return Status::OK();
  });
  RecordProperty("accepted", std::to_string(accepted));
}

// A pack's entries: ScanPack walks them (fsck, lost indexes), DecodeEntryHeader reads each
// header, and DecodePayload decompresses what the header declares.
TEST(FormatsFuzz, PackScannerAndPayloadDecoderReturnEntriesOrInvalid) {
  auto compressor = Compressor::Make(3).ValueOrDie();
  std::string pack(kPackMagic);
  std::string text;
  for (int i = 0; i < 400; ++i) text += "line " + std::to_string(i % 37) + " of the chunk\n";
  for (int i = 0; i < 3; ++i) {
    IndexRecord r;
    std::string raw = text.substr(0, text.size() - static_cast<size_t>(i) * 100);
    r.id = Sha256::Of(raw);
    r.raw_size = raw.size();
    std::string stored;
    r.codec = i == 2 ? Codec::kDeferred : compressor->Encode(
        reinterpret_cast<const uint8_t*>(raw.data()), raw.size(), &stored).ValueOrDie();
    if (r.codec == Codec::kDeferred) stored = raw;
    r.stored_size = static_cast<uint32_t>(stored.size());
    pack += EncodeEntryHeader(r) + stored;
  }
  ASSERT_EQ(ScanPack(pack, "seed").ValueOrDie().size(), 3u);
  Mutator m({pack}, /*text=*/false);
  uint64_t payloads = 0;
  uint64_t accepted = Fuzz("ScanPack+DecodePayload", &m, [&](std::string* in) {
    auto records = ScanPack(*in, "fuzz-where");
    if (!records.ok()) return records.status();
    for (const auto& r : *records) {
      EXPECT_LE(r.offset + kEntryHeaderSize + r.stored_size, in->size());
      const auto* stored =
          reinterpret_cast<const uint8_t*>(in->data()) + r.offset + kEntryHeaderSize;
      auto payload = DecodePayload(r, stored, "fuzz-where");
      if (!payload.ok()) return payload.status();
      EXPECT_EQ(static_cast<uint64_t>((*payload)->size()), r.raw_size);
      Status verified = VerifyPayload(r, **payload, "fuzz-where");
      if (!verified.ok()) return verified;
      ++payloads;
    }
    return Status::OK();
  });
  RecordProperty("accepted", std::to_string(accepted));
  RecordProperty("payloads", std::to_string(payloads));
}

}  // namespace
}  // namespace cairn::store
