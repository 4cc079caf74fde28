// Runs of the CLI across MPI ranks (docs/SCALING.md): `mpirun -n R dgeval evaluate|generate ...`.
//
// The design, the simplest that keeps every output byte-identical to a single-process run: the
// run's ranges (chunks) are the single-process run's, the ranges not yet done are dealt to the
// ranks in turn (range j of those left to rank j mod R), each rank computes its ranges in order
// and sends each one's results to rank 0, and rank 0, the only writer, takes every range in
// game order (its own, the journal's, or another rank's) and writes it through the one output
// layer, exactly as a single process does. Each rank has at most one range in flight, so memory
// stays bounded by a few ranges per rank.
//
// Every rank runs the command's setup (options, inputs, backend); MPI is started only when a
// launcher (mpirun, srun) started the process, and in a build without MPI (DGEVAL_MPI=OFF) every
// function here is the one-process answer, so the commands run exactly as without MPI.
#pragma once

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace dgeval {
namespace cli {
namespace mpi {

/// Starts MPI when a launcher started this process (and the build has MPI); else does nothing.
void init(int* argc, char*** argv);
/// Ends MPI after a run whose ranks all returned (no-op without MPI).
void finalize();
/// Whether this build has MPI.
bool built_with_mpi();
/// This process's rank and the number of ranks (0 and 1 without MPI).
int rank();
int size();
/// The rank among the ranks of this node, and their number (0 and 1 without MPI).
int local_rank();
int local_size();
inline bool root() { return rank() == 0; }

/// --threads under MPI: the value given, or (0: every core) the node's cores shared among its ranks.
int threads_per_rank(int threads);

/// A failure of another rank during the setup, reported by setup_done(); main() exits with its
/// status, and rank 0 prints its message.
class peer_failed : public std::runtime_error {
 public:
  peer_failed(int status, const std::string& message) : std::runtime_error(message), status_(status) {}
  int status() const { return status_; }

 private:
  int status_;
};

/// Every rank calls it once its command's setup has succeeded (with the name of the backend it
/// will compute on, and a hash of its command line); with more than one rank it waits for all of
/// them. If any rank failed in its setup (main() called setup_failed() there), or the ranks'
/// backends or command lines differ (an MPMD launch), it throws peer_failed with the first
/// failing rank's status and message. Without MPI: nothing.
void setup_done(const std::string& backend, const std::string& command);
/// Whether this rank is past setup_done() (then a failure ends the whole run: abort()).
bool past_setup();
/// In main(): this rank failed before setup_done() with `status` and `message` (the line it
/// would print). Takes part in the same exchange as setup_done(); returns the status every rank
/// exits with, and sets `message` to what this rank prints (rank 0: the first failure's; others:
/// nothing).
int setup_failed(int status, std::string& message);
/// After setup: ends every rank of the run with `status` (MPI_Abort). Returns only without MPI.
void abort(int status);
/// The status that every rank exits with after a run that all ranks finished: rank 0's.
int common_status(int status);

/// Broadcasts rank 0's `values` to every rank.
void broadcast(std::vector<std::int64_t>& values);
/// Sends `bytes` to rank 0 (one message in flight per rank: waits for the previous one first).
/// Polls the stop flag while it waits (a stop throws dgeval::cancelled).
void send_to_root(std::string bytes);
/// Waits for the previous send_to_root() to complete.
void flush_sends();
/// Receives the next message that rank `from` sent with send_to_root(), polling the stop flag.
std::string receive_from(int from);
/// Every rank's `bytes`, in rank order, on every rank (a collective: every rank calls it, the same
/// number of times). Polls the stop flag while it waits. Without MPI: {bytes}.
std::vector<std::string> all_gather(const std::string& bytes);

/// The owner of each range (-1: done already, read from the journal): the ranges not done, in
/// order, dealt to `ranks` ranks in turn.
std::vector<int> deal_ranges(const std::vector<bool>& done, int ranks);
/// Every rank: the owner of each range of a run, given by its first game (`firsts`, in order),
/// the ranges that `done_on_root` says are done on rank 0 (a journal's; other ranks pass
/// anything) being -1, the others dealt to the ranks in turn. With one rank: every range 0.
std::vector<int> deal_ranges(const std::vector<std::int64_t>& firsts,
                             const std::function<bool(std::int64_t first)>& done_on_root);

/// DGEVAL_MPI_DEBUG=1: each rank reports on stderr the ranges it computes ("dgeval: rank r of R
/// computes games [a, b)", or another `what`), for the tests and for checking a job's split.
void debug_range(const char* command, std::int64_t first, std::int64_t count, const char* what = "games");

}  // namespace mpi
}  // namespace cli
}  // namespace dgeval
