#include "cairn/store/formats.h"

#include <gtest/gtest.h>

namespace cairn::store {
namespace {

TEST(Pointer, RoundTripsAndNamesTheFileWhenMalformed) {
  Pointer file{Pointer::Kind::kFile, Sha256::Of("x"), 1, true, 0};
  EXPECT_EQ(ParsePointer(EncodePointer(file), "a.cairn").ValueOrDie(), file);
  Pointer dir{Pointer::Kind::kDir, Sha256::Of("m"), 10, false, 3};
  EXPECT_EQ(ParsePointer(EncodePointer(dir), "d.cairn").ValueOrDie(), dir);

  std::string text = EncodePointer(file);
  for (const std::string& bad :
       {std::string("hello\n"), text.substr(0, text.size() - 1), text + "extra 1\n",
        std::string("cairn-pointer 1\nkind file\noid sha256:zz\nsize 1\nmode 644\n"),
        std::string("cairn-pointer 1\nkind file\noid sha256:") + Sha256::Of("").ToHex() +
            "\nsize -1\nmode 644\n"}) {
    auto parsed = ParsePointer(bad, "data/x.cairn");
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_NE(parsed.status().message().find("data/x.cairn"), std::string::npos);
    EXPECT_NE(parsed.status().message().find("malformed"), std::string::npos);
  }
}

TEST(Manifest, RoundTripsSorted) {
  std::vector<ManifestEntry> entries = {{"b/c.txt", Sha256::Of("1"), 1, false},
                                        {"a.bin", Sha256::Of("2"), 2, true}};
  auto parsed = DecodeManifest(EncodeManifest(entries), "m").ValueOrDie();
  ASSERT_EQ(parsed.size(), 2u);
  EXPECT_EQ(parsed[0].path, "a.bin");
  EXPECT_TRUE(parsed[0].executable);
  EXPECT_EQ(parsed[1].oid, Sha256::Of("1"));
}

TEST(Manifest, RefusesPathsThatEscape) {
  for (const char* path : {"../x", "a/../../x", "/etc/passwd", "a//b", "./a", "a/.", ""}) {
    std::string text = "cairn-manifest 1\n" + Sha256::Of("").ToHex() + " 0 644 " + path + "\n";
    auto parsed = DecodeManifest(text, "manifest m");
    EXPECT_FALSE(parsed.ok()) << path;
  }
  std::string unsorted = "cairn-manifest 1\n" + Sha256::Of("").ToHex() + " 0 644 b\n" +
                         Sha256::Of("").ToHex() + " 0 644 a\n";
  EXPECT_FALSE(DecodeManifest(unsorted, "m").ok());
}

TEST(Recipe, RoundTripsAndDetectsCorruption) {
  Recipe r{5, {{Sha256::Of("ab"), 2}, {Sha256::Of("cde"), 3}}};
  std::string data = EncodeRecipe(r);
  auto back = DecodeRecipe(data, "r").ValueOrDie();
  EXPECT_EQ(back.file_size, 5u);
  ASSERT_EQ(back.chunks.size(), 2u);
  EXPECT_EQ(back.chunks[1].id, Sha256::Of("cde"));
  data[20] ^= 1;
  EXPECT_FALSE(DecodeRecipe(data, "r").ok());
}

}  // namespace
}  // namespace cairn::store
