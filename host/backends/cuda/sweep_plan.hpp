// The planning of the CUDA backend's sweep path (kernels/sweep_evaluate.cu), plain C++ with
// no CUDA headers like cuda_plan.hpp: which games take it, its launch geometry and its scratch.
//
// The path evaluates a game of n >= 2 players too large for a block's or a cluster's shared memory
// from ONE read of its outcomes, in one launch per chunk: one thread block per game (a
// grid-stride loop over the chunk's games), or, where the chunk's games are too few to fill the
// device, a thread block cluster per game whose blocks read runs of its slabs (sweep_cluster_of).
// Outcome s = a₀·slab + r, with slab = stride₀ = N/k₀:
// the block walks the slabs (player 0's actions) in order and each slab in tiles of `tile`
// consecutive outcomes (a multiple of the last player's k, whose fibers lie inside a tile). Shared
// memory holds, besides the staged tile: player 0's running fiber extrema (one per position in a
// slab, 2·slab values of T, complete after the last slab), the fiber extrema of players 1 .. n−2
// within the current slab (2·slab/k_i values each, complete at the slab's end), the double-double
// accumulators of the Gram matrix (detail/gram.hpp) and the slab's candidates. Under the
// correlated, product and played strategies the accumulators also hold the 2n sums over σ
// (Σ σ(s)·u(s), in double-double: σ known before the read for correlated and product, the sums
// made in the read; for played σ is the played set's indicator, known only once the read has found
// the equilibria, and the sums are made by a second walk over the agents' utilities, the
// principals' read at the played set's outcomes only; the read keeps the welfare extrema of
// segments of consecutive tiles, and the walk skips the segments with no outcome in the window).
// Under the standardisations whose distances are in the L∞ norm (MAX, MAX-range: sweep_linf) the
// Gram matrix is not accumulated (the accumulators hold each vector's extrema, and the sums over
// σ): once the read has given the shifts and magnitudes, a second walk over the game's tiles, in the
// same block, takes the maxima of |ν − ν'| (IA, CA and the distance matrix), `norms` running maxima
// in shared memory; it stages only the tiles whose bounds, recorded by the read in scratch
// (linf_segments; with the distance matrix its pairs' too), may hold a maximum.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>

#include "backends/cuda/cuda_plan.hpp"
#include "dgeval/game.hpp"
#include "dgeval/options.hpp"

namespace dgeval {
namespace cuda {

/// Threads per block of the sweep kernel on the GPU (the CPU emulation of the tests uses fewer).
constexpr int kSweepThreads = 256;
/// Outcomes a tile aims for (rounded up to a multiple of the last player's k, at most a slab).
constexpr std::int64_t kSweepTile = 256;
/// Under the played strategy, the walk's tiles are grouped into at most this many segments of
/// consecutive tiles, whose welfare extrema the read keeps (the played walk skips the segments that
/// hold no outcome of the played set's window).
constexpr std::int64_t kSweepSegments = 256;
/// Under MAX and MAX-range, the read's tiles are grouped into at most this many segments (one tile
/// each where the game has no more tiles), whose bounds on the L∞ distances the read records.
constexpr std::int64_t kSweepLinfSegments = 1024;
/// Most players the path takes (its Gram matrix has 2n(2n+1)/2 entries, accumulated in shared memory).
constexpr int kSweepMaxPlayers = 16;
/// Most blocks per game (a thread block cluster of the portable size).
constexpr int kSweepMaxCluster = 8;
/// Dynamic shared memory each block keeps for its own state (kernels/sweep_evaluate.cu's
/// SweepBlockState: the reductions' scratch, the game's summary, flags, the block's part of the
/// game). The kernel has no static shared memory (the emulation's would be one per program, not
/// one per block of a cluster): its dynamic shared memory may take the limits' reserve for it.
constexpr std::size_t kSweepBlockStateBytes = 3072;

/// The sweep kernel's most dynamic shared memory: the opt-in maximum, static reserve included.
inline std::size_t sweep_shared_limit(const DeviceLimits& lim) { return lim.shared_optin + kStaticSharedReserve; }

struct SweepGeometry {
  int threads = kSweepThreads;
  int n = 0;
  int vectors = 0;    ///< V = 2n
  int pairs = 0;      ///< P = V(V+1)/2 Gram entries
  int sums = 0;       ///< V under the strategies summed over σ (strategy_sums_of), else 0
  int entries = 0;    ///< E = P + V + sums accumulators (the products, the deviation sums, the sums over σ)
  int groups = 0;     ///< G: each entry accumulated by G threads (outcomes q ≡ group mod G)
  int items = 0;      ///< E·G
  bool linf = false;  ///< distances in the L∞ norm (sweep_linf): no Gram matrix (P = 0), a second walk
  int norms = 0;      ///< linf: the walk's running maxima, 3n (IA, CA of each side) + V(V−1)/2 − n (pairs but IA's)
  /// linf: the items the read's records bound and the walk takes: 3n, or `norms` with the distance
  /// matrix (its pairs too): sweep_linf_items, decided by the planner alone (the kernel walks these)
  int linf_items = 0;
  std::int64_t N = 0;
  std::int64_t slab = 0;                      ///< N / k₀: the outcomes of one action of player 0
  std::int64_t tile = 0;                      ///< outcomes staged at once (a multiple of k_{n−1}, at most slab)
  std::int64_t candidate_capacity = 0;        ///< a slab's candidates in shared memory
  std::int64_t survivor_capacity = 0;         ///< a game's candidates left for player 0's test (scratch)
  int cluster = 1;                            ///< blocks per game (> 1: a thread block cluster; see sweep_cluster_of)
  std::int64_t grid = 0;                      ///< blocks of the launch (each cluster walks games g ≡ cluster)
  std::int64_t fiber_base[kMaxPlayers] = {};  ///< offset (values of T) of player i's slab extrema, i = 1..n−2
  std::int64_t weights = 0;                   ///< the product strategy's Σ k_i weights, staged per game (else 0)
  std::int64_t segments = 0;                  ///< played: segments of the walk's tiles (else 0)
  std::int64_t tiles_per_segment = 1;         ///< played: consecutive tiles (slab by slab) per segment
  /// linf: segments of consecutive tiles (slab by slab, as the played walk's) whose bounds on each
  /// item's L∞ distance (linf_items) the read records in scratch (kernels/sweep_evaluate.cu), and tiles
  /// per one
  std::int64_t linf_segments = 0;
  std::int64_t linf_tiles_per_segment = 1;
  // Byte offsets of the regions of dynamic shared memory (16-byte aligned).
  std::size_t staged_at = 0;       ///< double: the tile's values, then σ at them (see sweep_geometry_of)
  std::size_t accumulator_at = 0;  ///< double [items][4]: hi, lo, min, max
  std::size_t gram_at = 0;         ///< double [P][2]: the centred Gram matrix (finishing)
  std::size_t misc_at = 0;         ///< double [3V]: pivots, scales, splits; then state_doubles(n)
  std::size_t weights_at = 0;      ///< double [weights]: the product strategy's weights of the game
  std::size_t segments_at = 0;     ///< double [2][segments]: each segment's welfare min, then max
  std::size_t candidates_at = 0;   ///< int64 [candidate_capacity]
  std::size_t extrema_at = 0;      ///< T: player 0's [2][slab], then each player's [2][slab/k_i]
  std::size_t norms_at = 0;        ///< linf: double [norms]
  std::size_t linf_at = 0;         ///< linf: double [3V] provisional shifts, inverse magnitudes, magnitudes;
                                   ///< double [linf_work(n, linf_items)]; then std::uint32_t [linf_segments]
                                   ///< (walk or not)
  std::size_t block_at = 0;        ///< kSweepBlockStateBytes: the block's own state
  std::size_t shared_bytes = 0;
};

/// Why the sweep path cannot take games of this shape under these options ("" if it can).
/// The geometry is that of `lim` (shared memory).
std::string sweep_unfit(const Dims& d, const Options& o, std::size_t value_bytes, const DeviceLimits& lim,
                        int threads = kSweepThreads);

inline std::size_t sweep_align(std::size_t x) { return round_up(x, 16); }

/// linf: the values of a segment's record of L∞ bounds (IEEE half-precision bits in scratch,
/// bound_half_up; a double each while the read makes it): for each of the `items` (3n IA and CA
/// items, and with the distance matrix its pairs), the maxima of ±(ν_r0 − ν_r1) + λ·|ν_r0 + ν_r1|
/// (kernels/sweep_evaluate.cu, linf_record_tile).
DGEVAL_HD std::int64_t linf_record_values(int items) { return 2 * static_cast<std::int64_t>(items); }

/// The IEEE binary16 value of `bits`, exactly (NaN, ±∞, subnormals included).
DGEVAL_HD double bound_half_value(std::uint16_t bits) {
  const int e = (bits >> 10) & 31, m = bits & 1023;
  const double v = e == 31  ? (m != 0 ? NAN : INFINITY)
                   : e == 0 ? ::ldexp(static_cast<double>(m), -24)
                            : ::ldexp(static_cast<double>(1024 + m), e - 25);
  return (bits & 0x8000u) ? -v : v;
}

/// The bits of the least IEEE binary16 value not below x (x rounded toward +∞; NaN a NaN, above
/// the largest half +∞): a bound from above stays one in two bytes, within 2⁻¹¹ of |x| relative.
DGEVAL_HD std::uint16_t bound_half_up(double x) {
  if (x != x) return 0x7e00u;
  if (x > 65504.0) return 0x7c00u;
  if (x < -65504.0) return x == -INFINITY ? 0xfc00u : 0xfbffu;
  if (x == 0.0) return 0u;
  const bool negative = x < 0.0;
  const double a = negative ? -x : x;
  int e = 0;
  ::frexp(a, &e);                            // a = f·2^e, f in [0.5, 1) (a > 0 here)
  const int E = e - 1 < -14 ? -14 : e - 1;   // the half's exponent; below 2⁻¹⁴ its subnormals' step 2⁻²⁴
  const double scaled = ::ldexp(a, 10 - E);  // a in steps of 2^(E − 10), exact
  double k = negative ? ::floor(scaled) : ::ceil(scaled);  // toward +∞
  int biased = e - 1 < -14 ? 0 : E + 15;
  if (k >= 2048.0) k = 1024.0, ++biased;       // rounded up into the next binade (not past 65504: above)
  if (biased == 0 && k >= 1024.0) biased = 1;  // the smallest normal
  const unsigned mantissa = static_cast<unsigned>(k) & 1023u;
  const unsigned bits = (static_cast<unsigned>(biased) << 10) | mantissa;
  return static_cast<std::uint16_t>(negative ? bits | 0x8000u : bits);
}
/// linf: the doubles the bounds work in, for n players and `items` (linf_items): in the read the
/// running record and the block's first tile's extrema (2 per vector), then (after the read) each
/// row's terms (4 per row of the walk: 2n vectors and the sides' means) and three per item (its
/// largest bound and segment, the game's segment; then the game's maximum after the first walk).
DGEVAL_HD std::int64_t linf_work(int n, int items) {
  const std::int64_t read = linf_record_values(items) + 4 * static_cast<std::int64_t>(n);
  const std::int64_t terms = 4 * (2 * static_cast<std::int64_t>(n) + 2) + 3 * static_cast<std::int64_t>(items);
  return terms > read ? terms : read;
}

/// Whether the sweep measures the distances of standardisation s in the L∞ norm (MAX, MAX-range):
/// by a second walk over the game once its shifts and magnitudes are known, no Gram matrix.
inline bool sweep_linf(Standardisation s) {
  return detail::visit_standardisation(
      s, [](auto op) { return std::is_same<typename decltype(op)::Norm, detail::LInfNorm>::value; });
}

/// Whether the strategy's expectations are sums over σ that the sweep's accumulators make
/// (correlated and product: σ given; played: the played set's indicator).
inline bool strategy_sums_of(StrategyKind k) { return strategy_has_weights(k) || k == StrategyKind::played; }

/// Registers per thread the sweep kernels take at most (sm_90: 222 to 248; the KernelResources
/// ratchet, tests/data/kernel_resources_sm90.tsv, holds them).
constexpr int kSweepRegisters = 248;

/// Blocks of `threads` threads and `shared_bytes` of shared memory the device holds at once
/// (blocks_per_sm at kSweepRegisters a thread: on an H100 one block of 256 threads per SM).
inline std::int64_t sweep_resident_blocks(std::size_t shared_bytes, int threads, const DeviceLimits& lim) {
  const int per_sm = std::max(1, blocks_per_sm(shared_bytes, threads, kSweepRegisters, lim));
  return static_cast<std::int64_t>(lim.multiprocessors) * static_cast<std::int64_t>(per_sm);
}

/// A block's list of survivors: a quarter of its slabs' fibers of the last player (`fibers` a
/// slab), as one block's would hold of the game's.
inline std::int64_t sweep_survivor_capacity(std::int64_t k0, std::int64_t fibers, int cluster) {
  return ceil_div(k0, static_cast<std::int64_t>(cluster)) * fibers / 4 + 256 / cluster;
}

/// Blocks per game. One block per game fills the device only with as many games as it holds
/// blocks at once: a chunk of fewer games gets a thread block cluster per game, of the largest
/// power of two of blocks (at most kSweepMaxCluster, and at most k₀: each block takes a run of
/// player 0's actions, its slabs) that the device holds at once for every game of the chunk. Its
/// blocks read their slabs together; the cluster's first block merges their parts (distributed
/// shared memory) and finishes the game. Devices without clusters: 1.
inline int sweep_cluster_of(std::int64_t chunk_games, std::int64_t k0, std::size_t shared_bytes, int threads,
                            const DeviceLimits& lim) {
  if (!lim.clusters) return 1;
  const std::int64_t resident = sweep_resident_blocks(shared_bytes, threads, lim);
  int b = 1;
  while (b * 2 <= kSweepMaxCluster && b * 2 <= k0 && chunk_games * b * 2 <= resident) b *= 2;
  return b;
}

/// SweepGeometry::linf_items of a geometry `t` under the L∞ norm (t.n and t.norms set), with or
/// without the distance matrix.
inline int sweep_linf_items(const SweepGeometry& t, bool distance_matrix) {
  return distance_matrix ? t.norms : 3 * t.n;
}

/// The geometry for `chunk_games` games of `threads` threads per block under strategy `kind` (0
/// shared bytes where the shape's player count is not covered; shared_bytes above
/// sweep_shared_limit(lim) where it does not fit). `cluster`: blocks per game (a test hook; 0 picks
/// sweep_cluster_of's). `distance_matrix`: whether the options ask for it (under linf the read's
/// records then bound its pairs too).
inline SweepGeometry sweep_geometry_of(const Dims& d, std::size_t value_bytes, std::int64_t chunk_games,
                                       const DeviceLimits& lim, StrategyKind kind, int threads,
                                       std::int64_t tile_target = kSweepTile,
                                       Standardisation st = Standardisation::epic, int cluster = 0,
                                       bool distance_matrix = false) {
  SweepGeometry t;
  t.threads = threads;
  t.n = d.players();
  t.N = d.outcomes();
  if (t.n < 2 || t.n > kSweepMaxPlayers) return t;
  t.vectors = 2 * t.n;
  t.linf = sweep_linf(st);
  t.pairs = t.linf ? 0 : t.vectors * (t.vectors + 1) / 2;
  t.norms = t.linf ? 3 * t.n + t.vectors * (t.vectors - 1) / 2 - t.n : 0;  // (IA's pairs are IA's items)
  t.linf_items = t.linf ? sweep_linf_items(t, distance_matrix) : 0;
  t.sums = strategy_sums_of(kind) ? t.vectors : 0;
  t.entries = t.pairs + t.vectors + t.sums;
  if (kind == StrategyKind::product) {
    for (int i = 0; i < t.n; ++i) t.weights += d.actions(i);
  }
  t.groups = std::max(1, threads / t.entries);
  t.items = t.entries * t.groups;
  t.slab = d.stride(0);
  const std::int64_t last = d.actions(t.n - 1);
  t.tile = std::min(t.slab, ceil_div(tile_target, last) * last);
  // About one candidate per fiber of the last player where payoffs are continuous and IC = 1.
  if (kind == StrategyKind::played) {
    const std::int64_t tiles = d.actions(0) * ceil_div(t.slab, t.tile);
    t.tiles_per_segment = ceil_div(tiles, kSweepSegments);
    t.segments = ceil_div(tiles, t.tiles_per_segment);
  }
  if (t.linf) {  // segments of one tile where they are few enough: the walk skips whole segments
    const std::int64_t tiles = d.actions(0) * ceil_div(t.slab, t.tile);
    t.linf_tiles_per_segment = ceil_div(tiles, kSweepLinfSegments);
    t.linf_segments = ceil_div(tiles, t.linf_tiles_per_segment);
  }
  t.candidate_capacity = 3 * (t.slab / last) / 2 + 64;
  std::int64_t at = 2 * t.slab;
  for (int i = 1; i + 1 < t.n; ++i) {
    t.fiber_base[i] = at;
    at += 2 * (t.slab / d.actions(i));
  }
  const std::size_t V = static_cast<std::size_t>(t.vectors), n = static_cast<std::size_t>(t.n);
  const std::size_t tile = static_cast<std::size_t>(t.tile), th = static_cast<std::size_t>(threads);
  std::size_t b = 0;
  t.staged_at = b;
  // The tile's 2n vectors (and σ at them, a row more, under the strategies summed over σ); or the
  // agents' n and, past them, the threads' sums over the strategy's set (V x threads) while the
  // equilibria are tallied. Under linf the second walk's tile: the 2n standardised vectors and each
  // side's weighted mean μ.
  const std::size_t rows = std::max(V + (t.sums > 0 ? 1 : 0), t.linf ? V + 2 : 0);
  b += sweep_align(std::max(rows * tile, n * tile + V * th) * 8);
  t.accumulator_at = b;
  b += sweep_align(static_cast<std::size_t>(t.items) * 4 * 8);
  t.gram_at = b;
  b += sweep_align(static_cast<std::size_t>(t.pairs) * 2 * 8);
  t.misc_at = b;
  b += sweep_align((3 * V + static_cast<std::size_t>(state_doubles(t.n))) * 8);
  t.weights_at = b;
  b += sweep_align(static_cast<std::size_t>(t.weights) * 8);
  t.segments_at = b;
  b += sweep_align(static_cast<std::size_t>(t.segments) * 2 * 8);
  t.candidates_at = b;
  b += sweep_align(static_cast<std::size_t>(t.candidate_capacity) * 8);
  t.extrema_at = b;
  b += sweep_align(static_cast<std::size_t>(at) * value_bytes);
  t.norms_at = b;
  b += sweep_align(static_cast<std::size_t>(t.norms) * 8);
  t.linf_at = b;
  if (t.linf)
    b += sweep_align((3 * V + static_cast<std::size_t>(linf_work(t.n, t.linf_items))) * 8 +
                     static_cast<std::size_t>(t.linf_segments) * sizeof(std::uint32_t));
  t.block_at = b;
  b += kSweepBlockStateBytes;
  t.shared_bytes = b;
  t.cluster = cluster > 0 ? cluster : sweep_cluster_of(chunk_games, d.actions(0), t.shared_bytes, threads, lim);
  t.survivor_capacity = sweep_survivor_capacity(d.actions(0), t.slab / last, t.cluster);
  if (t.cluster == 1) {
    // A persistent grid: a few blocks per SM at most, never more than the games.
    t.grid = std::max<std::int64_t>(
        1, std::min<std::int64_t>(chunk_games, 4 * static_cast<std::int64_t>(lim.multiprocessors)));
  } else {
    // One cluster per game, as many as the device holds at once.
    const std::int64_t clusters = sweep_resident_blocks(t.shared_bytes, threads, lim) / t.cluster;
    t.grid = t.cluster * std::max<std::int64_t>(1, std::min(chunk_games, clusters));
  }
  return t;
}

/// The geometry with `threads` threads per block and tiles of about kSweepTile outcomes, or,
/// where its shared memory does not fit, half as many threads (down to 128: the threads' sums over
/// the strategy's set take 2n·8 bytes each), then tiles of half the size (down to 64 outcomes),
/// then 64 threads.
inline SweepGeometry sweep_geometry(const Dims& d, std::size_t value_bytes, std::int64_t chunk_games,
                                    const DeviceLimits& lim, StrategyKind kind, int threads = kSweepThreads,
                                    Standardisation st = Standardisation::epic, int cluster = 0,
                                    bool distance_matrix = false) {
  std::int64_t tile = kSweepTile;
  SweepGeometry t =
      sweep_geometry_of(d, value_bytes, chunk_games, lim, kind, threads, tile, st, cluster, distance_matrix);
  while (t.shared_bytes > sweep_shared_limit(lim)) {
    if (threads > 128) {
      threads /= 2;
    } else if (tile > 64) {
      tile /= 2;
    } else if (threads > 64) {
      threads /= 2;
    } else {
      break;
    }
    t = sweep_geometry_of(d, value_bytes, chunk_games, lim, kind, threads, tile, st, cluster, distance_matrix);
  }
  return t;
}

inline std::string sweep_unfit(const Dims& d, const Options& o, std::size_t value_bytes, const DeviceLimits& lim,
                               int threads) {
  if (d.players() < 2) return "it takes games of 2 or more players";
  if (d.players() > kSweepMaxPlayers) return "it takes games of at most 16 players";
  if (d.outcomes() > (std::int64_t{1} << 40)) return "the game is too large";
  const SweepGeometry t =
      sweep_geometry(d, value_bytes, 1, lim, o.strategy.kind, threads, o.standardisation, 0, o.distance_matrix);
  if (t.shared_bytes == 0 || t.shared_bytes > sweep_shared_limit(lim))
    return "a slab's fiber extrema and a tile do not fit in shared memory";
  return std::string();
}

/// Whether the planner gives games of this shape the sweep path when not forced: games of 3 or
/// more players that would otherwise take the tiled path, under the options it covers.
inline bool sweep_chosen(const Dims& d, const Options& o, std::size_t value_bytes, const DeviceLimits& lim) {
  if (d.players() < 3) return false;
  if (choose_path(d, value_bytes, lim) != Path::tiled) return false;
  return sweep_unfit(d, o, value_bytes, lim).empty();
}

/// The geometry `t` with one block per game, for a device that cannot place a cluster of
/// t.cluster blocks of t.shared_bytes (cudaOccupancyMaxActiveClusters, at launch): the same
/// shared memory, one block for each of t's clusters, in t's scratch (a block's list of the whole
/// game is at most twice a cluster block's, and a cluster block has two).
inline SweepGeometry sweep_alone(SweepGeometry t, std::int64_t k0, std::int64_t last) {
  t.grid /= t.cluster;
  t.cluster = 1;
  t.survivor_capacity = sweep_survivor_capacity(k0, t.slab / last, 1);
  return t;
}

/// Scratch of one launch, in bytes: each block's list of candidates left for player 0's test (each
/// block of a cluster its own, of its slabs, and two: the first block reads them while the others
/// read the next game); under linf, then each block's records of L∞ bounds.
inline std::size_t sweep_lists_bytes(const SweepGeometry& t) {
  const std::size_t lists = t.cluster > 1 ? 2 : 1;  // a cluster's blocks: one per parity of their games
  return round_up(static_cast<std::size_t>(t.grid) * lists * static_cast<std::size_t>(t.survivor_capacity) * 8, 256);
}
/// linf: each block's records of its segments' L∞ bounds, after the lists (every segment of a game
/// has a place; a block writes those of its own tiles).
inline std::size_t sweep_linf_records_bytes(const SweepGeometry& t) {
  return round_up(static_cast<std::size_t>(t.grid) * static_cast<std::size_t>(t.linf_segments) *
                      static_cast<std::size_t>(linf_record_values(t.linf_items)) * sizeof(std::uint16_t),
                  256);
}
inline std::size_t sweep_scratch_bytes(const SweepGeometry& t) {
  return sweep_lists_bytes(t) + sweep_linf_records_bytes(t);
}

}  // namespace cuda
}  // namespace dgeval
