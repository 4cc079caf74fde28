// Progress reporting on stderr for long runs: a bar that redraws in place on a terminal,
// plain lines (one every few seconds) otherwise. Silent for the first second of a run.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <string>
#include <utility>

namespace dgeval {
namespace cli {

class Progress {
 public:
  Progress(std::string what, bool enabled);
  /// Reports `done` of `total` items; cheap to call often. Returns true (never cancels).
  bool update(std::int64_t done, std::int64_t total);
  /// Clears the bar (on a terminal) once the run is over.
  void finish();
  double elapsed_seconds() const;

 private:
  std::string what_;
  bool enabled_;
  bool tty_;
  bool drawn_ = false;
  bool reported_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_;
  std::deque<std::pair<double, std::int64_t>> recent_;  ///< (seconds, done) of recent reports
};

}  // namespace cli
}  // namespace dgeval
