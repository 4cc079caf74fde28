#include "cli/progress.hpp"

#include "cli/commands.hpp"

#include <unistd.h>

#include <cstdio>

namespace dgeval {
namespace cli {

Progress::Progress(std::string what, bool enabled) : what_(std::move(what)), enabled_(enabled), tty_(::isatty(2) != 0) {
  start_ = last_ = std::chrono::steady_clock::now();
}

double Progress::elapsed_seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

bool Progress::update(std::int64_t done, std::int64_t total) {
  if (!enabled_) return true;
  const auto now = std::chrono::steady_clock::now();
  const double t = std::chrono::duration<double>(now - start_).count();
  const double since = std::chrono::duration<double>(now - last_).count();
  // The first report once a second has passed, then one every 0.2 s (a bar) or 5 s (lines).
  if (t < 1.0 || (reported_ && since < (tty_ ? 0.2 : 5.0))) return true;
  reported_ = true;
  last_ = now;
  // The rate over the last ~30 s: work items can differ in cost (an experiment's sizes), so
  // the average since the start would promise too early an end.
  recent_.emplace_back(t, done);
  while (recent_.size() > 2 && t - recent_[1].first >= 30.0) recent_.pop_front();
  const auto& [t0, done0] = recent_.front();
  const double rate = t - t0 >= 2.0 ? static_cast<double>(done - done0) / (t - t0) : done / t;
  const double eta = rate > 0 ? (total - done) / rate : 0.0;
  const double pct = total > 0 ? 100.0 * done / total : 100.0;
  if (tty_) {
    const int width = 30;
    const int fill = static_cast<int>(pct / 100.0 * width);
    std::string bar(static_cast<std::size_t>(fill), '=');
    bar.resize(width, ' ');
    std::fprintf(stderr, "\r%s [%s] %5.1f%% %lld/%lld games, %.3g games/s, ETA %.0fs   ", what_.c_str(), bar.c_str(),
                 pct, static_cast<long long>(done), static_cast<long long>(total), rate, eta);
    drawn_ = true;
    set_stderr_mid_line(true);
  } else {
    std::fprintf(stderr, "%s: %lld/%lld games (%.1f%%), %.3g games/s, ETA %.0fs\n", what_.c_str(),
                 static_cast<long long>(done), static_cast<long long>(total), pct, rate, eta);
  }
  std::fflush(stderr);
  return true;
}

void Progress::finish() {
  if (drawn_) std::fprintf(stderr, "\r%80s\r", "");
  if (drawn_) set_stderr_mid_line(false);
  drawn_ = false;
}

}  // namespace cli
}  // namespace dgeval
