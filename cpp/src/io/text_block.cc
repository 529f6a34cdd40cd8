#include "cairn/io/text_block.h"

#include <arrow/io/interfaces.h>

#include <cstring>

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

}  // namespace

Result<TextBlock> ReadTextBlock(arrow::fs::FileSystem& fs, const std::string& path,
                                int64_t offset, int64_t size, arrow::Compression::type codec) {
  if (codec != arrow::Compression::UNCOMPRESSED) {
    CAIRN_ASSIGN_OR_RAISE(auto data, ReadFile(fs, path, codec));
    return TextBlock{std::move(data), 0};
  }
  auto opened = fs.OpenInputFile(path);
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
  auto data = file->ReadAt(*start, *end - *start);
  if (!data.ok()) return wrap(data.status());
  CAIRN_RETURN_NOT_OK(wrap(file->Close()));
  return TextBlock{*data, *start};
}

}  // namespace cairn::io
