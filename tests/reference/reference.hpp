// A plain scalar float64 reference of every result column, for tests only: one loop per definition
// of docs/MATH.md and docs/MEASURES.md, written from the documents and not from the backends (it
// includes nothing of include/dgeval/detail/). It is slow and obviously correct, which the backends,
// with their lanes, chunks, compensated merges and SIMD paths, are not; tests/test_reference.cpp
// checks the CPU backend (each of its paths) against it.
//
// Where the documents fix a rounding, the reference follows it, so that what is decided by a
// comparison is decided identically: the welfare of an outcome (players summed in order 0..n−1 in
// float64, then divided by n for average welfare), the ε-Nash threshold anchored at the best reply
// (one fused multiply-add, or from the halved payoffs when hi − lo overflows), the played-set
// window (docs/MATH.md §4.4, the product rounded on its own). Everything else (means, norms,
// sums over sets, expectations, bounds) is written the plain way, and the tests compare it within
// tolerances derived from rounding-error bounds.
#pragma once

#include <cstdint>
#include <vector>

#include "dgeval/game.hpp"
#include "dgeval/options.hpp"
#include "dgeval/results.hpp"

namespace dgeval {
namespace reference {

/// The constants z, K, K_d, K_m of docs/MATH.md §3.4.
struct Constants {
  double z, K, K_d, K_m;
};
Constants constants_of(Standardisation s);

/// Every column of every game of a finite batch (float64 utilities), the pure-NE lists and the
/// distance matrices included (whatever options.columns, list_equilibria and distance_matrix say).
Results evaluate(const Batch& batch, const Options& options);

/// R2 in constant form at gross ratio R for game g (docs/MATH.md §5.2, MEASURES.md `bound`), from
/// the reference's own columns: R·WR + 2zK·f·Σ m̂_i(1 − IA_i) + K_m·f·Σ_{m_i>0} m_i|R − r_i|.
double bound_r2_at(const Results& reference, std::int64_t g, const Options& options, double R);

}  // namespace reference
}  // namespace dgeval
