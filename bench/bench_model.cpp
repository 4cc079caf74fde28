// dgeval_bench --model (docs/PERFORMANCE.md, "The kernels' cost without a GPU"): per workload, the
// plan on an H100 (host/backends/cuda/cuda_cost_model.hpp, the backend's planner and launch sequence as the
// emulated test CudaCost checks them), the bytes per game (the input read the number of times the
// path reads it, CudaCost.BytesMovedPerPathOnlyGoDown; the result columns written once), the
// registers of the path's kernels (ptxas -v for sm_90, build/kernel_resources.tsv) and the
// occupancy they allow, and the time of a kernel moving those bytes at the copy bandwidth.
#include "bench_model.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

#if DGEVAL_HAVE_CUDA
#include "backends/cuda/cuda_cost_model.hpp"
#endif

namespace dgeval_bench {

#if DGEVAL_HAVE_CUDA
namespace {

struct Resources {
  int registers = 0;
  int stack = 0;
  int spills = 0;  ///< spill stores + loads, bytes
  int shared = 0;  ///< static shared memory, bytes
};

/// build/kernel_resources.tsv (or the checked-in record when the build has none), by kernel name.
std::map<std::string, Resources> read_resources(std::string* from) {
  std::map<std::string, Resources> r;
  for (const char* path : {DGEVAL_KERNEL_RESOURCES_TABLE_PATH, DGEVAL_KERNEL_RESOURCES_RECORD_PATH}) {
    std::ifstream f(path);
    if (!f) continue;
    std::string line;
    std::getline(f, line);  // header
    while (std::getline(f, line)) {
      std::istringstream s(line);
      std::string name, regs, stack, stores, loads, shared;
      if (!std::getline(s, name, '\t') || !std::getline(s, regs, '\t') || !std::getline(s, stack, '\t') ||
          !std::getline(s, stores, '\t') || !std::getline(s, loads, '\t') || !std::getline(s, shared, '\t')) {
        continue;
      }
      r[name] = Resources{std::stoi(regs), std::stoi(stack), std::stoi(stores) + std::stoi(loads), std::stoi(shared)};
    }
    *from = path;
    return r;
  }
  *from = "none found";
  return r;
}

/// Input bytes read per input byte by a path (the ratchet's figures for large games: the team
/// paths, the two-player and the sweep paths read each utility once (the two-player and sweep
/// paths: plus their pivots and candidates, with the default IC = 1 about one outcome per row, or
/// per fiber of the last player; 1.02 for 15x7x3x7x9x5 in float32); the tiled path reads the
/// input in its stats, align and mask passes, once more in the strategy pass for uniform (half: the
/// NE outcomes' sums), played, correlated and product strategies).
double input_reads(dgeval::cuda::Path p, dgeval::StrategyKind k) {
  using dgeval::StrategyKind;
  if (p != dgeval::cuda::Path::tiled) return 1.0;
  if (k == StrategyKind::uniform_ne || k == StrategyKind::uniform_eps_ne) return 3.5;
  if (k == StrategyKind::played || k == StrategyKind::correlated || k == StrategyKind::product) return 4.0;
  return 3.0;
}

}  // namespace
#endif

int print_model(const std::vector<std::pair<std::string, std::int64_t>>& workloads, dgeval::DType dtype,
                dgeval::ColumnMask columns, double bandwidth) {
#if DGEVAL_HAVE_CUDA
  namespace cu = dgeval::cuda;
  std::string from;
  const std::map<std::string, Resources> res = read_resources(&from);
  const std::size_t vb = dgeval::dtype_size(dtype);
  const std::string t = vb == 4 ? "float" : "double";
  std::printf(
      "The kernels' cost on an H100 (sm_90), without running them: %s input, worst-ne strategy,\n"
      "perfect kernel at %.2f TB/s; registers from %s.\n\n",
      dgeval::dtype_name(dtype), bandwidth / 1e12, from.c_str());
  std::printf(
      "| workload | games | path | read B/game | written B/game | launches/chunk | kernel | regs | spill B | "
      "stack B | occupancy | perfect kernel |\n");
  std::printf("|---|---:|---|---:|---:|---:|---|---:|---:|---:|---:|---:|\n");
  dgeval::Options o;
  o.columns = columns;
  for (const auto& w : workloads) {
    const dgeval::Dims d = dgeval::Dims::parse(w.first);
    const std::int64_t games = w.second;
    const cu::ChunkModel m = cu::model_chunk(d, vb, o, games, cu::h100_limits(), cu::kH100MemoryBudget);
    const double in = static_cast<double>(cu::input_bytes(d, 1, vb));
    const double out =
        static_cast<double>(cu::output_layout(d.players(), d.outcomes(), 1, false, false, columns).useful_bytes);
    const double read = in * input_reads(m.path, o.strategy.kind);
    // The kernels of the path that carry the data (the tiled path's tile kernels: the worst of them).
    std::vector<std::pair<std::string, std::pair<int, std::size_t>>> kernels;  // name, threads, dynamic shared
    if (m.path == cu::Path::two_player) {                                      // the streaming kernel carries the data
      kernels.push_back({"two_player_stream_kernel<" + t + ">", {m.two_player.threads, m.two_player.shared_bytes}});
    } else if (m.path == cu::Path::sweep) {  // one kernel, one block per game
      const std::string name = m.sweep.linf ? "sweep_linf_kernel<" : "sweep_kernel<";
      kernels.push_back({name + t + ">", {m.sweep.threads, m.sweep.shared_bytes}});
    } else if (m.path == cu::Path::tiled) {
      for (const char* k : {"tiled_stats_kernel", "tiled_align_kernel", "tiled_mask_kernel"}) {
        kernels.push_back({std::string(k) + "<" + t + ">", {m.tiled.threads, m.tiled.shared_bytes}});
      }
    } else if (m.path == cu::Path::cluster_team) {  // one cluster of m.cluster.blocks blocks per game
      kernels.push_back({"cluster_evaluate_kernel<" + t + ">", {m.cluster.threads, m.cluster.shared_bytes}});
    } else if (m.path == cu::Path::thread_game) {  // compiled per player count (kernels/team_evaluate.cu)
      kernels.push_back({"tiny_evaluate_kernel<" + std::to_string(d.players()) + ", " + t + ">",
                         {m.team.threads, m.team.shared_bytes}});
    } else {
      const int width = m.path == cu::Path::quad_team ? 4 : m.path == cu::Path::warp_team ? 32 : 0;
      kernels.push_back(
          {"team_evaluate_kernel<" + std::to_string(width) + ", " + t + ">", {m.team.threads, m.team.shared_bytes}});
    }
    std::string name = "?";
    Resources worst;
    double occupancy = 1.0;
    for (const auto& k : kernels) {
      const auto it = res.find(k.first);
      if (it == res.end()) continue;
      const cu::Occupancy occ = cu::sm90_occupancy(it->second.registers, k.second.first,
                                                   k.second.second + static_cast<std::size_t>(it->second.shared));
      if (name == "?" || occ.fraction < occupancy || it->second.registers > worst.registers) {
        name = k.first;
        worst = it->second;
        occupancy = std::min(occupancy, occ.fraction);
      }
    }
    if (name == "?") occupancy = 0.0;
    const double seconds = static_cast<double>(games) * (in + out) / bandwidth;
    std::printf("| %s | %lld | %s | %.0f | %.0f | %lld | %s | %d | %d | %d | %.1f%% | %.3f ms |\n", w.first.c_str(),
                static_cast<long long>(games), cu::path_name(m.path), read, out,
                static_cast<long long>(m.launches_per_chunk), name.c_str(), worst.registers, worst.spills, worst.stack,
                100.0 * occupancy, seconds * 1e3);
  }
  std::printf(
      "\nread: the input read %s (the ratchet CudaCost.BytesMovedPerPathOnlyGoDown); written: the result "
      "columns once. perfect kernel: (input + output bytes) / bandwidth.\n",
      "1x by the team, two-player and sweep paths, 3x by the tiled path");
  return 0;
#else
  (void)workloads;
  (void)dtype;
  (void)columns;
  (void)bandwidth;
  std::fprintf(stderr, "dgeval_bench --model: this build has no CUDA backend\n");
  return 1;
#endif
}

}  // namespace dgeval_bench
