// The inference experiment of spec §6: per game, the four candidate sets, J samples from each,
// and every estimator after every `every` samples, with errors against the truth; aggregated
// over the games of each size into curves (mean, its 90% interval, quantiles).
//
// The estimates are the same as infer() on the same rows with weights 1 (tests check this), but
// kept incrementally: IA and CA are recomputed over the distinct outcomes at each checkpoint (the
// three exact passes of detail/inference.hpp), IC and CC from running per-context extremes.
//
// Determinism: game g of a size depends only on (dims, seed, g); games run in parallel in chunks
// whose per-game results are aggregated in game order, so the output does not depend on threads.
#include <algorithm>
#include <cmath>
#include <memory>
#include <ostream>

#include "dgeval/backend.hpp"
#include "dgeval/detail/inference.hpp"
#include "dgeval/error.hpp"
#include "dgeval/format.hpp"
#include "dgeval/inference.hpp"
#include "thread_pool.hpp"

namespace dgeval {

const char* to_string(InferenceMeasure m) {
  switch (m) {
    case InferenceMeasure::ca: return "ca";
    case InferenceMeasure::ic: return "ic";
    case InferenceMeasure::cc: return "cc";
    case InferenceMeasure::ic_realised: return "ic_realised";
    case InferenceMeasure::cc_realised: return "cc_realised";
    case InferenceMeasure::ia:
    default: return "ia";
  }
}

namespace {

constexpr int kDists = kObservedSets;
constexpr int kFamilies = 2;
constexpr int M = kInferenceMeasures;

// Error histogram: bin 0 holds errors below 1e-9, bins 1..kLogBins are 5% wide in log scale
// up to 10, the last bin holds the rest.
constexpr double kHistLo = 1e-9;
constexpr double kHistRatio = 1.05;
constexpr int kLogBins = 473;  // ceil(ln(1e10) / ln(1.05))
constexpr int kBins = kLogBins + 2;

int bin_of(double x) {
  if (x < kHistLo) return 0;
  const int b = 1 + static_cast<int>(std::floor(std::log(x / kHistLo) / std::log(kHistRatio)));
  return std::min(b, kBins - 1);
}
double bin_value(int b) {
  if (b == 0) return 0.0;
  if (b == kBins - 1) return kHistLo * std::pow(kHistRatio, kLogBins);
  return kHistLo * std::pow(kHistRatio, b - 0.5);
}

/// Running min/max per context of one player; `touched` lists the contexts seen.
struct ContextExtremes {
  std::vector<double> lo, hi;
  std::vector<std::int64_t> touched;
  void reset(std::int64_t contexts) {
    lo.assign(static_cast<std::size_t>(contexts), INFINITY);
    hi.assign(static_cast<std::size_t>(contexts), -INFINITY);
    touched.clear();
  }
  void add(std::int64_t c, double u) {
    auto& l = lo[static_cast<std::size_t>(c)];
    if (l == INFINITY) touched.push_back(c);
    l = std::min(l, u);
    hi[static_cast<std::size_t>(c)] = std::max(hi[static_cast<std::size_t>(c)], u);
  }
};

/// Everything one worker needs for one game; reused across games.
class GameRunner {
 public:
  GameRunner() : cpu_(make_cpu_backend(1)) {}

  /// Writes [dist][family][checkpoint][measure] errors of game g to out.
  void run(const Dims& dims, std::uint64_t seed, std::int64_t g, std::int64_t samples,
           const std::vector<std::int64_t>& checkpoints, double* out) {
    const int n = dims.players(), nv = 2 * n;
    const std::int64_t N = dims.outcomes();
    const std::int64_t C = static_cast<std::int64_t>(checkpoints.size());
    for (std::int64_t k = 0; k < kDists * kFamilies * C * M; ++k) out[k] = NAN;
    auto at = [&](int d, int f, std::int64_t c, int m) -> double& {
      return out[((static_cast<std::int64_t>(d) * kFamilies + f) * C + c) * M + m];
    };

    const InferenceGame ig = generate_inference_game(dims, seed, static_cast<std::uint64_t>(g));
    const Batch& game = ig.game;
    Results truth;
    cpu_->evaluate(game.view(), Options{}, truth);
    const OutcomeSets sets = outcome_sets(game, 0, ig.ic, ig.cc, 1.0 - ig.eps_tol);
    const double* u = game.agents.data();
    const double* uh = game.principals.data();

    // Per-outcome data: utilities [N][2n] and the agents' average welfare.
    x_.resize(static_cast<std::size_t>(N * nv));
    w_.resize(static_cast<std::size_t>(N));
    for (std::int64_t s = 0; s < N; ++s) {
      double sum = 0.0;
      for (int i = 0; i < n; ++i) {
        x_[static_cast<std::size_t>(s * nv + i)] = u[i * N + s];
        x_[static_cast<std::size_t>(s * nv + n + i)] = uh[i * N + s];
        sum += u[i * N + s];
      }
      w_[static_cast<std::size_t>(s)] = detail::welfare_of(sum, n, Welfare::average);
    }
    auto context = [&](int i, std::int64_t s) {
      const std::int64_t st = dims.stride(i), k = dims.actions(i);
      return (s / (st * k)) * st + s % st;
    };

    // Realised capabilities: min over E(IC) of the pointwise IC_i, and the CC level of the
    // worst played outcome.
    double ic_realised[kMaxPlayers];
    for (int i = 0; i < n; ++i) {
      const std::int64_t st = dims.stride(i), k = dims.actions(i);
      double m = INFINITY;
      for (std::int64_t s : sets.eps_ne) {
        const std::int64_t base = s - ((s / st) % k) * st;
        double lo = INFINITY, hi = -INFINITY;
        for (std::int64_t a = 0; a < k; ++a) lo = std::min(lo, u[i * N + base + a * st]), hi = std::max(hi, u[i * N + base + a * st]);
        m = std::min(m, hi == lo ? 1.0 : (u[i * N + s] - lo) / (hi - lo));
      }
      ic_realised[i] = m;
    }
    double played_min = INFINITY;
    for (std::int64_t s : sets.played) played_min = std::min(played_min, w_[static_cast<std::size_t>(s)]);
    const double cc_realised = detail::corrected_cc(played_min, sets.w_eps, sets.w_zero, sets.w_star);

    const std::vector<std::int64_t>* T[kDists] = {nullptr, &sets.ne, &sets.eps_ne, &sets.played};
    // E(IC) can be empty when some IC_i > 1 − eps_tol (the authors' override looks at player 0
    // only), and then the played set is too: such a game's errors stay NaN (undefined).
    if (sets.eps_ne.empty() || sets.played.empty() || sets.ne.empty()) return;
    const std::uint64_t sample_seed = detail::derive_seed(seed, 2);

    // Own-data state per distribution, and the pooled state of the corrected IC and CC.
    for (int d = 0; d < kDists; ++d) {
      stamp_[d].assign(static_cast<std::size_t>(N), 0);
      distinct_[d].clear();
    }
    own_ic_.resize(static_cast<std::size_t>(n));
    pool_all_.resize(static_cast<std::size_t>(n));
    pool_cap_.resize(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
      const std::int64_t contexts = N / dims.actions(i);
      own_ic_[static_cast<std::size_t>(i)].reset(contexts);
      pool_all_[static_cast<std::size_t>(i)].reset(contexts);
      pool_cap_[static_cast<std::size_t>(i)].reset(contexts);
    }
    double own_played_lo = INFINITY, own_played_hi = -INFINITY;
    double pool_played_lo = INFINITY, pool_ne_lo = INFINITY, pool_eps_lo = INFINITY, pool_star = -INFINITY;

    std::int64_t c = 0;
    for (std::int64_t j = 0; j < samples && c < C; ++j) {
      for (int d = 0; d < kDists; ++d) {
        const std::int64_t size = T[d] ? static_cast<std::int64_t>(T[d]->size()) : N;
        const std::int64_t k = detail::uniform_index(sample_seed, static_cast<std::uint64_t>(g), static_cast<std::uint64_t>(j), size);
        const std::int64_t s = T[d] ? (*T[d])[static_cast<std::size_t>(k)] : k;
        if (!stamp_[d][static_cast<std::size_t>(s)]) {
          stamp_[d][static_cast<std::size_t>(s)] = 1;
          distinct_[d].push_back(s);
        }
        const double ws = w_[static_cast<std::size_t>(s)];
        pool_star = std::max(pool_star, ws);
        for (int i = 0; i < n; ++i) pool_all_[static_cast<std::size_t>(i)].add(context(i, s), u[i * N + s]);
        if (d == static_cast<int>(ObservedSet::ne)) pool_ne_lo = std::min(pool_ne_lo, ws);
        if (d == static_cast<int>(ObservedSet::eps_ne)) {
          pool_eps_lo = std::min(pool_eps_lo, ws);
          for (int i = 0; i < n; ++i) {
            own_ic_[static_cast<std::size_t>(i)].add(context(i, s), u[i * N + s]);
            pool_cap_[static_cast<std::size_t>(i)].add(context(i, s), u[i * N + s]);
          }
        }
        if (d == static_cast<int>(ObservedSet::played)) {
          own_played_lo = std::min(own_played_lo, ws);
          own_played_hi = std::max(own_played_hi, ws);
          pool_played_lo = std::min(pool_played_lo, ws);
        }
      }
      if (j + 1 != checkpoints[static_cast<std::size_t>(c)]) continue;

      for (int d = 0; d < kDists; ++d) {
        double ia[kMaxPlayers], ca[2];
        alignment(distinct_[d], n, ia, ca);
        for (int f = 0; f < kFamilies; ++f) {
          double e = 0.0;
          for (int i = 0; i < n; ++i) e += std::fabs(truth.ia[static_cast<std::size_t>(i)] - ia[i]);
          at(d, f, c, 0) = e / n;  // NaN propagates when |O| < 2
          at(d, f, c, 1) = std::fabs(truth.ca_agents[0] - ca[f]);
        }
        // The authors' IC and CC: the ratios on their own distribution, 1 elsewhere (their code).
        double ic_est[kMaxPlayers];
        for (int i = 0; i < n; ++i) ic_est[i] = 1.0;
        if (d == static_cast<int>(ObservedSet::eps_ne)) {
          for (int i = 0; i < n; ++i) {
            const ContextExtremes& ce = own_ic_[static_cast<std::size_t>(i)];
            double m = INFINITY;
            for (std::int64_t k : ce.touched) {
              m = std::min(m, detail::authors_ratio(ce.lo[static_cast<std::size_t>(k)], ce.hi[static_cast<std::size_t>(k)]));
            }
            ic_est[i] = m;
          }
        }
        const double cc_est = d == static_cast<int>(ObservedSet::played) ? detail::authors_ratio(own_played_lo, own_played_hi) : 1.0;
        write_capabilities(at, d, 0, c, n, ig, ic_realised, cc_realised, ic_est, cc_est);
      }
      // The corrected IC (on eps_ne) and CC (on played) from the four samples together.
      double ic_corr[kMaxPlayers];
      for (int i = 0; i < n; ++i) {
        const ContextExtremes& cap = pool_cap_[static_cast<std::size_t>(i)];
        const ContextExtremes& all = pool_all_[static_cast<std::size_t>(i)];
        double m = INFINITY;
        for (std::int64_t k : cap.touched) {
          const double lo = all.lo[static_cast<std::size_t>(k)], hi = all.hi[static_cast<std::size_t>(k)];
          if (hi > lo) m = std::min(m, detail::range_position(cap.lo[static_cast<std::size_t>(k)], lo, hi));
        }
        ic_corr[i] = m < INFINITY ? m : NAN;
      }
      const double cc_corr = detail::corrected_cc(pool_played_lo, pool_eps_lo, pool_ne_lo, pool_star);
      write_capabilities(at, static_cast<int>(ObservedSet::eps_ne), 1, c, n, ig, ic_realised, NAN, ic_corr, NAN);
      write_capabilities(at, static_cast<int>(ObservedSet::played), 1, c, n, ig, nullptr, cc_realised, nullptr, cc_corr);
      ++c;
    }
  }

 private:
  /// IA_i (same under both families) and CA under the authors' (0) and corrected (1) weights
  /// over the distinct outcomes `O`, weights 1; NaN when |O| < 2.
  void alignment(const std::vector<std::int64_t>& O, int n, double* ia, double* ca) {
    const int nv = 2 * n;
    for (int i = 0; i < n; ++i) ia[i] = NAN;
    ca[0] = ca[1] = NAN;
    if (O.size() < 2) return;
    detail::ObservedMoments m;
    detail::moments_init(m, nv);
    for (std::int64_t s : O) detail::moments_add(m, 1.0, x_.data() + s * nv, nv);
    double shift[detail::kMaxUtilities], mag[detail::kMaxUtilities], css[detail::kMaxUtilities];
    for (int v = 0; v < nv; ++v) shift[v] = detail::observed_shift(m, v), css[v] = 0.0;
    for (std::int64_t s : O) detail::centred_add(css, 1.0, x_.data() + s * nv, shift, nv);
    double omega_c[kMaxPlayers], omega_a[kMaxPlayers], total_c = 0.0, total_a = 0.0;
    for (int v = 0; v < nv; ++v) mag[v] = detail::observed_magnitude(m, v, css[v]);
    for (int i = 0; i < n; ++i) {
      omega_c[i] = mag[i];
      omega_a[i] = detail::observed_raw_norm(m, i);
      total_c += omega_c[i];
      total_a += omega_a[i];
    }
    detail::AlignmentSums a;
    detail::alignment_init(a, n);
    for (std::int64_t s : O) {
      detail::alignment_add(a, 1.0, x_.data() + s * nv, shift, mag, omega_c, total_c, omega_a, total_a, n);
    }
    for (int i = 0; i < n; ++i) ia[i] = detail::observed_ia(a.ia[i]);
    ca[0] = detail::observed_ca(a.ca_authors, omega_a, n);
    ca[1] = detail::observed_ca(a.ca_corrected, omega_c, n);
  }

  /// Writes the IC errors (when ic_est is given) and CC errors (when cc_est is not NaN or
  /// ic_est is null) against the nominal and realised truths.
  template <class At>
  static void write_capabilities(At& at, int d, int f, std::int64_t c, int n, const InferenceGame& ig,
                                 const double* ic_realised, double cc_realised, const double* ic_est, double cc_est) {
    if (ic_est) {
      double e = 0.0, er = 0.0;
      for (int i = 0; i < n; ++i) {
        e += std::fabs(ig.ic[static_cast<std::size_t>(i)] - ic_est[i]);
        er += std::fabs(ic_realised[i] - ic_est[i]);
      }
      at(d, f, c, 2) = e / n;
      at(d, f, c, 4) = er / n;
    }
    if (!ic_est || f == 0) {
      at(d, f, c, 3) = std::fabs(ig.cc - cc_est);
      at(d, f, c, 5) = std::fabs(cc_realised - cc_est);
    }
  }

  std::unique_ptr<Backend> cpu_;
  std::vector<double> x_, w_;
  std::vector<std::uint8_t> stamp_[kDists];
  std::vector<std::int64_t> distinct_[kDists];
  std::vector<ContextExtremes> own_ic_, pool_all_, pool_cap_;
};

/// Aggregates of one size: [dist][family][checkpoint][measure] cells.
struct SizeAggregate {
  std::int64_t cells = 0;
  std::vector<std::int64_t> defined, undefined;
  std::vector<double> sum, sumsq;
  std::vector<std::uint32_t> hist;  // [cells][kBins]
  explicit SizeAggregate(std::int64_t c)
      : cells(c),
        defined(static_cast<std::size_t>(c), 0),
        undefined(static_cast<std::size_t>(c), 0),
        sum(static_cast<std::size_t>(c), 0.0),
        sumsq(static_cast<std::size_t>(c), 0.0),
        hist(static_cast<std::size_t>(c * kBins), 0) {}
  void add(const double* e) {
    for (std::int64_t k = 0; k < cells; ++k) {
      const double x = e[k];
      if (std::isnan(x)) {
        ++undefined[static_cast<std::size_t>(k)];
        continue;
      }
      ++defined[static_cast<std::size_t>(k)];
      sum[static_cast<std::size_t>(k)] += x;
      sumsq[static_cast<std::size_t>(k)] += x * x;
      ++hist[static_cast<std::size_t>(k * kBins + bin_of(x))];
    }
  }
  double quantile(std::int64_t k, double q) const {
    const std::int64_t count = defined[static_cast<std::size_t>(k)];
    if (count == 0) return NAN;
    const std::int64_t rank = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(q * static_cast<double>(count))));
    std::int64_t cum = 0;
    for (int b = 0; b < kBins; ++b) {
      cum += hist[static_cast<std::size_t>(k * kBins + b)];
      if (cum >= rank) return bin_value(b);
    }
    return bin_value(kBins - 1);
  }
};

}  // namespace

std::vector<InferenceCurveRow> run_inference_experiment(const InferenceExperimentConfig& config_in,
                                                        const std::function<void(const InferenceErrorRow&)>& per_game,
                                                        const std::function<void(std::int64_t, std::int64_t)>& progress) {
  InferenceExperimentConfig config = config_in;
  if (config.sizes.empty()) {
    config.sizes = {Dims({3, 3}), Dims({5, 5, 4}), Dims({6, 7, 4, 6}), Dims({7, 3, 8, 5, 12})};
  }
  if (config.games < 1) throw error("inference experiment: at least one game per size is needed");
  if (config.samples < 1) throw error("inference experiment: at least one sample is needed");
  if (config.every < 1) throw error("inference experiment: the checkpoint interval must be at least 1");
  std::vector<std::int64_t> checkpoints;
  for (std::int64_t j = config.every; j <= config.samples; j += config.every) checkpoints.push_back(j);
  if (checkpoints.empty() || checkpoints.back() != config.samples) checkpoints.push_back(config.samples);
  const std::int64_t C = static_cast<std::int64_t>(checkpoints.size());
  const std::int64_t cells = kDists * kFamilies * C * M;

  detail::ThreadPool pool(config.threads);
  std::vector<std::unique_ptr<GameRunner>> runners(static_cast<std::size_t>(pool.size()));
  const std::int64_t chunk = std::max<std::int64_t>(16, 32 * pool.size());
  std::vector<double> errors(static_cast<std::size_t>(chunk * cells));
  const std::int64_t total = config.games * static_cast<std::int64_t>(config.sizes.size());
  std::int64_t done = 0;
  std::vector<InferenceCurveRow> rows;

  for (std::size_t z = 0; z < config.sizes.size(); ++z) {
    const Dims& dims = config.sizes[z];
    const std::uint64_t seed = detail::derive_seed(config.seed, 1000 + z);
    SizeAggregate agg(cells);
    for (std::int64_t g0 = 0; g0 < config.games; g0 += chunk) {
      const std::int64_t count = std::min(chunk, config.games - g0);
      pool.parallel_for(count, [&](std::int64_t t, int worker) {
        auto& r = runners[static_cast<std::size_t>(worker)];
        if (!r) r = std::make_unique<GameRunner>();
        r->run(dims, seed, g0 + t, config.samples, checkpoints, errors.data() + t * cells);
      });
      for (std::int64_t t = 0; t < count; ++t) {
        const double* e = errors.data() + t * cells;
        agg.add(e);
        if (!per_game) continue;
        for (int d = 0; d < kDists; ++d) {
          for (int f = 0; f < kFamilies; ++f) {
            for (std::int64_t c = 0; c < C; ++c) {
              InferenceErrorRow row;
              row.size = static_cast<int>(z);
              row.game = g0 + t;
              row.distribution = static_cast<ObservedSet>(d);
              row.corrected = f == 1;
              row.samples = checkpoints[static_cast<std::size_t>(c)];
              std::copy(e + ((d * kFamilies + f) * C + c) * M, e + ((d * kFamilies + f) * C + c) * M + M, row.error);
              per_game(row);
            }
          }
        }
      }
      done += count;
      if (progress) progress(done, total);
    }
    for (int d = 0; d < kDists; ++d) {
      for (int f = 0; f < kFamilies; ++f) {
        for (int m = 0; m < M; ++m) {
          for (std::int64_t c = 0; c < C; ++c) {
            const std::int64_t k = ((static_cast<std::int64_t>(d) * kFamilies + f) * C + c) * M + m;
            InferenceCurveRow row;
            row.size = static_cast<int>(z);
            row.distribution = static_cast<ObservedSet>(d);
            row.corrected = f == 1;
            row.measure = static_cast<InferenceMeasure>(m);
            row.samples = checkpoints[static_cast<std::size_t>(c)];
            row.defined = agg.defined[static_cast<std::size_t>(k)];
            row.undefined = agg.undefined[static_cast<std::size_t>(k)];
            if (row.defined == 0) continue;  // not estimated here (e.g. the corrected IC off eps_ne)
            const double cnt = static_cast<double>(row.defined);
            row.mean = agg.sum[static_cast<std::size_t>(k)] / cnt;
            const double var = row.defined > 1 ? std::max(0.0, (agg.sumsq[static_cast<std::size_t>(k)] - cnt * row.mean * row.mean) / (cnt - 1))
                                               : 0.0;
            row.sd = std::sqrt(var);
            const double half = 1.6448536269514722 * row.sd / std::sqrt(cnt);
            row.mean_lo = row.mean - half;
            row.mean_hi = row.mean + half;
            row.q05 = agg.quantile(k, 0.05);
            row.q50 = agg.quantile(k, 0.50);
            row.q95 = agg.quantile(k, 0.95);
            rows.push_back(row);
          }
        }
      }
    }
  }
  return rows;
}

void write_inference_curves(std::ostream& out, const InferenceExperimentConfig& config,
                            const std::vector<InferenceCurveRow>& rows) {
  std::vector<Dims> sizes = config.sizes;
  if (sizes.empty()) sizes = {Dims({3, 3}), Dims({5, 5, 4}), Dims({6, 7, 4, 6}), Dims({7, 3, 8, 5, 12})};
  out << "size,outcomes,distribution,estimator,measure,samples,games,undefined,mean,sd,mean_lo,mean_hi,q05,q50,q95\n";
  for (const InferenceCurveRow& r : rows) {
    const Dims& d = sizes[static_cast<std::size_t>(r.size)];
    out << d.to_string() << ',' << d.outcomes() << ',' << to_string(r.distribution) << ','
        << (r.corrected ? "corrected" : "authors") << ',' << to_string(r.measure) << ',' << r.samples << ','
        << r.defined << ',' << r.undefined << ',' << format_double(r.mean) << ',' << format_double(r.sd) << ','
        << format_double(r.mean_lo) << ',' << format_double(r.mean_hi) << ',' << format_double(r.q05) << ','
        << format_double(r.q50) << ',' << format_double(r.q95) << '\n';
  }
}

}  // namespace dgeval
