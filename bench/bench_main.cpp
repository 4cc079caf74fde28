// dgeval_bench: the workloads of the CUDA issue, with the batch resident on the device, against
// the device-to-device copy bandwidth measured in the same run, and the CPU backend on the same
// machine. The bytes model (docs/PERFORMANCE.md): every utility is read once (input bytes) and
// every result column written once (output bytes); effective bandwidth = (input + output) / time.
//
//   dgeval_bench                      every workload, input ≈ 2 GiB (the huge game 4 GiB)
//   dgeval_bench --quick              small sizes, for a smoke run
//   dgeval_bench --workloads 3x3,16384x16384 --input-gib 1 --repeats 20 --dtype float64
//   dgeval_bench --cpu-only           the CPU backend against a memory-copy measurement
//   dgeval_bench --model              the kernels' cost on an H100 without running them (no GPU
//                                     needed): bytes per game, launches per chunk, registers,
//                                     occupancy, a perfect kernel's time (bench/bench_model.cpp)
//   dgeval_bench --generate           generate-and-evaluate throughput (3x3, 5x5x4, 6x7x4x6):
//                                     games made on the device (uniform, the plain and a controlled
//                                     generator) then evaluated, against evaluation alone and the CPU
//   dgeval_bench --workloads 3x3 --columns ia,ca_principals,principals_welfare_regret,bound
//                                     a lean selection of result columns (flags always)
//   dgeval_bench --fp64-peak [--json]  this machine's FP64 peak, measured (bench/peak_fp64.cpp), and
//                                     its host memory copy bandwidth, on --cpu-threads threads
//   dgeval_bench --agents a.npy --principals p.npy [--json]
//                                     the games of two .npy files, in memory: the CPU backend and the
//                                     batch resident on the GPU (bench/compare_baseline.py times the
//                                     vectorised baseline, bench/baseline.py, on the same files)
//
// Without a usable GPU it says so and runs the CPU part only (exit status 0); with --require-gpu
// it says so in one line on stderr and exits with status 1 instead, so a broken GPU setup cannot
// read as a successful run.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "bench_model.hpp"
#include "dgeval/dgeval.hpp"
#include "dgeval/generators.hpp"
#include "dgeval/io.hpp"
#include "peak_fp64.hpp"
#if DGEVAL_HAVE_CUDA
#include <cuda_runtime_api.h>

#include "backends/cuda/cuda_backend.hpp"
#endif

namespace {

using Clock = std::chrono::steady_clock;

struct Workload {
  std::string dims;
  std::int64_t fixed_games;  ///< 0: sized to the input budget
};

const std::vector<Workload> kWorkloads = {
    {"3x3", 0},          {"5x5x4", 0},     {"6x7x4x6", 0},     {"7x3x8x5x12", 0},
    {"15x7x3x7x9x5", 0}, {"4096x4096", 8}, {"16384x16384", 1},
};

struct Args {
  std::vector<std::string> workloads;
  double input_gib = 2.0;
  int repeats = 10;
  int warmup = 2;
  dgeval::DType dtype = dgeval::DType::float32;
  double cpu_gib = 0.25;  ///< input the CPU backend evaluates per workload (at least one game)
  int cpu_repeats = 3;
  int cpu_threads = 0;
  int device = 0;
  bool cpu_only = false;
  bool no_cpu = false;
  bool quick = false;
  dgeval::ColumnMask columns = dgeval::kAllColumns;
  std::string columns_text = "all";
  bool generate = false;
  bool require_gpu = false;
  bool model = false;                        ///< --model: the kernels' cost without running them
  std::string agents_path, principals_path;  ///< files mode (--agents, --principals)
  bool json = false;                         ///< files mode and --fp64-peak: one JSON object per line
  bool fp64_peak = false;                    ///< --fp64-peak: measure the FP64 peak and the copy bandwidth
};

/// The generators of --generate: the authors' plain game and one with IA and CA targets.
std::vector<std::pair<std::string, dgeval::GeneratorSpec>> bench_generators() {
  dgeval::GeneratorSpec controlled;
  controlled.ia = {0.5};
  controlled.ca_principals = 0.5;
  return {{"plain", dgeval::GeneratorSpec{}}, {"ia 0.5, ca_principals 0.5", controlled}};
}

/// Bytes of one game's utilities, both sides, at `value_bytes` per utility.
std::size_t utility_bytes_per_game(const dgeval::Dims& d, std::size_t value_bytes) {
  return 2 * static_cast<std::size_t>(d.players()) * static_cast<std::size_t>(d.outcomes()) * value_bytes;
}

/// Result bytes per game of the selected columns (flags always): the output side of the bytes model.
std::size_t result_bytes_per_game(const Args& a, int n) {
  const dgeval::ColumnMask mask = a.columns | dgeval::flags_column_bit();
  std::size_t b = 0;
  const auto& cols = dgeval::result_columns();
  for (std::size_t j = 0; j < cols.size(); ++j) {
    if ((mask >> j) & 1u) b += 8 * (cols[j].kind == dgeval::ColumnKind::player_real ? static_cast<std::size_t>(n) : 1);
  }
  return b;
}

[[noreturn]] void usage(const char* msg) {
  std::fprintf(
      stderr,
      "dgeval_bench: %s\n"
      "usage: dgeval_bench [--quick] [--workloads a,b,...] [--input-gib X] [--repeats N] [--warmup N]\n"
      "                    [--model] [--dtype float32|float64] [--cpu-gib X] [--cpu-repeats N] [--cpu-threads N]\n"
      "                    [--device N] [--cpu-only] [--no-cpu] [--columns a,b,...] [--generate]\n"
      "                    [--require-gpu] [--agents A.npy --principals P.npy [--json]] [--fp64-peak [--json]]\n"
      "workloads: 3x3 5x5x4 6x7x4x6 7x3x8x5x12 15x7x3x7x9x5 4096x4096 16384x16384 (or any AxBx...)\n",
      msg);
  std::exit(2);
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(("missing value after " + k).c_str());
      return argv[++i];
    };
    if (k == "--quick") {
      a.quick = true;
    } else if (k == "--workloads") {
      std::string v = value();
      std::size_t p = 0;
      while (p <= v.size()) {
        const std::size_t e = std::min(v.find(',', p), v.size());
        if (e > p) a.workloads.push_back(v.substr(p, e - p));
        p = e + 1;
      }
    } else if (k == "--input-gib") {
      a.input_gib = std::atof(value().c_str());
    } else if (k == "--repeats") {
      a.repeats = std::max(1, std::atoi(value().c_str()));
    } else if (k == "--warmup") {
      a.warmup = std::max(0, std::atoi(value().c_str()));
    } else if (k == "--dtype") {
      const std::string v = value();
      if (v == "float32") a.dtype = dgeval::DType::float32;
      else if (v == "float64") a.dtype = dgeval::DType::float64;
      else usage("--dtype must be float32 or float64");
    } else if (k == "--cpu-gib") {
      a.cpu_gib = std::atof(value().c_str());
    } else if (k == "--cpu-repeats") {
      a.cpu_repeats = std::max(1, std::atoi(value().c_str()));
    } else if (k == "--cpu-threads") {
      a.cpu_threads = std::atoi(value().c_str());
    } else if (k == "--device") {
      a.device = std::atoi(value().c_str());
    } else if (k == "--columns") {
      a.columns_text = value();
      try {
        a.columns = dgeval::parse_columns(a.columns_text);
      } catch (const std::exception& e) {
        usage(e.what());
      }
    } else if (k == "--generate") {
      a.generate = true;
    } else if (k == "--require-gpu") {
      a.require_gpu = true;
    } else if (k == "--model") {
      a.model = true;
    } else if (k == "--agents") {
      a.agents_path = value();
    } else if (k == "--principals") {
      a.principals_path = value();
    } else if (k == "--fp64-peak") {
      a.fp64_peak = true;
    } else if (k == "--json") {
      a.json = true;
    } else if (k == "--cpu-only") {
      a.cpu_only = true;
    } else if (k == "--no-cpu") {
      a.no_cpu = true;
    } else if (k == "--help" || k == "-h") {
      usage("help");
    } else {
      usage(("unknown argument " + k).c_str());
    }
  }
  if (a.require_gpu && a.cpu_only) usage("--require-gpu and --cpu-only contradict each other");
  if (a.agents_path.empty() != a.principals_path.empty()) usage("--agents and --principals go together");
  if (a.json && a.agents_path.empty() && !a.fp64_peak) usage("--json needs --agents and --principals, or --fp64-peak");
  if (a.fp64_peak && (!a.agents_path.empty() || a.model || a.generate)) {
    usage("--fp64-peak runs alone (no --agents, --model or --generate)");
  }
  if (!a.agents_path.empty() && (a.generate || !a.workloads.empty())) {
    usage("--agents/--principals replace the workloads (no --workloads, no --generate)");
  }
  if (a.quick) {
    a.input_gib = std::min(a.input_gib, 0.125);
    a.cpu_gib = std::min(a.cpu_gib, 0.03125);
  }
  if (a.workloads.empty() && a.generate) a.workloads = {"3x3", "5x5x4", "6x7x4x6"};
  if (a.workloads.empty()) {
    for (const Workload& w : kWorkloads) {
      if (a.quick && w.dims == "16384x16384") continue;
      a.workloads.push_back(w.dims);
    }
  }
  return a;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

std::int64_t games_for(const Args& a, const std::string& dims, std::size_t game_bytes) {
  for (const Workload& w : kWorkloads) {
    if (w.dims == dims && w.fixed_games > 0) {
      if (!a.quick) return w.fixed_games;
      // Quick: scale the fixed batch to the reduced budget (at least one game).
      const double budget = a.input_gib * 1073741824.0;
      return std::max<std::int64_t>(
          1, std::min<std::int64_t>(w.fixed_games, static_cast<std::int64_t>(budget / game_bytes)));
    }
  }
  return std::max<std::int64_t>(
      1, static_cast<std::int64_t>(a.input_gib * 1073741824.0 / static_cast<double>(game_bytes)));
}

/// A GPU workload: its dims, bytes per game in the bench's dtype, batch size and options (the
/// selected columns).
struct DeviceWorkload {
  dgeval::Dims dims;
  std::size_t game_bytes;
  std::int64_t games;
  dgeval::Options options;
};
[[maybe_unused]] DeviceWorkload device_workload(const Args& a, const std::string& w) {  // GPU loops only
  DeviceWorkload dw{dgeval::Dims::parse(w), 0, 0, dgeval::Options{}};
  dw.game_bytes = utility_bytes_per_game(dw.dims, dgeval::dtype_size(a.dtype));
  dw.games = games_for(a, w, dw.game_bytes);
  dw.options.columns = a.columns;
  return dw;
}

/// Multi-threaded memcpy bandwidth (bytes read + written per second), best of a few runs.
double host_copy_bandwidth(int threads) {
  const std::size_t bytes = std::size_t{512} << 20;
  std::vector<char> src(bytes, 1), dst(bytes, 0);
  const int t = threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  double best = 0.0;
  for (int rep = 0; rep < 5; ++rep) {
    const auto t0 = Clock::now();
    std::vector<std::thread> pool;
    for (int i = 0; i < t; ++i) {
      pool.emplace_back([&, i] {
        const std::size_t a = bytes * static_cast<std::size_t>(i) / static_cast<std::size_t>(t);
        const std::size_t b = bytes * static_cast<std::size_t>(i + 1) / static_cast<std::size_t>(t);
        std::memcpy(dst.data() + a, src.data() + a, b - a);
      });
    }
    for (auto& th : pool) th.join();
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    best = std::max(best, 2.0 * static_cast<double>(bytes) / s);
  }
  return best;
}

struct CpuRow {
  std::int64_t games = 0;
  double seconds = 0.0;  ///< median per run
  double bytes = 0.0;    ///< input + output bytes of the run
  bool ok = false;
};

/// The CPU backend on `batch` (float64 values, evaluated in `dtype`).
CpuRow run_cpu(const Args& a, const dgeval::Batch& batch, dgeval::Results* out = nullptr) {
  CpuRow r;
  r.games = batch.games;
  std::vector<float> a32, p32;
  dgeval::BatchView view = batch.view();
  if (a.dtype == dgeval::DType::float32) {
    a32.assign(batch.agents.begin(), batch.agents.end());
    p32.assign(batch.principals.begin(), batch.principals.end());
    view.dtype = dgeval::DType::float32;
    view.agents = a32.data();
    view.principals = p32.data();
  }
  auto cpu = dgeval::make_cpu_backend(a.cpu_threads);
  dgeval::Results res;
  std::vector<double> times;
  const int reps = batch.dims.outcomes() > (1LL << 26) ? 1 : a.cpu_repeats;
  for (int i = 0; i < reps; ++i) {
    const auto t0 = Clock::now();
    dgeval::Options options;
    options.columns = a.columns;
    cpu->evaluate(view, options, res);
    times.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
  }
  r.seconds = median(times);
  const std::size_t vb = dgeval::dtype_size(a.dtype);
  r.bytes = static_cast<double>(static_cast<std::size_t>(batch.games) * 2 * batch.dims.players() *
                                    static_cast<std::size_t>(batch.dims.outcomes()) * vb +
                                static_cast<std::size_t>(batch.games) * result_bytes_per_game(a, batch.dims.players()));
  r.ok = true;
  if (out) *out = std::move(res);
  return r;
}

std::int64_t cpu_games_for(const Args& a, std::int64_t games, std::size_t game_bytes) {
  const double budget = a.cpu_gib * 1073741824.0;
  return std::max<std::int64_t>(1, std::min<std::int64_t>(games, static_cast<std::int64_t>(budget / game_bytes)));
}

/// Generate-and-evaluate on the CPU: games/s of generate_games then the CPU backend, median of
/// cpu_repeats runs over `games` games.
double cpu_generate_rate(const Args& a, const dgeval::Dims& d, const dgeval::GeneratorSpec* spec, std::int64_t games) {
  auto cpu = dgeval::make_cpu_backend(a.cpu_threads);
  dgeval::Options options;
  options.columns = a.columns;
  dgeval::Results res;
  std::vector<double> times;
  for (int i = 0; i < a.cpu_repeats; ++i) {
    const auto t0 = Clock::now();
    const dgeval::Batch b = spec ? dgeval::generate_games(d, *spec, games, 7 + i, 0, a.cpu_threads)
                                 : dgeval::random_uniform_games(d, games, 7 + i);
    cpu->evaluate(b.view(), options, res);
    times.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
  }
  return static_cast<double>(games) / median(times);
}

void print_cpu_generate(const Args& a) {
  std::printf("Generate and evaluate on the CPU (%d threads), result columns: %s\n\n",
              a.cpu_threads > 0 ? a.cpu_threads : static_cast<int>(std::thread::hardware_concurrency()),
              a.columns_text.c_str());
  std::printf("| workload | generator | games | games/s |\n|---|---|---:|---:|\n");
  for (const std::string& w : a.workloads) {
    const dgeval::Dims d = dgeval::Dims::parse(w);
    const std::size_t game_bytes = utility_bytes_per_game(d, 8);
    const std::int64_t games = cpu_games_for(a, games_for(a, w, game_bytes), game_bytes);
    std::printf("| %s | uniform | %lld | %.4g |\n", w.c_str(), static_cast<long long>(games),
                cpu_generate_rate(a, d, nullptr, games));
    for (const auto& [name, spec] : bench_generators()) {
      std::printf("| %s | %s | %lld | %.4g |\n", w.c_str(), name.c_str(), static_cast<long long>(games),
                  cpu_generate_rate(a, d, &spec, games));
    }
    std::fflush(stdout);
  }
}

void print_cpu_only(const Args& a) {
  const double copy = host_copy_bandwidth(a.cpu_threads);
  std::printf("CPU backend only. Host memory copy bandwidth (read + write, %d threads): %.1f GB/s\n\n",
              a.cpu_threads > 0 ? a.cpu_threads : static_cast<int>(std::thread::hardware_concurrency()), copy / 1e9);
  std::printf("| workload | games | input MiB | output MiB | median s | GB/s | %% of copy | games/s |\n");
  std::printf("|---|---:|---:|---:|---:|---:|---:|---:|\n");
  for (const std::string& w : a.workloads) {
    const dgeval::Dims d = dgeval::Dims::parse(w);
    const std::size_t game_bytes = utility_bytes_per_game(d, dgeval::dtype_size(a.dtype));
    const std::int64_t games = cpu_games_for(a, games_for(a, w, game_bytes), game_bytes);
    const dgeval::Batch b = dgeval::random_uniform_games(d, games, 42);
    const CpuRow r = run_cpu(a, b);
    const double in = static_cast<double>(games) * static_cast<double>(game_bytes);
    std::printf("| %s | %lld | %.1f | %.1f | %.4f | %.2f | %.1f | %.4g |\n", w.c_str(), static_cast<long long>(games),
                in / 1048576.0, (r.bytes - in) / 1048576.0, r.seconds, r.bytes / r.seconds / 1e9,
                100.0 * r.bytes / r.seconds / copy, static_cast<double>(games) / r.seconds);
    std::fflush(stdout);
  }
}

// ---------------------------------------------------------------------------------------------
// Files mode (--agents A.npy --principals P.npy): the games of two files, held in memory in the
// files' dtype, evaluated by the CPU backend and by the batch resident on the GPU with the
// selected columns. The timings exclude reading the files, as the baseline's (bench/baseline.py)
// exclude loading them.

struct FileGames {
  dgeval::Dims dims;
  std::int64_t games = 0;
  dgeval::DType dtype = dgeval::DType::float64;
  std::vector<char> agents, principals;
  dgeval::BatchView view() const {
    dgeval::BatchView v;
    v.dtype = dtype;
    v.agents = agents.data();
    v.principals = principals.data();
    v.games = games;
    v.dims = dims;
    return v;
  }
  std::size_t input_bytes() const { return agents.size() + principals.size(); }
};

FileGames load_files(const Args& a) {
  auto src = dgeval::open_game_pair(a.agents_path, a.principals_path);
  FileGames f;
  f.dims = src->dims();
  f.games = src->games();
  const dgeval::BatchView v = src->read(0, f.games);
  f.dtype = v.dtype;
  const std::size_t bytes =
      static_cast<std::size_t>(f.games) * static_cast<std::size_t>(v.values_per_game()) * dgeval::dtype_size(v.dtype);
  f.agents.assign(static_cast<const char*>(v.agents), static_cast<const char*>(v.agents) + bytes);
  f.principals.assign(static_cast<const char*>(v.principals), static_cast<const char*>(v.principals) + bytes);
  return f;
}

/// One measurement of files mode, as a table row or a JSON line.
void print_file_row(const Args& a, const FileGames& f, const char* backend, const std::vector<double>& seconds) {
  const double med = median(seconds), best = *std::min_element(seconds.begin(), seconds.end());
  if (a.json) {
    std::printf(
        "{\"dims\": \"%s\", \"games\": %lld, \"dtype\": \"%s\", \"input_bytes\": %zu, \"output_bytes\": %zu, "
        "\"backend\": \"%s\", \"columns\": \"%s\", \"repeats\": %zu, \"median_s\": %.9g, \"min_s\": %.9g}\n",
        f.dims.to_string().c_str(), static_cast<long long>(f.games), dgeval::dtype_name(f.dtype), f.input_bytes(),
        result_bytes_per_game(a, f.dims.players()) * static_cast<std::size_t>(f.games), backend, a.columns_text.c_str(),
        seconds.size(), med, best);
  } else {
    std::printf("| %s | %s | %lld | %.1f | %s | %.6f | %.6f | %.4g |\n", f.dims.to_string().c_str(), backend,
                static_cast<long long>(f.games), static_cast<double>(f.input_bytes()) / 1048576.0,
                a.columns_text.c_str(), med, best, static_cast<double>(f.games) / med);
  }
  std::fflush(stdout);
}

/// Wall-clock seconds of `repeats` calls of backend.evaluate() on the games of `f`, after `warmup`.
std::vector<double> time_evaluations(dgeval::Backend& backend, const FileGames& f, const dgeval::Options& options,
                                     int warmup, int repeats) {
  dgeval::Results res;
  std::vector<double> seconds;
  for (int i = 0; i < warmup + repeats; ++i) {
    const auto t0 = Clock::now();
    backend.evaluate(f.view(), options, res);
    if (i >= warmup) seconds.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
  }
  return seconds;
}

void run_files_cpu(const Args& a, const FileGames& f) {
  auto cpu = dgeval::make_cpu_backend(a.cpu_threads);
  dgeval::Options options;
  options.columns = a.columns;
  print_file_row(a, f, "dgeval-cpu", time_evaluations(*cpu, f, options, a.warmup, a.cpu_repeats));
}

void print_files_header(const Args& a) {
  if (a.json) return;
  std::printf("| dims | backend | games | input MiB | columns | median s | min s | games/s |\n");
  std::printf("|---|---|---:|---:|---|---:|---:|---:|\n");
}

#if DGEVAL_HAVE_CUDA
#define BENCH_CUDA(call)                                                                    \
  do {                                                                                      \
    const cudaError_t e_ = (call);                                                          \
    if (e_ != cudaSuccess) {                                                                \
      std::fprintf(stderr, "dgeval_bench: %s failed: %s\n", #call, cudaGetErrorString(e_)); \
      std::exit(1);                                                                         \
    }                                                                                       \
  } while (0)

double device_copy_bandwidth(cudaStream_t st, int repeats) {
  std::size_t free_b = 0, total_b = 0;
  BENCH_CUDA(cudaMemGetInfo(&free_b, &total_b));
  const std::size_t bytes = std::min<std::size_t>(std::size_t{1} << 30, free_b / 4);
  void *a = nullptr, *b = nullptr;
  BENCH_CUDA(cudaMalloc(&a, bytes));
  BENCH_CUDA(cudaMalloc(&b, bytes));
  BENCH_CUDA(cudaMemsetAsync(a, 1, bytes, st));
  cudaEvent_t e0, e1;
  BENCH_CUDA(cudaEventCreate(&e0));
  BENCH_CUDA(cudaEventCreate(&e1));
  std::vector<double> ms;
  for (int i = 0; i < repeats + 2; ++i) {
    BENCH_CUDA(cudaEventRecord(e0, st));
    BENCH_CUDA(cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice, st));
    BENCH_CUDA(cudaEventRecord(e1, st));
    BENCH_CUDA(cudaEventSynchronize(e1));
    float t = 0.0f;
    BENCH_CUDA(cudaEventElapsedTime(&t, e0, e1));
    if (i >= 2) ms.push_back(t);
  }
  BENCH_CUDA(cudaEventDestroy(e0));
  BENCH_CUDA(cudaEventDestroy(e1));
  BENCH_CUDA(cudaFree(a));
  BENCH_CUDA(cudaFree(b));
  return 2.0 * static_cast<double>(bytes) / (median(ms) * 1e-3);
}

std::size_t device_used() {
  std::size_t free_b = 0, total_b = 0;
  BENCH_CUDA(cudaMemGetInfo(&free_b, &total_b));
  return total_b - free_b;
}

/// --generate on the GPU: games made on the device then evaluated there, against evaluation
/// alone on the same resident batch, and the CPU doing both.
int run_gpu_generate(const Args& a) {
  const dgeval::cuda::DeviceInfo info = dgeval::cuda::device_info(a.device);
  BENCH_CUDA(cudaSetDevice(a.device));
  std::printf("device %d: %s; generate and evaluate, dtype %s, result columns: %s, median of %d after %d warm-up\n\n",
              a.device, info.name.c_str(), dgeval::dtype_name(a.dtype), a.columns_text.c_str(), a.repeats, a.warmup);
  std::printf(
      "| workload | generator | games | generate ms | evaluate ms | games/s (both) | games/s (evaluate alone) | "
      "both / alone | CPU games | CPU games/s (both) | speed-up |\n");
  std::printf("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  std::fflush(stdout);
  for (const std::string& w : a.workloads) {
    const DeviceWorkload dw = device_workload(a, w);
    const dgeval::Dims& d = dw.dims;
    const std::size_t game_bytes = dw.game_bytes;
    const std::int64_t games = dw.games;
    const dgeval::Options& options = dw.options;
    dgeval::cuda::ResidentBatch rb(a.device, d, a.dtype, games, options);
    std::vector<std::pair<std::string, const dgeval::GeneratorSpec*>> gens = {{"uniform", nullptr}};
    const auto specs = bench_generators();
    for (const auto& [name, spec] : specs) gens.emplace_back(name, &spec);
    for (const auto& [name, spec] : gens) {
      std::vector<double> gen_ms, eval_ms;
      for (int i = 0; i < a.warmup + a.repeats; ++i) {
        const auto t0 = Clock::now();
        if (spec) {
          rb.fill_generated(*spec, 7 + i);
        } else {
          rb.fill_random(7 + i);
        }
        const auto t1 = Clock::now();
        rb.evaluate(nullptr);
        BENCH_CUDA(cudaDeviceSynchronize());
        const auto t2 = Clock::now();
        if (i >= a.warmup) {
          gen_ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
          eval_ms.push_back(std::chrono::duration<double, std::milli>(t2 - t1).count());
        }
      }
      const double g = median(gen_ms), e = median(eval_ms);
      const double both = static_cast<double>(games) / ((g + e) * 1e-3),
                   alone = static_cast<double>(games) / (e * 1e-3);
      std::string cpu_games = "-", cpu_rate = "-", speedup = "-";
      if (!a.no_cpu) {
        const std::int64_t k = cpu_games_for(a, games, game_bytes);
        const double r = cpu_generate_rate(a, d, spec, k);
        char buf[64];
        std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(k));
        cpu_games = buf;
        std::snprintf(buf, sizeof buf, "%.4g", r);
        cpu_rate = buf;
        std::snprintf(buf, sizeof buf, "%.1fx", both / r);
        speedup = buf;
      }
      std::printf("| %s | %s | %lld | %.2f | %.2f | %.4g | %.4g | %.2f | %s | %s | %s |\n", w.c_str(), name.c_str(),
                  static_cast<long long>(games), g, e, both, alone, both / alone, cpu_games.c_str(), cpu_rate.c_str(),
                  speedup.c_str());
      std::fflush(stdout);
    }
  }
  return 0;
}

int run_gpu(const Args& a) {
  const dgeval::cuda::DeviceInfo info = dgeval::cuda::device_info(a.device);
  BENCH_CUDA(cudaSetDevice(a.device));
  cudaStream_t st;
  BENCH_CUDA(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking));
  const double copy = device_copy_bandwidth(st, std::max(10, a.repeats));
  std::printf("device %d: %s (sm_%d%d, %d SMs, %.1f GiB, L2 %.0f MiB), peak %.0f GB/s (memory clock x bus width)\n",
              a.device, info.name.c_str(), info.major, info.minor, info.multiprocessors,
              static_cast<double>(info.total_memory) / 1073741824.0, static_cast<double>(info.l2_bytes) / 1048576.0,
              info.peak_bandwidth_gbs);
  std::printf("device-to-device copy (cudaMemcpyAsync, 1 GiB, read + write): %.1f GB/s\n", copy / 1e9);
  double host_copy = 0.0;
  if (!a.no_cpu) {
    host_copy = host_copy_bandwidth(a.cpu_threads);
    std::printf("host memory copy (read + write): %.1f GB/s\n", host_copy / 1e9);
  }
  std::printf(
      "dtype %s, default options, result columns: %s, %d timed repeats after %d warm-up, L2 flushed before each\n\n",
      dgeval::dtype_name(a.dtype), a.columns_text.c_str(), a.repeats, a.warmup);
  std::printf(
      "| workload | path | games | input MiB | output MiB | median ms | min ms | GB/s | %% copy | games/s | "
      "device MiB | mem target | CPU games | CPU GB/s | CPU %% copy | speed-up | check |\n");
  std::printf("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---|\n");
  std::fflush(stdout);

  // L2 flush buffer (twice the L2).
  void* flush = nullptr;
  const std::size_t flush_bytes = std::max<std::size_t>(2 * info.l2_bytes, std::size_t{64} << 20);
  BENCH_CUDA(cudaMalloc(&flush, flush_bytes));
  cudaEvent_t e0, e1;
  BENCH_CUDA(cudaEventCreate(&e0));
  BENCH_CUDA(cudaEventCreate(&e1));

  for (const std::string& w : a.workloads) {
    const DeviceWorkload dw = device_workload(a, w);
    const dgeval::Dims& d = dw.dims;
    const std::size_t game_bytes = dw.game_bytes;
    const std::int64_t games = dw.games;
    const dgeval::Options& options = dw.options;
    const std::size_t used0 = device_used();
    std::vector<double> ms;
    std::size_t in = 0, out = 0, peak = 0;
    std::string path;
    {
      dgeval::cuda::ResidentBatch rb(a.device, d, a.dtype, games, options);
      rb.fill_random(42);
      peak = device_used() - used0;
      in = rb.input_bytes();
      out = rb.output_bytes();
      path = dgeval::cuda::path_name(rb.path());
      if (rb.sweep_blocks_per_game() > 1) path += " (" + std::to_string(rb.sweep_blocks_per_game()) + " blocks/game)";
      for (int i = 0; i < a.warmup; ++i) rb.evaluate(st);
      BENCH_CUDA(cudaStreamSynchronize(st));
      for (int i = 0; i < a.repeats; ++i) {
        BENCH_CUDA(cudaMemsetAsync(flush, i & 0xff, flush_bytes, st));
        BENCH_CUDA(cudaEventRecord(e0, st));
        rb.evaluate(st);
        BENCH_CUDA(cudaEventRecord(e1, st));
        BENCH_CUDA(cudaEventSynchronize(e1));
        float t = 0.0f;
        BENCH_CUDA(cudaEventElapsedTime(&t, e0, e1));
        ms.push_back(t);
      }
    }
    const double med = median(ms), best = *std::min_element(ms.begin(), ms.end());
    const double bytes = static_cast<double>(in + out);
    const double gbs = bytes / (med * 1e-3) / 1e9;
    const double target = 1.25 * static_cast<double>(in) + 256.0 * 1048576.0;

    // CPU backend on the first games of the same batch; the same games on the GPU for a check.
    std::string cpu_games = "-", cpu_gbs = "-", cpu_pct = "-", speedup = "-", check = "-";
    if (!a.no_cpu) {
      const std::int64_t k = cpu_games_for(a, games, game_bytes);
      dgeval::cuda::ResidentBatch small(a.device, d, a.dtype, k, options);
      small.fill_random(42);  // games are a function of (seed, index): the batch's first k games
      const dgeval::Batch host = small.download_input(k);
      dgeval::Results cpu_res, gpu_res;
      const CpuRow c = run_cpu(a, host, &cpu_res);
      small.evaluate(nullptr);
      small.download(gpu_res);
      bool ok = cpu_res.pure_ne_count == gpu_res.pure_ne_count && cpu_res.flags == gpu_res.flags;
      for (std::size_t j = 0; ok && j < cpu_res.ia.size() && j < gpu_res.ia.size(); ++j) {
        ok = std::fabs(cpu_res.ia[j] - gpu_res.ia[j]) <= 1e-6 * std::max(1.0, std::fabs(cpu_res.ia[j]));
      }
      check = ok ? "ok" : "MISMATCH";
      char buf[64];
      std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(k));
      cpu_games = buf;
      std::snprintf(buf, sizeof buf, "%.2f", c.bytes / c.seconds / 1e9);
      cpu_gbs = buf;
      std::snprintf(buf, sizeof buf, "%.1f", 100.0 * c.bytes / c.seconds / host_copy);
      cpu_pct = buf;
      const double cpu_per_game = c.seconds / static_cast<double>(k);
      const double gpu_per_game = med * 1e-3 / static_cast<double>(games);
      std::snprintf(buf, sizeof buf, "%.1fx", cpu_per_game / gpu_per_game);
      speedup = buf;
    }
    std::printf(
        "| %s | %s | %lld | %.1f | %.1f | %.3f | %.3f | %.1f | %.1f | %.4g | %.1f | %s | %s | %s | %s | %s | %s |\n",
        w.c_str(), path.c_str(), static_cast<long long>(games), static_cast<double>(in) / 1048576.0,
        static_cast<double>(out) / 1048576.0, med, best, gbs, 100.0 * gbs * 1e9 / copy,
        static_cast<double>(games) / (med * 1e-3), static_cast<double>(peak) / 1048576.0,
        static_cast<double>(peak) <= target ? "ok" : "OVER", cpu_games.c_str(), cpu_gbs.c_str(), cpu_pct.c_str(),
        speedup.c_str(), check.c_str());
    std::fflush(stdout);
  }
  BENCH_CUDA(cudaEventDestroy(e0));
  BENCH_CUDA(cudaEventDestroy(e1));
  BENCH_CUDA(cudaFree(flush));
  BENCH_CUDA(cudaStreamDestroy(st));
  return 0;
}

/// Files mode on the GPU: the games uploaded once into a resident batch, then evaluate() timed
/// with CUDA events on a non-blocking stream (no L2 flush: the baseline's timings have none).
void run_files_gpu(const Args& a, const FileGames& f) {
  BENCH_CUDA(cudaSetDevice(a.device));
  cudaStream_t st;
  BENCH_CUDA(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking));
  dgeval::Options options;
  options.columns = a.columns;
  {
    dgeval::cuda::ResidentBatch rb(a.device, f.dims, f.dtype, f.games, options);
    rb.upload(dgeval::copy_games(f.view(), 0, f.games));
    cudaEvent_t e0, e1;
    BENCH_CUDA(cudaEventCreate(&e0));
    BENCH_CUDA(cudaEventCreate(&e1));
    std::vector<double> seconds;
    for (int i = 0; i < a.warmup + a.repeats; ++i) {
      BENCH_CUDA(cudaEventRecord(e0, st));
      rb.evaluate(st);
      BENCH_CUDA(cudaEventRecord(e1, st));
      BENCH_CUDA(cudaEventSynchronize(e1));
      float ms = 0.0f;
      BENCH_CUDA(cudaEventElapsedTime(&ms, e0, e1));
      if (i >= a.warmup) seconds.push_back(ms * 1e-3);
    }
    BENCH_CUDA(cudaEventDestroy(e0));
    BENCH_CUDA(cudaEventDestroy(e1));
    print_file_row(a, f, "dgeval-cuda", seconds);
  }
  // From host memory to host memory: the CUDA backend's evaluate() with its copies.
  auto backend = dgeval::make_cuda_backend(a.device);
  print_file_row(a, f, "dgeval-cuda-from-host", time_evaluations(*backend, f, options, a.warmup, a.repeats));
  BENCH_CUDA(cudaStreamDestroy(st));
}
#endif

}  // namespace

int main(int argc, char** argv) {
  const Args a = parse(argc, argv);
  try {
    if (a.model) {
      std::vector<std::pair<std::string, std::int64_t>> w;
      for (const std::string& d : a.workloads) {
        w.push_back({d, games_for(a, d, utility_bytes_per_game(dgeval::Dims::parse(d), dgeval::dtype_size(a.dtype)))});
      }
      return dgeval_bench::print_model(w, a.dtype, a.columns, 3e12);
    }
    if (a.fp64_peak) {
      std::string target;
      const double peak = dgeval_bench::fp64_peak_flops(a.cpu_threads, &target);
      const double copy = host_copy_bandwidth(a.cpu_threads);
      const unsigned threads =
          a.cpu_threads > 0 ? static_cast<unsigned>(a.cpu_threads) : std::max(1u, std::thread::hardware_concurrency());
      if (a.json) {
        std::printf(
            "{\"fp64_peak_flops\": %.6g, \"copy_bytes_per_s\": %.6g, \"threads\": %u, \"simd_target\": \"%s\"}\n", peak,
            copy, threads, target.c_str());
      } else {
        std::printf("FP64 peak (vector fused multiply-adds, %s, %u threads): %.1f GFLOP/s\n", target.c_str(), threads,
                    peak / 1e9);
        std::printf("host memory copy (read + write, %u threads): %.1f GB/s\n", threads, copy / 1e9);
      }
      return 0;
    }
    std::string why;
    const bool gpu = !a.cpu_only && dgeval::cuda_available(&why);
    if (a.require_gpu && !gpu) {
      std::fprintf(stderr, "dgeval_bench: --require-gpu: no usable GPU (%s)\n", why.c_str());
      return 1;
    }
    if (!a.agents_path.empty()) {
      const FileGames f = load_files(a);
      if (!gpu && !a.cpu_only && !a.json)
        std::printf("dgeval_bench: no usable GPU (%s); the CPU backend only.\n\n", why.c_str());
      print_files_header(a);
      if (!a.no_cpu) run_files_cpu(a, f);
#if DGEVAL_HAVE_CUDA
      if (gpu) run_files_gpu(a, f);
#endif
      return 0;
    }
    if (!gpu) {
      if (!a.cpu_only) std::printf("dgeval_bench: no usable GPU (%s); running the CPU backend only.\n", why.c_str());
      if (!a.no_cpu) a.generate ? print_cpu_generate(a) : print_cpu_only(a);
      return 0;
    }
#if DGEVAL_HAVE_CUDA
    return a.generate ? run_gpu_generate(a) : run_gpu(a);
#else
    return 0;
#endif
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dgeval_bench: %s\n", e.what());
    return 1;
  }
}
