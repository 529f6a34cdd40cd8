// cairn._core: converts arguments and errors between Python and the C++ engine; no logic.
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>

#include "pybridge/execute.h"

namespace nb = nanobind;

namespace {

nb::object Steal(PyObject* result) {
  if (result == nullptr) throw nb::python_error();
  return nb::steal(result);
}

}  // namespace

NB_MODULE(_core, m) {
  m.doc() = "cairn's C++ engine (internal; use the cairn package).";

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

  m.def("shutdown_pools", &cairn::py::ShutdownPools);

  m.def(
      "run_synthetic_graph",
      [](const std::string& kind, size_t num_tasks, size_t group_width, int num_workers) {
        return Steal(cairn::py::RunSyntheticGraph(kind, num_tasks, group_width, num_workers));
      },
      nb::arg("kind"), nb::arg("num_tasks"), nb::arg("group_width"), nb::arg("num_workers"));
}
