// dgeval._core: one nanobind module (module.cpp), its functions defined by job, one file each,
// as the C++ library's headers divide them.
#pragma once

#include <nanobind/nanobind.h>

namespace dgeval_python {

namespace nb = nanobind;

void bind_evaluate(nb::module_& m);     // evaluate.cpp: evaluate, EvaluateOptions, result columns and flags
void bind_io(nb::module_& m);           // io.cpp: .nfg, .npy, .npz files (dgeval/io.hpp)
void bind_generators(nb::module_& m);   // generators.cpp: examples, uniform and delegation generators
void bind_inference(nb::module_& m);    // inference.cpp: observations, infer, outcome sets, sampling
void bind_experiments(nb::module_& m);  // experiments.cpp: grid scan, bound surface, inference experiment

}  // namespace dgeval_python
