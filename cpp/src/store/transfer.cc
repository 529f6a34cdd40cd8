#include "cairn/store/transfer.h"

#include <arrow/io/file.h>
#include <arrow/util/future.h>
#include <arrow/util/thread_pool.h>
#include <unistd.h>

#include <algorithm>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "cairn/io/file_io.h"
#include "cairn/store/formats.h"
#include "cairn/text/utf8.h"
#include "cairn/store/materializer.h"

namespace cairn::store {
namespace {

constexpr uint64_t kTransferPack = 64ull << 20;
// Neighbouring objects are read together while the span stays under kSpanBytes and the
// holes between them (objects not wanted) under kSpanGap.
constexpr uint64_t kSpanBytes = 8ull << 20;
constexpr uint64_t kSpanGap = 256ull << 10;

std::string_view AsView(const arrow::Buffer& b) {
  return {reinterpret_cast<const char*>(b.data()), static_cast<size_t>(b.size())};
}

bool IsLocal(const arrow::fs::FileSystem& fs) { return fs.type_name() == "local"; }

// Copies a finished local file to `dest_path` on `fs`: under a temporary name then moved
// into place, so it appears complete or not at all. `keep_going` (if set) is asked before
// each piece; false cancels the upload.
Status Upload(const std::string& local, arrow::fs::FileSystem& fs, const std::string& dest_path,
              const std::function<bool()>& keep_going) {
  auto in = arrow::io::ReadableFile::Open(local);
  if (!in.ok()) return Status::IOError("cannot read '", local, "': ", in.status().message());
  const bool direct = fs.type_name() == "s3";  // a PUT is atomic; S3 has no rename
  std::string target = direct ? dest_path
                              : (std::filesystem::path(dest_path).parent_path() /
                                 (kTempPrefix + std::to_string(::getpid()) + "-" +
                                  std::filesystem::path(dest_path).filename().string()))
                                    .string();
  auto out = fs.OpenOutputStream(target);
  if (!out.ok()) return Status::IOError("cannot write '", target, "': ", out.status().message());
  // On failure the stream is aborted: closing it (or letting its destructor close it) would
  // complete an S3 multipart upload with only the parts sent so far.
  auto fail = [&](Status st) {
    (void)(*out)->Abort();
    return st;
  };
  while (true) {
    if (keep_going && !keep_going()) {
      return fail(Status::Cancelled("upload of '", target, "' cancelled"));
    }
    auto piece = (*in)->Read(4 << 20);
    if (!piece.ok()) {
      return fail(Status::IOError("cannot read '", local, "': ", piece.status().message()));
    }
    if ((*piece)->size() == 0) break;
    auto st = (*out)->Write(*piece);
    if (!st.ok()) return fail(Status::IOError("cannot write '", target, "': ", st.message()));
  }
  // The parts sent so far must have arrived before Close: Arrow's S3 stream counts as closed
  // once its Close has failed, and Abort then leaves the multipart upload open on the server.
  // A failed Flush leaves it open to Abort. (Close still sends the last part, and a failure
  // of that one leaves the upload open: docs/s3.md, "Nothing half-written".)
  auto st = (*out)->Flush();
  if (!st.ok()) return fail(Status::IOError("cannot write '", target, "': ", st.message()));
  st = (*out)->Close();
  if (!st.ok()) return fail(Status::IOError("cannot write '", target, "': ", st.message()));
  if (!direct) {
    st = fs.Move(target, dest_path);
    if (!st.ok()) return Status::IOError("cannot move '", target, "' into place: ", st.message());
  }
  return Status::OK();
}

// Makes a finished pack part of `dest`; `keep_going` as for Upload.
Status Publish(std::unique_ptr<PackWriter> writer, ObjectStore& dest, const std::string& tmp_dir,
               const std::function<bool()>& keep_going = {}) {
  if (IsLocal(dest.fs())) {
    CAIRN_RETURN_NOT_OK(MakeDirectories(dest.dir()));
    CAIRN_ASSIGN_OR_RAISE(auto name, writer->Finish(dest.dir()));
    dest.AddPack(name, writer->records());
    return Status::OK();
  }
  CAIRN_ASSIGN_OR_RAISE(auto name, writer->Finish(tmp_dir));
  auto remove_local = [&] {
    ::unlink((tmp_dir + "/" + name + ".pack").c_str());
    ::unlink((tmp_dir + "/" + name + ".idx").c_str());
  };
  Status st = Upload(tmp_dir + "/" + name + ".pack", dest.fs(), dest.dir() + "/" + name + ".pack",
                     keep_going);
  if (st.ok())
    st = Upload(tmp_dir + "/" + name + ".idx", dest.fs(), dest.dir() + "/" + name + ".idx",
                keep_going);
  remove_local();
  CAIRN_RETURN_NOT_OK(st);
  dest.AddPack(name, writer->records());
  return Status::OK();
}

int IoThreads(int threads) { return threads > 0 ? threads : 8; }

// Replaces pack `p` of a store by a new pack holding only `kept` (none: just deletes it).
// The new pack is in place before the old one goes; the old index goes first, since a pack
// without an index is not part of the store. A remote store (S3) gets the new pack through
// `tmp_dir` on local disk.
Status RewritePack(ObjectStore& store, uint32_t p, const std::vector<const IndexRecord*>& kept,
                   bool verify, const std::string& tmp_dir) {
  const bool local = IsLocal(store.fs());
  if (!kept.empty()) {
    // A local store gets the temporary pack in its own folder: a rename within one file
    // system (a remote folder may be another mount).
    if (!local) CAIRN_RETURN_NOT_OK(MakeDirectories(tmp_dir));
    CAIRN_ASSIGN_OR_RAISE(auto writer, PackWriter::Create(local ? store.dir() : tmp_dir));
    for (const auto* r : kept) {
      Location loc{p, *r};
      // Never carry a damaged copy into the new pack.
      if (verify) CAIRN_RETURN_NOT_OK(store.ReadCopy(loc).status());
      CAIRN_ASSIGN_OR_RAISE(auto stored, store.ReadStored(loc));
      CAIRN_RETURN_NOT_OK(writer->Append(r->type, r->id, r->raw_size, r->codec, stored->data(),
                                         static_cast<size_t>(stored->size())));
    }
    if (local) {
      CAIRN_ASSIGN_OR_RAISE(auto name, writer->Finish(store.dir()));
      store.AddPack(name, writer->records());
    } else {
      CAIRN_RETURN_NOT_OK(Publish(std::move(writer), store, tmp_dir));
    }
  }
  return store.DeletePack(p);
}

// One object read from a transfer's source, checked against its id.
struct Fetched {
  IndexRecord record;
  std::shared_ptr<arrow::Buffer> stored;
  uint64_t read = 0;  // stored bytes read from the source (progress counts these)
};

// The second step of a transfer: each recipe is appended to `writer` (made if null) only
// when the file its chunks make, read from `chunks`, hashes to its oid; the others are
// listed in stats->rejected. With `only_complete`, a recipe whose chunks `chunks` does not
// all have is left for later: returned.
Result<std::vector<Fetched>> AppendVerifiedRecipes(const std::vector<Fetched>& recipes,
                                                   const ObjectStore& chunks, bool only_complete,
                                                   const ObjectStore& dest,
                                                   arrow::internal::ThreadPool& pool,
                                                   const std::string& tmp_dir,
                                                   std::unique_ptr<PackWriter>& writer,
                                                   TransferStats* stats) {
  std::vector<Fetched> later;
  for (const Fetched& f : recipes) {
    const std::string what = "recipe " + f.record.id.ToHex();
    bool deferred = false;
    Status verified = [&]() -> Status {
      CAIRN_ASSIGN_OR_RAISE(auto payload, DecodePayload(f.record, f.stored->data(), what));
      CAIRN_ASSIGN_OR_RAISE(auto recipe, DecodeRecipe(AsView(*payload), what));
      if (only_complete && !std::all_of(recipe.chunks.begin(), recipe.chunks.end(),
                                        [&](const ChunkRef& c) { return chunks.Contains(c.id); })) {
        deferred = true;
        return Status::OK();
      }
      return AssembleFile(chunks, &pool, f.record.id, recipe.chunks,
                          [](const uint8_t*, size_t) { return Status::OK(); });
    }();
    if (deferred) {
      later.push_back(f);
      continue;
    }
    if (!verified.ok()) {
      stats->rejected.push_back({f.record.id, verified.message()});
      continue;
    }
    if (!writer) {
      CAIRN_ASSIGN_OR_RAISE(writer, PackWriter::Create(IsLocal(dest.fs()) ? dest.dir() : tmp_dir));
    }
    CAIRN_RETURN_NOT_OK(writer->Append(f.record.type, f.record.id, f.record.raw_size,
                                       f.record.codec, f.stored->data(),
                                       static_cast<size_t>(f.stored->size())));
    ++stats->objects;
    stats->bytes += static_cast<uint64_t>(f.stored->size());
  }
  return later;
}

// Whether one copy is good: its bytes match its id and, for a recipe, the file its chunks
// make (read from `store`) hashes to its id.
bool GoodCopy(const ObjectStore& store, arrow::internal::ThreadPool* pool, const Location& copy) {
  auto payload = store.ReadCopy(copy);
  if (!payload.ok()) return false;
  if (copy.record.type != ObjectType::kRecipe) return true;
  auto recipe = DecodeRecipe(AsView(**payload), "recipe " + copy.record.id.ToHex());
  return recipe.ok() && AssembleFile(store, pool, copy.record.id, recipe->chunks,
                                     [](const uint8_t*, size_t) { return Status::OK(); })
                            .ok();
}

}  // namespace

Result<Closure> CollectClosure(const std::vector<const ObjectStore*>& sources,
                               const std::vector<Pointer>& roots) {
  Closure out;
  std::unordered_set<Digest, DigestHash> seen;
  // The first source that has `id`. A recipe or manifest is read and parsed there; when no
  // copy there is good (damaged, forged, or a recipe of another size than `size`), the next
  // source is tried and `id` is listed in out.damaged.
  struct Found {
    const ObjectStore* store = nullptr;
    ObjectType type = ObjectType::kChunk;
    uint64_t raw_size = 0;
    Recipe recipe;
    std::vector<ManifestEntry> entries;
  };
  auto locate = [&](const Digest& id, bool manifest, uint64_t size) -> Result<Found> {
    std::string problems;
    for (const auto* s : sources) {
      auto copies = s->Find(id);
      if (copies.empty()) continue;
      Found f{s, copies[0].record.type, copies[0].record.raw_size, {}, {}};
      if (!manifest && f.type == ObjectType::kChunk) return f;  // Read() checks it later
      Status st;
      if (manifest) {
        auto entries = ReadManifestOf(*s, id);
        st = entries.status();
        if (st.ok()) f.entries = std::move(*entries);
      } else {
        auto payload = s->Read(id);
        auto recipe = payload.ok() ? DecodeRecipe(AsView(**payload), "recipe " + id.ToHex())
                                   : Result<Recipe>(payload.status());
        st = recipe.status();
        if (st.ok() && recipe->file_size != size) {
          st = Status::Invalid("recipe ", id.ToHex(), " in '", s->dir(), "' is of a ",
                               recipe->file_size, "-byte file but the pointer says ", size,
                               " bytes (a forged or damaged recipe)");
        }
        if (st.ok()) f.recipe = std::move(*recipe);
      }
      if (st.ok()) return f;
      out.damaged.push_back(id);
      problems += "\n  " + st.message();
    }
    if (!problems.empty()) {
      return Status::Invalid("no good copy of ", manifest ? "manifest " : "file ", id.ToHex(), ":",
                             problems);
    }
    return Found{};
  };
  // `named` says whose size `size` is (a pointer's, or a manifest entry's), for errors.
  auto add_file = [&](const Digest& oid, uint64_t size, const std::string& named) -> Status {
    if (!seen.insert(oid).second) return Status::OK();
    CAIRN_ASSIGN_OR_RAISE(auto top, locate(oid, false, size));
    if (top.store == nullptr) {
      out.missing.push_back(oid);
      return Status::OK();
    }
    if (top.type == ObjectType::kChunk && top.raw_size != size) {
      // The chunk is what its id says; the size beside the oid (a pointer's or a manifest's)
      // is what lies, so no source can repair it.
      return Status::Invalid("file ", oid.ToHex(), " has ", top.raw_size, " bytes in '",
                             top.store->dir(), "' but ", named, " says ", size,
                             " bytes (forged or damaged)");
    }
    out.ids.push_back(oid);
    if (top.type == ObjectType::kChunk) {
      out.bytes += top.raw_size;
      return Status::OK();
    }
    for (const auto& c : top.recipe.chunks) {
      if (!seen.insert(c.id).second) continue;
      out.bytes += c.size;
      const bool found = std::any_of(sources.begin(), sources.end(),
                                     [&](const ObjectStore* s) { return s->Contains(c.id); });
      (found ? out.ids : out.missing).push_back(c.id);
    }
    return Status::OK();
  };
  for (const auto& root : roots) {
    if (root.kind == Pointer::Kind::kFile) {
      CAIRN_RETURN_NOT_OK(add_file(root.oid, root.size, "its pointer"));
      continue;
    }
    if (!seen.insert(root.oid).second) continue;
    CAIRN_ASSIGN_OR_RAISE(auto top, locate(root.oid, true, 0));
    if (top.store == nullptr) {
      out.missing.push_back(root.oid);
      continue;
    }
    out.ids.push_back(root.oid);
    for (const auto& e : top.entries) {
      CAIRN_RETURN_NOT_OK(add_file(e.oid, e.size, "manifest " + root.oid.ToHex() + " (entry '" +
                                                      EscapeNonUtf8(e.path) + "')"));
    }
  }
  return out;
}

Result<TransferStats> CopyObjects(const ObjectStore& source, ObjectStore& dest,
                                  const std::vector<Digest>& ids,
                                  const std::vector<Digest>& replace, const std::string& tmp_dir,
                                  const ProgressFn& progress, int threads, int level) {
  std::unordered_set<Digest, DigestHash> wanted_set;
  std::vector<Digest> wanted;
  std::unordered_set<Digest, DigestHash> replace_set(replace.begin(), replace.end());
  for (const auto& id : ids) {
    if ((replace_set.count(id) || !dest.Contains(id)) && wanted_set.insert(id).second)
      wanted.push_back(id);
  }
  for (const auto& id : replace) {
    if (wanted_set.insert(id).second) wanted.push_back(id);
  }
  TransferStats stats;
  if (wanted.empty()) return stats;
  CAIRN_RETURN_NOT_OK(MakeDirectories(tmp_dir));
  const bool local_dest = IsLocal(dest.fs());
  if (local_dest) CAIRN_RETURN_NOT_OK(MakeDirectories(dest.dir()));
  CAIRN_ASSIGN_OR_RAISE(auto pool, arrow::internal::ThreadPool::Make(IoThreads(threads)));
  // With `level`, a zstd object is compressed again at that level on its way (a push gives
  // the remote a denser form than the fast level compaction uses), and so is one whose
  // compression was deferred; kept only when smaller.
  auto arrived = [level](const IndexRecord& record, std::shared_ptr<arrow::Buffer> stored,
                         const arrow::Buffer& payload) -> Result<Fetched> {
    const auto read = static_cast<uint64_t>(stored->size());
    if (level <= 0 || record.codec == Codec::kRaw) return Fetched{record, std::move(stored), read};
    CAIRN_ASSIGN_OR_RAISE(Compressor * compressor, Compressor::ForThisThread(level));
    std::string out;
    CAIRN_ASSIGN_OR_RAISE(
        auto codec, compressor->Encode(payload.data(), static_cast<size_t>(payload.size()), &out));
    if (out.size() >= read) {
      IndexRecord same = record;
      if (same.codec == Codec::kDeferred) same.codec = Codec::kRaw;  // tried: does not help
      return Fetched{same, std::move(stored), read};
    }
    IndexRecord denser = record;
    denser.codec = codec;
    denser.stored_size = out.size();
    return Fetched{denser, arrow::Buffer::FromString(std::move(out)), read};
  };
  // A copy read from pack `where` of the source, once it decodes and matches its id.
  auto accept = [&arrived](const IndexRecord& record, std::shared_ptr<arrow::Buffer> stored,
                           const std::string& where) -> Result<Fetched> {
    CAIRN_ASSIGN_OR_RAISE(auto payload, DecodePayload(record, stored->data(), where));
    CAIRN_RETURN_NOT_OK(VerifyPayload(record, *payload, where));
    return arrived(record, std::move(stored), *payload);
  };
  auto fetch = [&source, &accept](Digest id) -> Result<Fetched> {
    auto copies = source.Find(id);
    if (copies.empty()) {
      return Status::KeyError("object ", id.ToHex(), " is not in '", source.dir(), "'");
    }
    std::string problems;
    for (const auto& copy : copies) {
      auto stored = source.ReadStored(copy);
      auto fetched = stored.ok() ? accept(copy.record, *stored, source.PackPath(copy.pack))
                                 : Result<Fetched>(stored.status());
      if (fetched.ok()) return fetched;
      problems += "\n  " + fetched.status().message();
    }
    return Status::IOError("no good copy of ", ObjectTypeName(copies[0].record.type), " ",
                           id.ToHex(), " in '", source.dir(), "':", problems);
  };
  // Objects are read in spans: neighbours in one source pack come with one read (one
  // request on S3). A copy that fails its checks is fetched again alone, from any copy.
  struct Span {
    uint32_t pack = 0;
    std::vector<IndexRecord> records;
  };
  std::vector<Span> spans;
  {
    std::map<uint32_t, std::vector<IndexRecord>> by_pack;
    for (const auto& id : wanted) {
      auto copies = source.Find(id);
      if (copies.empty()) {
        return Status::KeyError("object ", id.ToHex(), " is not in '", source.dir(), "'");
      }
      by_pack[copies[0].pack].push_back(copies[0].record);
    }
    for (auto& [pack, records] : by_pack) {
      std::sort(records.begin(), records.end(),
                [](const IndexRecord& a, const IndexRecord& b) { return a.offset < b.offset; });
      for (const auto& r : records) {
        const uint64_t r_end = r.offset + kEntryHeaderSize + r.stored_size;
        bool joins = !spans.empty() && spans.back().pack == pack;
        if (joins) {
          const auto& first = spans.back().records.front();
          const auto& last = spans.back().records.back();
          const uint64_t last_end = last.offset + kEntryHeaderSize + last.stored_size;
          joins = r.offset <= last_end + kSpanGap && r_end - first.offset <= kSpanBytes;
        }
        if (!joins) spans.push_back(Span{pack, {}});
        spans.back().records.push_back(r);
      }
    }
  }
  auto fetch_span = [&source, &fetch, &accept](const Span& span) -> Result<std::vector<Fetched>> {
    std::vector<Fetched> out;
    out.reserve(span.records.size());
    auto read = source.ReadStoredSpan(span.pack, span.records);
    const std::string where = source.PackPath(span.pack);
    for (size_t i = 0; i < span.records.size(); ++i) {
      const IndexRecord& r = span.records[i];
      if (read.ok() && (*read)[i].ok()) {
        auto fetched = accept(r, *(*read)[i], where);
        if (fetched.ok()) {
          out.push_back(std::move(*fetched));
          continue;
        }
      }
      CAIRN_ASSIGN_OR_RAISE(auto alone, fetch(r.id));
      out.push_back(std::move(alone));
    }
    return out;
  };
  std::deque<arrow::Future<std::vector<Fetched>>> pending;
  std::vector<Fetched> recipes;
  std::unique_ptr<PackWriter> writer;
  size_t next = 0;
  const size_t window = static_cast<size_t>(pool->GetCapacity()) * 2;
  Status failure;
  uint64_t done = 0;
  // Checked while a pack uploads too: Ctrl-C stops a long upload (and aborts it) at once.
  auto keep_going = [&] { return !progress || progress(done); };
  while (next < spans.size() || !pending.empty()) {
    while (failure.ok() && next < spans.size() && pending.size() < window) {
      auto f = pool->Submit(fetch_span, spans[next++]);
      if (!f.ok()) {
        failure = f.status();
        break;
      }
      pending.push_back(*f);
    }
    if (pending.empty()) break;
    auto future = std::move(pending.front());
    pending.pop_front();
    const auto& result = future.result();
    if (!failure.ok()) continue;
    if (!result.ok()) {
      failure = result.status();
      continue;
    }
    for (const Fetched& f : *result) {
      if (!failure.ok()) break;
      if (f.record.type == ObjectType::kRecipe) {
        // Only its file's SHA-256 vouches for a recipe: checked once its chunks are here.
        done += f.read;
        recipes.push_back(f);
        continue;
      }
      if (!writer) {
        // A local destination gets its temporary pack in its own folder, so moving it into
        // place is a rename on one file system (a remote folder may be another mount).
        auto made = PackWriter::Create(local_dest ? dest.dir() : tmp_dir);
        if (!made.ok()) {
          failure = made.status();
          continue;
        }
        writer = std::move(*made);
      }
      failure = writer->Append(f.record.type, f.record.id, f.record.raw_size, f.record.codec,
                               f.stored->data(), static_cast<size_t>(f.stored->size()));
      if (!failure.ok()) break;
      ++stats.objects;
      stats.bytes += static_cast<uint64_t>(f.stored->size());
      done += f.read;
      if (writer->size() >= kTransferPack) {
        failure = Publish(std::move(writer), dest, tmp_dir, keep_going);
        ++stats.packs;
      }
      if (failure.ok() && progress && !progress(done))
        failure = Status::Cancelled("transfer cancelled");
    }
  }
  // Recipes are checked where chunks are cheap to read: in a local source (push, or a
  // folder remote), so they go into the same last pack; else (or for chunks only the
  // destination had) in a local destination once this transfer's chunks are published.
  if (failure.ok() && !recipes.empty() && IsLocal(source.fs())) {
    auto later =
        AppendVerifiedRecipes(recipes, source, local_dest, dest, *pool, tmp_dir, writer, &stats);
    if (later.ok()) {
      recipes = std::move(*later);
    } else {
      failure = later.status();
    }
  }
  if (failure.ok() && !recipes.empty() && local_dest && writer && writer->count() > 0) {
    failure = Publish(std::move(writer), dest, tmp_dir, keep_going);
    ++stats.packs;
  }
  if (failure.ok() && !recipes.empty()) {
    failure = AppendVerifiedRecipes(recipes, local_dest ? static_cast<const ObjectStore&>(dest)
                                                        : source,
                                    false, dest, *pool, tmp_dir, writer, &stats)
                  .status();
  }
  if (failure.ok() && writer && writer->count() > 0) {
    failure = Publish(std::move(writer), dest, tmp_dir, keep_going);
    ++stats.packs;
  }
  (void)pool->Shutdown(true);
  CAIRN_RETURN_NOT_OK(failure);
  return stats;
}

namespace {

// Why a manifest that verified is still refused ("" if it is not): entries that fail to
// parse or escape the folder, names that are not UTF-8 (no `cairn add` writes those), or
// sizes that the data this store has for an entry does not have.
std::string RefusedManifest(const ObjectStore& store, std::string_view text, const Digest& id) {
  auto entries = DecodeManifest(text, "manifest " + id.ToHex());
  if (!entries.ok()) return "refused (crafted): " + entries.status().message();
  for (const auto& e : *entries) {
    const std::string name = EscapeNonUtf8(e.path);
    if (text::FindInvalidUtf8(e.path) >= 0) {
      return "refused (crafted): it lists '" + name + "', a name that is not valid UTF-8";
    }
    auto copies = store.Find(e.oid);
    if (copies.empty()) continue;
    uint64_t size = copies[0].record.raw_size;
    if (copies[0].record.type == ObjectType::kRecipe) {
      auto payload = store.Read(e.oid);
      auto recipe = payload.ok() ? DecodeRecipe(AsView(**payload), "recipe " + e.oid.ToHex())
                                 : Result<Recipe>(payload.status());
      if (!recipe.ok()) continue;  // named as the recipe's own damage
      size = recipe->file_size;
    }
    if (size != e.size) {
      return "refused (forged or damaged): it lists '" + name + "' as " +
             std::to_string(e.size) + " bytes but its data (file " + e.oid.ToHex() + ") has " +
             std::to_string(size);
    }
  }
  return "";
}

}  // namespace

Result<std::vector<Damage>> Verify(const ObjectStore& store, const ProgressFn& progress) {
  std::vector<Damage> damage;
  for (const auto& idx : store.damaged_indexes())
    damage.push_back({idx, "", "the index is corrupt"});
  auto names = store.pack_names();
  auto records = store.pack_records();
  std::map<Digest, std::string> recipes;  // recipe id -> a pack whose copy is intact
  uint64_t done = 0;
  for (size_t p = 0; p < names.size(); ++p) {
    std::string path = store.dir() + "/" + names[p] + ".pack";
    auto data = io::ReadFile(store.fs(), path, arrow::Compression::UNCOMPRESSED);
    if (!data.ok()) {
      damage.push_back({path, "", data.status().message()});
      continue;
    }
    std::string_view bytes = AsView(**data);
    // Format 2 names a pack by its index's checksum; format 1 by the pack file's SHA-256.
    if (PackName(SerializeIndex(records[p])) != names[p] &&
        "pack-" + Sha256::Of(bytes).ToHex() != names[p]) {
      damage.push_back({path, "", "the pack's index does not match its name (it was changed)"});
    }
    for (const auto& r : records[p]) {
      auto bad = [&](const std::string& what) {
        damage.push_back({path, r.id.ToHex(), std::string(ObjectTypeName(r.type)) + ": " + what});
      };
      if (r.offset > bytes.size() || bytes.size() - r.offset < kEntryHeaderSize + r.stored_size) {
        bad("cut short (the pack is truncated)");
        continue;
      }
      const auto* at = reinterpret_cast<const uint8_t*>(bytes.data()) + r.offset;
      auto header = DecodeEntryHeader(at, r.offset, path);
      if (!header.ok() || header->id != r.id || header->stored_size != r.stored_size ||
          header->raw_size != r.raw_size || header->codec != r.codec || header->type != r.type) {
        bad("its entry header does not match the index");
        continue;
      }
      auto payload = DecodePayload(r, at + kEntryHeaderSize, path);
      Status st = payload.ok() ? VerifyPayload(r, **payload, path) : payload.status();
      if (!st.ok()) {
        bad("content does not match its id");
      } else if (r.type == ObjectType::kRecipe) {
        recipes.emplace(r.id, path);
      } else if (r.type == ObjectType::kManifest) {
        // It hashes to its id, but only what `cairn add` writes may be checked out.
        if (std::string why = RefusedManifest(store, AsView(**payload), r.id); !why.empty()) {
          bad(why);
        }
      }
    }
    done += bytes.size();
    if (progress && !progress(done)) return Status::Cancelled("fsck cancelled");
  }
  // A recipe's checksum covers only its own bytes: the file its chunks make must hash to
  // its id (a forged recipe passes every other check).
  CAIRN_ASSIGN_OR_RAISE(auto pool, arrow::internal::ThreadPool::Make(IoThreads(0)));
  for (const auto& [id, path] : recipes) {
    auto payload = store.Read(id);
    auto recipe = payload.ok() ? DecodeRecipe(AsView(**payload), "recipe " + id.ToHex())
                               : Result<Recipe>(payload.status());
    Status st = recipe.status();
    if (st.ok()) {
      st = AssembleFile(store, pool.get(), id, recipe->chunks,
                        [](const uint8_t*, size_t) { return Status::OK(); });
    }
    if (!st.ok()) damage.push_back({path, id.ToHex(), "recipe: " + st.message()});
    if (progress && !progress(done)) return Status::Cancelled("fsck cancelled");
  }
  (void)pool->Shutdown(true);
  return damage;
}

Result<GcStats> CollectGarbage(ObjectStore& store, const std::vector<Pointer>& keep, bool dry_run,
                               const std::string& tmp_dir) {
  CAIRN_ASSIGN_OR_RAISE(auto closure, CollectClosure({&store}, keep));
  std::unordered_set<Digest, DigestHash> live(closure.ids.begin(), closure.ids.end());
  GcStats stats;
  auto names = store.pack_names();
  auto records = store.pack_records();
  // One copy of each live object is enough. With several copies, keep one that verifies
  // (a damaged copy must never be the one that survives); with one, keep it as it is.
  std::unordered_map<Digest, std::pair<uint32_t, uint64_t>, DigestHash> chosen;
  CAIRN_ASSIGN_OR_RAISE(auto pool, arrow::internal::ThreadPool::Make(IoThreads(0)));
  for (const auto& id : live) {
    auto copies = store.Find(id);
    if (copies.empty()) continue;
    const Location* pick = &copies[0];
    if (copies.size() > 1) {
      for (const auto& copy : copies) {
        if (GoodCopy(store, pool.get(), copy)) {
          pick = &copy;
          break;
        }
      }
    }
    chosen[id] = {pick->pack, pick->record.offset};
  }
  for (size_t p = 0; p < names.size(); ++p) {
    std::vector<const IndexRecord*> kept;
    uint64_t dropped_bytes = 0, dropped = 0;
    for (const auto& r : records[p]) {
      auto it = chosen.find(r.id);
      if (it != chosen.end() && it->second == std::make_pair(static_cast<uint32_t>(p), r.offset)) {
        kept.push_back(&r);
      } else {
        ++dropped;
        dropped_bytes += kEntryHeaderSize + r.stored_size;
      }
    }
    stats.objects_kept += kept.size();
    stats.objects_dropped += dropped;
    stats.bytes_dropped += dropped_bytes;
    if (dropped == 0) continue;
    if (kept.empty()) {
      ++stats.packs_deleted;
    } else {
      ++stats.packs_rewritten;
    }
    if (dry_run) continue;
    CAIRN_RETURN_NOT_OK(
        RewritePack(store, static_cast<uint32_t>(p), kept, /*verify=*/true, tmp_dir));
  }
  if (!dry_run && IsLocal(store.fs())) CAIRN_RETURN_NOT_OK(SyncDirectory(store.dir()));
  return stats;
}

Result<uint64_t> DropDamagedCopies(ObjectStore& store, const std::vector<Digest>& ids,
                                   const std::string& tmp_dir) {
  std::unordered_map<uint32_t, std::unordered_set<uint64_t>> bad;  // pack -> entry offsets
  CAIRN_ASSIGN_OR_RAISE(auto pool, arrow::internal::ThreadPool::Make(IoThreads(0)));
  for (const auto& id : ids) {
    std::vector<Location> damaged;
    bool any_good = false;
    for (const auto& copy : store.Find(id)) {
      if (GoodCopy(store, pool.get(), copy)) {
        any_good = true;
      } else {
        damaged.push_back(copy);
      }
    }
    if (!any_good) continue;  // keep the damaged copy: it is all there is
    for (const auto& copy : damaged) bad[copy.pack].insert(copy.record.offset);
  }
  auto records = store.pack_records();
  uint64_t dropped = 0;
  for (const auto& [p, offsets] : bad) {
    std::vector<const IndexRecord*> kept;
    for (const auto& r : records[p]) {
      if (!offsets.count(r.offset)) kept.push_back(&r);
    }
    dropped += records[p].size() - kept.size();
    CAIRN_RETURN_NOT_OK(RewritePack(store, p, kept, /*verify=*/false, tmp_dir));
  }
  if (!bad.empty() && IsLocal(store.fs())) CAIRN_RETURN_NOT_OK(SyncDirectory(store.dir()));
  return dropped;
}

}  // namespace cairn::store
