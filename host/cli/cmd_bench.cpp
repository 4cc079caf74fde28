// `dgeval bench`: times the evaluation of random games and reports games/s. (The detailed
// benchmark driver with the bytes model and bandwidth figures lives in bench/.)
#include <cxxopts.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>

#include "cli/commands.hpp"
#include "dgeval/dgeval.hpp"

namespace dgeval {
namespace cli {

int bench_command(int argc, char** argv) {
  cxxopts::Options o("dgeval bench", "Time the evaluation of random games.");
  o.custom_help("[--dims KxKx...] [--games B] [--repeats R] [--backend auto|cpu|cuda|both]");
  o.add_options()("dims", "action counts; repeat the flag for several workloads: --dims 3x3 --dims 6x7x4x6",
                  cxxopts::value<std::vector<std::string>>()->default_value("3x3"))(
      "games", "games per run", cxxopts::value<std::int64_t>()->default_value("10000"))(
      "repeats", "timed runs after one warm-up", cxxopts::value<int>()->default_value("3"))(
      "backend", "auto | cpu | cuda | both", cxxopts::value<std::string>()->default_value("cpu"))(
      "threads", "CPU threads (0 = all)", cxxopts::value<int>()->default_value("0"))(
      "device", "CUDA device ordinal", cxxopts::value<int>()->default_value("0"))(
      "seed", "seed of the random games", cxxopts::value<std::uint64_t>()->default_value("0"))("h,help", "this help");
  const cxxopts::ParseResult p = parse_or_usage(o, argc, argv);
  if (p.count("help")) {
    std::cout << o.help()
              << "\nexamples:\n"
                 "  dgeval bench --dims 3x3 --games 100000\n"
                 "  dgeval bench --dims 6x7x4x6 --games 10000 --backend both\n";
    return exit_ok;
  }
  const std::int64_t games = int64_option(p, "games", 1, std::int64_t{1} << 40);
  const int repeats = int_option(p, "repeats", 1, 1 << 20);
  const int threads = threads_option(p);
  const int device = device_option(p);
  const std::string which = p["backend"].as<std::string>();
  if (which != "auto" && which != "cpu" && which != "cuda" && which != "both") {
    throw usage_error("--backend: expected auto, cpu, cuda or both");
  }
  std::vector<Dims> all_dims;
  for (const std::string& dims_text : p["dims"].as<std::vector<std::string>>()) {
    try {
      all_dims.push_back(Dims::parse(dims_text));
    } catch (const error& e) {
      throw usage_error(std::string("--dims: ") + e.what());
    }
  }
  std::vector<std::string> names =
      which == "both" ? std::vector<std::string>{"cpu", "cuda"} : std::vector<std::string>{which};
  std::printf("%-8s %-14s %10s %12s %10s %12s %12s %14s %9s\n", "backend", "dims", "games", "outcomes", "MB read",
              "median s", "min s", "games/s", "GB/s");
  for (const Dims& dims : all_dims) {
    const Batch batch = random_uniform_games(dims, games, p["seed"].as<std::uint64_t>(), 0, 0.0, 1.0, threads);
    const double bytes = 2.0 * static_cast<double>(batch.agents.size()) * sizeof(double);
    for (const std::string& name : names) {
      BackendConfig bc;
      bc.name = name;
      bc.threads = threads;
      bc.device = device;
      std::string warning;
      std::unique_ptr<Backend> backend;
      try {
        backend = make_backend(bc, &warning);
      } catch (const error& e) {
        std::fprintf(stderr, "dgeval bench: %s backend unavailable: %s\n", name.c_str(), e.what());
        continue;
      }
      Options options;
      Results r;
      backend->set_progress([](std::int64_t, std::int64_t) { return !interrupted(); });
      backend->evaluate(batch.view(), options, r);  // warm-up
      std::vector<double> t;
      for (int k = 0; k < repeats; ++k) {
        if (interrupted()) throw cancelled();
        const auto t0 = std::chrono::steady_clock::now();
        backend->evaluate(batch.view(), options, r);
        t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      }
      std::sort(t.begin(), t.end());
      const double median = t[t.size() / 2], best = t.front();
      std::printf("%-8s %-14s %10lld %12lld %10.1f %12.6f %12.6f %14.4g %9.2f\n", backend->name(),
                  dims.to_string().c_str(), static_cast<long long>(games), static_cast<long long>(dims.outcomes()),
                  bytes / 1e6, median, best, games / best, bytes / best / 1e9);
    }
  }
  return exit_ok;
}

}  // namespace cli
}  // namespace dgeval
