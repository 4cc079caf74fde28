// Runs of the CLI across MPI ranks: see mpi_run.hpp and docs/SCALING.md. Built with MPI when
// DGEVAL_HAVE_MPI is defined (CMake option DGEVAL_MPI), else every function is the one-process
// answer.
#include "cli/mpi_run.hpp"

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "cli/commands.hpp"
#include "dgeval/backend.hpp"
#include "dgeval/error.hpp"

#if defined(DGEVAL_HAVE_MPI)
#include <mpi.h>
#endif

namespace dgeval {
namespace cli {
namespace mpi {

namespace {

int g_rank = 0;
int g_size = 1;
int g_local_rank = 0;
int g_local_size = 1;
bool g_past_setup = false;

bool debug_enabled() {
  const char* d = std::getenv("DGEVAL_MPI_DEBUG");
  return d && *d == '1';
}

}  // namespace

std::vector<int> deal_ranges(const std::vector<bool>& done, int ranks) {
  std::vector<int> owner(done.size(), -1);
  std::int64_t j = 0;
  for (std::size_t i = 0; i < done.size(); ++i) {
    if (!done[i]) owner[i] = static_cast<int>(j++ % std::max(1, ranks));
  }
  return owner;
}

std::vector<int> deal_ranges(const std::vector<std::int64_t>& firsts,
                             const std::function<bool(std::int64_t first)>& done_on_root) {
  if (size() == 1) return std::vector<int>(firsts.size(), 0);
  std::vector<std::int64_t> done_firsts;
  if (root() && done_on_root) {
    for (std::int64_t f : firsts) {
      if (done_on_root(f)) done_firsts.push_back(f);
    }
  }
  broadcast(done_firsts);
  std::vector<bool> done(firsts.size(), false);
  for (std::size_t k = 0; k < firsts.size(); ++k) {
    done[k] = std::binary_search(done_firsts.begin(), done_firsts.end(), firsts[k]);
  }
  return deal_ranges(done, size());
}

void debug_range(const char* command, std::int64_t first, std::int64_t count, const char* what) {
  // Tests: DGEVAL_TEST_FAIL_RANK=K makes rank K fail as it starts its first range.
  if (const char* f = std::getenv("DGEVAL_TEST_FAIL_RANK"); f && *f && std::atoi(f) == g_rank) {
    throw error("rank " + std::to_string(g_rank) + " fails as DGEVAL_TEST_FAIL_RANK asks (a test)");
  }
  if (!debug_enabled()) return;
  std::fprintf(stderr, "dgeval %s: rank %d of %d computes %s [%lld, %lld)\n", command, g_rank, g_size, what,
               static_cast<long long>(first), static_cast<long long>(first + count));
}

/// The number of processes that a launcher started for this job step, as its environment says
/// (1 when none did): Open MPI, PMI (MPICH), Slurm's srun.
int launched_processes() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_STEP_NUM_TASKS"}) {
    if (const char* n = std::getenv(v); n && std::atoi(n) > 1) return std::atoi(n);
  }
  return 1;
}

/// Several processes started without MPI between them would each run the whole command over
/// the same outputs: refused (exit 2), before anything is read or written.
[[noreturn]] void refuse_without_mpi(int processes) {
  std::fprintf(stderr,
               "dgeval: error: started as one of %d processes (mpirun or srun), but %s; each would run the whole "
               "command over the same outputs: run one process, or use a dgeval built with MPI (docs/SCALING.md)\n",
               processes,
               built_with_mpi() ? "not through an MPI launcher (srun without --mpi=pmix or pmi2?)"
                                : "this dgeval was built without MPI (DGEVAL_MPI=OFF, or no MPI found)");
  std::exit(exit_usage);
}

int rank() { return g_rank; }
int size() { return g_size; }
int local_rank() { return g_local_rank; }
int local_size() { return g_local_size; }
bool past_setup() { return g_past_setup; }

int threads_per_rank(int threads) {
  if (threads > 0 || g_local_size <= 1) return threads;
  const unsigned hw = std::thread::hardware_concurrency();
  return std::max(1, static_cast<int>(hw == 0 ? 1 : hw) / g_local_size);
}

#if defined(DGEVAL_HAVE_MPI)

namespace {

bool g_started = false;  ///< MPI_Init was called (and MPI_Finalize not yet)
constexpr int kTagSize = 17;
constexpr int kTagBytes = 18;
constexpr std::size_t kPiece = std::size_t{1} << 30;  // bytes per message (MPI counts are int)

/// Whether a launcher started this process: Open MPI's mpirun, PMIx (srun, prterun), PMI
/// (MPICH's Hydra, srun --mpi=pmi2), MVAPICH.
bool launched_by_mpi() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE", "MV2_COMM_WORLD_SIZE"}) {
    if (std::getenv(v)) return true;
  }
  return false;
}

/// Waits for `req`, polling the stop flag (a stop throws cancelled; the run is then aborted).
void wait(MPI_Request& req) {
  int done = 0;
  for (int spins = 0;; ++spins) {
    MPI_Test(&req, &done, MPI_STATUS_IGNORE);
    if (done) return;
    if (interrupted()) throw cancelled();
    if (spins > 1000) std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
}

// The one send in flight: its bytes and requests.
std::string g_send_bytes;
std::uint64_t g_send_size = 0;
std::vector<MPI_Request> g_send_requests;

/// The exchange of setup_done() / setup_failed(): returns the first failing rank (INT_MAX: none)
/// and sets status and message to its.
int exchange(bool failed, int& status, std::string& message, const std::string& backend, const std::string& command) {
  int mine = failed ? g_rank : INT_MAX;
  int first = INT_MAX;
  MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  if (first == INT_MAX) {
    // Every rank is ready: they must run the same command, on the same backend.
    char mine_text[64] = {0};
    std::strncpy(mine_text, backend.c_str(), 31);
    std::strncpy(mine_text + 32, command.c_str(), 31);
    std::vector<char> all(static_cast<std::size_t>(g_size) * sizeof mine_text);
    MPI_Gather(mine_text, sizeof mine_text, MPI_CHAR, all.data(), sizeof mine_text, MPI_CHAR, 0, MPI_COMM_WORLD);
    int differ = 0;  // 1: backends, 2: command lines
    std::string text;
    if (g_rank == 0) {
      for (int r = 0; r < g_size && !differ; ++r) {
        const char* at = all.data() + static_cast<std::size_t>(r) * sizeof mine_text;
        if (std::string(at + 32) != command) differ = 2;
      }
      for (int r = 0; r < g_size; ++r) {
        const std::string n(all.data() + static_cast<std::size_t>(r) * sizeof mine_text);
        if (n != backend && !differ) differ = 1;
        text += (r ? ", rank " : "rank ") + std::to_string(r) + " " + n;
      }
    }
    MPI_Bcast(&differ, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (!differ) return INT_MAX;
    status = exit_usage;
    message = differ == 2 ? "dgeval: error: the ranks were started with different command lines; every rank must run "
                            "the same command (one command after mpirun, not several separated by ':')\n"
                          : "dgeval: error: the ranks would compute on different backends (" + text +
                                "); every rank must use the same one: give --backend cpu, or --backend cuda with a "
                                "GPU for each rank\n";
    return 0;
  }
  int st = status;
  MPI_Bcast(&st, 1, MPI_INT, first, MPI_COMM_WORLD);
  std::uint64_t len = message.size();
  MPI_Bcast(&len, 1, MPI_UINT64_T, first, MPI_COMM_WORLD);
  std::string text = g_rank == first ? message : std::string(static_cast<std::size_t>(len), '\0');
  MPI_Bcast(text.data(), static_cast<int>(len), MPI_CHAR, first, MPI_COMM_WORLD);
  status = st;
  message = text;
  return first;
}

}  // namespace

bool built_with_mpi() { return true; }

void init(int* argc, char*** argv) {
  if (!launched_by_mpi()) {
    if (launched_processes() > 1) refuse_without_mpi(launched_processes());
    return;
  }
  int provided = 0;
  MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
  g_started = true;
  MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &g_size);
  MPI_Comm node;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, g_rank, MPI_INFO_NULL, &node);
  MPI_Comm_rank(node, &g_local_rank);
  MPI_Comm_size(node, &g_local_size);
  MPI_Comm_free(&node);
}

void finalize() {
  if (!g_started) return;
  g_started = false;
  MPI_Finalize();
}

void setup_done(const std::string& backend, const std::string& command) {
  if (g_size <= 1) {
    g_past_setup = true;
    return;
  }
  int status = 0;
  std::string message;
  const int first = exchange(false, status, message, backend, command);
  if (first != INT_MAX) {
    // Rank 0 prints the first failure; a failure of another rank is named.
    if (first != 0) message = "(rank " + std::to_string(first) + " of " + std::to_string(g_size) + ") " + message;
    throw peer_failed(status, g_rank == 0 ? message : "");
  }
  g_past_setup = true;
}

int setup_failed(int status, std::string& message) {
  if (g_size <= 1 || g_past_setup) return status;
  int st = status;
  std::string text = message;
  const int first = exchange(true, st, text, "", "");
  if (first != 0) text = "(rank " + std::to_string(first) + " of " + std::to_string(g_size) + ") " + text;
  message = g_rank == 0 ? text : "";
  return st;
}

void abort(int status) {
  if (!g_started) return;
  std::fflush(stdout);
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, status);
}

int common_status(int status) {
  if (g_size <= 1) return status;
  // Non-blocking, polled with sleeps: the ranks that finished first wait here without spinning
  // on the cores that rank 0 still writes with.
  MPI_Request req;
  MPI_Ibcast(&status, 1, MPI_INT, 0, MPI_COMM_WORLD, &req);
  wait(req);
  return status;
}

void broadcast(std::vector<std::int64_t>& values) {
  if (g_size <= 1) return;
  std::uint64_t n = values.size();
  MPI_Bcast(&n, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
  values.resize(static_cast<std::size_t>(n));
  for (std::size_t at = 0; at < values.size(); at += kPiece / 8) {
    const int count = static_cast<int>(std::min(values.size() - at, kPiece / 8));
    MPI_Bcast(values.data() + at, count, MPI_INT64_T, 0, MPI_COMM_WORLD);
  }
}

void flush_sends() {
  for (MPI_Request& r : g_send_requests) wait(r);
  g_send_requests.clear();
  g_send_bytes.clear();
  g_send_bytes.shrink_to_fit();
}

void send_to_root(std::string bytes) {
  flush_sends();
  g_send_bytes = std::move(bytes);
  g_send_size = g_send_bytes.size();
  g_send_requests.emplace_back();
  MPI_Isend(&g_send_size, 1, MPI_UINT64_T, 0, kTagSize, MPI_COMM_WORLD, &g_send_requests.back());
  for (std::size_t at = 0; at < g_send_bytes.size(); at += kPiece) {
    const int count = static_cast<int>(std::min(g_send_bytes.size() - at, kPiece));
    g_send_requests.emplace_back();
    MPI_Isend(g_send_bytes.data() + at, count, MPI_BYTE, 0, kTagBytes, MPI_COMM_WORLD, &g_send_requests.back());
  }
}

std::string receive_from(int from) {
  std::uint64_t n = 0;
  MPI_Request req;
  MPI_Irecv(&n, 1, MPI_UINT64_T, from, kTagSize, MPI_COMM_WORLD, &req);
  wait(req);
  std::string bytes(static_cast<std::size_t>(n), '\0');
  for (std::size_t at = 0; at < bytes.size(); at += kPiece) {
    const int count = static_cast<int>(std::min(bytes.size() - at, kPiece));
    MPI_Irecv(bytes.data() + at, count, MPI_BYTE, from, kTagBytes, MPI_COMM_WORLD, &req);
    wait(req);
  }
  return bytes;
}

std::vector<std::string> all_gather(const std::string& bytes) {
  if (g_size <= 1) return {bytes};
  if (bytes.size() > static_cast<std::size_t>(INT_MAX / g_size)) throw error("internal: all_gather of too many bytes");
  int mine = static_cast<int>(bytes.size());
  std::vector<int> sizes(static_cast<std::size_t>(g_size), 0);
  MPI_Request req;
  MPI_Iallgather(&mine, 1, MPI_INT, sizes.data(), 1, MPI_INT, MPI_COMM_WORLD, &req);
  wait(req);
  std::vector<int> offsets(static_cast<std::size_t>(g_size), 0);
  std::int64_t total = 0;
  for (int r = 0; r < g_size; ++r) {
    offsets[static_cast<std::size_t>(r)] = static_cast<int>(total);
    total += sizes[static_cast<std::size_t>(r)];
    if (total > INT_MAX) throw error("internal: all_gather of too many bytes");
  }
  std::string all(static_cast<std::size_t>(total), '\0');
  MPI_Iallgatherv(bytes.data(), mine, MPI_BYTE, all.data(), sizes.data(), offsets.data(), MPI_BYTE, MPI_COMM_WORLD,
                  &req);
  wait(req);
  std::vector<std::string> out;
  for (int r = 0; r < g_size; ++r) {
    out.push_back(all.substr(static_cast<std::size_t>(offsets[static_cast<std::size_t>(r)]),
                             static_cast<std::size_t>(sizes[static_cast<std::size_t>(r)])));
  }
  return out;
}

#else  // without MPI: one process

bool built_with_mpi() { return false; }
void init(int*, char***) {
  if (launched_processes() > 1) refuse_without_mpi(launched_processes());
}
void finalize() {}
void setup_done(const std::string&, const std::string&) { g_past_setup = true; }
int setup_failed(int status, std::string&) { return status; }
void abort(int) {}
int common_status(int status) { return status; }
void broadcast(std::vector<std::int64_t>&) {}
void flush_sends() {}
void send_to_root(std::string) { throw error("internal: send_to_root without MPI"); }
std::string receive_from(int) { throw error("internal: receive_from without MPI"); }
std::vector<std::string> all_gather(const std::string& bytes) { return {bytes}; }

#endif

}  // namespace mpi
}  // namespace cli
}  // namespace dgeval
