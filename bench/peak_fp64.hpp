// dgeval_bench --fp64-peak: this machine's FP64 arithmetic peak, measured (bench/peak_fp64.cpp).
#pragma once

#include <string>

namespace dgeval_bench {

/// FP64 operations per second (a fused multiply-add counts 2) that `threads` threads reach with
/// independent chains of vector fused multiply-adds on the widest instruction set Highway
/// dispatches to on this machine; the best of a few runs of about 0.1 s each. `target` receives
/// the instruction set's name.
double fp64_peak_flops(int threads, std::string* target);

}  // namespace dgeval_bench
