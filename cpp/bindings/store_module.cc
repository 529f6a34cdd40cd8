// cairn._core.store: converts arguments, results, progress callbacks and errors between
// Python and the C++ store (cpp/src/store); no logic. Pointers cross as their file text.
#include <nanobind/nanobind.h>
#include <nanobind/stl/map.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/shared_ptr.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/unique_ptr.h>
#include <nanobind/stl/vector.h>

#include <functional>
#include <map>

#include "cairn/io/file_io.h"
#include "cairn/store/adder.h"
#include "cairn/store/compact.h"
#include "cairn/store/materializer.h"
#include "cairn/store/repair.h"
#include "cairn/store/transfer.h"
#include "s3_spec.h"

namespace nb = nanobind;
using namespace cairn::store;

namespace {

[[noreturn]] void Raise(const cairn::Status& st) {
  PyObject* type = PyExc_OSError;
  if (st.IsInvalid()) type = PyExc_ValueError;
  if (st.IsKeyError()) type = PyExc_LookupError;
  if (st.IsCancelled()) type = PyExc_KeyboardInterrupt;
  if (st.detail() && dynamic_cast<const cairn::io::NotFoundDetail*>(st.detail().get())) {
    type = PyExc_FileNotFoundError;
  }
  PyErr_SetString(type, st.message().c_str());
  throw nb::python_error();
}

template <typename T>
T Unwrap(cairn::Result<T> r) {
  if (!r.ok()) Raise(r.status());
  return std::move(r).ValueOrDie();
}

void Check(const cairn::Status& st) {
  if (!st.ok()) Raise(st);
}

// Wraps a Python progress callable for C++; a Python exception inside it (Ctrl-C included)
// cancels the operation and is re-raised by Finish().
struct PyProgress {
  nb::object callback;
  bool failed = false;
  nb::object error_type, error_value, error_tb;

  ProgressFn Fn() {
    return [this](uint64_t done) {
      nb::gil_scoped_acquire gil;
      if (PyErr_CheckSignals() != 0 || (!callback.is_none() && !CallOk(done))) {
        failed = true;
        PyObject *t, *v, *tb;
        PyErr_Fetch(&t, &v, &tb);
        error_type = nb::steal(t);
        error_value = nb::steal(v);
        error_tb = nb::steal(tb);
        return false;
      }
      return true;
    };
  }
  bool CallOk(uint64_t done) {
    PyObject* arg = PyLong_FromUnsignedLongLong(done);
    if (arg == nullptr) return false;
    PyObject* r = PyObject_CallOneArg(callback.ptr(), arg);
    Py_DECREF(arg);
    if (r == nullptr) return false;
    Py_DECREF(r);
    return true;
  }
  // Re-raises a Python error caught in the callback, else raises `st` if it failed.
  void Finish(const cairn::Status& st) {
    if (failed) {
      PyErr_Restore(error_type.release().ptr(), error_value.release().ptr(),
                    error_tb.release().ptr());
      throw nb::python_error();
    }
    Check(st);
  }
};

Pointer ParsePointerText(const std::string& text, const std::string& where) {
  return Unwrap(ParsePointer(text, where));
}

std::vector<Pointer> ParsePointers(const std::vector<std::pair<std::string, std::string>>& items) {
  std::vector<Pointer> out;
  for (const auto& [text, where] : items) out.push_back(ParsePointerText(text, where));
  return out;
}

Digest ParseId(const std::string& hex) { return Unwrap(Digest::FromHex(hex)); }

KnownOids ParseKnown(const std::map<std::string, std::string>& known) {
  KnownOids out;
  out.reserve(known.size());
  for (const auto& [path, hex] : known) out.emplace(path, ParseId(hex));
  return out;
}

std::vector<std::string> Hexes(const std::vector<Digest>& ids) {
  std::vector<std::string> out;
  out.reserve(ids.size());
  for (const auto& id : ids) out.push_back(id.ToHex());
  return out;
}

// Runs f (which returns a Result or Status) with the GIL released.
template <typename F>
auto Released(F&& f) {
  nb::gil_scoped_release release;
  return f();
}

// Runs f(progress function) without the GIL; re-raises a Python error from the callback
// (Ctrl-C included), else f's error; returns f's value.
template <typename F>
auto WithProgress(nb::object progress, F&& f) {
  PyProgress prog{progress};
  decltype(f(prog.Fn())) r;
  {
    nb::gil_scoped_release release;
    r = f(prog.Fn());
  }
  prog.Finish(r.status());
  return std::move(r).MoveValueUnsafe();
}

std::shared_ptr<ObjectStore> OpenStore(const std::string& uri, const cairn::py::S3Spec& s3) {
  auto resolved =
      Unwrap(Released([&] { return cairn::io::ResolvePath(uri, cairn::py::ToS3Settings(s3)); }));
  return Unwrap(Released([&] { return ObjectStore::Open(resolved.first, resolved.second); }));
}

// Runs Adder::AddFile or AddDirectory without the GIL, reporting to a Python callable.
template <typename Add>
std::string AddWithProgress(Adder& adder, Add add, const std::string& path, nb::object progress) {
  PyProgress p{progress};
  adder.set_progress(p.Fn());
  auto r = Released([&] { return std::invoke(add, adder, path); });
  adder.set_progress(nullptr);  // `p` ends here
  p.Finish(r.status());
  return EncodePointer(*r);
}

using FileEntry = std::tuple<std::string, std::string, uint64_t, bool>;  // path, oid, size, exec

std::vector<FileEntry> ToEntries(const std::vector<ManifestEntry>& entries) {
  std::vector<FileEntry> out;
  out.reserve(entries.size());
  for (const auto& e : entries) out.emplace_back(e.path, e.oid.ToHex(), e.size, e.executable);
  return out;
}

}  // namespace

void BindStore(nb::module_& parent) {
  nb::module_ m = parent.def_submodule("store", "cairn's versioned data store (C++).");

  nb::class_<ObjectStore>(m, "ObjectStore", "A folder of packs: the local cache or a remote.")
      .def_static("open", &OpenStore, nb::arg("uri"),
                  nb::arg("s3") = cairn::py::S3Spec{"", "", "", "", "", 6})
      .def("refresh", [](ObjectStore& s) { Check(Released([&] { return s.Refresh(); })); })
      .def("contains",
           [](const ObjectStore& s, const std::string& id) { return s.Contains(ParseId(id)); })
      .def(
          "read",
          [](const ObjectStore& s, const std::string& id) {
            Digest digest = ParseId(id);
            auto buf = Unwrap(Released([&] { return s.Read(digest); }));
            return nb::bytes(reinterpret_cast<const char*>(buf->data()),
                             static_cast<size_t>(buf->size()));
          },
          nb::arg("id"), "The verified payload of object `id` (hex).")
      .def(
          "stored_size",
          [](const ObjectStore& s, const std::vector<std::string>& ids) {
            uint64_t n = 0;
            for (const auto& id : ids) {
              auto copies = s.Find(ParseId(id));
              if (!copies.empty()) n += kEntryHeaderSize + copies[0].record.stored_size;
            }
            return n;
          },
          nb::arg("ids"), "Bytes the objects `ids` take in this store (one copy each).")
      .def("pack_names", &ObjectStore::pack_names)
      .def("damaged_indexes", &ObjectStore::damaged_indexes)
      .def("object_count",
           [](const ObjectStore& s) {
             size_t n = 0;
             for (const auto& p : s.pack_records()) n += p.size();
             return n;
           })
      .def("stored_bytes",
           [](const ObjectStore& s) {
             uint64_t n = 0;
             for (const auto& p : s.pack_records()) {
               for (const auto& r : p) n += kEntryHeaderSize + r.stored_size;
             }
             return n;
           })
      .def_prop_ro("dir", &ObjectStore::dir);

  nb::class_<Adder>(m, "Adder", "One `cairn add`: stages new objects, Commit makes them durable.")
      .def_static(
          "make",
          [](std::shared_ptr<ObjectStore> cache, const std::string& tmp_dir, int level,
             int threads) {
            return Unwrap(Adder::Make(std::move(cache), tmp_dir, AddOptions{level, threads}));
          },
          nb::arg("cache"), nb::arg("tmp_dir"), nb::arg("level") = 1, nb::arg("threads") = 0)
      .def(
          "add_file",
          [](Adder& a, const std::string& path, nb::object progress) {
            return AddWithProgress(a, &Adder::AddFile, path, progress);
          },
          nb::arg("path"), nb::arg("progress").none() = nb::none())
      .def(
          "add_directory",
          [](Adder& a, const std::string& path, nb::object progress,
             const std::map<std::string, std::string>& known) {
            KnownOids oids = ParseKnown(known);
            return AddWithProgress(
                a,
                [&oids](Adder& adder, const std::string& p) { return adder.AddDirectory(p, oids); },
                path, progress);
          },
          nb::arg("path"), nb::arg("progress").none() = nb::none(),
          nb::arg("known") = std::map<std::string, std::string>{},
          "Adds a folder; `known` maps relative paths to hex oids of files whose stat says "
          "they did not change (they are not read when the cache has them).")
      .def("commit", [](Adder& a) { return Unwrap(Released([&] { return a.Commit(); })); })
      .def("stats", [](const Adder& a) {
        const auto& s = a.stats();
        nb::dict d;
        d["files"] = s.files;
        d["bytes"] = s.bytes;
        d["new_chunks"] = s.new_chunks;
        d["new_bytes"] = s.new_bytes;
        d["stored_bytes"] = s.stored_bytes;
        return d;
      });

  nb::class_<Materializer>(m, "Materializer", "Reads tracked files out of a store.")
      .def_static(
          "make",
          [](std::shared_ptr<ObjectStore> store, int threads) {
            return Unwrap(Materializer::Make(std::move(store), threads));
          },
          nb::arg("store"), nb::arg("threads") = 0)
      .def(
          "write",
          [](Materializer& mat, const std::string& pointer, const std::string& where,
             const std::string& dest, nb::object progress) -> uint64_t {
            Pointer p = ParsePointerText(pointer, where);
            PyProgress prog{progress};
            mat.set_progress(prog.Fn());
            cairn::Result<uint64_t> r;
            {
              nb::gil_scoped_release release;
              if (p.kind == Pointer::Kind::kFile) {
                cairn::Status st = mat.WriteFile(p.oid, p.size, p.executable, dest);
                r = st.ok() ? cairn::Result<uint64_t>(1) : cairn::Result<uint64_t>(st);
              } else {
                r = mat.WriteDirectory(p.oid, dest);
              }
            }
            mat.set_progress(nullptr);  // `prog` ends here
            prog.Finish(r.status());
            return *r;
          },
          nb::arg("pointer"), nb::arg("where"), nb::arg("dest"),
          nb::arg("progress").none() = nb::none(),
          "Writes the data a pointer names to `dest`; returns the number of files written.")
      .def(
          "file_chunks",
          [](Materializer& mat, const std::string& oid, uint64_t size) {
            Digest digest = ParseId(oid);
            auto chunks = Unwrap(Released([&] { return mat.FileChunks(digest, size); }));
            std::vector<std::pair<std::string, uint32_t>> out;
            for (const auto& c : chunks) out.emplace_back(c.id.ToHex(), c.size);
            return out;
          },
          nb::arg("oid"), nb::arg("size"))
      .def(
          "read_manifest",
          [](Materializer& mat, const std::string& id) {
            Digest digest = ParseId(id);
            return ToEntries(Unwrap(Released([&] { return mat.ReadManifest(digest); })));
          },
          nb::arg("id"));

  m.def(
      "parse_pointer",
      [](const std::string& text, const std::string& where) {
        Pointer p = ParsePointerText(text, where);
        return std::make_tuple(std::string(p.kind == Pointer::Kind::kFile ? "file" : "dir"),
                               p.oid.ToHex(), p.size, p.executable, p.files);
      },
      nb::arg("text"), nb::arg("where"),
      "(kind, oid, size, executable, files) of a pointer file's text.");
  m.def("encode_pointer", [](const std::string& kind, const std::string& oid, uint64_t size,
                             bool executable, uint64_t files) {
    if (kind != "file" && kind != "dir") throw nb::value_error("kind must be 'file' or 'dir'");
    return EncodePointer({kind == "file" ? Pointer::Kind::kFile : Pointer::Kind::kDir, ParseId(oid),
                          size, executable, files});
  });
  m.def(
      "hash_file",
      [](const std::string& path) {
        return Unwrap(Released([&] { return HashFile(path); })).ToHex();
      },
      nb::arg("path"), "SHA-256 (hex) of a file: its oid.");
  m.def(
      "scan_directory",
      [](const std::string& path, int threads) {
        return ToEntries(Unwrap(Released([&] { return ScanDirectory(path, threads); })));
      },
      nb::arg("path"), nb::arg("threads") = 0);
  m.def(
      "manifest_id",
      [](const std::string& path, const std::map<std::string, std::string>& known) {
        KnownOids oids = ParseKnown(known);
        auto entries = Unwrap(Released([&] { return ScanDirectory(path, 0, oids); }));
        uint64_t total = 0;
        std::map<std::string, std::string> files;
        for (const auto& e : entries) {
          total += e.size;
          files.emplace(e.path, e.oid.ToHex());
        }
        return std::make_tuple(Sha256::Of(EncodeManifest(entries)).ToHex(), total, entries.size(),
                               std::move(files));
      },
      nb::arg("path"), nb::arg("known") = std::map<std::string, std::string>{},
      "(manifest id, total size, file count, {relative path: oid}) `cairn add` would record "
      "for a folder; files in `known` (relative path -> hex oid) are not read.");
  m.def("validate_relative_path", [](const std::string& path, const std::string& where) {
    Check(ValidateRelativePath(path, where));
  });
  m.def(
      "closure",
      [](std::vector<std::shared_ptr<ObjectStore>> sources,
         const std::vector<std::pair<std::string, std::string>>& pointers) {
        auto roots = ParsePointers(pointers);
        std::vector<const ObjectStore*> raw;
        for (const auto& s : sources) raw.push_back(s.get());
        Closure c = Unwrap(Released([&] { return CollectClosure(raw, roots); }));
        return std::make_tuple(Hexes(c.ids), Hexes(c.missing), c.bytes, Hexes(c.damaged));
      },
      nb::arg("sources"), nb::arg("pointers"),
      "(ids, missing, bytes, damaged): the objects needed to read `pointers` [(text, where)], "
      "and the manifests and recipes an earlier source had only bad copies of.");
  m.def(
      "copy_objects",
      [](std::shared_ptr<ObjectStore> source, std::shared_ptr<ObjectStore> dest,
         const std::vector<std::string>& ids, const std::vector<std::string>& replace,
         const std::string& tmp_dir, nb::object progress, int threads, int level) {
        std::vector<Digest> want, bad;
        for (const auto& id : ids) want.push_back(ParseId(id));
        for (const auto& id : replace) bad.push_back(ParseId(id));
        auto r = WithProgress(progress, [&](const ProgressFn& fn) {
          return CopyObjects(*source, *dest, want, bad, tmp_dir, fn, threads, level);
        });
        nb::dict d;
        d["objects"] = r.objects;
        d["bytes"] = r.bytes;
        d["packs"] = r.packs;
        std::vector<std::pair<std::string, std::string>> rejected;
        for (const auto& [id, why] : r.rejected) rejected.emplace_back(id.ToHex(), why);
        d["rejected"] = rejected;
        return d;
      },
      nb::arg("source"), nb::arg("dest"), nb::arg("ids"), nb::arg("replace"), nb::arg("tmp_dir"),
      nb::arg("progress").none() = nb::none(), nb::arg("threads") = 0, nb::arg("level") = 0);
  m.def(
      "verify",
      [](std::shared_ptr<ObjectStore> store, nb::object progress) {
        auto damage =
            WithProgress(progress, [&](const ProgressFn& fn) { return Verify(*store, fn); });
        std::vector<std::tuple<std::string, std::string, std::string>> out;
        for (const auto& d : damage) out.emplace_back(d.file, d.object, d.what);
        return out;
      },
      nb::arg("store"), nb::arg("progress").none() = nb::none());
  m.def(
      "drop_damaged_copies",
      [](std::shared_ptr<ObjectStore> store, const std::vector<std::string>& ids,
         const std::string& tmp_dir) {
        std::vector<Digest> digests;
        for (const auto& id : ids) digests.push_back(ParseId(id));
        return Unwrap(Released([&] { return DropDamagedCopies(*store, digests, tmp_dir); }));
      },
      nb::arg("store"), nb::arg("ids"), nb::arg("tmp_dir"));
  m.def(
      "repair_packs",
      [](std::shared_ptr<ObjectStore> store, bool dry_run) {
        auto r = Unwrap(Released([&] { return RepairPacks(*store, dry_run); }));
        nb::dict d;
        d["problems"] = r.problems;
        d["indexes_rebuilt"] = r.indexes_rebuilt;
        d["packs_salvaged"] = r.packs_salvaged;
        d["packs_dropped"] = r.packs_dropped;
        d["objects_salvaged"] = r.objects_salvaged;
        d["objects_lost"] = r.objects_lost;
        return d;
      },
      nb::arg("store"), nb::arg("dry_run"),
      "Finds (dry_run) or repairs damaged indexes and packs gone or cut short.");
  m.def(
      "deferred_bytes", [](std::shared_ptr<ObjectStore> store) { return DeferredBytes(*store); },
      nb::arg("store"), "Payload bytes whose compression was deferred (stored raw by add).");
  m.def(
      "compact_packs",
      [](std::shared_ptr<ObjectStore> store, int level, nb::object progress, int threads) {
        auto r = WithProgress(progress, [&](const ProgressFn& fn) {
          return CompactPacks(*store, level, fn, threads);
        });
        nb::dict d;
        d["packs"] = r.packs;
        d["objects"] = r.objects;
        d["bytes_before"] = r.bytes_before;
        d["bytes_after"] = r.bytes_after;
        d["replaced"] = r.replaced;
        d["problems"] = r.problems;
        return d;
      },
      nb::arg("store"), nb::arg("level"), nb::arg("progress").none() = nb::none(),
      nb::arg("threads") = 0);
  m.def(
      "drop_redundant_packs",
      [](std::shared_ptr<ObjectStore> store, const std::vector<std::string>& names) {
        return Unwrap(Released([&] { return DropRedundantPacks(*store, names); }));
      },
      nb::arg("store"), nb::arg("names"));
  m.def(
      "collect_garbage",
      [](std::shared_ptr<ObjectStore> store,
         const std::vector<std::pair<std::string, std::string>>& keep, bool dry_run,
         const std::string& tmp_dir) {
        auto roots = ParsePointers(keep);
        auto r = Released([&] { return CollectGarbage(*store, roots, dry_run, tmp_dir); });
        Check(r.status());
        nb::dict d;
        d["objects_kept"] = r->objects_kept;
        d["objects_dropped"] = r->objects_dropped;
        d["bytes_dropped"] = r->bytes_dropped;
        d["packs_deleted"] = r->packs_deleted;
        d["packs_rewritten"] = r->packs_rewritten;
        return d;
      },
      nb::arg("store"), nb::arg("keep"), nb::arg("dry_run"), nb::arg("tmp_dir"));
}
