#include "cairn/io/text_block.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <arrow/filesystem/localfs.h>

#include "cairn/io/file_io.h"

namespace cairn::io {
namespace {

class TextBlockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = std::filesystem::temp_directory_path() /
          ("cairn_text_block_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
  }
  void TearDown() override { std::filesystem::remove_all(dir); }
  std::string Write(const std::string& name, const std::string& content) {
    std::string path = (dir / name).string();
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }
  std::filesystem::path dir;
  arrow::fs::LocalFileSystem fs;
};

TEST_F(TextBlockTest, BlocksCoverTheFileExactlyOnceAtLineBoundaries) {
  std::string content;
  for (int i = 0; i < 300; ++i) content += std::string(i % 17, 'x') + std::to_string(i) + "\n";
  content += "no newline at end";
  std::string path = Write("lines.txt", content);
  for (int64_t block : {1, 2, 3, 7, 64, 1000, 100000}) {
    std::string joined;
    for (int64_t off = 0; off < static_cast<int64_t>(content.size()); off += block) {
      auto b = ReadTextBlock(fs, path, off, block, arrow::Compression::UNCOMPRESSED);
      ASSERT_TRUE(b.ok()) << b.status();
      std::string piece = b->data->ToString();
      if (!piece.empty()) {
        EXPECT_EQ(b->start, static_cast<int64_t>(joined.size()));
        EXPECT_TRUE(b->start == 0 || content[b->start - 1] == '\n');
      }
      joined += piece;
    }
    EXPECT_EQ(joined, content) << "block size " << block;
  }
}

TEST_F(TextBlockTest, CompressedFilesAreReadWhole) {
  std::string path = (dir / "c.gz").string();
  auto data = arrow::Buffer::FromString("one\ntwo\n");
  ASSERT_TRUE(WriteFile(fs, path, *data, arrow::Compression::GZIP).ok());
  auto b = ReadTextBlock(fs, path, 0, 3, arrow::Compression::GZIP);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->data->ToString(), "one\ntwo\n");
}

TEST_F(TextBlockTest, MissingFileNamesPath) {
  auto b = ReadTextBlock(fs, (dir / "missing.txt").string(), 0, 10,
                         arrow::Compression::UNCOMPRESSED);
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.status().message().find("missing.txt"), std::string::npos);
}

}  // namespace
}  // namespace cairn::io
