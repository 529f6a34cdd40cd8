#include "cairn/store/durable_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>

namespace cairn::store {

Status ErrnoError(const std::string& what, const std::string& path, int err) {
  if (err == ENOSPC || err == EDQUOT) {
    return Status::IOError(what, " '", path, "': disk full (", std::strerror(err),
                           "); free some space and run the command again, nothing stored "
                           "before was changed");
  }
  return Status::IOError(what, " '", path, "': ", std::strerror(err));
}

Result<TempFile> TempFile::Create(const std::string& dir) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  for (int attempt = 0; attempt < 16; ++attempt) {
    char name[40];
    std::snprintf(name, sizeof(name), "/%s%016llx", kTempPrefix,
                  static_cast<unsigned long long>(rng()));
    std::string path = dir + name;
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd >= 0) return TempFile(fd, path);
    if (errno != EEXIST) return ErrnoError("cannot create", path, errno);
  }
  return Status::IOError("cannot create a temporary file in '", dir, "'");
}

TempFile::TempFile(TempFile&& other) noexcept
    : fd_(other.fd_), path_(std::move(other.path_)), size_(other.size_) {
  other.fd_ = -1;
  other.path_.clear();
}

TempFile::~TempFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!path_.empty()) ::unlink(path_.c_str());
}

Status TempFile::Write(const void* data, size_t size) {
  const auto* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::write(fd_, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("cannot write", path_, errno);
    }
    p += n;
    size -= static_cast<size_t>(n);
    size_ += static_cast<uint64_t>(n);
  }
  return Status::OK();
}

Status TempFile::Commit(const std::string& final_path, bool sync) {
  if (sync && ::fsync(fd_) != 0) return ErrnoError("cannot write", path_, errno);
  if (::close(fd_) != 0) {
    fd_ = -1;
    return ErrnoError("cannot write", path_, errno);
  }
  fd_ = -1;
  if (::rename(path_.c_str(), final_path.c_str()) != 0) {
    return ErrnoError("cannot move into place", final_path, errno);
  }
  path_.clear();
  if (!sync) return Status::OK();
  return SyncDirectory(std::filesystem::path(final_path).parent_path().string());
}

Status WriteFileAtomically(const std::string& path, std::string_view data) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  CAIRN_ASSIGN_OR_RAISE(auto tmp, TempFile::Create(dir));
  CAIRN_RETURN_NOT_OK(tmp.Write(data.data(), data.size()));
  return tmp.Commit(path);
}

Status SyncDirectory(const std::string& dir) {
  int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("cannot open folder", dir, errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  // Some file systems (and /proc-like mounts) refuse fsync on folders; the rename stands.
  if (rc != 0 && err != EINVAL && err != EROFS) return ErrnoError("cannot sync folder", dir, err);
  return Status::OK();
}

Status MakeDirectories(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return ErrnoError("cannot create folder", dir, ec.value());
  return Status::OK();
}

}  // namespace cairn::store
