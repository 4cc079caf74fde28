// The CPU backend's per-game evaluator: every measure of docs/MATH.md for one game, its passes
// over the outcomes run serially or, for a large game, spread over a thread pool (Exec).
//
// Determinism: every pass walks the outcomes in fixed chunks of kChunk outcomes. Each chunk's
// partial result goes to its own slot and the slots are combined in chunk order, so the result
// is bit-identical for any number of threads and either parallel mode. Inside a chunk, sums run
// in kLanes interleaved partial sums (backends/cpu/lane_sums.hpp). Games of fewer than kNarrow
// outcomes sum in one lane.
//
// Passes per game (each a loop over the game's outcomes; the same names as the GPU's):
//   stats       per utility vector: sum, min, max and (EPIC) the mean and centred sum of squares
//               of the deviations from the vector's first value, merged across chunks with Chan's
//               formula; per outcome: agents' and principals' welfare extrema
//   align       standardised vectors: IA distances, CA distances to the weighted mean, distance
//               matrix
//   equilibria  the ε-Nash mask (pass_equilibria_mask: per player, per context s_{-i}, the
//               fiber's min/max, its two thresholds, and the test of every outcome of the fiber),
//               then (pass_equilibria) NE and ε-NE counts, worst/best NE welfare, worst ε-NE
//               welfare, sums over the sets
//   strategy    (played set, correlated or product strategies) expectations under σ
//   finish      every column from what the passes gathered (detail/finish.hpp, shared with the GPU)
// The stats pass, the align pass (EPIC) and the equilibria mask's strided fibers run on SIMD vectors
// for games of kNarrow outcomes or more (backends/cpu/multi_pass_kernel.cpp, the best instruction set
// at run time), lane by lane the operations of the scalar loops here: the same bits.
// DGEVAL_MULTI_PASS_SIMD=off keeps the scalar loops (multi_pass_simd).
// A chunk of one vector is at most 128 KiB, so the stats pass's later loops (the moments) read it
// from cache: the input is read from memory about 2.5 times (stats, align, and the equilibria
// mask for the agents).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "backends/cpu/lane_sums.hpp"
#include "core/thread_pool.hpp"
#include "dgeval/detail/finish.hpp"
#include "dgeval/detail/measures.hpp"
#include "dgeval/options.hpp"
#include "dgeval/results.hpp"

namespace dgeval {
namespace cpu {

using detail::CompensatedSum;
using detail::StandardisationConstants;

/// Contexts per task of the equilibria mask along an axis with stride > 1: rows of at least this many
/// consecutive values, so the strided fibers are read a cache line at a time.
inline constexpr std::int64_t kContextsPerRow = 512;
inline constexpr int kMaxVectors = 2 * kMaxPlayers;

/// Runs tasks serially, or on the pool when evaluating one large game with all threads.
struct Exec {
  detail::ThreadPool* pool = nullptr;
  int workers() const { return pool ? pool->size() : 1; }
  template <class F>
  void run(std::int64_t count, F&& fn) const {
    if (pool && count > 1) {
      pool->parallel_for(count, [&](std::int64_t t, int w) { fn(t, w); });
    } else {
      for (std::int64_t t = 0; t < count; ++t) fn(t, 0);
    }
  }
};

/// Reference to one game's input, either dtype.
template <class T>
struct GameData {
  const T* agents;      // [n][N]
  const T* principals;  // [n][N]
  int n;
  std::int64_t N;
  const T* vec(int v) const {  // v < n: agent v; else principal v − n
    return v < n ? agents + static_cast<std::int64_t>(v) * N : principals + static_cast<std::int64_t>(v - n) * N;
  }
  /// Vector v at outcome s as a double: the accessor of the shared definitions (detail/finish.hpp).
  double operator()(int v, std::int64_t s) const { return static_cast<double>(vec(v)[s]); }
};

struct StatsPass {
  std::int64_t count = 0;  // outcomes of the chunk
  double sum[kMaxVectors], lo[kMaxVectors], hi[kMaxVectors];
  Moments moments[kMaxVectors];  // EPIC: of the deviations from the vector's first value
  ArgExt w_max, w_min, wh_max, wh_min;
  bool nonfinite = false;
};

struct AlignPass {
  std::vector<double> acc;  // [3n + pairs] finished-over-lanes accumulators: IA, CA agents, CA principals, dm
};

/// The equilibria tallies of a run of outcomes: NE and ε-NE counts, worst/best NE welfare, worst ε-NE
/// welfare and the sums of u_i, û_i over the uniform strategy's set. One definition for the multi-pass
/// path's equilibria pass and the fused path's re-check.
struct EquilibriaPass {
  std::int64_t ne = 0, eps = 0;
  ArgExt worst_ne, best_ne, worst_eps;
  double su[kMaxPlayers], suh[kMaxPlayers];  // sums of u_i, û_i over the strategy's set

  /// Empties the tallies of n players.
  void clear(int n) {
    ne = eps = 0;
    worst_ne = best_ne = worst_eps = detail::arg_empty();
    for (int i = 0; i < n; ++i) su[i] = suh[i] = 0.0;
  }
  /// Adds outcome s of `game`, of ne_bits m (bit 0: NE, bit 1: ε-NE); its payoffs go into the sums when
  /// m & sum_bits (1: uniform-ne, 2: uniform-eps-ne, 0: no sums).
  template <class T>
  void add(const GameData<T>& game, int n, Welfare welfare, std::int64_t s, unsigned m, unsigned sum_bits) {
    if (!m) return;
    const double w = detail::welfare_at<double>(n, welfare, game, 0, s);
    if (m & 1) {
      ++ne;
      worst_ne = detail::arg_min(worst_ne, ArgExt{w, s});
      best_ne = detail::arg_max(best_ne, ArgExt{w, s});
    }
    if (m & 2) {
      ++eps;
      worst_eps = detail::arg_min(worst_eps, ArgExt{w, s});
    }
    if (m & sum_bits) {
      for (int i = 0; i < n; ++i) {
        su[i] += static_cast<double>(game.vec(i)[s]);
        suh[i] += static_cast<double>(game.vec(n + i)[s]);
      }
    }
  }
  /// The bits of ne_bits whose outcomes the strategy sums over (see add).
  static unsigned sum_bits_of(StrategyKind kind) {
    return kind == StrategyKind::uniform_ne ? 1u : kind == StrategyKind::uniform_eps_ne ? 2u : 0u;
  }
  /// Merges parts[0..count) in order (counts and extrema; the sums by compensated sums) into *this.
  template <class Part, class Get>
  void merge(int n, const std::vector<Part>& parts, Get get) {
    clear(n);
    for (const Part& part : parts) {
      const EquilibriaPass& p = get(part);
      ne += p.ne;
      eps += p.eps;
      worst_ne = detail::arg_min(worst_ne, p.worst_ne);
      best_ne = detail::arg_max(best_ne, p.best_ne);
      worst_eps = detail::arg_min(worst_eps, p.worst_eps);
    }
    for (int i = 0; i < n; ++i) {
      CompensatedSum s, sh;
      for (const Part& part : parts) s.add(get(part).su[i]), sh.add(get(part).suh[i]);
      su[i] = s.value(), suh[i] = sh.value();
    }
  }
};

struct StrategyPass {
  std::int64_t count = 0;  // played-set size
  ArgExt closest;          // fallback: least |w − mid| outside the window
  double su[kMaxPlayers], suh[kMaxPlayers];
};

/// Per-worker scratch of the blocked loops.
struct Scratch {
  std::vector<double> nu;   // [2n][kBlock] standardised values (align pass); welfare [2][kBlock] (stats pass)
  std::vector<double> mu;   // [2][kBlock] weighted means (align pass)
  std::vector<double> acc;  // [(3n + pairs) · kLanes] lane accumulators (align pass)
  std::vector<double> ctx;  // [4][contexts per task] fiber min, max and thresholds (equilibria mask)
};

/// Whether the multi-pass evaluator's hot loops (the stats pass, the align pass for EPIC, the equilibria
/// mask's strided fibers) run on SIMD vectors (backends/cpu/multi_pass_kernel.cpp), with the same bits
/// as its scalar loops: yes, unless DGEVAL_MULTI_PASS_SIMD=off. Read when an evaluator is made.
bool multi_pass_simd();
/// Sets it from code (tests): 1 on, 0 off, −1 DGEVAL_MULTI_PASS_SIMD's (or the default). Not to be
/// called while another thread evaluates.
void set_multi_pass_simd(int mode);

/// One chunk of one game for the multi-pass evaluator's SIMD loops (backends/cpu/multi_pass_kernel.cpp).
struct MultiPassChunk {
  const void* vec[kMaxVectors];  ///< the game's vectors (float or double), each of N values
  bool float32;
  int n;                     ///< players
  std::int64_t s0, len;      ///< the chunk's outcomes [s0, s0 + len)
  bool centred;              ///< stats: the pivoted moments too
  bool average;              ///< stats: average welfare (else sum)
  double* scratch;           ///< stats: [2 · kBlock]
  StatsPass* stats;          ///< stats: the chunk's result
  const double* shift;       ///< align: [2n] c(v)
  const double* mag;         ///< align: [2n] m(v°)
  double inverse_weight[2];  ///< align: 1/W of each side (detail::ca_weight)
  bool max_norm;             ///< align: L∞ distances (max |d|: MAX, MAX-range), else L2 (EPIC)
  bool pairs;                ///< align: the distance matrix's pairs too
  std::size_t accumulators;  ///< align: 3n (+ pairs)
  double* acc;               ///< align: [accumulators][8] the lanes' sums of squares (output)
};
/// The stats pass's chunk (as stats_chunk<kLanes>: the same bits) on the best instruction set of this
/// CPU, or DGEVAL_SIMD_TARGET's.
void multi_pass_stats(const MultiPassChunk& chunk);

/// Contexts [base, base + len) (offsets along the other axes) of one player's fibers along a strided axis.
struct MaskRows {
  const void* u;  ///< the player's utilities (float or double)
  bool float32;
  std::int64_t base, stride, k, len;
  std::int64_t outers;  ///< consecutive outer indices (blocks of stride · k outcomes) from base  ///< outcome of the
                        ///< first row's first context; the axis's stride and size
  double ic, tolerance;
  std::uint8_t* mask;  ///< the game's mask (bit 0: NE, bit 1: ε-NE), ANDed with this player's bits
  double* ctx;         ///< scratch: [4 · len]
};
/// The align pass's chunk (as align_chunk<T, L2Norm or LInfNorm, kLanes>: the same bits, the lanes
/// left in c.acc); c.scratch holds [2n + 2] · kBlock values.
void multi_pass_align(const MultiPassChunk& chunk);
/// The equilibria mask of those fibers (as pass_equilibria_mask's scalar loop: the same bits).
void multi_pass_mask_rows(const MaskRows& rows);

/// Fibers [f0, f0 + fibers) of the last player (stride 1, k contiguous outcomes each).
struct MaskFibers {
  const void* u;  ///< the player's utilities (float or double)
  bool float32;
  std::int64_t f0, fibers, k;
  double ic, tolerance;
  std::uint8_t* mask;  ///< the game's mask, ANDed with this player's bits
  double* ctx;         ///< scratch: [mask_fibers_scratch(k)]
};
/// The scratch doubles multi_pass_mask_fibers needs for fibers of k outcomes.
inline std::size_t mask_fibers_scratch(std::int64_t k) {
  const std::int64_t block = std::max<std::int64_t>(1, 512 / k);  // fibers per block (kFiberBlock outcomes)
  return static_cast<std::size_t>(4 * block + 2 * (block * k + 8));
}
/// The equilibria mask of those fibers (as pass_equilibria_mask's scalar loop: the same bits).
void multi_pass_mask_fibers(const MaskFibers& fibers);

class FusedTwoPlayer;
/// The fused single-read path for large 2-player games (backends/cpu/fused_two_player.hpp), or null
/// when these options and dims keep the passes below.
std::shared_ptr<FusedTwoPlayer> make_fused_two_player(const Options& o, const Dims& d);

/// Evaluates games one at a time; owns the scratch reused across games. Large 2-player games go
/// to the fused path (fused_two_player.hpp) where it applies.
class GameEvaluator {
 public:
  GameEvaluator(const Options& o, const Dims& d) : opt_(o), dims_(d), n_(d.players()), N_(d.outcomes()) {
    k_ = detail::standardisation_constants(o.standardisation);
    settings_ = detail::FinishSettings{n_, o.welfare, k_, o.cc, o.cc_window, o.strategy.kind};
    for (int i = 0; i < n_; ++i) ic_[i] = o.ic_level(i);
    per_strategy_ = strategy_size(o.strategy.kind, d);
    chunks_ = (N_ + kChunk - 1) / kChunk;
    const int nv = 2 * n_;
    pairs_ = o.distance_matrix ? static_cast<std::size_t>(nv) * (nv - 1) / 2 : 0;
    accumulators_ = 3 * static_cast<std::size_t>(n_) + pairs_;
    narrow_ = N_ < kNarrow;
    simd_ = multi_pass_simd();
    fused_ = make_fused_two_player(o, d);
  }

  /// Evaluates game g into the columns `out` (and the equilibrium lists and distance matrices of
  /// r). Returns false if the game holds a non-finite value and the options refuse them.
  template <class T>
  bool evaluate(const GameData<T>& game, std::int64_t g, const Exec& exec, const detail::ColumnPointers& out,
                Results& r);

 private:
  template <class T>
  void pass_stats(const GameData<T>& game, const Exec& exec, StatsPass& out);
  template <class T>
  void pass_align(const GameData<T>& game, const Exec& exec, const double* shift, const double* mag, AlignPass& out);
  template <int L, class T>
  void stats_chunk(const GameData<T>& game, std::int64_t c, Scratch& sc, StatsPass& p);
  template <class T, class Norm, int L>
  void align_chunk(const GameData<T>& game, std::int64_t c, const double* shift, const double* mag, Scratch& sc,
                   double* part);
  template <class T>
  void pass_equilibria_mask(const GameData<T>& game, const Exec& exec);
  template <class T>
  void pass_equilibria(const GameData<T>& game, const Exec& exec, EquilibriaPass& out);
  template <class T>
  void pass_strategy(const GameData<T>& game, const Exec& exec, std::int64_t g, double lo, double hi,
                     StrategyPass& out);

  std::int64_t chunk_begin(std::int64_t c) const { return c * kChunk; }
  std::int64_t chunk_end(std::int64_t c) const { return std::min(N_, (c + 1) * kChunk); }
  template <class T>
  MultiPassChunk chunk_of(const GameData<T>& game, std::int64_t c) const {
    MultiPassChunk mc{};
    for (int v = 0; v < 2 * n_; ++v) mc.vec[v] = game.vec(v);
    mc.float32 = sizeof(T) == sizeof(float);
    mc.n = n_;
    mc.s0 = chunk_begin(c);
    mc.len = chunk_end(c) - mc.s0;
    return mc;
  }
  void prepare_scratch(const Exec& exec) {
    if (scratch_.size() < static_cast<std::size_t>(exec.workers()))
      scratch_.resize(static_cast<std::size_t>(exec.workers()));
  }

  const Options& opt_;
  const Dims& dims_;
  int n_;
  std::int64_t N_;
  std::int64_t chunks_;
  std::int64_t per_strategy_;
  std::size_t pairs_, accumulators_;
  bool narrow_;  // a game of fewer than kNarrow outcomes sums in one lane
  bool simd_;    // the hot loops on SIMD vectors (multi_pass_simd)
  StandardisationConstants k_;
  detail::FinishSettings settings_;
  double ic_[kMaxPlayers];
  std::vector<std::uint8_t> mask_;  // bit 0: pure NE, bit 1: ε-NE
  std::vector<StatsPass> stats_parts_;
  std::vector<double> align_parts_;  // [chunks][accumulators]
  AlignPass align_out_;
  std::vector<EquilibriaPass> equilibria_parts_;
  std::vector<StrategyPass> strategy_parts_;
  std::vector<Scratch> scratch_;  // per worker
  std::shared_ptr<FusedTwoPlayer> fused_;
};

extern template bool GameEvaluator::evaluate<float>(const GameData<float>&, std::int64_t, const Exec&,
                                                    const detail::ColumnPointers&, Results&);
extern template bool GameEvaluator::evaluate<double>(const GameData<double>&, std::int64_t, const Exec&,
                                                     const detail::ColumnPointers&, Results&);

}  // namespace cpu
}  // namespace dgeval
