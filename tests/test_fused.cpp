// The CPU backend's fused single-read path for 2-player games (host/backends/cpu/fused_two_player.hpp)
// against a long-double reference of the alignment measures, against tests/reference (the
// equilibria and welfare extrema, decided by the same comparisons, exactly), and against the
// multi-pass path on the same games: fresh random games of many shapes (1xK, Kx1, odd sizes spanning
// several chunks and row segments), ties, payoffs of many orders of magnitude, nearly aligned
// utilities, a large offset, a constant vector; float32 and float64 input; 1 and 2 threads bit for
// bit, and every instruction set: bit for bit those of the same product form (fused multiply-adds or
// split products), within the tolerances the others. The path is forced on (FusedMode::always) for games of any size.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "backends/cpu/fused_two_player.hpp"
#include "backends/cpu/small_games.hpp"
#include "dgeval/backend.hpp"
#include "dgeval/dgeval.hpp"
#include "dgeval/tolerances.hpp"
#include "reference/reference.hpp"
#include "test_util.hpp"

namespace dgeval {
namespace {

using testing::side;

/// Restores the default modes when a test ends, whatever happens.
struct ModeGuard {
  ~ModeGuard() {
    cpu::set_fused_mode(cpu::FusedMode::automatic);
    cpu::set_simd_target("");
  }
};

Results run(const Batch& b, const Options& o, int threads, bool as_float, cpu::FusedMode mode) {
  cpu::set_fused_mode(mode);
  Results r;
  auto backend = make_cpu_backend(threads);
  std::vector<float> fa, fp;
  backend->evaluate(testing::view_as(b, as_float, fa, fp), o, r);
  return r;
}

/// EPIC's shifts, magnitudes, IA, CA and distances of game g in long double (vectors u₁, u₂, û₁, û₂).
struct LongDouble {
  long double shift[4], mag[4], ia[2], ca[2], dm[16];
  double scale[4];  // max |x| per vector
};
LongDouble long_double_alignment(const Batch& b, std::int64_t g) {
  const std::int64_t N = b.dims.outcomes();
  LongDouble L;
  const double* x[4];
  for (int v = 0; v < 4; ++v) x[v] = side(b, v < 2, g, v % 2);
  for (int v = 0; v < 4; ++v) {
    long double m = 0, c = 0;
    double lo = x[v][0], hi = x[v][0], s = 0;
    for (std::int64_t k = 0; k < N; ++k) {
      m += x[v][k];
      lo = std::min(lo, x[v][k]), hi = std::max(hi, x[v][k]);
      s = std::max(s, std::fabs(x[v][k]));
    }
    m /= N;
    for (std::int64_t k = 0; k < N; ++k) c += (x[v][k] - m) * (x[v][k] - m);
    L.shift[v] = lo == hi ? lo : m;
    L.mag[v] = lo == hi ? 0 : std::sqrt(c);
    L.scale[v] = s;
  }
  auto nu = [&](int v, std::int64_t k) -> long double {
    return L.mag[v] > 0 ? (x[v][k] - L.shift[v]) / L.mag[v] : 0.0L;
  };
  for (int a = 0; a < 4; ++a) {
    for (int c = 0; c < 4; ++c) {
      long double d2 = 0;
      for (std::int64_t k = 0; k < N; ++k) d2 += (nu(a, k) - nu(c, k)) * (nu(a, k) - nu(c, k));
      L.dm[a * 4 + c] = std::sqrt(d2) / 2;
    }
  }
  for (int i = 0; i < 2; ++i) L.ia[i] = std::min(1.0L, std::max(0.0L, 1 - L.dm[i * 4 + 2 + i]));
  for (int sd = 0; sd < 2; ++sd) {
    const int f = 2 * sd;
    const long double W = L.mag[f] + L.mag[f + 1];
    if (W == 0) {
      L.ca[sd] = 1;
      continue;
    }
    long double num = 0;
    for (int i = 0; i < 2; ++i) {
      long double c2 = 0;
      for (std::int64_t k = 0; k < N; ++k) {
        const long double mu = (L.mag[f] * nu(f, k) + L.mag[f + 1] * nu(f + 1, k)) / W;
        c2 += (nu(f + i, k) - mu) * (nu(f + i, k) - mu);
      }
      num += L.mag[f + i] * std::sqrt(c2);
    }
    L.ca[sd] = 1 - num / W;
  }
  return L;
}

/// Payoffs of one kind for game g of b (every vector), rounded to float where the input is float32.
enum class Payoffs { normal, ties, wide, aligned, offset, constant };
const char* name_of(Payoffs p) {
  switch (p) {
    case Payoffs::normal:
      return "normal";
    case Payoffs::ties:
      return "ties";
    case Payoffs::wide:
      return "wide";
    case Payoffs::aligned:
      return "aligned";
    case Payoffs::offset:
      return "offset";
    default:
      return "constant";
  }
}
Batch make_batch(const Dims& dims, std::int64_t games, Payoffs kind, bool as_float, std::mt19937_64& rng) {
  Batch b = testing::random_batch(dims, games, rng, kind == Payoffs::ties ? 3 : 0);
  const std::int64_t N = dims.outcomes();
  std::normal_distribution<double> normal(0.0, 1.0);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (std::int64_t g = 0; g < games; ++g) {
    double* a[2] = {b.agents.data() + (2 * g) * N, b.agents.data() + (2 * g + 1) * N};
    double* p[2] = {b.principals.data() + (2 * g) * N, b.principals.data() + (2 * g + 1) * N};
    for (std::int64_t s = 0; s < N; ++s) {
      switch (kind) {
        case Payoffs::wide:  // magnitudes from 1e-6 to 1e6, either sign
          for (double* v : {a[0], a[1], p[0], p[1]})
            v[s] = (unit(rng) < 0.5 ? -1 : 1) * std::pow(10.0, 12 * unit(rng) - 6);
          break;
        case Payoffs::aligned:  // IA and CA within about 1e-7 of 1 (principals: an affine map plus noise)
          a[1][s] = a[0][s] + 1e-6 * normal(rng);
          p[0][s] = 3 * a[0][s] + 5 + 1e-7 * normal(rng);
          p[1][s] = 0.25 * a[1][s] - 2 + 1e-7 * normal(rng);
          break;
        case Payoffs::offset:
          a[0][s] += 1e6, a[1][s] += 1e6;
          break;
        case Payoffs::constant:
          a[1][s] = 0.625;
          break;
        default:
          break;
      }
    }
  }
  if (as_float) {
    for (double& x : b.agents) x = static_cast<float>(x);
    for (double& x : b.principals) x = static_cast<float>(x);
  }
  return b;
}

Options random_options(std::mt19937_64& rng) {
  Options o;
  o.welfare = std::bernoulli_distribution(0.5)(rng) ? Welfare::average : Welfare::sum;
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (int i = 0; i < 2; ++i) {
    const int pick = std::uniform_int_distribution<int>(0, 3)(rng);
    o.ic.push_back(pick == 0 ? 1.0 : pick == 1 ? 0.5 : pick == 2 ? 0.75 : unit(rng));
  }
  o.cc = unit(rng);
  const StrategyKind kinds[] = {StrategyKind::worst_ne, StrategyKind::best_ne, StrategyKind::uniform_ne,
                                StrategyKind::uniform_eps_ne};
  o.strategy.kind = kinds[std::uniform_int_distribution<int>(0, 3)(rng)];
  o.list_equilibria = true;
  o.distance_matrix = true;
  return o;
}

/// The fused results `got` of batch b against the long-double alignment, the reference's
/// equilibria and welfare extrema (exact) and the multi-pass results `multi` (exact where decided by
/// comparisons, else within the float64 tolerance between backends).
void compare(const Batch& b, const Results& got, const Results& multi, const Results& ref) {
  const std::int64_t N = b.dims.outcomes();
  for (std::int64_t g = 0; g < b.games; ++g) {
    SCOPED_TRACE("game " + std::to_string(g));
    const std::size_t gi = static_cast<std::size_t>(g);
    const LongDouble L = long_double_alignment(b, g);
    for (int v = 0; v < 4; ++v) {
      SCOPED_TRACE("vector " + std::to_string(v));
      const std::size_t p = gi * 2 + static_cast<std::size_t>(v % 2);
      const double shift = v < 2 ? got.offset_agents[p] : got.offset_principals[p];
      const double mag = v < 2 ? got.magnitude_agents[p] : got.magnitude_principals[p];
      EXPECT_NEAR(shift, static_cast<double>(L.shift[v]), 1e-15 * L.scale[v]);
      if (L.mag[v] == 0) {
        EXPECT_EQ(mag, 0.0);
      } else {
        EXPECT_NEAR(mag / static_cast<double>(L.mag[v]), 1.0, 1e-12);
      }
    }
    for (int i = 0; i < 2; ++i) EXPECT_NEAR(got.ia[gi * 2 + i], static_cast<double>(L.ia[i]), 1e-13) << "ia " << i;
    EXPECT_NEAR(got.ca_agents[gi], static_cast<double>(L.ca[0]), 1e-13);
    EXPECT_NEAR(got.ca_principals[gi], static_cast<double>(L.ca[1]), 1e-13);
    for (int q = 0; q < 16; ++q)
      EXPECT_NEAR(got.distance_matrix[gi * 16 + q], static_cast<double>(L.dm[q]), 1e-13) << q;

    // Decided by the same comparisons as the reference and the multi-pass path: exact.
    for (const Results* want : {&ref, &multi}) {
      EXPECT_EQ(got.pure_ne_count[gi], want->pure_ne_count[gi]);
      EXPECT_EQ(got.eps_ne_count[gi], want->eps_ne_count[gi]);
      EXPECT_EQ(got.pure_ne[gi], want->pure_ne[gi]);
      for (const char* c : {"welfare_agents_max", "welfare_agents_min", "welfare_principals_max",
                            "welfare_principals_min", "worst_ne_agents_welfare", "worst_eps_ne_agents_welfare"}) {
        const double x = got.real_column(c)[gi], y = want->real_column(c)[gi];
        EXPECT_TRUE((std::isnan(x) && std::isnan(y)) || x == y) << c << ": " << x << " vs " << y;
      }
    }
    EXPECT_EQ(got.flags[gi], multi.flags[gi]);
    // The rest against the multi-pass path within the float64 tolerance between backends, on the
    // scale of the values they come from (welfare: n·max|x|; CC: that over the welfare span).
    double S = 0;
    for (std::int64_t s = 0; s < N; ++s) {
      for (int v = 0; v < 4; ++v) S = std::max(S, std::fabs(side(b, v < 2, g, v % 2)[s]));
    }
    const double span = std::fabs(multi.welfare_agents_max[gi] - multi.worst_ne_agents_welfare[gi]);
    for (const ColumnInfo& c : result_columns()) {
      if (!stored_as_double(c.kind) || std::string(c.name) == "bound_r") continue;  // an argmin: ties
      const std::size_t count = c.kind == ColumnKind::player_real ? 2 : 1;
      double scale = 2 * S + 1;
      if (std::string(c.name) == "cc_achieved") scale = span > 0 ? scale / span : INFINITY;
      for (std::size_t k = 0; k < count; ++k) {
        const double x = got.real_column(c.name)[gi * count + k], y = multi.real_column(c.name)[gi * count + k];
        if (std::isinf(scale)) continue;
        EXPECT_TRUE(tolerances::close(x, y, tolerances::float64_relative, scale)) << c.name << ": " << x << " vs " << y;
      }
    }
  }
}

std::vector<Dims> shapes() {
  return {Dims({1, 3000}),  Dims({3000, 1}),  Dims({7, 13}),   Dims({33, 517}),
          Dims({129, 130}), Dims({40, 1000}), Dims({3, 9001}), Dims({2, 17000})};
}

TEST(FusedTwoPlayer, MatchesLongDoubleReferenceAndMultiPassPath) {
  DGEVAL_SEEDED(rng);
  ModeGuard guard;
  int index = 0;  // shape × payoffs: float32 in a checkerboard, so each payoff kind gets both dtypes
  for (const Dims& dims : shapes()) {
    for (Payoffs kind :
         {Payoffs::normal, Payoffs::ties, Payoffs::wide, Payoffs::aligned, Payoffs::offset, Payoffs::constant}) {
      const bool as_float = ((index / 6 + index % 6) % 2) == 1;
      ++index;
      SCOPED_TRACE(dims.to_string() + " " + name_of(kind) + (as_float ? " float32" : " float64"));
      const Batch b = make_batch(dims, 2, kind, as_float, rng);
      const Options o = random_options(rng);
      const Results fused = run(b, o, 1, as_float, cpu::FusedMode::always);
      const Results multi = run(b, o, 1, as_float, cpu::FusedMode::off);
      const Results ref = reference::evaluate(b, o);
      compare(b, fused, multi, ref);
      // 2 threads (each game split over them when it spans several chunks): the same bits.
      const Results two = run(b, o, 2, as_float, cpu::FusedMode::always);
      testing::expect_identical_results(fused, two);
    }
  }
}

TEST(FusedTwoPlayer, LargeGameIdenticalForAnyThreadCountAndInstructionSet) {
  // 300 x 1111 = 333,300 outcomes: 21 chunks of 15 rows, rows of 2 segments and a tail of 7.
  DGEVAL_SEEDED(rng);
  ModeGuard guard;
  const Batch b = make_batch(Dims({300, 1111}), 1, Payoffs::offset, false, rng);
  Options o = random_options(rng);
  cpu::set_fused_mode(cpu::FusedMode::automatic);
  ASSERT_TRUE(cpu::fused_applies(o, b.dims));
  const Results one = run(b, o, 1, false, cpu::FusedMode::automatic);
  testing::expect_identical_results(one, run(b, o, 2, false, cpu::FusedMode::automatic));
  const Results multi = run(b, o, 1, false, cpu::FusedMode::off);
  const Results ref = reference::evaluate(b, o);
  const bool fma = cpu::fused_products_by_fma();
  for (const std::string& target : cpu::simd_targets()) {
    SCOPED_TRACE(target);
    cpu::set_simd_target(target);
    const Results two = run(b, o, 2, false, cpu::FusedMode::automatic);
    testing::expect_identical_results(two, run(b, o, 1, false, cpu::FusedMode::automatic));
    if (cpu::fused_products_by_fma() == fma) {
      testing::expect_identical_results(one, two);  // the same product form: the same bits
    } else {
      compare(b, two, multi, ref);  // the other form: within the tolerances
    }
  }
  cpu::set_simd_target("");
  compare(b, one, multi, ref);
}

TEST(FusedTwoPlayer, WhichGamesTakeThePath) {
  ModeGuard guard;
  cpu::set_fused_mode(cpu::FusedMode::automatic);
  Options o;
  EXPECT_TRUE(cpu::fused_applies(o, Dims({4096, 4096})));
  EXPECT_TRUE(cpu::fused_applies(o, Dims({16384, 16384})));
  EXPECT_FALSE(cpu::fused_applies(o, Dims({64, 64})));      // below kFusedMinOutcomes
  EXPECT_FALSE(cpu::fused_applies(o, Dims({100000, 4})));   // rows shorter than 8
  EXPECT_FALSE(cpu::fused_applies(o, Dims({64, 64, 64})));  // 3 players
  for (StrategyKind k : {StrategyKind::played, StrategyKind::correlated, StrategyKind::product}) {
    Options p;
    p.strategy.kind = k;
    EXPECT_FALSE(cpu::fused_applies(p, Dims({4096, 4096})));
  }
  for (Standardisation s : {Standardisation::max, Standardisation::max_range}) {
    Options p;
    p.standardisation = s;
    EXPECT_FALSE(cpu::fused_applies(p, Dims({4096, 4096})));
  }
  cpu::set_fused_mode(cpu::FusedMode::off);
  EXPECT_FALSE(cpu::fused_applies(o, Dims({4096, 4096})));
  cpu::set_fused_mode(cpu::FusedMode::always);
  EXPECT_TRUE(cpu::fused_applies(o, Dims({3, 3})));
}

TEST(FusedTwoPlayer, OutOfRangeAndNonFiniteGamesTakeTheMultiPassPath) {
  // Payoffs beyond 1e100, a range below 1e-100, NaN and ±Inf: the fused path hands the game back, so
  // the results are the multi-pass path's bit for bit.
  DGEVAL_SEEDED(rng);
  ModeGuard guard;
  for (int c = 0; c < 4; ++c) {
    SCOPED_TRACE("case " + std::to_string(c));
    Batch b = make_batch(Dims({20, 50}), 1, Payoffs::normal, false, rng);
    Options o = random_options(rng);
    o.allow_nonfinite = true;
    if (c == 0) {
      for (double& x : b.agents) x *= 1e200;
    } else if (c == 1) {
      for (double& x : b.principals) x *= 1e-110;
    } else if (c == 2) {
      b.agents[17] = NAN;
    } else {
      b.principals[b.principals.size() - 3] = -INFINITY;
    }
    testing::expect_identical_results(run(b, o, 1, false, cpu::FusedMode::always),
                                      run(b, o, 1, false, cpu::FusedMode::off));
  }
}

}  // namespace
}  // namespace dgeval
