#include "tree_walk.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>

#include "cairn/store/durable_file.h"
#include "cairn/store/formats.h"

namespace cairn::store {

Result<std::vector<TreeFile>> ListTree(const std::string& root) {
  namespace fs = std::filesystem;
  std::vector<TreeFile> files;
  std::error_code ec;
  fs::recursive_directory_iterator it(root, fs::directory_options::none, ec), end;
  if (ec) return ErrnoError("cannot read folder", root, ec.value());
  for (; it != end; it.increment(ec)) {
    if (ec) return ErrnoError("cannot read folder", root, ec.value());
    const std::string path = it->path().string();
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) return ErrnoError("cannot read", path, errno);
    if (S_ISDIR(st.st_mode)) continue;
    if (it->path().filename().string().rfind(kTempPrefix, 0) == 0) continue;  // a killed write
    if (!S_ISREG(st.st_mode)) {
      return Status::Invalid("'", path,
                             "' is not a regular file (symlinks, devices and sockets cannot be "
                             "tracked); remove it or move it out of '",
                             root, "'");
    }
    std::string rel = fs::relative(it->path(), root).generic_string();
    CAIRN_RETURN_NOT_OK(ValidateRelativePath(rel, root));
    files.push_back(
        {std::move(rel), path, static_cast<uint64_t>(st.st_size), (st.st_mode & S_IXUSR) != 0});
  }
  std::sort(files.begin(), files.end(),
            [](const TreeFile& a, const TreeFile& b) { return a.rel < b.rel; });
  return files;
}

}  // namespace cairn::store
