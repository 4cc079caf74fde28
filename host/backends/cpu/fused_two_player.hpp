// The CPU backend's fused path for large 2-player games: every measure of docs/MATH.md from ONE
// read of the game's outcomes (the multi-pass evaluator, game_evaluator.hpp, reads them about 2.5
// times). Outcome s = r·k₁ + j: row r is player 1's action, column j player 2's.
//
// One pass over the rows, cache-blocked (a chunk of rows, about kChunk outcomes, per task, each row
// in segments of kFusedSegment outcomes held in L1), gathers per chunk:
//   - per vector (u₁, u₂, û₁, û₂): min, max, and the double-double sum of the deviations a = x − pivot
//     from the vector's first value;
//   - the double-double cross-products Σ a_u·a_v the distances need (detail/gram.hpp): the four
//     squares, IA's pairs (u_i, û_i), CA's pairs (u₁, u₂) and (û₁, û₂), and with a distance matrix
//     the other two;
//   - the welfare extrema (first index, as block_extrema);
//   - player 2's fibers, the contiguous rows: each row's min and max give its two thresholds, and
//     the row (still in cache) is tested at once; outcomes passing are candidates (index and bits);
//   - player 1's fibers, the columns: running column minima and maxima (per worker; min and max
//     are exact, so the order of merging does not matter).
// Then the chunks are merged in chunk order, the column thresholds finished, and the candidates
// re-checked against them (the input is read again only at the candidates: with the default IC = 1
// about one per row); NE and ε-NE counts, worst/best NE welfare, worst ε-NE welfare and the sums over
// the strategy's set come from the candidates. IA, CA and the distance matrix come from the centred
// Gram matrix (detail/gram.hpp), the rest from detail/finish.hpp as on every path.
//
// Determinism: the chunks are fixed (never derived from the thread count) and combined in chunk
// order; inside a chunk every sum runs in 8 lanes (outcome j of a row in lane j mod 8) whatever the
// instruction set (AVX-512: one vector, AVX2: two, SSE4: four; the tail of a row one value at a
// time through the same operations of detail/gram.hpp), and every product's error is exact (a
// fused multiply-add, or Dekker's product without one). So results are bit-identical for any thread
// count, and on every instruction set of the same product form (fused_products_by_fma: AVX2 and
// AVX-512 alike; SSE4 and below round a sum at a tie differently, within rounding). The NE sets are those of the
// multi-pass path exactly (the same minima, maxima, thresholds and predicate); the other columns agree with it within
// rounding (the moments come from another, more accurate, summation).
//
// Which games (fused_applies): 2 players, EPIC, strategy worst-ne, best-ne, uniform-ne,
// uniform-eps-ne or pure (played, correlated and product need a further pass over the outcomes and
// keep the multi-pass path, as do MAX and MAX-range), at least kFusedMinOutcomes outcomes and 8 ≤ k₂ ≤
// kFusedMaxRow. A game with a non-finite value, or payoffs beyond ±1e100, or a vector whose range
// is below 1e-100 (where the products could overflow or underflow), is handed back to the
// multi-pass path, which is the definition. DGEVAL_FUSED=off switches the path off, =always takes
// it for games of any size (tests); set_fused_mode does the same from code.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "backends/cpu/game_evaluator.hpp"
#include "dgeval/detail/arg_ext.hpp"
#include "dgeval/detail/gram.hpp"

namespace dgeval {
namespace cpu {

enum class FusedMode { automatic, off, always };
/// Sets the mode (FusedMode::automatic restores DGEVAL_FUSED's, or the default). Not to be called
/// while a batch is being evaluated; evaluators made afterwards follow it.
void set_fused_mode(FusedMode mode);
FusedMode fused_mode();

inline constexpr std::int64_t kFusedMinOutcomes = kChunk;
inline constexpr std::int64_t kFusedMaxRow = std::int64_t{1} << 20;
/// Outcomes of a row per segment held in L1 (4 vectors of deviations and 2 of welfare).
inline constexpr std::int64_t kFusedSegment = 512;

/// Whether games of these dims with these options take the fused path (in the current mode).
bool fused_applies(const Options& o, const Dims& d);

/// One chunk of rows for the kernel: its input, and its 8-lane partial results.
struct FusedChunk {
  // Input.
  const void* x[4];  ///< the game's vectors u₁, u₂, û₁, û₂ (float or double)
  bool float32;
  std::int64_t k1, r0, r1;  ///< row length; rows [r0, r1)
  double pivot[4];
  double tolerance, ic;  ///< the ε-Nash tolerance; player 2's IC level
  bool average;          ///< average welfare (else sum)
  int entries;           ///< cross-products wanted: (pair_u[e], pair_v[e]) for e < entries
  const int* pair_u;
  const int* pair_v;
  double* col_lo;                         ///< [k1] running column minima of u₁ (this worker's)
  double* col_hi;                         ///< [k1] maxima
  std::vector<std::int64_t>* candidates;  ///< this worker's: (s << 2) | player 2's ne_bits
  std::vector<double>* scratch;
  // Output (lanes).
  double sum_hi[4][8], sum_lo[4][8];
  double prod_hi[10][8], prod_lo[10][8];
  double lo[4][8], hi[4][8];
  detail::ArgExt w_max, w_min, wh_max, wh_min;
};
/// Runs the kernel (the best instruction set of this CPU, or DGEVAL_SIMD_TARGET's) on one chunk.
void fused_chunk(FusedChunk& chunk);
/// Whether the current instruction set accumulates the cross-products with fused multiply-adds
/// (detail::biased_accumulate_product_fma: AVX2, AVX-512) rather than the split product
/// (detail::biased_accumulate_split_product of two_prod: SSE4 and below). Targets of the same form
/// give the same bits; the two forms differ only where a sum's rounding meets a tie (within rounding).
bool fused_products_by_fma();

/// The fused evaluation of one game; owns its scratch, reused across games.
class FusedTwoPlayer {
 public:
  FusedTwoPlayer(const Options& o, const Dims& d);
  /// Evaluates game g into `out` (and r's lists and distance matrices). Returns false, having stored
  /// nothing, when the game is for the multi-pass path (a non-finite value, or payoffs out of range).
  template <class T>
  bool evaluate(const GameData<T>& game, std::int64_t g, const Exec& exec, const detail::ColumnPointers& out,
                Results& r);

 private:
  struct Part {
    detail::DoubleDouble sum[4], prod[10];
    double lo[4], hi[4];
    detail::ArgExt w_max, w_min, wh_max, wh_min;
    int worker;
    std::size_t begin, end;  // its candidates in candidates_[worker]
    EquilibriaPass eq;       // the re-check
  };
  const Options& opt_;
  const Dims& dims_;
  std::int64_t k0_, k1_, N_, rows_per_chunk_, chunks_;
  double ic_[2];
  detail::StandardisationConstants k_;
  detail::FinishSettings settings_;
  int entries_;
  int pair_u_[10], pair_v_[10];
  int index_[4][4];  // the entry of (u, v), u ≤ v, or −1
  std::vector<Part> parts_;
  std::vector<std::vector<double>> col_lo_, col_hi_, scratch_;
  std::vector<std::vector<std::int64_t>> candidates_;
  std::vector<double> t1_, te_;  // column thresholds
};

extern template bool FusedTwoPlayer::evaluate<float>(const GameData<float>&, std::int64_t, const Exec&,
                                                     const detail::ColumnPointers&, Results&);
extern template bool FusedTwoPlayer::evaluate<double>(const GameData<double>&, std::int64_t, const Exec&,
                                                      const detail::ColumnPointers&, Results&);

}  // namespace cpu
}  // namespace dgeval
