// The CUDA backend's parity scenarios, written once: the CPU reference backend against a "CUDA
// side", on fresh random games at awkward sizes, with every strategy and option, every kernel
// path forced at small sizes (quad, warp and block teams; the tiled path with tiny tiles and
// several blocks per game), streaming through chunks, ties and fallbacks, nearly aligned and
// degenerate utilities, non-finite input, undefined bound_holds, column selections, random
// configurations, the device generator and a batch resident on the device.
//
// DGEVAL_CUDA_PARITY_TESTS(Suite, Side, precondition) instantiates every scenario as a test of
// `Suite`; it is instantiated twice:
//   tests/test_cuda.cpp           CudaVsCpu     the real GPU (dgeval::cuda::make_cuda_backend); the
//                                               tests skip without a usable GPU and fail instead
//                                               with DGEVAL_REQUIRE_GPU=1 (DGEVAL_NEED_GPU)
//   tests/test_cuda_emulated.cpp  CudaEmulated  the same kernels and host code compiled against the
//                                               CPU emulation (dgeval::cuda_emu::make_cuda_backend)
// A scenario's sizes depend on side.emulated() (the emulation runs the kernels thread by thread:
// fewer and smaller games there, never fewer kinds of case); each scenario names both sets.
//
// Device outputs and scratch are poisoned (0x5A bytes) before every run (Side::backend's tuning),
// so a column the kernels forget to write cannot pass. Every comparison is on fresh random games
// (DGEVAL_SEEDED; DGEVAL_TEST_SEED replays one). Reals compare with dgeval::tolerances, counts,
// flags and equilibrium lists exactly (testing::expect_match). Payoffs sit on a grid (k/64) where
// equilibria matter.
//
// A Side provides (see GpuSide in test_cuda.cpp, EmulatedSide in test_cuda_emulated.cpp):
//   bool emulated() const;                          // smaller sizes
//   int cpu_threads() const;                        // of the CPU reference backend
//   std::int64_t games(std::int64_t n) const;       // n, or fewer (DGEVAL_TEST_SMALL=1 on the GPU)
//   std::unique_ptr<Backend> backend(const Run&) const;  // a poisoned CUDA backend forced to `run`
//   bool team_fits(int path, int players, std::int64_t outcomes, std::size_t value_bytes) const;
//   bool cluster_fits(int players, std::int64_t outcomes, std::size_t value_bytes, int blocks,
//                     std::int64_t run) const;        // the cluster team can take the game
//   std::string path_name(int path) const;
//   Batch generate_on_device(const Dims&, const GeneratorSpec&, std::int64_t games, std::uint64_t seed,
//                            std::int64_t first_game, std::vector<GameInfo>* info) const;
//   std::size_t input_bytes(const Dims&, std::int64_t games, std::size_t value_bytes) const;
//   using Resident = ...;                           // cuda::ResidentBatch of that side
//   Tuning tuning(const Run&) const;                // the poisoned tuning, for Resident
//   DeviceGames to_device(const BatchView& host, std::size_t offset) const;
//       // a copy of a host batch in the side's device memory, `offset` bytes into each allocation,
//       // written by an asynchronous copy on a stream of its own (view.stream), not waited for
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "dgeval/dgeval.hpp"
#include "dgeval/generators.hpp"
#include "dgeval/tolerances.hpp"
#include "test_cuda_compare.hpp"
#include "test_util.hpp"

namespace dgeval {
namespace testing {
namespace parity {

/// A batch in a side's device memory (Side::to_device): `view` (Memory::device) stays valid while
/// `keep` lives.
struct DeviceGames {
  BatchView view;
  std::shared_ptr<void> keep;
};

// The kernel paths, as cuda::Path's values (each side checks that they agree).
constexpr int kAuto = -1;
constexpr int kQuad = 0;
constexpr int kWarp = 1;
constexpr int kBlock = 2;
constexpr int kTiled = 3;
constexpr int kThread = 4;
constexpr int kTwoPlayer = 5;
constexpr int kCluster = 6;
constexpr int kSweep = 7;

/// What a run forces: a path (kAuto: the planner's), the tiled path's tile and blocks per game
/// (0: planned), and a cap on the games per chunk (0: none).
struct Run {
  int path = kAuto;
  std::int64_t tile = 0, blocks = 0, chunk = 0;
};
inline Run planned(std::int64_t chunk = 0) { return Run{kAuto, 0, 0, chunk}; }
inline Run forced(int path) { return Run{path, 0, 0, 0}; }
inline Run tiled(std::int64_t tile, std::int64_t blocks, std::int64_t chunk = 0) {
  return Run{kTiled, tile, blocks, chunk};
}

inline std::string describe(const Run& r) {
  std::string s = r.path == kAuto ? std::string("planned path") : "path " + std::to_string(r.path);
  if (r.path == kTiled) s += " tile " + std::to_string(r.tile) + " blocks " + std::to_string(r.blocks);
  if (r.chunk > 0) s += " chunks of " + std::to_string(r.chunk);
  return s;
}

/// Evaluates `batch` (float64, or float32 values) on the CPU and on `side` forced to `run`, and
/// compares every column.
template <class Side>
void compare(const Side& side, const Batch& batch, const Options& options, bool float32, const std::string& what,
             const Run& run = Run{}) {
  std::vector<float> a32, p32;
  const BatchView view = view_as(batch, float32, a32, p32);
  Results cpu, gpu;
  make_cpu_backend(side.cpu_threads())->evaluate(view, options, cpu);
  side.backend(run)->evaluate(view, options, gpu);
  expect_match(cpu, gpu, float32 ? tolerances::float32_relative : tolerances::float64_relative, view, options,
               what + (float32 ? " float32 " : " float64 ") + batch.dims.to_string() + " x" +
                   std::to_string(batch.games) + ", " + describe(run));
}

/// A random batch whose utility vectors each span a different scale, 10^-6 .. 10^6.
inline Batch wide_range_batch(const Dims& d, std::int64_t games, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  Batch wide = random_batch(d, games, rng);
  const int n = d.players();
  const std::int64_t nN = n * d.outcomes();
  for (std::int64_t g = 0; g < games; ++g) {
    for (int v = 0; v < 2 * n; ++v) {
      const double scale = std::pow(10.0, std::floor(unit(rng) * 13.0) - 6.0);
      std::vector<double>& values = v < n ? wide.agents : wide.principals;
      for (std::int64_t q = 0; q < d.outcomes(); ++q)
        values[static_cast<std::size_t>(g * nN + (v % n) * d.outcomes() + q)] *= scale;
    }
  }
  return wide;
}

/// A random distribution over `len` entries, about 30% of them zero (never all).
inline std::vector<double> random_distribution(std::int64_t len, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::vector<double> w(static_cast<std::size_t>(len));
  double total = 0.0;
  for (double& x : w) total += (x = unit(rng) < 0.3 ? 0.0 : unit(rng));
  if (total == 0.0) w[0] = total = 1.0;
  for (double& x : w) x /= total;
  return w;
}

/// Appends one game's random strategy of kind k to o.strategy: uniform random actions (pure), a
/// random_distribution over the outcomes (correlated) or over each player's actions (product);
/// nothing for the strategies dgeval finds itself.
inline void add_random_strategy(Options& o, StrategyKind k, const Dims& d, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  if (k == StrategyKind::pure) {
    for (int i = 0; i < d.players(); ++i)
      o.strategy.actions.push_back(static_cast<std::int64_t>(unit(rng) * d.actions(i)));
  }
  if (k == StrategyKind::correlated) {
    const std::vector<double> w = random_distribution(d.outcomes(), rng);
    o.strategy.weights.insert(o.strategy.weights.end(), w.begin(), w.end());
  }
  if (k == StrategyKind::product) {
    for (int i = 0; i < d.players(); ++i) {
      const std::vector<double> w = random_distribution(d.actions(i), rng);
      o.strategy.weights.insert(o.strategy.weights.end(), w.begin(), w.end());
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The scenarios.

/// The planned path at awkward sizes, both dtypes, many game counts.
template <class Side>
void default_paths_match_cpu(const Side& side, std::mt19937_64& rng) {
  std::vector<Dims> sizes;
  std::vector<std::int64_t> game_counts;
  std::int64_t large = 0, large_games = 0;  // games with more outcomes than `large`: at most large_games
  if (side.emulated()) {
    sizes = {Dims({3, 3}), Dims({2, 2, 2, 2}), Dims({13}),  Dims({5, 5, 4}),
             Dims({1, 7}), Dims({6, 7, 4, 6}), Dims({1, 1})};
    game_counts = {2, 11};
    large = 500, large_games = 2;
  } else {
    sizes = test_sizes();
    sizes.push_back(Dims({37, 41}));  // block team, prime actions
    sizes.push_back(Dims({97, 89}));  // tiled (float32 and float64)
    sizes.push_back(Dims({1, 1}));    // one outcome
    sizes.push_back(Dims({2, 1, 3, 1, 2}));
    game_counts = {1, 7, 61};
    large = 1000, large_games = 7;
  }
  Options o;
  o.list_equilibria = true;
  for (const Dims& d : sizes) {
    for (std::int64_t games : game_counts) {
      if (d.outcomes() > large && games > large_games) continue;
      const Batch b = random_batch(d, side.games(games), rng, 64);
      for (bool f32 : {false, true}) compare(side, b, o, f32, "default options");
    }
  }
}

/// Continuous (off-grid) utilities with the NE lists and the distance matrix.
template <class Side>
void continuous_utilities(const Side& side, std::mt19937_64& rng) {
  const std::vector<Dims> sizes =
      side.emulated() ? std::vector<Dims>{Dims({3, 3}), Dims({2, 3, 5}), Dims({5, 5, 4})}
                      : std::vector<Dims>{Dims({3, 3}), Dims({5, 5, 4}), Dims({6, 7, 4, 6}), Dims({7, 3, 8, 5, 2})};
  for (const Dims& d : sizes) {
    const Batch b = random_batch(d, side.emulated() ? 3 : 13, rng);
    Options o;
    o.list_equilibria = true;
    o.distance_matrix = true;
    for (bool f32 : {false, true}) compare(side, b, o, f32, "continuous");
  }
}

/// Every strategy (shared and per game, random weights and actions) on the planned path in
/// float64 and on the tiled path in float32; every standardisation and welfare, per-player IC,
/// both CC windows and the distance matrix.
template <class Side>
void every_strategy_and_option(const Side& side, std::mt19937_64& rng) {
  const std::vector<Dims> sizes =
      side.emulated() ? std::vector<Dims>{Dims({3, 3}), Dims({2, 3, 5})}
                      : std::vector<Dims>{Dims({3, 3}), Dims({2, 3, 5}), Dims({6, 7, 4, 6}), Dims({41, 43})};
  const std::vector<StrategyKind> kinds = {
      StrategyKind::worst_ne, StrategyKind::best_ne, StrategyKind::uniform_ne, StrategyKind::uniform_eps_ne,
      StrategyKind::played,   StrategyKind::pure,    StrategyKind::correlated, StrategyKind::product};
  // The emulation: the sum only (the average's differs by a factor), in float64.
  const std::vector<Welfare> welfares =
      side.emulated() ? std::vector<Welfare>{Welfare::sum} : std::vector<Welfare>{Welfare::average, Welfare::sum};
  for (const Dims& d : sizes) {
    const std::int64_t games = side.emulated() ? 5 : d.outcomes() > 1000 ? 3 : side.games(23);
    const Batch b = random_batch(d, games, rng, 16);
    const int n = d.players();
    for (StrategyKind k : kinds) {
      for (bool per_game : {false, true}) {
        if (per_game && (k != StrategyKind::pure && k != StrategyKind::correlated && k != StrategyKind::product))
          continue;
        Options o;
        o.strategy.kind = k;
        o.strategy.per_game = per_game;
        o.list_equilibria = true;
        o.ic = {0.75};
        o.cc = 0.5;
        const std::int64_t copies = per_game ? games : 1;
        for (std::int64_t g = 0; g < copies; ++g) {
          add_random_strategy(o, k, d, rng);
        }
        const std::string what = std::string("strategy ") + to_string(k) + (per_game ? " per game" : "");
        compare(side, b, o, false, what);
        compare(side, b, o, true, what, tiled(32, 2));
      }
    }
    for (Standardisation s : {Standardisation::epic, Standardisation::max, Standardisation::max_range}) {
      for (Welfare w : welfares) {
        Options o = with(s, w, StrategyKind::played);
        o.distance_matrix = true;
        o.list_equilibria = true;
        o.ic.assign(static_cast<std::size_t>(n), 0.5);
        o.ic[0] = 0.0;
        o.cc = 0.25;
        o.cc_window = w == Welfare::sum ? CcWindow::natural : CcWindow::code;
        const std::string what = std::string("options ") + to_string(s) + "/" + to_string(w);
        if (!side.emulated()) compare(side, b, o, true, what);
        compare(side, b, o, false, what);
        compare(side, b, o, false, what, tiled(32, 2));
      }
    }
  }
}

/// Every team path forced where it fits, and the tiled path with several tiles and block counts.
template <class Side>
void every_path_and_tiling(const Side& side, std::mt19937_64& rng) {
  const bool emulated = side.emulated();
  const bool small = side.games(37) < 37;  // under compute-sanitizer: fewer variants
  std::vector<Dims> sizes = {Dims({3, 3}), Dims({2, 3, 5}), Dims({5, 5, 4}), Dims({1, 7, 1})};
  if (!emulated) sizes.insert(sizes.end(), {Dims({13}), Dims({6, 7, 4, 6})});
  if (!small) sizes.push_back(Dims({11, 13}));  // several tiles (compute-sanitizer runs: the others only)
  const std::vector<StrategyKind> kinds =
      emulated || small
          ? std::vector<StrategyKind>{StrategyKind::uniform_eps_ne}
          : std::vector<StrategyKind>{StrategyKind::worst_ne, StrategyKind::uniform_eps_ne, StrategyKind::played};
  const std::vector<std::int64_t> tiles = emulated ? std::vector<std::int64_t>{32, 64}
                                          : small  ? std::vector<std::int64_t>{32}
                                                   : std::vector<std::int64_t>{32, 64, 96};
  const std::vector<std::int64_t> block_counts =
      emulated || small ? std::vector<std::int64_t>{1, 3} : std::vector<std::int64_t>{1, 2, 5};
  for (const Dims& d : sizes) {
    const bool large = emulated && d.outcomes() > 100;  // multi-tile games, emulated: fewer variants
    const Batch b = random_batch(d, emulated ? (large ? 2 : 3) : side.games(37), rng, 8);
    for (StrategyKind k : kinds) {
      Options o;
      o.strategy.kind = k;
      o.list_equilibria = true;
      o.distance_matrix = true;
      o.ic = {0.5};
      for (bool f32 : {false, true}) {
        if (large && !f32) continue;
        for (int p : {kThread, kQuad, kWarp, kBlock}) {
          if (!side.team_fits(p, d.players(), d.outcomes(), f32 ? 4 : 8)) continue;
          compare(side, b, o, f32, "forced " + side.path_name(p), forced(p));
        }
        for (std::int64_t tile : tiles) {
          for (std::int64_t blocks : block_counts) {
            if (large && tile == 32 && blocks == 1) continue;
            if (emulated && !large && d.outcomes() <= 32 && tile == 64) continue;  // one tile either way
            compare(side, b, o, f32, "forced tiled", tiled(tile, blocks));
          }
        }
      }
    }
  }
}

/// Few contexts and many actions: player 0's fibers are split into segments (16 for k = 128).
template <class Side>
void segmented_fibers(const Side& side, std::mt19937_64& rng) {
  for (const Dims& d : {Dims({128, 3}), Dims({100, 2})}) {
    Batch b = random_batch(d, 1, rng, 4);
    // Player 1's utilities, stored right after player 0's, lie far above them: a fiber read that
    // strays past player 0's vector changes its NE test.
    for (std::int64_t s = 0; s < d.outcomes(); ++s) b.agents[static_cast<std::size_t>(d.outcomes() + s)] += 1000.0;
    Options o;
    o.list_equilibria = true;
    o.ic = {0.5};
    o.strategy.kind = StrategyKind::uniform_eps_ne;
    compare(side, b, o, false, "segmented fibers", tiled(64, 2));
  }
}

/// Random shapes (1-action players, wide players with few contexts), options, paths, tiles, block
/// counts and chunks. Each utility vector is offset by 1000·v, so a read from the wrong vector shows.
template <class Side>
void random_configurations(const Side& side, std::mt19937_64& rng) {
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<std::uint64_t>(n)); };
  const int iterations = side.emulated() ? 30 : static_cast<int>(side.games(200));
  for (int it = 0; it < iterations; ++it) {
    std::vector<std::int64_t> k;
    const int n = 1 + pick(4);
    std::int64_t N = 1;
    for (int i = 0; i < n; ++i) {
      std::int64_t ki = pick(5) == 0 ? 1 : 2 + pick(6);
      if (pick(6) == 0) ki = 20 + pick(120);
      if (N * ki > 600) ki = 1;
      k.push_back(ki);
      N *= ki;
    }
    const Dims d(k);
    Batch b = random_batch(d, 1 + pick(4), rng, pick(3) == 0 ? 0 : (pick(2) ? 2 : 64));
    const bool offsets = pick(2) == 0;
    if (offsets) {
      for (std::int64_t g = 0; g < b.games; ++g) {
        for (int v = 0; v < 2 * n; ++v) {
          std::vector<double>& side_values = v < n ? b.agents : b.principals;
          for (std::int64_t s = 0; s < N; ++s)
            side_values[static_cast<std::size_t>((g * n + v % n) * N + s)] += 1000.0 * v;
        }
      }
    }
    Options o;
    o.standardisation = static_cast<Standardisation>(pick(3));
    o.welfare = static_cast<Welfare>(pick(2));
    o.cc_window = static_cast<CcWindow>(pick(2));
    const StrategyKind kinds[] = {StrategyKind::worst_ne,       StrategyKind::best_ne, StrategyKind::uniform_ne,
                                  StrategyKind::uniform_eps_ne, StrategyKind::played,  StrategyKind::product};
    o.strategy.kind = kinds[pick(6)];
    if (o.strategy.kind == StrategyKind::product) {
      for (int i = 0; i < n; ++i) {
        for (std::int64_t a = 0; a < d.actions(i); ++a)
          o.strategy.weights.push_back(1.0 / static_cast<double>(d.actions(i)));
      }
    }
    const double levels[] = {0.0, 0.25, 0.5, 1.0};
    for (int i = 0; i < n; ++i) o.ic.push_back(levels[pick(4)]);
    o.cc = levels[pick(4)];
    o.list_equilibria = pick(2) == 0;
    o.distance_matrix = pick(3) == 0;
    const bool f32 = pick(2) == 0;
    Run run;
    switch (pick(3)) {
      case 0:
        break;
      case 1: {
        const int p = pick(3);
        if (side.team_fits(p, n, N, f32 ? 4 : 8)) run.path = p;
        break;
      }
      default:
        run = tiled(32 * (1 + pick(4)), 1 + pick(4));
    }
    run.chunk = pick(4) == 0 ? 1 + pick(3) : 0;
    compare(side, b, o, f32, "random configuration " + std::to_string(it) + (offsets ? " (offsets)" : ""), run);
  }
}

/// Ties (values in {-1, 0, 1}/64) break to the first outcome; empty CC windows take the played
/// fallback's closest outcome.
template <class Side>
void ties_and_fallbacks(const Side& side, std::mt19937_64& rng) {
  const std::vector<Dims> sizes =
      side.emulated() ? std::vector<Dims>{Dims({3, 3}), Dims({4, 4, 4})}
                      : std::vector<Dims>{Dims({3, 3}), Dims({4, 4, 4}), Dims({6, 7, 4, 6}), Dims({60, 70})};
  for (const Dims& d : sizes) {
    const std::int64_t games = side.emulated() ? 9 : d.outcomes() > 1000 ? 4 : side.games(29);
    const Batch b = random_batch(d, games, rng, 1);
    for (StrategyKind k : {StrategyKind::worst_ne, StrategyKind::best_ne, StrategyKind::played}) {
      Options o;
      o.strategy.kind = k;
      o.list_equilibria = true;
      o.ic = {0.5};
      o.cc = 1.0;  // empty windows: the played fallback's closest outcome
      const std::string what = std::string("ties ") + to_string(k);
      compare(side, b, o, false, what);
      compare(side, b, o, false, what, tiled(32, 3));
      if (!side.emulated()) compare(side, b, o, true, what, tiled(32, 3));  // the emulation: float64 only
    }
  }
}

/// Streaming through chunks of a few games (per-game strategies staged with them), on the planned
/// and the tiled path; progress reported after every chunk, ending at the total; cancelling stops
/// with `cancelled`.
template <class Side>
void streaming_chunks_progress_and_cancel(const Side& side, std::mt19937_64& rng) {
  const std::vector<Dims> sizes = side.emulated() ? std::vector<Dims>{Dims({3, 3})}
                                                  : std::vector<Dims>{Dims({3, 3}), Dims({5, 5, 4}), Dims({97, 89})};
  const std::vector<std::int64_t> chunks =
      side.emulated() ? std::vector<std::int64_t>{1, 4, 7} : std::vector<std::int64_t>{1, 2, 7};
  const std::int64_t progress_chunk = side.emulated() ? 5 : 3;
  for (const Dims& d : sizes) {
    const std::int64_t games = side.emulated() ? 23 : d.outcomes() > 1000 ? 5 : side.games(101) + 6;
    const Batch b = random_batch(d, games, rng, 32);
    Options o;
    o.list_equilibria = true;
    o.strategy.kind = StrategyKind::correlated;
    o.strategy.per_game = true;
    for (std::int64_t g = 0; g < games * d.outcomes(); ++g)
      o.strategy.weights.push_back(1.0 / static_cast<double>(d.outcomes()));
    for (std::int64_t chunk : chunks) {
      const std::string what = "chunks of " + std::to_string(chunk);
      for (bool f32 : {false, true}) compare(side, b, o, f32, what, planned(chunk));
      compare(side, b, o, true, what, tiled(32, 1, chunk));
    }
    auto backend = side.backend(planned(progress_chunk));
    std::vector<std::int64_t> seen, expected;
    for (std::int64_t done = progress_chunk; done < games; done += progress_chunk) expected.push_back(done);
    expected.push_back(games);
    backend->set_progress([&](std::int64_t done, std::int64_t total) {
      EXPECT_EQ(total, games);
      seen.push_back(done);
      return true;
    });
    Results r;
    backend->evaluate(b.view(), Options{}, r);
    EXPECT_EQ(seen, expected) << d.to_string();
    if (games > progress_chunk) {
      backend->set_progress([](std::int64_t, std::int64_t) { return false; });
      EXPECT_THROW(backend->evaluate(b.view(), Options{}, r), cancelled);
    }
  }
}

/// Non-finite input: the CPU's error (the first non-finite game), on every path and through
/// chunks; with allow_nonfinite, the same flags and columns as the CPU's.
template <class Side>
void non_finite_input(const Side& side, std::mt19937_64& rng) {
  const std::vector<Dims> sizes =
      side.emulated() ? std::vector<Dims>{Dims({2, 3})} : std::vector<Dims>{Dims({2, 3}), Dims({97, 89})};
  for (const Dims& d : sizes) {
    for (double bad : {std::nan(""), static_cast<double>(INFINITY), -static_cast<double>(INFINITY)}) {
      Batch b = random_batch(d, 9, rng, 16);
      const std::int64_t per = b.dims.players() * b.dims.outcomes();
      b.principals[static_cast<std::size_t>(5 * per + b.dims.outcomes() + 4)] = bad;  // game 5, principal 1, outcome 4
      b.agents[static_cast<std::size_t>(7 * per + 1)] = bad;                          // game 7, agent 0, outcome 1
      std::string cpu_message;
      try {
        evaluate(b.view());
      } catch (const error& e) {
        cpu_message = e.what();
      }
      ASSERT_FALSE(cpu_message.empty());
      for (std::int64_t chunk : {0, 2}) {
        for (const Run& run : {planned(chunk), tiled(32, 1, chunk)}) {
          std::string gpu_message;
          try {
            Results r;
            side.backend(run)->evaluate(b.view(), Options{}, r);
          } catch (const error& e) {
            gpu_message = e.what();
          }
          EXPECT_EQ(gpu_message, cpu_message) << describe(run);
        }
      }
      Options o;
      o.allow_nonfinite = true;
      o.list_equilibria = true;
      o.distance_matrix = true;
      compare(side, b, o, false, "allow non-finite");
      compare(side, b, o, true, "allow non-finite");
      compare(side, b, o, true, "allow non-finite", tiled(32, 2));
    }
  }
}

/// bound_holds is NaN (undefined) in the same games as on the CPU, on every path: those whose
/// strategy is undefined (matching pennies has no pure NE) and a non-finite one; 1 elsewhere.
template <class Side>
void bound_holds_undefined_in_the_same_games(const Side& side, std::mt19937_64& rng) {
  const Batch b = undefined_strategy_batch(random_batch(Dims({2, 2}), 8, rng, 4));
  Options o;
  o.allow_nonfinite = true;
  for (int p : {kAuto, kThread, kQuad, kWarp, kBlock, kTiled}) {
    if (p >= 0 && p != kTiled && !side.team_fits(p, 2, 4, 8)) continue;
    const Run run = p == kTiled ? tiled(32, 2) : forced(p);
    const std::string what = describe(run);
    compare(side, b, o, false, what, run);  // the same 1, 0 or NaN as the CPU's, game by game
    Results gpu;
    side.backend(run)->evaluate(b.view(), o, gpu);
    expect_undefined_bound_holds(gpu, what);
  }
}

/// Principals' utilities an affine map of the agents' plus noise of 0 to 1e-6 (IA near 1).
template <class Side>
void nearly_aligned_utilities(const Side& side, std::mt19937_64& rng) {
  std::normal_distribution<double> normal(0.0, 1.0);
  const std::vector<Dims> sizes =
      side.emulated() ? std::vector<Dims>{Dims({4, 5})} : std::vector<Dims>{Dims({5, 5, 4}), Dims({97, 89})};
  for (const Dims& d : sizes) {
    for (double eps : {0.0, 1e-12, 1e-9, 1e-6}) {
      Batch b = random_batch(d, side.emulated() ? 4 : 3, rng);
      for (std::size_t j = 0; j < b.agents.size(); ++j) b.principals[j] = 3.0 * b.agents[j] + 1.0 + eps * normal(rng);
      Options o;
      o.distance_matrix = true;
      const std::string what = "IA near 1, eps " + std::to_string(eps);
      compare(side, b, o, false, what);
      compare(side, b, o, true, what);
      compare(side, b, o, false, what, tiled(32, 1));
    }
  }
}

/// Zero magnitudes: game 0's agents constant, game 1's principals constant; one-outcome and
/// one-player games.
template <class Side>
void zero_magnitudes_and_degenerate_games(const Side& side, std::mt19937_64& rng) {
  const std::vector<Dims> sizes =
      side.emulated() ? std::vector<Dims>{Dims({1, 1}), Dims({13}), Dims({4, 5})}
                      : std::vector<Dims>{Dims({3, 3}), Dims({1, 1}), Dims({13}), Dims({6, 7, 4, 6}), Dims({1, 2000})};
  for (const Dims& d : sizes) {
    Batch b = random_batch(d, 5, rng, 4);
    const std::int64_t per = b.dims.players() * b.dims.outcomes();
    std::fill(b.agents.begin(), b.agents.begin() + per, 0.25);                    // game 0: constant agents
    std::fill(b.principals.begin() + per, b.principals.begin() + 2 * per, -1.0);  // game 1: constant principals
    for (Standardisation s : {Standardisation::epic, Standardisation::max}) {
      Options o = with(s, Welfare::average, StrategyKind::uniform_ne);
      o.distance_matrix = true;
      o.list_equilibria = true;
      const std::string what = std::string("degenerate ") + to_string(s);
      compare(side, b, o, false, what);
      compare(side, b, o, false, what, tiled(32, 1));
    }
  }
}

/// A lean selection (the device stores and copies only these and flags), a per-player column
/// alone, and NE lists without pure_ne_count (rebuilt where it is not selected); on every path
/// and through chunks; the results hold the selected columns only.
template <class Side>
void column_selection(const Side& side, std::mt19937_64& rng) {
  const std::vector<Dims> sizes = side.emulated() ? std::vector<Dims>{Dims({3, 4})}
                                                  : std::vector<Dims>{Dims({3, 3}), Dims({5, 5, 4}), Dims({61, 67})};
  for (const std::string& sel : {std::string("ia,ca_principals,principals_welfare_regret,bound"),
                                 std::string("calibration_ratio"), std::string("eps_ne_count,bound_r6")}) {
    Options o;
    o.columns = parse_columns(sel);
    o.list_equilibria = true;
    for (const Dims& d : sizes) {
      const std::int64_t games = side.emulated() ? 9 : d.outcomes() > 1000 ? 3 : side.games(301);
      const Batch b = random_batch(d, games, rng, 16);
      const std::string what = "columns " + sel;
      if (!side.emulated()) {  // the emulation: the planned path through chunks, and each path forced
        for (bool f32 : {false, true}) compare(side, b, o, f32, what);
      }
      compare(side, b, o, true, what, planned(2));
      for (int p : {kThread, kQuad, kWarp, kBlock}) {
        if (side.team_fits(p, d.players(), d.outcomes(), 8)) compare(side, b, o, false, what, forced(p));
      }
      compare(side, b, o, false, what, tiled(32, 2));
      Results gpu;
      side.backend(planned())->evaluate(b.view(), o, gpu);
      const auto count = static_cast<std::size_t>(games);
      EXPECT_EQ(gpu.columns, o.columns);
      EXPECT_EQ(gpu.flags.size(), count);
      EXPECT_EQ(gpu.ia.size(), sel.find("ia") == 0 ? count * static_cast<std::size_t>(d.players()) : 0u);
      EXPECT_TRUE(gpu.welfare_agents_max.empty());
      EXPECT_EQ(gpu.pure_ne.size(), count);
    }
  }
}

/// The controlled generator on the device gives the host's games bit for bit, for every kind of
/// spec; through a resident batch in either dtype; and the same error for a game that runs out of
/// attempts.
template <class Side>
void generator_matches_the_host_bit_for_bit(const Side& side, std::mt19937_64& rng) {
  const bool emulated = side.emulated();
  const std::vector<Dims> sizes = emulated ? std::vector<Dims>{Dims({3, 3}), Dims({2, 3, 2})}
                                           : std::vector<Dims>{Dims({3, 3}), Dims({5, 5, 4}), Dims({6, 7, 4, 6})};
  const std::int64_t first_game = emulated ? 11 : 1000;  // a stream's later games
  const int host_threads = emulated ? 1 : 0;
  for (const Dims& d : sizes) {
    for (const auto& [name, spec] : generator_specs(d.players())) {
      const std::int64_t games = emulated ? 5 : d.outcomes() > 500 ? 7 : side.games(3001);
      const std::uint64_t seed = rng();
      std::vector<GameInfo> host_info, device_info;
      const Batch host = generate_games(d, spec, games, seed, first_game, host_threads, &host_info);
      const Batch device = side.generate_on_device(d, spec, games, seed, first_game, &device_info);
      expect_same_games(host, device, name + " " + d.to_string());
      expect_same_info(host_info, device_info, name + " " + d.to_string());
    }
  }
  GeneratorSpec s1, s2;
  s1.ia = {0.4};
  s1.ca_principals = 0.7;
  s2.ia = {0.25};
  s2.ca_agents = 0.5;
  const Dims d = emulated ? Dims({3, 2}) : Dims({5, 5, 4});
  const std::int64_t games = emulated ? 7 : side.games(2000);
  for (const GeneratorSpec& s : {s1, s2}) {
    for (DType t : {DType::float32, DType::float64}) {
      typename Side::Resident rb(0, d, t, games, Options{}, side.tuning(planned()));
      const std::uint64_t seed = rng();
      rb.fill_generated(s, seed);
      const Batch back = rb.download_input(games);
      const Batch host = generate_games(d, s, games, seed, 0, host_threads);
      auto as = [t](double x) { return t == DType::float32 ? static_cast<double>(static_cast<float>(x)) : x; };
      for (std::size_t j = 0; j < host.agents.size(); ++j) {
        ASSERT_EQ(back.agents[j], as(host.agents[j])) << dtype_name(t) << " " << j;
        ASSERT_EQ(back.principals[j], as(host.principals[j])) << dtype_name(t) << " " << j;
      }
    }
  }
  // One attempt with a required pure NE: some 2x2 games of seed 5 have none.
  GeneratorSpec hard;
  hard.pure_ne = PureNe::reject;
  hard.max_attempts = 1;
  std::string host_error, device_error;
  try {
    generate_games(Dims({2, 2}), hard, 64, 5, 0, host_threads);
  } catch (const error& e) {
    host_error = e.what();
  }
  try {
    side.generate_on_device(Dims({2, 2}), hard, 64, 5, 0, nullptr);
  } catch (const error& e) {
    device_error = e.what();
  }
  EXPECT_NE(host_error.find("met no draw"), std::string::npos) << host_error;
  EXPECT_EQ(device_error, host_error);
}

/// A batch resident on the device: filled on the device with the host's random games (in its
/// dtype), evaluated there, the CPU's results; its byte counts.
template <class Side>
void resident_batch_matches_the_host(const Side& side, std::mt19937_64& rng) {
  const std::vector<Dims> sizes = side.emulated() ? std::vector<Dims>{Dims({3, 4})}
                                                  : std::vector<Dims>{Dims({3, 3}), Dims({6, 7, 4, 6}), Dims({97, 89})};
  for (const Dims& d : sizes) {
    for (DType t : {DType::float64, DType::float32}) {
      const std::int64_t games = side.emulated() ? 6 : d.outcomes() > 1000 ? 3 : 50;
      const std::uint64_t seed = rng();
      Options o;
      o.list_equilibria = true;
      typename Side::Resident rb(0, d, t, games, o, side.tuning(planned()));
      rb.fill_random(seed, -1.0, 2.0);
      const Batch host = random_uniform_games(d, games, seed, 0, -1.0, 2.0);
      const Batch back = rb.download_input(games);
      auto as = [t](double x) { return t == DType::float32 ? static_cast<double>(static_cast<float>(x)) : x; };
      for (std::size_t j = 0; j < host.agents.size(); ++j) {
        ASSERT_EQ(back.agents[j], as(host.agents[j])) << j;
        ASSERT_EQ(back.principals[j], as(host.principals[j])) << j;
      }
      rb.evaluate();
      Results gpu, cpu;
      rb.download(gpu);
      make_cpu_backend(side.cpu_threads())->evaluate(back.view(), o, cpu);
      expect_match(cpu, gpu, tolerances::float64_relative, back.view(), o,
                   std::string("resident ") + dtype_name(t) + " " + d.to_string());
      EXPECT_EQ(rb.input_bytes(), side.input_bytes(d, games, dtype_size(t)));
      EXPECT_GE(rb.device_bytes(), rb.input_bytes() + rb.output_bytes());
    }
  }
}

/// A batch already in device memory (BatchView::memory == Memory::device) is evaluated in place: the
/// same results as the host batch, on every kind of path, through chunks, with a backend reused
/// across calls of growing and shrinking size, after the caller's stream (the copy that wrote the
/// games is still queued when evaluate() is called); and the errors: host memory, a misaligned
/// pointer, an allocation too short, device memory on the CPU backend, a non-finite game.
template <class Side>
void device_input_matches_host_input(const Side& side, std::mt19937_64& rng) {
  const bool emu = side.emulated();
  struct Case {
    Dims dims;
    std::int64_t games;
    Run run;
  };
  const std::vector<Case> cases = {
      {Dims({3, 3}), emu ? 40 : 3000, planned()},
      {Dims({2, 3, 5}), emu ? 9 : 500, planned(emu ? 4 : 128)},
      {Dims({5, 5, 4}), emu ? 3 : 200, planned()},
      {Dims({40, 30}), emu ? 2 : 20, tiled(256, 2, 1)},
  };
  for (const Case& c : cases) {
    for (bool f32 : {false, true}) {
      const Batch b = random_batch(c.dims, c.games, rng, 16);
      std::vector<float> a32, p32;
      const BatchView host = view_as(b, f32, a32, p32);
      Options o;
      o.list_equilibria = true;
      o.distance_matrix = true;
      o.ic = {0.75};
      Results cpu, gpu;
      make_cpu_backend(side.cpu_threads())->evaluate(host, o, cpu);
      const std::string what = std::string("device input ") + (f32 ? "float32 " : "float64 ") + c.dims.to_string() +
                               " x" + std::to_string(c.games) + ", " + describe(c.run);
      const DeviceGames dev = side.to_device(host, f32 ? 4 : 8);
      side.backend(c.run)->evaluate(dev.view, o, gpu);
      expect_match(cpu, gpu, f32 ? tolerances::float32_relative : tolerances::float64_relative, host, o, what);
    }
  }
  // One backend, calls of growing then shrinking size: its buffers are reused and grown.
  {
    const std::unique_ptr<Backend> backend = side.backend(planned(emu ? 5 : 0));
    for (std::int64_t games : {emu ? 7 : 700, emu ? 23 : 2300, emu ? 3 : 300}) {
      const Batch b = random_batch(Dims({4, 3}), games, rng, 16);
      Options o;
      o.list_equilibria = true;
      Results cpu, gpu, again;
      make_cpu_backend(side.cpu_threads())->evaluate(b.view(), o, cpu);
      const DeviceGames dev = side.to_device(b.view(), 0);
      backend->evaluate(dev.view, o, gpu);
      expect_match(cpu, gpu, tolerances::float64_relative, b.view(), o, "device input, reused backend");
      backend->evaluate(b.view(), o, again);  // host input on the same backend
      expect_match(cpu, again, tolerances::float64_relative, b.view(), o, "host input, reused backend");
    }
  }
  // Errors, each naming what is wrong.
  const Batch b = random_batch(Dims({3, 2}), 10, rng, 16);
  const DeviceGames dev = side.to_device(b.view(), 0);
  auto expect_error = [&](const BatchView& v, const std::string& text, Backend& backend) {
    Results r;
    try {
      backend.evaluate(v, Options{}, r);
      ADD_FAILURE() << "no error; expected one saying \"" << text << "\"";
    } catch (const error& e) {
      EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
    }
  };
  const std::unique_ptr<Backend> backend = side.backend(planned());
  BatchView host_as_device = b.view();
  host_as_device.memory = Memory::device;
  expect_error(host_as_device, "agents: host memory, not CUDA device memory", *backend);
  BatchView misaligned = dev.view;
  misaligned.principals = static_cast<const char*>(misaligned.principals) + 4;
  expect_error(misaligned, "principals: the pointer is not aligned to its dtype (8 bytes)", *backend);
  BatchView too_long = dev.view;
  too_long.games = 11;
  expect_error(too_long, "agents: its allocation holds 960 bytes from this pointer, but the batch needs 1056",
               *backend);
  expect_error(dev.view, "the CPU backend reads host memory", *make_cpu_backend(1));
  Batch bad = b;
  bad.principals[static_cast<std::size_t>(7 * 12 + 3)] = std::nan("");
  const DeviceGames dev_bad = side.to_device(bad.view(), 0);
  expect_error(dev_bad.view, "game 7", *backend);
}

/// The thread path (one thread per game, the planner's choice for games of up to 16 outcomes) and
/// the quad team it is chosen ahead of, both forced on tiny games of more than a warp each: every
/// strategy (shared and per game), ties, non-finite input.
template <class Side>
void thread_and_quad_paths_on_tiny_games(const Side& side, std::mt19937_64& rng) {
  for (const Dims& d : {Dims({3, 3}), Dims({2, 2, 2}), Dims({4, 4}), Dims({1, 7}), Dims({16})}) {
    const std::int64_t games = 37;
    const Batch b = random_batch(d, games, rng, 16);
    const int n = d.players();
    for (StrategyKind k :
         {StrategyKind::worst_ne, StrategyKind::best_ne, StrategyKind::uniform_ne, StrategyKind::uniform_eps_ne,
          StrategyKind::played, StrategyKind::pure, StrategyKind::correlated, StrategyKind::product}) {
      Options o;
      o.strategy.kind = k;
      o.strategy.per_game = k == StrategyKind::pure || strategy_has_weights(k);
      o.ic = {0.75};
      o.cc = 0.5;
      o.list_equilibria = true;
      o.distance_matrix = k == StrategyKind::played;
      for (std::int64_t g = 0; g < (o.strategy.per_game ? games : 0); ++g) {
        add_random_strategy(o, k, d, rng);
      }
      for (int p : {kThread, kQuad}) {
        for (bool f32 : {false, true}) compare(side, b, o, f32, std::string("tiny ") + to_string(k), forced(p));
      }
    }
    for (Standardisation st : {Standardisation::max, Standardisation::max_range}) {
      Options o = with(st, Welfare::sum, StrategyKind::played);
      o.cc_window = CcWindow::natural;
      o.ic.assign(static_cast<std::size_t>(n), 0.25);
      for (int p : {kThread, kQuad}) compare(side, b, o, false, std::string("tiny ") + to_string(st), forced(p));
    }
    const Batch ties = random_batch(d, 9, rng, 1);
    for (StrategyKind k : {StrategyKind::worst_ne, StrategyKind::best_ne, StrategyKind::played}) {
      Options o;
      o.strategy.kind = k;
      o.list_equilibria = true;
      o.ic = {0.5};
      o.cc = 1.0;
      for (int p : {kThread, kQuad}) compare(side, ties, o, false, std::string("tiny ties ") + to_string(k), forced(p));
    }
  }
  for (double bad : {std::nan(""), static_cast<double>(INFINITY)}) {
    Batch b = random_batch(Dims({2, 3}), 40, rng, 16);
    b.principals[static_cast<std::size_t>(5 * 12 + 6 + 4)] = bad;
    b.agents[static_cast<std::size_t>(33 * 12 + 1)] = bad;
    Options o;
    o.allow_nonfinite = true;
    o.list_equilibria = true;
    o.distance_matrix = true;
    for (int p : {kThread, kQuad}) {
      for (bool f32 : {false, true}) compare(side, b, o, f32, "tiny non-finite", forced(p));
    }
  }
}

/// The two-player path (kernels/two_player_evaluate.cu) with the NE listed (the bitmask cleared by
/// the streaming kernel, the equilibria's bits set by the re-check's atomics), forced, its rows in
/// one tile or in tiles of 64 columns (the last one shorter): the strategies it takes, both dtypes,
/// continuous payoffs, ties on a coarse grid (the candidate lists overflow), a game of one value
/// (every outcome a pure NE) and IC below 1 (tiles record no candidates). On the GPU also float64
/// games whose rows do not fit in shared memory, on the planned path (two tiles per row).
template <class Side>
void two_player_path_lists_and_tiles(const Side& side, std::mt19937_64& rng) {
  const std::vector<Dims> sizes =
      side.emulated() ? std::vector<Dims>{Dims({20, 150})} : std::vector<Dims>{Dims({20, 150}), Dims({300, 1000})};
  for (const Dims& d : sizes) {
    const std::int64_t games = side.emulated() ? 2 : side.games(4);
    const Batch b = random_batch(d, games, rng);
    Batch ties = random_batch(d, games, rng, 2);
    for (std::size_t q = 0; q < 2 * static_cast<std::size_t>(d.outcomes()); ++q)
      ties.agents[q] = ties.principals[q] = 0.25;
    for (StrategyKind k : {StrategyKind::worst_ne, StrategyKind::uniform_eps_ne, StrategyKind::pure}) {
      Options o;
      o.strategy.kind = k;
      o.list_equilibria = true;
      o.distance_matrix = k == StrategyKind::worst_ne;
      if (k == StrategyKind::pure) {
        o.strategy.per_game = true;
        for (std::int64_t g = 0; g < games; ++g) {
          o.strategy.actions.push_back(static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(d.actions(0))));
          o.strategy.actions.push_back(static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(d.actions(1))));
        }
      }
      Options low = o;
      low.ic = {0.75, 0.5};
      for (std::int64_t tile : {std::int64_t{0}, std::int64_t{64}}) {
        const Run run{kTwoPlayer, tile, 0, 0};
        const std::string what = std::string("two-player ") + (tile ? "tiles of 64 " : "") + to_string(k);
        compare(side, b, o, tile != 0, what, run);
        compare(side, ties, o, false, what + " ties", run);
        compare(side, b, low, false, what + " IC 0.75, 0.5", run);
      }
    }
  }
  if (!side.emulated()) {
    Options o;
    o.list_equilibria = true;
    for (const Dims& d : {Dims({3, 20000}), Dims({600, 12000})}) {
      const Batch b = random_batch(d, side.games(2), rng);
      compare(side, b, o, false, "two-player long float64 rows (planned)");
    }
  }
}

/// The cluster team (kernels/cluster_evaluate.cu, sm_90: skipped on a device without clusters):
/// one thread block cluster per game, the game dealt to its blocks in runs of outcomes. Fresh
/// random games of 3 to 6 players forced onto it with 1, 2, 4 and 8 blocks per cluster and runs of
/// 32 to 256 outcomes (so a player's fibers span the blocks' slices and some blocks hold no
/// outcome): every strategy (per game where it can be), every standardisation, both dtypes and
/// welfares, ties (payoffs on a coarse grid), payoffs spanning orders of magnitude (each vector
/// scaled by 1e-6 .. 1e6), the NE lists exact; chunks of 2 games or one chunk (the persistent
/// grid walks more games than it has clusters); non-finite input. On the GPU also the bench's
/// 7x3x8x5x12 on the planned path.
template <class Side>
void cluster_team_matches_the_cpu(const Side& side, std::mt19937_64& rng) {
  if (!side.cluster_fits(3, 60, 8, 1, 32)) GTEST_SKIP() << "the device has no thread block clusters";
  auto pick = [&](int k) { return static_cast<int>(rng() % static_cast<std::uint64_t>(k)); };
  const StrategyKind kinds[] = {StrategyKind::worst_ne,       StrategyKind::best_ne, StrategyKind::uniform_ne,
                                StrategyKind::uniform_eps_ne, StrategyKind::played,  StrategyKind::pure,
                                StrategyKind::correlated,     StrategyKind::product};
  std::vector<Dims> sizes = {Dims({3, 4, 5}), Dims({2, 3, 2, 4, 3}), Dims({4, 1, 5, 7}), Dims({2, 2, 3, 2, 2, 3}),
                             Dims({5, 6, 7})};
  if (!side.emulated()) sizes.insert(sizes.end(), {Dims({7, 3, 8, 5, 12}), Dims({6, 7, 4, 6, 5})});
  int case_index = 0;
  for (const Dims& d : sizes) {
    const int n = d.players();
    const std::int64_t games = side.emulated() ? 3 + pick(2) : side.games(9 + pick(5));
    const Batch wide = wide_range_batch(d, games, rng);
    const Batch ties = random_batch(d, games, rng, 2);
    for (StrategyKind k : kinds) {
      Options o;
      o.strategy.kind = k;
      o.strategy.per_game = k == StrategyKind::pure || strategy_has_weights(k);
      for (std::int64_t g = 0; g < games; ++g) {
        add_random_strategy(o, k, d, rng);
      }
      o.cc = 0.5;
      o.list_equilibria = true;
      o.distance_matrix = k == StrategyKind::played || k == StrategyKind::worst_ne;
      o.standardisation = static_cast<Standardisation>(case_index % 3);
      o.welfare = static_cast<Welfare>(pick(2));
      o.ic.assign(static_cast<std::size_t>(n), 0.5);
      o.ic[0] = 0.0;
      // Every cluster size with both dtypes and both batches (the emulation: one of the four
      // combinations per strategy, in turn).
      const int blocks = 1 << (case_index % 4);
      const std::int64_t run = 32 << pick(4);
      const Run r{kCluster, run, blocks, pick(2) ? 2 : 0};
      const bool f32_turn = (case_index / 4) % 2 == 1, wide_turn = (case_index / 8) % 2 == 0;
      ++case_index;
      if (!side.cluster_fits(n, d.outcomes(), 8, blocks, run)) continue;  // a large game in few blocks
      const std::string what = std::string("cluster team ") + to_string(k) + " " + to_string(o.standardisation) +
                               " blocks " + std::to_string(blocks) + " run " + std::to_string(run);
      for (bool f32 : {false, true}) {
        for (bool wide_ranges : {false, true}) {
          if (side.emulated() && (f32 != f32_turn || wide_ranges != wide_turn)) continue;
          compare(side, wide_ranges ? wide : ties, o, f32, what + (wide_ranges ? " wide ranges" : " ties"), r);
        }
      }
      if (!side.emulated() && d.outcomes() > 5000) {
        for (bool f32 : {false, true}) compare(side, wide, o, f32, std::string("mid-size planned ") + to_string(k));
      }
    }
  }
  Batch bad = random_batch(Dims({3, 4, 5}), 3, rng);
  bad.principals[70] = INFINITY;
  bad.agents[200] = std::nan("");
  Options o;
  o.list_equilibria = true;
  o.allow_nonfinite = true;
  compare(side, bad, o, false, "cluster team non-finite", Run{kCluster, 32, 4, 0});
}

/// The sweep path (kernels/sweep_evaluate.cu: games of 3 or more players larger than a cluster's
/// shared memory, one block or one cluster per game) forced on small games of 2 to 6 players
/// (blocks per game as planned: clusters for the few games here where the device has them, and
/// forced to 1, 2, 3 and 5 on one shape): every strategy (the
/// pure, correlated and product strategies per game, σ random with zeros; the product's also one
/// for all games), both dtypes, the distance matrix, payoffs spanning orders of magnitude (each
/// vector scaled by 1e-6 .. 1e6), ties with IC 0.5 (its candidate lists overflow: the equilibria
/// found by a second walk), the played set at CC 0.5 (and at CC 1 with IC 0.5: the fallback), a player of
/// one action, MAX and MAX-range (the L∞ walk) with the distance matrix, column selections through
/// chunks. On the GPU also larger shapes (slabs of several
/// tiles, the last player's fibers longer than a block) and the bench's 15x7x3x7x9x5 on the planned
/// path, with the played, correlated and product strategies and MAX and MAX-range too.
template <class Side>
void sweep_path_matches_the_cpu(const Side& side, std::mt19937_64& rng) {
  std::vector<Dims> sizes = {Dims({3, 4, 5}), Dims({2, 3, 2, 3, 2, 5}), Dims({4, 1, 3, 33})};
  if (!side.emulated()) sizes.insert(sizes.end(), {Dims({5, 3, 4, 70}), Dims({2, 3, 300}), Dims({6, 5, 4, 3, 50})});
  const auto with_strategy = [&](StrategyKind k, const Dims& d, std::int64_t games, bool per_game) {
    Options o;
    o.strategy.kind = k;
    o.strategy.per_game = per_game;
    for (std::int64_t g = 0; g < (per_game ? games : 1); ++g) {
      add_random_strategy(o, k, d, rng);
    }
    return o;
  };
  for (const Dims& d : sizes) {
    const int n = d.players();
    const std::int64_t games = side.emulated() ? 2 : side.games(7);
    const Batch wide = wide_range_batch(d, games, rng);
    const Batch ties = random_batch(d, games, rng, 2);
    for (StrategyKind k :
         {StrategyKind::worst_ne, StrategyKind::best_ne, StrategyKind::uniform_ne, StrategyKind::uniform_eps_ne,
          StrategyKind::pure, StrategyKind::played, StrategyKind::correlated, StrategyKind::product}) {
      const bool per_game = k == StrategyKind::pure || k == StrategyKind::correlated || k == StrategyKind::product;
      Options o = with_strategy(k, d, games, per_game);
      o.cc = 0.5;
      o.distance_matrix = k == StrategyKind::worst_ne || k == StrategyKind::played;
      o.list_equilibria = k != StrategyKind::best_ne;  // the NE list: bits set by the tally's atomics
      Options low = o;
      low.ic.assign(static_cast<std::size_t>(n), 0.5);
      low.welfare = Welfare::sum;
      const std::string what = " " + d.to_string() + " " + to_string(k);
      for (bool f32 : {false, true}) {
        compare(side, wide, o, f32, "sweep wide ranges" + what, forced(kSweep));
        compare(side, ties, low, f32, "sweep ties, IC 0.5" + what, forced(kSweep));
      }
      if (k == StrategyKind::played) {
        low.cc = 1.0;  // empty windows (about half the games): the played fallback's closest outcome
        compare(side, wide, low, false, "sweep IC 0.5, CC 1" + what, forced(kSweep));
      }
      if (k == StrategyKind::product) {
        compare(side, wide, with_strategy(k, d, games, false), false, "sweep one product for all" + what,
                forced(kSweep));
      }
    }
    for (Standardisation st : {Standardisation::max, Standardisation::max_range}) {  // the L∞ walk
      Options o;
      o.standardisation = st;
      o.distance_matrix = true;  // every tile walked
      o.list_equilibria = true;
      for (bool f32 : {false, true})
        compare(side, wide, o, f32, "sweep " + std::string(to_string(st)) + " " + d.to_string(), forced(kSweep));
      o.distance_matrix = false;  // the tiles whose bounds may hold a maximum
      compare(side, wide, o, st == Standardisation::max,
              "sweep bounded " + std::string(to_string(st)) + " " + d.to_string(), forced(kSweep));
    }
  }
  // Blocks per game forced: one (what a chunk of many games is planned), and thread block clusters
  // of 2, 3 and 5 blocks (player 0's 5 actions dealt in uneven runs; more games than clusters, so
  // that each cluster walks several, its lists of survivors taken by parity): EPIC and MAX with the
  // distance matrix and the NE list, ties with IC 0.5 (the lists overflow: the second walk dealt
  // to the cluster), the played set, σ.
  {
    const Dims d({5, 4, 3, 20});  // ties at IC 0.5 overflow its slabs' lists of candidates
    const std::int64_t games = side.emulated() ? 6 : side.games(300);
    const Batch wide = wide_range_batch(d, games, rng);
    const Batch ties = random_batch(d, games, rng, 2);
    for (int blocks : {1, 2, 3, 5}) {
      if (blocks > 1 && !side.cluster_fits(3, 60, 8, 1, 32)) continue;  // no thread block clusters
      const Run run{kSweep, 0, blocks, 0};
      const std::string what = " " + d.to_string() + ", " + std::to_string(blocks) + " blocks per game";
      for (StrategyKind k : {StrategyKind::worst_ne, StrategyKind::played, StrategyKind::correlated}) {
        Options o = with_strategy(k, d, games, k == StrategyKind::correlated);
        o.cc = 0.5;
        o.distance_matrix = k == StrategyKind::worst_ne;
        o.list_equilibria = true;
        Options low = o;
        low.ic.assign(4, 0.5);
        for (bool f32 : {false, true}) {
          if (f32 && k != StrategyKind::worst_ne) continue;
          compare(side, wide, o, f32, "sweep wide ranges" + what + " " + to_string(k), run);
          compare(side, ties, low, f32, "sweep ties, IC 0.5" + what + " " + to_string(k), run);
        }
      }
      for (Standardisation st : {Standardisation::max, Standardisation::max_range}) {  // the walk dealt too
        Options o;
        o.standardisation = st;
        o.distance_matrix = st == Standardisation::max;  // every tile walked, or the bounded walk
        o.list_equilibria = true;
        compare(side, wide, o, false, "sweep " + std::string(to_string(st)) + what, run);
      }
    }
  }
  // Column selections (the device stores only these and flags), through chunks of 2 games.
  const Batch cols = random_batch(Dims({3, 4, 5}), side.emulated() ? 5 : side.games(9), rng, 16);
  for (const std::string& sel : {std::string("ia,ca_principals,principals_welfare_regret,bound"),
                                 std::string("calibration_ratio"), std::string("eps_ne_count,bound_r6")}) {
    Options o;
    o.columns = parse_columns(sel);
    compare(side, cols, o, true, "sweep columns " + sel, Run{kSweep, 0, 0, 2});
  }
  if (!side.emulated()) {
    const Dims bench({15, 7, 3, 7, 9, 5});
    const Batch b = random_batch(bench, side.games(5), rng);
    for (bool f32 : {false, true}) compare(side, b, Options{}, f32, "15x7x3x7x9x5 planned (sweep)");
    for (StrategyKind k : {StrategyKind::played, StrategyKind::correlated, StrategyKind::product}) {
      Options o = with_strategy(k, bench, b.games, k != StrategyKind::played);
      o.cc = 0.5;
      o.ic = {0.75};
      compare(side, b, o, true, std::string("15x7x3x7x9x5 planned (sweep) ") + to_string(k));
    }
    for (Standardisation st : {Standardisation::max, Standardisation::max_range}) {
      Options o;
      o.standardisation = st;
      o.distance_matrix = st == Standardisation::max;
      for (bool f32 : {false, true})
        compare(side, b, o, f32, std::string("15x7x3x7x9x5 planned (sweep) ") + to_string(st));
    }
  }
}

}  // namespace parity
}  // namespace testing
}  // namespace dgeval

// Every scenario above as a test of `Suite` on `Side` (a default-constructible type), each body
// starting with `precondition` (a statement that may GTEST_SKIP or FAIL) and a fresh seed.
#define DGEVAL_CUDA_PARITY_TEST(Suite, Side, precondition, Name, scenario) \
  TEST(Suite, Name) {                                                      \
    precondition;                                                          \
    DGEVAL_SEEDED(rng);                                                    \
    ::dgeval::testing::parity::scenario(Side{}, rng);                      \
  }

#define DGEVAL_CUDA_PARITY_TESTS(Suite, Side, precondition)                                                        \
  DGEVAL_CUDA_PARITY_TEST(Suite, Side, precondition, DefaultPathsMatchCpu, default_paths_match_cpu)                \
  DGEVAL_CUDA_PARITY_TEST(Suite, Side, precondition, ContinuousUtilities, continuous_utilities)                    \
  DGEVAL_CUDA_PARITY_TEST(Suite, Side, precondition, EveryStrategyMatchesCpu, every_strategy_and_option)           \
  DGEVAL_CUDA_PARITY_TEST(Suite, Side, precondition, EveryPathAndTilingMatchCpu, every_path_and_tiling)            \
  DGEVAL_CUDA_PARITY_TEST(Suite, Side, precondition, ClusterTeamMatchesTheCpu, cluster_team_matches_the_cpu)       \
  DGEVAL_CUDA_PARITY_TEST(Suite, Side, precondition, TwoPlayerPathListsAndTiles, two_player_path_lists_and_tiles)  \
  DGEVAL_CUDA_PARITY_TEST(Suite, Side, precondition, SweepPathMatchesTheCpu, sweep_path_matches_the_cpu)           \
  DGEVAL_CUDA_PARITY_TEST(Suite, Side, precondition, SegmentedFibers, segmented_fibers)                            \
  DGEVAL_CUDA_PARITY_TEST(Suite, Side, precondition, RandomConfigurations, random_configurations)                  \
  DGEVAL_CUDA_PARITY_TEST(Suite, Side, precondition, TiesAndFallbacks, ties_and_fallbacks)                         \
  DGEVAL_CUDA_PARITY_TEST(Suite, Side, precondition, ThreadAndQuadPathsOnTinyGames,                                \
                          thread_and_quad_paths_on_tiny_games)                                                     \
  DGEVAL_CUDA_PARITY_TEST(Suite, Side, precondition, StreamingChunksProgressAndCancel,                             \
                          streaming_chunks_progress_and_cancel)                                                    \
  DGEVAL_CUDA_PARITY_TEST(Suite, Side, precondition, NonFiniteInput, non_finite_input)                             \
  DGEVAL_CUDA_PARITY_TEST(Suite, Side, precondition, BoundHoldsUndefinedInTheSameGames,                            \
                          bound_holds_undefined_in_the_same_games)                                                 \
  DGEVAL_CUDA_PARITY_TEST(Suite, Side, precondition, NearlyAlignedUtilities, nearly_aligned_utilities)             \
  DGEVAL_CUDA_PARITY_TEST(Suite, Side, precondition, ZeroMagnitudesAndDegenerateGames,                             \
                          zero_magnitudes_and_degenerate_games)                                                    \
  DGEVAL_CUDA_PARITY_TEST(Suite, Side, precondition, ColumnSelection, column_selection)                            \
  DGEVAL_CUDA_PARITY_TEST(Suite, Side, precondition, GeneratorMatchesTheHostBitForBit,                             \
                          generator_matches_the_host_bit_for_bit)                                                  \
  DGEVAL_CUDA_PARITY_TEST(Suite, Side, precondition, ResidentBatchMatchesTheHost, resident_batch_matches_the_host) \
  DGEVAL_CUDA_PARITY_TEST(Suite, Side, precondition, DeviceInputMatchesHostInput, device_input_matches_host_input)

// The Side of the CUDA backend in namespace NS (`cuda` for the real GPU in tests/test_cuda.cpp,
// `cuda_emu` for the emulation in tests/test_cuda_emulated.cpp): the class NAME, whose games(n)
// is GAMES(n) and whose poisoned tuning is TUNING(path, tile, blocks, chunk), with EMULATED and
// the CPU reference's THREADS; and a check that NS::Path numbers the paths as kQuad... above.
#define DGEVAL_CUDA_PARITY_SIDE(NAME, NS, EMULATED, THREADS, GAMES, TUNING)                                       \
  static_assert(static_cast<int>(NS::Path::quad_team) == ::dgeval::testing::parity::kQuad &&                      \
                    static_cast<int>(NS::Path::warp_team) == ::dgeval::testing::parity::kWarp &&                  \
                    static_cast<int>(NS::Path::block_team) == ::dgeval::testing::parity::kBlock &&                \
                    static_cast<int>(NS::Path::tiled) == ::dgeval::testing::parity::kTiled &&                     \
                    static_cast<int>(NS::Path::thread_game) == ::dgeval::testing::parity::kThread &&              \
                    static_cast<int>(NS::Path::two_player) == ::dgeval::testing::parity::kTwoPlayer &&            \
                    static_cast<int>(NS::Path::cluster_team) == ::dgeval::testing::parity::kCluster &&            \
                    static_cast<int>(NS::Path::sweep) == ::dgeval::testing::parity::kSweep,                       \
                "test_cuda_parity.hpp's path numbers are " #NS "::Path's");                                       \
  class NAME {                                                                                                    \
   public:                                                                                                        \
    using Resident = NS::ResidentBatch;                                                                           \
    NAME() : limits_(NS::device_info(0).limits) {}                                                                \
    bool emulated() const { return EMULATED; }                                                                    \
    int cpu_threads() const { return THREADS; }                                                                   \
    std::int64_t games(std::int64_t n) const { return GAMES(n); }                                                 \
    NS::Tuning tuning(const ::dgeval::testing::parity::Run& r) const {                                            \
      return TUNING(r.path, r.tile, r.blocks, r.chunk);                                                           \
    }                                                                                                             \
    std::unique_ptr<::dgeval::Backend> backend(const ::dgeval::testing::parity::Run& r) const {                   \
      return NS::make_cuda_backend(0, tuning(r));                                                                 \
    }                                                                                                             \
    bool team_fits(int path, int players, std::int64_t outcomes, std::size_t value_bytes) const {                 \
      const auto p = static_cast<NS::Path>(path);                                                                 \
      return NS::team_geometry_for(p, players, outcomes, value_bytes, limits_).path == p;                         \
    }                                                                                                             \
    bool cluster_fits(int players, std::int64_t outcomes, std::size_t value_bytes, int blocks,                    \
                      std::int64_t run) const {                                                                   \
      return NS::cluster_geometry_for(players, outcomes, value_bytes, limits_, 1, blocks, run).blocks > 0;        \
    }                                                                                                             \
    std::string path_name(int path) const { return NS::path_name(static_cast<NS::Path>(path)); }                  \
    ::dgeval::Batch generate_on_device(const ::dgeval::Dims& d, const ::dgeval::GeneratorSpec& spec,              \
                                       std::int64_t games, std::uint64_t seed, std::int64_t first_game,           \
                                       std::vector<::dgeval::GameInfo>* info) const {                             \
      return NS::generate_games_on_device(0, d, spec, games, seed, first_game, info);                             \
    }                                                                                                             \
    std::size_t input_bytes(const ::dgeval::Dims& d, std::int64_t games, std::size_t value_bytes) const {         \
      return NS::input_bytes(d, games, value_bytes);                                                              \
    }                                                                                                             \
    ::dgeval::testing::parity::DeviceGames to_device(const ::dgeval::BatchView& host, std::size_t offset) const { \
      return ::dgeval::testing::parity::copy_to_device(host, offset);                                             \
    }                                                                                                             \
                                                                                                                  \
   private:                                                                                                       \
    NS::DeviceLimits limits_;                                                                                     \
  };
