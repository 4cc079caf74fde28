// dgeval_bench --model: the kernels' cost without running them (bench/bench_model.cpp).
#pragma once

#include <string>
#include <vector>

#include "dgeval/dgeval.hpp"

namespace dgeval_bench {

/// Prints, per workload (`dims` with `games` games each) and its path on an H100: bytes read and
/// written per game, launches per chunk, registers, theoretical occupancy and the time a perfect
/// kernel would take at `bandwidth` bytes/s. Returns 0, or 1 when the CUDA backend is not built.
int print_model(const std::vector<std::pair<std::string, std::int64_t>>& workloads, dgeval::DType dtype,
                dgeval::ColumnMask columns, double bandwidth);

}  // namespace dgeval_bench
