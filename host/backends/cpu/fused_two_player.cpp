// The fused 2-player path (backends/cpu/fused_two_player.hpp): the chunks over the thread pool,
// their merge in chunk order, the Gram-to-alignment finishing (detail/gram.hpp), the candidates'
// re-check and the finishing step (detail/finish.hpp).
#include "backends/cpu/fused_two_player.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>

#include "dgeval/detail/alignment.hpp"
#include "dgeval/detail/measures.hpp"
#include "dgeval/error.hpp"

namespace dgeval {
namespace cpu {

namespace {

std::atomic<int> mode_set{-1};  // −1: DGEVAL_FUSED (read when first needed)

FusedMode env_mode() {
  const char* env = std::getenv("DGEVAL_FUSED");
  if (!env || !*env) return FusedMode::automatic;
  const std::string s(env);
  if (s == "off") return FusedMode::off;
  if (s == "always") return FusedMode::always;
  if (s == "on" || s == "auto") return FusedMode::automatic;
  throw error("DGEVAL_FUSED: expected off, on or always, got '" + s + "'");
}

}  // namespace

void set_fused_mode(FusedMode mode) {
  mode_set.store(mode == FusedMode::automatic ? static_cast<int>(env_mode()) : static_cast<int>(mode));
}

FusedMode fused_mode() {
  int m = mode_set.load();
  if (m < 0) {
    m = static_cast<int>(env_mode());
    mode_set.store(m);
  }
  return static_cast<FusedMode>(m);
}

bool fused_applies(const Options& o, const Dims& d) {
  const FusedMode mode = fused_mode();
  if (mode == FusedMode::off || d.players() != 2 || o.standardisation != Standardisation::epic) return false;
  const StrategyKind k = o.strategy.kind;
  if (!(k == StrategyKind::worst_ne || k == StrategyKind::best_ne || k == StrategyKind::uniform_ne ||
        k == StrategyKind::uniform_eps_ne || k == StrategyKind::pure))
    return false;
  if (mode == FusedMode::always) return true;
  return d.outcomes() >= kFusedMinOutcomes && d.actions(1) >= 8 && d.actions(1) <= kFusedMaxRow;
}

std::shared_ptr<FusedTwoPlayer> make_fused_two_player(const Options& o, const Dims& d) {
  if (!fused_applies(o, d)) return nullptr;
  return std::make_shared<FusedTwoPlayer>(o, d);
}

FusedTwoPlayer::FusedTwoPlayer(const Options& o, const Dims& d) : opt_(o), dims_(d) {
  k0_ = d.actions(0), k1_ = d.actions(1), N_ = d.outcomes();
  rows_per_chunk_ = std::max<std::int64_t>(1, kChunk / k1_);
  chunks_ = (k0_ + rows_per_chunk_ - 1) / rows_per_chunk_;
  ic_[0] = o.ic_level(0), ic_[1] = o.ic_level(1);
  k_ = detail::standardisation_constants(o.standardisation);
  settings_ = detail::FinishSettings{2, o.welfare, k_, o.cc, o.cc_window, o.strategy.kind};
  // Vectors: 0 u₁, 1 u₂, 2 û₁, 3 û₂. The squares, IA's pairs, CA's pairs, and the distance matrix's rest.
  static const int base_u[8] = {0, 1, 2, 3, 0, 1, 0, 2}, base_v[8] = {0, 1, 2, 3, 2, 3, 1, 3};
  entries_ = o.distance_matrix ? 10 : 8;
  for (int e = 0; e < 8; ++e) pair_u_[e] = base_u[e], pair_v_[e] = base_v[e];
  pair_u_[8] = 0, pair_v_[8] = 3, pair_u_[9] = 1, pair_v_[9] = 2;
  for (auto& row : index_) {
    for (int& x : row) x = -1;
  }
  for (int e = 0; e < entries_; ++e) index_[pair_u_[e]][pair_v_[e]] = e;
}

template <class T>
bool FusedTwoPlayer::evaluate(const GameData<T>& game, std::int64_t g, const Exec& exec,
                              const detail::ColumnPointers& out, Results& r) {
  using detail::ArgExt;
  using detail::DoubleDouble;
  const int n = 2, workers = exec.workers();
  const std::size_t gi = static_cast<std::size_t>(g);
  const double N = static_cast<double>(N_);
  const double tol = opt_.ne_tolerance;
  constexpr double kBig = 1e100, kTiny = 1e-100;

  if (col_lo_.size() < static_cast<std::size_t>(workers)) {
    col_lo_.resize(static_cast<std::size_t>(workers));
    col_hi_.resize(static_cast<std::size_t>(workers));
    scratch_.resize(static_cast<std::size_t>(workers));
    candidates_.resize(static_cast<std::size_t>(workers));
  }
  for (int w = 0; w < workers; ++w) {
    col_lo_[static_cast<std::size_t>(w)].assign(static_cast<std::size_t>(k1_), kInf);
    col_hi_[static_cast<std::size_t>(w)].assign(static_cast<std::size_t>(k1_), -kInf);
    candidates_[static_cast<std::size_t>(w)].clear();
  }
  parts_.resize(static_cast<std::size_t>(chunks_));
  double pivot[4];
  for (int v = 0; v < 4; ++v) pivot[v] = static_cast<double>(game.vec(v)[0]);

  // The one read.
  exec.run(chunks_, [&](std::int64_t c, int worker) {
    const std::size_t w = static_cast<std::size_t>(worker);
    FusedChunk fc;
    for (int v = 0; v < 4; ++v) fc.x[v] = game.vec(v), fc.pivot[v] = pivot[v];
    fc.float32 = sizeof(T) == sizeof(float);
    fc.k1 = k1_;
    fc.r0 = c * rows_per_chunk_;
    fc.r1 = std::min(k0_, fc.r0 + rows_per_chunk_);
    fc.tolerance = tol;
    fc.ic = ic_[1];
    fc.average = opt_.welfare == Welfare::average;
    fc.entries = entries_;
    fc.pair_u = pair_u_;
    fc.pair_v = pair_v_;
    fc.col_lo = col_lo_[w].data();
    fc.col_hi = col_hi_[w].data();
    fc.candidates = &candidates_[w];
    fc.scratch = &scratch_[w];
    Part& p = parts_[static_cast<std::size_t>(c)];
    p.worker = worker;
    p.begin = candidates_[w].size();
    fused_chunk(fc);
    p.end = candidates_[w].size();
    for (int v = 0; v < 4; ++v) {
      p.sum[v] = detail::dd_combine8(fc.sum_hi[v], fc.sum_lo[v]);
      p.lo[v] = combine_min<kLanes>(fc.lo[v]);
      p.hi[v] = combine_max<kLanes>(fc.hi[v]);
    }
    for (int e = 0; e < entries_; ++e) p.prod[e] = detail::dd_combine8(fc.prod_hi[e], fc.prod_lo[e]);
    p.w_max = fc.w_max, p.w_min = fc.w_min, p.wh_max = fc.wh_max, p.wh_min = fc.wh_min;
  });

  // Merge in chunk order.
  DoubleDouble sum[4], prod[10];
  double lo[4], hi[4];
  for (int v = 0; v < 4; ++v) sum[v] = detail::dd_zero<double>(), lo[v] = kInf, hi[v] = -kInf;
  for (int e = 0; e < entries_; ++e) prod[e] = detail::dd_zero<double>();
  detail::GameSummary S = detail::summary_empty();
  S.w_max = S.w_min = S.wh_max = S.wh_min = detail::arg_empty();
  for (const Part& p : parts_) {
    for (int v = 0; v < 4; ++v) {
      sum[v] = detail::dd_add(sum[v], p.sum[v]);
      lo[v] = std::min(lo[v], p.lo[v]);
      hi[v] = std::max(hi[v], p.hi[v]);
    }
    for (int e = 0; e < entries_; ++e) prod[e] = detail::dd_add(prod[e], p.prod[e]);
    S.w_max = detail::arg_max(S.w_max, p.w_max);
    S.w_min = detail::arg_min(S.w_min, p.w_min);
    S.wh_max = detail::arg_max(S.wh_max, p.wh_max);
    S.wh_min = detail::arg_min(S.wh_min, p.wh_min);
  }
  // For the multi-pass path (the definition): a non-finite value (NaN never becomes a min or max, but
  // it makes the sums NaN), payoffs where a product could overflow, or ranges where one could underflow.
  for (int v = 0; v < 4; ++v) {
    if (!std::isfinite(sum[v].hi) || !std::isfinite(sum[v].lo) || !std::isfinite(lo[v]) || !std::isfinite(hi[v]))
      return false;
    if (std::fabs(lo[v]) > kBig || std::fabs(hi[v]) > kBig || std::fabs(pivot[v]) > kBig) return false;
    if (lo[v] != hi[v] && !(hi[v] - lo[v] >= kTiny)) return false;
  }
  for (int e = 0; e < entries_; ++e) {
    if (!std::isfinite(prod[e].hi) || !std::isfinite(prod[e].lo)) return false;
  }

  // Shifts, magnitudes, and the centred Gram matrix (detail/gram.hpp).
  DoubleDouble gram[4][4];
  for (int u = 0; u < 4; ++u) {
    for (int v = u; v < 4; ++v) {
      const int e = index_[u][v];
      gram[u][v] = e >= 0 ? detail::centred_product(prod[e], sum[u], sum[v], N) : detail::dd_zero<double>();
    }
  }
  auto G = [&](int u, int v) { return gram[u][v]; };
  double shift[4], mag[4], inv[4], ia[2];
  for (int v = 0; v < 4; ++v) {
    shift[v] = lo[v] == hi[v] ? lo[v] : detail::pivoted_mean(pivot[v], sum[v], N);
    mag[v] = detail::magnitude_of(opt_.standardisation, detail::centred_sum_squares(gram[v][v]), lo[v], hi[v]);
    inv[v] = detail::inverse_magnitude_of(mag[v]);
  }
  for (int i = 0; i < n; ++i)
    ia[i] = detail::ia_from_norm(detail::gram_difference_norm(G, i, 2 + i, inv[i], inv[2 + i]), k_);
  const double inv_weight_a = detail::inverse_magnitude_of(detail::ca_weight<double>(n, mag));
  const double inv_weight_p = detail::inverse_magnitude_of(detail::ca_weight<double>(n, mag + 2));
  S.ca_agents = detail::collective_alignment<double>(
      n, mag, [&](int i) { return detail::gram_ca_norm(G, n, 0, i, mag, inv, inv_weight_a); });
  S.ca_principals = detail::collective_alignment<double>(
      n, mag + 2, [&](int i) { return detail::gram_ca_norm(G, n, 2, i, mag + 2, inv + 2, inv_weight_p); });
  if (opt_.distance_matrix) {
    double* dm = r.distance_matrix.data() + gi * 16;
    for (int x = 0; x < 4; ++x) {
      dm[x * 4 + x] = 0.0;
      for (int y = x + 1; y < 4; ++y) {
        const double dist = detail::distance_from_norm(detail::gram_difference_norm(G, x, y, inv[x], inv[y]), k_);
        dm[x * 4 + y] = dm[y * 4 + x] = dist;
      }
    }
  }

  // Player 1's thresholds per column, then the candidates' re-check.
  t1_.resize(static_cast<std::size_t>(k1_));
  te_.resize(static_cast<std::size_t>(k1_));
  for (std::int64_t j = 0; j < k1_; ++j) {
    double cl = kInf, ch = -kInf;
    for (int w = 0; w < workers; ++w) {
      cl = std::min(cl, col_lo_[static_cast<std::size_t>(w)][static_cast<std::size_t>(j)]);
      ch = std::max(ch, col_hi_[static_cast<std::size_t>(w)][static_cast<std::size_t>(j)]);
    }
    t1_[static_cast<std::size_t>(j)] = detail::ic_threshold(cl, ch, 1.0);
    te_[static_cast<std::size_t>(j)] = detail::ic_threshold(cl, ch, ic_[0]);
  }
  const StrategyKind kind = opt_.strategy.kind;
  const unsigned sum_bits = EquilibriaPass::sum_bits_of(kind);
  const T* u1 = game.vec(0);
  exec.run(chunks_, [&](std::int64_t c, int) {
    Part& p = parts_[static_cast<std::size_t>(c)];
    p.eq.clear(n);
    std::int64_t* cand = candidates_[static_cast<std::size_t>(p.worker)].data();
    for (std::size_t k = p.begin; k < p.end; ++k) {
      const std::int64_t s = cand[k] >> 2;
      const std::size_t j = static_cast<std::size_t>(s % k1_);
      const std::int64_t m =
          (cand[k] & 3) & static_cast<std::int64_t>(detail::ne_bits(static_cast<double>(u1[s]), t1_[j], te_[j], tol));
      cand[k] = (s << 2) | m;
      p.eq.add(game, n, opt_.welfare, s, static_cast<unsigned>(m), sum_bits);
    }
  });
  EquilibriaPass eq;
  eq.merge(n, parts_, [](const Part& p) -> const EquilibriaPass& { return p.eq; });
  S.ne = eq.ne, S.eps = eq.eps;
  S.worst_ne = eq.worst_ne, S.best_ne = eq.best_ne, S.worst_eps = eq.worst_eps;
  double* su = eq.su;
  double* suh = eq.suh;
  if (opt_.list_equilibria) {
    auto& list = r.pure_ne[gi];
    list.clear();
    list.reserve(static_cast<std::size_t>(S.ne));
    for (const Part& p : parts_) {
      const std::int64_t* cand = candidates_[static_cast<std::size_t>(p.worker)].data();
      for (std::size_t k = p.begin; k < p.end; ++k) {
        if (cand[k] & 1) list.push_back(cand[k] >> 2);
      }
    }
  }

  std::int64_t pure_outcome = 0;
  if (kind == StrategyKind::pure) {
    const std::int64_t* act = opt_.strategy.actions.data() + (opt_.strategy.per_game ? g * n : 0);
    for (int i = 0; i < n; ++i) pure_outcome += act[i] * dims_.stride(i);
  }
  const detail::GameArrays A{lo, hi, shift, mag, ia, su, suh};
  detail::finish_game(settings_, detail::Players<2>{}, g, pure_outcome, S, A, game, out);
  return true;
}

template bool FusedTwoPlayer::evaluate<float>(const GameData<float>&, std::int64_t, const Exec&,
                                              const detail::ColumnPointers&, Results&);
template bool FusedTwoPlayer::evaluate<double>(const GameData<double>&, std::int64_t, const Exec&,
                                               const detail::ColumnPointers&, Results&);

}  // namespace cpu
}  // namespace dgeval
