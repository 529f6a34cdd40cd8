#include "cairn/io/file_io.h"

#include <arrow/io/compressed.h>
#include <arrow/io/interfaces.h>
#include <arrow/io/memory.h>

namespace cairn::io {
namespace {

Status WithPath(const Status& st, const std::string& what, const std::string& path) {
  if (st.ok()) return st;
  return Status::IOError(what, " '", path, "': ", st.message());
}

}  // namespace

Status OpenError(arrow::fs::FileSystem& fs, const std::string& path, const Status& cause) {
  auto info = fs.GetFileInfo(path);
  if (info.ok() && info->type() == arrow::fs::FileType::NotFound) {
    return Status(arrow::StatusCode::IOError, "no such file: '" + path + "'",
                  std::make_shared<NotFoundDetail>());
  }
  return Status::IOError("cannot open '", path, "': ", cause.message());
}

Result<std::pair<std::shared_ptr<arrow::fs::FileSystem>, std::string>> ResolvePath(
    const std::string& uri, const S3Settings& s3) {
  if (IsS3Uri(uri)) {
    std::string path = uri.substr(5);
    while (!path.empty() && path.back() == '/') path.pop_back();
    if (path.empty() || path.front() == '/') {
      return Status::Invalid("cannot open '", uri, "': an S3 URI is s3://bucket/key");
    }
    CAIRN_ASSIGN_OR_RAISE(auto fs, S3FileSystemFor(s3));
    return std::make_pair(std::move(fs), std::move(path));
  }
  std::string path;
  auto fs = arrow::fs::FileSystemFromUriOrPath(uri, &path);
  if (!fs.ok()) {
    return Status::Invalid("cannot open '", uri, "': ", fs.status().message());
  }
  return std::make_pair(*fs, path);
}

Status WriteFile(arrow::fs::FileSystem& fs, const std::string& path, const arrow::Buffer& data,
                 arrow::Compression::type codec) {
  auto raw = fs.OpenOutputStream(path);
  if (!raw.ok()) return WithPath(raw.status(), "cannot create", path);
  std::shared_ptr<arrow::io::OutputStream> out = *raw;
  if (codec != arrow::Compression::UNCOMPRESSED) {
    auto c = arrow::util::Codec::Create(codec);
    if (!c.ok()) return WithPath(c.status(), "no codec to write", path);
    auto compressed = arrow::io::CompressedOutputStream::Make(c->get(), out);
    if (!compressed.ok()) return WithPath(compressed.status(), "cannot compress", path);
    CAIRN_RETURN_NOT_OK(
        WithPath((*compressed)->Write(data.data(), data.size()), "cannot write", path));
    CAIRN_RETURN_NOT_OK(WithPath((*compressed)->Close(), "cannot write", path));
    return Status::OK();
  }
  CAIRN_RETURN_NOT_OK(WithPath(out->Write(data.data(), data.size()), "cannot write", path));
  return WithPath(out->Close(), "cannot write", path);
}

Result<std::shared_ptr<arrow::Buffer>> ReadFile(arrow::fs::FileSystem& fs, const std::string& path,
                                                arrow::Compression::type codec) {
  auto raw = fs.OpenInputStream(path);
  if (!raw.ok()) return OpenError(fs, path, raw.status());
  std::shared_ptr<arrow::io::InputStream> in = *raw;
  std::unique_ptr<arrow::util::Codec> c;
  if (codec != arrow::Compression::UNCOMPRESSED) {
    auto made = arrow::util::Codec::Create(codec);
    if (!made.ok()) return WithPath(made.status(), "no codec to read", path);
    c = std::move(*made);
    auto compressed = arrow::io::CompressedInputStream::Make(c.get(), in);
    if (!compressed.ok()) return WithPath(compressed.status(), "cannot decompress", path);
    in = *compressed;
  }
  arrow::BufferVector parts;
  int64_t total = 0;
  while (true) {
    auto chunk = in->Read(1 << 20);
    if (!chunk.ok()) return WithPath(chunk.status(), "cannot read", path);
    if ((*chunk)->size() == 0) break;
    total += (*chunk)->size();
    parts.push_back(*chunk);
  }
  CAIRN_RETURN_NOT_OK(WithPath(in->Close(), "cannot read", path));
  auto joined = arrow::ConcatenateBuffers(parts);
  if (!joined.ok()) return WithPath(joined.status(), "cannot read", path);
  (void)total;
  return *joined;
}

}  // namespace cairn::io
