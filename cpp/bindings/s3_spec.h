// S3 settings as they cross from Python: a tuple of strings from
// cairn.filesystems.S3Options.core_spec() (access key, secret, token, region, endpoint URL,
// max attempts).
#pragma once

#include <string>
#include <tuple>

#include "cairn/io/s3.h"

namespace cairn::py {

using S3Spec = std::tuple<std::string, std::string, std::string, std::string, std::string, int>;

inline io::S3Settings ToS3Settings(const S3Spec& spec) {
  const auto& [key, secret, token, region, endpoint, attempts] = spec;
  return io::S3Settings{key, secret, token, region, endpoint, attempts};
}

}  // namespace cairn::py
