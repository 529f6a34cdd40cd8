// Native task bodies for text collections (Bag's fast path). All run without the GIL.
#pragma once

#include <arrow/util/compression.h>

#include <memory>
#include <string>
#include <vector>

#include "cairn/graph/task.h"
#include "cairn/io/s3.h"
#include "cairn/text/pipeline.h"

namespace cairn::text {

/// A piece of input: a whole file (size < 0, or compressed) or a block of one.
struct TextSegment {
  std::string path;  // a local path or URI understood by arrow::fs
  int64_t offset = 0;
  int64_t size = -1;
  arrow::Compression::type codec = arrow::Compression::UNCOMPRESSED;
  io::S3Settings s3;         // for s3:// paths
  int64_t listed_size = -1;  // the size listed for the file, when known (saves a lookup on S3)
};

/// Reads its segments, decodes UTF-8 (strict: an error naming file and byte offset;
/// replace: U+FFFD as Python does), splits lines with universal newlines and runs the
/// pipeline into the sink, all in one pass. No inputs. `partition` is the partition's
/// index: n-gram counts order first occurrences across partitions by it.
std::shared_ptr<TaskBody> MakeTextScan(std::vector<TextSegment> segments, bool replace_errors,
                                       std::vector<TextOp> ops, SinkKind sink,
                                       int64_t partition = 0);

/// Merges CountsValue inputs, in input order (keys first seen earlier come first).
/// N-gram counts are merged into one sorted run, or with `concat` only listed together (for
/// the last merge, whose consumer, topk or the conversion to Python, streams the merge).
std::shared_ptr<TaskBody> MakeMergeCounts(bool concat = false);
/// Sums int64 inputs.
std::shared_ptr<TaskBody> MakeSumInt64();
/// Orders a CountsValue by count, largest first, keeping the first `k` (all if k < 0).
std::shared_ptr<TaskBody> MakeLargestCounts(int64_t k);

}  // namespace cairn::text
