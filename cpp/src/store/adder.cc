#include "cairn/store/adder.h"

#include <arrow/io/file.h>
#include <arrow/util/future.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <mutex>
#include <thread>

#include "cairn/store/chunker.h"
#include "pack_appender.h"
#include "tree_walk.h"

namespace cairn::store {
namespace {

constexpr uint64_t kSmallFile = 8ull << 20;  // read whole, hashed by one worker
constexpr size_t kBlock = 8u << 20;          // large files are read in blocks this size
constexpr uint64_t kInFlight = 64ull << 20;  // bytes of chunks being hashed at once
constexpr uint64_t kPackRotate = 1ull << 30;

// The stored form of a payload: compressed at `level`, raw when compression does not
// help, or with level 0 raw and marked for compaction to compress later. Raw bytes are
// viewed in place when `keep` owns them (`pinned` bytes in all), copied otherwise.
Result<Codec> Encode(int level, std::shared_ptr<const void> keep, size_t pinned,
                     const uint8_t* data, size_t size, StoredBytes* out) {
  if (level == 0 || size == 0) {
    if (keep) {
      *out = StoredBytes::View(std::move(keep), pinned, data, size);
    } else {
      out->owned.assign(reinterpret_cast<const char*>(data), size);
    }
    return level == 0 && size > 0 ? Codec::kDeferred : Codec::kRaw;
  }
  CAIRN_ASSIGN_OR_RAISE(Compressor * c, Compressor::ForThisThread(level));
  return c->Encode(data, size, &out->owned);
}

// The file's whole SHA-256 is one sequential pass: the longest path of a large add. Chunk
// hashing threads step back a little (a higher nice value, for themselves only), so the
// scheduler runs that pass whenever it can and the chunk work fills the rest.
void YieldToTheFileHash() {
  thread_local bool done = false;
  if (done) return;
  done = true;
  const int tid = static_cast<int>(::syscall(SYS_gettid));
  errno = 0;
  const int now = ::getpriority(PRIO_PROCESS, tid);
  if (errno == 0) (void)::setpriority(PRIO_PROCESS, tid, std::min(now + 5, 19));
}

Status ReadExactly(arrow::io::ReadableFile& file, int64_t offset, int64_t size, uint8_t* out,
                   const std::string& path) {
  auto n = file.ReadAt(offset, size, out);
  if (!n.ok()) return Status::IOError("cannot read '", path, "': ", n.status().message());
  if (*n != size) {
    return Status::IOError("'", path,
                           "' changed while it was being added (it is shorter "
                           "than when it was opened); run `cairn add` again when it is written");
  }
  return Status::OK();
}

// A buffer of a large file being added. Blocks are recycled (no page faults and no zero
// fill for every 8 MiB read); a block goes back to its pool when the last task using it is
// done, and the pool lives as long as any of its blocks.
struct Block {
  std::unique_ptr<uint8_t[]> bytes;
  size_t size = 0;
  const uint8_t* data() const { return bytes.get(); }
};

class BlockPool : public std::enable_shared_from_this<BlockPool> {
 public:
  std::shared_ptr<Block> Get(size_t capacity) {
    Block* block = nullptr;
    {
      std::lock_guard lock(mutex_);
      if (!free_.empty()) {
        block = free_.back().release();
        free_.pop_back();
      }
    }
    if (block == nullptr) {
      block = new Block;
      block->bytes.reset(new uint8_t[capacity]);  // uninitialised: it is read into at once
    }
    block->size = 0;
    return std::shared_ptr<Block>(block, [pool = shared_from_this()](Block* b) {
      std::lock_guard lock(pool->mutex_);
      pool->free_.emplace_back(b);
    });
  }

 private:
  std::mutex mutex_;
  std::vector<std::unique_ptr<Block>> free_;
};

// The whole-file SHA-256 of a large file, on its own thread so it runs beside chunk hashing.
class SerialHasher {
 public:
  SerialHasher() : thread_([this] { Loop(); }) {}
  ~SerialHasher() {
    if (thread_.joinable()) Finish();
  }
  void Push(std::shared_ptr<const Block> block, size_t from) {
    std::unique_lock lock(mutex_);
    space_.wait(lock, [this] { return queue_.size() < 4; });
    queue_.push_back({std::move(block), from});
    ready_.notify_one();
  }
  Digest Finish() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
      ready_.notify_one();
    }
    thread_.join();
    return sha_.Finish();
  }

 private:
  void Loop() {
    while (true) {
      std::pair<std::shared_ptr<const Block>, size_t> item;
      {
        std::unique_lock lock(mutex_);
        ready_.wait(lock, [this] { return done_ || !queue_.empty(); });
        if (queue_.empty()) return;
        item = std::move(queue_.front());
        queue_.pop_front();
        space_.notify_one();
      }
      sha_.Update(item.first->data() + item.second, item.first->size - item.second);
    }
  }
  Sha256 sha_;
  std::mutex mutex_;
  std::condition_variable ready_, space_;
  std::deque<std::pair<std::shared_ptr<const Block>, size_t>> queue_;
  bool done_ = false;
  std::thread thread_;
};

struct ChunkOutcome {
  Digest id;
  bool fresh = false;
  Codec codec = Codec::kRaw;
  StoredBytes stored;
};

}  // namespace

struct Adder::FileResult {
  Digest oid;
  uint64_t size = 0;
  std::vector<ChunkRef> chunks;
  std::vector<ChunkOutcome> outcomes;  // one per chunk; stored bytes only for fresh ones
};

Adder::Adder(std::shared_ptr<ObjectStore> cache, std::string tmp_dir, AddOptions options)
    : cache_(std::move(cache)), tmp_dir_(std::move(tmp_dir)), options_(options) {}

Adder::~Adder() {
  if (pool_) (void)pool_->Shutdown(/*wait=*/true);
}

Result<std::unique_ptr<Adder>> Adder::Make(std::shared_ptr<ObjectStore> cache, std::string tmp_dir,
                                           AddOptions options) {
  if (options.compression_level < -7 || options.compression_level > 19) {
    return Status::Invalid(
        "compression level must be -7 to 19 (0: raw, negative: zstd fast modes), not ",
        options.compression_level);
  }
  std::unique_ptr<Adder> adder(new Adder(std::move(cache), std::move(tmp_dir), options));
  int threads = options.threads > 0
                    ? options.threads
                    : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  CAIRN_ASSIGN_OR_RAISE(adder->pool_, arrow::internal::ThreadPool::Make(threads));
  return adder;
}

bool Adder::Known(const Digest& id) const { return staged_.count(id) > 0 || cache_->Contains(id); }

bool Adder::Report(uint64_t bytes) {
  done_ += bytes;
  return !progress_ || progress_(done_);
}

Status Adder::Stage(ObjectType type, const Digest& id, uint64_t raw_size, Codec codec,
                    StoredBytes&& stored) {
  if (Known(id)) return Status::OK();
  if (pack_ && pack_->pushed_bytes() > kPackRotate) CAIRN_RETURN_NOT_OK(Commit().status());
  if (!pack_) {
    CAIRN_ASSIGN_OR_RAISE(auto writer, PackWriter::Create(tmp_dir_, TempFile::Mode::kDirect));
    pack_ = std::make_unique<PackAppender>(std::move(writer));
  }
  const size_t stored_size = stored.bytes().size();
  CAIRN_RETURN_NOT_OK(pack_->Push(type, id, raw_size, codec, std::move(stored)));
  staged_.insert(id);
  if (type == ObjectType::kChunk) {
    ++stats_.new_chunks;
    stats_.new_bytes += raw_size;
  }
  stats_.stored_bytes += kEntryHeaderSize + stored_size;
  return Status::OK();
}

Status Adder::StageRaw(ObjectType type, const Digest& id, std::string_view payload) {
  if (Known(id)) return Status::OK();
  StoredBytes stored;
  CAIRN_ASSIGN_OR_RAISE(auto codec, Encode(options_.compression_level, nullptr, 0,
                                           reinterpret_cast<const uint8_t*>(payload.data()),
                                           payload.size(), &stored));
  return Stage(type, id, payload.size(), codec, std::move(stored));
}

Result<Adder::FileResult> Adder::HashSmallFile(const std::string& path, uint64_t size) const {
  CAIRN_ASSIGN_OR_RAISE(auto file, arrow::io::ReadableFile::Open(path));
  auto data = std::make_shared<std::string>(size, '\0');
  CAIRN_RETURN_NOT_OK(ReadExactly(*file, 0, static_cast<int64_t>(size),
                                  reinterpret_cast<uint8_t*>(data->data()), path));
  (void)file->Close();
  FileResult r;
  r.size = size;
  const auto* p = reinterpret_cast<const uint8_t*>(data->data());
  size_t offset = 0;
  do {
    size_t len = NextChunkLength(p + offset, size - offset, /*at_end=*/true);
    r.chunks.push_back({Digest{}, static_cast<uint32_t>(len)});
    offset += len;
  } while (offset < size);
  r.outcomes.resize(r.chunks.size());
  offset = 0;
  for (size_t i = 0; i < r.chunks.size(); ++i) {
    auto& c = r.chunks[i];
    c.id = Sha256::Of(p + offset, c.size);
    auto& o = r.outcomes[i];
    o.id = c.id;
    o.fresh = !cache_->Contains(c.id);
    if (o.fresh) {
      CAIRN_ASSIGN_OR_RAISE(o.codec, Encode(options_.compression_level, data, data->size(),
                                            p + offset, c.size, &o.stored));
    }
    offset += c.size;
  }
  r.oid = r.chunks.size() == 1 ? r.chunks[0].id : Sha256::Of(*data);
  return r;
}

Result<Pointer> Adder::AddFile(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return ErrnoError("cannot add", path, errno);
  if (!S_ISREG(st.st_mode)) {
    return Status::Invalid("cannot add '", path,
                           "': not a regular file (symlinks, devices and "
                           "sockets cannot be tracked)");
  }
  const auto size = static_cast<uint64_t>(st.st_size);
  const bool executable = (st.st_mode & S_IXUSR) != 0;
  ++stats_.files;
  stats_.bytes += size;
  if (size > kSmallFile) return AddLargeFile(path, size, executable);
  CAIRN_ASSIGN_OR_RAISE(auto r, HashSmallFile(path, size));
  for (size_t i = 0; i < r.chunks.size(); ++i) {
    auto& o = r.outcomes[i];
    if (o.fresh)
      CAIRN_RETURN_NOT_OK(
          Stage(ObjectType::kChunk, o.id, r.chunks[i].size, o.codec, std::move(o.stored)));
  }
  if (r.chunks.size() > 1) {
    CAIRN_RETURN_NOT_OK(StageRaw(ObjectType::kRecipe, r.oid, EncodeRecipe({size, r.chunks})));
  }
  if (!Report(size)) return Status::Cancelled("add of '", path, "' cancelled");
  return Pointer{Pointer::Kind::kFile, r.oid, size, executable, 0};
}

Result<Pointer> Adder::AddLargeFile(const std::string& path, uint64_t size, bool executable) {
  CAIRN_ASSIGN_OR_RAISE(auto file, arrow::io::ReadableFile::Open(path));
  SerialHasher whole;
  struct Pending {
    uint32_t size;
    arrow::Future<ChunkOutcome> outcome;
  };
  std::deque<Pending> pending;
  uint64_t pending_bytes = 0;
  Recipe recipe;
  recipe.file_size = size;
  Status failure;

  auto drain_one = [&]() -> Status {
    Pending p = std::move(pending.front());
    pending.pop_front();
    pending_bytes -= p.size;
    auto result = p.outcome.MoveResult();
    if (!result.ok()) return result.status();
    ChunkOutcome& o = *result;
    if (o.fresh) {
      CAIRN_RETURN_NOT_OK(Stage(ObjectType::kChunk, o.id, p.size, o.codec, std::move(o.stored)));
    }
    recipe.chunks.push_back({o.id, p.size});
    return Status::OK();
  };
  auto drain_all = [&]() {
    Status st;
    while (!pending.empty()) {
      Status s = drain_one();
      if (st.ok()) st = s;
    }
    return st;
  };

  auto blocks = std::make_shared<BlockPool>();
  std::string carry;  // the unfinished chunk at the end of a block (< kMax bytes)
  uint64_t read = 0;
  while (true) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(kBlock, size - read));
    auto block = blocks->Get(kBlock + ChunkerLimits::kMax);
    block->size = carry.size() + want;
    std::memcpy(block->bytes.get(), carry.data(), carry.size());
    failure = ReadExactly(*file, static_cast<int64_t>(read), static_cast<int64_t>(want),
                          block->bytes.get() + carry.size(), path);
    if (!failure.ok()) break;
    read += want;
    const bool at_end = read == size;
    whole.Push(block, carry.size());
    const uint8_t* data = block->data();
    size_t pos = 0;
    while (pos < block->size) {
      size_t len = NextChunkLength(data + pos, block->size - pos, at_end);
      if (len == 0) break;
      const uint8_t* start = data + pos;
      auto submitted = pool_->Submit([this, block, start, len]() -> Result<ChunkOutcome> {
        YieldToTheFileHash();
        ChunkOutcome o;
        o.id = Sha256::Of(start, len);
        o.fresh = !cache_->Contains(o.id);
        if (o.fresh) {
          CAIRN_ASSIGN_OR_RAISE(
              o.codec, Encode(options_.compression_level, block, kBlock + ChunkerLimits::kMax,
                              start, len, &o.stored));
        }
        return o;
      });
      if (!submitted.ok()) {
        failure = submitted.status();
        break;
      }
      pending.push_back({static_cast<uint32_t>(len), *submitted});
      pending_bytes += len;
      pos += len;
    }
    carry.assign(reinterpret_cast<const char*>(data) + pos, block->size - pos);
    while (failure.ok() && pending_bytes > kInFlight) failure = drain_one();
    if (!failure.ok()) break;
    if (!Report(want)) {
      failure = Status::Cancelled("add of '", path, "' cancelled");
      break;
    }
    if (at_end) break;
  }
  Status drained = drain_all();
  Digest oid = whole.Finish();
  (void)file->Close();
  CAIRN_RETURN_NOT_OK(failure);
  CAIRN_RETURN_NOT_OK(drained);
  if (recipe.chunks.size() > 1) {
    CAIRN_RETURN_NOT_OK(StageRaw(ObjectType::kRecipe, oid, EncodeRecipe(recipe)));
  }
  return Pointer{Pointer::Kind::kFile, oid, size, executable, 0};
}

Result<Pointer> Adder::AddDirectory(const std::string& root, const KnownOids& known) {
  CAIRN_ASSIGN_OR_RAISE(auto items, ListTree(root));
  std::vector<ManifestEntry> manifest;
  manifest.reserve(items.size());
  uint64_t total = 0;
  std::deque<std::pair<size_t, arrow::Future<FileResult>>> pending;
  const size_t window = 4 * static_cast<size_t>(pool_->GetCapacity()) + 8;
  Status failure;
  auto drain_one = [&]() -> Status {
    auto [index, future] = std::move(pending.front());
    pending.pop_front();
    auto result = future.MoveResult();
    if (!result.ok()) return result.status();
    FileResult& r = *result;
    for (size_t i = 0; i < r.chunks.size(); ++i) {
      auto& o = r.outcomes[i];
      if (o.fresh) {
        CAIRN_RETURN_NOT_OK(
            Stage(ObjectType::kChunk, o.id, r.chunks[i].size, o.codec, std::move(o.stored)));
      }
    }
    if (r.chunks.size() > 1) {
      CAIRN_RETURN_NOT_OK(StageRaw(ObjectType::kRecipe, r.oid, EncodeRecipe({r.size, r.chunks})));
    }
    const TreeFile& item = items[index];
    manifest.push_back({item.rel, r.oid, r.size, item.executable});
    ++stats_.files;
    stats_.bytes += r.size;
    if (!Report(r.size)) return Status::Cancelled("add of '", root, "' cancelled");
    return Status::OK();
  };
  for (size_t i = 0; i < items.size() && failure.ok(); ++i) {
    const TreeFile& item = items[i];
    total += item.size;
    if (auto it = known.find(item.rel); it != known.end() && Known(it->second)) {
      FileResult r;  // no chunks to stage: the file is in the cache already
      r.oid = it->second;
      r.size = item.size;
      pending.emplace_back(i, arrow::Future<FileResult>::MakeFinished(std::move(r)));
      continue;
    }
    if (item.size > kSmallFile) {
      while (failure.ok() && !pending.empty()) failure = drain_one();
      if (!failure.ok()) break;
      auto pointer = AddLargeFile(item.path, item.size, item.executable);
      if (!pointer.ok()) {
        failure = pointer.status();
        break;
      }
      manifest.push_back({item.rel, pointer->oid, item.size, item.executable});
      ++stats_.files;
      stats_.bytes += item.size;
      continue;
    }
    auto submitted = pool_->Submit(
        [this, path = item.path, size = item.size]() { return HashSmallFile(path, size); });
    if (!submitted.ok()) {
      failure = submitted.status();
      break;
    }
    pending.emplace_back(i, *submitted);
    while (failure.ok() && pending.size() > window) failure = drain_one();
  }
  while (!pending.empty()) {
    Status s = drain_one();
    if (failure.ok()) failure = s;
  }
  CAIRN_RETURN_NOT_OK(failure);
  std::string text = EncodeManifest(std::move(manifest));
  Digest id = Sha256::Of(text);
  CAIRN_RETURN_NOT_OK(StageRaw(ObjectType::kManifest, id, text));
  return Pointer{Pointer::Kind::kDir, id, total, false, static_cast<uint64_t>(items.size())};
}

Result<std::string> Adder::Commit() {
  if (!pack_) return std::string();
  auto appender = std::move(pack_);
  CAIRN_ASSIGN_OR_RAISE(auto writer, appender->Finish());
  if (writer->count() == 0) return std::string();
  CAIRN_RETURN_NOT_OK(MakeDirectories(cache_->dir()));
  CAIRN_ASSIGN_OR_RAISE(auto name, writer->Finish(cache_->dir()));
  cache_->AddPack(name, writer->records());
  staged_.clear();
  return name;
}

}  // namespace cairn::store
