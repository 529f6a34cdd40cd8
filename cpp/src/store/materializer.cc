#include "cairn/store/materializer.h"

#include <arrow/io/file.h>
#include <arrow/util/future.h>
#include <sys/stat.h>

#include <algorithm>
#include <deque>
#include <filesystem>
#include <thread>

#include "cairn/store/durable_file.h"
#include "tree_walk.h"

namespace cairn::store {
namespace {

int DefaultThreads(int threads) {
  return threads > 0 ? threads
                     : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

std::string_view AsView(const arrow::Buffer& b) {
  return {reinterpret_cast<const char*>(b.data()), static_cast<size_t>(b.size())};
}

Result<Digest> HashOpenFile(arrow::io::ReadableFile& file, const std::string& path) {
  Sha256 sha;
  std::vector<uint8_t> buf(4u << 20);
  int64_t offset = 0;
  while (true) {
    auto n = file.ReadAt(offset, static_cast<int64_t>(buf.size()), buf.data());
    if (!n.ok()) return Status::IOError("cannot read '", path, "': ", n.status().message());
    if (*n == 0) break;
    sha.Update(buf.data(), static_cast<size_t>(*n));
    offset += *n;
  }
  return sha.Finish();
}

}  // namespace

Result<std::unique_ptr<Materializer>> Materializer::Make(std::shared_ptr<ObjectStore> store,
                                                         int threads) {
  std::unique_ptr<Materializer> m(new Materializer(std::move(store)));
  CAIRN_ASSIGN_OR_RAISE(m->pool_, arrow::internal::ThreadPool::Make(DefaultThreads(threads)));
  return m;
}

Materializer::~Materializer() {
  if (pool_) (void)pool_->Shutdown(true);
}

bool Materializer::Report(uint64_t bytes) {
  done_ += bytes;
  return !progress_ || progress_(done_);
}

Result<std::vector<ChunkRef>> Materializer::FileChunks(const Digest& oid, uint64_t size) {
  auto copies = store_->Find(oid);
  if (copies.empty()) {
    return Status::KeyError("the data of file ", oid.ToHex(), " (", size, " bytes) is not in '",
                            store_->dir(), "' (run `cairn fetch` or `cairn pull` to get it)");
  }
  CAIRN_ASSIGN_OR_RAISE(auto payload, store_->Read(oid));
  if (copies[0].record.type == ObjectType::kChunk) {
    // Read() checked the bytes against their id, which is the file's oid: they are the file.
    if (static_cast<uint64_t>(payload->size()) != size) {
      return Status::Invalid("file ", oid.ToHex(), " has ", payload->size(),
                             " bytes in the store but its pointer says ", size);
    }
    return std::vector<ChunkRef>{{oid, static_cast<uint32_t>(size)}};
  }
  if (copies[0].record.type != ObjectType::kRecipe) {
    return Status::Invalid("object ", oid.ToHex(), " is a ", ObjectTypeName(copies[0].record.type),
                           ", not a file");
  }
  CAIRN_ASSIGN_OR_RAISE(auto recipe, DecodeRecipe(AsView(*payload), "recipe " + oid.ToHex()));
  if (recipe.file_size != size) {
    return Status::Invalid("file ", oid.ToHex(), " has ", recipe.file_size,
                           " bytes in the store but its pointer says ", size);
  }
  return recipe.chunks;
}

Status Materializer::ReadFile(const Digest& oid, uint64_t size, const ByteSink& sink) {
  CAIRN_ASSIGN_OR_RAISE(auto chunks, FileChunks(oid, size));
  return AssembleFile(*store_, pool_.get(), oid, chunks, [&](const uint8_t* data, size_t n) {
    CAIRN_RETURN_NOT_OK(sink(data, n));
    if (!Report(n)) return Status::Cancelled("cancelled");
    return Status::OK();
  });
}

Status AssembleFile(const ObjectStore& store, arrow::internal::ThreadPool* pool, const Digest& oid,
                    const std::vector<ChunkRef>& chunks, const ByteSink& sink) {
  if (chunks.size() == 1 && chunks[0].id == oid) {
    // A one-chunk file: the chunk's id is the file's oid and Read() checks it.
    CAIRN_ASSIGN_OR_RAISE(auto payload, store.Read(oid));
    return sink(payload->data(), static_cast<size_t>(payload->size()));
  }
  Sha256 whole;
  std::deque<arrow::Future<std::shared_ptr<arrow::Buffer>>> pending;
  constexpr size_t kWindow = 64;
  size_t next = 0, done = 0;
  Status failure;
  while (next < chunks.size() || !pending.empty()) {
    while (failure.ok() && next < chunks.size() && pending.size() < kWindow) {
      auto submitted = pool->Submit([&store, id = chunks[next].id]() { return store.Read(id); });
      if (!submitted.ok()) {
        failure = submitted.status();
        break;
      }
      pending.push_back(*submitted);
      ++next;
    }
    if (pending.empty()) break;
    auto future = std::move(pending.front());
    pending.pop_front();
    const auto& result = future.result();
    const ChunkRef& ref = chunks[done++];
    if (!failure.ok()) continue;  // drain what is in flight after an error
    if (!result.ok()) {
      failure = result.status();
      continue;
    }
    const auto& buf = *result;
    if (static_cast<uint64_t>(buf->size()) != ref.size) {
      failure = Status::Invalid("file ", oid.ToHex(), ": its recipe gives chunk ", ref.id.ToHex(),
                                " ", ref.size, " bytes but it has ", buf->size(),
                                " (a forged or damaged recipe)");
      continue;
    }
    whole.Update(buf->data(), static_cast<size_t>(buf->size()));
    failure = sink(buf->data(), static_cast<size_t>(buf->size()));
  }
  CAIRN_RETURN_NOT_OK(failure);
  if (whole.Finish() != oid) {
    return Status::Invalid("file ", oid.ToHex(),
                           ": its chunks do not make a file with that oid (a forged or damaged "
                           "recipe)");
  }
  return Status::OK();
}

Status Materializer::WriteFile(const Digest& oid, uint64_t size, bool executable,
                               const std::string& dest) {
  std::string dir = std::filesystem::path(dest).parent_path().string();
  if (dir.empty()) dir = ".";
  CAIRN_RETURN_NOT_OK(MakeDirectories(dir));
  CAIRN_ASSIGN_OR_RAISE(auto tmp, TempFile::Create(dir));
  CAIRN_RETURN_NOT_OK(
      ReadFile(oid, size, [&tmp](const uint8_t* data, size_t n) { return tmp.Write(data, n); }));
  if (::chmod(tmp.path().c_str(), executable ? 0755 : 0644) != 0) {
    return ErrnoError("cannot set the mode of", tmp.path(), errno);
  }
  return tmp.Commit(dest, /*sync=*/false);
}

Result<std::vector<ManifestEntry>> Materializer::ReadManifest(const Digest& id) {
  return ReadManifestOf(*store_, id);
}

Result<std::vector<ManifestEntry>> ReadManifestOf(const ObjectStore& store, const Digest& id) {
  CAIRN_ASSIGN_OR_RAISE(auto payload, store.Read(id));
  // Whatever type the store's record claims, a manifest is named by its own SHA-256.
  if (Sha256::Of(payload->data(), static_cast<size_t>(payload->size())) != id) {
    return Status::Invalid("manifest ", id.ToHex(), " in '", store.dir(),
                           "' does not match its id (a forged or damaged object)");
  }
  return DecodeManifest(AsView(*payload), "manifest " + id.ToHex());
}

Result<uint64_t> Materializer::WriteDirectory(const Digest& id, const std::string& dest) {
  CAIRN_ASSIGN_OR_RAISE(auto entries, ReadManifest(id));
  CAIRN_RETURN_NOT_OK(MakeDirectories(dest));
  uint64_t written = 0;
  for (const auto& e : entries) {
    std::string path = dest + "/" + e.path;
    struct stat st;
    if (::lstat(path.c_str(), &st) == 0) {
      if (S_ISLNK(st.st_mode) || S_ISDIR(st.st_mode)) {
        return Status::Invalid("cannot check out '", path, "': a symlink or folder is in the way");
      }
      if (static_cast<uint64_t>(st.st_size) == e.size) {
        auto have = HashFile(path);
        if (have.ok() && *have == e.oid) {
          bool is_exec = (st.st_mode & S_IXUSR) != 0;
          if (is_exec != e.executable) ::chmod(path.c_str(), e.executable ? 0755 : 0644);
          if (!Report(e.size)) return Status::Cancelled("cancelled");
          continue;
        }
      }
    }
    // A folder component on the way must not be a symlink (it could point out of `dest`).
    std::filesystem::path parent = std::filesystem::path(e.path).parent_path();
    std::filesystem::path walk = dest;
    for (const auto& part : parent) {
      walk /= part;
      if (::lstat(walk.c_str(), &st) == 0 && !S_ISDIR(st.st_mode)) {
        return Status::Invalid("cannot check out '", path, "': '", walk.string(),
                               "' is not a folder (a symlink or file is in the way)");
      }
    }
    CAIRN_RETURN_NOT_OK(WriteFile(e.oid, e.size, e.executable, path));
    ++written;
  }
  return written;
}

Result<Digest> HashFile(const std::string& path) {
  auto file = arrow::io::ReadableFile::Open(path);
  if (!file.ok()) return Status::IOError("cannot read '", path, "': ", file.status().message());
  auto digest = HashOpenFile(**file, path);
  (void)(*file)->Close();
  return digest;
}

Result<std::vector<ManifestEntry>> ScanDirectory(const std::string& root, int threads,
                                                 const KnownOids& known) {
  CAIRN_ASSIGN_OR_RAISE(auto files, ListTree(root));
  std::vector<ManifestEntry> entries;
  entries.reserve(files.size());
  for (auto& f : files) entries.push_back({std::move(f.rel), Digest{}, f.size, f.executable});
  CAIRN_ASSIGN_OR_RAISE(auto pool, arrow::internal::ThreadPool::Make(DefaultThreads(threads)));
  std::vector<arrow::Future<Digest>> futures;
  futures.reserve(entries.size());
  for (const auto& e : entries) {
    auto it = known.find(e.path);
    if (it != known.end()) {
      futures.push_back(arrow::Future<Digest>::MakeFinished(it->second));
      continue;
    }
    CAIRN_ASSIGN_OR_RAISE(auto f,
                          pool->Submit([path = root + "/" + e.path]() { return HashFile(path); }));
    futures.push_back(f);
  }
  Status failure;
  for (size_t i = 0; i < entries.size(); ++i) {
    const auto& r = futures[i].result();
    if (!r.ok()) {
      if (failure.ok()) failure = r.status();
      continue;
    }
    entries[i].oid = *r;
  }
  (void)pool->Shutdown(true);
  CAIRN_RETURN_NOT_OK(failure);
  return entries;
}

}  // namespace cairn::store
