// The journal of a resumable run (docs/FORMATS.md, "The journal of a resumable run"): a folder
// next to the main output, OUTPUT.dgeval-journal/, that holds which game ranges are done and
// each done range's results in a part file, all written durably (fsync) as the run goes. The
// outputs themselves still go through the one output layer (dgeval/output.hpp) and are
// committed only once complete: on --resume the done ranges are read back from their part
// files instead of being evaluated again, and every output is written from the same results in
// the same order, so it has the same bytes as an uninterrupted run. A finished run removes its
// journal; a stop by a signal (the one exit path) or a crash leaves it.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace dgeval {
struct Results;
namespace cli {

/// What a journal belongs to: a resume with any of these different is refused.
struct JournalIdentity {
  std::string version;      ///< dgeval's version
  std::string command;      ///< hash of the command line (without --resume, -q, --quiet)
  std::string inputs;       ///< hash of the input files' contents ("none" for generated games)
  std::string backend;      ///< the backend that computes the results (cpu, cuda)
  std::int64_t games = 0;   ///< games in the whole run
  std::int64_t ranges = 0;  ///< ranges (chunks) in the whole run
};

/// 64-bit hash (not cryptographic) of `text`, as 16 hex digits.
std::string hash_text(const std::string& text);
/// Hash of the command line `args` (argv after the program name), leaving out the flags that
/// change neither the output nor the work: --resume, -q, --quiet.
std::string hash_command_line(const std::vector<std::string>& args);
/// Hash of the contents of each file in `paths`, in order (reads each file once).
std::string hash_files(const std::vector<std::string>& paths);

/// The results of one range as the bytes of a part file (docs/FORMATS.md), and back: `what`
/// names the bytes in an error, `advice` ends its message. Also the messages of an MPI run's ranks.
std::string serialise_results(const Results& r);
Results parse_results(const std::string& bytes, std::int64_t count, const std::string& what,
                      const std::string& advice = "");

class RunJournal {
 public:
  /// The journal folder of an output file (the regular file the output replaces).
  static std::string folder_for(const std::string& output_file);

  /// Without `resume`: starts a new journal, refusing (usage_error) when one exists. With
  /// `resume`: opens the journal and checks it (dgeval::error naming the file and line when it
  /// is corrupt or not a journal; usage_error when it belongs to another command line, input,
  /// version or backend); starts a new one, with a note, when there is none.
  RunJournal(std::string folder, const JournalIdentity& identity, bool resume, bool quiet);
  ~RunJournal();
  RunJournal(const RunJournal&) = delete;
  RunJournal& operator=(const RunJournal&) = delete;

  const std::string& folder() const { return folder_; }
  /// Whether the journal existed before this process (a --resume continued it).
  bool resumed() const { return resumed_; }
  /// Games whose results the journal holds.
  std::int64_t games_done() const;
  /// Whether the range that starts at game `first` is done.
  bool holds(std::int64_t first) const;
  /// If range [first, first + count) is done: reads its results into `r` (checking the part
  /// file's size and CRC-32) and returns true.
  bool load(std::int64_t first, std::int64_t count, Results& r);
  /// Records range [first, first + r.games) as done: its part file, fsynced, then its line in
  /// the journal, fsynced.
  void record(std::int64_t first, const Results& r);
  /// The same for a range whose part file holds any bytes (`generate`: the games themselves).
  bool load_bytes(std::int64_t first, std::int64_t count, std::string& bytes);
  void record_bytes(std::int64_t first, std::int64_t count, const std::string& bytes);
  /// The run is complete and its outputs committed: removes the journal.
  void finish();
  /// After the outputs were committed: finish(), and a failure to remove the journal only a
  /// warning on stderr (the outputs are complete; a later --resume would write them again).
  void finish_after_commit(const char* command);
  /// In a run's catch block, before rethrowing: a stop (a signal) keeps the journal for
  /// --resume and says so on stderr (unless `quiet`), as does any error of a resumed run (its
  /// journal is reported, never deleted); any other error of a fresh run (bad input, a failed
  /// write) removes it, as the run would fail the same way again. Never throws.
  void on_failure(const char* command, std::int64_t total_games, bool quiet) noexcept;

 private:
  struct Range {
    std::int64_t count = 0;
    std::uint64_t bytes = 0;
    std::uint32_t crc = 0;
  };
  void create(const JournalIdentity& identity);
  void open_existing(const JournalIdentity& identity);
  void append_line(const std::string& text);

  std::string folder_;
  std::string journal_path_;
  int dir_fd_ = -1;
  int fd_ = -1;  ///< the journal file, open for appending
  std::map<std::int64_t, Range> done_;
  int recorded_ = 0;  ///< ranges recorded by this process (the test kill hook counts them)
  int loaded_ = 0;    ///< ranges read back by this process
  bool resumed_ = false;
};

}  // namespace cli
}  // namespace dgeval
