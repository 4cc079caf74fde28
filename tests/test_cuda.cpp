// The CUDA backend against the CPU reference backend, on fresh random games at awkward sizes,
// with every strategy and option, every kernel path forced at small sizes (quad, warp and block
// teams; the tiled path with tiny tiles and several blocks per game), streaming through chunks,
// ties, nearly aligned utilities, non-finite input, and (with DGEVAL_TEST_HUGE=1) a game past
// 2^31 outcomes. Device outputs and scratch are poisoned (0x5A bytes) before every run, so a
// column the kernels forget to write cannot pass. Reals compare with dgeval::tolerances; counts,
// flags and equilibrium lists exactly. Payoffs sit on a grid (k/64) where equilibria matter.
//
// Without a usable device every GPU test skips; with DGEVAL_REQUIRE_GPU=1 they fail instead.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "dgeval/detail/random.hpp"
#include "dgeval/dgeval.hpp"
#include "dgeval/experiments.hpp"
#include "dgeval/inference.hpp"
#include "dgeval/tolerances.hpp"
#include "test_cuda_compare.hpp"
#include "test_util.hpp"
#if DGEVAL_HAVE_CUDA
#include "backends/cuda/cuda_backend.hpp"
#endif

namespace dgeval {
namespace {

constexpr int kTiledPath = 3;  // cuda::Path::tiled

bool require_gpu() {
  const char* e = std::getenv("DGEVAL_REQUIRE_GPU");
  return e && std::string(e) == "1";
}

/// DGEVAL_TEST_SMALL=1 (compute-sanitizer runs): fewer games per case.
std::int64_t games_or_small(std::int64_t games) {
  const char* e = std::getenv("DGEVAL_TEST_SMALL");
  return e && std::string(e) == "1" ? std::min<std::int64_t>(games, 5) : games;
}

bool gpu_usable(std::string* why) {
#if DGEVAL_HAVE_CUDA
  return cuda_available(why);
#else
  *why = "dgeval was built without CUDA";
  return false;
#endif
}

#define DGEVAL_NEED_GPU()                                             \
  do {                                                                \
    std::string why_;                                                 \
    if (!gpu_usable(&why_)) {                                         \
      if (require_gpu()) {                                            \
        FAIL() << "DGEVAL_REQUIRE_GPU=1 but no usable GPU: " << why_; \
      } else {                                                        \
        GTEST_SKIP() << "no usable GPU: " << why_;                    \
      }                                                               \
    }                                                                 \
  } while (0)

#if DGEVAL_HAVE_CUDA
cuda::Tuning poisoned(int path = -1, std::int64_t tile = 0, std::int64_t blocks = 0, std::int64_t chunk = 0) {
  cuda::Tuning t;
  t.poison = true;
  t.force_path = path;
  t.tile_outcomes = tile;
  t.blocks_per_game = blocks;
  t.max_chunk_games = chunk;
  return t;
}
#endif

/// Evaluates `batch` on both backends (float64 or float32 view) and compares every column.
void compare(const Batch& batch, const Options& options, bool float32, const std::string& what, int path = -1,
             std::int64_t tile = 0, std::int64_t blocks = 0, std::int64_t chunk = 0) {
#if DGEVAL_HAVE_CUDA
  std::vector<float> a32, p32;
  const BatchView view = testing::view_as(batch, float32, a32, p32);
  Results cpu, gpu;
  make_cpu_backend(2)->evaluate(view, options, cpu);
  auto backend = cuda::make_cuda_backend(0, poisoned(path, tile, blocks, chunk));
  backend->evaluate(view, options, gpu);
  const double rel = float32 ? tolerances::float32_relative : tolerances::float64_relative;
  testing::expect_match(
      cpu, gpu, rel, view, options,
      what + (float32 ? " float32" : " float64") + " " + batch.dims.to_string() + " x" + std::to_string(batch.games));
#else
  (void)batch, (void)options, (void)float32, (void)what, (void)path, (void)tile, (void)blocks, (void)chunk;
#endif
}

// ---------------------------------------------------------------------------------------------
// Runs everywhere.

TEST(Cuda, AvailabilityIsReportedNotCrashed) {
  std::string why;
  const bool ok = cuda_available(&why);
  if (!ok) {
    EXPECT_FALSE(why.empty());
    EXPECT_THROW(make_cuda_backend(0), error);
    BackendConfig c;
    c.name = "auto";
    std::string warning;
    auto b = make_backend(c, &warning);
    EXPECT_STREQ(b->name(), "cpu");
    EXPECT_NE(warning.find("CPU"), std::string::npos) << warning;
  } else {
    EXPECT_STREQ(make_cuda_backend(0)->name(), "cuda");
    EXPECT_THROW(make_cuda_backend(1 << 20), error);
  }
}

// ---------------------------------------------------------------------------------------------
// GPU against CPU.

TEST(CudaVsCpu, AwkwardSizesBothDtypes) {
  DGEVAL_NEED_GPU();
  DGEVAL_SEEDED(rng);
  std::vector<Dims> sizes = testing::test_sizes();
  sizes.push_back(Dims({37, 41}));  // block team, prime actions
  sizes.push_back(Dims({97, 89}));  // tiled (float32 and float64)
  sizes.push_back(Dims({1, 1}));    // one outcome
  sizes.push_back(Dims({2, 1, 3, 1, 2}));
  Options o;
  o.list_equilibria = true;
  for (const Dims& d : sizes) {
    for (std::int64_t games : {1, 7, 61}) {
      if (d.outcomes() > 1000 && games > 7) continue;
      const Batch b = testing::random_batch(d, games_or_small(games), rng, 64);
      for (bool f32 : {false, true}) compare(b, o, f32, "default options");
    }
  }
}

TEST(CudaVsCpu, ContinuousUtilities) {
  DGEVAL_NEED_GPU();
  DGEVAL_SEEDED(rng);
  for (const Dims& d : {Dims({3, 3}), Dims({5, 5, 4}), Dims({6, 7, 4, 6}), Dims({7, 3, 8, 5, 2})}) {
    const Batch b = testing::random_batch(d, 13, rng);
    Options o;
    o.list_equilibria = true;
    o.distance_matrix = true;
    for (bool f32 : {false, true}) compare(b, o, f32, "continuous");
  }
}

TEST(CudaVsCpu, EveryStrategyAndOption) {
  DGEVAL_NEED_GPU();
  DGEVAL_SEEDED(rng);
  const std::vector<StrategyKind> kinds = {
      StrategyKind::worst_ne, StrategyKind::best_ne, StrategyKind::uniform_ne, StrategyKind::uniform_eps_ne,
      StrategyKind::played,   StrategyKind::pure,    StrategyKind::correlated, StrategyKind::product};
  for (const Dims& d : {Dims({3, 3}), Dims({2, 3, 5}), Dims({6, 7, 4, 6}), Dims({41, 43})}) {
    const std::int64_t games = d.outcomes() > 1000 ? 3 : games_or_small(23);
    const Batch b = testing::random_batch(d, games, rng, 16);
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
        std::uniform_real_distribution<double> unit(0.0, 1.0);
        if (k == StrategyKind::pure) {
          for (std::int64_t g = 0; g < copies; ++g) {
            for (int i = 0; i < n; ++i)
              o.strategy.actions.push_back(static_cast<std::int64_t>(unit(rng) * d.actions(i)));
          }
        }
        auto distribution = [&](std::int64_t len) {
          std::vector<double> w(static_cast<std::size_t>(len));
          double total = 0.0;
          for (double& x : w) total += (x = unit(rng) < 0.3 ? 0.0 : unit(rng));
          if (total == 0.0) w[0] = total = 1.0;
          for (double& x : w) x /= total;
          return w;
        };
        if (k == StrategyKind::correlated) {
          for (std::int64_t g = 0; g < copies; ++g) {
            const auto w = distribution(d.outcomes());
            o.strategy.weights.insert(o.strategy.weights.end(), w.begin(), w.end());
          }
        }
        if (k == StrategyKind::product) {
          for (std::int64_t g = 0; g < copies; ++g) {
            for (int i = 0; i < n; ++i) {
              const auto w = distribution(d.actions(i));
              o.strategy.weights.insert(o.strategy.weights.end(), w.begin(), w.end());
            }
          }
        }
        compare(b, o, false, std::string("strategy ") + to_string(k) + (per_game ? " per game" : ""));
      }
    }
    // Standardisations, welfare, per-player IC, the natural window, the distance matrix.
    for (Standardisation s : {Standardisation::epic, Standardisation::max, Standardisation::max_range}) {
      for (Welfare w : {Welfare::average, Welfare::sum}) {
        Options o = testing::with(s, w, StrategyKind::played);
        o.distance_matrix = true;
        o.list_equilibria = true;
        o.ic.assign(static_cast<std::size_t>(n), 0.5);
        o.ic[0] = 0.0;
        o.cc = 0.25;
        o.cc_window = w == Welfare::sum ? CcWindow::natural : CcWindow::code;
        compare(b, o, true, std::string("options ") + to_string(s) + "/" + to_string(w));
      }
    }
  }
}

TEST(CudaVsCpu, EveryPathForcedAtSmallSizes) {
  DGEVAL_NEED_GPU();
  DGEVAL_SEEDED(rng);
#if DGEVAL_HAVE_CUDA
  const cuda::DeviceLimits lim = cuda::device_info(0).limits;
  const bool small = games_or_small(37) < 37;  // under compute-sanitizer: fewer variants
  const std::vector<StrategyKind> kinds =
      small ? std::vector<StrategyKind>{StrategyKind::uniform_eps_ne}
            : std::vector<StrategyKind>{StrategyKind::worst_ne, StrategyKind::uniform_eps_ne, StrategyKind::played};
  const std::vector<std::int64_t> tiles = small ? std::vector<std::int64_t>{32} : std::vector<std::int64_t>{32, 64, 96};
  const std::vector<std::int64_t> block_counts =
      small ? std::vector<std::int64_t>{1, 3} : std::vector<std::int64_t>{1, 2, 5};
  for (const Dims& d :
       {Dims({3, 3}), Dims({2, 3, 5}), Dims({5, 5, 4}), Dims({13}), Dims({6, 7, 4, 6}), Dims({1, 7, 1})}) {
    const Batch b = testing::random_batch(d, games_or_small(37), rng, 8);
    for (StrategyKind k : kinds) {
      Options o;
      o.strategy.kind = k;
      o.list_equilibria = true;
      o.distance_matrix = true;
      o.ic = {0.5};
      for (bool f32 : {false, true}) {
        for (cuda::Path p :
             {cuda::Path::thread_game, cuda::Path::quad_team, cuda::Path::warp_team, cuda::Path::block_team}) {
          if (cuda::team_geometry_for(p, d.players(), d.outcomes(), f32 ? 4 : 8, lim).path != p) continue;
          compare(b, o, f32, std::string("forced ") + cuda::path_name(p), static_cast<int>(p));
        }
        for (std::int64_t tile : tiles) {
          for (std::int64_t blocks : block_counts) {
            compare(b, o, f32, "forced tiled, tile " + std::to_string(tile) + ", " + std::to_string(blocks) + " blocks",
                    static_cast<int>(cuda::Path::tiled), tile, blocks);
          }
        }
      }
    }
  }
#endif
}

TEST(CudaVsCpu, StreamsThroughChunks) {
  DGEVAL_NEED_GPU();
  DGEVAL_SEEDED(rng);
#if DGEVAL_HAVE_CUDA
  for (const Dims& d : {Dims({3, 3}), Dims({5, 5, 4}), Dims({97, 89})}) {
    const std::int64_t games = d.outcomes() > 1000 ? 5 : games_or_small(101) + 6;
    const Batch b = testing::random_batch(d, games, rng, 32);
    Options o;
    o.list_equilibria = true;
    o.strategy.kind = StrategyKind::correlated;
    o.strategy.per_game = true;
    for (std::int64_t g = 0; g < games; ++g) {
      for (std::int64_t s = 0; s < d.outcomes(); ++s)
        o.strategy.weights.push_back(1.0 / static_cast<double>(d.outcomes()));
    }
    for (std::int64_t chunk : {1, 2, 7}) {
      for (bool f32 : {false, true}) compare(b, o, f32, "chunks of " + std::to_string(chunk), -1, 0, 0, chunk);
    }
    // Progress reports every chunk, ending at the total; cancelling stops with `cancelled`.
    auto backend = cuda::make_cuda_backend(0, poisoned(-1, 0, 0, 3));
    std::vector<std::int64_t> seen;
    backend->set_progress([&](std::int64_t done, std::int64_t total) {
      EXPECT_EQ(total, games);
      seen.push_back(done);
      return true;
    });
    Results r;
    backend->evaluate(b.view(), Options{}, r);
    ASSERT_FALSE(seen.empty());
    EXPECT_EQ(seen.back(), games);
    EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
    if (games > 3) {
      backend->set_progress([](std::int64_t, std::int64_t) { return false; });
      EXPECT_THROW(backend->evaluate(b.view(), Options{}, r), cancelled);
    }
  }
#endif
}

TEST(CudaVsCpu, ColumnSelection) {
  DGEVAL_NEED_GPU();
  DGEVAL_SEEDED(rng);
#if DGEVAL_HAVE_CUDA
  // A lean selection (the device stores and copies only these and flags), a per-player column
  // alone, and NE lists without pure_ne_count; on every path and through chunks.
  for (const std::string& sel : {std::string("ia,ca_principals,principals_welfare_regret,bound"),
                                 std::string("calibration_ratio"), std::string("eps_ne_count,bound_r6")}) {
    Options o;
    o.columns = parse_columns(sel);
    o.list_equilibria = true;
    for (const Dims& d : {Dims({3, 3}), Dims({5, 5, 4}), Dims({61, 67})}) {
      const Batch b = testing::random_batch(d, d.outcomes() > 1000 ? 3 : games_or_small(301), rng, 16);
      for (bool f32 : {false, true}) compare(b, o, f32, "columns " + sel);
      compare(b, o, true, "columns " + sel + " chunked", -1, 0, 0, 2);
    }
  }
#endif
}

// The controlled generator on the device gives the host's games bit for bit (issue: generation,
// "CPU = GPU on the GPU machine"), for every kind of spec, many games and a mid-size shape.
TEST(CudaVsCpu, GeneratorMatchesTheHostBitForBit) {
  DGEVAL_NEED_GPU();
  DGEVAL_SEEDED(rng);
#if DGEVAL_HAVE_CUDA
  for (const Dims& d : {Dims({3, 3}), Dims({5, 5, 4}), Dims({6, 7, 4, 6})}) {
    for (const auto& [name, spec] : testing::generator_specs(d.players())) {
      const std::int64_t games = d.outcomes() > 500 ? 7 : games_or_small(3001);
      const std::uint64_t seed = rng();
      std::vector<GameInfo> host_info, device_info;
      const Batch host = generate_games(d, spec, games, seed, 1000, 0, &host_info);
      const Batch device = cuda::generate_games_on_device(0, d, spec, games, seed, 1000, &device_info);
      testing::expect_same_games(host, device, name + " " + d.to_string());
      testing::expect_same_info(host_info, device_info, name + " " + d.to_string());
    }
  }
  GeneratorSpec s;
  s.ia = {0.25};
  s.ca_agents = 0.5;
  cuda::ResidentBatch rb(0, Dims({5, 5, 4}), DType::float32, games_or_small(2000), Options{}, poisoned());
  const std::uint64_t seed = rng();
  rb.fill_generated(s, seed);
  const Batch back = rb.download_input(games_or_small(2000));
  const Batch host = generate_games(Dims({5, 5, 4}), s, games_or_small(2000), seed, 0, 0);
  for (std::size_t j = 0; j < host.agents.size(); ++j) {
    ASSERT_EQ(back.principals[j], static_cast<double>(static_cast<float>(host.principals[j]))) << j;
  }
#endif
}

// The bound surface generated and evaluated on the GPU against the CPU run of the same games.
TEST(CudaVsCpu, BoundSurfaceOnTheDevice) {
  DGEVAL_NEED_GPU();
  DGEVAL_SEEDED(rng);
#if DGEVAL_HAVE_CUDA
  BoundSurfaceConfig c;
  c.games = games_or_small(40000);
  c.chunk = 7777;
  c.calibration = {2.0, 1.0, 1.0, 0.5};
  c.keep_points = 2000;
  c.seed = rng();
  c.backend = "cpu";
  const BoundSurfaceResult cpu = run_bound_surface(c);
  c.backend = "cuda";
  const BoundSurfaceResult dev = run_bound_surface(c);
  EXPECT_EQ(dev.games, c.games);
  EXPECT_EQ(dev.above_bound, 0);
  EXPECT_EQ(dev.bin_bound_exceeded, 0);
  testing::expect_points_near(dev, cpu, 1e-12);
  std::int64_t moved = 0;
  for (std::size_t j = 0; j < cpu.bins.size(); ++j) moved += std::llabs(cpu.bins[j].count - dev.bins[j].count);
  EXPECT_LE(moved, 10);
  // Binned on the device with integer atomics: another chunking gives the same bins bit for bit.
  c.chunk = 5000;
  testing::expect_identical_bins(dev, run_bound_surface(c));
#endif
}

// The grid scan with games generated and evaluated on the GPU: the CPU run's games, so the same
// targets met and the same theorem checks; the summaries agree to rounding.
TEST(CudaVsCpu, GridScanOnTheDevice) {
  DGEVAL_NEED_GPU();
  DGEVAL_SEEDED(rng);
#if DGEVAL_HAVE_CUDA
  GridScanConfig c;
  c.sizes = {Dims({3, 3}), Dims({5, 5, 4})};
  c.increments = 4;
  c.games_per_point = games_or_small(400);
  c.seed = rng();
  c.generator.pure_ne = PureNe::authors;
  c.backend = "cpu";
  const std::vector<GridScanPoint> cpu = run_grid_scan(c);
  c.backend = "cuda";
  const std::vector<GridScanPoint> dev = run_grid_scan(c);
  ASSERT_EQ(cpu.size(), dev.size());
  for (std::size_t j = 0; j < cpu.size(); ++j) {
    EXPECT_EQ(dev[j].games, cpu[j].games);
    EXPECT_EQ(dev[j].evaluated, cpu[j].evaluated) << j;
    EXPECT_EQ(dev[j].eps_tol_raised, cpu[j].eps_tol_raised) << j;
    EXPECT_EQ(dev[j].r2_fail + dev[j].r5_fail + dev[j].r3_fail, 0) << j;
    EXPECT_NEAR(dev[j].measure_actual, cpu[j].measure_actual, 1e-9) << j;
    EXPECT_NEAR(dev[j].w_hat_avg.mean, cpu[j].w_hat_avg.mean, 1e-9) << j;
    EXPECT_NEAR(dev[j].bound_r2.mean, cpu[j].bound_r2.mean, 1e-9) << j;
  }
#endif
}

// The inference experiment on the GPU: the CPU run's curves, bit for bit (same per-game code).
TEST(CudaVsCpu, InferenceExperimentOnTheDevice) {
  DGEVAL_NEED_GPU();
  DGEVAL_SEEDED(rng);
#if DGEVAL_HAVE_CUDA
  InferenceExperimentConfig c;
  c.sizes = {Dims({3, 3}), Dims({5, 5, 4}), Dims({6, 7, 4, 6})};
  c.games = games_or_small(60);
  c.samples = 200;
  c.seed = rng();
  c.backend = "cpu";
  std::ostringstream cpu, dev;
  write_inference_curves(cpu, c, run_inference_experiment(c));
  c.backend = "cuda";
  write_inference_curves(dev, c, run_inference_experiment(c));
  EXPECT_EQ(cpu.str(), dev.str());
#endif
}

TEST(CudaVsCpu, TiesBreakToTheFirstOutcome) {
  DGEVAL_NEED_GPU();
  DGEVAL_SEEDED(rng);
  for (const Dims& d : {Dims({3, 3}), Dims({4, 4, 4}), Dims({6, 7, 4, 6}), Dims({60, 70})}) {
    const Batch b =
        testing::random_batch(d, d.outcomes() > 1000 ? 4 : games_or_small(29), rng, 1);  // values in {-1, 0, 1}/64
    for (StrategyKind k : {StrategyKind::worst_ne, StrategyKind::best_ne, StrategyKind::played}) {
      Options o;
      o.strategy.kind = k;
      o.list_equilibria = true;
      o.ic = {0.5};
      o.cc = 1.0;  // empty windows: the played fallback's closest outcome
      compare(b, o, false, std::string("ties ") + to_string(k));
      compare(b, o, true, std::string("ties ") + to_string(k), kTiledPath, 32, 3);
    }
  }
}

TEST(CudaVsCpu, NearlyAlignedUtilities) {
  DGEVAL_NEED_GPU();
  DGEVAL_SEEDED(rng);
  std::normal_distribution<double> normal(0.0, 1.0);
  for (const Dims& d : {Dims({5, 5, 4}), Dims({97, 89})}) {
    for (double eps : {0.0, 1e-12, 1e-9, 1e-6}) {
      Batch b = testing::random_batch(d, 3, rng);
      for (std::size_t j = 0; j < b.agents.size(); ++j) b.principals[j] = 3.0 * b.agents[j] + 1.0 + eps * normal(rng);
      Options o;
      o.distance_matrix = true;
      compare(b, o, false, "IA near 1, eps " + std::to_string(eps));
      compare(b, o, true, "IA near 1, eps " + std::to_string(eps));
    }
  }
}

TEST(CudaVsCpu, ZeroMagnitudesAndDegenerateGames) {
  DGEVAL_NEED_GPU();
  DGEVAL_SEEDED(rng);
  for (const Dims& d : {Dims({3, 3}), Dims({1, 1}), Dims({13}), Dims({6, 7, 4, 6}), Dims({1, 2000})}) {
    Batch b = testing::random_batch(d, 5, rng, 4);
    const std::int64_t per = b.dims.players() * b.dims.outcomes();
    std::fill(b.agents.begin(), b.agents.begin() + per, 0.25);                    // game 0: constant agents
    std::fill(b.principals.begin() + per, b.principals.begin() + 2 * per, -1.0);  // game 1: constant principals
    for (Standardisation s : {Standardisation::epic, Standardisation::max}) {
      Options o = testing::with(s, Welfare::average, StrategyKind::uniform_ne);
      o.distance_matrix = true;
      o.list_equilibria = true;
      compare(b, o, false, std::string("degenerate ") + to_string(s));
    }
  }
}

TEST(CudaVsCpu, NonFiniteInput) {
  DGEVAL_NEED_GPU();
  DGEVAL_SEEDED(rng);
#if DGEVAL_HAVE_CUDA
  for (const Dims& d : {Dims({2, 3}), Dims({97, 89})}) {
    for (double bad : {std::nan(""), static_cast<double>(INFINITY), -static_cast<double>(INFINITY)}) {
      Batch b = testing::random_batch(d, 9, rng, 16);
      const std::int64_t per = b.dims.players() * b.dims.outcomes();
      b.principals[static_cast<std::size_t>(5 * per + b.dims.outcomes() + 4)] = bad;  // game 5, principal 1, outcome 4
      b.agents[static_cast<std::size_t>(7 * per + 1)] = bad;                          // game 7, agent 0, outcome 1
      std::string cpu_message, gpu_message;
      try {
        evaluate(b.view());
      } catch (const error& e) {
        cpu_message = e.what();
      }
      for (std::int64_t chunk : {0, 2}) {
        try {
          Results r;
          cuda::make_cuda_backend(0, poisoned(-1, 0, 0, chunk))->evaluate(b.view(), Options{}, r);
        } catch (const error& e) {
          gpu_message = e.what();
        }
        EXPECT_FALSE(cpu_message.empty());
        EXPECT_EQ(gpu_message, cpu_message);
      }
      Options o;
      o.allow_nonfinite = true;
      o.list_equilibria = true;
      o.distance_matrix = true;
      compare(b, o, false, "allow non-finite");
      compare(b, o, true, "allow non-finite");
    }
  }
#endif
}

// bound_holds is NaN (undefined) in the same games as on the CPU: no pure NE, or non-finite.
TEST(CudaVsCpu, BoundHoldsUndefinedInTheSameGames) {
  DGEVAL_NEED_GPU();
  DGEVAL_SEEDED(rng);
  const Batch b = testing::undefined_strategy_batch(testing::random_batch(Dims({2, 2}), 8, rng, 4));
  Options o;
  o.allow_nonfinite = true;
  compare(b, o, false, "default path");
  compare(b, o, false, "tiled", kTiledPath, 32, 2);
  Results gpu;
  make_cuda_backend(0)->evaluate(b.view(), o, gpu);
  testing::expect_undefined_bound_holds(gpu, "cuda");
}

TEST(CudaVsCpu, ResidentBatchMatchesHostGenerator) {
  DGEVAL_NEED_GPU();
#if DGEVAL_HAVE_CUDA
  for (const Dims& d : {Dims({3, 3}), Dims({6, 7, 4, 6}), Dims({97, 89})}) {
    for (DType t : {DType::float64, DType::float32}) {
      const std::int64_t games = d.outcomes() > 1000 ? 3 : 50;
      Options o;
      o.list_equilibria = true;
      cuda::ResidentBatch rb(0, d, t, games, o, poisoned());
      rb.fill_random(1234, -1.0, 1.0);
      const Batch host = random_uniform_games(d, games, 1234, 0, -1.0, 1.0);
      const Batch back = rb.download_input(games);
      for (std::size_t j = 0; j < host.agents.size(); ++j) {
        const double expect_a =
            t == DType::float32 ? static_cast<double>(static_cast<float>(host.agents[j])) : host.agents[j];
        const double expect_p =
            t == DType::float32 ? static_cast<double>(static_cast<float>(host.principals[j])) : host.principals[j];
        ASSERT_EQ(back.agents[j], expect_a) << j;
        ASSERT_EQ(back.principals[j], expect_p) << j;
      }
      rb.evaluate();
      Results gpu, cpu;
      rb.download(gpu);
      make_cpu_backend(2)->evaluate(back.view(), o, cpu);
      testing::expect_match(cpu, gpu, tolerances::float64_relative, back.view(), o,
                            std::string("resident ") + dtype_name(t));
      EXPECT_EQ(rb.input_bytes(), cuda::input_bytes(d, games, dtype_size(t)));
      EXPECT_GE(rb.device_bytes(), rb.input_bytes() + rb.output_bytes());
    }
  }
#endif
}

/// A game past 2^31 outcomes (46341 x 46341, float32: 34 GB of input on each side of the
/// comparison). Opt-in with DGEVAL_TEST_HUGE=1; needs a GPU with ~40 GB and ~40 GB of host memory.
TEST(CudaVsCpu, HugeGamePastTwoToThe31Outcomes) {
  DGEVAL_NEED_GPU();
  const char* huge = std::getenv("DGEVAL_TEST_HUGE");
  if (!huge || std::string(huge) != "1") GTEST_SKIP() << "set DGEVAL_TEST_HUGE=1 to run (34 GB of input)";
#if DGEVAL_HAVE_CUDA
  const Dims d({46341, 46341});
  ASSERT_GT(d.outcomes(), std::int64_t{1} << 31);
  const std::int64_t per_side = 2 * d.outcomes();
  std::vector<float> agents(static_cast<std::size_t>(per_side)), principals(static_cast<std::size_t>(per_side));
  {
    const unsigned threads = std::max(1u, std::thread::hardware_concurrency());
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        for (std::int64_t e = t; e < per_side; e += threads) {
          // Grid values k/64 in [-2, 2]: exact comparisons, plenty of structure.
          const double u = detail::philox_uniform(77, 0, static_cast<std::uint64_t>(e));
          const double v = detail::philox_uniform(77, 0, static_cast<std::uint64_t>(per_side + e));
          agents[static_cast<std::size_t>(e)] = static_cast<float>(std::floor(u * 257.0) / 64.0 - 2.0);
          principals[static_cast<std::size_t>(e)] = static_cast<float>(std::floor(v * 257.0) / 64.0 - 2.0);
        }
      });
    }
    for (auto& th : pool) th.join();
  }
  BatchView view;
  view.dtype = DType::float32;
  view.agents = agents.data();
  view.principals = principals.data();
  view.games = 1;
  view.dims = d;
  Options o;
  o.list_equilibria = true;
  Results cpu, gpu;
  make_cpu_backend(0)->evaluate(view, o, cpu);
  cuda::make_cuda_backend(0, poisoned())->evaluate(view, o, gpu);
  testing::expect_match(cpu, gpu, tolerances::float32_relative, view, o, "huge game");
#endif
}

}  // namespace
}  // namespace dgeval
