// S3 file systems through arrow::fs: one client per distinct set of settings, shared by
// every reader and writer in the process.
#pragma once

#include <arrow/filesystem/filesystem.h>

#include <memory>
#include <string>

#include "cairn/common/status.h"

namespace cairn::io {

/// How to reach S3. The Python front fills it from `storage_options=` and the `AWS_*`
/// environment; empty fields mean "the AWS SDK's default" (its credential chain, its region).
/// The secret fields are never put into error messages or logs.
struct S3Settings {
  std::string access_key;  // empty: the SDK's default credential chain
  std::string secret_key;
  std::string session_token;
  std::string region;        // empty: AWS_REGION / the profile / us-east-1
  std::string endpoint_url;  // "http://127.0.0.1:9000" for S3-compatible servers; empty: AWS
  int max_attempts = 6;      // per request, with exponential backoff (5xx, timeouts, throttling)

  bool operator==(const S3Settings&) const = default;
};

/// The S3 file system for `settings`, made on first use and cached for the life of the
/// process (so connections are reused across tasks). Thread-safe. Paths in it are
/// "bucket/key". Initialises Arrow's S3 support on first call.
/// Errors: Invalid for a malformed endpoint_url; IOError when the SDK cannot be set up.
Result<std::shared_ptr<arrow::fs::FileSystem>> S3FileSystemFor(const S3Settings& settings);

/// Drops the cached S3 file systems and finalises Arrow's S3 support; call once at exit,
/// after the last S3 operation (the Python front registers it with atexit).
void ShutdownS3();

/// True for "s3://..." URIs.
bool IsS3Uri(const std::string& uri);

}  // namespace cairn::io
