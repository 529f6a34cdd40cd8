// Whole-file reads and writes through arrow::fs (local disk and S3), with an optional
// compression codec.
#pragma once

#include <memory>
#include <string>

#include <arrow/buffer.h>
#include <arrow/filesystem/filesystem.h>
#include <arrow/util/compression.h>

#include "cairn/common/status.h"
#include "cairn/io/s3.h"

namespace cairn::io {

/// Marks an IOError whose cause is that the path does not exist (Python raises
/// FileNotFoundError for it).
class NotFoundDetail final : public arrow::StatusDetail {
 public:
  const char* type_id() const override { return "cairn::not_found"; }
  std::string ToString() const override { return "no such file"; }
};

/// An IOError for a file that could not be opened: with NotFoundDetail when the path does
/// not exist. The message names the path.
Status OpenError(arrow::fs::FileSystem& fs, const std::string& path, const Status& cause);

/// Resolves a path or URI ("/tmp/x", "file:///tmp/x", "s3://bucket/key") to a filesystem
/// and a path in it; S3 URIs use the (cached) client for `s3`.
/// Errors: Invalid for an unsupported scheme, with the URI in the message.
Result<std::pair<std::shared_ptr<arrow::fs::FileSystem>, std::string>> ResolvePath(
    const std::string& uri, const S3Settings& s3 = {});

/// Writes `data` to `path`, compressed with `codec` (UNCOMPRESSED to write as is).
/// Errors: IOError naming the path (missing directory, permissions, disk full).
Status WriteFile(arrow::fs::FileSystem& fs, const std::string& path, const arrow::Buffer& data,
                 arrow::Compression::type codec = arrow::Compression::UNCOMPRESSED);

/// Reads all of `path`, decompressing with `codec`.
/// Errors: IOError naming the path when it is missing or unreadable; IOError naming the path
/// when the compressed stream is corrupt or truncated.
Result<std::shared_ptr<arrow::Buffer>> ReadFile(
    arrow::fs::FileSystem& fs, const std::string& path,
    arrow::Compression::type codec = arrow::Compression::UNCOMPRESSED);

}  // namespace cairn::io
