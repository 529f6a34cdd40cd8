#include "cairn/store/durable_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>

namespace cairn::store {
namespace {
constexpr uint64_t kWriteBackEvery = 16ull << 20;
}  // namespace

Status ErrnoError(const std::string& what, const std::string& path, int err) {
  if (err == ENOSPC || err == EDQUOT) {
    return Status::IOError(what, " '", path, "': disk full (", std::strerror(err),
                           "); free some space and run the command again, nothing stored "
                           "before was changed");
  }
  return Status::IOError(what, " '", path, "': ", std::strerror(err));
}

// Direct mode: bytes gather in an aligned buffer and go out in whole multiples of the
// alignment; the tail (and everything after a refusal) is written buffered.
struct TempFile::Staging {
  static constexpr size_t kAlign = 4096;
  static constexpr size_t kCapacity = 8u << 20;
  char* bytes = static_cast<char*>(std::aligned_alloc(kAlign, kCapacity));
  size_t used = 0;
  ~Staging() { std::free(bytes); }
};

Result<TempFile> TempFile::Create(const std::string& dir, Mode mode) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  for (int attempt = 0; attempt < 16; ++attempt) {
    char name[40];
    std::snprintf(name, sizeof(name), "/%s%016llx", kTempPrefix,
                  static_cast<unsigned long long>(rng()));
    std::string path = dir + name;
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
      if (errno == EEXIST) continue;
      return ErrnoError("cannot create", path, errno);
    }
    TempFile file(fd, path, nullptr);
    // Direct only where the file system takes the flag (not tmpfs before Linux 6.6, ...).
    const int flags = ::fcntl(fd, F_GETFL);
    if (mode == Mode::kDirect && flags >= 0 && ::fcntl(fd, F_SETFL, flags | O_DIRECT) == 0) {
      file.staging_ = std::make_unique<Staging>();
      if (file.staging_->bytes == nullptr) {
        return Status::OutOfMemory("no buffer to write '", path, "'");  // `file` removes it
      }
    }
    return file;
  }
  return Status::IOError("cannot create a temporary file in '", dir, "'");
}

TempFile::TempFile(int fd, std::string path, std::unique_ptr<Staging> staging)
    : fd_(fd), path_(std::move(path)), staging_(std::move(staging)) {}

TempFile::TempFile(TempFile&& other) noexcept
    : fd_(other.fd_),
      path_(std::move(other.path_)),
      size_(other.size_),
      flushed_(other.flushed_),
      staging_(std::move(other.staging_)) {
  other.fd_ = -1;
  other.path_.clear();
}

TempFile::~TempFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!path_.empty()) ::unlink(path_.c_str());
}

Status TempFile::WriteAll(iovec* next, int count) {
  while (count > 0) {
    if (next->iov_len == 0) {
      ++next;
      --count;
      continue;
    }
    ssize_t n = ::writev(fd_, next, count);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("cannot write", path_, errno);
    }
    for (auto left = static_cast<size_t>(n); left > 0;) {  // skip what was written
      const size_t step = std::min(left, next->iov_len);
      next->iov_base = static_cast<char*>(next->iov_base) + step;
      next->iov_len -= step;
      left -= step;
      if (next->iov_len == 0 && count > 0) {
        ++next;
        --count;
      }
    }
  }
  return Status::OK();
}

Status TempFile::WriteOut(const char* data, size_t size) {
  iovec part{const_cast<char*>(data), size};
  return WriteAll(&part, 1);
}

void TempFile::StartWriteBack() {
  if (size_ - flushed_ < kWriteBackEvery) return;
  // Only a hint: an error here shows up again at fsync.
  (void)::sync_file_range(fd_, static_cast<off64_t>(flushed_),
                          static_cast<off64_t>(size_ - flushed_), SYNC_FILE_RANGE_WRITE);
  flushed_ = size_;
}

Status TempFile::Unstage() {
  const int flags = ::fcntl(fd_, F_GETFL);
  if (flags < 0 || ::fcntl(fd_, F_SETFL, flags & ~O_DIRECT) != 0) {
    return ErrnoError("cannot write", path_, errno);
  }
  auto staging = std::move(staging_);
  return WriteOut(staging->bytes, staging->used);
}

Status TempFile::Append(std::string_view bytes) {
  size_ += bytes.size();
  if (!staging_) {
    CAIRN_RETURN_NOT_OK(WriteOut(bytes.data(), bytes.size()));
    StartWriteBack();
    return Status::OK();
  }
  while (!bytes.empty()) {
    const size_t take = std::min(bytes.size(), Staging::kCapacity - staging_->used);
    std::memcpy(staging_->bytes + staging_->used, bytes.data(), take);
    staging_->used += take;
    bytes.remove_prefix(take);
    if (staging_->used < Staging::kCapacity) break;
    ssize_t n;
    do {
      n = ::write(fd_, staging_->bytes, Staging::kCapacity);
    } while (n < 0 && errno == EINTR);
    // EINVAL: the file system took the flag but not the write.
    if (n < 0 && errno != EINVAL) return ErrnoError("cannot write", path_, errno);
    const size_t written = n < 0 ? 0 : static_cast<size_t>(n);
    if (written != Staging::kCapacity) {
      // Refused, or a short direct write (a full disk on some file systems): what is left
      // of the staged bytes and the rest of `bytes` are written buffered.
      std::memmove(staging_->bytes, staging_->bytes + written, Staging::kCapacity - written);
      staging_->used = Staging::kCapacity - written;
      CAIRN_RETURN_NOT_OK(Unstage());
      size_ -= bytes.size();  // counted above; Append counts it again
      return Append(bytes);
    }
    staging_->used = 0;
  }
  return Status::OK();
}

Status TempFile::Write(const void* data, size_t size) {
  return Append(std::string_view(static_cast<const char*>(data), size));
}

Status TempFile::Write(std::string_view first, std::string_view second) {
  if (staging_) {
    CAIRN_RETURN_NOT_OK(Append(first));
    return Append(second);
  }
  iovec parts[2] = {{const_cast<char*>(first.data()), first.size()},
                    {const_cast<char*>(second.data()), second.size()}};
  CAIRN_RETURN_NOT_OK(WriteAll(parts, 2));
  size_ += first.size() + second.size();
  StartWriteBack();
  return Status::OK();
}

Status TempFile::Commit(const std::string& final_path, bool sync) {
  if (staging_) CAIRN_RETURN_NOT_OK(Unstage());  // the tail is not a whole aligned block
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
