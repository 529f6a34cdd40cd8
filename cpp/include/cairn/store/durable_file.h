// Crash-safe local file writes: temp file in the same folder + fsync + rename + fsync of
// the folder. Used for everything the store writes locally (packs, indexes, pointers).
#pragma once

#include <sys/uio.h>

#include <memory>
#include <string>
#include <string_view>

#include "cairn/common/status.h"

namespace cairn::store {

/// Temporary files start with this; `cairn add` never tracks such a file and gc removes
/// old ones (a killed checkout can leave one in the work tree).
inline constexpr const char* kTempPrefix = ".cairn-tmp-";

/// A file being written under a temporary name. Commit() makes it appear under its final
/// name complete or not at all; destroying it uncommitted removes the temporary file.
/// Errors name the path; a full disk says so (and leaves nothing behind). Not thread-safe.
class TempFile {
 public:
  /// kDirect writes large files past the page cache (O_DIRECT, in aligned 8 MiB pieces):
  /// on Linux the kernel's buffered write path and writeback cost more CPU than hashing
  /// the same bytes. Falls back to buffered writes where the file system refuses it.
  enum class Mode { kBuffered, kDirect };
  /// Creates a new, uniquely named temporary file in `dir` (which must exist).
  static Result<TempFile> Create(const std::string& dir, Mode mode = Mode::kBuffered);
  TempFile(TempFile&& other) noexcept;
  TempFile& operator=(TempFile&&) = delete;
  ~TempFile();

  /// Appends; buffered, every few MiB starts the kernel writing back what came before
  /// (without waiting), so the fsync in Commit() has little left to do.
  Status Write(const void* data, size_t size);
  /// Appends `first` then `second` with one system call where possible.
  Status Write(std::string_view first, std::string_view second);
  /// fsyncs the data, renames it to `final_path` (replacing what is there) and fsyncs the
  /// folder of `final_path`. With sync=false only renames (work-tree files, which can be
  /// written again from the cache, skip the cost of fsync).
  Status Commit(const std::string& final_path, bool sync = true);
  const std::string& path() const { return path_; }
  uint64_t size() const { return size_; }

 private:
  struct Staging;  // the aligned buffer of direct mode
  TempFile(int fd, std::string path, std::unique_ptr<Staging> staging);
  Status Append(std::string_view bytes);
  Status WriteAll(iovec* parts, int count);        // all of them, at the file's offset
  Status WriteOut(const char* data, size_t size);  // all of it, at the file's offset
  void StartWriteBack();  // buffered: asks the kernel to write back every few MiB
  Status Unstage();       // leaves direct mode: what is staged is written buffered

  int fd_ = -1;
  std::string path_;
  uint64_t size_ = 0;
  uint64_t flushed_ = 0;  // buffered: writeback has been started for the bytes before this
  std::unique_ptr<Staging> staging_;  // direct mode only
};

/// Writes `data` to `path` atomically (a temp file next to it, then rename).
Status WriteFileAtomically(const std::string& path, std::string_view data);

/// fsyncs a folder so a rename or unlink in it survives a crash.
Status SyncDirectory(const std::string& dir);

/// Creates `dir` and its parents if missing.
Status MakeDirectories(const std::string& dir);

/// An IOError for a failed system call on `path`, saying "disk full" plainly for ENOSPC.
Status ErrnoError(const std::string& what, const std::string& path, int err);

}  // namespace cairn::store
