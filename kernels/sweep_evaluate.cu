// The sweep path: a game of n players too large for a block's or a cluster's shared memory,
// from ONE read of its outcomes, in one launch per chunk (one block per game, a grid-stride loop
// over the games; or a cluster of B blocks per game, below). The same shared definitions as every
// path: the double-double centred Gram matrix of detail/gram.hpp for the shifts, magnitudes, IA,
// CA and the distance matrix (as the two-player path, kernels/two_player_evaluate.cu), the
// thresholds and predicate of detail/measures.hpp for the equilibria, and detail/finish.hpp for
// every result column. Planning and the shared-memory layout: host/backends/cuda/sweep_plan.hpp.
//
// Outcome s = a₀·slab + r (slab = stride₀). The block walks the slabs in order, each in tiles of
// consecutive outcomes staged in shared memory (every value read once, converted once):
//   - the Gram accumulators: entry e (a pair of the 2n vectors, or one vector's deviation sum) is
//     accumulated by `groups` threads, each over the tile's outcomes q ≡ group (mod groups), in
//     double-double around a pivot per vector (its first value), the accumulators in shared memory
//     (a fixed assignment and order: the results do not depend on scheduling);
//   - the welfare extrema (first index) and a flag for any non-finite value;
//   - player 0's fiber extrema (one entry per position r in a slab, complete after the last slab);
//   - the fiber extrema of players 1 .. n−2 within the slab (complete at the slab's end), each fiber
//     of a tile walked by one thread;
//   - the last player's fibers (k_{n−1} consecutive outcomes, inside the tile): its ε-Nash test is
//     exact there, and the outcomes passing it are the slab's candidates, kept in shared memory in a
//     fixed order.
// At a slab's end its candidates are tested for players 1 .. n−2 (the input read at the candidates
// only) and those left are appended to the block's list in global scratch; after the last slab they
// are tested for player 0 and tallied. Where a list overflows (ties, or an IC below 1 that lets
// many outcomes pass), the game's equilibria are found instead by a second walk over the agents'
// utilities (each slab twice: its fiber extrema, then every outcome's test): such games read their
// input about twice. A game whose payoffs lie beyond ±1e100, or with a vector whose range is below
// 1e-100, is summed again with scaled deviations (as the two-player path): a second read, for such
// games only (the sums over σ below are not summed again). The strategies whose expectations are
// sums over σ: correlated and product sum σ(s)·u(s) of each of the 2n vectors in the read (σ staged
// with the tile: the correlated weights read once, the product's factors from the game's weights
// in shared memory), in double-double, by the same fixed assignment of threads as the Gram matrix;
// played sums over its set P(IC, CC), whose window needs w*, w_0 and w_ε, known only after the
// read: a second walk over the agents' utilities finds P (their welfare against the window) and
// reads the principals' at P's outcomes only, skipping the segments of tiles whose welfare range
// (kept by the read) misses the window — 1.02 reads of the input where P is a few outcomes near
// the top of the welfare, up to 2 where it is most of the game (docs/PERFORMANCE.md). Thread 0
// then finishes the game with detail/finish.hpp.
//
// MAX and MAX-range (sweep_linf_kernel; distances in the L∞ norm, sweep_linf): the read keeps no
// Gram matrix (the accumulators hold each vector's deviation sum and extrema, and the sums over
// σ); once the game's shifts and magnitudes are known, a second walk over its tiles (linf_norms)
// re-stages each, standardises it in place with each side's weighted mean μ, and takes the maxima
// of |ν − ν'| for IA, CA and the distance matrix, in the same launch. The read also records bounds
// on each tile's IA and CA distances, and the distance matrix's where it is asked for
// (linf_record_tile, from a provisional standardisation), and the walk stages only the tiles that
// may hold a maximum, and of those only the vectors their items are made from (for continuous
// random payoffs with one block per game about 0.1 of the input more, or 0.14 with the distance
// matrix's pairs for 6 players; below).
// EPIC (sweep_kernel) is the same code with the L∞ parts compiled out (sweep_games<T, false>).
//
// A cluster of B > 1 blocks per game (SweepGeometry::cluster, for chunks of few games): block b
// reads player 0's actions [b·k₀/B, (b+1)·k₀/B) as above, keeping its own accumulators, player 0's
// fiber extrema, segments, welfare extrema, flags and list of survivors; after a cluster barrier
// the first block folds the others' parts into its own (distributed shared memory, in block
// order), takes their lists after its own, and goes on as a lone block; a second barrier frees
// the others. Each block keeps two lists, by the parity of its games (the others read their next
// game while the first still tallies; the next game's first barrier keeps them from getting
// further ahead). Under MAX and MAX-range each block walks its own slabs for the L∞ maxima with
// the first block's shifts and magnitudes, and the first takes the maxima of all (two more
// barriers); where a list overflowed, the second walk for the equilibria is dealt likewise (each
// block its slabs, against player 0's merged extrema; the first folds the others' equilibria and
// sums), and so is the played walk (each block its slabs' tiles with the first block's window; the
// first folds the sums over P and the counts). The rare walk, the sum again with scaled
// deviations, is the first block's alone.
#include "backends/cuda/cuda_check.hpp"
#include "backends/cuda/sweep_plan.hpp"
#include "cluster.cuh"
#include "device_common.cuh"
#include "dgeval/detail/alignment.hpp"
#include "dgeval/detail/dtype.hpp"
#include "dgeval/detail/gram.hpp"
#include "sweep_evaluate.cuh"

namespace dgeval {
namespace cuda {
namespace dev {
namespace {

#ifndef DGEVAL_SWEEP_THREADS
#define DGEVAL_SWEEP_THREADS 256  // kSweepThreads; the CPU emulation of the tests uses fewer
#endif
constexpr int kStThreads = DGEVAL_SWEEP_THREADS;

using detail::DoubleDouble;

struct StArgs {
  EvalParams p;
  DeviceInput in;
  DeviceOutputs out;
  SweepGeometry geo;
  Global<Mem::scratch, i64> survivors;  ///< [grid][survivor_capacity]: (s << 2) | bits
  /// linf: [grid][linf_segments][linf_record_values(linf_items)]: each block's records of its segments' L∞
  /// bounds, rounded up to halves (bound_half_up)
  Global<Mem::scratch, std::uint16_t> linf_records;
};
static_assert(sizeof(StArgs) <= 4096, "StArgs must fit the kernel parameter space");

/// The (u, v), u ≤ v, of Gram entry e < V(V+1)/2 (row by row of the upper triangle).
__device__ __forceinline__ void pair_of(int e, int V, int& u, int& v) {
  int r = 0;
  while (e >= V - r) {
    e -= V - r;
    ++r;
  }
  u = r;
  v = r + e;
}
/// The entry of (u, v), u ≤ v.
__device__ __forceinline__ int entry_of(int u, int v, int V) { return u * V - u * (u - 1) / 2 + (v - u); }

/// The fiber of player i (1 ≤ i ≤ n−2) through position r of a slab, numbered within the slab.
__device__ __forceinline__ i64 slab_fiber(const EvalParams& p, int i, i64 r) {
  const i64 st = p.stride[i];
  return (r / (st * p.k[i])) * st + r % st;
}

template <class T>
struct StShared {
  double* staged;  ///< [V][stride]
  i64 stride;      ///< the tile
  double* acc;     ///< [items][4]
  DoubleDouble* gram;
  double* pivot;  ///< [V]
  double* scale;  ///< [V]
  double* split;  ///< [V] (1.0: the deviation is formed after scaling)
  double* state;  ///< state_doubles(n)
  double* sigma;  ///< [stride]: σ at the staged outcomes (row V of staged; the strategies summed over σ)
  double* pw;     ///< the product strategy's weights of the game
  double* seg;    ///< played: each segment's welfare min [segments], then max [segments]
  i64* cand;
  T* ext;                ///< player 0's lo [slab], hi [slab]; then player i's lo, hi [slab/k_i] at fiber_base[i]
  double* lprov;         ///< linf: the game's provisional shifts [V], inverse magnitudes [V], magnitudes [V]
  double* lwork;         ///< linf: [linf_work(n, items)]: the running record, first tile's extrema; then the terms
  std::uint32_t* lwalk;  ///< linf: [linf_segments]: the rows the walk stages of the block's segment (linf_item_rows)
};

/// What each block keeps for itself, in dynamic shared memory at SweepGeometry::block_at (the
/// emulation's static __shared__ variables are one per program, not one per block of a cluster).
struct SweepBlockState {
  __align__(16) unsigned char team[32 * kMaxPayload];  ///< the block's reductions (BlockTeam)
  i64 warp_count[32];                                  ///< append_in_order
  GameSummary S;
  // The block's part of the game, read by the cluster's first block (distributed shared memory).
  WelfareExt we;
  NeExt ne;       ///< its equilibria, where the second walk is dealt to the cluster
  i64 survivors;  ///< its list's length (in global scratch)
  int bad, overflow;
  /// The first block's: the game's flags, merged (written only between the game's first two cluster
  /// barriers, so a block that reads them late cannot see the next game's).
  int game_bad, game_overflow;
  i64 first[kSweepMaxCluster + 1];  ///< the first block's: where each block's list starts in the game's
  // The played walk dealt to the cluster: the first block's window (lo, hi) and whether to walk;
  // each block's count in P and tiles walked, per pass (the second pass where P is empty); its part.
  double played_window[2];
  int played_go;
  i64 played_count[2], played_walked[2];
  PlayedExt pe;
  int flags[2];                            ///< rescale, overflow
  int vector_index[2 * kSweepMaxPlayers];  ///< 0, 1, 2, ...: the sides' Gram indices (CA)
};
static_assert(sizeof(SweepBlockState) <= kSweepBlockStateBytes, "SweepGeometry::block_at holds the block's state");

/// The blocks of one game: a thread block cluster of `blocks` (> 1), or one block. sync() is the
/// cluster's barrier (the block's where it is alone); at(p, r) is p in block r's shared memory.
struct GameCluster {
  int blocks;
  __device__ unsigned rank() const {
#if DGEVAL_CLUSTER_CODE
    if (blocks > 1) return Cluster::block_rank();
#endif
    return 0;
  }
  __device__ void sync() const {
#if DGEVAL_CLUSTER_CODE
    if (blocks > 1) {
      Cluster::sync();
      return;
    }
#endif
    __syncthreads();
  }
  template <class P>
  __device__ P* at(P* p, unsigned r) const {
#if DGEVAL_CLUSTER_CODE
    if (blocks > 1) return Cluster::map_shared_rank(p, r);
#endif
    return p;
  }
};

/// Folds accumulator `from` (hi, lo, min, max) into `into`: the double-double sums added, the
/// extrema kept.
__device__ __forceinline__ void acc_fold(double* into, const double* from) {
  const DoubleDouble s = detail::dd_add(DoubleDouble{into[0], into[1]}, DoubleDouble{from[0], from[1]});
  into[0] = s.hi;
  into[1] = s.lo;
  into[2] = from[2] < into[2] ? from[2] : into[2];
  into[3] = from[3] > into[3] ? from[3] : into[3];
}

/// Stages vectors [0, nv) of outcomes [s0, s0 + cnt) as doubles, of them only those of `rows` (bit
/// v for vector v). Ends with a barrier.
template <class T>
__device__ void stage(const StShared<T>& sh, const Utilities<T>& x, int nv, i64 s0, i64 cnt, std::uint32_t rows = ~0u) {
  for (int v = 0; v < nv; ++v) {  // vector by vector: coalesced, no division per value
    if (((rows >> v) & 1u) == 0u) continue;
    const T* src = x.vec(v) + s0;
    double* dst = sh.staged + v * sh.stride;
    for (i64 q = threadIdx.x; q < cnt; q += blockDim.x) dst[q] = static_cast<double>(load<Mem::input>(src + q));
  }
  __syncthreads();
}

/// σ at the staged outcomes [s0, s0 + cnt) of game g, correlated or product (as
/// strategy_weight: the product's factors from the game's weights in shared memory, multiplied in
/// player order). No barrier (the staging's follows).
template <class T>
__device__ void stage_sigma(const StArgs& a, const StShared<T>& sh, i64 g, i64 s0, i64 cnt) {
  const EvalParams& p = a.p;
  const double* w = p.weights + g * p.strategy_stride;
  for (i64 q = threadIdx.x; q < cnt; q += blockDim.x) {
    const i64 s = s0 + q;
    double sigma = 1.0;
    if (p.strategy == StrategyKind::correlated) {
      sigma = load<Mem::strategy>(w + s);
    } else {
      for (int j = 0; j < p.n; ++j) sigma *= sh.pw[p.product_offset[j] + (s / p.stride[j]) % p.k[j]];
    }
    sh.sigma[q] = sigma;
  }
}

/// The accumulators of entries [e0, e1) over the staged tile (cnt outcomes): the Gram products and
/// deviation sums (deviations scaled where set), and the sums over σ (Σ σ·u of each vector, the
/// outcomes of σ = 0 skipped, as the CPU does).
template <class T>
__device__ void gram_tile(const StArgs& a, const StShared<T>& sh, i64 cnt, bool scaled, bool& bad, int e0, int e1) {
  const SweepGeometry& G = a.geo;
  for (int w = static_cast<int>(threadIdx.x); w < G.items; w += static_cast<int>(blockDim.x)) {
    const int e = w % G.entries, grp = w / G.entries;
    if (e < e0 || e >= e1) continue;
    double* A = sh.acc + 4 * w;
    DoubleDouble acc{A[0], A[1]};
    if (e >= G.pairs + G.vectors) {
      const double* xu = sh.staged + (e - G.pairs - G.vectors) * sh.stride;
      for (i64 q = grp; q < cnt; q += G.groups) {
        const double sigma = sh.sigma[q];
        if (sigma != 0.0) detail::dd_accumulate_product(acc, sigma, xu[q]);
      }
    } else if (e < G.pairs) {
      int u = 0, v = 0;
      pair_of(e, G.vectors, u, v);
      const double pu = sh.pivot[u], pv = sh.pivot[v];
      const double cu = sh.scale[u], cv = sh.scale[v];
      const bool su = sh.split[u] != 0.0, sv = sh.split[v] != 0.0;
      for (i64 q = grp; q < cnt; q += G.groups) {
        const double xu = sh.staged[u * sh.stride + q], xv = sh.staged[v * sh.stride + q];
        double du = xu - pu, dv = xv - pv;
        if (scaled) {
          du = su ? xu * cu - pu * cu : du * cu;
          dv = sv ? xv * cv - pv * cv : dv * cv;
        }
        detail::dd_accumulate_product(acc, du, dv);
      }
    } else {
      const int u = e - G.pairs;
      const double pu = sh.pivot[u], cu = sh.scale[u];
      const bool su = sh.split[u] != 0.0;
      double lo = A[2], hi = A[3];
      for (i64 q = grp; q < cnt; q += G.groups) {
        const double xu = sh.staged[u * sh.stride + q];
        bad |= !finite(xu);
        lo = xu < lo ? xu : lo;
        hi = xu > hi ? xu : hi;
        double du = xu - pu;
        if (scaled) du = su ? xu * cu - pu * cu : du * cu;
        detail::dd_accumulate(acc, du);
      }
      A[2] = lo;
      A[3] = hi;
    }
    A[0] = acc.hi;
    A[1] = acc.lo;
  }
}

/// Minimum (a) and maximum (b) of the welfare.
struct MinMaxOp {
  __device__ Acc2 operator()(const Acc2& x, const Acc2& y) const {
    return Acc2{y.a < x.a ? y.a : x.a, y.b > x.b ? y.b : x.b};
  }
};

/// Clears the accumulators of entries [0, e1).
template <class T>
__device__ void gram_clear(const StArgs& a, const StShared<T>& sh, int e1) {
  for (int w = static_cast<int>(threadIdx.x); w < a.geo.items; w += static_cast<int>(blockDim.x)) {
    if (w % a.geo.entries >= e1) continue;
    sh.acc[4 * w] = 0.0;
    sh.acc[4 * w + 1] = 0.0;
    sh.acc[4 * w + 2] = inf();
    sh.acc[4 * w + 3] = -inf();
  }
}

/// Merges the groups of each entry in [e0, e1), in group order, into its group-0 item. Ends with a
/// barrier.
template <class T>
__device__ void gram_merge(const StArgs& a, const StShared<T>& sh, int e0, int e1) {
  const SweepGeometry& G = a.geo;
  __syncthreads();
  for (int e = e0 + static_cast<int>(threadIdx.x); e < e1; e += static_cast<int>(blockDim.x)) {
    double s[4] = {sh.acc[4 * e], sh.acc[4 * e + 1], sh.acc[4 * e + 2], sh.acc[4 * e + 3]};
    for (int grp = 1; grp < G.groups; ++grp) acc_fold(s, sh.acc + 4 * (grp * G.entries + e));
    // Written after every thread has read (the group-0 items are read by their own thread only).
    for (int j = 0; j < 4; ++j) sh.acc[4 * e + j] = s[j];
  }
  __syncthreads();
}

/// Players 1 .. n−2's slab extrema emptied (lo +∞, hi −∞) for a new slab. No barrier.
template <class T>
__device__ __forceinline__ void slab_extrema_clear(const StArgs& a, const StShared<T>& sh) {
  const EvalParams& p = a.p;
  for (int i = 1; i + 1 < p.n; ++i) {
    const i64 fibers = a.geo.slab / p.k[i];
    T* e = sh.ext + a.geo.fiber_base[i];
    for (i64 f = threadIdx.x; f < fibers; f += blockDim.x) {
      e[f] = static_cast<T>(inf());
      e[fibers + f] = static_cast<T>(-inf());
    }
  }
}

/// Player i's (1 ≤ i ≤ n−2) slab extrema updated with the staged tile (slab positions [r0, r0 +
/// cnt), player i's values at staged vector i): each fiber's run in the tile walked by one thread.
template <class T>
__device__ void slab_extrema_tile(const StArgs& a, const StShared<T>& sh, i64 r0, i64 cnt) {
  const EvalParams& p = a.p;
  for (int i = 1; i + 1 < p.n; ++i) {
    const i64 st = p.stride[i], k = p.k[i], fibers = a.geo.slab / k;
    T* lo_ = sh.ext + a.geo.fiber_base[i];
    T* hi_ = lo_ + fibers;
    const double* y = sh.staged + i * sh.stride;
    for (i64 q = threadIdx.x; q < cnt; q += blockDim.x) {
      const i64 r = r0 + q, ai = (r / st) % k;
      if (ai != 0 && q >= st) continue;  // not the fiber's first outcome in the tile
      const i64 f = slab_fiber(p, i, r);
      T lo = lo_[f], hi = hi_[f];
      for (i64 b = ai, qq = q; b < k && qq < cnt; ++b, qq += st) {
        const T v = static_cast<T>(y[qq]);
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
      }
      lo_[f] = lo;
      hi_[f] = hi;
    }
  }
}

/// The rows of the L∞ walk's item q (of SweepGeometry::norms): IA of player i (q = 3i: ν_i, ν̂_i),
/// CA of each side (3i + 1: ν_i, μ; 3i + 2: ν̂_i, μ̂; rows V and V + 1 hold μ and μ̂), then the pairs
/// of the distance matrix (x < y in row order) but those of IA (x, x + n), whose distance is IA's
/// item's (linf_finish).
__device__ __forceinline__ void linf_rows(int q, int n, int& r0, int& r1) {
  const int V = 2 * n;
  if (q < 3 * n) {
    const int i = q / 3, c = q % 3;
    r0 = c == 2 ? n + i : i;
    r1 = c == 0 ? n + i : c == 1 ? V : V + 1;
    return;
  }
  int x = 0, e = q - 3 * n;
  while (e >= V - 1 - x - (x < n ? 1 : 0)) {  // (row x < n has its pair x + n left out)
    e -= V - 1 - x - (x < n ? 1 : 0);
    ++x;
  }
  r0 = x;
  r1 = x + 1 + e;
  if (x < n && r1 >= x + n) ++r1;
}

/// The staged vectors row r of the L∞ walk's tile is made from, as a mask (bit v for vector v):
/// vector r itself, or for the sides' means μ (row V) and μ̂ (row V + 1) all of the side's n.
__device__ __forceinline__ std::uint32_t linf_row_vectors(int r, int n) {
  const std::uint32_t side = (1u << n) - 1u;  // (n ≤ kSweepMaxPlayers = 16)
  return r < 2 * n ? 1u << r : r == 2 * n ? side : side << n;
}

/// The staged vectors item q's distance (linf_rows) is made from (linf_row_vectors): the vectors the
/// walk stages of a segment it walks for q.
__device__ __forceinline__ std::uint32_t linf_item_rows(int q, int n) {
  int r0 = 0, r1 = 0;
  linf_rows(q, n, r0, r1);
  return linf_row_vectors(r0, n) | linf_row_vectors(r1, n);
}

/// The staged tile (cnt outcomes; the vectors of `rows`, bit v for vector v) standardised in place
/// by `shift`, `inv` (detail::standardised_by_inverse), and each side's weighted mean μ (detail::
/// ca_mean, magnitudes `mag`) in rows V and V + 1 where all of its side's vectors are staged. Ends
/// with a barrier.
template <class T>
__device__ void linf_standardise(const StShared<T>& sh, int n, i64 cnt, const double* shift, const double* inv,
                                 const double* mag, std::uint32_t rows = ~0u) {
  const int V = 2 * n;
  const bool agents = (linf_row_vectors(V, n) & ~rows) == 0u, principals = (linf_row_vectors(V + 1, n) & ~rows) == 0u;
  const double inv_weight_a = detail::inverse_magnitude_of(detail::ca_weight<double>(n, mag));
  const double inv_weight_p = detail::inverse_magnitude_of(detail::ca_weight<double>(n, mag + n));
  double* y = sh.staged;
  const i64 tile = sh.stride;
  for (i64 q = threadIdx.x; q < cnt; q += blockDim.x) {
    for (int v = 0; v < V; ++v) {
      if (((rows >> v) & 1u) == 0u) continue;
      double& u = y[v * tile + q];
      u = detail::standardised_by_inverse(u, shift[v], inv[v]);
    }
    if (agents)
      y[V * tile + q] = detail::ca_mean<double>(
          n, mag, [&](int m) { return y[m * tile + q]; }, inv_weight_a);
    if (principals)
      y[(V + 1) * tile + q] = detail::ca_mean<double>(
          n, mag + n, [&](int m) { return y[(n + m) * tile + q]; }, inv_weight_p);
  }
  __syncthreads();
}

/// The larger of a and b, NaN if either is (a NaN in the bounds' records makes its segment walked).
__device__ __forceinline__ double max_or_nan(double a, double b) { return (b > a || b != b) ? b : a; }
/// max_or_nan of each member.
struct MaxOrNanOp {
  __device__ Acc2 operator()(const Acc2& x, const Acc2& y) const {
    return Acc2{max_or_nan(x.a, y.a), max_or_nan(x.b, y.b)};
  }
};

/// The L∞ distances (MAX, MAX-range; kernels' sweep_linf_kernel) once the game's shifts and
/// magnitudes are in A: a second walk over the tiles of player 0's actions [a_begin, a_end) (the
/// block's slabs, tile by tile as the read staged them), each re-staged and standardised in place
/// (linf_standardise); item q's running maximum of |row r0 − row r1| (detail::LInfNorm) taken by warp
/// q mod warps over the tile's outcomes, warp-reduced and folded into norms[q] by its lane 0 (each
/// item's warp fixed: no race; max is exact in any order). `items` = 3n, or G.norms with the
/// distance matrix. With `walk`, only the vectors walk[j − the block's first] of segment j's tiles are
/// staged (none: the segment is skipped), only the items made from them (linf_item_rows) are taken,
/// and the maxima go on from norms as they are. Ends with a barrier.
template <class T>
__device__ void linf_norms(const StArgs& a, const StShared<T>& sh, const Utilities<T>& x, const GameArrays& A,
                           double* norms, int items, i64 a_begin, i64 a_end, const std::uint32_t* walk = nullptr) {
  const SweepGeometry& G = a.geo;
  const int n = a.p.n, tid = static_cast<int>(threadIdx.x);
  const int lane = tid & 31, warp = tid >> 5, warps = static_cast<int>(blockDim.x >> 5);
  for (int q = tid; q < items && !walk; q += static_cast<int>(blockDim.x)) norms[q] = 0.0;
  const double* y = sh.staged;
  const i64 tile = sh.stride, slab = G.slab, per_slab = (slab + tile - 1) / tile;
  const i64 t_begin = a_begin * per_slab, j_begin = t_begin / G.linf_tiles_per_segment;
  for (i64 t = t_begin; t < a_end * per_slab; ++t) {
    const std::uint32_t rows = walk ? walk[t / G.linf_tiles_per_segment - j_begin] : ~0u;
    if (rows == 0u) continue;
    const i64 a0 = t / per_slab, off = (t % per_slab) * tile;
    const i64 cnt = slab - off < tile ? slab - off : tile;
    __syncthreads();  // the previous tile's items read
    stage(sh, x, 2 * n, a0 * slab + off, cnt, rows);
    linf_standardise(sh, n, cnt, A.shift, A.inv, A.mag, rows);
    for (int it = warp; it < items; it += warps) {
      int r0 = 0, r1 = 0;
      linf_rows(it, n, r0, r1);
      if (((linf_row_vectors(r0, n) | linf_row_vectors(r1, n)) & ~rows) != 0u) continue;  // (not staged)
      const double* y0 = y + r0 * tile;
      const double* y1 = y + r1 * tile;
      double m = 0.0;
      for (i64 q = lane; q < cnt; q += 32) m = detail::LInfNorm::accumulate(m, y0[q] - y1[q]);
      for (int k = 16; k > 0; k >>= 1) m = detail::LInfNorm::combine(m, shfl_xor_any(0xffffffffu, m, k, 32));
      if (lane == 0) norms[it] = detail::LInfNorm::combine(norms[it], m);
    }
  }
  __syncthreads();
}

// ---- Bounds on the L∞ walk (MAX, MAX-range). The read standardises each tile, once its other work
// is done, by the game's provisional shifts and magnitudes (those of its cluster's blocks' first
// tiles together: ν'), and records, per segment of consecutive tiles and for each item of
// SweepGeometry::linf_items (IA and CA, and with the distance matrix its pairs: rows r0, r1; the
// means μ' likewise), the maxima of D' + λ·|S'| and −D' + λ·|S'| with
// D' = ν'_r0 − ν'_r1, S' = ν'_r0 + ν'_r1 and λ = kLinfLambda (in scratch as halves rounded up, so
// still bounds from above). Each row's final standardised value is an affine function of its
// provisional one: ν = p·ν' + q with p = inv/inv', q = (c' − c)·inv for a vector (0 and 0 where it
// is constant), and for a mean μ = p_μ·μ' + q_μ + e with p_μ = W/W' (W the side's inverse weight),
// q_μ = Σ m_j·q_j·W and |e| ≤ Σ |m_j·p_j·W − p_μ·m'_j·W'|·A_j, where A_r bounds |ν'_r| over the
// block's outcomes (from its extrema). So the item's final difference is ν_r0 − ν_r1 = P·(D' +
// μ·S') + Q (± e0 + e1), P = (p0 + p1)/2, μ = (p0 − p1)/(2P), Q = q0 − q1, and D' + μ·S' is at most
// D' + λ·|S'| where |μ| ≤ λ, plus (|μ| − λ)·(A0 + A1) beyond: the segment's record bounds its
// largest |ν_r0 − ν_r1| from above (linf_upper, with a margin of 1e-12 of the terms for rounding, a
// thousand times what it can take). The walk then stages, first, the segment of the largest bound
// of each item, which gives each item a maximum reached, and then the segments whose bound for some
// item is not below that: no other segment holds an item's maximum. For continuous random payoffs,
// a few segments per item.

/// λ of the records (see above): the provisional magnitudes' ratios to the final ones may differ by
/// this much (as a fraction of their mean) before the bounds loosen.
constexpr double kLinfLambda = 1.0 / 16;

/// The provisional shifts and magnitudes: those of the cluster's blocks' first tiles of the game
/// together (each block's staged tile, cnt outcomes; vector v by warp v mod warps), so that every
/// block of a game standardises its records alike, from B times one tile's sample. Every block of
/// the cluster calls it, at its first tile. Ends with a barrier.
template <class T>
__device__ void linf_provisional(const StArgs& a, const StShared<T>& sh, const GameCluster& cl, i64 cnt) {
  const int V = a.geo.vectors, tid = static_cast<int>(threadIdx.x);
  const int lane = tid & 31, warp = tid >> 5, warps = static_cast<int>(blockDim.x >> 5);
  // [2V]: the block's first tile's minima, then maxima (after the running record; read by the
  // other blocks before this block's next barrier of the cluster, and free until its next game)
  double* const first = sh.lwork + linf_record_values(a.geo.linf_items);
  const WarpTeam<32> wt;
  for (int v = warp; v < V; v += warps) {
    const double* y = sh.staged + v * sh.stride;
    Acc2 e{inf(), -inf()};
    for (i64 q = lane; q < cnt; q += 32) e = MinMaxOp()(e, Acc2{y[q], y[q]});
    e = wt.reduce(e, MinMaxOp());
    if (lane == 0) first[v] = e.a, first[V + v] = e.b;
  }
  cl.sync();  // every block's first tile
  if (tid < V) {
    Acc2 e{inf(), -inf()};
    for (int b = 0; b < cl.blocks; ++b) {
      const double* o = cl.at(first, static_cast<unsigned>(b));
      e = MinMaxOp()(e, Acc2{o[tid], o[V + tid]});
    }
    const double mag = detail::magnitude_of(a.p.standardisation, 0.0, e.a, e.b);
    sh.lprov[tid] = detail::shift_of(a.p.standardisation, 0.0, cnt, e.a, e.b);
    sh.lprov[V + tid] = detail::inverse_magnitude_of(mag);
    sh.lprov[2 * V + tid] = mag;
  }
  __syncthreads();
}

/// The staged tile (cnt outcomes, its other work done) standardised by the provisional shifts and
/// magnitudes, and each item's (linf_items) maxima of D' + λ·|S'|, −D' + λ·|S'| folded into the
/// segment's running record (lwork[2q], lwork[2q + 1]; NaN kept). After a barrier that follows the
/// last read of the tile's raw values; ends with a barrier.
template <class T>
__device__ void linf_record_tile(const StArgs& a, const StShared<T>& sh, i64 cnt) {
  const int n = a.p.n, V = 2 * n, tid = static_cast<int>(threadIdx.x);
  const int lane = tid & 31, warp = tid >> 5, warps = static_cast<int>(blockDim.x >> 5);
  const WarpTeam<32> wt;
  linf_standardise(sh, n, cnt, sh.lprov, sh.lprov + V, sh.lprov + 2 * V);
  const double* y = sh.staged;
  for (int it = warp; it < a.geo.linf_items; it += warps) {
    int r0 = 0, r1 = 0;
    linf_rows(it, n, r0, r1);
    const double* y0 = y + r0 * sh.stride;
    const double* y1 = y + r1 * sh.stride;
    Acc2 m{-inf(), -inf()};
    for (i64 q = lane; q < cnt; q += 32) {
      const double d = y0[q] - y1[q], l = kLinfLambda * fabs(y0[q] + y1[q]);
      m = MaxOrNanOp()(m, Acc2{d + l, l - d});
    }
    m = wt.reduce(m, MaxOrNanOp());
    if (lane == 0) {
      sh.lwork[2 * it] = max_or_nan(sh.lwork[2 * it], m.a);
      sh.lwork[2 * it + 1] = max_or_nan(sh.lwork[2 * it + 1], m.b);
    }
  }
  __syncthreads();
}

/// Each row's p, q, A and e (the bounds above) into sh.lwork (rp, rq, ra, re: [2n + 2] each) from
/// the game's shifts and magnitudes in A. False where the bounds cannot be made (a vector constant in
/// the blocks' first tiles but not in the game). Ends with a barrier.
template <class T>
__device__ bool linf_rows_affine(const StArgs& a, const StShared<T>& sh, const GameArrays& A) {
  const int n = a.p.n, V = 2 * n, R = V + 2, tid = static_cast<int>(threadIdx.x);
  const double *ps = sh.lprov, *pinv = sh.lprov + V, *pmag = sh.lprov + 2 * V;
  double *rp = sh.lwork, *rq = rp + R, *ra = rq + R, *re = ra + R;
  bool ok = true;
  if (tid < V) {
    const double inv = A.inv[tid], ip = pinv[tid];
    const double lo = sh.acc[4 * (a.geo.pairs + tid) + 2], hi = sh.acc[4 * (a.geo.pairs + tid) + 3];
    double p = 0.0, q = 0.0, b = 0.0;
    if (inv != 0.0) {
      ok = ip != 0.0;
      p = inv / ip;
      q = (ps[tid] - A.shift[tid]) * inv;
      b = fmax(fabs(lo - ps[tid]), fabs(hi - ps[tid])) * ip;
    }
    rp[tid] = p;
    rq[tid] = q;
    ra[tid] = b;
    re[tid] = 0.0;
  }
  if (__syncthreads_or(!ok)) return false;  // (every thread)
  if (tid < 2) {                            // the sides' means
    const int o = tid * n;
    const double w = detail::inverse_magnitude_of(detail::ca_weight<double>(n, A.mag + o));
    const double wp = detail::inverse_magnitude_of(detail::ca_weight<double>(n, pmag + o));
    const double pm = wp != 0.0 ? w / wp : 0.0;
    double q = 0.0, b = 0.0, e = 0.0;
    for (int j = 0; j < n; ++j) {
      q += A.mag[o + j] * rq[o + j] * w;
      b += pmag[o + j] * wp * ra[o + j];
      e += fabs(A.mag[o + j] * rp[o + j] * w - pm * pmag[o + j] * wp) * ra[o + j];
    }
    rp[V + tid] = pm;
    rq[V + tid] = q;
    ra[V + tid] = b;
    re[V + tid] = e;
  }
  __syncthreads();
  return true;
}

/// An upper bound on item it's |ν_r0 − ν_r1| over segment j (its record), from the rows' terms of
/// linf_rows_affine; NaN where the record holds one.
template <class T>
__device__ double linf_upper(const StArgs& a, const StShared<T>& sh, const Global<Mem::scratch, std::uint16_t>& records,
                             int it, i64 j) {
  const int n = a.p.n, R = 2 * n + 2;
  const double *rp = sh.lwork, *rq = rp + R, *ra = rq + R, *re = ra + R;
  int r0 = 0, r1 = 0;
  linf_rows(it, n, r0, r1);
  const double P = (rp[r0] + rp[r1]) / 2, half = (rp[r0] - rp[r1]) / 2, Q = rq[r0] - rq[r1];
  const double b = ra[r0] + ra[r1], e = re[r0] + re[r1];
  const double mu = P > 0.0 ? half / P : 0.0;
  const double over = fmax(0.0, fabs(mu) - kLinfLambda) * b;
  const i64 at = j * linf_record_values(a.geo.linf_items) + 2 * it;
  const double up = bound_half_value(records[at]), down = bound_half_value(records[at + 1]);
  const double margin = 1e-12 * (1.0 + (P + fabs(half)) * b + fabs(rq[r0]) + fabs(rq[r1]) + e);
  return max_or_nan(P * (up + over) + Q, P * (down + over) - Q) + e + margin;
}

/// A segment and its upper bound for an item.
struct TopSegment {
  double bound;
  i64 at;  ///< the segment, −1 for none
};
/// The larger bound; of equal ones the lower segment (none last).
struct TopSegmentOp {
  __device__ TopSegment operator()(const TopSegment& x, const TopSegment& y) const {
    return (y.bound > x.bound || (y.bound == x.bound && y.at >= 0 && (x.at < 0 || y.at < x.at))) ? y : x;
  }
};

/// What the L∞ walk stages first of the segments of the block [j_begin, j_end) (sh.lwalk[j −
/// j_begin]: the vectors, none for a segment it skips): for each item, the vectors it is made from
/// (linf_item_rows) of the game's segment of its largest upper bound (over the cluster's blocks: the
/// first block's, then the lowest index, where bounds are equal); every vector of every segment of a
/// block whose bounds cannot be made (`ok` false). Every block of the cluster calls it. Ends with a
/// barrier.
template <class T>
__device__ void linf_first_segments(const StArgs& a, const StShared<T>& sh, const GameCluster& cl,
                                    const Global<Mem::scratch, std::uint16_t>& records, i64 j_begin, i64 j_end,
                                    bool ok) {
  const int n = a.p.n, tid = static_cast<int>(threadIdx.x), items = a.geo.linf_items;
  const int lane = tid & 31, warp = tid >> 5, warps = static_cast<int>(blockDim.x >> 5);
  double* const top = sh.lwork + 4 * (2 * n + 2);  // [items] each item's largest bound, [items] its segment
  double* const mine = top + 2 * items;            // [items]: the game's segment of each item, if the block's
  const WarpTeam<32> wt;
  for (int it = warp; it < items; it += warps) {
    TopSegment t{-inf(), -1};
    for (i64 j = j_begin + lane; j < j_end && ok; j += 32) {
      const double u = linf_upper(a, sh, records, it, j);
      if (u > t.bound) t = TopSegment{u, j};  // (NaN left to the second pass)
    }
    t = wt.reduce(t, TopSegmentOp());
    if (lane == 0) {
      top[it] = t.bound;
      top[items + it] = static_cast<double>(t.at);
    }
  }
  cl.sync();  // every block's
  for (int it = tid; it < items; it += static_cast<int>(blockDim.x)) {
    double best = -inf(), at = -1.0;
    for (int b = 0; b < cl.blocks; ++b) {
      const double* o = cl.at(top, static_cast<unsigned>(b));
      if (o[it] > best) best = o[it], at = o[items + it];
    }
    mine[it] = at >= static_cast<double>(j_begin) && at < static_cast<double>(j_end) ? at : -1.0;
  }
  cl.sync();  // every block has read the others'
  for (i64 j = j_begin + tid; j < j_end; j += blockDim.x) {
    std::uint32_t rows = ok ? 0u : ~0u;
    for (int it = 0; it < items; ++it)
      if (mine[it] == static_cast<double>(j)) rows |= linf_item_rows(it, n);
    sh.lwalk[j - j_begin] = rows;
  }
  __syncthreads();
}

/// After the first walk (each block's norms: its items' maxima over its first segments), each
/// item's largest maximum over the cluster's blocks, `best` (a value the item reaches). Every block
/// of the cluster calls it. Ends with a cluster barrier.
__device__ void linf_game_best(const GameCluster& cl, const double* norms, double* best, int items) {
  cl.sync();  // every block's first walk
  for (int it = static_cast<int>(threadIdx.x); it < items; it += static_cast<int>(blockDim.x)) {
    double m = 0.0;
    for (int b = 0; b < cl.blocks; ++b) m = detail::LInfNorm::combine(m, cl.at(norms, static_cast<unsigned>(b))[it]);
    best[it] = m;
  }
  cl.sync();  // every block has read the others' (the second walk changes them)
}

/// What the second walk stages of the block's segments (sh.lwalk[j − j_begin], the first walk's
/// before): the vectors of the items whose upper bound on segment j is not below `best`
/// (linf_game_best) and which the first walk did not take there (their vectors not all staged);
/// none where the bounds cannot be made (`ok` false: the first walk took every segment). No other
/// segment holds an item's maximum. Ends with a barrier.
template <class T>
__device__ void linf_second_segments(const StArgs& a, const StShared<T>& sh,
                                     const Global<Mem::scratch, std::uint16_t>& records, const double* best,
                                     i64 j_begin, i64 j_end, bool ok) {
  const int n = a.p.n;
  const std::uint32_t all = linf_row_vectors(2 * n, n) | linf_row_vectors(2 * n + 1, n);
  for (i64 j = j_begin + threadIdx.x; j < j_end; j += blockDim.x) {
    const std::uint32_t first = sh.lwalk[j - j_begin];
    std::uint32_t rows = 0u;
    for (int it = 0; it < a.geo.linf_items && ok && rows != all; ++it) {
      const std::uint32_t need = linf_item_rows(it, n);
      if ((need & ~first) == 0u || (need & ~rows) == 0u) continue;  // taken by the first walk, or staged
      if (!(linf_upper(a, sh, records, it, j) < best[it])) rows |= need;
    }
    sh.lwalk[j - j_begin] = rows;
  }
  __syncthreads();
}

/// IA, CA and the distance matrix from the L∞ walk's maxima (thread 0), as the tiled path's
/// align_combine: detail::ia_from_norm, detail::collective_alignment, detail::distance_from_norm.
template <class T>
__device__ void linf_finish(const StArgs& a, const GameArrays& A, const double* norms, GameSummary& S, i64 g) {
  const EvalParams& p = a.p;
  const int n = p.n, V = 2 * n;
  for (int i = 0; i < n; ++i) A.ia[i] = detail::ia_from_norm(detail::LInfNorm::finish(norms[3 * i]), p.constants);
  S.ca_agents =
      detail::collective_alignment<double>(n, A.mag, [&](int i) { return detail::LInfNorm::finish(norms[3 * i + 1]); });
  S.ca_principals = detail::collective_alignment<double>(
      n, A.mag + n, [&](int i) { return detail::LInfNorm::finish(norms[3 * i + 2]); });
  if (p.distance_matrix) {
    const i64 at0 = g * V * V;
    int q = 3 * n;
    for (int u = 0; u < V; ++u) {
      a.out.distance_matrix.store(at0 + u * V + u, 0.0);
      for (int v = u + 1; v < V; ++v) {
        const double norm = v == u + n ? norms[3 * u] : norms[q++];  // (IA's pair: IA's item)
        const double dist = detail::distance_from_norm(detail::LInfNorm::finish(norm), p.constants);
        a.out.distance_matrix.store(at0 + u * V + v, dist);
        a.out.distance_matrix.store(at0 + v * V + u, dist);
      }
    }
  }
}

template <class T, bool kLinf>
__device__ __forceinline__ void sweep_games(const StArgs& a) {
  DGEVAL_DYNAMIC_SHARED(smem);
  const EvalParams& p = a.p;
  const SweepGeometry& G = a.geo;
  SweepBlockState& st = *reinterpret_cast<SweepBlockState*>(smem + G.block_at);
  i64* const warp_count = st.warp_count;
  GameSummary& S = st.S;
  int* const flags_sh = st.flags;
  int* const vector_index = st.vector_index;
  const BlockTeam team{st.team};
  const GameCluster cl{G.cluster};
  const int B = G.cluster;
  const unsigned rank = cl.rank();
  const int n = p.n, V = G.vectors, tid = static_cast<int>(threadIdx.x);
  const i64 N = p.N, slab = G.slab, k0 = p.k[0], last = p.k[n - 1], tile = G.tile;
  // The block's slabs: player 0's actions [a_begin, a_end), a contiguous run (all of them alone).
  const i64 a_begin = rank * k0 / B, a_end = (rank + 1) * k0 / B;
  StShared<T> sh;
  sh.stride = tile;
  sh.staged = reinterpret_cast<double*>(smem + G.staged_at);
  sh.acc = reinterpret_cast<double*>(smem + G.accumulator_at);
  sh.gram = reinterpret_cast<DoubleDouble*>(smem + G.gram_at);
  sh.pivot = reinterpret_cast<double*>(smem + G.misc_at);
  sh.scale = sh.pivot + V;
  sh.split = sh.scale + V;
  sh.state = sh.split + V;
  sh.sigma = sh.staged + V * tile;
  sh.pw = reinterpret_cast<double*>(smem + G.weights_at);
  sh.seg = reinterpret_cast<double*>(smem + G.segments_at);
  sh.cand = reinterpret_cast<i64*>(smem + G.candidates_at);
  sh.ext = reinterpret_cast<T*>(smem + G.extrema_at);
  sh.lprov = reinterpret_cast<double*>(smem + G.linf_at);
  sh.lwork = sh.lprov + 3 * V;
  sh.lwalk = reinterpret_cast<std::uint32_t*>(sh.lwork + linf_work(n, G.linf_items));
  // Each block's lists of survivors in global scratch: one, or in a cluster two, taken by the
  // parity of the block's games (its other blocks read the next game while the first finishes one).
  const int lists_per_block = B > 1 ? 2 : 1;
  const Global<Mem::scratch, i64> cluster_lists =
      a.survivors + static_cast<i64>(blockIdx.x - rank) * lists_per_block * G.survivor_capacity;
  i64 iteration = 0;
  const StrategyKind kind = p.strategy;
  const unsigned sum_bits = kind == StrategyKind::uniform_ne ? 1u : kind == StrategyKind::uniform_eps_ne ? 2u : 0u;
  // The accumulators' entries: the Gram matrix's (products and deviation sums), then the sums over
  // σ, made in the read where σ is given (correlated, product), by the played walk otherwise.
  const int gram_end = G.pairs + V, sums_end = G.entries;
  const bool sigma_given = strategy_has_weights(kind);
  const int read_end = sigma_given ? sums_end : gram_end;
  for (int v = tid; v < 2 * kSweepMaxPlayers; v += static_cast<int>(blockDim.x)) vector_index[v] = v;
  T* ext0_lo = sh.ext;
  T* ext0_hi = sh.ext + slab;
  const i64 per_slab = (slab + tile - 1) / tile;  // tiles of a slab
  // L∞: the read records its segments' bounds (linf_record_tile) in the block's records, and the walk
  // stages the segments that may hold a maximum (linf_first_segments, linf_second_segments); for
  // the items the walk takes (with the distance matrix its pairs too), as the geometry sized them.
  const bool linf_bounds = kLinf && G.linf_segments > 0;
  const i64 rv = linf_record_values(G.linf_items), tps = G.linf_tiles_per_segment;
  const Global<Mem::scratch, std::uint16_t> records =
      a.linf_records + static_cast<i64>(blockIdx.x) * G.linf_segments * rv;

  for (i64 g = blockIdx.x / B; g < a.in.games; g += gridDim.x / B, ++iteration) {
    // Block b's list of this game's survivors.
    const auto list_of = [&](i64 b) {
      return cluster_lists + (b * lists_per_block + (iteration & (lists_per_block - 1))) * G.survivor_capacity;
    };
    const Global<Mem::scratch, i64> surv = list_of(rank);
    const Utilities<T> x{static_cast<const T*>(a.in.agents) + g * n * N,
                         static_cast<const T*>(a.in.principals) + g * n * N, N, n};
    if (tid < V) {
      sh.pivot[tid] = x(tid, 0);
      sh.scale[tid] = 1.0;
      sh.split[tid] = 0.0;
    }
    if (tid == 0) flags_sh[0] = flags_sh[1] = 0;
    gram_clear(a, sh, sums_end);
    for (i64 j = tid; j < G.weights; j += blockDim.x)
      sh.pw[j] = load<Mem::strategy>(p.weights + g * p.strategy_stride + j);
    for (i64 j = tid; j < G.segments; j += blockDim.x) {
      sh.seg[j] = inf();
      sh.seg[G.segments + j] = -inf();
    }
    for (i64 r = tid; r < slab; r += blockDim.x) {
      ext0_lo[r] = static_cast<T>(inf());
      ext0_hi[r] = static_cast<T>(-inf());
    }
    for (i64 e = tid; e < rv && linf_bounds; e += blockDim.x) sh.lwork[e] = -inf();
    if (p.list_equilibria && rank == 0) {  // the game's NE bitmask starts empty; the tally sets the equilibria's bits
      const Global<Mem::output, std::uint32_t> bits = a.out.ne_bits + g * a.out.ne_words;
      for (i64 w = tid; w < a.out.ne_words; w += blockDim.x) bits.store(w, 0u);
    }
    __syncthreads();
    WelfareExt we = welfare_empty();
    bool bad = false;
    i64 survivors = 0;  // every thread holds the same

    // ---- The read.
    i64 tile_no = a_begin * per_slab;  // the tiles in the walk's order (the played and L∞ walks' segments)
    for (i64 a0 = a_begin; a0 < a_end; ++a0) {
      slab_extrema_clear(a, sh);
      i64 count = 0;  // the slab's candidates (every thread holds the same)
      for (i64 r0 = 0; r0 < slab; r0 += tile) {
        const i64 cnt = slab - r0 < tile ? slab - r0 : tile, s0 = a0 * slab + r0;
        const i64 this_tile = tile_no;
        if (sigma_given) stage_sigma(a, sh, g, s0, cnt);
        stage(sh, x, V, s0, cnt);
        Acc2 tile_w{inf(), -inf()};
        for (i64 q = tid; q < cnt; q += blockDim.x) {
          const auto value = [&](int v, i64) { return sh.staged[v * sh.stride + q]; };
          const i64 s = s0 + q;
          const double w = detail::welfare_at<double>(n, p.welfare, value, 0, s);
          const double wh = detail::welfare_at<double>(n, p.welfare, value, n, s);
          tile_w = MinMaxOp()(tile_w, Acc2{w, w});
          we.add(w, wh, s);
          const T y0 = static_cast<T>(sh.staged[q]);
          ext0_lo[r0 + q] = y0 < ext0_lo[r0 + q] ? y0 : ext0_lo[r0 + q];
          ext0_hi[r0 + q] = y0 > ext0_hi[r0 + q] ? y0 : ext0_hi[r0 + q];
        }
        if (G.segments > 0) {  // played: the tile's welfare extrema into its segment's
          tile_w = team.reduce(tile_w, MinMaxOp());
          const i64 j = tile_no / G.tiles_per_segment;
          if (tid == 0) {
            sh.seg[j] = tile_w.a < sh.seg[j] ? tile_w.a : sh.seg[j];
            sh.seg[G.segments + j] = tile_w.b > sh.seg[G.segments + j] ? tile_w.b : sh.seg[G.segments + j];
          }
        }
        ++tile_no;
        slab_extrema_tile(a, sh, r0, cnt);
        gram_tile(a, sh, cnt, false, bad, 0, read_end);
        // The last player's fibers: its exact test, the passing outcomes appended in order.
        const double* y = sh.staged + (n - 1) * sh.stride;
        const i64 fibers = cnt / last;
        const auto fiber_extrema = [y, last](i64 f, double& lo, double& hi) {  // fiber f of the tile
          lo = inf();
          hi = -inf();
          for (i64 j = 0; j < last; ++j) {
            const double v = y[f * last + j];
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
          }
        };
        i64 mine = 0;
        for (i64 f = tid; f < fibers; f += blockDim.x) {
          double lo, hi;
          fiber_extrema(f, lo, hi);
          for (i64 j = 0; j < last; ++j) mine += ne_bits_for(p, n - 1, y[f * last + j], lo, hi) != 0u;
        }
        count = append_in_order(warp_count, count, mine, [&](i64 at) {
          for (i64 f = tid; f < fibers; f += blockDim.x) {
            double lo, hi;
            fiber_extrema(f, lo, hi);
            for (i64 j = 0; j < last; ++j) {
              const unsigned bits = ne_bits_for(p, n - 1, y[f * last + j], lo, hi);
              if (!bits) continue;
              if (at < G.candidate_capacity) sh.cand[at] = ((s0 + f * last + j) << 2) | static_cast<i64>(bits);
              ++at;
            }
          }
        });
        if (linf_bounds) {  // the tile's L∞ bounds, into its segment's record (written at the segment's end;
                            // append_in_order ended with a barrier)
          if (this_tile == a_begin * per_slab) linf_provisional(a, sh, cl, cnt);
          linf_record_tile(a, sh, cnt);
          if ((this_tile + 1) % tps == 0 || this_tile + 1 == a_end * per_slab) {
            for (i64 e = tid; e < rv; e += blockDim.x) {  // (rounded up: each stays an upper bound)
              records.store(this_tile / tps * rv + e, bound_half_up(sh.lwork[e]));
              sh.lwork[e] = -inf();
            }
          }
        }
      }
      // The slab's candidates: players 1 .. n−2 against the slab's extrema, the others dropped.
      if (count > G.candidate_capacity) {
        if (tid == 0) flags_sh[1] = 1;
      } else if (survivors <= G.survivor_capacity) {
        i64 mine = 0;
        for (i64 c = tid; c < count; c += blockDim.x) {
          const i64 s = sh.cand[c] >> 2, r = s - a0 * slab;
          unsigned bits = static_cast<unsigned>(sh.cand[c] & 3);
          for (int i = 1; i + 1 < n && bits; ++i) {
            const i64 fibers = slab / p.k[i], f = slab_fiber(p, i, r);
            const T* e = sh.ext + G.fiber_base[i];
            bits &= ne_bits_for(p, i, x(i, s), static_cast<double>(e[f]), static_cast<double>(e[fibers + f]));
          }
          sh.cand[c] = (s << 2) | static_cast<i64>(bits);
          mine += bits != 0u;
        }
        survivors = append_in_order(warp_count, survivors, mine, [&](i64 at) {
          for (i64 c = tid; c < count; c += blockDim.x) {
            if ((sh.cand[c] & 3) == 0) continue;
            if (at < G.survivor_capacity) surv.store(at, sh.cand[c]);
            ++at;
          }
        });
      }
      __syncthreads();
    }
    if (survivors > G.survivor_capacity && tid == 0) flags_sh[1] = 1;
    bad = __syncthreads_or(bad) != 0;
    we = team.reduce(we, WelfareOp());
    gram_merge(a, sh, 0, read_end);  // ends with a barrier
    bool overflow = flags_sh[1] != 0;
    GameArrays A = game_arrays_at(sh.state, n);
    double* const norms = reinterpret_cast<double*>(smem + G.norms_at);

    // ---- A cluster's parts: its first block merges the others' (their accumulators, player 0's
    // fiber extrema, the segments' welfare extrema, the welfare extrema and flags, in block order),
    // and takes their lists of survivors (in global scratch) after its own, in block order.
    if (B > 1) {
      if (tid == 0) {
        st.we = we;
        st.survivors = survivors;
        st.bad = bad;
        st.overflow = overflow;
      }
      cl.sync();  // every block's part complete
      if (rank == 0) {
        i64 total = 0;
        for (int b = 0; b < B; ++b) {
          const SweepBlockState& o = *cl.at(&st, static_cast<unsigned>(b));
          if (b > 0) {
            we = WelfareOp()(we, o.we);
            bad = bad || o.bad != 0;
            overflow = overflow || o.overflow != 0;
          }
          if (tid == 0) st.first[b] = total;
          total += o.survivors;
        }
        survivors = total;
        for (int e = tid; e < read_end; e += static_cast<int>(blockDim.x)) {
          for (int b = 1; b < B; ++b) acc_fold(sh.acc + 4 * e, cl.at(sh.acc, static_cast<unsigned>(b)) + 4 * e);
        }
        for (i64 r = tid; r < slab; r += blockDim.x) {
          for (int b = 1; b < B; ++b) {
            const T lo = cl.at(ext0_lo, static_cast<unsigned>(b))[r], hi = cl.at(ext0_hi, static_cast<unsigned>(b))[r];
            ext0_lo[r] = lo < ext0_lo[r] ? lo : ext0_lo[r];
            ext0_hi[r] = hi > ext0_hi[r] ? hi : ext0_hi[r];
          }
        }
        for (i64 j = tid; j < G.segments; j += blockDim.x) {
          for (int b = 1; b < B; ++b) {
            const double* o = cl.at(sh.seg, static_cast<unsigned>(b));
            sh.seg[j] = o[j] < sh.seg[j] ? o[j] : sh.seg[j];
            sh.seg[G.segments + j] =
                o[G.segments + j] > sh.seg[G.segments + j] ? o[G.segments + j] : sh.seg[G.segments + j];
          }
        }
        if (tid == 0) {  // the game's, for the other blocks' walks
          st.game_bad = bad;
          st.game_overflow = overflow;
        }
        __syncthreads();
      }
    } else if (tid == 0) {
      st.first[0] = 0;
    }
    // L∞: the shifts and magnitudes (as the tiled path's stats), for the walk.
    if (kLinf && rank == 0 && tid < V) {
      const double* Q = sh.acc + 4 * (G.pairs + tid);
      const double lo = Q[2], hi = Q[3];
      const double sum = detail::dd_value(DoubleDouble{Q[0], Q[1]}) + sh.pivot[tid] * static_cast<double>(N);
      A.lo[tid] = lo;
      A.hi[tid] = hi;
      A.shift[tid] = detail::shift_of(p.standardisation, sum, N, lo, hi);
      A.mag[tid] = detail::magnitude_of(p.standardisation, 0.0, lo, hi);  // (no centred squares)
      A.inv[tid] = detail::inverse_magnitude_of(A.mag[tid]);
    }
    cl.sync();        // the first block has read every part; the shifts and magnitudes are known
    if (rank != 0) {  // the game's flags, for the walks dealt to the cluster
      bad = cl.at(&st, 0u)->game_bad != 0;
      overflow = cl.at(&st, 0u)->game_overflow != 0;
    }
    if (kLinf) {
      // The L∞ walk over the block's slabs, each block of a cluster with the first's shifts and
      // magnitudes; the first takes the maxima of them all.
      if (rank != 0) {
        const GameArrays F = game_arrays_at(cl.at(sh.state, 0u), n);
        if (tid < V) {
          A.shift[tid] = F.shift[tid];
          A.mag[tid] = F.mag[tid];
          A.inv[tid] = F.inv[tid];
        }
        __syncthreads();
      }
      const int items = G.linf_items;
      if (linf_bounds && !bad) {  // the segments that may hold a maximum (the bounds above)
        const i64 j_begin = a_begin * per_slab / tps, j_end = (a_end * per_slab - 1) / tps + 1;
        const bool ok = linf_rows_affine(a, sh, A);
        for (int q = tid; q < items; q += static_cast<int>(blockDim.x)) norms[q] = 0.0;
        linf_first_segments(a, sh, cl, records, j_begin, j_end, ok);
        linf_norms(a, sh, x, A, norms, items, a_begin, a_end, sh.lwalk);
        double* const best = sh.lwork + 4 * (2 * n + 2);  // (the rows' terms kept)
        linf_game_best(cl, norms, best, items);
        linf_second_segments(a, sh, records, best, j_begin, j_end, ok);
        linf_norms(a, sh, x, A, norms, items, a_begin, a_end, sh.lwalk);
      } else if (!bad) {
        linf_norms(a, sh, x, A, norms, items, a_begin, a_end);
      }
      if (B > 1) {
        cl.sync();  // every block's maxima
        if (rank == 0 && !bad) {
          for (int q = tid; q < items; q += static_cast<int>(blockDim.x)) {
            for (int b = 1; b < B; ++b)
              norms[q] = detail::LInfNorm::combine(norms[q], cl.at(norms, static_cast<unsigned>(b))[q]);
          }
        }
        cl.sync();  // the first block has read them
      }
    }
    // A list overflowed: the second walk for the equilibria is dealt to the cluster (below); so is
    // the played walk. The rest is the first block's.
    const bool dealt_walk = B > 1 && overflow && !bad;
    const bool dealt_played = B > 1 && kind == StrategyKind::played && !bad;
    if (rank != 0 && !dealt_walk && !dealt_played) continue;
    if (rank != 0 && dealt_walk) {  // player 0's fiber extrema of the whole game, as the first block merged them
      for (i64 r = tid; r < slab; r += blockDim.x) {
        ext0_lo[r] = cl.at(ext0_lo, 0u)[r];
        ext0_hi[r] = cl.at(ext0_hi, 0u)[r];
      }
    }

    // ---- Payoffs where an unscaled product could overflow, or ranges where one could underflow
    // (the bounds of the CPU's fused path): the Gram matrix summed again with scaled deviations.
    if (tid == 0 && rank == 0 && !bad && !kLinf) {  // (L∞: no Gram matrix)
      constexpr double kBig = 1e100, kTiny = 1e-100;
      int rescale = 0;
      for (int e = 0; e < gram_end; ++e) {
        if (!finite(sh.acc[4 * e]) || !finite(sh.acc[4 * e + 1])) rescale = 1;
      }
      for (int v = 0; v < V; ++v) {
        const double lo = sh.acc[4 * (G.pairs + v) + 2], hi = sh.acc[4 * (G.pairs + v) + 3];
        if (fabs(lo) > kBig || fabs(hi) > kBig || fabs(sh.pivot[v]) > kBig) rescale = 1;
        if (lo != hi && !(hi - lo >= kTiny)) rescale = 1;
      }
      if (rescale) {
        for (int v = 0; v < V; ++v) {
          const double lo = sh.acc[4 * (G.pairs + v) + 2], hi = sh.acc[4 * (G.pairs + v) + 3];
          const double span = fmax(hi - sh.pivot[v], sh.pivot[v] - lo);
          int ex = 0;
          const bool split = !finite(span);
          if (split) {
            frexp(fmax(fmax(fabs(lo), fabs(hi)), fabs(sh.pivot[v])), &ex);
            ex += 1;
          } else if (span > 0.0) {
            frexp(span, &ex);
          }
          sh.scale[v] = ldexp(1.0, -ex);
          sh.split[v] = split ? 1.0 : 0.0;
          // The unscaled extrema, kept for the finishing step.
          sh.state[v] = lo;
          sh.state[V + v] = hi;
        }
      }
      flags_sh[0] = rescale;
    }
    __syncthreads();
    if (rank == 0 && flags_sh[0]) {  // (the sums over σ are kept: Σ σ·u needs no scaling)
      gram_clear(a, sh, gram_end);
      __syncthreads();
      bool ignored = false;
      for (i64 s0 = 0; s0 < N; s0 += tile) {
        const i64 cnt = N - s0 < tile ? N - s0 : tile;
        stage(sh, x, V, s0, cnt);
        gram_tile(a, sh, cnt, true, ignored, 0, gram_end);
        __syncthreads();
      }
      gram_merge(a, sh, 0, gram_end);
      if (tid < V) {  // the extrema the scaled pass's min/max slots recorded are the same values
        sh.acc[4 * (G.pairs + tid) + 2] = sh.state[tid];
        sh.acc[4 * (G.pairs + tid) + 3] = sh.state[V + tid];
      }
      __syncthreads();
    }

    // ---- The equilibria.
    NeExt ne = ne_empty();
    double* su_parts = sh.staged + n * sh.stride;  // [V][blockDim.x]: each thread's sums over the strategy's set
    for (int v = 0; v < V; ++v) su_parts[v * blockDim.x + tid] = 0.0;
    const auto tally = [&](i64 s, unsigned m) {
      const auto at = [&](int v, i64 t) { return x(v, t); };
      const double w = detail::welfare_at<double>(n, p.welfare, at, 0, s);
      ne.add(m, w, s);
      if ((m & 1u) && p.list_equilibria) {  // threads may share a word: an atomic OR, whatever the order
        atomic_or_bits<Mem::output>(a.out.ne_bits.get() + g * a.out.ne_words + s / 32, 1u << (s & 31));
      }
      if (m & sum_bits) {
        for (int v = 0; v < V; ++v) su_parts[v * blockDim.x + tid] += x(v, s);
      }
    };
    if (!bad && !overflow && rank == 0) {
      for (i64 c = tid; c < survivors; c += blockDim.x) {
        int b = 0;  // whose list
        while (b + 1 < B && c >= st.first[b + 1]) ++b;
        const i64 code = list_of(b)[c - st.first[b]];
        const i64 s = code >> 2, r = s % slab;
        const unsigned m = static_cast<unsigned>(code & 3) &
                           ne_bits_for(p, 0, x(0, s), static_cast<double>(ext0_lo[r]), static_cast<double>(ext0_hi[r]));
        if (m) tally(s, m);
      }
    } else if (!bad && overflow) {
      // A list overflowed: every outcome tested, slab by slab (each slab's agents read twice:
      // players 1 .. n−2's extrema, then the tests; player 0's extrema are complete); in a cluster
      // each block its own slabs.
      for (i64 a0 = a_begin; a0 < a_end; ++a0) {
        __syncthreads();
        slab_extrema_clear(a, sh);
        for (i64 r0 = 0; r0 < slab && n > 2; r0 += tile) {
          const i64 cnt = slab - r0 < tile ? slab - r0 : tile;
          stage(sh, x, n, a0 * slab + r0, cnt);
          slab_extrema_tile(a, sh, r0, cnt);
          __syncthreads();
        }
        for (i64 r0 = 0; r0 < slab; r0 += tile) {
          const i64 cnt = slab - r0 < tile ? slab - r0 : tile, s0 = a0 * slab + r0;
          __syncthreads();
          stage(sh, x, n, s0, cnt);
          const double* y = sh.staged;
          const i64 fibers = cnt / last;
          for (i64 f = tid; f < fibers; f += blockDim.x) {
            double lo = inf(), hi = -inf();
            const double* yl = y + (n - 1) * sh.stride + f * last;
            for (i64 j = 0; j < last; ++j) {
              lo = yl[j] < lo ? yl[j] : lo;
              hi = yl[j] > hi ? yl[j] : hi;
            }
            for (i64 j = 0; j < last; ++j) {
              const i64 q = f * last + j, r = r0 + q, s = s0 + q;
              unsigned m = ne_bits_for(p, n - 1, yl[j], lo, hi);
              for (int i = 1; i + 1 < n && m; ++i) {
                const i64 fs = slab / p.k[i], fi = slab_fiber(p, i, r);
                const T* e = sh.ext + G.fiber_base[i];
                m &= ne_bits_for(p, i, y[i * sh.stride + q], static_cast<double>(e[fi]),
                                 static_cast<double>(e[fs + fi]));
              }
              if (m) m &= ne_bits_for(p, 0, y[q], static_cast<double>(ext0_lo[r]), static_cast<double>(ext0_hi[r]));
              if (m) tally(s, m);
            }
          }
        }
      }
    }
    ne = team.reduce(ne, NeOp());  // ends with a barrier: su_parts complete
    if (dealt_walk) {              // the first block takes the others' equilibria and sums, in block order
      if (tid == 0) st.ne = ne;
      cl.sync();  // every block's walk done
      if (rank == 0) {
        for (int b = 1; b < B; ++b) {
          ne = NeOp()(ne, cl.at(&st, static_cast<unsigned>(b))->ne);
          const double* o = cl.at(su_parts, static_cast<unsigned>(b));
          for (int j = tid; j < V * static_cast<int>(blockDim.x); j += static_cast<int>(blockDim.x))
            su_parts[j] += o[j];
        }
      }
      cl.sync();  // the first block has read them
      if (rank != 0 && !dealt_played) continue;
    }

    // ---- The played set P(IC, CC) (docs/MATH.md §4.4), its window known now: a second walk over
    // the agents' utilities (their welfare), the principals' read at P's outcomes only; the sums
    // over P made by the accumulators of the sums over σ (σ: P's indicator), the outcomes outside P
    // giving the closest one (the fallback), as the CPU's pass_strategy. The walk skips the
    // segments whose welfare extrema (from the read) leave no outcome in the window; where P is
    // empty, it walks again over every tile for the fallback's closest outcome. In a cluster each
    // block walks its own slabs' tiles (against its own segments) with the first block's window,
    // the blocks agree on the second pass from their counts, and the first folds their sums and
    // counts in block order.
    PlayedExt pe{0, arg_empty()};
    bool walk_played = kind == StrategyKind::played && !bad && ne.ne > 0 && ne.eps > 0;
    double lo = 0.0, hi = 0.0;
    if (walk_played)
      detail::played_window(p.cc, we.w_max.value, ne.worst_ne.value, ne.worst_eps.value, p.cc_window, &lo, &hi);
    if (dealt_played) {
      if (rank == 0 && tid == 0) {
        st.played_go = walk_played;
        st.played_window[0] = lo;
        st.played_window[1] = hi;
      }
      cl.sync();  // the first block's window
      const SweepBlockState& f = *cl.at(&st, 0u);
      walk_played = f.played_go != 0;
      lo = f.played_window[0];
      hi = f.played_window[1];
    }
    if (walk_played) {
      const double tol = p.played_tolerance, mid = (lo + hi) / 2;
      const i64 per_slab = (slab + tile - 1) / tile;
      bool ignored = false;
      for (int every = 0; every < 2; ++every) {
        i64 walked = 0;
        for (i64 t = a_begin * per_slab; t < a_end * per_slab; ++t) {
          const i64 j = t / G.tiles_per_segment;
          if (!every && !(sh.seg[G.segments + j] > lo - tol && sh.seg[j] < hi + tol)) continue;
          ++walked;
          const i64 a0 = t / per_slab, r0 = (t % per_slab) * tile;
          const i64 cnt = slab - r0 < tile ? slab - r0 : tile, s0 = a0 * slab + r0;
          __syncthreads();
          stage(sh, x, n, s0, cnt);
          for (i64 q = tid; q < cnt; q += blockDim.x) {
            const auto value = [&](int v, i64) { return sh.staged[v * sh.stride + q]; };
            const i64 s = s0 + q;
            const double w = detail::welfare_at<double>(n, p.welfare, value, 0, s);
            const bool in = lo - tol < w && w < hi + tol;
            if (in) {
              ++pe.count;
              for (int v = n; v < V; ++v) sh.staged[v * sh.stride + q] = x(v, s);
            } else {
              pe.closest = arg_min(pe.closest, ArgExt{fabs(w - mid), s});
            }
            sh.sigma[q] = in ? 1.0 : 0.0;
          }
          __syncthreads();
          gram_tile(a, sh, cnt, false, ignored, gram_end, sums_end);
        }
        pe = team.reduce(pe, PlayedOp());
        i64 in_p = pe.count, all_walked = walked;
        if (B > 1) {  // the cluster's counts
          if (tid == 0) {
            st.played_count[every] = pe.count;
            st.played_walked[every] = walked;
          }
          cl.sync();  // every block's pass
          in_p = all_walked = 0;
          for (int b = 0; b < B; ++b) {
            const SweepBlockState& o = *cl.at(&st, static_cast<unsigned>(b));
            in_p += o.played_count[every];
            all_walked += o.played_walked[every];
          }
        }
        if (in_p > 0 || every || all_walked == k0 * per_slab) break;
        pe = PlayedExt{0, arg_empty()};  // P empty: nothing summed
      }
      gram_merge(a, sh, gram_end, sums_end);  // ends with a barrier
      if (B > 1) {
        if (tid == 0) st.pe = pe;
        cl.sync();  // every block's sums
        if (rank == 0) {
          for (int b = 1; b < B; ++b) pe = PlayedOp()(pe, cl.at(&st, static_cast<unsigned>(b))->pe);
          for (int e = gram_end + tid; e < sums_end; e += static_cast<int>(blockDim.x)) {
            for (int b = 1; b < B; ++b) acc_fold(sh.acc + 4 * e, cl.at(sh.acc, static_cast<unsigned>(b)) + 4 * e);
          }
        }
        cl.sync();  // the first block has read them
      }
    }
    if (rank != 0) continue;

    // ---- Finishing (thread 0).
    if (tid == 0) {
      S = summary_empty();
      we.to_summary(S);
      ne.to_summary(S);
      S.played_count = pe.count, S.closest = pe.closest;
    }
    if (bad) {
      if (tid == 0) write_nonfinite_game(p, a.out, g);
      __syncthreads();
      continue;
    }
    // The sums over the strategy's set, each vector's in thread order; or over σ, from the
    // accumulators.
    if (tid < V) {
      double t = 0.0;
      if (G.sums > 0) {
        const double* Q = sh.acc + 4 * (gram_end + tid);
        t = detail::dd_value(DoubleDouble{Q[0], Q[1]});
      }
      for (int j = 0; j < static_cast<int>(blockDim.x) && G.sums == 0; ++j) t += su_parts[tid * blockDim.x + j];
      if (tid < n) {
        A.su[tid] = t;
      } else {
        A.suh[tid - n] = t;
      }
    }
    // The centred Gram matrix.
    const double count = static_cast<double>(N);
    for (int e = tid; e < G.pairs; e += static_cast<int>(blockDim.x)) {
      int u = 0, v = 0;
      pair_of(e, V, u, v);
      const DoubleDouble pr{sh.acc[4 * e], sh.acc[4 * e + 1]};
      const DoubleDouble su{sh.acc[4 * (G.pairs + u)], sh.acc[4 * (G.pairs + u) + 1]};
      const DoubleDouble sv{sh.acc[4 * (G.pairs + v)], sh.acc[4 * (G.pairs + v) + 1]};
      sh.gram[e] = detail::centred_product(pr, su, sv, count);
    }
    __syncthreads();
    if (kLinf) {  // IA, CA and the distance matrix from the walk's maxima
      if (tid == 0) {
        linf_finish<T>(a, A, norms, S, g);
        const detail::GameArrays D{A.lo, A.hi, A.shift, A.mag, A.ia, A.su, A.suh};
        finish_game(p, a.out, g, S, D, x);
      }
      __syncthreads();
      continue;
    }
    if (tid == 0) {
      const auto gram = [&](int u, int v) { return sh.gram[entry_of(u, v, V)]; };
      for (int v = 0; v < V; ++v) {
        const double* Q = sh.acc + 4 * (G.pairs + v);
        A.lo[v] = Q[2];
        A.hi[v] = Q[3];
        const double unscale = 1.0 / sh.scale[v];  // a power of two
        DoubleDouble mean = detail::dd_div(DoubleDouble{Q[0], Q[1]}, count);
        mean = DoubleDouble{mean.hi * unscale, mean.lo * unscale};
        A.shift[v] =
            A.lo[v] == A.hi[v] ? A.lo[v] : detail::dd_value(detail::dd_add(DoubleDouble{sh.pivot[v], 0.0}, mean));
        const double css = detail::centred_sum_squares(gram(v, v)) * unscale * unscale;
        A.mag[v] = detail::magnitude_of(p.standardisation, css, A.lo[v], A.hi[v]);
        A.inv[v] = detail::inverse_magnitude_of(A.mag[v]) * unscale;
      }
      for (int i = 0; i < n; ++i) {
        A.ia[i] =
            detail::ia_from_norm(detail::gram_difference_norm(gram, i, n + i, A.inv[i], A.inv[n + i]), p.constants);
      }
      const double inv_weight_a = detail::inverse_magnitude_of(detail::ca_weight<double>(n, A.mag));
      const double inv_weight_p = detail::inverse_magnitude_of(detail::ca_weight<double>(n, A.mag + n));
      S.ca_agents = detail::collective_alignment<double>(n, A.mag, [&](int i) {
        return detail::gram_ca_norm_of(gram, n, vector_index, i, A.mag, A.inv, inv_weight_a);
      });
      S.ca_principals = detail::collective_alignment<double>(n, A.mag + n, [&](int i) {
        return detail::gram_ca_norm_of(gram, n, vector_index + n, i, A.mag + n, A.inv + n, inv_weight_p);
      });
      if (p.distance_matrix) {
        const i64 at0 = g * V * V;
        for (int u = 0; u < V; ++u) {
          a.out.distance_matrix.store(at0 + u * V + u, 0.0);
          for (int v = u + 1; v < V; ++v) {
            const double dist =
                detail::distance_from_norm(detail::gram_difference_norm(gram, u, v, A.inv[u], A.inv[v]), p.constants);
            a.out.distance_matrix.store(at0 + u * V + v, dist);
            a.out.distance_matrix.store(at0 + v * V + u, dist);
          }
        }
      }
      const detail::GameArrays D{A.lo, A.hi, A.shift, A.mag, A.ia, A.su, A.suh};
      finish_game(p, a.out, g, S, D, x);
    }
    __syncthreads();
  }
  // A block's shared memory is gone once it exits: the others may still read the first block's
  // flags of the last game (and it theirs), so no block of a cluster exits before all are done.
  if (B > 1) cl.sync();
}

/// EPIC: distances from the Gram matrix.
template <class T>
__global__ void __launch_bounds__(kStThreads, 1) sweep_kernel(StArgs a) {
  sweep_games<T, false>(a);
}

/// MAX, MAX-range: distances in the L∞ norm, by a second walk (sweep_linf).
template <class T>
__global__ void __launch_bounds__(kStThreads, 1) sweep_linf_kernel(StArgs a) {
  sweep_games<T, true>(a);
}

/// One launch of the sweep kernel `kernel` (EPIC's or L∞'s) over the chunk's games: a cluster of
/// geo.cluster blocks per game where it is more than one and the device can place one (else one
/// block per game, sweep_alone).
template <class Kernel>
void launch_with(Kernel kernel, SweepGeometry geo, StArgs a, cudaStream_t stream) {
  DGEVAL_CUDA_CHECK(
      cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(geo.shared_bytes)));
  if (geo.cluster > 1 && DGEVAL_MAX_ACTIVE_CLUSTERS(kernel, static_cast<unsigned>(geo.threads),
                                                    static_cast<unsigned>(geo.cluster), geo.shared_bytes) < 1) {
    geo = sweep_alone(geo, a.p.k[0], a.p.k[a.p.n - 1]);
    a.geo = geo;
  }
  const i64 clusters = geo.grid / geo.cluster < a.in.games ? geo.grid / geo.cluster : a.in.games;
  const unsigned grid = static_cast<unsigned>(clusters * geo.cluster);
  if (geo.cluster > 1) {
    DGEVAL_LAUNCH_CLUSTER(kernel, dim3(grid), dim3(static_cast<unsigned>(geo.threads)),
                          static_cast<unsigned>(geo.cluster), geo.shared_bytes, stream)
    (a);
  } else {
    DGEVAL_LAUNCH(kernel, grid, static_cast<unsigned>(geo.threads), geo.shared_bytes, stream)
    (a);
  }
  DGEVAL_CUDA_CHECK_LAUNCH();
}

template <class T>
void launch_all(const SweepGeometry& geo, const EvalParams& p, const DeviceInput& in, const DeviceOutputs& out,
                char* scratch, cudaStream_t stream) {
  StArgs a;
  a.p = p;
  a.in = in;
  a.out = out;
  a.geo = geo;
  a.survivors = reinterpret_cast<i64*>(scratch);
  a.linf_records = reinterpret_cast<std::uint16_t*>(scratch + sweep_lists_bytes(geo));
  if (geo.linf) {
    launch_with(sweep_linf_kernel<T>, geo, a, stream);
  } else {
    launch_with(sweep_kernel<T>, geo, a, stream);
  }
}

}  // namespace
}  // namespace dev

void launch_sweep_evaluate(const SweepGeometry& geo, const EvalParams& p, const DeviceInput& in,
                           const DeviceOutputs& out, char* scratch, cudaStream_t stream) {
  if (in.games <= 0) return;
  detail::visit_dtype(in.float32, [&](auto t) { dev::launch_all<decltype(t)>(geo, p, in, out, scratch, stream); });
}

cudaError_t sweep_occupancy(bool float32, bool linf, int threads, std::size_t shared, int* registers, int* blocks) {
#ifdef DGEVAL_CUDA_EMULATION
  (void)float32;
  (void)linf;
  (void)threads;
  (void)shared;
  (void)registers;
  (void)blocks;
  return cudaErrorInvalidValue;
#else
  const void* kernel = nullptr;
  if (float32) {
    kernel = linf ? reinterpret_cast<const void*>(dev::sweep_linf_kernel<float>)
                  : reinterpret_cast<const void*>(dev::sweep_kernel<float>);
  } else {
    kernel = linf ? reinterpret_cast<const void*>(dev::sweep_linf_kernel<double>)
                  : reinterpret_cast<const void*>(dev::sweep_kernel<double>);
  }
  cudaError_t e = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(shared));
  cudaFuncAttributes attributes;
  if (e == cudaSuccess) e = cudaFuncGetAttributes(&attributes, kernel);
  if (e == cudaSuccess) *registers = attributes.numRegs;
  if (e == cudaSuccess) e = cudaOccupancyMaxActiveBlocksPerMultiprocessor(blocks, kernel, threads, shared);
  return e;
#endif
}

}  // namespace cuda
}  // namespace dgeval
