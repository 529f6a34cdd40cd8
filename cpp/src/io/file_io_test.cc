#include "cairn/io/file_io.h"

#include <gtest/gtest.h>

#include <filesystem>

#include <arrow/filesystem/localfs.h>

namespace cairn::io {
namespace {

class FileIoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = std::filesystem::temp_directory_path() /
          ("cairn_file_io_" + std::to_string(::getpid()) + "_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir);
  }
  void TearDown() override { std::filesystem::remove_all(dir); }
  std::filesystem::path dir;
  arrow::fs::LocalFileSystem fs;
};

std::shared_ptr<arrow::Buffer> Text(size_t n) {
  std::string s;
  for (size_t i = 0; s.size() < n; ++i) s += "line " + std::to_string(i % 97) + " of text\n";
  s.resize(n);
  return arrow::Buffer::FromString(std::move(s));
}

TEST_F(FileIoTest, ZstdRoundTripThroughLocalFileSystem) {
  auto data = Text(1 << 20);
  std::string path = (dir / "a.zst").string();
  ASSERT_TRUE(WriteFile(fs, path, *data, arrow::Compression::ZSTD).ok());
  EXPECT_LT(std::filesystem::file_size(path), data->size() / 4);  // it really compressed
  auto back = ReadFile(fs, path, arrow::Compression::ZSTD);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE((*back)->Equals(*data));
}

TEST_F(FileIoTest, ResolvesPathsAndFileUris) {
  auto data = Text(1000);
  std::string path = (dir / "plain.txt").string();
  auto resolved = ResolvePath("file://" + path);
  ASSERT_TRUE(resolved.ok()) << resolved.status();
  ASSERT_TRUE(WriteFile(*resolved->first, resolved->second, *data).ok());
  auto back = ReadFile(fs, path);
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE((*back)->Equals(*data));
}

TEST_F(FileIoTest, MissingFileErrorNamesThePath) {
  std::string path = (dir / "nope.txt").string();
  auto back = ReadFile(fs, path);
  ASSERT_FALSE(back.ok());
  EXPECT_TRUE(back.status().IsIOError());
  EXPECT_NE(back.status().message().find(path), std::string::npos);
  EXPECT_NE(dynamic_cast<NotFoundDetail*>(back.status().detail().get()), nullptr);
}

TEST_F(FileIoTest, TruncatedCompressedFileIsAnError) {
  auto data = Text(1 << 20);
  std::string path = (dir / "t.gz").string();
  ASSERT_TRUE(WriteFile(fs, path, *data, arrow::Compression::GZIP).ok());
  std::filesystem::resize_file(path, std::filesystem::file_size(path) / 2);
  auto back = ReadFile(fs, path, arrow::Compression::GZIP);
  ASSERT_FALSE(back.ok());
  EXPECT_NE(back.status().message().find(path), std::string::npos);
}

TEST_F(FileIoTest, UnsupportedSchemeIsInvalid) {
  auto resolved = ResolvePath("nosuchscheme://bucket/key");
  ASSERT_FALSE(resolved.ok());
  EXPECT_NE(resolved.status().message().find("nosuchscheme://bucket/key"), std::string::npos);
}

}  // namespace
}  // namespace cairn::io
