// Reading a text file, or the block of lines that starts in a byte range of it.
#pragma once

#include <arrow/buffer.h>
#include <arrow/filesystem/filesystem.h>
#include <arrow/util/compression.h>

#include <memory>
#include <string>

#include "cairn/common/status.h"

namespace cairn::io {

struct TextBlock {
  std::shared_ptr<arrow::Buffer> data;
  int64_t start = 0;  // offset of data[0] in the (decompressed) file
};

/// The lines of `path` that belong to the block [offset, offset + size): the block starts
/// just after the first "\n" at or after `offset` (at 0 for offset 0) and ends just after
/// the first "\n" at or after offset + size (or at the end of the file), so consecutive
/// blocks cover the file exactly once and never split a line. size < 0 reads the whole
/// file; a compressed file (codec not UNCOMPRESSED) is always read whole.
/// `listed_size` >= 0 is the file's size as listed: on S3 it saves a HEAD request per file.
/// Errors: IOError naming the path (missing, unreadable, truncated or corrupt compression).
Result<TextBlock> ReadTextBlock(arrow::fs::FileSystem& fs, const std::string& path, int64_t offset,
                                int64_t size, arrow::Compression::type codec,
                                int64_t listed_size = -1);

}  // namespace cairn::io
