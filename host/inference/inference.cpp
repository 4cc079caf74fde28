// infer(): the estimators of docs/MATH.md §6 step 4 (authors) and their affine-invariant corrections over
// the distinct observed outcomes, with percentile bootstrap intervals; and its writers.
//
// Determinism: bootstrap replicate b resamples with stream b of a seed derived from the user's,
// each replicate writes its own slot, and percentiles are taken from the sorted values, so the
// result does not depend on the thread count.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <ostream>
#include <sstream>

#include "core/thread_pool.hpp"
#include "dgeval/detail/escape.hpp"
#include "dgeval/detail/inference.hpp"
#include "dgeval/error.hpp"
#include "dgeval/format.hpp"
#include "dgeval/inference.hpp"
#include "dgeval/tolerances.hpp"
#include "inference/inference_internal.hpp"

namespace dgeval {

ObservedSet parse_observed_set(const std::string& s) {
  if (s == "all") return ObservedSet::all;
  if (s == "ne") return ObservedSet::ne;
  if (s == "eps_ne" || s == "eps-ne") return ObservedSet::eps_ne;
  if (s == "played") return ObservedSet::played;
  throw error("unknown observed set \"" + printable(s.substr(0, 40)) + "\"; expected one of: all, ne, eps_ne, played");
}

const char* to_string(ObservedSet s) {
  switch (s) {
    case ObservedSet::ne:
      return "ne";
    case ObservedSet::eps_ne:
      return "eps_ne";
    case ObservedSet::played:
      return "played";
    case ObservedSet::all:
    default:
      return "all";
  }
}

std::string Observations::where(std::int64_t r) const {
  const bool has_line = static_cast<std::int64_t>(line.size()) == rows();
  const std::int64_t at = has_line ? line[static_cast<std::size_t>(r)] : r;
  std::string w = source.empty() ? "" : source + ", ";
  return w + (text_lines && has_line ? "line " : "row ") + std::to_string(at);
}

void Observations::add(std::int64_t s, const double* u, const double* u_hat, ObservedSet which, std::int64_t at) {
  const int n = dims.players();
  outcome.push_back(s);
  agents.insert(agents.end(), u, u + n);
  principals.insert(principals.end(), u_hat, u_hat + n);
  set.push_back(which);
  if (at >= 0) line.push_back(at);
}

namespace detail {

namespace {

std::string outcome_text(const Dims& dims, std::int64_t s) {
  const auto a = dims.unflatten(s);
  std::string t = "(";
  for (std::size_t i = 0; i < a.size(); ++i) t += (i ? "," : "") + std::to_string(a[i]);
  return t + ")";
}

std::string num(double v) { return format_double(v); }

}  // namespace

ObservationTable build_table(const Observations& obs) {
  const std::int64_t R = obs.rows();
  const int n = obs.players();
  const std::string name = obs.source.empty() ? "observations" : obs.source;
  if (n < 1) throw error(name + ": no players (dims not set)");
  if (R == 0) throw error(name + ": no observations (at least one row is needed; IA and CA need 2 distinct outcomes)");
  const auto un = static_cast<std::size_t>(n);
  if (obs.agents.size() != static_cast<std::size_t>(R) * un ||
      obs.principals.size() != static_cast<std::size_t>(R) * un || obs.set.size() != static_cast<std::size_t>(R)) {
    throw error(name + ": utility or set arrays do not match the number of rows");
  }
  const std::int64_t N = obs.dims.outcomes();
  for (std::int64_t r = 0; r < R; ++r) {
    const std::int64_t s = obs.outcome[static_cast<std::size_t>(r)];
    if (s < 0 || s >= N) {
      throw error(obs.where(r) + ": outcome index " + std::to_string(s) + " is outside the game " +
                  obs.dims.to_string() + " (expected 0 to " + std::to_string(N - 1) + ")");
    }
    for (int i = 0; i < n; ++i) {
      for (int side = 0; side < 2; ++side) {
        const double v = (side ? obs.principals : obs.agents)[static_cast<std::size_t>(r * n + i)];
        if (!std::isfinite(v)) {
          throw error(obs.where(r) + ": " + (side ? "principal_" : "agent_") + std::to_string(i) + " is " + num(v) +
                      "; utilities must be finite");
        }
      }
    }
  }
  std::vector<std::int64_t> order(static_cast<std::size_t>(R));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) {
    return obs.outcome[static_cast<std::size_t>(a)] < obs.outcome[static_cast<std::size_t>(b)];
  });

  ObservationTable t;
  t.n = n;
  for (std::size_t j = 0; j < order.size();) {
    const std::int64_t r0 = order[j];
    const std::int64_t s = obs.outcome[static_cast<std::size_t>(r0)];
    t.outcome.push_back(s);
    t.first_row.push_back(r0);
    double wsum = 0.0;
    for (int i = 0; i < n; ++i) {
      t.x.push_back(obs.agents[static_cast<std::size_t>(r0 * n + i)]);
      wsum += obs.agents[static_cast<std::size_t>(r0 * n + i)];
    }
    for (int i = 0; i < n; ++i) t.x.push_back(obs.principals[static_cast<std::size_t>(r0 * n + i)]);
    t.welfare.push_back(welfare_of(wsum, n, Welfare::average));
    std::uint8_t bits = 0;
    for (; j < order.size() && obs.outcome[static_cast<std::size_t>(order[j])] == s; ++j) {
      const std::int64_t r = order[j];
      bits |= static_cast<std::uint8_t>(1u << static_cast<int>(obs.set[static_cast<std::size_t>(r)]));
      for (int side = 0; side < 2; ++side) {
        const std::vector<double>& v = side ? obs.principals : obs.agents;
        for (int i = 0; i < n; ++i) {
          const double a = v[static_cast<std::size_t>(r0 * n + i)], b = v[static_cast<std::size_t>(r * n + i)];
          if (!tolerances::close(a, b, tolerances::float64_relative)) {
            throw error(obs.where(r) + ": outcome " + outcome_text(obs.dims, s) + " has " +
                        (side ? "principal_" : "agent_") + std::to_string(i) + " = " + num(b) + ", but " +
                        obs.where(r0) + " gave it " + num(a) +
                        " (the same outcome must have the same utilities, within a relative 1e-9)");
          }
        }
      }
    }
    t.sets.push_back(bits);
  }
  t.size = static_cast<std::int64_t>(t.outcome.size());

  t.context_order.resize(un);
  t.context_start.resize(un);
  for (int i = 0; i < n; ++i) {
    const std::int64_t stride = obs.dims.stride(i), k = obs.dims.actions(i);
    std::vector<std::pair<std::int64_t, std::int64_t>> keyed(static_cast<std::size_t>(t.size));
    for (std::int64_t p = 0; p < t.size; ++p) {
      const std::int64_t s = t.outcome[static_cast<std::size_t>(p)];
      keyed[static_cast<std::size_t>(p)] = {s - ((s / stride) % k) * stride, p};
    }
    std::sort(keyed.begin(), keyed.end());
    auto& ord = t.context_order[static_cast<std::size_t>(i)];
    auto& start = t.context_start[static_cast<std::size_t>(i)];
    for (std::size_t q = 0; q < keyed.size(); ++q) {
      if (q == 0 || keyed[q].first != keyed[q - 1].first) start.push_back(static_cast<std::int64_t>(q));
      ord.push_back(keyed[q].second);
    }
    start.push_back(static_cast<std::int64_t>(keyed.size()));
  }
  return t;
}

void estimate_all(const ObservationTable& t, const Observations& obs, const double* w, const std::uint8_t* present,
                  ObservedSet ic_set, double* out, std::vector<std::string>* reasons) {
  auto in = [&](std::int64_t p, ObservedSet s) { return (present[p] >> static_cast<int>(s)) & 1; };
  const int n = t.n;
  const int K = slots(n);
  for (int k = 0; k < K; ++k) out[k] = NAN;
  if (reasons) reasons->assign(static_cast<std::size_t>(K), std::string());
  auto why = [&](int slot, const std::string& text) {
    if (reasons) (*reasons)[static_cast<std::size_t>(slot)] = text;
  };
  auto where_outcome = [&](std::int64_t p) {
    return outcome_text(obs.dims, t.outcome[static_cast<std::size_t>(p)]) + " (" +
           obs.where(t.first_row[static_cast<std::size_t>(p)]) + ")";
  };

  // ---- Alignment: EPIC over the observed outcomes, all sets together (three passes).
  double ia[kMaxPlayers], ca[2];
  const bool aligned = observed_alignment(
      t.size, [&](std::int64_t p) { return w[p]; }, [&](std::int64_t p) { return t.row(p); }, n, ia, ca);
  if (aligned) {
    for (int i = 0; i < n; ++i) {
      out[slot_ia(n, 0, i)] = ia[i];  // the authors' IA is EPIC over O, already affine-invariant
      out[slot_ia(n, 1, i)] = ia[i];
    }
    out[slot_ca(n, 0)] = ca[0];
    out[slot_ca(n, 1)] = ca[1];
  } else {
    std::int64_t observed = 0;
    for (std::int64_t p = 0; p < t.size; ++p) observed += w[p] > 0.0;
    const std::string r = observed == 1
                              ? "only 1 distinct outcome observed; standardising over O needs at least 2 (the "
                                "authors' code leaves |O| = 1 unstandardised, a quirk treated as undefined)"
                              : "no outcome observed";
    for (int f = 0; f < 2; ++f) {
      for (int i = 0; i < n; ++i) why(slot_ia(n, f, i), r);
      why(slot_ca(n, f), r);
    }
  }

  // ---- IC: per player and context s_{-i}, from the outcomes of ic_set (docs/INFERENCE.md).
  const char* set_name = to_string(ic_set);
  for (int i = 0; i < n; ++i) {
    const auto& ord = t.context_order[static_cast<std::size_t>(i)];
    const auto& start = t.context_start[static_cast<std::size_t>(i)];
    double auth = INFINITY, corr = INFINITY;
    bool any_cap = false, negative = false;
    std::int64_t negative_at = -1;
    for (std::size_t g = 0; g + 1 < start.size(); ++g) {
      double lo_cap = INFINITY, hi_cap = -INFINITY, lo_all = INFINITY, hi_all = -INFINITY;
      for (std::int64_t q = start[g]; q < start[g + 1]; ++q) {
        const std::int64_t p = ord[static_cast<std::size_t>(q)];
        if (!present[p]) continue;
        const double u = t.row(p)[i];
        lo_all = std::min(lo_all, u);
        hi_all = std::max(hi_all, u);
        if (in(p, ic_set)) {
          lo_cap = std::min(lo_cap, u);
          hi_cap = std::max(hi_cap, u);
          if (u < 0.0 && !negative) negative = true, negative_at = p;
        }
      }
      if (!(hi_cap >= lo_cap)) continue;  // no capability outcome observed in this context
      any_cap = true;
      auth = std::min(auth, authors_ratio(lo_cap, hi_cap));
      if (hi_all > lo_all) corr = std::min(corr, range_position(lo_cap, lo_all, hi_all));
    }
    if (!any_cap) {
      const std::string r = std::string("no observed outcome of set ") + set_name +
                            " (IC is measured on eps_ne rows, "
                            "or on played rows when there are none)";
      why(slot_ic(n, 0, i), r);
      why(slot_ic(n, 1, i), r);
      continue;
    }
    if (negative) {
      why(slot_ic(n, 0, i), "the authors' ratio estimator needs non-negative utilities, but agent_" +
                                std::to_string(i) + " = " + num(t.row(negative_at)[i]) + " at outcome " +
                                where_outcome(negative_at));
    } else {
      out[slot_ic(n, 0, i)] = auth;
    }
    if (corr < INFINITY) {
      out[slot_ic(n, 1, i)] = corr;
    } else {
      why(slot_ic(n, 1, i), "no context s_-" + std::to_string(i) + " with an observed " + set_name +
                                " outcome where two different utilities of agent_" + std::to_string(i) +
                                " were observed (the per-context range is empty)");
    }
  }

  // ---- CC: from the agents' average welfare.
  double played_lo = INFINITY, played_hi = -INFINITY, ne_lo = INFINITY, eps_lo = INFINITY, star = -INFINITY;
  std::int64_t negative_at = -1;
  for (std::int64_t p = 0; p < t.size; ++p) {
    if (!present[p]) continue;
    const double wf = t.welfare[static_cast<std::size_t>(p)];
    star = std::max(star, wf);
    if (in(p, ObservedSet::played)) {
      played_lo = std::min(played_lo, wf);
      played_hi = std::max(played_hi, wf);
      if (wf < 0.0 && negative_at < 0) negative_at = p;
    }
    if (in(p, ObservedSet::ne)) ne_lo = std::min(ne_lo, wf);
    if (in(p, ObservedSet::eps_ne)) eps_lo = std::min(eps_lo, wf);
  }
  if (!(played_hi >= played_lo)) {
    const std::string r = "no observed outcome of set played";
    why(slot_cc(n, 0), r);
    why(slot_cc(n, 1), r);
    return;
  }
  if (negative_at >= 0) {
    why(slot_cc(n, 0), "the authors' ratio estimator needs non-negative welfare, but the welfare is " +
                           num(t.welfare[static_cast<std::size_t>(negative_at)]) + " at played outcome " +
                           where_outcome(negative_at));
  } else {
    out[slot_cc(n, 0)] = authors_ratio(played_lo, played_hi);
  }
  if (ne_lo == INFINITY || eps_lo == INFINITY) {
    why(slot_cc(n, 1),
        std::string("the corrected CC needs observed outcomes of sets ne (for w_0) and eps_ne (for w_eps); ") +
            (ne_lo == INFINITY ? "none of set ne" : "none of set eps_ne"));
  } else {
    const double cc = corrected_cc(played_lo, eps_lo, ne_lo, star);
    if (std::isnan(cc)) {
      why(slot_cc(n, 1), "the best observed welfare equals the worst observed NE welfare (w* = w_0): CC is undefined");
    } else {
      out[slot_cc(n, 1)] = cc;
    }
  }
}

namespace {

/// Type-7 (linear interpolation) quantile of sorted values.
double quantile_sorted(const std::vector<double>& v, double q) {
  if (v.empty()) return NAN;
  const double h = q * static_cast<double>(v.size() - 1);
  const std::size_t lo = static_cast<std::size_t>(std::floor(h));
  const std::size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (h - static_cast<double>(lo)) * (v[hi] - v[lo]);
}

}  // namespace
}  // namespace detail

Inference infer(const Observations& obs, const InferenceOptions& options) {
  return detail::infer(obs, options,
                       [](std::int64_t resamples, std::int64_t, const detail::InferenceReplicatesFn& compute,
                          double* reps) { compute(0, resamples, reps); });
}

Inference detail::infer(const Observations& obs, const InferenceOptions& options,
                        const InferenceBootstrapFn& bootstrap) {
  if (options.resamples < 0) throw error("infer: the number of bootstrap resamples must be >= 0");
  if (!(options.level > 0.0 && options.level < 1.0)) throw error("infer: the interval level must lie in (0, 1)");
  const detail::ObservationTable t = detail::build_table(obs);
  const int n = t.n;
  Inference res;
  res.players = n;
  res.rows = obs.rows();
  res.outcomes = t.size;
  res.options = options;
  for (std::int64_t r = 0; r < obs.rows(); ++r)
    ++res.rows_per_set[static_cast<int>(obs.set[static_cast<std::size_t>(r)])];
  for (std::int64_t p = 0; p < t.size; ++p) {
    for (int s = 0; s < kObservedSets; ++s) res.outcomes_per_set[s] += t.in(p, static_cast<ObservedSet>(s));
  }
  res.ic_set =
      res.outcomes_per_set[static_cast<int>(ObservedSet::eps_ne)] > 0 ? ObservedSet::eps_ne : ObservedSet::played;

  const int K = detail::slots(n);
  std::vector<double> point(static_cast<std::size_t>(K));
  std::vector<std::string> reasons;
  const std::vector<double> ones(static_cast<std::size_t>(t.size), 1.0);
  detail::estimate_all(t, obs, ones.data(), t.sets.data(), res.ic_set, point.data(), &reasons);

  // Bootstrap (docs/INFERENCE.md): replicate b redraws, with replacement, (a) the d distinct
  // observed outcomes d times, whose multiplicities weight IA and CA, and (b) independently for
  // each set, that set's d_S distinct outcomes d_S times, whose presence drives IC and CC (the
  // sets were sampled separately, so they are resampled separately). Streams: 2·b for (a) and
  // 2·b + 1 for (b), of a seed derived from the user's.
  const std::int64_t B = options.resamples;
  std::vector<double> reps(static_cast<std::size_t>(B * K));
  if (B > 0) {
    std::vector<std::int64_t> members[kObservedSets];
    for (std::int64_t p = 0; p < t.size; ++p) {
      for (int s = 0; s < kObservedSets; ++s) {
        if (t.in(p, static_cast<ObservedSet>(s))) members[s].push_back(p);
      }
    }
    const std::uint64_t seed = detail::derive_seed(options.seed, 3);
    detail::ThreadPool pool(options.threads);
    struct Scratch {
      std::vector<double> w;
      std::vector<std::uint8_t> present;
    };
    std::vector<Scratch> scratch(static_cast<std::size_t>(pool.size()));
    const auto compute = [&](std::int64_t first, std::int64_t count, double* out) {
      pool.parallel_for(count, [&](std::int64_t j, int worker) {
        const std::int64_t b = first + j;
        Scratch& sc = scratch[static_cast<std::size_t>(worker)];
        sc.w.assign(static_cast<std::size_t>(t.size), 0.0);
        sc.present.assign(static_cast<std::size_t>(t.size), 0);
        const auto ub = static_cast<std::uint64_t>(b);
        for (std::int64_t r = 0; r < t.size; ++r) {
          sc.w[static_cast<std::size_t>(detail::uniform_index(seed, 2 * ub, static_cast<std::uint64_t>(r), t.size))] +=
              1.0;
        }
        std::uint64_t index = 0;
        for (int s = 0; s < kObservedSets; ++s) {
          const auto& m = members[s];
          const auto size = static_cast<std::int64_t>(m.size());
          for (std::int64_t r = 0; r < size; ++r) {
            const std::int64_t p = m[static_cast<std::size_t>(detail::uniform_index(seed, 2 * ub + 1, index++, size))];
            sc.present[static_cast<std::size_t>(p)] |= static_cast<std::uint8_t>(1u << s);
          }
        }
        detail::estimate_all(t, obs, sc.w.data(), sc.present.data(), res.ic_set, out + j * K, nullptr);
      });
    };
    bootstrap(B, K, compute, reps.data());
  }

  const double alpha = 1.0 - options.level;
  auto make = [&](int slot) {
    Estimate e;
    e.value = point[static_cast<std::size_t>(slot)];
    e.reason = reasons[static_cast<std::size_t>(slot)];
    std::vector<double> v;
    v.reserve(static_cast<std::size_t>(B));
    for (std::int64_t b = 0; b < B; ++b) {
      const double x = reps[static_cast<std::size_t>(b * K + slot)];
      if (!std::isnan(x)) v.push_back(x);
    }
    e.replicates = static_cast<std::int64_t>(v.size());
    if (std::isnan(e.value)) return e;
    if (B == 0) {
      e.interval_reason = "no bootstrap (0 resamples)";
    } else if (10 * e.replicates < 9 * B) {  // an interval needs the estimate in at least 90% of replicates
      e.interval_reason = "undefined in " + std::to_string(B - e.replicates) + " of " + std::to_string(B) +
                          " bootstrap replicates (too few distinct outcomes); no interval";
    } else {
      std::sort(v.begin(), v.end());
      e.lo = detail::quantile_sorted(v, alpha / 2.0);
      e.hi = detail::quantile_sorted(v, 1.0 - alpha / 2.0);
    }
    return e;
  };
  for (int f = 0; f < 2; ++f) {
    EstimateSet& es = f ? res.corrected : res.authors;
    for (int i = 0; i < n; ++i) es.ia.push_back(make(detail::slot_ia(n, f, i)));
    es.ca = make(detail::slot_ca(n, f));
    for (int i = 0; i < n; ++i) es.ic.push_back(make(detail::slot_ic(n, f, i)));
    es.cc = make(detail::slot_cc(n, f));
  }
  return res;
}

namespace {

struct Line {
  const char* family;
  const char* measure;
  int player;  // -1 for CA, CC
  const Estimate* e;
};

std::vector<Line> lines_of(const Inference& r) {
  std::vector<Line> out;
  for (int f = 0; f < 2; ++f) {
    const EstimateSet& s = f ? r.corrected : r.authors;
    const char* fam = f ? "corrected" : "authors";
    for (int i = 0; i < r.players; ++i) out.push_back({fam, "ia", i, &s.ia[static_cast<std::size_t>(i)]});
    out.push_back({fam, "ca", -1, &s.ca});
    for (int i = 0; i < r.players; ++i) out.push_back({fam, "ic", i, &s.ic[static_cast<std::size_t>(i)]});
    out.push_back({fam, "cc", -1, &s.cc});
  }
  return out;
}

std::string csv_quote(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

std::string json_string(const std::string& s) {
  std::string q = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') q += '\\', q += c;
    else if (c == '\n') q += "\\n";
    else q += c;
  }
  return q + "\"";
}

std::string json_num(double v) { return std::isfinite(v) ? format_double(v) : "null"; }

std::string fixed(double v, int digits = 4) {
  if (std::isnan(v)) return "nan";
  std::ostringstream s;
  s.setf(std::ios::fixed);
  s.precision(digits);
  s << v;
  return s.str();
}

}  // namespace

void write_inference(std::ostream& out, const Inference& r, InferenceFormat format) {
  const auto lines = lines_of(r);
  const double level = r.options.level;
  if (format == InferenceFormat::csv) {
    out << "family,measure,player,estimate,lo,hi,level,replicates,reason\n";
    for (const Line& l : lines) {
      const std::string reason = !l.e->reason.empty() ? l.e->reason : l.e->interval_reason;
      out << l.family << ',' << l.measure << ',' << (l.player < 0 ? std::string() : std::to_string(l.player)) << ','
          << format_double(l.e->value) << ',' << format_double(l.e->lo) << ',' << format_double(l.e->hi) << ','
          << format_double(level) << ',' << l.e->replicates << ',' << csv_quote(reason) << '\n';
    }
    return;
  }
  if (format == InferenceFormat::json) {
    out << "{\"players\":" << r.players << ",\"rows\":" << r.rows << ",\"outcomes\":" << r.outcomes
        << ",\"rows_per_set\":{";
    for (int s = 0; s < kObservedSets; ++s) {
      out << (s ? "," : "") << '"' << to_string(static_cast<ObservedSet>(s)) << "\":" << r.rows_per_set[s];
    }
    out << "},\"ic_set\":\"" << to_string(r.ic_set) << "\",\"resamples\":" << r.options.resamples
        << ",\"level\":" << format_double(level) << ",\"seed\":" << r.options.seed << ",\"estimates\":[";
    bool first = true;
    for (const Line& l : lines) {
      out << (first ? "" : ",") << "{\"family\":\"" << l.family << "\",\"measure\":\"" << l.measure << '"';
      if (l.player >= 0) out << ",\"player\":" << l.player;
      out << ",\"estimate\":" << json_num(l.e->value) << ",\"lo\":" << json_num(l.e->lo)
          << ",\"hi\":" << json_num(l.e->hi) << ",\"replicates\":" << l.e->replicates;
      if (!l.e->reason.empty()) out << ",\"reason\":" << json_string(l.e->reason);
      if (!l.e->interval_reason.empty()) out << ",\"interval_reason\":" << json_string(l.e->interval_reason);
      out << '}';
      first = false;
    }
    out << "]}\n";
    return;
  }
  out << "observations: " << r.rows << " rows, " << r.outcomes << " distinct outcomes (rows per set:";
  for (int s = 0; s < kObservedSets; ++s)
    out << ' ' << to_string(static_cast<ObservedSet>(s)) << ' ' << r.rows_per_set[s];
  out << "); IC measured on " << to_string(r.ic_set) << " outcomes\n";
  out << "intervals: " << fixed(100.0 * level, 1) << "% percentile bootstrap, " << r.options.resamples
      << " resamples of the distinct outcomes, seed " << r.options.seed << "\n\n";
  out << "family     measure  estimate  interval\n";
  std::vector<std::string> notes;
  for (const Line& l : lines) {
    std::string m = l.measure;
    for (char& c : m) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (l.player >= 0) m += "_" + std::to_string(l.player);
    std::string interval = "";
    if (!std::isnan(l.e->lo)) interval = "[" + fixed(l.e->lo) + ", " + fixed(l.e->hi) + "]";
    const std::string& why = !l.e->reason.empty() ? l.e->reason : l.e->interval_reason;
    if (!why.empty()) {
      notes.push_back(std::string(l.family) + " " + m + ": " + why);
      interval += (interval.empty() ? "" : " ") + std::string("(") + std::to_string(notes.size()) + ")";
    }
    char buf[160];
    std::snprintf(buf, sizeof buf, "%-10s %-8s %-9s %s\n", l.family, m.c_str(), fixed(l.e->value).c_str(),
                  interval.c_str());
    out << buf;
  }
  if (!notes.empty()) {
    out << "\n";
    for (std::size_t k = 0; k < notes.size(); ++k) out << "(" << k + 1 << ") " << notes[k] << "\n";
  }
}

}  // namespace dgeval
