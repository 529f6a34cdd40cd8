#include "cairn/io/s3.h"

#include <arrow/filesystem/s3fs.h>

#include <mutex>
#include <utility>
#include <vector>

namespace cairn::io {
namespace {

struct Cache {
  std::mutex mu;
  bool initialized = false;
  std::vector<std::pair<S3Settings, std::shared_ptr<arrow::fs::FileSystem>>> entries;
};

Cache& TheCache() {
  static Cache* cache = new Cache;  // never destroyed: ShutdownS3 empties it
  return *cache;
}

Result<arrow::fs::S3Options> ToOptions(const S3Settings& s) {
  arrow::fs::S3Options options =
      s.access_key.empty()
          ? arrow::fs::S3Options::Defaults()
          : arrow::fs::S3Options::FromAccessKey(s.access_key, s.secret_key, s.session_token);
  options.region = s.region;
  if (!s.endpoint_url.empty()) {
    auto sep = s.endpoint_url.find("://");
    if (sep == std::string::npos) {
      options.endpoint_override = s.endpoint_url;
    } else {
      options.scheme = s.endpoint_url.substr(0, sep);
      options.endpoint_override = s.endpoint_url.substr(sep + 3);
      if (options.scheme != "http" && options.scheme != "https") {
        return Status::Invalid("S3 endpoint_url '", s.endpoint_url,
                               "' must start with http:// or https://");
      }
    }
    while (!options.endpoint_override.empty() && options.endpoint_override.back() == '/') {
      options.endpoint_override.pop_back();
    }
    if (options.endpoint_override.empty()) {
      return Status::Invalid("S3 endpoint_url '", s.endpoint_url, "' names no host");
    }
  }
  options.retry_strategy =
      arrow::fs::S3RetryStrategy::GetAwsStandardRetryStrategy(std::max(1, s.max_attempts));
  options.connect_timeout = 5;
  options.allow_bucket_creation = false;
  return options;
}

}  // namespace

bool IsS3Uri(const std::string& uri) { return uri.rfind("s3://", 0) == 0; }

Result<std::shared_ptr<arrow::fs::FileSystem>> S3FileSystemFor(const S3Settings& settings) {
  Cache& cache = TheCache();
  std::lock_guard lock(cache.mu);
  for (const auto& [s, fs] : cache.entries) {
    if (s == settings) return fs;
  }
  if (!cache.initialized) {
    auto st = arrow::fs::EnsureS3Initialized();
    if (!st.ok()) return Status::IOError("cannot set up S3 support: ", st.message());
    cache.initialized = true;
  }
  CAIRN_ASSIGN_OR_RAISE(auto options, ToOptions(settings));
  auto made = arrow::fs::S3FileSystem::Make(options);
  if (!made.ok()) return Status::IOError("cannot set up an S3 client: ", made.status().message());
  std::shared_ptr<arrow::fs::FileSystem> fs = *made;
  cache.entries.emplace_back(settings, fs);
  return fs;
}

void ShutdownS3() {
  Cache& cache = TheCache();
  std::lock_guard lock(cache.mu);
  cache.entries.clear();
  if (cache.initialized) {
    (void)arrow::fs::EnsureS3Finalized();
    cache.initialized = false;
  }
}

}  // namespace cairn::io
