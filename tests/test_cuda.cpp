// The CUDA backend on a real GPU against the CPU reference backend: the parity scenarios of
// tests/test_cuda_parity.hpp (every path and tiling, every strategy and option, streaming,
// ties, non-finite input, column selections, the device generator, ...; the same scenarios run
// on the CPU emulation in tests/test_cuda_emulated.cpp) as the suite CudaVsCpu, at the GPU's
// sizes; and what only a GPU runs: the experiments on the device through the public entry points
// and (with DGEVAL_TEST_HUGE=1) a game past 2^31 outcomes. Device outputs and scratch are
// poisoned (0x5A bytes) before every run, so a column the kernels forget to write cannot pass.
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
#include "test_cuda_parity.hpp"
#include "test_util.hpp"
#if DGEVAL_HAVE_CUDA
#include <cuda_runtime_api.h>

#include "backends/cuda/cuda_backend.hpp"
#include "backends/cuda/sweep_plan.hpp"
#include "test_cuda_device_games.hpp"
#endif

namespace dgeval {
namespace {

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

using testing::parity::Run;

#if DGEVAL_HAVE_CUDA
/// The real GPU as the parity scenarios' CUDA side (device 0; constructed once it is usable).
DGEVAL_CUDA_PARITY_SIDE(GpuSide, cuda, false, 2, games_or_small, poisoned)
#else
/// Without CUDA the parity tests skip (or fail) before they reach their side: a stub.
class GpuSide {
 public:
  struct Tuning {};
  struct Resident {
    Resident(int, const Dims&, DType, std::int64_t, const Options&, const Tuning&) {
      throw error("dgeval was built without CUDA");
    }
    void fill_random(std::uint64_t, double, double) {}
    void fill_generated(const GeneratorSpec&, std::uint64_t) {}
    void evaluate() {}
    void download(Results&) {}
    Batch download_input(std::int64_t) { return Batch(); }
    std::size_t input_bytes() const { return 0; }
    std::size_t output_bytes() const { return 0; }
    std::size_t device_bytes() const { return 0; }
  };
  bool emulated() const { return false; }
  int cpu_threads() const { return 2; }
  std::int64_t games(std::int64_t n) const { return games_or_small(n); }
  Tuning tuning(const Run&) const { return Tuning{}; }
  std::unique_ptr<Backend> backend(const Run&) const { return make_cuda_backend(0); }
  bool team_fits(int, int, std::int64_t, std::size_t) const { return false; }
  bool cluster_fits(int, std::int64_t, std::size_t, int, std::int64_t) const { return false; }
  std::string path_name(int) const { return std::string(); }
  Batch generate_on_device(const Dims&, const GeneratorSpec&, std::int64_t, std::uint64_t, std::int64_t,
                           std::vector<GameInfo>*) const {
    throw error("dgeval was built without CUDA");
  }
  std::size_t input_bytes(const Dims&, std::int64_t, std::size_t) const { return 0; }
  testing::parity::DeviceGames to_device(const BatchView&, std::size_t) const {
    throw error("dgeval was built without CUDA");
  }
};
#endif

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
// GPU against CPU: the parity scenarios (tests/test_cuda_parity.hpp) at the GPU's sizes.

DGEVAL_CUDA_PARITY_TESTS(CudaVsCpu, GpuSide, DGEVAL_NEED_GPU())

// ---------------------------------------------------------------------------------------------
// Only on a GPU: the experiments through the public entry points (--backend cuda), a huge game.

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

// The planner counts the sweep kernel's resident blocks per SM (blocks_per_sm, from the device's
// limits and the kernel's registers) as the device does (cudaOccupancyMaxActiveBlocksPerMultiprocessor):
// the cluster size for few games and the persistent grid rest on that count. Both dtypes, both
// kernels, two block sizes, shared memory from 16 KiB to the most a block may take.
TEST(CudaVsCpu, PlannerCountsResidentBlocksAsTheDevice) {
  DGEVAL_NEED_GPU();
#if DGEVAL_HAVE_CUDA
  const cuda::DeviceLimits lim = cuda::device_info(0).limits;
  const std::size_t most = lim.shared_optin + cuda::kStaticSharedReserve;
  for (bool f32 : {false, true}) {
    for (bool linf : {false, true}) {
      for (int threads : {128, 256}) {
        for (std::size_t shared :
             {std::size_t{16} << 10, std::size_t{64} << 10, std::size_t{100} << 10, std::size_t{152} << 10, most}) {
          if (shared > most) continue;
          const cuda::KernelOccupancy o = cuda::sweep_occupancy_on_device(0, f32, linf, threads, shared);
          const std::string what = std::string(f32 ? "float32" : "float64") + (linf ? " L-inf" : " EPIC") + ", " +
                                   std::to_string(threads) + " threads, " + std::to_string(shared) + " bytes";
          EXPECT_LE(o.registers, cuda::kSweepRegisters) << what;
          EXPECT_GE(o.blocks_per_sm, 1) << what;
          EXPECT_EQ(cuda::blocks_per_sm(shared, threads, o.registers, lim), o.blocks_per_sm)
              << what << " (" << o.registers << " registers a thread)";
        }
      }
    }
  }
#endif
}

// The team kernels' float64 division (detail::div_rn: dgeval's own sequence of operations on a
// GPU, seeded by the hardware's float32 reciprocal) gives the host's a / b bit for bit, on every
// class of operand (tests/test_util.hpp, division_operands; the host-side algorithm is tested with
// several seeds in SharedDefinitions.DivisionWithoutDivideIsTheDivision).
TEST(CudaVsCpu, TeamKernelsDivisionIsTheDivision) {
  DGEVAL_NEED_GPU();
  DGEVAL_SEEDED(rng);
#if DGEVAL_HAVE_CUDA
  const testing::DivisionOperands o = testing::division_operands(rng, static_cast<int>(games_or_small(200000)));
  const std::vector<double> q = cuda::divide_on_device(0, o.a, o.b);
  ASSERT_EQ(q.size(), o.a.size());
  std::int64_t wrong = 0;
  for (std::size_t i = 0; i < q.size(); ++i) {
    const double want = o.a[i] / o.b[i];
    if (!testing::same_quotient(want, q[i]) && ++wrong <= 10) {
      ADD_FAILURE() << std::hexfloat << o.a[i] << " / " << o.b[i] << ": the device gives " << q[i] << ", the host "
                    << want;
    }
  }
  EXPECT_EQ(wrong, 0) << "of " << q.size() << " quotients";
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
