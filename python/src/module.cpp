// dgeval._core: the nanobind bindings under the Python package `dgeval`.
//
// This layer is thin on purpose. The Python side (python/dgeval/_*.py) checks and normalises
// the arrays (shape rules, dtype, C order, copies); the files of python/src
//   * wrap C-contiguous float32/float64 NumPy buffers in a BatchView without copying,
//   * parse option names with the parsers the CLI uses (so the messages are the CLI's),
//   * run long work with the GIL released, polling for Ctrl-C through the progress callback
//     (interrupt.hpp),
//   * hand every result column back to NumPy without copying (arrays.hpp: the std::vector
//     moves into a capsule that owns it).
// dgeval::error becomes dgeval.Error (a ValueError); dgeval::cancelled becomes the Python
// exception that caused it (KeyboardInterrupt on Ctrl-C) or dgeval.Cancelled.
//
// This file creates the module, its exceptions and what describes the library (version, CUDA,
// dims); bindings.hpp lists the files that add the rest, one job each.
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "bindings.hpp"
#include "dgeval/dgeval.hpp"
#include "interrupt.hpp"

namespace nb = nanobind;
using namespace nb::literals;

NB_MODULE(_core, m) {
  m.doc() = "dgeval's compiled core; use the `dgeval` package, not this module.";

  nb::exception<dgeval::error>(m, "Error", PyExc_ValueError);
  // A new reference kept for the life of the process (the module attribute holds another).
  dgeval_python::cancelled_type = PyErr_NewExceptionWithDoc(
      "dgeval._core.Cancelled", "An evaluation stopped because the progress callback returned False.", nullptr,
      nullptr);
  if (!dgeval_python::cancelled_type.ptr()) throw nb::python_error();
  m.attr("Cancelled") = dgeval_python::cancelled_type;

  m.def("version", [] { return std::string(dgeval::version()); });
  m.def("cuda_compiled", [] {
#ifdef DGEVAL_HAVE_CUDA
    return true;
#else
    return false;
#endif
  });
  m.def("cuda_status", [] {
    std::string why;
    const bool ok = dgeval::cuda_available(&why);
    return nb::make_tuple(ok, why);
  });
  m.def(
      "dims_text", [](std::vector<std::int64_t> actions) { return dgeval::Dims(std::move(actions)).to_string(); },
      "actions"_a);
  m.def(
      "parse_dims", [](const std::string& text) { return dgeval::Dims::parse(text).actions(); }, "text"_a);
  m.def("max_players", [] { return dgeval::kMaxPlayers; });

  dgeval_python::bind_evaluate(m);
  dgeval_python::bind_io(m);
  dgeval_python::bind_generators(m);
  dgeval_python::bind_inference(m);
  dgeval_python::bind_experiments(m);
}
