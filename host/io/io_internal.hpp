// Helpers shared by the file-format sources under host/io (not part of the public API).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dgeval {
namespace detail {

/// Reorders the elements of a Fortran-order array of `shape` into C order.
std::vector<double> fortran_to_c(const std::vector<double>& f, const std::vector<std::int64_t>& shape);

/// Parses a number as written in .nfg and strategy files: an integer, a decimal with optional
/// exponent (also nan/inf), or a rational p/q (q != 0). False if `s` is not exactly that.
bool parse_number(const std::string& s, double* out);

}  // namespace detail
}  // namespace dgeval
