// The CUDA backend's real kernels and host code, compiled as C++ against the CPU emulation of
// tests/test_cuda_emulation.hpp, against the CPU reference backend. Runs everywhere (CI has no
// GPU). The parity scenarios of tests/test_cuda_parity.hpp (every kernel path, the tiled path's
// multi-tile / multi-block combination, streaming through chunks, every strategy, ties,
// non-finite input, the bitmask NE lists, the device generator, ...; the same scenarios run on a
// real GPU in tests/test_cuda.cpp) run here as the suite CudaEmulated, at the emulation's sizes;
// beside them what the emulation alone checks: the experiments' device producers, the memory
// limit and the fallback to the CPU, copies ordered before kernels on non-blocking streams, and
// the kernels' cost (CudaCost). The emulated backend lives in namespace dgeval::cuda_emu, apart
// from the real one.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <sstream>
#include <string>
#include <vector>

#include "test_cuda_emulation.hpp"

#define cuda cuda_emu
#define DGEVAL_TILED_THREADS 64       // two warps per tile block: same code paths, 4x less emulation
#define DGEVAL_TWO_PLAYER_THREADS 64  // likewise for the two-player path's blocks
#define DGEVAL_CLUSTER_THREADS 64     // two warps per cluster block (the layout does not depend on it)
#define DGEVAL_SWEEP_THREADS 64       // two warps per sweep block (the geometry takes the block size)
#include "backends/cuda/cuda_backend.cu"
#include "backends/cuda/cuda_cost_model.hpp"
#include "backends/cuda/device_probe.cu"
#include "backends/cuda/evaluation.cu"
#include "backends/cuda/experiments_device.cu"
#include "backends/cuda/resident_batch.cu"
#include "cluster_evaluate.cu"     // kernels/cluster_evaluate.cu
#include "division_check.cu"       // kernels/division_check.cu
#include "generate.cu"             // kernels/generate.cu
#include "sweep_evaluate.cu"       // kernels/sweep_evaluate.cu
#include "team_evaluate.cu"        // kernels/team_evaluate.cu
#include "tiled_evaluate.cu"       // kernels/tiled_evaluate.cu
#include "two_player_evaluate.cu"  // kernels/two_player_evaluate.cu
#undef cuda

#include "dgeval/experiments.hpp"
#include "inference/inference_internal.hpp"
#include "test_cuda_compare.hpp"
#include "test_cuda_device_games.hpp"
#include "test_cuda_parity.hpp"
#include "test_paths.hpp"
#include "test_util.hpp"

namespace dgeval {
namespace {

cuda_emu::Tuning emulated(int path = -1, std::int64_t tile = 0, std::int64_t blocks = 0, std::int64_t chunk = 0) {
  cuda_emu::Tuning t;
  t.poison = true;
  t.force_path = path;
  t.tile_outcomes = tile;
  t.blocks_per_game = blocks;
  t.max_chunk_games = chunk;
  return t;
}

constexpr int kQuad = static_cast<int>(cuda_emu::Path::quad_team);
constexpr int kWarp = static_cast<int>(cuda_emu::Path::warp_team);
constexpr int kBlock = static_cast<int>(cuda_emu::Path::block_team);
constexpr int kTiled = static_cast<int>(cuda_emu::Path::tiled);
constexpr int kThread = static_cast<int>(cuda_emu::Path::thread_game);
constexpr int kTwoPlayer = static_cast<int>(cuda_emu::Path::two_player);
constexpr int kCluster = static_cast<int>(cuda_emu::Path::cluster_team);
constexpr int kSweep = static_cast<int>(cuda_emu::Path::sweep);

/// Evaluates `b` twice on `path` (uniform-eps-ne, the distance matrix and the NE list, at each IC
/// level) and expects the same bits: the emulation runs threads and blocks in a different order
/// each time, so a result that depended on the order of atomics or of a reduction would differ.
void expect_same_bits_twice(const Batch& b, int path, std::initializer_list<double> ics,
                            Standardisation st = Standardisation::epic, std::int64_t blocks = 0) {
  auto same = [](const std::vector<double>& x, const std::vector<double>& y) {
    return x.size() == y.size() && (x.empty() || std::memcmp(x.data(), y.data(), x.size() * sizeof(double)) == 0);
  };
  for (double ic : ics) {
    Options o;
    o.strategy.kind = StrategyKind::uniform_eps_ne;
    o.standardisation = st;
    o.ic = {ic};
    o.distance_matrix = true;
    o.list_equilibria = true;
    Results r1, r2;
    cuda_emu::make_cuda_backend(0, emulated(path, 0, blocks))->evaluate(b.view(), o, r1);
    cuda_emu::make_cuda_backend(0, emulated(path, 0, blocks))->evaluate(b.view(), o, r2);
    EXPECT_FALSE(r1.ia.empty());
    EXPECT_TRUE(same(r1.ia, r2.ia)) << ic;
    EXPECT_TRUE(same(r1.ca_agents, r2.ca_agents)) << ic;
    EXPECT_TRUE(same(r1.ca_principals, r2.ca_principals)) << ic;
    EXPECT_TRUE(same(r1.offset_agents, r2.offset_agents)) << ic;
    EXPECT_TRUE(same(r1.magnitude_principals, r2.magnitude_principals)) << ic;
    EXPECT_TRUE(same(r1.agents_welfare_regret, r2.agents_welfare_regret)) << ic;
    EXPECT_TRUE(same(r1.principals_welfare_regret, r2.principals_welfare_regret)) << ic;
    EXPECT_TRUE(same(r1.distance_matrix, r2.distance_matrix)) << ic;
    EXPECT_EQ(r1.eps_ne_count, r2.eps_ne_count) << ic;
    EXPECT_EQ(r1.pure_ne, r2.pure_ne) << ic;
    EXPECT_EQ(r1.flags, r2.flags) << ic;
  }
}

/// Every game a scenario asks for: the emulation's sizes are the scenarios' own.
std::int64_t all_games(std::int64_t n) { return n; }

/// The emulated device as the parity scenarios' CUDA side.
DGEVAL_CUDA_PARITY_SIDE(EmulatedSide, cuda_emu, true, 1, all_games, ::dgeval::emulated)

// The parity scenarios (tests/test_cuda_parity.hpp) at the emulation's sizes.
DGEVAL_CUDA_PARITY_TESTS(CudaEmulated, EmulatedSide, (void)0)

// ---------------------------------------------------------------------------------------------
// The experiments' device side, resources and streams, on the emulation only.

// The bound surface with games generated and evaluated on the device: the CPU run's games (the
// kept points agree), bins and bound checks.
TEST(CudaEmulated, BoundSurfaceOnTheDeviceMatchesTheCpu) {
  DGEVAL_SEEDED(rng);
  BoundSurfaceConfig c;
  c.games = 300;
  c.chunk = 128;  // a partial last chunk
  c.calibration = {2.0, 1.0, 1.0, 0.5};
  c.bins_x = c.bins_y = 8;
  c.keep_points = 300;
  c.seed = rng();
  c.backend = "cpu";
  const BoundSurfaceResult cpu = run_bound_surface(c);
  auto on_device = [&](std::int64_t chunk) {
    BoundSurfaceConfig d = c;
    d.chunk = chunk;
    return detail::run_bound_surface(
        d, {},
        cuda_emu::make_surface_producer(0, detail::surface_generator_params(d), d.seed, d.welfare,
                                        detail::surface_strategy_cap(d), detail::surface_options(d), d.chunk,
                                        detail::surface_binning(d)));
  };
  const BoundSurfaceResult dev = on_device(c.chunk);
  // Binned with integer atomics: another chunking gives the same bins, bit for bit.
  testing::expect_identical_bins(dev, on_device(97));
  ASSERT_EQ(dev.games, 300);
  EXPECT_EQ(dev.above_bound, 0);
  EXPECT_EQ(cpu.above_bound, 0);
  EXPECT_EQ(dev.bin_bound_exceeded, 0);
  testing::expect_points_near(dev, cpu, 1e-12);
  std::int64_t moved = 0;
  for (std::size_t j = 0; j < cpu.bins.size(); ++j) {
    moved += std::llabs(cpu.bins[j].count - dev.bins[j].count);
    if (cpu.bins[j].count > 0 && cpu.bins[j].count == dev.bins[j].count) {
      EXPECT_NEAR(dev.bins[j].pwr_mean, cpu.bins[j].pwr_mean, 1e-9) << j;
      EXPECT_NEAR(dev.bins[j].pwr_max, cpu.bins[j].pwr_max, 1e-12) << j;
    }
  }
  EXPECT_LE(moved, 2) << "games change bins only on a bin edge";
  EXPECT_EQ(dev.above_simple, cpu.above_simple);
}

// The inference experiment's games on the device (one per thread): the CPU's errors, bit for bit.
TEST(CudaEmulated, InferenceGamesMatchTheCpuBitForBit) {
  DGEVAL_SEEDED(rng);
  const std::uint64_t seed = rng();
  const std::vector<std::int64_t> checkpoints = {5, 10, 15, 20, 25, 30, 35, 40};
  const std::int64_t C = static_cast<std::int64_t>(checkpoints.size()), cells = detail::inference_cells(C);
  for (const Dims& d : {Dims({3, 3}), Dims({3, 2, 2})}) {
    const detail::InferenceShape shape = detail::experiment_shape(d);
    const std::int64_t games = 5;
    std::vector<double> cpu(static_cast<std::size_t>(games * cells)), dev(cpu.size(), -1.0);
    std::vector<double> scratch(static_cast<std::size_t>(detail::inference_scratch_doubles(shape)));
    for (std::int64_t g = 0; g < games; ++g) {
      ASSERT_EQ(detail::inference_game_errors(shape, seed, static_cast<std::uint64_t>(7 + g), checkpoints.data(), C,
                                              scratch.data(), cpu.data() + g * cells),
                detail::inference_ok);
    }
    std::vector<int> status(static_cast<std::size_t>(games), -1);
    cuda_emu::inference_errors_on_device(0, shape, seed, 7, games, checkpoints, dev.data(), status.data());
    std::int64_t defined = 0;
    for (std::size_t j = 0; j < cpu.size(); ++j) {
      ASSERT_EQ(std::memcmp(&cpu[j], &dev[j], 8), 0)
          << d.to_string() << " cell " << j << ": " << cpu[j] << " vs " << dev[j];
      defined += !std::isnan(cpu[j]);
    }
    // Not a vacuous comparison: of a game's 384 cells, at least 124 held an error in each of
    // 2·10^6 games of either size (measured: 128 to 288, once 124), so the count falls to
    // games · cells / 4 = 480 only if two of the five games hold 120 or fewer, each with
    // probability q < 3.5e-6 (no such game in 2·10^6; 99.9% bound): C(5, 2) q² < 1.2e-10 a size.
    EXPECT_GT(defined, games * cells / 4) << "most cells hold an error";
    for (int s : status) EXPECT_EQ(s, detail::inference_ok);
  }
}

// The division check's plumbing (kernels/division_check.cu, divide_on_device): on the CPU the
// kernel's detail::div_rn is the host's division, so every quotient is a / b, written over the
// poisoned output. On a GPU, CudaVsCpu.TeamKernelsDivisionIsTheDivision checks the device's form.
TEST(CudaEmulated, DivisionCheckReturnsEveryQuotient) {
  DGEVAL_SEEDED(rng);
  const testing::DivisionOperands o = testing::division_operands(rng, 100);
  const std::vector<double> q = cuda_emu::divide_on_device(0, o.a, o.b);
  ASSERT_EQ(q.size(), o.a.size());
  for (std::size_t i = 0; i < q.size(); ++i) {
    ASSERT_TRUE(testing::same_quotient(o.a[i] / o.b[i], q[i])) << std::hexfloat << o.a[i] << " / " << o.b[i];
  }
  EXPECT_TRUE(cuda_emu::divide_on_device(0, {}, {}).empty());
  EXPECT_THROW(cuda_emu::divide_on_device(0, {1.0}, {}), error);
}

TEST(CudaEmulated, MemoryLimitGivesAClearError) {
  Batch b(Dims({50, 50}), 2);
  cuda_emu::Tuning t;
  t.memory_limit = 1000;
  try {
    Results r;
    cuda_emu::make_cuda_backend(0, t)->evaluate(b.view(), Options{}, r);
    FAIL() << "no error";
  } catch (const resource_error& e) {
    EXPECT_NE(std::string(e.what()).find("device memory"), std::string::npos) << e.what();
  }
}

// A failed cudaMalloc is a resource_error naming the size, what it was for and what is free; the
// buffer stays empty and usable.
TEST(CudaEmulated, OutOfDeviceMemoryNamesTheAllocation) {
  cuda_emu::DeviceBuffer b;
  const std::size_t too_much = emu::state().device_total - emu::state().device_used + 1;
  try {
    b.allocate(too_much, "the test's buffer");
    FAIL() << "no error";
  } catch (const resource_error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("out of device memory allocating"), std::string::npos) << m;
    EXPECT_NE(m.find("for the test's buffer"), std::string::npos) << m;
    EXPECT_NE(m.find("cudaErrorMemoryAllocation"), std::string::npos) << m;
    EXPECT_NE(m.find(" free of "), std::string::npos) << m;
  }
  EXPECT_EQ(b.get(), nullptr);
  EXPECT_EQ(b.bytes(), 0u);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess) << "the error is cleared";
  b.allocate(64, "a small buffer");
  EXPECT_NE(b.get(), nullptr);
  EXPECT_EQ(b.bytes(), 64u);
}

// --backend auto: a GPU that cannot hold the batch hands it, and every later one, to the CPU
// with one warning; input errors are not resources and still fail.
TEST(CudaEmulated, AutoFallsBackToTheCpuWhenTheDeviceIsTooSmall) {
  DGEVAL_SEEDED(rng);
  const Batch small = testing::random_batch(Dims({3, 3}), 4, rng, 16);
  const Batch big = testing::random_batch(Dims({40, 40}), 2, rng, 16);
  cuda_emu::Tuning t = emulated();
  t.memory_limit = 48 * 1024;  // the 3x3 games fit, one 40x40 game does not
  BackendConfig config;
  config.threads = 1;
  std::vector<std::string> warnings;
  config.on_fallback = [&](const std::string& m) { warnings.push_back(m); };
  auto backend = make_fallback_backend(cuda_emu::make_cuda_backend(0, t), config);
  Results r, cpu;
  backend->evaluate(small.view(), Options{}, r);
  EXPECT_STREQ(backend->name(), "cuda");
  EXPECT_TRUE(warnings.empty());
  std::int64_t last = 0;
  backend->set_progress([&](std::int64_t done, std::int64_t) { return last = done, true; });
  backend->evaluate(big.view(), Options{}, r);
  EXPECT_STREQ(backend->name(), "cpu");
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("falling back to the CPU backend"), std::string::npos) << warnings[0];
  EXPECT_NE(warnings[0].find("device memory"), std::string::npos) << warnings[0];
  EXPECT_EQ(last, 2) << "progress reaches the CPU backend";
  make_cpu_backend(1)->evaluate(big.view(), Options{}, cpu);
  testing::expect_match(cpu, r, tolerances::float64_relative, big.view(), Options{}, "fallback");
  backend->evaluate(small.view(), Options{}, r);
  EXPECT_EQ(warnings.size(), 1u) << "one warning";
  Batch bad = small;
  bad.agents[5] = NAN;
  EXPECT_THROW(backend->evaluate(bad.view(), Options{}, r), error);
  // An input error on the GPU is not a fallback either.
  auto fresh = make_fallback_backend(cuda_emu::make_cuda_backend(0, t), config);
  EXPECT_THROW(fresh->evaluate(bad.view(), Options{}, r), error);
  EXPECT_STREQ(fresh->name(), "cuda");
}

// Copies the backend makes before kernels on its non-blocking streams must be complete before
// those kernels read them. cudaMemcpy from pageable memory returns before the device has the
// bytes, and a non-blocking stream does not wait for the legacy stream, so a resident batch
// uploaded with cudaMemcpy, or a strategy shared by every game copied that way, was read as the
// garbage cudaMalloc left. The emulation runs streams as queues with those semantics (the top of
// test_cuda_emulation.hpp); both cases failed there before the copies moved onto the consuming
// stream (or were waited for).
TEST(CudaEmulated, CopiesAreOrderedBeforeKernelsOnNonBlockingStreams) {
  DGEVAL_SEEDED(rng);
  const Dims d({3, 4});
  const Batch b = testing::random_batch(d, 7, rng, 64);
  for (DType t : {DType::float64, DType::float32}) {
    const bool f32 = t == DType::float32;
    Options o;
    o.list_equilibria = true;
    o.strategy.kind = StrategyKind::correlated;  // shared by every game: uploaded by the resident batch
    for (std::int64_t s = 0; s < d.outcomes(); ++s) o.strategy.weights.push_back(static_cast<double>(s + 1));
    double total = 0.0;
    for (double w : o.strategy.weights) total += w;
    for (double& w : o.strategy.weights) w /= total;
    std::vector<float> a32, p32;
    const BatchView view = testing::view_as(b, f32, a32, p32);
    Results cpu, resident, backend;
    make_cpu_backend(1)->evaluate(view, o, cpu);

    cuda_emu::ResidentBatch rb(0, d, t, b.games, o, emulated());
    rb.upload(b);
    cudaStream_t st = nullptr;
    ASSERT_EQ(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking), cudaSuccess);
    rb.evaluate(st);
    ASSERT_EQ(cudaStreamSynchronize(st), cudaSuccess);
    rb.download(resident);
    ASSERT_EQ(cudaStreamDestroy(st), cudaSuccess);
    testing::expect_match(cpu, resident, f32 ? tolerances::float32_relative : tolerances::float64_relative, view, o,
                          std::string("resident batch on a non-blocking stream ") + dtype_name(t));

    // The backend: one chunk (the shared strategy's copy) and several (the streamed path).
    for (std::int64_t chunk : {std::int64_t{0}, std::int64_t{3}}) {
      cuda_emu::make_cuda_backend(0, emulated(-1, 0, 0, chunk))->evaluate(view, o, backend);
      testing::expect_match(
          cpu, backend, f32 ? tolerances::float32_relative : tolerances::float64_relative, view, o,
          std::string("backend, shared strategy, chunk ") + std::to_string(chunk) + " " + dtype_name(t));
    }
  }
  EXPECT_EQ(emu::pending(), 0u) << "work left queued";
}

// ---------------------------------------------------------------------------------------------
// The kernels' cost without a GPU (docs/PERFORMANCE.md, "The kernels' cost without a GPU"): the
// bytes each path moves in global memory, counted by the emulation through the kernels'
// load/store layer (kernels/global_memory.cuh). The counts depend only on the games, the options
// and the plan, never on the emulation's thread order: the figures are exact and the tests cannot
// fail by chance. They are ratchets: a figure may go down (then lower the recorded one), never up.

/// Global-memory traffic of one evaluation, summed over its launches.
struct Traffic {
  double input_bytes = 0, output_bytes = 0;  // the batch's utilities; the result columns (written once)
  double read[cuda_emu::kMemClasses] = {}, written[cuda_emu::kMemClasses] = {};
  long long launches = 0;
};

Traffic traffic_of(const Batch& b, const Options& o, bool f32, const cuda_emu::Tuning& tuning) {
  std::vector<float> a32, p32;
  const BatchView view = testing::view_as(b, f32, a32, p32);
  emu::State& s = emu::state();
  s.access_log.clear();
  s.count_accesses = true;
  Results r;
  try {
    cuda_emu::make_cuda_backend(0, tuning)->evaluate(view, o, r);
  } catch (...) {
    s.count_accesses = false;
    throw;
  }
  s.count_accesses = false;
  Traffic t;
  t.input_bytes = static_cast<double>(cuda_emu::input_bytes(b.dims, b.games, f32 ? 4 : 8));
  t.output_bytes = static_cast<double>(cuda_emu::output_layout(b.dims.players(), b.dims.outcomes(), b.games,
                                                               o.distance_matrix, o.list_equilibria, o.columns)
                                           .useful_bytes);
  for (const emu::LaunchAccess& l : s.access_log) {
    for (int c = 0; c < cuda_emu::kMemClasses; ++c) {
      t.read[c] += static_cast<double>(l.read[c]);
      t.written[c] += static_cast<double>(l.written[c]);
    }
  }
  t.launches = static_cast<long long>(s.access_log.size());
  s.access_log.clear();
  return t;
}

/// A case of the bytes ratchet and its recorded figures: per class (input, strategy, output,
/// scratch), bytes read ÷ the input's bytes and bytes written ÷ the output's bytes.
struct BytesCase {
  const char* name;
  double read[cuda_emu::kMemClasses];
  double written[cuda_emu::kMemClasses];
};

// Recorded from the figures the test prints (ratios, rounded up in the 4th decimal).
// clang-format off
const BytesCase kRecordedBytes[] = {
    {"thread 3x3 f64", {1.0000, 0.0000, 0.0000, 0.0000}, {0.0000, 0.0000, 1.0000, 0.0000}},
    {"thread 3x3 f32", {1.0000, 0.0000, 0.0000, 0.0000}, {0.0000, 0.0000, 1.0000, 0.0000}},
    {"thread 3x3 f32 worst-ne", {1.0000, 0.0000, 0.0000, 0.0000}, {0.0000, 0.0000, 1.0000, 0.0000}},
    {"thread 3x3 f32 best-ne", {1.0000, 0.0000, 0.0000, 0.0000}, {0.0000, 0.0000, 1.0000, 0.0000}},
    {"thread 3x3 f32 uniform-ne", {1.0000, 0.0000, 0.0000, 0.0000}, {0.0000, 0.0000, 1.0000, 0.0000}},
    {"thread 3x3 f32 uniform-eps-ne", {1.0000, 0.0000, 0.0000, 0.0000}, {0.0000, 0.0000, 1.0000, 0.0000}},
    {"thread 3x3 f32 played", {1.0000, 0.0000, 0.0000, 0.0000}, {0.0000, 0.0000, 1.0000, 0.0000}},
    {"thread 3x3 f32 pure", {1.0000, 0.1112, 0.0000, 0.0000}, {0.0000, 0.0000, 1.0000, 0.0000}},
    {"thread 3x3 f32 correlated", {1.0000, 0.5000, 0.0000, 0.0000}, {0.0000, 0.0000, 1.0000, 0.0000}},
    {"thread 3x3 f32 product", {1.0000, 1.0000, 0.0000, 0.0000}, {0.0000, 0.0000, 1.0000, 0.0000}},
    {"quad 3x3 f64", {1.0000, 0.0000, 0.0000, 0.0000}, {0.0000, 0.0000, 1.0000, 0.0000}},
    {"quad 3x3 f32", {1.0000, 0.0000, 0.0000, 0.0000}, {0.0000, 0.0000, 1.0000, 0.0000}},
    {"warp 2x3x5 f64", {1.0000, 0.0000, 0.0000, 0.0000}, {0.0000, 0.0000, 1.0000, 0.0000}},
    {"block 5x5x4 f32", {1.0000, 0.0000, 0.0000, 0.0000}, {0.0000, 0.0000, 1.0000, 0.0000}},
    {"tiled 5x5x4 f32 tile 32 x3 blocks", {3.0100, 0.0000, 0.0000, 47.3056}, {0.0000, 0.0000, 1.0000, 3.3171}},
    {"tiled 5x5x4 f64 tile 64 x1 block", {3.0100, 0.0000, 0.0000, 22.9562}, {0.0000, 0.0000, 1.0000, 3.2561}},
    {"tiled 96x64 f32 (planned tiles)", {3.0004, 0.0000, 0.0000, 16.7521}, {0.0000, 0.0000, 1.0000, 49.4211}},
    {"two-player 96x64 f32", {1.0047, 0.0000, 0.0000, 0.0385}, {0.0000, 0.0000, 1.0000, 7.4211}},
    {"two-player 96x64 f64 distance matrix", {1.3839, 0.0000, 0.0000, 0.2740}, {0.0000, 0.0000, 1.0000, 8.1852}},
    {"two-player 96x64 f64 ties (lists overflow)", {1.3320, 0.0000, 0.0000, 0.1703}, {0.0000, 0.0000, 1.0000, 11.6316}},
    {"two-player 96x64 f64 beyond 1e100 (summed again)", {2.0047, 0.0000, 0.0000, 0.0193}, {0.0000, 0.0000, 1.0000, 7.4211}},
    {"two-player 96x64 f32 lists", {1.0047, 0.0000, 0.0000, 0.0385}, {0.0000, 0.0000, 1.0075, 2.1045}},
    {"two-player 96x64 f64 lists tiles of 32 columns", {1.0126, 0.0000, 0.0000, 0.0620}, {0.0000, 0.0000, 1.0075, 6.1195}},
    {"two-player 3x10000 f64 lists (planned: 2 tiles)", {1.0003, 0.0000, 0.0000, 0.0034}, {0.0000, 0.0000, 1.0020, 39.7121}},
    {"warp 2x3x5 f64 worst-ne", {1.0000, 0.0000, 0.0000, 0.0000}, {0.0000, 0.0000, 1.0000, 0.0000}},
    {"tiled 2x3x5 f32 tile 32 x2 blocks worst-ne", {3.0584, 0.0000, 0.0000, 31.6556}, {0.0000, 0.0000, 1.0000, 3.4773}},
    {"warp 2x3x5 f64 best-ne", {1.0000, 0.0000, 0.0000, 0.0000}, {0.0000, 0.0000, 1.0000, 0.0000}},
    {"tiled 2x3x5 f32 tile 32 x2 blocks best-ne", {3.0584, 0.0000, 0.0000, 31.6556}, {0.0000, 0.0000, 1.0000, 3.4773}},
    {"warp 2x3x5 f64 uniform-ne", {1.0000, 0.0000, 0.0000, 0.0000}, {0.0000, 0.0000, 1.0000, 0.0000}},
    {"tiled 2x3x5 f32 tile 32 x2 blocks uniform-ne", {3.5167, 0.0000, 0.0000, 31.7945}, {0.0000, 0.0000, 1.0000, 3.6137}},
    {"warp 2x3x5 f64 uniform-eps-ne", {1.0000, 0.0000, 0.0000, 0.0000}, {0.0000, 0.0000, 1.0000, 0.0000}},
    {"tiled 2x3x5 f32 tile 32 x2 blocks uniform-eps-ne", {3.5167, 0.0000, 0.0000, 31.8223}, {0.0000, 0.0000, 1.0000, 3.6364}},
    {"warp 2x3x5 f64 played", {1.0000, 0.0000, 0.0000, 0.0000}, {0.0000, 0.0000, 1.0000, 0.0000}},
    {"tiled 2x3x5 f32 tile 32 x2 blocks played", {3.8500, 0.0000, 0.0000, 50.3112}, {0.0000, 0.0000, 1.0000, 3.8410}},
    {"warp 2x3x5 f64 pure", {1.0000, 0.0167, 0.0000, 0.0000}, {0.0000, 0.0000, 1.0000, 0.0000}},
    {"tiled 2x3x5 f32 tile 32 x2 blocks pure", {3.0667, 0.0334, 0.0000, 31.6556}, {0.0000, 0.0000, 1.0000, 3.4773}},
    {"warp 2x3x5 f64 correlated", {1.0000, 0.5000, 0.0000, 0.0000}, {0.0000, 0.0000, 1.0000, 0.0000}},
    {"tiled 2x3x5 f32 tile 32 x2 blocks correlated", {4.0167, 1.0000, 0.0000, 50.3445}, {0.0000, 0.0000, 1.0000, 3.8410}},
    {"warp 2x3x5 f64 product", {1.0000, 1.5000, 0.0000, 0.0000}, {0.0000, 0.0000, 1.0000, 0.0000}},
    {"tiled 2x3x5 f32 tile 32 x2 blocks product", {4.0167, 3.0000, 0.0000, 50.3445}, {0.0000, 0.0000, 1.0000, 3.8410}},
    {"sweep 15x7x3x7x9x5 f32 (planned)", {1.0200, 0.0000, 0.0000, 0.0001}, {0.0000, 0.0000, 1.0000, 0.2904}},
    {"sweep 5x3x4x70 f64 distance matrix", {1.0042, 0.0000, 0.0000, 0.0002}, {0.0000, 0.0000, 1.0000, 0.0439}},
    {"sweep 15x7x3x7x9x5 f32 lists (planned)", {1.0200, 0.0000, 0.0000, 0.0001}, {0.0000, 0.0000, 1.0000, 0.0112}},
    {"sweep 5x3x4x70 f64 ties lists (lists overflow)", {2.0160, 0.0000, 0.0000, 0.0000}, {0.0000, 0.0000, 1.5259, 0.0000}},
    {"sweep 5x3x4x70 f64 ties (lists overflow)", {2.0160, 0.0000, 0.0000, 0.0000}, {0.0000, 0.0000, 1.0000, 0.0000}},
    {"sweep 5x3x4x70 f64 IC 0.5 (lists overflow)", {2.0299, 0.0000, 0.0000, 0.0000}, {0.0000, 0.0000, 1.0000, 0.0000}},
    {"sweep 5x3x4x70 f64 beyond 1e100 (summed again)", {2.0042, 0.0000, 0.0000, 0.0002}, {0.0000, 0.0000, 1.0000, 0.1000}},
    {"sweep 2x3x5 f32 worst-ne", {1.2325, 0.0000, 0.0000, 0.0445}, {0.0000, 0.0000, 1.0000, 0.0910}},
    {"sweep 2x3x5 f32 best-ne", {1.2325, 0.0000, 0.0000, 0.0445}, {0.0000, 0.0000, 1.0000, 0.0910}},
    {"sweep 2x3x5 f32 uniform-ne", {1.2186, 0.0000, 0.0000, 0.0445}, {0.0000, 0.0000, 1.0000, 0.0910}},
    {"sweep 2x3x5 f32 uniform-eps-ne", {1.2519, 0.0000, 0.0000, 0.0445}, {0.0000, 0.0000, 1.0000, 0.0910}},
    {"sweep 2x3x5 f32 pure", {1.2408, 0.0334, 0.0000, 0.0445}, {0.0000, 0.0000, 1.0000, 0.0910}},
    {"sweep 2x3x5 f32 played", {1.4547, 0.0000, 0.0000, 0.0445}, {0.0000, 0.0000, 1.0000, 0.0910}},
    {"sweep 2x3x5 f32 correlated", {1.1908, 0.3334, 0.0000, 0.0445}, {0.0000, 0.0000, 1.0000, 0.0910}},
    {"sweep 2x3x5 f32 product", {1.1908, 0.2223, 0.0000, 0.0445}, {0.0000, 0.0000, 1.0000, 0.0910}},
    {"sweep 15x7x3x7x9x5 f32 played, no NE (planned)", {1.0200, 0.0000, 0.0000, 0.0001}, {0.0000, 0.0000, 1.0000, 0.2904}},
    {"sweep 15x7x3x7x9x5 f32 played, P one outcome", {1.0226, 0.0000, 0.0000, 0.0001}, {0.0000, 0.0000, 1.0000, 0.3065}},
    {"sweep 15x7x3x7x9x5 f32 played, P most of game", {2.0199, 0.0000, 0.0000, 0.0001}, {0.0000, 0.0000, 1.0000, 0.3065}},
    {"sweep 15x7x3x7x9x5 f32 correlated (planned)", {1.0200, 0.1667, 0.0000, 0.0001}, {0.0000, 0.0000, 1.0000, 0.2904}},
    {"sweep 15x7x3x7x9x5 f32 product (planned)", {1.0200, 0.0004, 0.0000, 0.0001}, {0.0000, 0.0000, 1.0000, 0.2904}},
    {"sweep 15x7x3x7x9x5 f32 max (planned)", {1.0967, 0.0000, 0.0000, 0.0117}, {0.0000, 0.0000, 1.0000, 56.9033}},
    {"sweep 15x7x3x7x9x5 f32 max x1 block", {1.1048, 0.0000, 0.0000, 0.0117}, {0.0000, 0.0000, 1.0000, 56.9033}},
    {"sweep 5x3x4x70 f64 max distance matrix", {1.7209, 0.0000, 0.0000, 0.0128}, {0.0000, 0.0000, 1.0000, 2.4123}},
    {"sweep 15x7x3x7x9x5 f32 max distance matrix (planned)", {1.1557, 0.0000, 0.0000, 0.0502}, {0.0000, 0.0000, 1.0000, 73.9224}},
    {"sweep 15x7x3x7x9x5 f32 max distance matrix x1 block", {1.1431, 0.0000, 0.0000, 0.0501}, {0.0000, 0.0000, 1.0000, 73.9224}},
    {"sweep 15x7x3x7x9x5 f32 max-range (planned)", {1.0967, 0.0000, 0.0000, 0.0117}, {0.0000, 0.0000, 1.0000, 56.9033}},
    {"sweep 15x7x3x7x9x5 f32 max-range x1 block", {1.1048, 0.0000, 0.0000, 0.0117}, {0.0000, 0.0000, 1.0000, 56.9033}},
    {"sweep 5x3x4x70 f64 max-range distance matrix", {1.7209, 0.0000, 0.0000, 0.0128}, {0.0000, 0.0000, 1.0000, 2.4123}},
    {"cluster 5x5x4 f32 x4 blocks run 32", {1.0000, 0.0000, 0.0000, 0.0000}, {0.0000, 0.0000, 1.0000, 0.0000}},
    {"cluster 5x5x4 f64 x2 blocks run 64", {1.0000, 0.0000, 0.0000, 0.0000}, {0.0000, 0.0000, 1.0000, 0.0000}},
    {"cluster 2x3x5 f32 x2 blocks run 32 worst-ne", {1.0000, 0.0000, 0.0000, 0.0000}, {0.0000, 0.0000, 1.0000, 0.0000}},
    {"cluster 2x3x5 f32 x2 blocks run 32 best-ne", {1.0000, 0.0000, 0.0000, 0.0000}, {0.0000, 0.0000, 1.0000, 0.0000}},
    {"cluster 2x3x5 f32 x2 blocks run 32 uniform-ne", {1.0000, 0.0000, 0.0000, 0.0000}, {0.0000, 0.0000, 1.0000, 0.0000}},
    {"cluster 2x3x5 f32 x2 blocks run 32 uniform-eps-ne", {1.0000, 0.0000, 0.0000, 0.0000}, {0.0000, 0.0000, 1.0000, 0.0000}},
    {"cluster 2x3x5 f32 x2 blocks run 32 played", {1.0000, 0.0000, 0.0000, 0.0000}, {0.0000, 0.0000, 1.0000, 0.0000}},
    {"cluster 2x3x5 f32 x2 blocks run 32 pure", {1.0000, 0.0334, 0.0000, 0.0000}, {0.0000, 0.0000, 1.0000, 0.0000}},
    {"cluster 2x3x5 f32 x2 blocks run 32 correlated", {1.0000, 1.0000, 0.0000, 0.0000}, {0.0000, 0.0000, 1.0000, 0.0000}},
    {"cluster 2x3x5 f32 x2 blocks run 32 product", {1.0000, 3.0000, 0.0000, 0.0000}, {0.0000, 0.0000, 1.0000, 0.0000}},
};
// clang-format on

const BytesCase* recorded_bytes(const std::string& name) {
  for (const BytesCase& c : kRecordedBytes) {
    if (name == c.name) return &c;
  }
  return nullptr;
}

/// Options with strategy k given per game (random actions for pure; uniform weights for correlated
/// and product, or random distributions where random_weights holds), IC 0.75 and CC 0.5.
Options strategy_options(StrategyKind k, const Dims& d, std::int64_t games, std::mt19937_64& rng,
                         bool random_weights = false) {
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  Options o;
  o.strategy.kind = k;
  o.strategy.per_game = k == StrategyKind::pure || strategy_has_weights(k);
  o.ic = {0.75};
  o.cc = 0.5;
  if (random_weights && strategy_has_weights(k)) {
    for (std::int64_t g = 0; g < games; ++g) testing::parity::add_random_strategy(o, k, d, rng);
    return o;
  }
  const int n = d.players();
  for (std::int64_t g = 0; g < games; ++g) {
    if (k == StrategyKind::pure) {
      for (int i = 0; i < n; ++i) o.strategy.actions.push_back(static_cast<std::int64_t>(unit(rng) * d.actions(i)));
    }
    if (k == StrategyKind::correlated) {
      for (std::int64_t s = 0; s < d.outcomes(); ++s)
        o.strategy.weights.push_back(1.0 / static_cast<double>(d.outcomes()));
    }
    if (k == StrategyKind::product) {
      for (int i = 0; i < n; ++i) {
        for (std::int64_t a = 0; a < d.actions(i); ++a)
          o.strategy.weights.push_back(1.0 / static_cast<double>(d.actions(i)));
      }
    }
  }
  return o;
}

// The thread path's kernel is compiled per player count (tiny_evaluate_kernel<n, T>,
// kernels/team_evaluate.cu): each of n = 1..4 on the thread path, against the CPU backend, with
// every strategy, both dtypes, ties (payoffs on a coarse grid) and wide ranges (a game's vectors
// scaled by factors from 1e-6 to 1e6).
TEST(CudaEmulated, TinyKernelOfEachPlayerCountMatchesTheCpu) {
  using testing::parity::compare;
  using testing::parity::forced;
  DGEVAL_SEEDED(rng);
  const EmulatedSide side;
  for (const Dims& d :
       {Dims({16}), Dims({3, 3}), Dims({4, 4}), Dims({1, 16}), Dims({16, 1}), Dims({2, 2, 4}), Dims({2, 2, 2, 2})}) {
    const int n = d.players();
    ASSERT_TRUE(side.team_fits(kThread, n, d.outcomes(), 8)) << d.to_string();
    const std::int64_t games = 33;  // a whole warp and one game more
    const Batch b = testing::parity::wide_range_batch(d, games, rng);
    const Batch ties = testing::random_batch(d, games, rng, 2);
    for (StrategyKind k :
         {StrategyKind::worst_ne, StrategyKind::best_ne, StrategyKind::uniform_ne, StrategyKind::uniform_eps_ne,
          StrategyKind::played, StrategyKind::pure, StrategyKind::correlated, StrategyKind::product}) {
      Options o = strategy_options(k, d, games, rng);
      o.list_equilibria = true;
      o.distance_matrix = k == StrategyKind::played || k == StrategyKind::worst_ne;
      for (bool f32 : {false, true}) {
        compare(side, b, o, f32, std::string("tiny kernel wide ranges ") + to_string(k), forced(kThread));
        compare(side, ties, o, f32, std::string("tiny kernel ties ") + to_string(k), forced(kThread));
      }
    }
    for (Standardisation st : {Standardisation::max, Standardisation::max_range}) {
      Options o = testing::with(st, Welfare::sum, StrategyKind::uniform_eps_ne);
      o.ic.assign(static_cast<std::size_t>(n), 0.25);
      o.list_equilibria = true;
      compare(side, ties, o, false, std::string("tiny kernel ") + to_string(st), forced(kThread));
    }
  }
}

// The two-player path (kernels/two_player_evaluate.cu) against the CPU backend: every strategy it
// takes, both dtypes, the distance matrix, the NE lists; games of continuous payoffs (about one
// candidate per row: the candidates' re-check), ties on a coarse grid and IC below 1 (the candidate
// lists overflow: the rows read again), wide ranges (each utility vector scaled by 1e-6 to 1e6), rows
// shorter and longer than a block, blocks of several rows, and rows split into tiles of 32 columns
// (the last one shorter; the tiles' Nash thresholds pick a superset of the candidates, and with
// IC₂ < 1 the blocks record none; with the strategies whose sets differ: worst-ne, uniform-eps-ne
// and pure).
TEST(CudaEmulated, TwoPlayerPathMatchesTheCpu) {
  using testing::parity::compare;
  using testing::parity::forced;
  DGEVAL_SEEDED(rng);
  const EmulatedSide side;
  for (const Dims& d : {Dims({37, 70}), Dims({9, 130}), Dims({64, 33}), Dims({1, 40}), Dims({40, 1})}) {
    const std::int64_t games = 3;
    const Batch wide = testing::parity::wide_range_batch(d, games, rng);
    const Batch ties = testing::random_batch(d, games, rng, 2);
    for (StrategyKind k : {StrategyKind::worst_ne, StrategyKind::best_ne, StrategyKind::uniform_ne,
                           StrategyKind::uniform_eps_ne, StrategyKind::pure}) {
      Options o = strategy_options(k, d, games, rng);
      o.ic = {1.0};
      o.distance_matrix = k == StrategyKind::worst_ne || k == StrategyKind::uniform_eps_ne;
      o.list_equilibria = k != StrategyKind::best_ne;
      Options low = o;
      low.ic = {0.75, 0.5};
      low.welfare = Welfare::sum;
      const testing::parity::Run tiles{kTwoPlayer, 32, 0, 0};
      for (bool f32 : {false, true}) {
        compare(side, wide, o, f32, std::string("two-player wide ranges ") + to_string(k), forced(kTwoPlayer));
        compare(side, ties, o, f32, std::string("two-player ties ") + to_string(k), forced(kTwoPlayer));
        compare(side, wide, low, f32, std::string("two-player IC 0.75, 0.5 ") + to_string(k), forced(kTwoPlayer));
      }
      if (d.actions(1) > 32 && k != StrategyKind::best_ne && k != StrategyKind::uniform_ne) {
        compare(side, wide, o, true, std::string("two-player tiles wide ranges ") + to_string(k), tiles);
        compare(side, ties, o, false, std::string("two-player tiles ties ") + to_string(k), tiles);
        compare(side, wide, low, false, std::string("two-player tiles IC 0.75, 0.5 ") + to_string(k), tiles);
      }
    }
  }
  // A game the planner gives the path (more than a block's shared memory, and too many actions for
  // the cluster team's fibers).
  const Batch planned = testing::random_batch(Dims({2, 8000}), 2, rng);
  ASSERT_EQ(
      cuda_emu::make_plan(planned.dims, DType::float32, Options{}, 2, cuda_emu::limits_of(0), cuda_emu::Tuning{}).path,
      cuda_emu::Path::two_player);
  Options lists;
  lists.list_equilibria = true;
  for (bool f32 : {false, true}) {
    compare(side, planned, Options{}, f32, "two-player planned");
    compare(side, planned, lists, f32, "two-player planned, NE listed");
  }
}

// Float64 games whose rows do not fit in shared memory (10,000 doubles, three rows of them: more
// than the 227 KiB of a block) take the two-player path as planned, their rows in two tiles:
// against the CPU backend with the NE listed, on continuous payoffs, ties (every row's candidate
// list overflows), many equal payoffs (a game of one value: every outcome a pure NE) and IC below 1.
TEST(CudaEmulated, TwoPlayerPathTakesFloat64RowsLongerThanSharedMemory) {
  using testing::parity::compare;
  DGEVAL_SEEDED(rng);
  const EmulatedSide side;
  const Dims d({3, 10000});
  const cuda_emu::Plan plan =
      cuda_emu::make_plan(d, DType::float64, Options{}, 2, cuda_emu::limits_of(0), cuda_emu::Tuning{});
  ASSERT_EQ(plan.path, cuda_emu::Path::two_player);
  EXPECT_EQ(plan.two_player.col_tiles, 2);
  const Batch b = testing::random_batch(d, 2, rng);
  Batch ties = testing::random_batch(d, 2, rng, 2);
  for (std::size_t q = 0; q < 2 * static_cast<std::size_t>(d.outcomes()); ++q)
    ties.agents[q] = ties.principals[q] = 0.5;
  Options o;
  o.list_equilibria = true;
  o.distance_matrix = true;
  Options low = o;
  low.ic = {0.75, 0.5};
  low.strategy.kind = StrategyKind::uniform_eps_ne;
  compare(side, b, o, false, "two-player long float64 rows");
  compare(side, ties, o, false, "two-player long float64 rows, ties");
  compare(side, b, low, false, "two-player long float64 rows, IC 0.75, 0.5");
  const Traffic t = traffic_of(b, o, false, emulated());
  EXPECT_EQ(t.launches, 3);
  EXPECT_LE(t.read[static_cast<int>(cuda_emu::Mem::input)], 1.05 * t.input_bytes) << "the input read once";
}

/// Payoffs beyond ±1e100 and vectors whose range is below 1e-100 (game 0: huge agents; game 1:
/// principals of a tiny range; game 2: a large offset), then non-finite values (allow_nonfinite:
/// the CPU's flags), on `path` against the CPU.
void expect_extreme_and_nonfinite_games_match(const Dims& d, int path, const std::string& name, std::mt19937_64& rng) {
  using testing::parity::compare;
  using testing::parity::forced;
  const EmulatedSide side;
  Batch b = testing::random_batch(d, 4, rng);
  const std::size_t nN = static_cast<std::size_t>(d.players() * d.outcomes());
  for (std::size_t q = 0; q < nN; ++q) {
    b.agents[q] *= 1e150;
    b.principals[nN + q] *= 1e-110;
    b.agents[2 * nN + q] = 1e200 + 1e185 * b.agents[2 * nN + q];
  }
  for (StrategyKind k : {StrategyKind::worst_ne, StrategyKind::uniform_ne}) {
    Options o = strategy_options(k, d, b.games, rng);
    o.distance_matrix = true;
    compare(side, b, o, false, name + " extreme " + to_string(k), forced(path));
  }
  Batch bad = testing::random_batch(d, 3, rng);
  bad.agents[nN + 17] = std::nan("");
  bad.principals[2 * nN + 5] = INFINITY;
  Options o;
  o.allow_nonfinite = true;
  o.distance_matrix = true;
  for (bool f32 : {false, true}) compare(side, bad, o, f32, name + " non-finite", forced(path));
}

// The two-player path: such a game is summed again by the finishing kernel with scaled deviations.
TEST(CudaEmulated, TwoPlayerPathTakesExtremeAndNonFiniteGames) {
  DGEVAL_SEEDED(rng);
  expect_extreme_and_nonfinite_games_match(Dims({20, 48}), kTwoPlayer, "two-player", rng);
}

// The two-player path's results do not depend on the order in which threads and blocks run (the
// emulation shuffles it per block, differently on every run; the column extrema are merged by
// atomics in whatever order): two runs give the same bits, with lists that overflow and without.
TEST(CudaEmulated, TwoPlayerPathIsDeterministic) {
  DGEVAL_SEEDED(rng);
  expect_same_bits_twice(testing::random_batch(Dims({45, 70}), 2, rng, 3), kTwoPlayer, {1.0, 0.75});
}

// Which games the planner gives the two-player path, and a clear error when it is forced on others.
TEST(CudaEmulated, TwoPlayerPathIsPlannedForLargeTwoPlayerGames) {
  const cuda_emu::DeviceLimits lim = cuda_emu::h100_limits();
  const Options o;
  EXPECT_TRUE(cuda_emu::two_player_chosen(Dims({4096, 4096}), o, 4, lim));
  EXPECT_TRUE(cuda_emu::two_player_chosen(Dims({16384, 16384}), o, 4, lim));
  EXPECT_TRUE(cuda_emu::two_player_chosen(Dims({4096, 4096}), o, 8, lim));
  EXPECT_TRUE(cuda_emu::two_player_chosen(Dims({16384, 16384}), o, 8, lim)) << "rows of doubles in two tiles";
  EXPECT_TRUE(cuda_emu::two_player_chosen(Dims({2, 100000}), o, 4, lim)) << "rows in tiles";
  EXPECT_FALSE(cuda_emu::two_player_chosen(Dims({20, 20}), o, 4, lim)) << "a team path holds it";
  EXPECT_FALSE(cuda_emu::two_player_chosen(Dims({65536, 16}), o, 4, lim)) << "rows too short";
  EXPECT_FALSE(cuda_emu::two_player_chosen(Dims({64, 64, 64}), o, 4, lim));
  for (StrategyKind k : {StrategyKind::played, StrategyKind::correlated, StrategyKind::product}) {
    Options x;
    x.strategy.kind = k;
    EXPECT_FALSE(cuda_emu::two_player_chosen(Dims({4096, 4096}), x, 4, lim)) << to_string(k);
  }
  Options lists;
  lists.list_equilibria = true;
  EXPECT_TRUE(cuda_emu::two_player_chosen(Dims({4096, 4096}), lists, 4, lim));
  Options max = testing::with(Standardisation::max, Welfare::average, StrategyKind::worst_ne);
  EXPECT_FALSE(cuda_emu::two_player_chosen(Dims({4096, 4096}), max, 4, lim));
  // The geometry: column-extremum updates within 0.8% of the input, scratch within 1%, one wave.
  // Rows of floats in one tile; of 16,384 doubles in two of 8,192 columns (three rows of values in
  // shared memory each).
  for (std::size_t vb : {std::size_t{4}, std::size_t{8}}) {
    for (const Dims& d : {Dims({4096, 4096}), Dims({16384, 16384})}) {
      const cuda_emu::TwoPlayerGeometry t = cuda_emu::two_player_geometry(d, vb, 1, lim);
      const std::string what = d.to_string() + (vb == 8 ? " float64" : " float32");
      const double input = static_cast<double>(cuda_emu::input_bytes(d, 1, vb));
      EXPECT_EQ(t.col_tiles, vb == 8 && d.actions(1) == 16384 ? 2 : 1) << what;
      EXPECT_GE(t.col_tiles * t.tile_cols, d.actions(1)) << what;
      EXPECT_LE(t.shared_bytes + 1024, lim.shared_optin) << what;
      EXPECT_EQ(t.blocks, t.row_blocks * t.col_tiles) << what;
      EXPECT_LE(static_cast<double>(t.row_blocks * d.actions(1) * 16), 0.008 * input) << what;
      EXPECT_LE(t.blocks * t.games_per_pass, lim.multiprocessors) << what;
      EXPECT_LE(static_cast<double>(cuda_emu::two_player_scratch_bytes(t)), 0.01 * input) << what;
      EXPECT_GE(t.row_blocks * t.rows_per_block, d.actions(0)) << what;
    }
  }
  std::mt19937_64 rng(5);
  const Batch b = testing::random_batch(Dims({4, 4, 4}), 1, rng);
  try {
    Results r;
    cuda_emu::make_cuda_backend(0, emulated(kTwoPlayer))->evaluate(b.view(), Options{}, r);
    FAIL() << "no error";
  } catch (const error& e) {
    EXPECT_NE(std::string(e.what()).find("two-player path cannot take"), std::string::npos) << e.what();
  }
}

// The sweep path (kernels/sweep_evaluate.cu) against the CPU backend: 2 to 6 players, every
// strategy (the correlated and product σ per game, random with zeros; the played set at CC 0.5),
// both dtypes, the distance matrix; continuous payoffs, each utility vector scaled
// by 1e-6 to 1e6 (few candidates), ties on a coarse grid and IC below 1 (the candidate lists
// overflow: the equilibria found by a second walk); slabs of one tile and of several, the last
// player's fibers shorter and longer than the emulation's 64-thread block, fibers of players 1 ..
// n−2 spanning several tiles, players of one action, and player 0 of one action (one slab).
TEST(CudaEmulated, SweepPathOnManyShapesMatchesTheCpu) {
  using testing::parity::compare;
  using testing::parity::forced;
  DGEVAL_SEEDED(rng);
  const EmulatedSide side;
  for (const Dims& d : {Dims({3, 4, 5}), Dims({5, 3, 4, 70}), Dims({2, 3, 300}), Dims({3, 2, 3, 2, 5}),
                        Dims({2, 3, 2, 3, 2, 5}), Dims({4, 1, 3, 33}), Dims({1, 5, 60}), Dims({6, 40})}) {
    const int n = d.players();
    const std::int64_t games = 2;
    const Batch wide = testing::parity::wide_range_batch(d, games, rng);
    const Batch ties = testing::random_batch(d, games, rng, 2);
    for (StrategyKind k :
         {StrategyKind::worst_ne, StrategyKind::best_ne, StrategyKind::uniform_ne, StrategyKind::uniform_eps_ne,
          StrategyKind::pure, StrategyKind::played, StrategyKind::correlated, StrategyKind::product}) {
      Options o = strategy_options(k, d, games, rng, true);
      o.ic = {1.0};
      o.distance_matrix = k == StrategyKind::worst_ne || k == StrategyKind::uniform_eps_ne;
      o.list_equilibria = k != StrategyKind::best_ne;
      Options low = o;
      low.ic.clear();
      for (int i = 0; i < n; ++i) low.ic.push_back(i % 2 ? 0.5 : 0.75);
      low.welfare = Welfare::sum;
      for (bool f32 : {false, true}) {
        const std::string shape = " " + d.to_string() + " ";
        compare(side, wide, o, f32, "sweep wide ranges" + shape + to_string(k), forced(kSweep));
        compare(side, ties, o, f32, "sweep ties" + shape + to_string(k), forced(kSweep));
        compare(side, wide, low, f32, "sweep IC 0.75, 0.5" + shape + to_string(k), forced(kSweep));
      }
      if (k == StrategyKind::played) {  // empty windows (about half the games): the fallback
        low.cc = 1.0;
        compare(side, wide, low, false, "sweep IC 0.75, 0.5, CC 1" + d.to_string(), forced(kSweep));
      }
    }
  }
}

// The sweep path under MAX and MAX-range (distances in the L∞ norm: no Gram matrix, a second walk
// over every tile once the shifts and magnitudes are known) against the CPU backend: shapes of
// SweepPathOnManyShapesMatchesTheCpu (tiles of several slabs and slabs of several tiles, a last
// tile cut short, 2 to 6 players), every strategy, both dtypes, with the distance matrix (under
// one of the two standardisations, in turn) and without; wide ranges, ties on a coarse grid (the
// lists overflow) and, under MAX, IC below 1. Each strategy takes the distance matrix under one
// standardisation (and in one dtype) and not under the other: `distance_matrix` picks which half
// of these runs.
void expect_sweep_max_matches_cpu(bool distance_matrix, std::mt19937_64& rng) {
  using testing::parity::compare;
  using testing::parity::forced;
  const EmulatedSide side;
  // (3x9x40: slabs of 360 outcomes, tiles of 280 in the emulation: the walk's last tile cut short.)
  for (const Dims& d : {Dims({3, 4, 5}), Dims({5, 3, 4, 70}), Dims({3, 9, 40}), Dims({2, 3, 2, 3, 2, 5}),
                        Dims({4, 1, 3, 33}), Dims({6, 40})}) {
    const int n = d.players();
    const std::int64_t games = 2;
    const Batch wide = testing::parity::wide_range_batch(d, games, rng);
    const Batch ties = testing::random_batch(d, games, rng, 2);
    for (Standardisation st : {Standardisation::max, Standardisation::max_range}) {
      for (StrategyKind k :
           {StrategyKind::worst_ne, StrategyKind::best_ne, StrategyKind::uniform_ne, StrategyKind::uniform_eps_ne,
            StrategyKind::pure, StrategyKind::played, StrategyKind::correlated, StrategyKind::product}) {
        // Each strategy with the distance matrix under one standardisation, without under the other.
        if (((static_cast<int>(k) + (st == Standardisation::max ? 0 : 1)) % 2 == 0) != distance_matrix) continue;
        Options o = strategy_options(k, d, games, rng, true);
        o.standardisation = st;
        o.ic = {1.0};
        o.list_equilibria = k != StrategyKind::best_ne;
        o.distance_matrix = distance_matrix;
        Options low = o;
        low.ic.clear();
        for (int i = 0; i < n; ++i) low.ic.push_back(i % 2 ? 0.5 : 0.75);
        low.welfare = Welfare::sum;
        for (bool f32 : {false, true}) {
          const std::string what = " " + d.to_string() + " " + to_string(st) + " " + to_string(k);
          const std::string m = o.distance_matrix ? " distance matrix" : "";
          compare(side, wide, o, f32, "sweep wide ranges" + what + m, forced(kSweep));
          compare(side, ties, o, f32, "sweep ties" + what + m, forced(kSweep));
          if (st == Standardisation::max)
            compare(side, wide, low, f32, "sweep IC 0.75, 0.5" + what + m, forced(kSweep));
        }
      }
    }
  }
}

TEST(CudaEmulated, SweepPathMaxStandardisationsMatchTheCpu) {
  DGEVAL_SEEDED(rng);
  expect_sweep_max_matches_cpu(false, rng);
}

// The same with the distance matrix (its pairs' bounds too), in a test of its own for the time.
TEST(CudaEmulated, SweepPathMaxDistanceMatrixMatchesTheCpu) {
  DGEVAL_SEEDED(rng);
  expect_sweep_max_matches_cpu(true, rng);
}

/// The bits of a result column (the L∞ walk's maxima are exact in any order: the same bits as the
/// CPU's).
std::vector<std::uint64_t> bits_of(const std::vector<double>& x) {
  std::vector<std::uint64_t> u(x.size());
  if (!x.empty()) std::memcpy(u.data(), x.data(), x.size() * sizeof(double));
  return u;
}

/// Under MAX and MAX-range without the distance matrix, and under MAX with it (the same bounds for
/// its pairs), the sweep path with one block per game (the bounds' walk) gives the CPU's IA, CA and
/// distances, bit for bit.
void expect_linf_walk_matches_cpu(const Batch& b) {
  for (Standardisation st : {Standardisation::max, Standardisation::max_range}) {
    for (bool dm : {false, true}) {
      if (dm && st != Standardisation::max) continue;
      const std::string what = std::string(to_string(st)) + (dm ? ", distance matrix" : "");
      Options o;
      o.standardisation = st;
      o.distance_matrix = dm;
      Results cpu, gpu;
      make_cpu_backend(1)->evaluate(b.view(), o, cpu);
      cuda_emu::make_cuda_backend(0, emulated(kSweep, 0, 1))->evaluate(b.view(), o, gpu);
      EXPECT_EQ(bits_of(gpu.ia), bits_of(cpu.ia)) << what;
      EXPECT_EQ(bits_of(gpu.ca_agents), bits_of(cpu.ca_agents)) << what;
      EXPECT_EQ(bits_of(gpu.ca_principals), bits_of(cpu.ca_principals)) << what;
      EXPECT_EQ(bits_of(gpu.distance_matrix), bits_of(cpu.distance_matrix)) << what;
    }
  }
}

// The L∞ walk's bounds where a block's first tile misleads its provisional standardisation:
// principal 0 near agent 0 (plus noise) except in the first tile, where it is a tenth of agent 0,
// so its provisional magnitude is a tenth of the final one and agent 0's is not (|μ| = 0.82, far
// beyond λ). A bound without the term for |μ| > λ misses IA_0's maximum in some of these games (a
// NumPy model of the rule found such games at about 3%; these 48, fixed, include some: the test
// fails without the term); with it, the results are the CPU's, bit for bit.
TEST(CudaEmulated, SweepPathMaxBoundsHoldWhereTheFirstTileMisleads) {
  std::mt19937_64 rng(29);  // fixed: games that a bound without the term gets wrong
  std::uniform_real_distribution<double> unit(-1.0, 1.0);
  const Dims d({5, 3, 4, 70});
  const std::int64_t N = d.outcomes(), games = 48, tile = 280;  // the emulation's tile for this shape
  const int n = d.players();
  Batch b = testing::random_batch(d, games, rng);
  for (std::int64_t g = 0; g < games; ++g) {
    for (int i = 0; i < n; ++i) {
      for (std::int64_t s = 0; s < N; ++s) {
        const std::size_t at = static_cast<std::size_t>((g * n + i) * N + s);
        b.agents[at] = unit(rng);
        b.principals[at] = i == 0 && s < tile ? 0.1 * b.agents[at] : b.agents[at] + 0.6 * unit(rng);
      }
    }
  }
  expect_linf_walk_matches_cpu(b);
}

/// A 5x3x4x70 game (15 tiles of 280 outcomes in the emulation) for the L∞ bounds' tests, built so
/// that one item's walk can be followed: payoffs in (−0.5, 0.5) but, in the first tile, each
/// vector's extrema ±1 (so its provisional standardisation is the final one unless changed), each
/// CA item's ±1.5 and each IA_i's maximum 1.8 for i > 0 (far above their other tiles' bounds, so
/// no other item walks a tile that IA_0's bounds leave out). `a` and `p` address a payoff.
struct LinfWalkGame {
  static constexpr std::int64_t kTile = 280;
  Dims d = Dims({5, 3, 4, 70});
  std::int64_t N = d.outcomes();
  int n = d.players();
  Batch b{d, 1};
  explicit LinfWalkGame(std::mt19937_64& rng) {
    std::uniform_real_distribution<double> half(-0.5, 0.5);
    for (int i = 0; i < n; ++i) {
      for (std::int64_t s = 0; s < N; ++s) a(i, s) = half(rng), p(i, s) = half(rng);
    }
    for (int i = 0; i < n; ++i) {
      for (int j = 0; j < n; ++j) {
        a(j, 2 * i) = p(j, 2 * i) = j == i ? 1.0 : -1.0;
        a(j, 2 * i + 1) = p(j, 2 * i + 1) = j == i ? -1.0 : 1.0;
      }
      if (i > 0) a(i, 2 * n + i) = 0.9, p(i, 2 * n + i) = -0.9;
    }
  }
  double& a(int i, std::int64_t s) { return b.agents[static_cast<std::size_t>(i * N + s)]; }
  double& p(int i, std::int64_t s) { return b.principals[static_cast<std::size_t>(i * N + s)]; }
  /// IA_0 from the CPU under st, as the planted maximum of |ν_0 − ν̂_0|, `d` in MAX's units, gives
  /// it (z = 2 for MAX; MAX-range halves the distance and has z = 1).
  void expect_ia0(Standardisation st, double d) {
    Options o;
    o.standardisation = st;
    Results cpu;
    make_cpu_backend(1)->evaluate(b.view(), o, cpu);
    ASSERT_NEAR(cpu.ia[0], 1.0 - d / 2, 1e-12) << to_string(st) << ": the planted maximum";
  }
};

// The L∞ walk's bounds are kept in scratch as halves, rounded up (bound_half_up). Here they are
// exact but for that rounding (LinfWalkGame: the provisional standardisation is the final one,
// P = 1, Q = 0, μ = 0). IA_0's largest |ν_0 − ν̂_0| is D = F + 3·2⁻¹³ in tile 10 and the next
// D − 2⁻¹³ in tile 3, with S' = 0 at both, where F = 1843/1024 is a half and both lie within half
// a half's step (2⁻¹⁰) of it. Rounded to nearest, both records would be F: the first walk would
// take tile 3 (the lower index), and tile 10's bound, F, would be below the maximum found there,
// so IA_0 would come from the wrong maximum (the test fails so). Rounded up, tile 10's bound is
// not below it and it is walked.
TEST(CudaEmulated, SweepPathMaxBoundsStayAboveAfterRounding) {
  DGEVAL_SEEDED(rng);
  LinfWalkGame g(rng);
  const double F = 1843.0 / 1024, step = std::ldexp(1.0, -10);
  ASSERT_EQ(cuda_emu::bound_half_value(cuda_emu::bound_half_up(F)), F);
  const std::int64_t s_near = 3 * g.kTile + 17, s_max = 10 * g.kTile + 101;
  g.a(0, s_near) = (F + 0.25 * step) / 2, g.p(0, s_near) = -g.a(0, s_near);
  g.a(0, s_max) = (F + 0.375 * step) / 2, g.p(0, s_max) = -g.a(0, s_max);
  // (the two candidates' IA_0 differ by 2⁻¹³/2, over 6e-5)
  for (Standardisation st : {Standardisation::max, Standardisation::max_range}) g.expect_ia0(st, F + 0.375 * step);
  expect_linf_walk_matches_cpu(g.b);
}

// The bound within λ: where a provisional magnitude is a little off (|μ| ≤ λ), an item's final
// difference P·(D' + μ·S') is bounded by the tile's largest D' + λ·|S'|, whatever the sign of S'.
// Agent 0's final extrema are ±1.05 (tile 7), its first tile's ±1: p = 1/1.05 for it, 1 for
// principal 0, μ = −0.024. IA_0's maximum, 1 + 0.2/1.05, is at (0.2, −1) in tile 10, where S' < 0;
// tile 3 holds (1, −0.18), D' = 1.18 but S' > 0, final 1.132. A record of the largest D' + λ·S'
// (the sign of S' dropped) would rank tile 3 first, and tile 10's bound, 0.976·1.15, would fall
// below tile 3's maximum: the test fails so.
TEST(CudaEmulated, SweepPathMaxBoundsHoldForEitherSignOfTheSum) {
  DGEVAL_SEEDED(rng);
  LinfWalkGame g(rng);
  const std::int64_t s_decoy = 3 * g.kTile + 17, s_max = 10 * g.kTile + 101, s_ext = 7 * g.kTile;
  g.a(0, s_ext) = 1.05, g.p(0, s_ext) = 1.0;
  g.a(0, s_ext + 1) = -1.05, g.p(0, s_ext + 1) = -1.0;
  g.a(0, s_decoy) = 1.0, g.p(0, s_decoy) = -0.18;
  g.a(0, s_max) = 0.2, g.p(0, s_max) = -1.0;
  for (Standardisation st : {Standardisation::max, Standardisation::max_range}) g.expect_ia0(st, 1.0 + 0.2 / 1.05);
  expect_linf_walk_matches_cpu(g.b);
}

// The L∞ walk reaches the last outcome of the last tile: agent 0's and principal 0's utilities
// equal but at outcome N − 1 (their extrema, hence shifts and magnitudes, the same), where one is
// the other's maximum and the other its minimum: IA_0 = 0 and the pair's distance 1, to rounding (MAX:
// ‖ν − ν'‖∞ = 2, z = 2; MAX-range: 1, z = 1), where a walk that stopped short would give IA_0 = 1
// and distance 0.
// Agent 1 and principal 1 likewise at outcome 0 (the first tile).
TEST(CudaEmulated, SweepPathMaxWalkReachesTheFirstAndLastOutcomes) {
  DGEVAL_SEEDED(rng);
  const Dims d({5, 3, 4, 70});  // slabs of 840 outcomes, several tiles each
  const std::int64_t N = d.outcomes();
  const int n = d.players(), V = 2 * n;
  Batch b = testing::random_batch(d, 1, rng);
  const auto plant = [&](int i, std::int64_t at) {
    double lo = INFINITY, hi = -INFINITY;
    for (std::int64_t s = 0; s < N; ++s) {
      if (s == at) continue;
      lo = std::min(lo, b.agents[static_cast<std::size_t>(i * N + s)]);
      hi = std::max(hi, b.agents[static_cast<std::size_t>(i * N + s)]);
    }
    for (std::int64_t s = 0; s < N; ++s)
      b.principals[static_cast<std::size_t>(i * N + s)] = b.agents[static_cast<std::size_t>(i * N + s)];
    b.agents[static_cast<std::size_t>(i * N + at)] = hi;
    b.principals[static_cast<std::size_t>(i * N + at)] = lo;
  };
  plant(0, N - 1);
  plant(1, 0);
  // The walk stages only the segments whose bounds (from the read's provisional standardisation,
  // that of a block's first tile) may hold a maximum: also where a vector is constant in the first
  // tile (no bounds: every segment walked), or its first tile spans a millionth of its range (loose
  // bounds).
  Batch hostile = b;
  for (std::int64_t s = 0; s < 300; ++s) {
    hostile.principals[static_cast<std::size_t>(2 * N + s)] = 0.25;
    hostile.agents[static_cast<std::size_t>(3 * N + s)] = 0.5 + 1e-6 * static_cast<double>(s % 7);
  }
  const std::pair<const Batch*, bool> runs[] = {{&b, true}, {&b, false}, {&hostile, false}, {&hostile, true}};
  for (const auto& [game, dm] : runs) {
    for (Standardisation st : {Standardisation::max, Standardisation::max_range}) {
      const std::string what = std::string(to_string(st)) + (dm ? ", distance matrix" : "") +
                               (game == &hostile ? ", hostile first tile" : "");
      Options o;
      o.standardisation = st;
      o.distance_matrix = dm;
      Results cpu;
      make_cpu_backend(1)->evaluate(game->view(), o, cpu);
      for (int i : {0, 1}) {
        ASSERT_LT(cpu.ia[static_cast<std::size_t>(i)], 1e-12) << what << ": the planted difference";
        if (dm) {
          ASSERT_GT(cpu.distance_matrix[static_cast<std::size_t>(i * V + n + i)], 1.0 - 1e-12) << what;
        }
      }
      for (bool f32 : {false, true}) {
        testing::parity::compare(EmulatedSide{}, *game, o, f32, "sweep L∞ walk, planted, " + what,
                                 testing::parity::forced(kSweep));
      }
      Results gpu;  // the same bits as the CPU: a maximum is exact in any order
      cuda_emu::make_cuda_backend(0, emulated(kSweep))->evaluate(game->view(), o, gpu);
      EXPECT_EQ(bits_of(gpu.ia), bits_of(cpu.ia)) << what;
      EXPECT_EQ(bits_of(gpu.ca_agents), bits_of(cpu.ca_agents)) << what;
      EXPECT_EQ(bits_of(gpu.ca_principals), bits_of(cpu.ca_principals)) << what;
      EXPECT_EQ(bits_of(gpu.distance_matrix), bits_of(cpu.distance_matrix)) << what;
    }
  }
}

// The sweep path: such a game's Gram matrix is summed again with scaled deviations.
TEST(CudaEmulated, SweepPathTakesExtremeAndNonFiniteGames) {
  DGEVAL_SEEDED(rng);
  expect_extreme_and_nonfinite_games_match(Dims({3, 4, 2, 9}), kSweep, "sweep", rng);
}

// A block of the sweep path walks several games (the emulated device's 4 SMs give a grid of 16
// blocks): games of ties (their lists overflow), of payoffs beyond 1e100 (summed again), with a
// non-finite value and of continuous payoffs, mixed, so that each game starts from a clean state.
TEST(CudaEmulated, SweepPathBlocksWalkSeveralGames) {
  using testing::parity::compare;
  using testing::parity::forced;
  DGEVAL_SEEDED(rng);
  const EmulatedSide side;
  const Dims d({3, 4, 5});
  const std::int64_t games = 40;
  Batch b = testing::random_batch(d, games, rng);
  const Batch ties = testing::random_batch(d, games, rng, 1);
  const std::size_t nN = static_cast<std::size_t>(d.players() * d.outcomes());
  for (std::size_t g = 0; g < static_cast<std::size_t>(games); ++g) {
    for (std::size_t q = 0; q < nN; ++q) {
      if (g % 3 == 0) {
        b.agents[g * nN + q] = ties.agents[g * nN + q];
        b.principals[g * nN + q] = ties.principals[g * nN + q];
      }
      if (g % 7 == 5) b.agents[g * nN + q] *= 1e150;
    }
  }
  b.principals[13 * nN + 7] = std::nan("");
  b.agents[30 * nN + 2] = INFINITY;
  Options o;
  o.allow_nonfinite = true;
  for (StrategyKind k : {StrategyKind::worst_ne, StrategyKind::uniform_eps_ne}) {
    o.strategy.kind = k;
    o.distance_matrix = k == StrategyKind::worst_ne;
    for (bool f32 : {false, true}) {
      compare(side, b, o, f32, std::string("sweep, blocks of several games ") + to_string(k), forced(kSweep));
    }
  }
}

// The sweep path's results do not depend on the order in which threads and blocks run (the
// emulation shuffles it): two runs give the same bits, with lists that overflow and without.
TEST(CudaEmulated, SweepPathIsDeterministic) {
  DGEVAL_SEEDED(rng);
  const Batch b = testing::random_batch(Dims({3, 5, 4, 30}), 2, rng, 3);
  for (std::int64_t blocks : {1, 3}) {  // one block per game, and a cluster of 3
    expect_same_bits_twice(b, kSweep, {1.0, 0.5}, Standardisation::epic, blocks);
    expect_same_bits_twice(b, kSweep, {1.0}, Standardisation::max, blocks);  // the L∞ walk
  }
}

// A cluster of the sweep path walks several games: its other blocks read their next game while the
// first still tallies this one's lists of survivors (theirs included), so each block keeps two
// lists, by the parity of its games. The emulation starves the first block (it runs only when the
// others cannot go on), so the others run as far ahead as the barriers let them; 3 blocks per
// game, 9 games on the emulated device's clusters; lists that overflow (the second walk for the
// equilibria, dealt to the cluster) and lists that do not. Starving the last block instead lets
// the first finish and exit first: the emulation fails a read of an exited block's shared memory
// (it did before the kernel ended with a cluster barrier).
TEST(CudaEmulated, SweepPathClusterBlocksRunAheadOfTheFirst) {
  using testing::parity::compare;
  DGEVAL_SEEDED(rng);
  struct Restore {
    ~Restore() { emu::state().starve_block = -1; }
  } restore;
  const Dims d({5, 4, 3, 6});
  const std::int64_t games = 9;
  const Batch wide = testing::parity::wide_range_batch(d, games, rng);
  const Batch ties = testing::random_batch(d, games, rng, 2);
  Options o;
  o.distance_matrix = true;
  o.list_equilibria = true;
  o.ic = {0.75};
  // Ties (payoffs of 3 values) in 5x4x3x40 games overflow the lists: the second walk, dealt to
  // the cluster. Every third game's payoffs are continuous instead (at IC 1 its lists do not
  // overflow) and one game holds a NaN: the game's flags change from game to game while the first
  // block runs ahead.
  const Dims dt({5, 4, 3, 40});
  Batch overflowing = testing::random_batch(dt, games, rng, 1);
  const Batch continuous = testing::parity::wide_range_batch(dt, games, rng);
  const std::size_t nN = static_cast<std::size_t>(dt.players() * dt.outcomes());
  for (std::size_t g = 0; g < static_cast<std::size_t>(games); g += 3) {
    for (std::size_t q = 0; q < nN; ++q) {
      overflowing.agents[g * nN + q] = continuous.agents[g * nN + q];
      overflowing.principals[g * nN + q] = continuous.principals[g * nN + q];
    }
  }
  overflowing.agents[4 * nN + 1000] = std::nan("");
  Options low = o;
  low.ic = {1.0};
  low.allow_nonfinite = true;
  low.strategy.kind = StrategyKind::uniform_ne;  // the sums over the NE, merged with the walk's
  for (int starved : {0, 2}) {
    emu::state().starve_block = starved;
    compare(EmulatedSide{}, overflowing, low, false,
            "sweep ties and not, 3 blocks per game, block " + std::to_string(starved) + " starved",
            testing::parity::Run{kSweep, 0, 3, 0});
    for (Standardisation st : {Standardisation::epic, Standardisation::max}) {
      o.standardisation = st;
      const std::string what = std::string(to_string(st)) + ", block " + std::to_string(starved) + " starved";
      compare(EmulatedSide{}, wide, o, false, "sweep, 3 blocks per game, " + what,
              testing::parity::Run{kSweep, 0, 3, 0});
      compare(EmulatedSide{}, ties, o, false, "sweep ties, 3 blocks per game, " + what,
              testing::parity::Run{kSweep, 0, 3, 0});
    }
  }
}

// How many blocks the planner gives each game of the sweep path: one where the chunk's games fill
// the device (the bench's chunk of 2 GiB), a cluster of up to 8 where they leave it idle (a
// chunk of 1, 10 or 28 games of 15x7x3x7x9x5 on an H100's 132 SMs, one block per SM), never more
// than player 0's actions, and one on a device without clusters; the scratch of a cluster's lists.
TEST(CudaEmulated, SweepPathDealsFewGamesToClusters) {
  cuda_emu::DeviceLimits lim = cuda_emu::h100_limits();
  const Dims bench({15, 7, 3, 7, 9, 5});
  const auto blocks = [&](const Dims& d, std::int64_t games, std::size_t vb) {
    return cuda_emu::sweep_geometry(d, vb, games, lim, StrategyKind::worst_ne).cluster;
  };
  for (std::size_t vb : {std::size_t{4}, std::size_t{8}}) {
    const cuda_emu::SweepGeometry one = cuda_emu::sweep_geometry(bench, vb, 1, lim, StrategyKind::worst_ne);
    ASSERT_EQ(cuda_emu::sweep_resident_blocks(one.shared_bytes, one.threads, lim), 132) << "one block per SM";
    EXPECT_EQ(one.cluster, 8);
    EXPECT_EQ(one.grid, 8);
    EXPECT_EQ(blocks(bench, 10, vb), 8);  // 80 of 132 SMs
    EXPECT_EQ(blocks(bench, 16, vb), 8);  // 128
    EXPECT_EQ(blocks(bench, 17, vb), 4);
    EXPECT_EQ(blocks(bench, 28, vb), 4);  // the device check's --quick
    EXPECT_EQ(blocks(bench, 66, vb), 2);
    EXPECT_EQ(blocks(bench, 67, vb), 1);
    EXPECT_EQ(blocks(bench, 450, vb), 1);  // the device check's full size
    const cuda_emu::SweepGeometry many = cuda_emu::sweep_geometry(bench, vb, 450, lim, StrategyKind::worst_ne);
    EXPECT_EQ(many.grid, 450);
    // Each block of a cluster lists its own slabs' survivors (twice: by the parity of its games).
    const double input = static_cast<double>(cuda_emu::input_bytes(bench, 1, vb));
    EXPECT_EQ(one.survivor_capacity, 2 * (bench.stride(0) / 5) / 4 + 32);
    EXPECT_LE(static_cast<double>(cuda_emu::sweep_scratch_bytes(one)), 0.02 * input);
  }
  EXPECT_EQ(blocks(Dims({3, 4, 5, 200}), 1, 8), 2) << "at most player 0's 3 actions (a power of two)";
  EXPECT_EQ(blocks(Dims({1, 4, 5, 200}), 1, 8), 1) << "one slab";
  lim.clusters = false;
  EXPECT_EQ(blocks(bench, 1, 4), 1) << "no clusters";
  // The registers the planner counts on (kSweepRegisters) hold the recorded sweep kernels'.
  std::ifstream record(std::string(DGEVAL_SOURCE_DIR) + "/tests/data/kernel_resources_sm90.tsv");
  ASSERT_TRUE(record) << "tests/data/kernel_resources_sm90.tsv";
  int sweep_kernels = 0;
  for (std::string line; std::getline(record, line);) {
    std::istringstream row(line);
    std::string kernel;
    int registers = 0;
    if (!(row >> kernel >> registers) || kernel.rfind("sweep", 0) != 0) continue;
    ++sweep_kernels;
    EXPECT_LE(registers, cuda_emu::kSweepRegisters) << kernel;
  }
  EXPECT_EQ(sweep_kernels, 4);
  // Where a cluster cannot be placed (cudaOccupancyMaxActiveClusters 0 at launch), one block per
  // game, within the cluster's scratch.
  lim.clusters = true;
  for (const Dims& d : {bench, Dims({3, 4, 5, 200}), Dims({9, 2, 7}), Dims({5, 3, 4, 70})}) {
    const std::int64_t k0 = d.actions(0), last = d.actions(d.players() - 1);
    for (int c : {2, 3, 5, 8}) {
      if (c > k0) continue;
      for (std::int64_t games : {1, 7, 500}) {
        const cuda_emu::SweepGeometry t = cuda_emu::sweep_geometry(d, 4, games, lim, StrategyKind::worst_ne,
                                                                   cuda_emu::kSweepThreads, Standardisation::epic, c);
        ASSERT_EQ(t.cluster, c);
        const cuda_emu::SweepGeometry alone = cuda_emu::sweep_alone(t, k0, last);
        EXPECT_EQ(alone.cluster, 1);
        EXPECT_EQ(alone.grid * c, t.grid);
        EXPECT_EQ(alone.survivor_capacity, cuda_emu::sweep_geometry(d, 4, games, lim, StrategyKind::worst_ne,
                                                                    cuda_emu::kSweepThreads, Standardisation::epic, 1)
                                               .survivor_capacity);
        EXPECT_LE(cuda_emu::sweep_scratch_bytes(alone), cuda_emu::sweep_scratch_bytes(t))
            << d.to_string() << ", " << c << " blocks, " << games << " games";
      }
    }
  }
  {
    using testing::parity::compare;
    DGEVAL_SEEDED(seeded);
    const Dims d({5, 4, 3, 6});
    const Batch b = testing::parity::wide_range_batch(d, 6, seeded);
    Options o;
    o.distance_matrix = true;
    o.list_equilibria = true;
    struct Restore {
      ~Restore() { emu::state().active_clusters = 16; }
    } restore;
    emu::state().active_clusters = 0;  // the emulation refuses a cluster launch now
    for (Standardisation st : {Standardisation::epic, Standardisation::max}) {
      o.standardisation = st;
      compare(EmulatedSide{}, b, o, false, std::string("sweep, clusters refused, ") + to_string(st),
              testing::parity::Run{kSweep, 0, 4, 0});
    }
  }
  // Forced where it cannot be: a clear error.
  std::mt19937_64 rng(3);
  const Batch b = testing::random_batch(Dims({3, 4, 5}), 1, rng);
  for (std::int64_t forced : {4, 9}) {
    try {
      Results r;
      cuda_emu::make_cuda_backend(0, emulated(kSweep, 0, forced))->evaluate(b.view(), Options{}, r);
      FAIL() << "no error for " << forced << " blocks";
    } catch (const error& e) {
      EXPECT_NE(std::string(e.what()).find("sweep path cannot deal"), std::string::npos) << e.what();
    }
  }
}

// The sweep path's played walk skips the tiles whose welfare range (kept by the read) misses the
// window; where that leaves the played set empty it walks every tile for the fallback's closest
// outcome. Games (fixed: their figures are asserted) of 3x4x5 whose slabs (one tile each in the
// emulation) hold welfare near 0, 3.5 and 5 .. 6.5: the NE in the last slab, the worst ε-NE
// (IC 0.5) in the middle one, the CC 1 window (w_ε + w* − w_0) in the gap between them: no tile
// walked, the closest outcome (the middle slab's best) found by the walk over every tile.
TEST(CudaEmulated, SweepPathPlayedFallbackWalksEveryTile) {
  std::mt19937_64 rng(41);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const Dims d({3, 4, 5});
  const std::int64_t N = d.outcomes(), slab = d.stride(0), games = 4;
  Batch b = testing::random_batch(d, games, rng);
  const double base[3] = {0.0, 3.5, 5.0}, spread[3] = {0.1, 0.1, 1.5};
  for (std::int64_t g = 0; g < games; ++g) {
    for (int i = 0; i < 3; ++i) {
      for (std::int64_t s = 0; s < N; ++s) {
        const std::int64_t a0 = s / slab;
        b.agents[static_cast<std::size_t>((g * 3 + i) * N + s)] = base[a0] + spread[a0] * unit(rng);
      }
    }
  }
  Options o;
  o.strategy.kind = StrategyKind::played;
  o.cc = 1.0;
  o.ic = {0.5};
  Results cpu;
  make_cpu_backend(1)->evaluate(b.view(), o, cpu);
  int fallbacks = 0;
  for (std::int64_t g = 0; g < games; ++g)
    fallbacks += (cpu.flags[static_cast<std::size_t>(g)] & flag_played_fallback) != 0;
  ASSERT_GE(fallbacks, 2) << "the games are meant to take the played fallback";
  // One block per game, and clusters of 2 and 3 (each block its slabs: in a cluster of 3 only the
  // block with the top slab may find P, and all three must agree on the second pass).
  for (int blocks : {1, 2, 3}) {
    for (bool f32 : {false, true}) {
      testing::parity::compare(EmulatedSide{}, b, o, f32,
                               "sweep played fallback, " + std::to_string(blocks) + " blocks",
                               testing::parity::Run{kSweep, 0, blocks, 0});
    }
  }
}

/// Game 0 of `b` with a pure NE planted at outcome N/3 + 17: every agent's utility there set to
/// `at_ne`, and, where `fiber` is not 0, the rest of each agent's fiber through it to `fiber`
/// (below `at_ne`): no other outcome becomes an NE.
Batch with_planted_ne(const Batch& b, double at_ne, double fiber = 0.0) {
  Batch out = b;
  const Dims& d = b.dims;
  const std::int64_t N = d.outcomes(), s = N / 3 + 17;
  for (int i = 0; i < d.players(); ++i) {
    const std::int64_t st = d.stride(i), ai = (s / st) % d.actions(i);
    for (std::int64_t a = 0; a < d.actions(i); ++a) {
      const std::int64_t t = s + (a - ai) * st;
      if (t == s || fiber != 0.0) out.agents[static_cast<std::size_t>(i * N + t)] = t == s ? at_ne : fiber;
    }
  }
  return out;
}

// Which games the planner gives the sweep path (the bench's 15x7x3x7x9x5 among them), the
// tiled path for the options it does not cover, and a clear error when it is forced on others.
// The bench's game itself, planned, against the CPU backend.
TEST(CudaEmulated, SweepPathIsPlannedForLargeGamesOfThreeOrMorePlayers) {
  const cuda_emu::DeviceLimits lim = cuda_emu::h100_limits();
  const Dims bench({15, 7, 3, 7, 9, 5});
  const Options o;
  EXPECT_TRUE(cuda_emu::sweep_chosen(bench, o, 4, lim));
  EXPECT_TRUE(cuda_emu::sweep_chosen(bench, o, 8, lim));
  EXPECT_FALSE(cuda_emu::sweep_chosen(Dims({7, 3, 8, 5, 12}), o, 4, lim)) << "the cluster team holds it";
  EXPECT_FALSE(cuda_emu::sweep_chosen(Dims({4096, 4096}), o, 4, lim)) << "2 players: the two-player path";
  EXPECT_FALSE(cuda_emu::sweep_chosen(Dims({2, 3000, 3000}), o, 4, lim)) << "a slab too large";
  for (StrategyKind k : {StrategyKind::played, StrategyKind::correlated, StrategyKind::product}) {
    Options x;
    x.strategy.kind = k;
    EXPECT_TRUE(cuda_emu::sweep_chosen(bench, x, 4, lim)) << to_string(k) << ": its sums made by the sweep";
  }
  Options lists;
  lists.list_equilibria = true;
  EXPECT_TRUE(cuda_emu::sweep_chosen(bench, lists, 4, lim)) << "the tally sets the NE list's bits";
  for (Standardisation st : {Standardisation::max, Standardisation::max_range}) {
    const Options x = testing::with(st, Welfare::average, StrategyKind::worst_ne);
    EXPECT_TRUE(cuda_emu::sweep_chosen(bench, x, 4, lim)) << to_string(st) << ": the L∞ walk";
    EXPECT_TRUE(cuda_emu::sweep_chosen(bench, x, 8, lim)) << to_string(st) << ": the L∞ walk";
  }
  // Its shared memory on an H100, and its scratch within 1% of a 2 GiB chunk's input.
  for (std::size_t vb : {std::size_t{4}, std::size_t{8}}) {
    const std::int64_t games = static_cast<std::int64_t>((std::size_t{2} << 30) / cuda_emu::input_bytes(bench, 1, vb));
    const int threads = cuda_emu::sweep_geometry(bench, vb, games, lim, StrategyKind::worst_ne).threads;
    for (StrategyKind k : {StrategyKind::worst_ne, StrategyKind::played, StrategyKind::product}) {
      const cuda_emu::SweepGeometry t = cuda_emu::sweep_geometry(bench, vb, games, lim, k);
      EXPECT_LE(t.shared_bytes, cuda_emu::sweep_shared_limit(lim));
      EXPECT_EQ(t.threads, threads) << to_string(k) << ": the sums over σ cost no threads";
      EXPECT_LE(static_cast<double>(cuda_emu::sweep_scratch_bytes(t)),
                0.01 * static_cast<double>(cuda_emu::input_bytes(bench, games, vb)));
    }
    for (Standardisation st : {Standardisation::max, Standardisation::max_range}) {  // the L∞ walk's tile
      const cuda_emu::SweepGeometry t =
          cuda_emu::sweep_geometry(bench, vb, games, lim, StrategyKind::worst_ne, cuda_emu::kSweepThreads, st);
      EXPECT_TRUE(t.linf);
      EXPECT_EQ(t.pairs, 0) << "no Gram matrix";
      EXPECT_LE(t.shared_bytes, cuda_emu::sweep_shared_limit(lim));
      EXPECT_EQ(t.threads, threads) << to_string(st);
      EXPECT_EQ(t.linf_items, 3 * bench.players()) << "the records bound IA and CA";
      // With the distance matrix the records bound its pairs too, in the same shared memory limit.
      const cuda_emu::SweepGeometry m =
          cuda_emu::sweep_geometry(bench, vb, games, lim, StrategyKind::worst_ne, cuda_emu::kSweepThreads, st, 0, true);
      EXPECT_EQ(m.linf_items, m.norms) << to_string(st);
      EXPECT_EQ(m.linf_segments, t.linf_segments) << to_string(st);
      EXPECT_LE(m.shared_bytes, cuda_emu::sweep_shared_limit(lim));
      EXPECT_EQ(m.threads, threads) << to_string(st);
      EXPECT_GT(cuda_emu::sweep_scratch_bytes(m), cuda_emu::sweep_scratch_bytes(t));
    }
  }
  std::mt19937_64 rng(5);
  const Batch single = testing::random_batch(Dims({60}), 1, rng);  // one player: the team paths
  try {
    Results r;
    cuda_emu::make_cuda_backend(0, emulated(kSweep))->evaluate(single.view(), o, r);
    FAIL() << "no error";
  } catch (const error& e) {
    EXPECT_NE(std::string(e.what()).find("sweep path cannot take"), std::string::npos) << e.what();
  }
  DGEVAL_SEEDED(seeded);
  const Batch b = testing::random_batch(bench, 1, seeded);
  const cuda_emu::Plan plan = cuda_emu::make_plan(bench, DType::float32, o, 1, cuda_emu::limits_of(0), emulated());
  EXPECT_EQ(plan.path, cuda_emu::Path::sweep);
  testing::parity::compare(EmulatedSide{}, b, o, true, "15x7x3x7x9x5 planned (sweep)");
  const Options max_range = testing::with(Standardisation::max_range, Welfare::average, StrategyKind::worst_ne);
  testing::parity::compare(EmulatedSide{}, b, max_range, true, "15x7x3x7x9x5 planned (sweep) max-range");
  // The played set at CC 0.5 of an NE planted at the top of the welfare (the walk skips every
  // segment but the NE's) and at its bottom (the set most of the game); at CC 1 and IC 0.5 (a
  // window of width 2·played_tolerance: empty, the fallback's closest outcome found by a walk over
  // every tile).
  Options played;
  played.strategy.kind = StrategyKind::played;
  played.cc = 0.5;
  const Batch top = with_planted_ne(b, 10.0);
  testing::parity::compare(EmulatedSide{}, top, played, true, "15x7x3x7x9x5 played, NE on top");
  testing::parity::compare(EmulatedSide{}, with_planted_ne(b, -5.0, -10.0), played, true,
                           "15x7x3x7x9x5 played, NE at the bottom");
  played.cc = 1.0;
  played.ic = {0.5};
  testing::parity::compare(EmulatedSide{}, top, played, true, "15x7x3x7x9x5 played, CC 1, IC 0.5");
}

// The bench's mid-size game, 7x3x8x5x12 (394 KiB in float32: more than one block's shared memory),
// on the planned path of an H100-like device: the cluster team, one launch, the input read once;
// the same batch on a device without clusters (compute capability 8): the sweep path (the tiled
// path before the sweep took the played strategy). Both against the CPU backend, both dtypes.
TEST(CudaEmulated, MidSizeGamesTakeTheClusterTeamWhereTheDeviceHasClusters) {
  DGEVAL_SEEDED(rng);
  const Dims d({7, 3, 8, 5, 12});
  const Batch b = testing::random_batch(d, 2, rng, 64);
  Options o;
  o.list_equilibria = true;
  o.strategy.kind = StrategyKind::played;
  o.cc = 0.5;
  for (bool f32 : {false, true}) {
    const cuda_emu::DeviceLimits lim = cuda_emu::limits_of(0);
    const cuda_emu::Plan plan =
        cuda_emu::make_plan(d, f32 ? DType::float32 : DType::float64, o, b.games, lim, cuda_emu::Tuning{});
    ASSERT_EQ(plan.path, cuda_emu::Path::cluster_team) << (f32 ? "float32" : "float64");
    EXPECT_EQ(plan.cluster.blocks, 8);
    const Traffic t = traffic_of(b, o, f32, emulated());
    EXPECT_EQ(t.launches, 1);
    EXPECT_EQ(t.read[static_cast<int>(cuda_emu::Mem::input)], t.input_bytes) << "the input read once";
    testing::parity::compare(EmulatedSide{}, b, o, f32, "7x3x8x5x12 planned (cluster team)");
  }
  emu::state().compute_major = 8;  // an A100: no clusters
  try {
    const cuda_emu::DeviceLimits lim = cuda_emu::limits_of(0);
    EXPECT_FALSE(lim.clusters);
    const cuda_emu::Plan plan = cuda_emu::make_plan(d, DType::float32, o, b.games, lim, cuda_emu::Tuning{});
    EXPECT_EQ(plan.path, cuda_emu::Path::sweep);
    EXPECT_EQ(plan.sweep.cluster, 1) << "2 games, but no clusters: one block per game";
    testing::parity::compare(EmulatedSide{}, b, o, true, "7x3x8x5x12 planned without clusters (sweep)");
    EXPECT_THROW(cuda_emu::make_plan(d, DType::float32, o, b.games, lim, emulated(kCluster)), error);
  } catch (...) {
    emu::state().compute_major = 9;
    throw;
  }
  emu::state().compute_major = 9;
  // An H100 that cannot place such a cluster now (a partitioned device): planned as one without
  // clusters: the sweep path for these games, and a 96x64 game as a device without clusters plans
  // it (both take the cluster team where it can be placed); the results the CPU's.
  const Batch two = testing::random_batch(Dims({96, 64}), 1, rng);
  {
    const cuda_emu::Plan placed =
        cuda_emu::make_plan(two.dims, DType::float32, o, two.games, cuda_emu::limits_of(0), cuda_emu::Tuning{});
    ASSERT_EQ(placed.path, cuda_emu::Path::cluster_team);
  }
  struct Restore {
    ~Restore() { emu::state().active_clusters = 16; }
  } restore;
  emu::state().active_clusters = 0;
  const cuda_emu::DeviceLimits lim = cuda_emu::limits_of(0);
  EXPECT_TRUE(lim.clusters);
  const cuda_emu::Plan plan = cuda_emu::make_plan(d, DType::float32, o, b.games, lim, cuda_emu::Tuning{});
  EXPECT_EQ(plan.path, cuda_emu::Path::sweep);
  EXPECT_EQ(plan.sweep.cluster, 1);
  testing::parity::compare(EmulatedSide{}, b, o, true, "7x3x8x5x12 planned, no cluster placeable (sweep)");
  cuda_emu::DeviceLimits without = lim;
  without.clusters = false;
  const cuda_emu::Path fallback =
      cuda_emu::make_plan(two.dims, DType::float32, o, two.games, lim, cuda_emu::Tuning{}).path;
  EXPECT_EQ(fallback, cuda_emu::make_plan(two.dims, DType::float32, o, two.games, without, cuda_emu::Tuning{}).path);
  EXPECT_NE(fallback, cuda_emu::Path::cluster_team);
  testing::parity::compare(EmulatedSide{}, two, o, true, "96x64 planned, no cluster placeable");
}

TEST(CudaCost, BytesMovedPerPathOnlyGoDown) {
  std::mt19937_64 rng(16);  // fixed: the figures are those of these games
  struct Case {
    std::string name;
    Batch batch;
    Options options;
    bool f32;
    cuda_emu::Tuning tuning;
  };
  std::vector<Case> cases;
  Options all;
  all.list_equilibria = true;
  all.distance_matrix = true;
  all.ic = {0.5};
  Options all_but_lists = all;
  all_but_lists.list_equilibria = false;
  const Batch b33 = testing::random_batch(Dims({3, 3}), 8, rng);
  const Batch b235 = testing::random_batch(Dims({2, 3, 5}), 6, rng);
  const Batch b554 = testing::random_batch(Dims({5, 5, 4}), 3, rng);
  const Batch huge = testing::random_batch(Dims({96, 64}), 1, rng);
  cases.push_back({"thread 3x3 f64", b33, all, false, emulated(kThread)});
  cases.push_back({"thread 3x3 f32", b33, all, true, emulated(kThread)});
  cases.push_back({"quad 3x3 f64", b33, all, false, emulated(kQuad)});
  cases.push_back({"quad 3x3 f32", b33, all, true, emulated(kQuad)});
  cases.push_back({"warp 2x3x5 f64", b235, all, false, emulated(kWarp)});
  cases.push_back({"block 5x5x4 f32", b554, all, true, emulated(kBlock)});
  cases.push_back({"tiled 5x5x4 f32 tile 32 x3 blocks", b554, all, true, emulated(kTiled, 32, 3)});
  cases.push_back({"tiled 5x5x4 f64 tile 64 x1 block", b554, all, false, emulated(kTiled, 64, 1)});
  cases.push_back({"tiled 96x64 f32 (planned tiles)", huge, Options{}, true, emulated(kTiled)});
  // The two-player path (forced: the planner gives 96x64 games the cluster team): one read of
  // continuous payoffs; ties overflow the candidate lists (their rows read again); payoffs beyond
  // 1e100 summed again by the finishing kernel.
  const Batch ties = testing::random_batch(Dims({96, 64}), 1, rng, 1);
  Batch extreme = huge;
  for (double& x : extreme.agents) x *= 1e150;
  cases.push_back({"two-player 96x64 f32", huge, Options{}, true, emulated(kTwoPlayer)});
  cases.push_back({"two-player 96x64 f64 distance matrix", huge, all_but_lists, false, emulated(kTwoPlayer)});
  cases.push_back({"two-player 96x64 f64 ties (lists overflow)", ties, Options{}, false, emulated(kTwoPlayer)});
  cases.push_back(
      {"two-player 96x64 f64 beyond 1e100 (summed again)", extreme, Options{}, false, emulated(kTwoPlayer)});
  // The NE listed (the bitmask's words cleared once, the equilibria's bits set by atomics), rows in
  // tiles of 32 columns (forced), and a float64 game whose rows exceed shared memory (2 tiles, as
  // planned).
  Options lists;
  lists.list_equilibria = true;
  const Batch long_rows = testing::random_batch(Dims({3, 10000}), 1, rng);
  cases.push_back({"two-player 96x64 f32 lists", huge, lists, true, emulated(kTwoPlayer)});
  cases.push_back({"two-player 96x64 f64 lists tiles of 32 columns", huge, lists, false, emulated(kTwoPlayer, 32)});
  cases.push_back({"two-player 3x10000 f64 lists (planned: 2 tiles)", long_rows, lists, false, emulated()});
  // The sweep path: the bench's 15x7x3x7x9x5 game planned (one read and the candidates);
  // ties and IC 0.5 overflow the candidate lists (the agents read twice more); payoffs beyond 1e100
  // summed again.
  std::mt19937_64 srng(17);  // its own: the other cases' games stay those recorded
  const Batch bench = testing::random_batch(Dims({15, 7, 3, 7, 9, 5}), 1, srng);
  const Batch b53 = testing::random_batch(Dims({5, 3, 4, 70}), 1, srng);
  const Batch ties53 = testing::random_batch(Dims({5, 3, 4, 70}), 1, srng, 1);
  Batch extreme53 = b53;
  for (double& x : extreme53.agents) x *= 1e150;
  Options dm;
  dm.distance_matrix = true;
  Options half;
  half.ic = {0.5};
  cases.push_back({"sweep 15x7x3x7x9x5 f32 (planned)", bench, Options{}, true, emulated()});
  cases.push_back({"sweep 5x3x4x70 f64 distance matrix", b53, dm, false, emulated(kSweep)});
  Options sweep_lists;
  sweep_lists.list_equilibria = true;
  cases.push_back({"sweep 15x7x3x7x9x5 f32 lists (planned)", bench, sweep_lists, true, emulated()});
  cases.push_back({"sweep 5x3x4x70 f64 ties lists (lists overflow)", ties53, sweep_lists, false, emulated(kSweep)});
  cases.push_back({"sweep 5x3x4x70 f64 ties (lists overflow)", ties53, Options{}, false, emulated(kSweep)});
  cases.push_back({"sweep 5x3x4x70 f64 IC 0.5 (lists overflow)", b53, half, false, emulated(kSweep)});
  cases.push_back({"sweep 5x3x4x70 f64 beyond 1e100 (summed again)", extreme53, Options{}, false, emulated(kSweep)});
  // MAX and MAX-range (distances in the L∞ norm): the read without the Gram matrix, recording bounds
  // on each tile's distances, then a second walk over the tiles that may hold a maximum, in the same
  // launch (the tiled path before: 3 reads; a walk over every tile: 2).
  for (Standardisation st : {Standardisation::max, Standardisation::max_range}) {
    Options o;
    o.standardisation = st;
    cases.push_back(
        {std::string("sweep 15x7x3x7x9x5 f32 ") + to_string(st) + " (planned)", bench, o, true, emulated()});
    // One block per game, as chunks of many games take it.
    cases.push_back(
        {std::string("sweep 15x7x3x7x9x5 f32 ") + to_string(st) + " x1 block", bench, o, true, emulated(kSweep, 0, 1)});
    o.distance_matrix = true;
    cases.push_back(
        {std::string("sweep 5x3x4x70 f64 ") + to_string(st) + " distance matrix", b53, o, false, emulated(kSweep)});
    if (st == Standardisation::max) {  // (MAX-range's figures are the same)
      cases.push_back({"sweep 15x7x3x7x9x5 f32 max distance matrix (planned)", bench, o, true, emulated()});
      cases.push_back({"sweep 15x7x3x7x9x5 f32 max distance matrix x1 block", bench, o, true, emulated(kSweep, 0, 1)});
    }
  }
  cases.push_back({"cluster 5x5x4 f32 x4 blocks run 32", b554, all, true, emulated(kCluster, 32, 4)});
  cases.push_back({"cluster 5x5x4 f64 x2 blocks run 64", b554, all, false, emulated(kCluster, 64, 2)});
  for (StrategyKind k :
       {StrategyKind::worst_ne, StrategyKind::best_ne, StrategyKind::uniform_ne, StrategyKind::uniform_eps_ne,
        StrategyKind::played, StrategyKind::pure, StrategyKind::correlated, StrategyKind::product}) {
    const Options o = strategy_options(k, b235.dims, b235.games, rng);
    cases.push_back({std::string("warp 2x3x5 f64 ") + to_string(k), b235, o, false, emulated(kWarp)});
    const Options o33 = strategy_options(k, b33.dims, b33.games, rng);
    cases.push_back({std::string("thread 3x3 f32 ") + to_string(k), b33, o33, true, emulated(kThread)});
    cases.push_back(
        {std::string("tiled 2x3x5 f32 tile 32 x2 blocks ") + to_string(k), b235, o, true, emulated(kTiled, 32, 2)});
    cases.push_back(
        {std::string("cluster 2x3x5 f32 x2 blocks run 32 ") + to_string(k), b235, o, true, emulated(kCluster, 32, 2)});
    cases.push_back({std::string("sweep 2x3x5 f32 ") + to_string(k), b235, o, true, emulated(kSweep)});
  }
  // The sweep path's sums over σ (IC 1, CC 0.5): made in the read (correlated: its N weights read
  // once; product: its weights staged per game), or over the played set P by a second walk over the
  // agents' utilities, the principals' read at P's outcomes only. The bench's game has no pure NE
  // (P undefined, no walk): one planted of high welfare (as the NE of continuous random games: P
  // is that outcome alone), or of low welfare (P most of the game).
  const Batch bench_high = with_planted_ne(bench, 10.0), bench_low = with_planted_ne(bench, -5.0, -10.0);
  for (StrategyKind k : {StrategyKind::played, StrategyKind::correlated, StrategyKind::product}) {
    Options o = strategy_options(k, bench.dims, bench.games, srng);
    o.ic.clear();
    const std::string name = std::string("sweep 15x7x3x7x9x5 f32 ") + to_string(k);
    if (k != StrategyKind::played) {
      cases.push_back({name + " (planned)", bench, o, true, emulated()});
    } else {
      cases.push_back({name + ", no NE (planned)", bench, o, true, emulated()});
      cases.push_back({name + ", P one outcome", bench_high, o, true, emulated()});
      cases.push_back({name + ", P most of game", bench_low, o, true, emulated()});
    }
  }
  const char* classes[] = {"input", "strategy", "output", "scratch"};
  std::printf("%-48s %8s | reads / input bytes: %-33s | writes / output bytes: %-33s\n", "case", "launches", "", "");
  std::printf("%-48s %8s |", "", "");
  for (int half = 0; half < 2; ++half) {
    for (const char* c : classes) std::printf(" %9s", c);
    std::printf(" |");
  }
  std::printf("\n");
  std::string table;
  for (const Case& c : cases) {
    const Traffic t = traffic_of(c.batch, c.options, c.f32, c.tuning);
    double r[cuda_emu::kMemClasses], w[cuda_emu::kMemClasses];
    for (int k = 0; k < cuda_emu::kMemClasses; ++k) {
      r[k] = t.read[k] / t.input_bytes;
      w[k] = t.written[k] / t.output_bytes;
    }
    std::printf("%-48s %8lld |", c.name.c_str(), t.launches);
    for (double x : r) std::printf(" %9.4f", x);
    std::printf(" |");
    for (double x : w) std::printf(" %9.4f", x);
    std::printf(" |\n");
    char line[512];
    auto up = [](double x) { return x <= 0.0 ? 0.0 : std::ceil(x * 1e4 - 1e-9) / 1e4; };
    std::snprintf(line, sizeof line, "    {\"%s\", {%.4f, %.4f, %.4f, %.4f}, {%.4f, %.4f, %.4f, %.4f}},\n",
                  c.name.c_str(), up(r[0]), up(r[1]), up(r[2]), up(r[3]), up(w[0]), up(w[1]), up(w[2]), up(w[3]));
    table += line;
    EXPECT_EQ(t.read[static_cast<int>(cuda_emu::Mem::output)], 0.0) << c.name << ": the kernels read back a result";
    const BytesCase* rec = recorded_bytes(c.name);
    if (!rec) {
      ADD_FAILURE() << "no recorded figures for \"" << c.name << "\": add them to kRecordedBytes";
      continue;
    }
    for (int k = 0; k < cuda_emu::kMemClasses; ++k) {
      EXPECT_LE(r[k], rec->read[k] + 1e-9) << c.name << ": " << classes[k] << " bytes read per input byte went up";
      EXPECT_LE(w[k], rec->written[k] + 1e-9)
          << c.name << ": " << classes[k] << " bytes written per output byte went up";
      if (r[k] < rec->read[k] - 1e-4 || w[k] < rec->written[k] - 1e-4) {
        std::printf("  %s: %s went down: lower its recorded figures\n", c.name.c_str(), classes[k]);
      }
    }
  }
  std::printf("The figures as kRecordedBytes holds them:\n%s", table.c_str());
}

/// The launches of one chunk of `games` games on an H100, by a dry run of the backend's planner
/// (make_plan) and launch sequence (enqueue_evaluation): no kernel runs, no memory is touched.
long long dry_run_launches(const Dims& d, DType dtype, const Options& o, std::int64_t games,
                           const cuda_emu::ChunkModel& model) {
  const cuda_emu::Plan plan = cuda_emu::make_plan(d, dtype, o, games, cuda_emu::h100_limits(), cuda_emu::Tuning{});
  EXPECT_EQ(plan.path, model.path) << d.to_string();
  if (plan.path == cuda_emu::Path::cluster_team) {
    EXPECT_EQ(plan.cluster.blocks, model.cluster.blocks) << d.to_string();
    EXPECT_EQ(plan.cluster.shared_bytes, model.cluster.shared_bytes) << d.to_string();
  } else if (plan.path == cuda_emu::Path::tiled) {
    EXPECT_EQ(plan.tiled.games_per_pass, model.tiled.games_per_pass) << d.to_string();
    EXPECT_EQ(plan.tiled.tile, model.tiled.tile) << d.to_string();
    EXPECT_EQ(plan.tiled.blocks_per_game, model.tiled.blocks_per_game) << d.to_string();
    EXPECT_EQ(plan.scratch_bytes, model.scratch_bytes) << d.to_string();
  } else if (plan.path == cuda_emu::Path::two_player) {
    EXPECT_EQ(plan.two_player.blocks, model.two_player.blocks) << d.to_string();
    EXPECT_EQ(plan.two_player.games_per_pass, model.two_player.games_per_pass) << d.to_string();
    EXPECT_EQ(plan.two_player.col_tiles, model.two_player.col_tiles) << d.to_string();
    EXPECT_EQ(plan.scratch_bytes, model.scratch_bytes) << d.to_string();
  } else {
    EXPECT_EQ(plan.team.games_per_block, model.team.games_per_block) << d.to_string();
  }
  const cuda_emu::OutputLayout layout = cuda_emu::output_layout(d.players(), d.outcomes(), model.chunks.chunk_games,
                                                                o.distance_matrix, o.list_equilibria, o.columns);
  // As the backend does before it plans (its kernels' shared-memory limits raised on the device).
  cuda_emu::prepare_current_device(cuda_emu::h100_limits());
  // Addresses that are never dereferenced (the kernels do not run).
  char* fake = reinterpret_cast<char*>(std::uintptr_t{1} << 44);
  emu::State& s = emu::state();
  s.dry_run = true;
  const long long before = s.dry_launches;
  try {
    cuda_emu::enqueue_evaluation(plan, model.chunks.chunk_games, fake, fake, fake, layout, fake, nullptr, nullptr,
                                 nullptr);
  } catch (...) {
    s.dry_run = false;
    throw;
  }
  s.dry_run = false;
  return s.dry_launches - before;
}

TEST(CudaCost, LaunchesPerChunkOfTheBenchBatchesOnlyGoDown) {
  // dgeval_bench's workloads (bench/bench_main.cpp): float32, 2 GiB of input, the two huge games
  // 8 and 1 games; recorded launches per chunk (a ratchet: lower them when they go down).
  struct Workload {
    Dims dims;
    std::int64_t fixed_games;
    long long recorded;
    bool lists = false;    // Options::list_equilibria
    bool float64 = false;  // float64 input (the bench's workloads are float32)
    StrategyKind strategy = StrategyKind::worst_ne;
    Standardisation standardisation = Standardisation::epic;
  };
  const Workload workloads[] = {
      {Dims({3, 3}), 0, 1},
      {Dims({5, 5, 4}), 0, 1},
      {Dims({6, 7, 4, 6}), 0, 1},
      {Dims({7, 3, 8, 5, 12}), 0, 1},
      {Dims({15, 7, 3, 7, 9, 5}), 0, 1},
      {Dims({4096, 4096}), 8, 3},
      {Dims({16384, 16384}), 1, 3},
      // The two huge games with their NE listed (11 launches each on the tiled path before the
      // two-player path listed them), and in float64 (rows of 16,384 doubles: two tiles per row;
      // 11 on the tiled path before).
      {Dims({4096, 4096}), 8, 3, true},
      {Dims({16384, 16384}), 1, 3, true},
      {Dims({16384, 16384}), 1, 3, false, true},
      {Dims({16384, 16384}), 1, 3, true, true},
      // 15x7x3x7x9x5 with its NE listed: the sweep path's tally sets the bits (the tiled path before).
      {Dims({15, 7, 3, 7, 9, 5}), 0, 1, true},
      // 15x7x3x7x9x5 under the strategies summed over σ: the sweep path (the tiled path before, 11
      // to 15 launches per sub-batch).
      {Dims({15, 7, 3, 7, 9, 5}), 0, 1, false, false, StrategyKind::played},
      {Dims({15, 7, 3, 7, 9, 5}), 0, 1, false, false, StrategyKind::correlated},
      {Dims({15, 7, 3, 7, 9, 5}), 0, 1, false, false, StrategyKind::product},
      // 15x7x3x7x9x5 under MAX and MAX-range: the sweep path's L∞ walk (the tiled path before).
      {Dims({15, 7, 3, 7, 9, 5}), 0, 1, false, false, StrategyKind::worst_ne, Standardisation::max},
      {Dims({15, 7, 3, 7, 9, 5}), 0, 1, false, false, StrategyKind::worst_ne, Standardisation::max_range},
  };
  for (const Workload& w : workloads) {
    Options o;
    o.list_equilibria = w.lists;
    o.strategy.kind = w.strategy;
    o.standardisation = w.standardisation;
    const std::size_t vb = w.float64 ? 8 : 4;
    const std::size_t game_bytes = cuda_emu::input_bytes(w.dims, 1, vb);
    const std::int64_t games =
        w.fixed_games > 0 ? w.fixed_games : static_cast<std::int64_t>((std::size_t{2} << 30) / game_bytes);
    const cuda_emu::ChunkModel m =
        cuda_emu::model_chunk(w.dims, vb, o, games, cuda_emu::h100_limits(), cuda_emu::kH100MemoryBudget);
    const long long dry = dry_run_launches(w.dims, w.float64 ? DType::float64 : DType::float32, o, games, m);
    std::printf(
        "%-16s %s%s %-10s %-9s %7lld games  %-10s chunks %lld x %lld games  passes %lld  launches per chunk "
        "%lld\n",
        w.dims.to_string().c_str(), w.float64 ? "f64" : "f32", w.lists ? " lists" : "      ", to_string(w.strategy),
        to_string(w.standardisation), static_cast<long long>(games), cuda_emu::path_name(m.path),
        static_cast<long long>(m.chunks.chunks), static_cast<long long>(m.chunks.chunk_games),
        static_cast<long long>(m.passes_per_chunk), dry);
    EXPECT_EQ(dry, m.launches_per_chunk) << w.dims.to_string()
                                         << ": host/backends/cuda/cuda_cost_model.hpp disagrees with the launches";
    EXPECT_LE(dry, w.recorded) << w.dims.to_string() << ": more launches per chunk than recorded";
    if (dry < w.recorded) std::printf("  fewer launches than recorded (%lld): lower the record\n", w.recorded);
  }
}

}  // namespace
}  // namespace dgeval
