#include "cairn/io/text_block.h"

#include <arrow/io/interfaces.h>

#include <algorithm>
#include <cstring>
#include <thread>
#include <vector>

#include "cairn/io/file_io.h"

namespace cairn::io {
namespace {

// Offset just after the first '\n' at or after `offset`, or the file size.
Result<int64_t> LineStartAtOrAfter(arrow::io::RandomAccessFile& file, int64_t offset,
                                   int64_t file_size) {
  if (offset <= 0) return 0;
  constexpr int64_t kChunk = 1 << 16;
  int64_t pos = offset;
  while (pos < file_size) {
    CAIRN_ASSIGN_OR_RAISE(auto chunk, file.ReadAt(pos, std::min(kChunk, file_size - pos)));
    if (chunk->size() == 0) break;
    const void* nl = std::memchr(chunk->data(), '\n', chunk->size());
    if (nl != nullptr) return pos + (static_cast<const uint8_t*>(nl) - chunk->data()) + 1;
    pos += chunk->size();
  }
  return file_size;
}

// A remote block is fetched as up to kMaxPieces concurrent ranged reads into one buffer:
// on S3 one GET of 64 MiB waits on a single connection while the pieces overlap.
constexpr int64_t kPieceBytes = 8 << 20;
constexpr int64_t kMaxPieces = 8;

Result<std::shared_ptr<arrow::Buffer>> ReadInPieces(arrow::io::RandomAccessFile& file,
                                                    int64_t offset, int64_t size) {
  CAIRN_ASSIGN_OR_RAISE(std::shared_ptr<arrow::Buffer> buffer, arrow::AllocateBuffer(size));
  const int64_t pieces = std::min(kMaxPieces, (size + kPieceBytes - 1) / kPieceBytes);
  const int64_t step = (size + pieces - 1) / pieces;
  std::vector<Status> results(static_cast<size_t>(pieces));
  std::vector<std::thread> threads;
  for (int64_t i = 0; i < pieces; ++i) {
    threads.emplace_back([&, i] {
      const int64_t begin = i * step, n = std::min(step, size - begin);
      auto got = file.ReadAt(offset + begin, n, buffer->mutable_data() + begin);
      results[static_cast<size_t>(i)] = !got.ok() ? got.status()
                                        : *got != n
                                            ? Status::IOError("short read at byte ", offset + begin,
                                                              " (", *got, " of ", n, " bytes)")
                                            : Status::OK();
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& st : results) CAIRN_RETURN_NOT_OK(st);
  return buffer;
}

}  // namespace

Result<TextBlock> ReadTextBlock(arrow::fs::FileSystem& fs, const std::string& path, int64_t offset,
                                int64_t size, arrow::Compression::type codec, int64_t listed_size) {
  if (codec != arrow::Compression::UNCOMPRESSED) {
    CAIRN_ASSIGN_OR_RAISE(auto data, ReadFile(fs, path, codec));
    return TextBlock{std::move(data), 0};
  }
  arrow::fs::FileInfo info(path, arrow::fs::FileType::File);
  if (listed_size >= 0) info.set_size(listed_size);
  auto opened = listed_size >= 0 ? fs.OpenInputFile(info) : fs.OpenInputFile(path);
  if (!opened.ok()) return OpenError(fs, path, opened.status());
  auto file = *opened;
  auto wrap = [&path](const Status& st) {
    return st.ok() ? st : Status::IOError("cannot read '", path, "': ", st.message());
  };
  auto file_size = file->GetSize();
  if (!file_size.ok()) return wrap(file_size.status());
  Result<int64_t> start = int64_t{0}, end = *file_size;
  if (size >= 0) {  // a block: find its line boundaries; else the whole file
    start = LineStartAtOrAfter(*file, offset, *file_size);
    if (!start.ok()) return wrap(start.status());
    end = LineStartAtOrAfter(*file, offset + size, *file_size);
    if (!end.ok()) return wrap(end.status());
  }
  if (*end <= *start) return TextBlock{std::make_shared<arrow::Buffer>(nullptr, 0), *start};
  std::shared_ptr<arrow::Buffer> data;
  if (fs.type_name() != "local" && *end - *start > 2 * kPieceBytes) {
    auto read = ReadInPieces(*file, *start, *end - *start);
    if (!read.ok()) return wrap(read.status());
    data = *read;
  } else {
    auto read = file->ReadAt(*start, *end - *start);
    if (!read.ok()) return wrap(read.status());
    data = *read;
  }
  CAIRN_RETURN_NOT_OK(wrap(file->Close()));
  return TextBlock{std::move(data), *start};
}

}  // namespace cairn::io
