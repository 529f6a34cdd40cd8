// cairn._core: converts arguments and errors between Python and the C++ engine; no logic.
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include "cairn/text/kernels.h"
#include "cairn/text/value_codec.h"
#include "pybridge/execute.h"
#include "pybridge/native_values.h"
#include "pybridge/python_runtime.h"
#include "s3_spec.h"

namespace nb = nanobind;

void BindStore(nb::module_& parent);  // store_module.cc

namespace {

nb::object Steal(PyObject* result) {
  if (result == nullptr) throw nb::python_error();
  return nb::steal(result);
}

using cairn::py::NativeTaskHandle;
using cairn::py::NativeValueHandle;
using OpSpec = std::tuple<std::string, int, std::string>;  // (name, n, sep)
// path, offset, size, codec, S3 settings (cairn.filesystems.S3Options.core_spec()), the
// file's listed size (-1: unknown)
using SegmentSpec =
    std::tuple<std::string, int64_t, int64_t, std::string, cairn::py::S3Spec, int64_t>;

cairn::text::TextOp ToOp(const OpSpec& spec) {
  using Kind = cairn::text::TextOp::Kind;
  static const std::pair<const char*, Kind> kNames[] = {
      {"lower", Kind::kLower},      {"upper", Kind::kUpper},     {"strip", Kind::kStrip},
      {"split", Kind::kSplit},      {"flatten", Kind::kFlatten}, {"ngrams", Kind::kNgrams},
      {"nonempty", Kind::kNonEmpty}};
  for (const auto& [name, kind] : kNames) {
    if (std::get<0>(spec) == name) return {kind, std::get<1>(spec), std::get<2>(spec)};
  }
  throw nb::value_error(("unknown text op '" + std::get<0>(spec) + "'").c_str());
}

arrow::Compression::type ToCodec(const std::string& name) {
  if (name.empty() || name == "none") return arrow::Compression::UNCOMPRESSED;
  auto codec = arrow::util::Codec::GetCompressionType(name == "zstd" ? "zstd" : name);
  if (!codec.ok()) throw nb::value_error(("unknown compression '" + name + "'").c_str());
  return *codec;
}

cairn::text::SinkKind ToSink(const std::string& name) {
  using cairn::text::SinkKind;
  if (name == "collect") return SinkKind::kCollect;
  if (name == "count") return SinkKind::kCount;
  if (name == "frequencies") return SinkKind::kFrequencies;
  if (name == "distinct") return SinkKind::kDistinct;
  throw nb::value_error(("unknown sink '" + name + "'").c_str());
}

[[noreturn]] void Raise(const cairn::Status& status) {
  cairn::py::SetPythonError(status);
  throw nb::python_error();
}

// run_native's inputs: NativeValue handles pass their value, ints pass as int64 (the type
// native sums take), anything else as the Python object.
std::vector<cairn::ValuePtr> ToValues(nb::list inputs) {
  std::vector<cairn::ValuePtr> values;
  for (nb::handle item : inputs) {
    if (nb::isinstance<NativeValueHandle>(item)) {
      values.push_back(nb::cast<const NativeValueHandle&>(item).value);
    } else if (PyLong_CheckExact(item.ptr())) {
      values.push_back(cairn::MakeValue<int64_t>(nb::cast<int64_t>(item)));
    } else {
      values.push_back(std::make_shared<cairn::py::PyValue>(nb::borrow(item).release().ptr()));
    }
  }
  return values;
}

}  // namespace

NB_MODULE(_core, m) {
  m.doc() = "cairn's C++ engine (internal; use the cairn package).";
  BindStore(m);

  m.def(
      "execute",
      [](nb::dict dsk, nb::object keys, const std::string& scheduler, int num_workers,
         nb::object progress, bool fuse) {
        cairn::py::ExecuteOptions options;
        options.scheduler = scheduler;
        options.num_workers = num_workers;
        options.fuse = fuse;
        options.progress = progress.is_none() ? nullptr : progress.ptr();
        return Steal(cairn::py::Execute(dsk.ptr(), keys.ptr(), options));
      },
      nb::arg("dsk"), nb::arg("keys"), nb::arg("scheduler"), nb::arg("num_workers"),
      nb::arg("progress").none(), nb::arg("fuse"),
      "Compute `keys` of the Dask-spec graph `dsk`; returns their values as a list.");

  m.def(
      "plan_stats",
      [](nb::dict dsk, nb::object keys, bool fuse) {
        return Steal(cairn::py::PlanStats(dsk.ptr(), keys.ptr(), fuse));
      },
      nb::arg("dsk"), nb::arg("keys"), nb::arg("fuse") = true);

  m.def(
      "plan_chains",
      [](nb::dict dsk, nb::object keys) {
        return Steal(cairn::py::PlanChains(dsk.ptr(), keys.ptr()));
      },
      nb::arg("dsk"), nb::arg("keys"),
      "The linear chains the plan fuses: lists of positions in `dsk`, first task first.");

  m.def("shutdown_pools", &cairn::py::ShutdownPools);
  m.def("shutdown_s3", [] {
    nb::gil_scoped_release release;
    cairn::io::ShutdownS3();
  });

  nb::class_<NativeTaskHandle>(m, "NativeTask",
                               "A native (C++) task body, used as the callable of a task.",
                               nb::is_weak_referenceable())
      .def("__repr__",
           [](const NativeTaskHandle& h) { return "<cairn native task " + h.body->Label() + ">"; });

  nb::class_<NativeValueHandle>(
      m, "NativeValue",
      "A native task's result kept native between tasks (a counts table); pickles as bytes "
      "for another process running the same cairn build.")
      .def("to_python",
           [](const NativeValueHandle& h) { return Steal(cairn::py::ValueToPython(h.value)); })
      .def("__getstate__",
           [](const NativeValueHandle& h) {
             auto bytes = cairn::text::EncodeValue(h.value);
             if (!bytes.ok()) Raise(bytes.status());
             return nb::bytes(bytes->data(), bytes->size());
           })
      .def("__setstate__",
           [](NativeValueHandle& h, nb::bytes state) {
             auto value = cairn::text::DecodeValue(
                 std::string_view(static_cast<const char*>(state.data()), state.size()));
             if (!value.ok()) Raise(value.status());
             new (&h) NativeValueHandle{*std::move(value)};
           })
      .def("__repr__", [](const NativeValueHandle&) { return "<cairn native value>"; });

  m.def(
      "run_native",
      [](const NativeTaskHandle& task, nb::list inputs, bool to_python) -> nb::object {
        auto out = cairn::py::RunNativeTask(task, ToValues(inputs));
        if (!out.ok()) Raise(out.status());
        if (!to_python && cairn::text::IsEncodable(*out) &&
            cairn::ValueAs<int64_t>(*out) == nullptr) {
          return nb::cast(NativeValueHandle{*std::move(out)});
        }
        return Steal(cairn::py::ValueToPython(*out));
      },
      nb::arg("task"), nb::arg("inputs"), nb::arg("to_python"),
      "Run a native task here, GIL released. Counts tables come back as NativeValue unless "
      "to_python; other results as Python objects.");

  m.def(
      "text_scan",
      [](const std::vector<SegmentSpec>& segments, const std::string& errors,
         const std::vector<OpSpec>& ops, const std::string& sink, int64_t partition) {
        std::vector<cairn::text::TextSegment> segs;
        for (const auto& [path, offset, size, codec, s3, listed] : segments) {
          segs.push_back({path, offset, size, ToCodec(codec), cairn::py::ToS3Settings(s3), listed});
        }
        std::vector<cairn::text::TextOp> text_ops;
        for (const auto& op : ops) text_ops.push_back(ToOp(op));
        auto sink_kind = ToSink(sink);
        auto valid = cairn::text::ValidatePipeline(text_ops, sink_kind);
        if (!valid.ok()) throw nb::value_error(valid.message().c_str());
        if (errors != "strict" && errors != "replace") {
          throw nb::value_error("native text reading supports errors='strict' or 'replace'");
        }
        return NativeTaskHandle{cairn::text::MakeTextScan(std::move(segs), errors == "replace",
                                                          std::move(text_ops), sink_kind,
                                                          partition)};
      },
      nb::arg("segments"), nb::arg("errors"), nb::arg("ops"), nb::arg("sink"),
      nb::arg("partition") = 0);
  m.def(
      "merge_counts",
      [](bool concat) { return NativeTaskHandle{cairn::text::MakeMergeCounts(concat)}; },
      nb::arg("concat") = false);
  m.def("sum_int64", [] { return NativeTaskHandle{cairn::text::MakeSumInt64()}; });
  m.def(
      "largest_counts",
      [](int64_t k) { return NativeTaskHandle{cairn::text::MakeLargestCounts(k)}; }, nb::arg("k"));

  m.def(
      "run_synthetic_graph",
      [](const std::string& kind, size_t num_tasks, size_t group_width, int num_workers) {
        return Steal(cairn::py::RunSyntheticGraph(kind, num_tasks, group_width, num_workers));
      },
      nb::arg("kind"), nb::arg("num_tasks"), nb::arg("group_width"), nb::arg("num_workers"));
}
