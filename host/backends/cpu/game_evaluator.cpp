// The CPU backend's passes over one game's outcomes and the per-game evaluation
// (backends/cpu/game_evaluator.hpp), compiled for float32 and float64 input.
#include "backends/cpu/game_evaluator.hpp"

#include "backends/cpu/fused_two_player.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <string>
#include <type_traits>

#include "dgeval/detail/lanes.hpp"
#include "dgeval/error.hpp"

namespace dgeval {
namespace cpu {

namespace {

std::atomic<int> simd_set{-1};  // −1: DGEVAL_MULTI_PASS_SIMD (read when first needed)

bool env_simd() {
  const char* env = std::getenv("DGEVAL_MULTI_PASS_SIMD");
  if (!env || !*env) return true;
  const std::string s(env);
  if (s == "off") return false;
  if (s == "on") return true;
  throw error("DGEVAL_MULTI_PASS_SIMD: expected off or on, got '" + s + "'");
}

}  // namespace

void set_multi_pass_simd(int mode) { simd_set.store(mode < 0 ? static_cast<int>(env_simd()) : mode > 0 ? 1 : 0); }

bool multi_pass_simd() {
  int m = simd_set.load();
  if (m < 0) {
    m = static_cast<int>(env_simd());
    simd_set.store(m);
  }
  return m != 0;
}

template <int L, class T>
void GameEvaluator::stats_chunk(const GameData<T>& game, std::int64_t c, Scratch& sc, StatsPass& p) {
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
    p.moments[v] =
        centred && !p.nonfinite ? pivoted_moments<L>(x, len, static_cast<double>(game.vec(v)[0])) : Moments{};
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
void GameEvaluator::pass_stats(const GameData<T>& game, const Exec& exec, StatsPass& out) {
  const int nv = 2 * n_;
  stats_parts_.resize(static_cast<std::size_t>(chunks_));
  prepare_scratch(exec);
  exec.run(chunks_, [&](std::int64_t c, int worker) {
    StatsPass& p = stats_parts_[static_cast<std::size_t>(c)];
    Scratch& sc = scratch_[static_cast<std::size_t>(worker)];
    if (narrow_) {
      stats_chunk<1>(game, c, sc, p);
    } else if (!simd_) {
      stats_chunk<kLanes>(game, c, sc, p);
    } else {
      if (sc.nu.size() < 2 * static_cast<std::size_t>(kBlock)) sc.nu.resize(2 * kBlock);
      MultiPassChunk mc = chunk_of(game, c);
      mc.centred = detail::needs_centred_squares(opt_.standardisation);
      mc.average = opt_.welfare == Welfare::average;
      mc.scratch = sc.nu.data();
      mc.stats = &p;
      multi_pass_stats(mc);
    }
  });
  out.nonfinite = false;
  out.count = 0;
  out.w_max = out.w_min = out.wh_max = out.wh_min = detail::arg_empty();
  for (const StatsPass& p : stats_parts_) {
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
    for (const StatsPass& p : stats_parts_) {
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
void GameEvaluator::align_chunk(const GameData<T>& game, std::int64_t c, const double* shift, const double* mag,
                                Scratch& sc, double* part) {
  const int n = n_, nv = 2 * n_;
  const double* mag_a = mag;
  const double* mag_p = mag + n;
  const double inv_weight_a = detail::inverse_magnitude_of(detail::ca_weight<double>(n, mag_a));
  const double inv_weight_p = detail::inverse_magnitude_of(detail::ca_weight<double>(n, mag_p));
  constexpr bool inf_norm = std::is_same<Norm, detail::LInfNorm>::value;
  if (L == kLanes && simd_ && (std::is_same<Norm, detail::L2Norm>::value || inf_norm)) {
    const std::size_t need = static_cast<std::size_t>(nv + 2) * kBlock;
    if (sc.nu.size() < need) sc.nu.resize(need);
    sc.acc.resize(accumulators_ * kLanes);
    MultiPassChunk mc = chunk_of(game, c);
    mc.scratch = sc.nu.data();
    mc.shift = shift, mc.mag = mag;
    mc.inverse_weight[0] = inv_weight_a, mc.inverse_weight[1] = inv_weight_p;
    mc.max_norm = inf_norm;
    mc.pairs = pairs_ > 0;
    mc.accumulators = accumulators_;
    mc.acc = sc.acc.data();
    multi_pass_align(mc);
    for (std::size_t q = 0; q < accumulators_; ++q) part[q] = combine_lanes<Norm, L>(sc.acc.data() + q * kLanes);
    return;
  }
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
        for (std::int64_t j = 0; j < bl; ++j)
          nu[j] = detail::standardised_by_inverse(static_cast<double>(x[j]), sh, inv);
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
      mu_a[j] = detail::ca_mean<double>(
          n, mag_a, [&](int i) { return nu[static_cast<std::size_t>(i) * kBlock + j]; }, inv_weight_a);
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
void GameEvaluator::pass_align(const GameData<T>& game, const Exec& exec, const double* shift, const double* mag,
                               AlignPass& out) {
  detail::visit_standardisation(opt_.standardisation, [&](auto op) {
    using Norm = typename decltype(op)::Norm;
    align_parts_.resize(static_cast<std::size_t>(chunks_) * accumulators_);
    prepare_scratch(exec);
    exec.run(chunks_, [&](std::int64_t c, int worker) {
      double* part = align_parts_.data() + static_cast<std::size_t>(c) * accumulators_;
      Scratch& sc = scratch_[static_cast<std::size_t>(worker)];
      if (narrow_) {
        align_chunk<T, Norm, 1>(game, c, shift, mag, sc, part);
      } else {
        align_chunk<T, Norm, kLanes>(game, c, shift, mag, sc, part);
      }
    });
    // Fold the chunks' partials in chunk order (Norm::fold: compensated sums for L2).
    out.acc.resize(accumulators_);
    for (std::size_t q = 0; q < accumulators_; ++q) {
      double state[2] = {0.0, 0.0};
      for (std::int64_t c = 0; c < chunks_; ++c)
        Norm::fold(state, align_parts_[static_cast<std::size_t>(c) * accumulators_ + q]);
      out.acc[q] = Norm::folded(state);
    }
    return 0;
  });
}

template <class T>
void GameEvaluator::pass_equilibria_mask(const GameData<T>& game, const Exec& exec) {
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
      if (simd_) {
        exec.run(tasks, [&](std::int64_t t, int worker) {
          Scratch& sc = scratch_[static_cast<std::size_t>(worker)];
          if (sc.ctx.size() < mask_fibers_scratch(k)) sc.ctx.resize(mask_fibers_scratch(k));
          MaskFibers mf;
          mf.u = u;
          mf.float32 = sizeof(T) == sizeof(float);
          mf.f0 = t * per_task;
          mf.fibers = std::min(fibers, (t + 1) * per_task) - mf.f0;
          mf.k = k;
          mf.ic = ic, mf.tolerance = tol;
          mf.mask = mask;
          mf.ctx = sc.ctx.data();
          multi_pass_mask_fibers(mf);
        });
        continue;
      }
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
    if (simd_) {
      // On vectors: where one run covers the stride, a task takes several outer indices (about kChunk
      // outcomes), so a small stride does not cost a call per outer index.
      const std::int64_t per_task = runs == 1 ? std::max<std::int64_t>(1, kChunk / (stride * k)) : 1;
      const std::int64_t groups = (outer_count + per_task - 1) / per_task;
      exec.run(groups * runs, [&](std::int64_t t, int worker) {
        const std::int64_t outer = (t / runs) * per_task, in0 = (t % runs) * width;
        Scratch& sc = scratch_[static_cast<std::size_t>(worker)];
        if (sc.ctx.size() < 4 * static_cast<std::size_t>(width)) sc.ctx.resize(4 * static_cast<std::size_t>(width));
        MaskRows rows;
        rows.u = u;
        rows.float32 = sizeof(T) == sizeof(float);
        rows.base = outer * stride * k + in0;
        rows.stride = stride, rows.k = k, rows.len = std::min(stride, in0 + width) - in0;
        rows.outers = std::min(per_task, outer_count - outer);
        rows.ic = ic, rows.tolerance = tol;
        rows.mask = mask;
        rows.ctx = sc.ctx.data();
        multi_pass_mask_rows(rows);
      });
      continue;
    }
    exec.run(outer_count * runs, [&](std::int64_t t, int worker) {
      const std::int64_t outer = t / runs, in0 = (t % runs) * width;
      const std::int64_t len = std::min(stride, in0 + width) - in0;
      Scratch& sc = scratch_[static_cast<std::size_t>(worker)];
      if (sc.ctx.size() < 4 * static_cast<std::size_t>(width)) sc.ctx.resize(4 * static_cast<std::size_t>(width));
      const std::int64_t base = outer * stride * k + in0;
      double* __restrict lo = sc.ctx.data();
      double* __restrict hi = lo + width;
      double* __restrict t1 = hi + width;
      double* __restrict te = t1 + width;
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
void GameEvaluator::pass_equilibria(const GameData<T>& game, const Exec& exec, EquilibriaPass& out) {
  const unsigned sum_bits = EquilibriaPass::sum_bits_of(opt_.strategy.kind);
  equilibria_parts_.resize(static_cast<std::size_t>(chunks_));
  exec.run(chunks_, [&](std::int64_t c, int) {
    EquilibriaPass& p = equilibria_parts_[static_cast<std::size_t>(c)];
    p.clear(n_);
    const std::int64_t s0 = chunk_begin(c), s1 = chunk_end(c);
    for (std::int64_t s = s0; s < s1; ++s)
      p.add(game, n_, opt_.welfare, s, mask_[static_cast<std::size_t>(s)], sum_bits);
  });
  out.merge(n_, equilibria_parts_, [](const EquilibriaPass& p) -> const EquilibriaPass& { return p; });
}
template <class T>
void GameEvaluator::pass_strategy(const GameData<T>& game, const Exec& exec, std::int64_t g, double lo, double hi,
                                  StrategyPass& out) {
  const StrategyKind kind = opt_.strategy.kind;
  const double* weights = nullptr;
  if (strategy_has_weights(kind)) {
    weights = opt_.strategy.weights.data() + (opt_.strategy.per_game ? g * per_strategy_ : 0);
  }
  const double tol = opt_.played_tolerance;
  const double mid = (lo + hi) / 2;
  strategy_parts_.resize(static_cast<std::size_t>(chunks_));
  exec.run(chunks_, [&](std::int64_t c, int) {
    StrategyPass& p = strategy_parts_[static_cast<std::size_t>(c)];
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
  for (const StrategyPass& p : strategy_parts_) {
    out.count += p.count;
    out.closest = detail::arg_min(out.closest, p.closest);
  }
  for (int i = 0; i < n_; ++i) {
    CompensatedSum su, suh;
    for (const StrategyPass& p : strategy_parts_) su.add(p.su[i]), suh.add(p.suh[i]);
    out.su[i] = su.value(), out.suh[i] = suh.value();
  }
}

template <class T>
bool GameEvaluator::evaluate(const GameData<T>& game, std::int64_t g, const Exec& exec,
                             const detail::ColumnPointers& out, Results& r) {
  if (fused_ && fused_->evaluate(game, g, exec, out, r)) return true;
  const int n = n_, nv = 2 * n_;
  const std::size_t gi = static_cast<std::size_t>(g);
  detail::GameSummary S = detail::summary_empty();

  StatsPass stats;
  pass_stats(game, exec, stats);
  if (stats.nonfinite) {
    if (!opt_.allow_nonfinite) return false;
    detail::finish_nonfinite_game(n, out, g);
    return true;
  }
  S.w_max = stats.w_max, S.w_min = stats.w_min, S.wh_max = stats.wh_max, S.wh_min = stats.wh_min;

  // Standardisation (docs/MATH.md §3).
  double shift[2 * kMaxPlayers], mag[2 * kMaxPlayers], ia[kMaxPlayers];
  for (int v = 0; v < nv; ++v) {
    shift[v] = detail::shift_of(opt_.standardisation, stats.sum[v], N_, stats.lo[v], stats.hi[v]);
    // (the centred sum of squares where the standardisation asks for it, else 0 and unused)
    mag[v] = detail::magnitude_of(opt_.standardisation, stats.moments[v].m2, stats.lo[v], stats.hi[v]);
  }

  // align (docs/MATH.md §4.1, §4.2).
  AlignPass& align = align_out_;
  pass_align(game, exec, shift, mag, align);
  const double* c_ia = align.acc.data();
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

  // equilibria (docs/MATH.md §1.4, §4.3).
  pass_equilibria_mask(game, exec);
  EquilibriaPass eq;
  pass_equilibria(game, exec, eq);
  S.ne = eq.ne, S.eps = eq.eps;
  S.worst_ne = eq.worst_ne, S.best_ne = eq.best_ne, S.worst_eps = eq.worst_eps;
  if (opt_.list_equilibria) {
    auto& list = r.pure_ne[gi];
    list.clear();
    list.reserve(static_cast<std::size_t>(eq.ne));
    for (std::int64_t s = 0; s < N_; ++s) {
      if (mask_[static_cast<std::size_t>(s)] & 1) list.push_back(s);
    }
  }

  // The sums over the agents' strategy's set (or σ-weighted), where a pass gathers them (equilibria for the uniform
  // sets, strategy for the others).
  double* su = eq.su;
  double* suh = eq.suh;
  std::int64_t pure_outcome = 0;
  StrategyPass strat;
  switch (opt_.strategy.kind) {
    case StrategyKind::played: {
      if (eq.ne == 0 || eq.eps == 0) break;  // undefined
      double lo, hi;
      detail::played_window(opt_.cc, S.w_max.value, S.worst_ne.value, S.worst_eps.value, opt_.cc_window, &lo, &hi);
      pass_strategy(game, exec, g, lo, hi, strat);
      S.played_count = strat.count;
      S.closest = strat.closest;
      su = strat.su, suh = strat.suh;
      break;
    }
    case StrategyKind::correlated:
    case StrategyKind::product:
      pass_strategy(game, exec, g, 0.0, 0.0, strat);
      su = strat.su, suh = strat.suh;
      break;
    case StrategyKind::pure: {
      const std::int64_t* act = opt_.strategy.actions.data() + (opt_.strategy.per_game ? g * n : 0);
      for (int i = 0; i < n; ++i) pure_outcome += act[i] * dims_.stride(i);
      break;
    }
    default:
      break;
  }

  // finish: every column (detail/finish.hpp).
  const detail::GameArrays A{stats.lo, stats.hi, shift, mag, ia, su, suh};
  auto finish = [&](auto players) { detail::finish_game(settings_, players, g, pure_outcome, S, A, game, out); };
  switch (n) {  // the common player counts at compile time (unrolled loops), the rest at run time
    case 2:
      finish(detail::Players<2>{});
      break;
    case 3:
      finish(detail::Players<3>{});
      break;
    default:
      finish(n);
  }
  return true;
}

template bool GameEvaluator::evaluate<float>(const GameData<float>&, std::int64_t, const Exec&,
                                             const detail::ColumnPointers&, Results&);
template bool GameEvaluator::evaluate<double>(const GameData<double>&, std::int64_t, const Exec&,
                                              const detail::ColumnPointers&, Results&);

}  // namespace cpu
}  // namespace dgeval
