// The CPU reference backend: every measure of docs/MATH.md for a batch of
// games, float64 accumulation whatever the input type, multi-threaded over games or, for a
// few large games, over outcome chunks of one game.
//
// Determinism: every pass walks the outcomes in fixed chunks of kChunk outcomes. Each chunk's
// partial result goes to its own slot and the slots are combined in chunk order, so the result
// is bit-identical for any number of threads and either parallel mode. Inside a chunk, sums
// run in kLanes interleaved partial sums (outcome j of a block goes to lane j mod kLanes),
// combined in a fixed tree: the compiler can vectorise them and the order never depends on
// the machine's threads. Games of fewer than kNarrow outcomes sum in one lane.
//
// Passes per game (each a loop over the game's outcomes):
//   A  per utility vector: sum, min, max and (EPIC) the mean and centred sum of squares of
//      the deviations from the vector's first value, merged across chunks with Chan's
//      formula; per outcome: agents' and principals' welfare extrema
//   C  standardised vectors: IA distances, CA distances to the weighted mean, distance matrix
//   D  the ε-Nash mask: per player, per context s_{-i}, the fiber's min/max, its two
//      thresholds, and the test of every outcome of the fiber
//   E  NE and ε-NE counts, worst/best NE welfare, worst ε-NE welfare, sums over the sets
//   F  (played set, correlated or product strategies) expectations under σ
// A chunk of one vector is at most 128 KiB, so A's later loops (the moments) read it
// from cache: the input is read from memory about 2.5 times (A, C, and D for the agents).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>

#include "dgeval/backend.hpp"
#include "dgeval/detail/finish.hpp"
#include "dgeval/detail/lanes.hpp"
#include "dgeval/detail/measures.hpp"
#include "dgeval/error.hpp"
#include "core/thread_pool.hpp"

namespace dgeval {
namespace {

using detail::ArgExt;
using detail::CompensatedSum;
using detail::StandardisationConstants;

/// Outcomes per chunk. Fixed (never derived from the thread count) so results are
/// bit-identical for any number of threads.
constexpr std::int64_t kChunk = std::int64_t{1} << 14;
/// Interleaved partial sums per accumulator (a multiple of every SIMD width in doubles).
constexpr int kLanes = 8;
/// Outcomes per block of the standardised-vector and welfare scratch (a multiple of kLanes).
constexpr std::int64_t kBlock = 256;
/// Contexts per task of pass D along an axis with stride > 1: rows of at least this many
/// consecutive values, so the strided fibers are read a cache line at a time.
constexpr std::int64_t kContextsPerRow = 512;
/// Games of fewer outcomes than this sum in one lane: for them the lanes' set-up and
/// combining would cost more than the loop. Fixed per shape, so still deterministic.
constexpr std::int64_t kNarrow = 64;
constexpr int kMaxVectors = 2 * kMaxPlayers;

constexpr double kInf = std::numeric_limits<double>::infinity();

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

/// L lanes of partial results (L = 1 or kLanes), combined in a fixed tree.
template <int L>
double combine_sum(const double* l) {
  static_assert(L == 1 || L == 8, "combine_sum is written for 1 or 8 lanes");
  if (L == 1) return l[0];
  return ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]));
}
/// L lanes of norm partials, combined in the same fixed tree.
template <class Norm, int L>
double combine_lanes(const double* l) {
  static_assert(L == 1 || L == 8, "combine_lanes is written for 1 or 8 lanes");
  if (L == 1) return l[0];
  return Norm::combine(Norm::combine(Norm::combine(l[0], l[1]), Norm::combine(l[2], l[3])),
                       Norm::combine(Norm::combine(l[4], l[5]), Norm::combine(l[6], l[7])));
}
template <int L>
double combine_max(const double* l) {
  double m = l[0];
  for (int q = 1; q < L; ++q) m = l[q] > m ? l[q] : m;
  return m;
}
template <int L>
double combine_min(const double* l) {
  double m = l[0];
  for (int q = 1; q < L; ++q) m = l[q] < m ? l[q] : m;
  return m;
}

/// Sum, minimum and maximum of x[0, len) in float64, in L lanes. NaN never becomes the min or
/// max (the caller detects non-finite input from the sum).
template <int L, class T>
void sum_min_max(const T* __restrict x, std::int64_t len, double* sum, double* lo, double* hi) {
  double s[L], l[L], h[L];
  for (int q = 0; q < L; ++q) s[q] = 0.0, l[q] = kInf, h[q] = -kInf;
  std::int64_t j = 0;
  for (; j + L <= len; j += L) {
    for (int q = 0; q < L; ++q) {
      const double y = static_cast<double>(x[j + q]);
      s[q] += y;
      l[q] = y < l[q] ? y : l[q];
      h[q] = y > h[q] ? y : h[q];
    }
  }
  for (int q = 0; j < len; ++j, ++q) {
    const double y = static_cast<double>(x[j]);
    s[q] += y;
    l[q] = y < l[q] ? y : l[q];
    h[q] = y > h[q] ? y : h[q];
  }
  *sum = combine_sum<L>(s);
  *lo = combine_min<L>(l);
  *hi = combine_max<L>(h);
}

/// Count, mean and centred sum of squares of x[0, len) − pivot: the deviations from a pivot
/// (the vector's first value) are small where the values share a large offset, so the chunk
/// means merged by Chan's formula carry no error of the offset's size.
struct Moments {
  double count = 0.0, mean = 0.0, m2 = 0.0;
};
template <int L, class T>
Moments pivoted_moments(const T* __restrict x, std::int64_t len, double pivot) {
  double s[L] = {};
  std::int64_t j = 0;
  for (; j + L <= len; j += L) {
    for (int q = 0; q < L; ++q) s[q] += static_cast<double>(x[j + q]) - pivot;
  }
  for (int q = 0; j < len; ++j, ++q) s[q] += static_cast<double>(x[j]) - pivot;
  const double mean = combine_sum<L>(s) / static_cast<double>(len);
  for (int q = 0; q < L; ++q) s[q] = 0.0;
  j = 0;
  for (; j + L <= len; j += L) {
    for (int q = 0; q < L; ++q) {
      const double d = (static_cast<double>(x[j + q]) - pivot) - mean;
      s[q] += d * d;
    }
  }
  for (int q = 0; j < len; ++j, ++q) {
    const double d = (static_cast<double>(x[j]) - pivot) - mean;
    s[q] += d * d;
  }
  return {static_cast<double>(len), mean, combine_sum<L>(s)};
}

/// Chan, Golub and LeVeque's pairwise update: the moments of the union of a and b.
Moments merge_moments(const Moments& a, const Moments& b) {
  if (a.count == 0.0) return b;
  const double total = a.count + b.count, delta = b.mean - a.mean;
  return {total, a.mean + delta * (b.count / total), a.m2 + b.m2 + delta * delta * (a.count * b.count / total)};
}

/// acc[lane] = Norm::accumulate(acc[lane], a[j] − b[j]) over j in [0, len), lane = j mod L.
template <class Norm, int L>
void accumulate_differences(const double* __restrict a, const double* __restrict b, std::int64_t len,
                            double* __restrict acc) {
  double t[L];
  for (int q = 0; q < L; ++q) t[q] = acc[q];
  std::int64_t j = 0;
  for (; j + L <= len; j += L) {
    for (int q = 0; q < L; ++q) t[q] = Norm::accumulate(t[q], a[j + q] - b[j + q]);
  }
  for (int q = 0; j < len; ++j, ++q) t[q] = Norm::accumulate(t[q], a[j] - b[j]);
  for (int q = 0; q < L; ++q) acc[q] = t[q];
}

/// The first (least index) maximum and minimum of w[0, len) into running extrema; s0 is the
/// outcome index of w[0]. Values are finite or ±Inf, never NaN.
template <int L>
void block_extrema(const double* __restrict w, std::int64_t len, std::int64_t s0, ArgExt& mx, ArgExt& mn) {
  double l[L], h[L];
  for (int q = 0; q < L; ++q) l[q] = kInf, h[q] = -kInf;
  std::int64_t j = 0;
  for (; j + L <= len; j += L) {
    for (int q = 0; q < L; ++q) {
      l[q] = w[j + q] < l[q] ? w[j + q] : l[q];
      h[q] = w[j + q] > h[q] ? w[j + q] : h[q];
    }
  }
  for (int q = 0; j < len; ++j, ++q) {
    l[q] = w[j] < l[q] ? w[j] : l[q];
    h[q] = w[j] > h[q] ? w[j] : h[q];
  }
  // The first index holding the extremum, and its value (so a zero keeps that outcome's sign).
  const double hi = combine_max<L>(h), lo = combine_min<L>(l);
  // The block's outcomes follow the running extrema's, so a tie keeps those (detail::arg_max's rule).
  if (mx.index < 0 || hi > mx.value) {
    std::int64_t k = 0;
    while (w[k] != hi) ++k;
    mx.value = w[k], mx.index = s0 + k;
  }
  if (mn.index < 0 || lo < mn.value) {
    std::int64_t k = 0;
    while (w[k] != lo) ++k;
    mn.value = w[k], mn.index = s0 + k;
  }
}

/// Reference to one game's input, either dtype.
template <class T>
struct GameData {
  const T* agents;      // [n][N]
  const T* principals;  // [n][N]
  int n;
  std::int64_t N;
  const T* vec(int v) const {  // v < n: agent v; else principal v − n
    return v < n ? agents + static_cast<std::int64_t>(v) * N
                 : principals + static_cast<std::int64_t>(v - n) * N;
  }
  /// Vector v at outcome s as a double: the accessor of the shared definitions (detail/finish.hpp).
  double operator()(int v, std::int64_t s) const { return static_cast<double>(vec(v)[s]); }
};

struct PassA {
  std::int64_t count = 0;  // outcomes of the chunk
  double sum[kMaxVectors], lo[kMaxVectors], hi[kMaxVectors];
  Moments moments[kMaxVectors];  // EPIC: of the deviations from the vector's first value
  ArgExt w_max, w_min, wh_max, wh_min;
  bool nonfinite = false;
};

struct PassC {
  std::vector<double> acc;  // [3n + pairs] finished-over-lanes accumulators: IA, CA agents, CA principals, dm
};

struct PassE {
  std::int64_t ne = 0, eps = 0;
  ArgExt worst_ne, best_ne, worst_eps;
  double su[kMaxPlayers], suh[kMaxPlayers];  // sums of u_i, û_i over the strategy's set
};

struct PassF {
  std::int64_t count = 0;  // played-set size
  ArgExt closest;          // fallback: least |w − mid| outside the window
  double su[kMaxPlayers], suh[kMaxPlayers];
};

/// Per-worker scratch of the blocked loops.
struct Scratch {
  std::vector<double> nu;   // [2n][kBlock] standardised values (pass C); welfare [2][kBlock] (pass A)
  std::vector<double> mu;   // [2][kBlock] weighted means (pass C)
  std::vector<double> acc;  // [(3n + pairs) · kLanes] lane accumulators (pass C)
  std::vector<double> ctx;  // [4][contexts per task] fiber min, max and thresholds (pass D)
};

/// Evaluates games one at a time; owns the scratch reused across games.
class GameEvaluator {
 public:
  GameEvaluator(const Options& o, const Dims& d) : opt_(o), dims_(d), n_(d.players()), N_(d.outcomes()) {
    k_ = detail::standardisation_constants(o.standardisation);
    settings_ = detail::FinishSettings{n_, o.welfare, k_, o.cc, o.cc_window, o.strategy.kind};
    for (int i = 0; i < n_; ++i) ic_[i] = o.ic_level(i);
    per_strategy_ = 0;
    if (o.strategy.kind == StrategyKind::pure) per_strategy_ = n_;
    if (o.strategy.kind == StrategyKind::correlated) per_strategy_ = N_;
    if (o.strategy.kind == StrategyKind::product) {
      for (int i = 0; i < n_; ++i) per_strategy_ += d.actions(i);
    }
    chunks_ = (N_ + kChunk - 1) / kChunk;
    const int nv = 2 * n_;
    pairs_ = o.distance_matrix ? static_cast<std::size_t>(nv) * (nv - 1) / 2 : 0;
    accumulators_ = 3 * static_cast<std::size_t>(n_) + pairs_;
    narrow_ = N_ < kNarrow;
  }

  /// Evaluates game g into the columns `out` (and the equilibrium lists and distance matrices of
  /// r). Returns false if the game holds a non-finite value and the options refuse them.
  template <class T>
  bool evaluate(const GameData<T>& game, std::int64_t g, const Exec& exec, const detail::ColumnPointers& out,
                Results& r);

 private:
  template <class T>
  void pass_a(const GameData<T>& game, const Exec& exec, PassA& out);
  template <class T>
  void pass_c(const GameData<T>& game, const Exec& exec, const double* shift, const double* mag, PassC& out);
  template <int L, class T>
  void pass_a_chunk(const GameData<T>& game, std::int64_t c, Scratch& sc, PassA& p);
  template <class T, class Norm, int L>
  void pass_c_chunk(const GameData<T>& game, std::int64_t c, const double* shift, const double* mag,
                    Scratch& sc, double* part);
  template <class T>
  void pass_d(const GameData<T>& game, const Exec& exec);
  template <class T>
  void pass_e(const GameData<T>& game, const Exec& exec, PassE& out);
  template <class T>
  void pass_f(const GameData<T>& game, const Exec& exec, std::int64_t g, double lo, double hi, PassF& out);

  std::int64_t chunk_begin(std::int64_t c) const { return c * kChunk; }
  std::int64_t chunk_end(std::int64_t c) const { return std::min(N_, (c + 1) * kChunk); }
  void prepare_scratch(const Exec& exec) {
    if (scratch_.size() < static_cast<std::size_t>(exec.workers())) scratch_.resize(static_cast<std::size_t>(exec.workers()));
  }

  const Options& opt_;
  const Dims& dims_;
  int n_;
  std::int64_t N_;
  std::int64_t chunks_;
  std::int64_t per_strategy_;
  std::size_t pairs_, accumulators_;
  bool narrow_;  // a game of fewer than kNarrow outcomes sums in one lane
  StandardisationConstants k_;
  detail::FinishSettings settings_;
  double ic_[kMaxPlayers];
  std::vector<std::uint8_t> mask_;  // bit 0: pure NE, bit 1: ε-NE
  std::vector<PassA> a_parts_;
  std::vector<double> c_parts_;     // [chunks][accumulators]
  PassC c_out_;
  std::vector<PassE> e_parts_;
  std::vector<PassF> f_parts_;
  std::vector<Scratch> scratch_;    // per worker
};

template <int L, class T>
void GameEvaluator::pass_a_chunk(const GameData<T>& game, std::int64_t c, Scratch& sc, PassA& p) {
  const int n = n_, nv = 2 * n_;
  const bool centred = detail::needs_centred_squares(opt_.standardisation);
  p.w_max = p.w_min = p.wh_max = p.wh_min = detail::arg_empty();
  p.nonfinite = false;
  const std::int64_t s0 = chunk_begin(c), s1 = chunk_end(c), len = s1 - s0;
  p.count = len;
  for (int v = 0; v < nv; ++v) {
    const T* x = game.vec(v) + s0;
    sum_min_max<L>(x, len, &p.sum[v], &p.lo[v], &p.hi[v]);
    if (!std::isfinite(p.sum[v])) p.nonfinite = true;
    p.moments[v] = centred && !p.nonfinite ? pivoted_moments<L>(x, len, static_cast<double>(game.vec(v)[0])) : Moments{};
  }
  if (p.nonfinite) return;
  // Welfare per outcome: players summed in order 0..n−1 in float64 (as every backend does).
  if (sc.nu.size() < 2 * static_cast<std::size_t>(kBlock)) sc.nu.resize(2 * kBlock);
  double* __restrict wa = sc.nu.data();
  double* __restrict wp = sc.nu.data() + kBlock;
  for (std::int64_t b0 = s0; b0 < s1; b0 += kBlock) {
    const std::int64_t bl = std::min(kBlock, s1 - b0);
    for (std::int64_t j = 0; j < bl; ++j) wa[j] = wp[j] = 0.0;
    for (int i = 0; i < n; ++i) {
      const T* __restrict xa = game.vec(i) + b0;
      const T* __restrict xp = game.vec(n + i) + b0;
      for (std::int64_t j = 0; j < bl; ++j) {
        wa[j] += static_cast<double>(xa[j]);
        wp[j] += static_cast<double>(xp[j]);
      }
    }
    for (std::int64_t j = 0; j < bl; ++j) {
      wa[j] = detail::welfare_of(wa[j], n, opt_.welfare);
      wp[j] = detail::welfare_of(wp[j], n, opt_.welfare);
    }
    block_extrema<L>(wa, bl, b0, p.w_max, p.w_min);
    block_extrema<L>(wp, bl, b0, p.wh_max, p.wh_min);
  }
}

template <class T>
void GameEvaluator::pass_a(const GameData<T>& game, const Exec& exec, PassA& out) {
  const int nv = 2 * n_;
  a_parts_.resize(static_cast<std::size_t>(chunks_));
  prepare_scratch(exec);
  exec.run(chunks_, [&](std::int64_t c, int worker) {
    PassA& p = a_parts_[static_cast<std::size_t>(c)];
    Scratch& sc = scratch_[static_cast<std::size_t>(worker)];
    if (narrow_) {
      pass_a_chunk<1>(game, c, sc, p);
    } else {
      pass_a_chunk<kLanes>(game, c, sc, p);
    }
  });
  out.nonfinite = false;
  out.count = 0;
  out.w_max = out.w_min = out.wh_max = out.wh_min = detail::arg_empty();
  for (const PassA& p : a_parts_) {
    out.nonfinite = out.nonfinite || p.nonfinite;
    out.count += p.count;
    out.w_max = detail::arg_max(out.w_max, p.w_max);
    out.w_min = detail::arg_min(out.w_min, p.w_min);
    out.wh_max = detail::arg_max(out.wh_max, p.wh_max);
    out.wh_min = detail::arg_min(out.wh_min, p.wh_min);
  }
  for (int v = 0; v < nv; ++v) {
    CompensatedSum sum;
    double lo = kInf, hi = -kInf;
    Moments moments;
    for (const PassA& p : a_parts_) {
      sum.add(p.sum[v]);
      lo = std::min(lo, p.lo[v]);
      hi = std::max(hi, p.hi[v]);
      moments = merge_moments(moments, p.moments[v]);  // in chunk order
    }
    out.sum[v] = sum.value();
    out.lo[v] = lo;
    out.hi[v] = hi;
    out.moments[v] = moments;
  }
}

template <class T, class Norm, int L>
void GameEvaluator::pass_c_chunk(const GameData<T>& game, std::int64_t c, const double* shift, const double* mag,
                                 Scratch& sc, double* part) {
  const int n = n_, nv = 2 * n_;
  const double* mag_a = mag;
  const double* mag_p = mag + n;
  const double inv_weight_a = detail::inverse_magnitude_of(detail::ca_weight<double>(n, mag_a));
  const double inv_weight_p = detail::inverse_magnitude_of(detail::ca_weight<double>(n, mag_p));
  const std::size_t need_nu = static_cast<std::size_t>(nv) * kBlock;
  if (sc.nu.size() < need_nu) sc.nu.resize(need_nu);
  if (sc.mu.size() < 2 * static_cast<std::size_t>(kBlock)) sc.mu.resize(2 * kBlock);
  sc.acc.assign(accumulators_ * kLanes, 0.0);
  double* __restrict mu_a = sc.mu.data();
  double* __restrict mu_p = sc.mu.data() + kBlock;
  const std::int64_t s0 = chunk_begin(c), s1 = chunk_end(c);
  for (std::int64_t b0 = s0; b0 < s1; b0 += kBlock) {
    const std::int64_t bl = std::min(kBlock, s1 - b0);
    for (int v = 0; v < nv; ++v) {
      const T* __restrict x = game.vec(v) + b0;
      double* __restrict nu = sc.nu.data() + static_cast<std::size_t>(v) * kBlock;
      const double sh = shift[v], inv = detail::inverse_magnitude_of(mag[v]);
      if (inv > 0.0) {
        for (std::int64_t j = 0; j < bl; ++j) nu[j] = detail::standardised_by_inverse(static_cast<double>(x[j]), sh, inv);
      } else {
        for (std::int64_t j = 0; j < bl; ++j) nu[j] = 0.0;
      }
    }
    // μ (docs/MATH.md §4.2) by detail::ca_mean, kLanes outcomes at a time, then one by one.
    const double* nu = sc.nu.data();
    std::int64_t j = 0;
    for (; j + kLanes <= bl; j += kLanes) {
      using V = detail::Lanes<kLanes>;
      auto at_a = [&](int i) { return V::load(nu + static_cast<std::size_t>(i) * kBlock + j); };
      auto at_p = [&](int i) { return V::load(nu + static_cast<std::size_t>(n + i) * kBlock + j); };
      detail::ca_mean<V>(n, mag_a, at_a, inv_weight_a).store(mu_a + j);
      detail::ca_mean<V>(n, mag_p, at_p, inv_weight_p).store(mu_p + j);
    }
    for (; j < bl; ++j) {
      mu_a[j] = detail::ca_mean<double>(n, mag_a, [&](int i) { return nu[static_cast<std::size_t>(i) * kBlock + j]; },
                                        inv_weight_a);
      mu_p[j] = detail::ca_mean<double>(
          n, mag_p, [&](int i) { return nu[static_cast<std::size_t>(n + i) * kBlock + j]; }, inv_weight_p);
    }
    double* acc = sc.acc.data();
    for (int i = 0; i < n; ++i) {
      const double* na = nu + static_cast<std::size_t>(i) * kBlock;
      const double* np = nu + static_cast<std::size_t>(n + i) * kBlock;
      accumulate_differences<Norm, L>(na, np, bl, acc + static_cast<std::size_t>(i) * kLanes);
      accumulate_differences<Norm, L>(na, mu_a, bl, acc + static_cast<std::size_t>(n + i) * kLanes);
      accumulate_differences<Norm, L>(np, mu_p, bl, acc + static_cast<std::size_t>(2 * n + i) * kLanes);
    }
    if (pairs_ > 0) {
      std::size_t q = 3 * static_cast<std::size_t>(n);
      for (int a = 0; a < nv; ++a) {
        for (int b = a + 1; b < nv; ++b, ++q) {
          accumulate_differences<Norm, L>(nu + static_cast<std::size_t>(a) * kBlock,
                                          nu + static_cast<std::size_t>(b) * kBlock, bl, acc + q * kLanes);
        }
      }
    }
  }
  for (std::size_t q = 0; q < accumulators_; ++q) part[q] = combine_lanes<Norm, L>(sc.acc.data() + q * kLanes);
}

template <class T>
void GameEvaluator::pass_c(const GameData<T>& game, const Exec& exec, const double* shift, const double* mag,
                           PassC& out) {
  detail::visit_standardisation(opt_.standardisation, [&](auto op) {
    using Norm = typename decltype(op)::Norm;
    c_parts_.resize(static_cast<std::size_t>(chunks_) * accumulators_);
    prepare_scratch(exec);
    exec.run(chunks_, [&](std::int64_t c, int worker) {
      double* part = c_parts_.data() + static_cast<std::size_t>(c) * accumulators_;
      Scratch& sc = scratch_[static_cast<std::size_t>(worker)];
      if (narrow_) {
        pass_c_chunk<T, Norm, 1>(game, c, shift, mag, sc, part);
      } else {
        pass_c_chunk<T, Norm, kLanes>(game, c, shift, mag, sc, part);
      }
    });
    // Fold the chunks' partials in chunk order (Norm::fold: compensated sums for L2).
    out.acc.resize(accumulators_);
    for (std::size_t q = 0; q < accumulators_; ++q) {
      double state[2] = {0.0, 0.0};
      for (std::int64_t c = 0; c < chunks_; ++c) Norm::fold(state, c_parts_[static_cast<std::size_t>(c) * accumulators_ + q]);
      out.acc[q] = Norm::folded(state);
    }
    return 0;
  });
}

template <class T>
void GameEvaluator::pass_d(const GameData<T>& game, const Exec& exec) {
  mask_.assign(static_cast<std::size_t>(N_), 3);
  const double tol = opt_.ne_tolerance;
  prepare_scratch(exec);
  for (int i = 0; i < n_; ++i) {
    const std::int64_t k = dims_.actions(i);
    const std::int64_t stride = dims_.stride(i);
    const T* u = game.vec(i);
    const double ic = ic_[i];
    std::uint8_t* mask = mask_.data();
    if (stride == 1) {
      // The last player's fibers are contiguous runs of k outcomes.
      const std::int64_t fibers = N_ / k;
      const std::int64_t per_task = std::max<std::int64_t>(1, kChunk / k);
      const std::int64_t tasks = (fibers + per_task - 1) / per_task;
      exec.run(tasks, [&](std::int64_t t, int) {
        const std::int64_t f1 = std::min(fibers, (t + 1) * per_task);
        for (std::int64_t f = t * per_task; f < f1; ++f) {
          const T* __restrict x = u + f * k;
          std::uint8_t* __restrict m = mask + f * k;
          double lo = kInf, hi = -kInf;
          if (k >= 4 * kLanes) {
            double sum;
            sum_min_max<kLanes>(x, k, &sum, &lo, &hi);
          } else {
            for (std::int64_t a = 0; a < k; ++a) {
              const double y = static_cast<double>(x[a]);
              lo = y < lo ? y : lo;
              hi = y > hi ? y : hi;
            }
          }
          const double t1 = detail::ic_threshold(lo, hi, 1.0);
          const double te = detail::ic_threshold(lo, hi, ic);
          for (std::int64_t a = 0; a < k; ++a) {
            const double y = static_cast<double>(x[a]);
            m[a] &= static_cast<std::uint8_t>(detail::ne_bits(y, t1, te, tol));
          }
        }
      });
      continue;
    }
    // Strided fibers: a task takes one outer index and a run of up to `width` consecutive
    // inner indices, and walks the k rows of that run.
    const std::int64_t outer_count = N_ / (k * stride);
    const std::int64_t width = std::min(stride, std::max(kContextsPerRow, kChunk / k));
    const std::int64_t runs = (stride + width - 1) / width;
    exec.run(outer_count * runs, [&](std::int64_t t, int worker) {
      const std::int64_t outer = t / runs, in0 = (t % runs) * width;
      const std::int64_t len = std::min(stride, in0 + width) - in0;
      Scratch& sc = scratch_[static_cast<std::size_t>(worker)];
      if (sc.ctx.size() < 4 * static_cast<std::size_t>(width)) sc.ctx.resize(4 * static_cast<std::size_t>(width));
      double* __restrict lo = sc.ctx.data();
      double* __restrict hi = lo + width;
      double* __restrict t1 = hi + width;
      double* __restrict te = t1 + width;
      const std::int64_t base = outer * stride * k + in0;
      for (std::int64_t j = 0; j < len; ++j) lo[j] = kInf, hi[j] = -kInf;
      for (std::int64_t a = 0; a < k; ++a) {
        const T* __restrict row = u + base + a * stride;
        for (std::int64_t j = 0; j < len; ++j) {
          const double y = static_cast<double>(row[j]);
          lo[j] = y < lo[j] ? y : lo[j];
          hi[j] = y > hi[j] ? y : hi[j];
        }
      }
      for (std::int64_t j = 0; j < len; ++j) {
        t1[j] = detail::ic_threshold(lo[j], hi[j], 1.0);
        te[j] = detail::ic_threshold(lo[j], hi[j], ic);
      }
      for (std::int64_t a = 0; a < k; ++a) {
        const T* __restrict row = u + base + a * stride;
        std::uint8_t* __restrict m = mask + base + a * stride;
        for (std::int64_t j = 0; j < len; ++j) {
          const double y = static_cast<double>(row[j]);
          m[j] &= static_cast<std::uint8_t>(detail::ne_bits(y, t1[j], te[j], tol));
        }
      }
    });
  }
}

template <class T>
void GameEvaluator::pass_e(const GameData<T>& game, const Exec& exec, PassE& out) {
  const StrategyKind kind = opt_.strategy.kind;
  const bool sum_ne = kind == StrategyKind::uniform_ne;
  const bool sum_eps = kind == StrategyKind::uniform_eps_ne;
  const std::uint8_t want = sum_ne ? 1 : 2;
  e_parts_.resize(static_cast<std::size_t>(chunks_));
  exec.run(chunks_, [&](std::int64_t c, int) {
    PassE& p = e_parts_[static_cast<std::size_t>(c)];
    p.ne = p.eps = 0;
    p.worst_ne = p.best_ne = p.worst_eps = detail::arg_empty();
    for (int i = 0; i < n_; ++i) p.su[i] = p.suh[i] = 0.0;
    const std::int64_t s0 = chunk_begin(c), s1 = chunk_end(c);
    for (std::int64_t s = s0; s < s1; ++s) {
      const std::uint8_t m = mask_[static_cast<std::size_t>(s)];
      if (!m) continue;
      const double w = detail::welfare_at<double>(n_, opt_.welfare, game, 0, s);
      if (m & 1) {
        ++p.ne;
        p.worst_ne = detail::arg_min(p.worst_ne, ArgExt{w, s});
        p.best_ne = detail::arg_max(p.best_ne, ArgExt{w, s});
      }
      if (m & 2) {
        ++p.eps;
        p.worst_eps = detail::arg_min(p.worst_eps, ArgExt{w, s});
      }
      if ((sum_ne || sum_eps) && (m & want)) {
        for (int i = 0; i < n_; ++i) {
          p.su[i] += static_cast<double>(game.vec(i)[s]);
          p.suh[i] += static_cast<double>(game.vec(n_ + i)[s]);
        }
      }
    }
  });
  out.ne = out.eps = 0;
  out.worst_ne = out.best_ne = out.worst_eps = detail::arg_empty();
  for (const PassE& p : e_parts_) {
    out.ne += p.ne;
    out.eps += p.eps;
    out.worst_ne = detail::arg_min(out.worst_ne, p.worst_ne);
    out.best_ne = detail::arg_max(out.best_ne, p.best_ne);
    out.worst_eps = detail::arg_min(out.worst_eps, p.worst_eps);
  }
  for (int i = 0; i < n_; ++i) {
    CompensatedSum su, suh;
    for (const PassE& p : e_parts_) su.add(p.su[i]), suh.add(p.suh[i]);
    out.su[i] = su.value(), out.suh[i] = suh.value();
  }
}
template <class T>
void GameEvaluator::pass_f(const GameData<T>& game, const Exec& exec, std::int64_t g, double lo, double hi,
                           PassF& out) {
  const StrategyKind kind = opt_.strategy.kind;
  const double* weights = nullptr;
  if (kind == StrategyKind::correlated || kind == StrategyKind::product) {
    weights = opt_.strategy.weights.data() + (opt_.strategy.per_game ? g * per_strategy_ : 0);
  }
  const double tol = opt_.played_tolerance;
  const double mid = (lo + hi) / 2;
  f_parts_.resize(static_cast<std::size_t>(chunks_));
  exec.run(chunks_, [&](std::int64_t c, int) {
    PassF& p = f_parts_[static_cast<std::size_t>(c)];
    p.count = 0;
    p.closest = detail::arg_empty();
    for (int i = 0; i < n_; ++i) p.su[i] = p.suh[i] = 0.0;
    const std::int64_t s0 = chunk_begin(c), s1 = chunk_end(c);
    if (kind == StrategyKind::played) {
      for (std::int64_t s = s0; s < s1; ++s) {
        const double w = detail::welfare_at<double>(n_, opt_.welfare, game, 0, s);
        if (lo - tol < w && w < hi + tol) {
          ++p.count;
          for (int i = 0; i < n_; ++i) {
            p.su[i] += static_cast<double>(game.vec(i)[s]);
            p.suh[i] += static_cast<double>(game.vec(n_ + i)[s]);
          }
        } else {
          p.closest = detail::arg_min(p.closest, ArgExt{std::fabs(w - mid), s});
        }
      }
      return;
    }
    // Correlated or product: expectation under σ. For product, σ(s) = Π_i σ_i(s_i), with the
    // action tuple advanced like an odometer.
    std::int64_t act[kMaxPlayers];
    std::int64_t offset[kMaxPlayers];
    if (kind == StrategyKind::product) {
      std::int64_t off = 0;
      for (int i = 0; i < n_; ++i) {
        act[i] = (s0 / dims_.stride(i)) % dims_.actions(i);
        offset[i] = off;
        off += dims_.actions(i);
      }
    }
    for (std::int64_t s = s0; s < s1; ++s) {
      double sigma;
      if (kind == StrategyKind::correlated) {
        sigma = weights[s];
      } else {
        sigma = 1.0;
        for (int i = 0; i < n_; ++i) sigma *= weights[offset[i] + act[i]];
        for (int i = n_ - 1; i >= 0; --i) {
          if (++act[i] < dims_.actions(i)) break;
          act[i] = 0;
        }
      }
      if (sigma == 0.0) continue;
      for (int i = 0; i < n_; ++i) {
        p.su[i] += sigma * static_cast<double>(game.vec(i)[s]);
        p.suh[i] += sigma * static_cast<double>(game.vec(n_ + i)[s]);
      }
    }
  });
  out.count = 0;
  out.closest = detail::arg_empty();
  for (const PassF& p : f_parts_) {
    out.count += p.count;
    out.closest = detail::arg_min(out.closest, p.closest);
  }
  for (int i = 0; i < n_; ++i) {
    CompensatedSum su, suh;
    for (const PassF& p : f_parts_) su.add(p.su[i]), suh.add(p.suh[i]);
    out.su[i] = su.value(), out.suh[i] = suh.value();
  }
}

template <class T>
bool GameEvaluator::evaluate(const GameData<T>& game, std::int64_t g, const Exec& exec,
                             const detail::ColumnPointers& out, Results& r) {
  const int n = n_, nv = 2 * n_;
  const std::size_t gi = static_cast<std::size_t>(g);
  detail::GameSummary S = detail::summary_empty();

  PassA a;
  pass_a(game, exec, a);
  if (a.nonfinite) {
    if (!opt_.allow_nonfinite) return false;
    detail::finish_nonfinite_game(n, out, g);
    return true;
  }
  S.w_max = a.w_max, S.w_min = a.w_min, S.wh_max = a.wh_max, S.wh_min = a.wh_min;

  // Standardisation (docs/MATH.md §3).
  double shift[2 * kMaxPlayers], mag[2 * kMaxPlayers], ia[kMaxPlayers];
  for (int v = 0; v < nv; ++v) {
    shift[v] = detail::shift_of(opt_.standardisation, a.sum[v], N_, a.lo[v], a.hi[v]);
    // (the centred sum of squares where the standardisation asks for it, else 0 and unused)
    mag[v] = detail::magnitude_of(opt_.standardisation, a.moments[v].m2, a.lo[v], a.hi[v]);
  }

  // Alignment (docs/MATH.md §4.1, §4.2).
  PassC& c = c_out_;
  pass_c(game, exec, shift, mag, c);
  const double* c_ia = c.acc.data();
  const double* c_ca_a = c_ia + n;
  const double* c_ca_p = c_ia + 2 * n;
  const double* c_dm = c_ia + 3 * n;
  const detail::AnyNorm norm{opt_.standardisation};
  for (int i = 0; i < n; ++i) ia[i] = detail::ia_from_norm(norm.finish(c_ia[i]), k_);
  S.ca_agents = detail::collective_alignment<double>(n, mag, [&](int i) { return norm.finish(c_ca_a[i]); });
  S.ca_principals = detail::collective_alignment<double>(n, mag + n, [&](int i) { return norm.finish(c_ca_p[i]); });
  if (opt_.distance_matrix) {
    double* dm = r.distance_matrix.data() + gi * nv * nv;
    std::size_t q = 0;
    for (int x = 0; x < nv; ++x) {
      dm[x * nv + x] = 0.0;
      for (int y = x + 1; y < nv; ++y, ++q) {
        const double d = detail::distance_from_norm(norm.finish(c_dm[q]), k_);
        dm[x * nv + y] = dm[y * nv + x] = d;
      }
    }
  }

  // Equilibria (docs/MATH.md §1.4, §4.3).
  pass_d(game, exec);
  PassE e;
  pass_e(game, exec, e);
  S.ne = e.ne, S.eps = e.eps;
  S.worst_ne = e.worst_ne, S.best_ne = e.best_ne, S.worst_eps = e.worst_eps;
  if (opt_.list_equilibria) {
    auto& list = r.pure_ne[gi];
    list.clear();
    list.reserve(static_cast<std::size_t>(e.ne));
    for (std::int64_t s = 0; s < N_; ++s) {
      if (mask_[static_cast<std::size_t>(s)] & 1) list.push_back(s);
    }
  }

  // The sums over the agents' strategy's set (or σ-weighted), where a pass gathers them.
  double* su = e.su;
  double* suh = e.suh;
  std::int64_t pure_outcome = 0;
  PassF f;
  switch (opt_.strategy.kind) {
    case StrategyKind::played: {
      if (e.ne == 0 || e.eps == 0) break;  // undefined
      double lo, hi;
      detail::played_window(opt_.cc, S.w_max.value, S.worst_ne.value, S.worst_eps.value, opt_.cc_window, &lo, &hi);
      pass_f(game, exec, g, lo, hi, f);
      S.played_count = f.count;
      S.closest = f.closest;
      su = f.su, suh = f.suh;
      break;
    }
    case StrategyKind::correlated:
    case StrategyKind::product:
      pass_f(game, exec, g, 0.0, 0.0, f);
      su = f.su, suh = f.suh;
      break;
    case StrategyKind::pure: {
      const std::int64_t* act = opt_.strategy.actions.data() + (opt_.strategy.per_game ? g * n : 0);
      for (int i = 0; i < n; ++i) pure_outcome += act[i] * dims_.stride(i);
      break;
    }
    default:
      break;
  }

  // Every column (detail/finish.hpp).
  const detail::GameArrays A{a.lo, a.hi, shift, mag, ia, su, suh};
  auto finish = [&](auto players) { detail::finish_game(settings_, players, g, pure_outcome, S, A, game, out); };
  switch (n) {  // the common player counts at compile time (unrolled loops), the rest at run time
    case 2: finish(detail::Players<2>{}); break;
    case 3: finish(detail::Players<3>{}); break;
    default: finish(n);
  }
  return true;
}

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(int threads) : pool_(threads) {}
  const char* name() const override { return "cpu"; }

  void evaluate(const BatchView& batch, const Options& options, Results& results) override {
    if (batch.games < 0) throw error("batch: negative game count");
    if (batch.games > 0 && (!batch.agents || !batch.principals)) throw error("batch: null utility array");
    validate(options, batch.dims, batch.games);
    results.resize(batch.games, batch.dims.players(), options.list_equilibria, options.distance_matrix);
    if (batch.games == 0) {
      results.keep_columns(options.columns);
      return;
    }
    if (batch.dtype == DType::float32) {
      run<float>(batch, options, results);
    } else {
      run<double>(batch, options, results);
    }
    results.keep_columns(options.columns);  // every column is computed; unselected ones are freed
  }

 private:
  template <class T>
  void run(const BatchView& batch, const Options& options, Results& results) {
    const std::int64_t per_game = batch.values_per_game();
    checked_mul(batch.games, per_game, "batch size (games x n x N)");
    const std::int64_t N = batch.dims.outcomes();
    const T* agents = static_cast<const T*>(batch.agents);
    const T* principals = static_cast<const T*>(batch.principals);
    auto game_at = [&](std::int64_t g) {
      return GameData<T>{agents + g * per_game, principals + g * per_game, batch.dims.players(), N};
    };

    detail::ColumnPointers out;
#define DGEVAL_CPU_COLUMN(name, kind, desc) out.name = results.name.empty() ? nullptr : results.name.data();
    DGEVAL_RESULT_COLUMNS(DGEVAL_CPU_COLUMN)
#undef DGEVAL_CPU_COLUMN

    std::int64_t first_bad_game = -1;
    std::mutex bad_mutex;
    auto note_bad = [&](std::int64_t g) {
      std::lock_guard<std::mutex> lock(bad_mutex);
      if (first_bad_game < 0 || g < first_bad_game) first_bad_game = g;
    };

    std::atomic<std::int64_t> done{0};
    std::atomic<bool> stop{false};
    auto last_report = std::chrono::steady_clock::now();
    auto report = [&](bool force) {
      if (!progress_) return;
      const auto now = std::chrono::steady_clock::now();
      if (!force && now - last_report < std::chrono::milliseconds(200)) return;
      last_report = now;
      if (!progress_(done.load(), batch.games)) stop = true;
    };

    const int threads = pool_.size();
    const bool per_game_parallel = threads == 1 || N <= kChunk || batch.games >= 4 * threads;
    if (per_game_parallel) {
      // Many games: each worker evaluates whole games with its own evaluator.
      std::vector<std::unique_ptr<GameEvaluator>> evaluators(static_cast<std::size_t>(threads));
      const std::int64_t games_per_task = std::max<std::int64_t>(1, std::min<std::int64_t>(256, kChunk / N));
      const std::int64_t tasks = (batch.games + games_per_task - 1) / games_per_task;
      pool_.parallel_for(tasks, [&](std::int64_t t, int worker) {
        if (stop) return;
        auto& ev = evaluators[static_cast<std::size_t>(worker)];
        if (!ev) ev = std::make_unique<GameEvaluator>(options, batch.dims);
        const std::int64_t g0 = t * games_per_task, g1 = std::min(batch.games, g0 + games_per_task);
        for (std::int64_t g = g0; g < g1; ++g) {
          if (!ev->evaluate(game_at(g), g, Exec{}, out, results)) note_bad(g);
        }
        done += g1 - g0;
        if (worker == 0) report(false);
      });
    } else {
      // Few large games: one at a time, each pass spread over all threads.
      GameEvaluator ev(options, batch.dims);
      for (std::int64_t g = 0; g < batch.games && !stop; ++g) {
        if (!ev.evaluate(game_at(g), g, Exec{&pool_}, out, results)) {
          note_bad(g);
          break;
        }
        ++done;
        report(false);
      }
    }
    if (first_bad_game >= 0) throw error(nonfinite_game_message(batch, first_bad_game));
    if (stop) throw cancelled();
    report(true);
  }

  detail::ThreadPool pool_;
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend(int threads) { return std::make_unique<CpuBackend>(threads); }

Results evaluate(const BatchView& batch, const Options& options, int threads) {
  auto backend = make_cpu_backend(threads);
  Results r;
  backend->evaluate(batch, options, r);
  return r;
}

}  // namespace dgeval
