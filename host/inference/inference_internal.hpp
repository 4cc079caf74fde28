// The distinct-outcome table behind infer() and its bootstrap (not part of the public API).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dgeval/detail/inference_game.hpp"
#include "dgeval/inference.hpp"

namespace dgeval {
namespace detail {

/// The distinct observed outcomes, ascending, each with its utilities, average agents' welfare,
/// the sets it was observed in and the first row that observed it; and per player the outcomes
/// grouped by context s_{-i}.
struct ObservationTable {
  int n = 0;
  std::int64_t size = 0;                ///< d = |O|
  std::vector<std::int64_t> outcome;    ///< [d]
  std::vector<double> x;                ///< [d][2n]: agents then principals
  std::vector<double> welfare;          ///< [d] (1/n) Σ_i u_i
  std::vector<std::uint8_t> sets;       ///< [d] bit (1 << ObservedSet)
  std::vector<std::int64_t> first_row;  ///< [d]
  /// Per player: outcome positions sorted by context, and the start of each context group
  /// (context_start[i] has one more entry than there are groups).
  std::vector<std::vector<std::int64_t>> context_order;
  std::vector<std::vector<std::int64_t>> context_start;

  bool in(std::int64_t k, ObservedSet s) const {
    return (sets[static_cast<std::size_t>(k)] >> static_cast<int>(s)) & 1;
  }
  const double* row(std::int64_t k) const { return x.data() + k * 2 * n; }
};

/// Dims and the generator's parameters of the experiment's games of `dims`.
InferenceShape experiment_shape(const Dims& dims);
/// Dims only (no generator: any game shape), for the candidate sets.
InferenceShape sets_shape(const Dims& dims);
/// The error message of an InferenceStatus for game `game`.
std::string describe_inference_failure(int status, std::uint64_t game);

/// Builds and checks the table (see infer() for the errors).
ObservationTable build_table(const Observations& obs);

/// Slot layout of the estimate vector: family f (0 authors, 1 corrected) occupies
/// [f·(2n+2), (f+1)·(2n+2)): IA_0..IA_{n-1}, CA, IC_0..IC_{n-1}, CC.
inline int slots(int n) { return 2 * (2 * n + 2); }
inline int slot_ia(int n, int f, int i) { return f * (2 * n + 2) + i; }
inline int slot_ca(int n, int f) { return f * (2 * n + 2) + n; }
inline int slot_ic(int n, int f, int i) { return f * (2 * n + 2) + n + 1 + i; }
inline int slot_cc(int n, int f) { return f * (2 * n + 2) + 2 * n + 1; }

/// Every estimate of both families. IA and CA use the outcome weights w (size d; 0 = not
/// observed); IC and CC use `present` (size d), the bits (1 << ObservedSet) of the sets in which
/// each outcome counts as observed. `ic_set` is the set whose outcomes measure IC. When `reasons`
/// is given, it receives a message for every NaN slot (empty for defined ones).
void estimate_all(const ObservationTable& t, const Observations& obs, const double* w, const std::uint8_t* present,
                  ObservedSet ic_set, double* out, std::vector<std::string>* reasons);

}  // namespace detail
}  // namespace dgeval
