// The two-player path: a large 2-player game from ONE streaming read of its outcomes, the device
// form of the CPU backend's fused path (backends/cpu/fused_two_player.hpp), with the same shared
// definitions: the double-double centred Gram matrix of detail/gram.hpp for IA, CA and the
// distance matrix, the thresholds and predicate of detail/measures.hpp for the equilibria, and
// detail/finish.hpp for every result column. Outcome s = r·k₁ + j: row r is player 1's action,
// column j player 2's. Planning: host/backends/cuda/two_player_plan.hpp.
//
// Three launches per pass of games (grid.y: the pass's games). A block owns a run of rows and a
// tile of columns: the whole row (one tile) unless a row's three rows of values do not fit in
// shared memory (float64 rows beyond about 9,400 outcomes, float32 beyond 18,900), when the row is
// split into tiles of equal width.
//   stream   (blocks x games) block b reads its run of rows of its tile once. Thread t owns the
//            tile's columns j ≡ t (mod threads) of every row. Per block: each vector's min and max
//            and the double-double sums of its deviations from its pivot (its first value), the 10
//            double-double cross-products (detail/gram.hpp), the welfare extrema (first index),
//            and a flag for any non-finite value. Each row's player-2 values are kept in shared
//            memory; the row's min and max (a block reduction) give player 2's thresholds, and the
//            outcomes passing them are the row's candidates, appended to the block's list in a
//            fixed order (thread by thread, a warp prefix sum by xor shuffles) up to its capacity.
//            With several tiles, a tile's min and max of each row go to scratch, and the tile's
//            Nash threshold (no higher than the row's) picks a superset of the candidates; with
//            IC₂ < 1 (no such bound on the ε-threshold) the block records none. Player 1's running
//            column extrema stay in shared memory and are merged at the end into the game's column
//            extrema with 64-bit atomicMin/atomicMax on an order-preserving key (min and max are
//            exact: the order of the merges does not matter). With the NE list asked for, each
//            block also clears its share of the game's bitmask words.
//   recheck  (blocks x games) block b re-checks its candidates against player 1's column
//            thresholds (and, with several tiles, player 2's row thresholds merged from the
//            tiles'), reading the input only at the candidates, and reduces the NE and ε-NE
//            counts, extrema and the sums over the strategy's set; each pure NE sets its bit in the
//            bitmask with a 32-bit atomicOr (no selection pass: the words are written once by the
//            stream kernel, and only the equilibria's again). A block whose list overflowed (ties,
//            or IC below 1 where many outcomes pass player 2's ε-test) reads its rows' player-2
//            values again instead: only such games read more than their input once.
//   finish   (games) merges the blocks' partials in block order (the results do not depend on
//            scheduling), forms the centred Gram matrix, IA, CA and the distance matrix, and
//            finishes the game with detail/finish.hpp as every path does. A game whose payoffs lie
//            beyond ±1e100, or with a vector whose range is below 1e-100 (where the unscaled
//            products could overflow or underflow; the CPU's fused path hands such games to its
//            multi-pass path), is summed again here, with each vector's deviations scaled by a power
//            of two: a second read, for such games only.
#include "backends/cuda/cuda_check.hpp"
#include "backends/cuda/two_player_plan.hpp"
#include "device_common.cuh"
#include "dgeval/detail/alignment.hpp"
#include "dgeval/detail/dtype.hpp"
#include "dgeval/detail/gram.hpp"

namespace dgeval {
namespace cuda {
namespace dev {
namespace {

#ifndef DGEVAL_TWO_PLAYER_THREADS
#define DGEVAL_TWO_PLAYER_THREADS 384  // kTwoPlayerThreads; the CPU emulation of the tests uses fewer
#endif
constexpr int kTpThreads = DGEVAL_TWO_PLAYER_THREADS;
/// The finishing kernel's threads (one game per block; thread 0 finishes, the block sums again).
constexpr int kTpFinishThreads = kTpThreads < 128 ? kTpThreads : 128;

using detail::DoubleDouble;
using ULL = unsigned long long;

// Vectors: 0 u₁, 1 u₂, 2 û₁, 3 û₂. The cross-products: the squares, IA's pairs, CA's pairs, the
// distance matrix's other two (as the CPU's fused path).
__device__ __forceinline__ int pair_u(int e) {
  constexpr int u[10] = {0, 1, 2, 3, 0, 1, 0, 2, 0, 1};
  return u[e];
}
__device__ __forceinline__ int pair_v(int e) {
  constexpr int v[10] = {0, 1, 2, 3, 2, 3, 1, 3, 3, 2};
  return v[e];
}
/// The entry of (u, v), u ≤ v.
__device__ __forceinline__ int pair_index(int u, int v) {
  for (int e = 0; e < 10; ++e) {
    if ((pair_u(e) == u && pair_v(e) == v) || (pair_u(e) == v && pair_v(e) == u)) return e;
  }
  return -1;
}

struct TpArgs {
  EvalParams p;
  DeviceInput in;
  DeviceOutputs out;
  i64 first_game;  ///< chunk-local index of the pass's game 0
  i64 k0, k1, rows_per_block, blocks, capacity;
  i64 tile_cols, col_tiles;  ///< a block's columns: tile b % col_tiles; its rows: run b / col_tiles
  i64 row_stride;            ///< values of T per shared-memory row
  ULL* colext;               ///< [2][games_per_pass][k1]: the column min keys of every game, then the max keys
  i64 max_keys;              ///< offset of the max keys (games_per_pass·k1)
  Global<Mem::scratch, double> stats;       ///< [games_per_pass][blocks][kTwoPlayerStatsWidth]
  Global<Mem::scratch, double> equilibria;  ///< [games_per_pass][blocks][kTwoPlayerEquilibriaWidth]
  Global<Mem::scratch, i64> candidates;     ///< [games_per_pass][blocks][capacity]: (s << 2) | player 2's bits
  /// [games_per_pass][col_tiles][k0][2]: each tile's min and max of player 2's values in each row
  /// (col_tiles > 1 only: the re-check merges them into the rows' thresholds).
  Global<Mem::scratch, double> row_extrema;
};

/// The columns [c0, c1) and rows [r0, r1) of block b.
struct TpBlock {
  i64 tile, c0, c1, r0, r1;
};
__device__ __forceinline__ TpBlock block_of(const TpArgs& a, i64 b) {
  TpBlock k;
  k.tile = b % a.col_tiles;
  k.c0 = k.tile * a.tile_cols;
  k.c1 = k.c0 + a.tile_cols < a.k1 ? k.c0 + a.tile_cols : a.k1;
  k.r0 = (b / a.col_tiles) * a.rows_per_block;
  k.r1 = k.r0 + a.rows_per_block < a.k0 ? k.r0 + a.rows_per_block : a.k0;
  return k;
}
static_assert(sizeof(TpArgs) <= 4096, "TpArgs must fit the kernel parameter space");

/// Order-preserving 64-bit key of a double (not NaN): a < b ⇔ key(a) < key(b).
__device__ __forceinline__ ULL order_key(double x) {
  const ULL b = static_cast<ULL>(__double_as_longlong(x));
  return (b >> 63) ? ~b : (b | (ULL{1} << 63));
}
__device__ __forceinline__ double from_order_key(ULL k) {
  const ULL b = (k >> 63) ? (k & ~(ULL{1} << 63)) : ~k;
  return __longlong_as_double(static_cast<long long>(b));
}

/// The game's four vectors.
template <class T>
struct Vectors {
  const T* v[4];
  __device__ double operator()(int q, i64 s) const { return static_cast<double>(load<Mem::input>(v[q] + s)); }
};
template <class T>
__device__ __forceinline__ Vectors<T> vectors_of(const TpArgs& a, i64 g) {
  const T* ag = static_cast<const T*>(a.in.agents) + g * 2 * a.p.N;
  const T* pr = static_cast<const T*>(a.in.principals) + g * 2 * a.p.N;
  return Vectors<T>{{ag, ag + a.p.N, pr, pr + a.p.N}};
}

// ---------------------------------------------------------------------------------------------
// Reduction payloads (at most kMaxPayload bytes each).

struct Dd4 {
  DoubleDouble d[4];
};
struct Dd4Op {
  __device__ Dd4 operator()(const Dd4& x, const Dd4& y) const {
    Dd4 r;
    for (int q = 0; q < 4; ++q) r.d[q] = detail::dd_add(x.d[q], y.d[q]);
    return r;
  }
};
struct LoHi4 {
  double lo[4], hi[4];
};
struct LoHi4Op {
  __device__ LoHi4 operator()(const LoHi4& x, const LoHi4& y) const {
    LoHi4 r;
    for (int q = 0; q < 4; ++q) {
      r.lo[q] = y.lo[q] < x.lo[q] ? y.lo[q] : x.lo[q];
      r.hi[q] = y.hi[q] > x.hi[q] ? y.hi[q] : x.hi[q];
    }
    return r;
  }
};
struct Sum4 {
  double s[4];
};
struct Sum4Op {
  __device__ Sum4 operator()(const Sum4& x, const Sum4& y) const {
    return Sum4{{x.s[0] + y.s[0], x.s[1] + y.s[1], x.s[2] + y.s[2], x.s[3] + y.s[3]}};
  }
};
struct RowExt {
  double lo, hi;
};
struct RowExtOp {
  __device__ RowExt operator()(const RowExt& x, const RowExt& y) const {
    return RowExt{y.lo < x.lo ? y.lo : x.lo, y.hi > x.hi ? y.hi : x.hi};
  }
};

/// The per-thread double-double sums of the deviations and of their cross-products.
struct GramSums {
  DoubleDouble sum[4], prod[10];
};
__device__ __forceinline__ void gram_clear(GramSums& A) {
  for (int q = 0; q < 4; ++q) A.sum[q] = detail::dd_zero<double>();
  for (int e = 0; e < 10; ++e) A.prod[e] = detail::dd_zero<double>();
}
/// Adds one outcome's deviations d (error-free per element: detail/gram.hpp).
__device__ __forceinline__ void gram_add(GramSums& A, const double* d) {
#pragma unroll
  for (int q = 0; q < 4; ++q) detail::dd_accumulate(A.sum[q], d[q]);
#pragma unroll
  for (int e = 0; e < 10; ++e) detail::dd_accumulate_product(A.prod[e], d[pair_u(e)], d[pair_v(e)]);
}
/// The block's sums, in a fixed tree (every thread gets them).
__device__ __forceinline__ void gram_reduce(const BlockTeam& team, GramSums& A) {
  Dd4 x = team.reduce(Dd4{{A.sum[0], A.sum[1], A.sum[2], A.sum[3]}}, Dd4Op());
  for (int q = 0; q < 4; ++q) A.sum[q] = x.d[q];
  for (int e0 = 0; e0 < 10; e0 += 4) {
    Dd4 y;
    for (int q = 0; q < 4; ++q) y.d[q] = e0 + q < 10 ? A.prod[e0 + q] : detail::dd_zero<double>();
    y = team.reduce(y, Dd4Op());
    for (int q = 0; q < 4 && e0 + q < 10; ++q) A.prod[e0 + q] = y.d[q];
  }
}

/// Player 2's thresholds of one row, and the row's min and max they come from.
struct RowThresholds {
  double ne, eps, lo, hi;
};
__device__ __forceinline__ RowThresholds thresholds_of(const EvalParams& p, const RowExt& e) {
  return RowThresholds{detail::ic_threshold(e.lo, e.hi, 1.0), detail::ic_threshold(e.lo, e.hi, p.ic[1]), e.lo, e.hi};
}
/// Player 2's thresholds of one row from its values over the block (every thread gets them).
__device__ __forceinline__ RowThresholds row_thresholds(const BlockTeam& team, const EvalParams& p, double lo,
                                                        double hi) {
  return thresholds_of(p, team.reduce(RowExt{lo, hi}, RowExtOp()));
}
/// Row r's min and max over its tiles (col_tiles > 1), from the streaming kernel's row_extrema.
__device__ __forceinline__ RowExt merged_row(const TpArgs& a, i64 slot, i64 r) {
  RowExt e{inf(), -inf()};
  for (i64 t = 0; t < a.col_tiles; ++t) {
    const i64 at = ((slot * a.col_tiles + t) * a.k0 + r) * 2;
    e = RowExtOp()(e, RowExt{a.row_extrema[at], a.row_extrema[at + 1]});
  }
  return e;
}

// ---------------------------------------------------------------------------------------------
// stream

template <class T>
__global__ void __launch_bounds__(kTpThreads) two_player_stream_kernel(TpArgs a) {
  DGEVAL_DYNAMIC_SHARED(smem);
  __shared__ __align__(16) unsigned char scratch[32 * kMaxPayload];
  __shared__ double pivot_sh[4];
  __shared__ i64 warp_count[32];
  const BlockTeam team{scratch};
  const EvalParams& p = a.p;
  const i64 slot = blockIdx.y, g = a.first_game + slot, b = blockIdx.x, k1 = a.k1;
  const TpBlock blk = block_of(a, b);
  const i64 r0 = blk.r0, r1 = blk.r1, c0 = blk.c0, width = blk.c1 - blk.c0;
  const Vectors<T> x = vectors_of<T>(a, g);
  T* row = reinterpret_cast<T*>(smem);
  T* col_lo = row + a.row_stride;
  T* col_hi = col_lo + a.row_stride;
  const int tid = static_cast<int>(threadIdx.x);
  if (tid < 4) pivot_sh[tid] = x(tid, 0);
  for (i64 c = tid; c < width; c += blockDim.x) {
    col_lo[c] = static_cast<T>(inf());
    col_hi[c] = static_cast<T>(-inf());
  }
  if (p.list_equilibria) {
    // The game's NE bitmask starts empty: each block clears its share of the words once (the
    // re-check sets the equilibria's bits).
    const Global<Mem::output, std::uint32_t> bits = a.out.ne_bits + g * a.out.ne_words;
    for (i64 w = a.out.ne_words * b / a.blocks + tid; w < a.out.ne_words * (b + 1) / a.blocks; w += blockDim.x)
      bits.store(w, 0u);
  }
  __syncthreads();
  double pivot[4];
  for (int q = 0; q < 4; ++q) pivot[q] = pivot_sh[q];
  GramSums A;
  gram_clear(A);
  LoHi4 ext;
  for (int q = 0; q < 4; ++q) ext.lo[q] = inf(), ext.hi[q] = -inf();
  WelfareExt we = welfare_empty();
  bool bad = false;
  const double tol = p.ne_tolerance;
  const Global<Mem::scratch, i64> cand = a.candidates + (slot * a.blocks + b) * a.capacity;
  // A row of several tiles: the tile's extrema give player 2's Nash test a threshold no higher
  // than the row's (an outcome passing the row's passes the tile's), so the candidates are those
  // of a superset the re-check narrows; its ε-test has no such bound (the row's minimum lowers the
  // threshold), so with IC₂ < 1 the block records none and the re-check reads its values again.
  const bool collect = a.col_tiles == 1 || p.ic[1] >= 1.0;
  i64 count = 0;  // the block's candidates so far (every thread holds the same)
  for (i64 r = r0; r < r1; ++r) {
    double rlo = inf(), rhi = -inf();
    for (i64 c = tid; c < width; c += blockDim.x) {
      const i64 s = r * k1 + c0 + c;
      const T t0 = load<Mem::input>(x.v[0] + s), t1 = load<Mem::input>(x.v[1] + s);
      const T t2 = load<Mem::input>(x.v[2] + s), t3 = load<Mem::input>(x.v[3] + s);
      row[c] = t1;
      col_lo[c] = t0 < col_lo[c] ? t0 : col_lo[c];
      col_hi[c] = t0 > col_hi[c] ? t0 : col_hi[c];
      const double v[4] = {static_cast<double>(t0), static_cast<double>(t1), static_cast<double>(t2),
                           static_cast<double>(t3)};
      rlo = v[1] < rlo ? v[1] : rlo;
      rhi = v[1] > rhi ? v[1] : rhi;
      double d[4];
#pragma unroll
      for (int q = 0; q < 4; ++q) {
        bad |= !finite(v[q]);
        ext.lo[q] = v[q] < ext.lo[q] ? v[q] : ext.lo[q];
        ext.hi[q] = v[q] > ext.hi[q] ? v[q] : ext.hi[q];
        d[q] = v[q] - pivot[q];
      }
      gram_add(A, d);
      const auto value = [&](int q, i64) { return v[q]; };
      const double w = detail::welfare_at<double>(2, p.welfare, value, 0, s);
      const double wh = detail::welfare_at<double>(2, p.welfare, value, 2, s);
      we.add(w, wh, s);
    }
    const RowThresholds t = row_thresholds(team, p, rlo, rhi);
    if (a.col_tiles > 1 && tid == 0) {
      const i64 at = ((slot * a.col_tiles + blk.tile) * a.k0 + r) * 2;
      a.row_extrema.store(at, t.lo);
      a.row_extrema.store(at + 1, t.hi);
    }
    if (!collect) continue;
    // The row's candidates, each thread's in column order, the threads in order.
    i64 mine = 0;
    for (i64 c = tid; c < width; c += blockDim.x) {
      mine += detail::ne_bits(static_cast<double>(row[c]), t.ne, t.eps, tol) != 0u;
    }
    count = append_in_order(warp_count, count, mine, [&](i64 at) {
      for (i64 c = tid; c < width; c += blockDim.x) {
        const unsigned bits = detail::ne_bits(static_cast<double>(row[c]), t.ne, t.eps, tol);
        if (!bits) continue;
        if (at < a.capacity) cand.store(at, ((r * k1 + c0 + c) << 2) | static_cast<i64>(bits));
        ++at;
      }
    });
  }
  if (!collect) count = a.capacity + 1;
  // The block's column extrema into the game's.
  ULL* keys = a.colext + slot * k1 + c0;
  for (i64 c = tid; c < width; c += blockDim.x) {
    atomic_min_key<Mem::scratch>(keys + c, order_key(static_cast<double>(col_lo[c])));
    atomic_max_key<Mem::scratch>(keys + a.max_keys + c, order_key(static_cast<double>(col_hi[c])));
  }
  gram_reduce(team, A);
  ext = team.reduce(ext, LoHi4Op());
  we = team.reduce(we, WelfareOp());
  bad = __syncthreads_or(bad) != 0;
  if (tid == 0) {
    const Global<Mem::scratch, double> out = a.stats + (slot * a.blocks + b) * kTwoPlayerStatsWidth;
    for (int q = 0; q < 4; ++q) {
      out.store(2 * q, A.sum[q].hi);
      out.store(2 * q + 1, A.sum[q].lo);
      out.store(28 + q, ext.lo[q]);
      out.store(32 + q, ext.hi[q]);
    }
    for (int e = 0; e < 10; ++e) {
      out.store(8 + 2 * e, A.prod[e].hi);
      out.store(9 + 2 * e, A.prod[e].lo);
    }
    store_arg(out + 36, we.w_max);
    store_arg(out + 38, we.w_min);
    store_arg(out + 40, we.wh_max);
    store_arg(out + 42, we.wh_min);
    out.store(44, int_bits(count));
    out.store(45, bad ? 1.0 : 0.0);
  }
}

// ---------------------------------------------------------------------------------------------
// recheck

template <class T>
__global__ void __launch_bounds__(kTpThreads) two_player_recheck_kernel(TpArgs a) {
  DGEVAL_DYNAMIC_SHARED(smem);
  __shared__ __align__(16) unsigned char scratch[32 * kMaxPayload];
  const BlockTeam team{scratch};
  const EvalParams& p = a.p;
  const i64 slot = blockIdx.y, g = a.first_game + slot, b = blockIdx.x, k1 = a.k1;
  const Global<Mem::scratch, double> stats = a.stats + (slot * a.blocks + b) * kTwoPlayerStatsWidth;
  if (stats[45] != 0.0) return;  // a non-finite value: the game is written as such (finish)
  const i64 count = bits_int(stats[44]);
  const Vectors<T> x = vectors_of<T>(a, g);
  const Global<Mem::scratch, ULL> keys = a.colext + slot * k1;
  const double tol = p.ne_tolerance;
  const StrategyKind kind = p.strategy;
  const unsigned sum_bits = kind == StrategyKind::uniform_ne ? 1u : kind == StrategyKind::uniform_eps_ne ? 2u : 0u;
  const TpBlock blk = block_of(a, b);
  NeExt e = ne_empty();
  Sum4 su{{0.0, 0.0, 0.0, 0.0}};
  // Outcome s, with player 2's bits (and its value u2 when read): player 1's test against its
  // column's thresholds; an equilibrium's bit set in the game's NE bitmask when listed.
  const auto consider = [&](i64 s, unsigned bits2, bool have_u2, double u2) {
    const i64 j = s % k1;
    const double u1 = x(0, s);
    const double lo = from_order_key(keys[j]), hi = from_order_key(keys[a.max_keys + j]);
    const unsigned m =
        bits2 & detail::ne_bits(u1, detail::ic_threshold(lo, hi, 1.0), detail::ic_threshold(lo, hi, p.ic[0]), tol);
    if (!m) return;
    if ((m & 1u) && p.list_equilibria) {
      atomic_or_bits<Mem::output>(a.out.ne_bits.get() + g * a.out.ne_words + s / 32,
                                  std::uint32_t{1} << static_cast<int>(s % 32));
    }
    if (!have_u2) u2 = x(1, s);
    const auto value = [&](int q, i64) { return q == 0 ? u1 : u2; };
    const double w = detail::welfare_at<double>(2, p.welfare, value, 0, s);
    e.add(m, w, s);
    if (m & sum_bits) {
      su.s[0] += u1;
      su.s[1] += u2;
      su.s[2] += x(2, s);
      su.s[3] += x(3, s);
    }
  };
  if (count <= a.capacity) {
    const Global<Mem::scratch, i64> cand = a.candidates + (slot * a.blocks + b) * a.capacity;
    for (i64 k = threadIdx.x; k < count; k += blockDim.x) {
      const i64 c = cand[k], s = c >> 2;
      unsigned bits = static_cast<unsigned>(c & 3);
      double u2 = 0.0;
      if (a.col_tiles > 1) {
        // A candidate of the tile's test: player 2's test against the row's thresholds.
        const RowThresholds t = thresholds_of(p, merged_row(a, slot, s / k1));
        u2 = x(1, s);
        bits = detail::ne_bits(u2, t.ne, t.eps, tol);
      }
      if (bits) consider(s, bits, a.col_tiles > 1, u2);
    }
  } else {
    // No list (it overflowed, or a tile with IC₂ < 1): the block's rows again. In one tile,
    // player 2's values staged as in stream for the row's thresholds; in several, the tile's values
    // against the rows' thresholds merged from the tiles' extrema (by the block's first threads).
    T* row = reinterpret_cast<T*>(smem);
    const i64 width = blk.c1 - blk.c0;
    for (i64 r = blk.r0; r < blk.r1; ++r) {
      const T* u = x.v[1] + r * k1 + blk.c0;
      RowExt mine{inf(), -inf()};
      if (a.col_tiles == 1) {
        for (i64 c = threadIdx.x; c < width; c += blockDim.x) {
          const T t1 = load<Mem::input>(u + c);
          row[c] = t1;
          mine = RowExtOp()(mine, RowExt{static_cast<double>(t1), static_cast<double>(t1)});
        }
      } else {
        for (i64 q = threadIdx.x; q < a.col_tiles; q += blockDim.x) {
          const i64 at = ((slot * a.col_tiles + q) * a.k0 + r) * 2;
          mine = RowExtOp()(mine, RowExt{a.row_extrema[at], a.row_extrema[at + 1]});
        }
      }
      const RowThresholds t = thresholds_of(p, team.reduce(mine, RowExtOp()));
      for (i64 c = threadIdx.x; c < width; c += blockDim.x) {
        const double u2 = static_cast<double>(a.col_tiles == 1 ? row[c] : load<Mem::input>(u + c));
        const unsigned bits = detail::ne_bits(u2, t.ne, t.eps, tol);
        if (bits) consider(r * k1 + blk.c0 + c, bits, true, u2);
      }
    }
  }
  e = team.reduce(e, NeOp());
  su = team.reduce(su, Sum4Op());
  if (threadIdx.x == 0) {
    const Global<Mem::scratch, double> out = a.equilibria + (slot * a.blocks + b) * kTwoPlayerEquilibriaWidth;
    store_ne(out, e);
    for (int q = 0; q < 4; ++q) out.store(8 + q, su.s[q]);
  }
}

// ---------------------------------------------------------------------------------------------
// finish

/// What thread 0 merges and the others need.
struct Merged {
  DoubleDouble sum[4], prod[10];
  double lo[4], hi[4], pivot[4], scale[4];
  int nonfinite, rescale;
};

template <class T>
struct FinishAt {
  Vectors<T> x;
  __device__ double operator()(int v, i64 s) const { return x(v, s); }
};

template <class T>
__global__ void __launch_bounds__(kTpFinishThreads) two_player_finish_kernel(TpArgs a) {
  __shared__ __align__(16) unsigned char scratch[32 * kMaxPayload];
  __shared__ Merged M;
  __shared__ GameSummary S;
  __shared__ double arrays[13 * 2];
  __shared__ DoubleDouble gram[4][4];  // thread 0's, indexed at run time (shared memory, not a stack frame)
  __shared__ double inv[4];            // ν_v = inv_v·(the scaled centred vector)
  const BlockTeam team{scratch};
  const EvalParams& p = a.p;
  const i64 slot = blockIdx.x, g = a.first_game + slot, N = p.N;
  const double count = static_cast<double>(N);
  const Vectors<T> x = vectors_of<T>(a, g);
  constexpr double kBig = 1e100, kTiny = 1e-100;
  if (threadIdx.x == 0) {
    for (int q = 0; q < 4; ++q) {
      M.sum[q] = detail::dd_zero<double>(), M.lo[q] = inf(), M.hi[q] = -inf();
      M.pivot[q] = x(q, 0), M.scale[q] = 1.0;
    }
    for (int e = 0; e < 10; ++e) M.prod[e] = detail::dd_zero<double>();
    S = summary_empty();
    int bad = 0;
    for (i64 b = 0; b < a.blocks; ++b) {
      const Global<Mem::scratch, double> q = a.stats + (slot * a.blocks + b) * kTwoPlayerStatsWidth;
      for (int v = 0; v < 4; ++v) {
        M.sum[v] = detail::dd_add(M.sum[v], DoubleDouble{q[2 * v], q[2 * v + 1]});
        const double lo = q[28 + v], hi = q[32 + v];
        M.lo[v] = lo < M.lo[v] ? lo : M.lo[v];
        M.hi[v] = hi > M.hi[v] ? hi : M.hi[v];
      }
      for (int e = 0; e < 10; ++e) M.prod[e] = detail::dd_add(M.prod[e], DoubleDouble{q[8 + 2 * e], q[9 + 2 * e]});
      S.w_max = arg_max(S.w_max, load_arg(q + 36));
      S.w_min = arg_min(S.w_min, load_arg(q + 38));
      S.wh_max = arg_max(S.wh_max, load_arg(q + 40));
      S.wh_min = arg_min(S.wh_min, load_arg(q + 42));
      bad |= q[45] != 0.0;
    }
    M.nonfinite = bad;
    // Payoffs where an unscaled product could overflow, or ranges where one could underflow (the
    // bounds of the CPU's fused path): summed again with scaled deviations.
    int rescale = 0;
    for (int v = 0; v < 4; ++v) {
      if (!finite(M.sum[v].hi) || !finite(M.sum[v].lo)) rescale = 1;
      if (fabs(M.lo[v]) > kBig || fabs(M.hi[v]) > kBig || fabs(M.pivot[v]) > kBig) rescale = 1;
      if (M.lo[v] != M.hi[v] && !(M.hi[v] - M.lo[v] >= kTiny)) rescale = 1;
    }
    for (int e = 0; e < 10; ++e) {
      if (!finite(M.prod[e].hi) || !finite(M.prod[e].lo)) rescale = 1;
    }
    M.rescale = rescale && !bad;
    if (!bad) {
      NeExt e = ne_empty();
      detail::CompensatedSum su[4];
      for (i64 b = 0; b < a.blocks; ++b) {
        const Global<Mem::scratch, double> q = a.equilibria + (slot * a.blocks + b) * kTwoPlayerEquilibriaWidth;
        e = NeOp()(e, load_ne(q));
        for (int v = 0; v < 4; ++v) su[v].add(q[8 + v]);
      }
      e.to_summary(S);
      arrays[20] = su[0].value();  // su: u₁, u₂ (the finishing step's layout below)
      arrays[21] = su[1].value();
      arrays[24] = su[2].value();  // suh: û₁, û₂
      arrays[25] = su[3].value();
    }
  }
  __syncthreads();
  if (M.nonfinite) {
    if (threadIdx.x == 0) write_nonfinite_game(p, a.out, g);
    return;
  }
  if (M.rescale) {
    // Each vector's deviations scaled by a power of two that brings the largest below 1.
    double scale[4];
    bool split[4];
    for (int v = 0; v < 4; ++v) {
      const double span = fmax(M.hi[v] - M.pivot[v], M.pivot[v] - M.lo[v]);
      int ex = 0;
      split[v] = !finite(span);
      if (split[v]) {
        frexp(fmax(fmax(fabs(M.lo[v]), fabs(M.hi[v])), fabs(M.pivot[v])), &ex);
        ex += 1;
      } else if (span > 0.0) {
        frexp(span, &ex);
      }
      scale[v] = ldexp(1.0, -ex);
    }
    GramSums A;
    gram_clear(A);
    for (i64 s = threadIdx.x; s < N; s += blockDim.x) {
      double d[4];
      for (int v = 0; v < 4; ++v) {
        const double y = x(v, s);
        d[v] = split[v] ? y * scale[v] - M.pivot[v] * scale[v] : (y - M.pivot[v]) * scale[v];
      }
      gram_add(A, d);
    }
    gram_reduce(team, A);
    if (threadIdx.x == 0) {
      for (int v = 0; v < 4; ++v) M.sum[v] = A.sum[v], M.scale[v] = scale[v];
      for (int e = 0; e < 10; ++e) M.prod[e] = A.prod[e];
    }
  }
  if (threadIdx.x != 0) return;

  // The centred Gram matrix of the (scaled) deviations, the shifts and magnitudes.
  for (int u = 0; u < 4; ++u) {
    for (int v = u; v < 4; ++v)
      gram[u][v] = detail::centred_product(M.prod[pair_index(u, v)], M.sum[u], M.sum[v], count);
  }
  const auto G = [&](int u, int v) { return gram[u][v]; };
  double* lo = arrays;
  double* hi = arrays + 4;
  double* shift = arrays + 8;
  double* mag = arrays + 12;
  double* ia = arrays + 16;
  double* su = arrays + 20;
  double* suh = arrays + 24;
  for (int v = 0; v < 4; ++v) {
    lo[v] = M.lo[v], hi[v] = M.hi[v];
    const double unscale = 1.0 / M.scale[v];  // a power of two
    DoubleDouble mean = detail::dd_div(M.sum[v], count);
    mean = DoubleDouble{mean.hi * unscale, mean.lo * unscale};
    shift[v] = lo[v] == hi[v] ? lo[v] : detail::dd_value(detail::dd_add(DoubleDouble{M.pivot[v], 0.0}, mean));
    // The sum of squares unscaled (where it overflows or underflows, as the definition's does).
    const double css = detail::centred_sum_squares(gram[v][v]) * unscale * unscale;
    mag[v] = detail::magnitude_of(p.standardisation, css, lo[v], hi[v]);
    inv[v] = detail::inverse_magnitude_of(mag[v]) * unscale;
  }
  for (int i = 0; i < 2; ++i)
    ia[i] = detail::ia_from_norm(detail::gram_difference_norm(G, i, 2 + i, inv[i], inv[2 + i]), p.constants);
  const double inv_weight_a = detail::inverse_magnitude_of(detail::ca_weight<double>(2, mag));
  const double inv_weight_p = detail::inverse_magnitude_of(detail::ca_weight<double>(2, mag + 2));
  GameSummary Sg = S;
  Sg.ca_agents = detail::collective_alignment<double>(
      2, mag, [&](int i) { return detail::gram_ca_norm(G, 2, 0, i, mag, inv, inv_weight_a); });
  Sg.ca_principals = detail::collective_alignment<double>(
      2, mag + 2, [&](int i) { return detail::gram_ca_norm(G, 2, 2, i, mag + 2, inv + 2, inv_weight_p); });
  if (p.distance_matrix) {
    const i64 at0 = g * 16;
    for (int u = 0; u < 4; ++u) {
      a.out.distance_matrix.store(at0 + u * 4 + u, 0.0);
      for (int v = u + 1; v < 4; ++v) {
        const double dist =
            detail::distance_from_norm(detail::gram_difference_norm(G, u, v, inv[u], inv[v]), p.constants);
        a.out.distance_matrix.store(at0 + u * 4 + v, dist);
        a.out.distance_matrix.store(at0 + v * 4 + u, dist);
      }
    }
  }
  detail::GameArrays A{lo, hi, shift, mag, ia, su, suh};
  finish_game(p, a.out, g, Sg, A, FinishAt<T>{x});
}

// ---------------------------------------------------------------------------------------------

template <class T>
void launch_all(const TwoPlayerGeometry& geo, const EvalParams& p, const DeviceInput& in, const DeviceOutputs& out,
                char* scratch, cudaStream_t stream) {
  TpArgs a;
  a.p = p;
  a.in = in;
  a.out = out;
  a.k0 = geo.k0;
  a.k1 = geo.k1;
  a.rows_per_block = geo.rows_per_block;
  a.blocks = geo.blocks;
  a.tile_cols = geo.tile_cols;
  a.col_tiles = geo.col_tiles;
  a.capacity = geo.candidate_capacity;
  a.row_stride = static_cast<i64>(geo.recheck_shared_bytes / sizeof(T));
  const std::size_t G = static_cast<std::size_t>(geo.games_per_pass), B = static_cast<std::size_t>(geo.blocks);
  const std::size_t keys_bytes = G * 2 * static_cast<std::size_t>(geo.k1) * 8;
  std::size_t at = 0;
  a.colext = reinterpret_cast<ULL*>(scratch + at);
  a.max_keys = static_cast<i64>(G) * geo.k1;
  at += round_up(keys_bytes, 256);
  a.row_extrema = reinterpret_cast<double*>(scratch + at);
  at += round_up(two_player_row_extrema_doubles(geo) * 8, 256);
  a.stats = reinterpret_cast<double*>(scratch + at);
  a.equilibria = reinterpret_cast<double*>(scratch + at) + G * B * kTwoPlayerStatsWidth;
  at += round_up(G * B * (kTwoPlayerStatsWidth + kTwoPlayerEquilibriaWidth) * 8, 256);
  a.candidates = reinterpret_cast<i64*>(scratch + at);
  DGEVAL_CUDA_CHECK(cudaFuncSetAttribute(two_player_stream_kernel<T>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                         static_cast<int>(geo.shared_bytes)));
  DGEVAL_CUDA_CHECK(cudaFuncSetAttribute(two_player_recheck_kernel<T>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                         static_cast<int>(geo.recheck_shared_bytes)));
  for (i64 g0 = 0; g0 < in.games; g0 += geo.games_per_pass) {
    const i64 games = in.games - g0 < geo.games_per_pass ? in.games - g0 : geo.games_per_pass;
    a.first_game = g0;
    // The column extrema start empty: min keys all ones, max keys zero.
    const std::size_t half = keys_bytes / 2;
    DGEVAL_CUDA_CHECK(cudaMemsetAsync(a.colext, 0xff, half, stream));
    DGEVAL_CUDA_CHECK(cudaMemsetAsync(reinterpret_cast<char*>(a.colext) + half, 0, half, stream));
    const dim3 grid(static_cast<unsigned>(geo.blocks), static_cast<unsigned>(games));
    DGEVAL_LAUNCH(two_player_stream_kernel<T>, grid, kTpThreads, geo.shared_bytes, stream)(a);
    DGEVAL_CUDA_CHECK_LAUNCH();
    DGEVAL_LAUNCH(two_player_recheck_kernel<T>, grid, kTpThreads, geo.recheck_shared_bytes, stream)(a);
    DGEVAL_CUDA_CHECK_LAUNCH();
    DGEVAL_LAUNCH(two_player_finish_kernel<T>, static_cast<unsigned>(games), kTpFinishThreads, 0, stream)(a);
    DGEVAL_CUDA_CHECK_LAUNCH();
  }
}

}  // namespace
}  // namespace dev

void launch_two_player_evaluate(const TwoPlayerGeometry& geo, const EvalParams& p, const DeviceInput& in,
                                const DeviceOutputs& out, char* scratch, cudaStream_t stream) {
  if (in.games <= 0) return;
  detail::visit_dtype(in.float32, [&](auto t) { dev::launch_all<decltype(t)>(geo, p, in, out, scratch, stream); });
}

}  // namespace cuda
}  // namespace dgeval
