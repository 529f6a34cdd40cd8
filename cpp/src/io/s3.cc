#include "cairn/io/s3.h"

#include <arrow/filesystem/s3fs.h>

#include <algorithm>
#include <mutex>
#include <random>
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

// Retries what a busy or restarting server answers (5xx, throttling, timeouts, refused or
// reset connections) with exponential backoff and jitter (between half and all of 50 ms,
// 100 ms, ... at most 5 s). Unlike the AWS SDK's standard strategy it has no retry quota, and it
// also retries errors the SDK cannot classify: a 503 to a HEAD request has no body, so the SDK
// reports it as UNKNOWN and would not retry it. Error types are aws-sdk-cpp's CoreErrors values.
class BackoffRetryStrategy final : public arrow::fs::S3RetryStrategy {
 public:
  explicit BackoffRetryStrategy(int max_attempts) : max_attempts_(std::max(1, max_attempts)) {}

  bool ShouldRetry(const AWSErrorDetail& error, int64_t attempted_retries) override {
    if (attempted_retries + 1 >= max_attempts_) return false;
    constexpr int kInternalFailure = 1, kServiceUnavailable = 12, kThrottling = 13, kSlowDown = 19,
                  kRequestTimeout = 24, kNetworkConnection = 99, kUnknown = 100;
    switch (error.error_type) {
      case kInternalFailure:
      case kServiceUnavailable:
      case kThrottling:
      case kSlowDown:
      case kRequestTimeout:
      case kNetworkConnection:
      case kUnknown:
        return true;
      default:
        return error.should_retry;
    }
  }

  int64_t CalculateDelayBeforeNextRetry(const AWSErrorDetail&, int64_t attempted_retries) override {
    const int64_t cap =
        std::min<int64_t>(5000, int64_t{50} << std::min<int64_t>(attempted_retries, 10));
    thread_local std::minstd_rand random(std::random_device{}());
    return cap / 2 + static_cast<int64_t>(random() % static_cast<uint64_t>(cap / 2 + 1));
  }

 private:
  int max_attempts_;
};

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
  options.retry_strategy = std::make_shared<BackoffRetryStrategy>(s.max_attempts);
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
