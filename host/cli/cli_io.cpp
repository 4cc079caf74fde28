// The CLI's one exit path (signals, the stop flag, the run's files) and the writers shared by
// `dgeval generate` and `dgeval convert`, and the common argv parsing.
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <cxxopts.hpp>
#include <iostream>
#include <optional>
#include <sstream>

#include "cli/commands.hpp"
#include "dgeval/backend.hpp"
#include "dgeval/detail/escape.hpp"
#include "dgeval/error.hpp"
#include "dgeval/io.hpp"
#include "dgeval/output.hpp"

namespace dgeval {
namespace cli {

namespace {

std::atomic<bool> g_outputs_committed{false};
std::atomic<bool> g_stderr_mid_line{false};

const char* signal_text(int sig) {
  switch (sig) {
    case SIGINT:
      return "SIGINT";
    case SIGTERM:
      return "SIGTERM";
    case SIGHUP:
      return "SIGHUP";
    case SIGQUIT:
      return "SIGQUIT";
    default:
      return "a signal";
  }
}

// Async-signal-safe: atomics, unlink, write and _exit only.
extern "C" void on_stop_signal(int sig) {
  const int saved = errno;
  request_stop(sig);
  // The first signal is polled by the run, which unwinds through main()'s exit path. A second one
  // ends the process at once, unless the outputs are being (or have been) committed: then the
  // run is a few renames, or a summary, from its end.
  if (stop_requests() >= 2 && !commit_in_progress() && !g_outputs_committed.load()) {
    remove_temporary_names();
    const char* name = signal_text(sig);
    if (g_stderr_mid_line.load()) (void)!::write(2, "\n", 1);
    static const char a[] = "dgeval: stopped at once by a second signal (";
    static const char b[] = "); no output file was changed\n";
    (void)!::write(2, a, sizeof a - 1);
    (void)!::write(2, name, std::strlen(name));
    (void)!::write(2, b, sizeof b - 1);
    ::_exit(128 + sig);
  }
  errno = saved;
}

}  // namespace

void install_signal_handlers() {
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: a blocking open or write (a FIFO, a pipe) returns EINTR
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) sigaction(sig, &sa, nullptr);
}

bool interrupted() { return stop_signal() != 0; }

bool outputs_committed() { return g_outputs_committed.load(); }

void set_stderr_mid_line(bool mid_line) { g_stderr_mid_line = mid_line; }

void fresh_stderr_line() {
  if (g_stderr_mid_line.exchange(false)) std::fputc('\n', stderr);
}

int exit_interrupted(const std::string& command) {
  const int sig = stop_signal();
  fresh_stderr_line();
  std::fprintf(stderr, "dgeval %s: interrupted by %s; no output file was changed\n", command.c_str(), signal_text(sig));
  return 128 + sig;
}

void RunFiles::input(const std::string& flag, const std::string& path) { inputs_.emplace_back(flag, path); }

StagedOutput& RunFiles::output(const std::string& flag, const std::string& path) {
  OutputTarget t;
  try {
    t = classify_output(path);
  } catch (const unusable_output& e) {
    throw usage_error("--" + flag + " " + e.what());
  }
  for (const auto& [in_flag, in_path] : inputs_) {
    if (same_file(in_path, true, t)) {
      throw usage_error("--" + flag + " " + printable(path) + " is the same file as the input --" + in_flag + " " +
                        printable(in_path) + "; writing it would destroy the input: choose another output");
    }
  }
  for (const auto& [out_flag, out_target] : outputs_) {
    if (same_file(out_target, t)) {
      throw usage_error("--" + flag + " " + printable(path) + " and --" + out_flag + " " + printable(out_target.path) +
                        " are the same file; give each output its own");
    }
  }
  outputs_.emplace_back(flag, t);
  return set_.add(path);
}

void RunFiles::commit() {
  set_.commit();
  g_outputs_committed = true;
}

namespace {

/// The game of a Gambit .nfg read from standard input, with its names (for a conversion to .nfg).
class StdinNfgSource : public GameSource {
 public:
  explicit StdinNfgSource(NfgGame g) : labels_(std::move(g)) {
    Batch b(labels_.dims, 1);
    b.agents = labels_.payoffs;  // [n][N]: one game, used for both sides as a file's .nfg is
    b.principals = labels_.payoffs;
    labels_.payoffs.clear();
    memory_ = make_memory_source(std::move(b), "standard input");
  }
  const Dims& dims() const override { return memory_->dims(); }
  std::int64_t games() const override { return memory_->games(); }
  BatchView read(std::int64_t first, std::int64_t count) override { return memory_->read(first, count); }
  std::string describe() const override { return "standard input"; }
  const NfgGame* nfg_labels(int) const override { return &labels_; }

 private:
  NfgGame labels_;
  std::unique_ptr<GameSource> memory_;
};

}  // namespace

std::unique_ptr<GameSource> open_input(const std::string& flag, const std::string& path, ShapeRule rule,
                                       const ReadOptions& options) {
  if (path != "-") return open_game_file(path, rule, options);
  if (::isatty(0)) {
    throw usage_error("--" + flag + " -: standard input is a terminal; pipe a Gambit .nfg into it (... < game.nfg)");
  }
  return std::make_unique<StdinNfgSource>(parse_nfg(std::cin, "standard input", options));
}

void refuse_stdin(const std::string& flag, const std::string& path) {
  if (path == "-") {
    throw usage_error("--" + flag +
                      " -: standard input is read by --input only (a Gambit .nfg, the one game format "
                      "that streams); give a file here");
  }
}

cxxopts::ParseResult parse_or_usage(cxxopts::Options& o, int argc, char** argv) {
  // Every command takes --memory-limit, the budget of the readers (dgeval/memory.hpp).
  o.add_options("input")(
      "memory-limit",
      "the most memory that reading input may take, e.g. 512M or 4G (default: DGEVAL_MEMORY_LIMIT, else the "
      "smallest of ulimit -v, the cgroup limit and MemAvailable, less what is in use)",
      cxxopts::value<std::string>(), "SIZE");
  cxxopts::ParseResult p;
  try {
    p = o.parse(argc, argv);
  } catch (const cxxopts::exceptions::exception& e) {
    throw usage_error(printable(e.what()));
  }
  if (!p.unmatched().empty()) throw usage_error("unexpected argument \"" + printable(p.unmatched()[0]) + "\"");
  if (p.count("memory-limit")) {
    try {
      set_memory_limit(parse_memory_size(p["memory-limit"].as<std::string>(), "--memory-limit"));
    } catch (const error& e) {
      throw usage_error(e.what());
    }
  }
  return p;
}

namespace {

std::string number_text(double v) {
  std::ostringstream s;
  s.precision(17);
  s << v;
  return s.str();
}

}  // namespace

std::int64_t int64_option(const cxxopts::ParseResult& p, const std::string& name, std::int64_t lo, std::int64_t hi,
                          const std::string& what) {
  const std::int64_t v = p[name].as<std::int64_t>();
  if (v < lo || v > hi) {
    throw usage_error("--" + name + ": expected a whole number from " + std::to_string(lo) + " to " +
                      std::to_string(hi) + (what.empty() ? "" : " (" + what + ")") + ", got " + std::to_string(v));
  }
  return v;
}

int int_option(const cxxopts::ParseResult& p, const std::string& name, int lo, int hi, const std::string& what) {
  const int v = p[name].as<int>();
  if (v < lo || v > hi) {
    throw usage_error("--" + name + ": expected a whole number from " + std::to_string(lo) + " to " +
                      std::to_string(hi) + (what.empty() ? "" : " (" + what + ")") + ", got " + std::to_string(v));
  }
  return v;
}

double real_option(const cxxopts::ParseResult& p, const std::string& name, double lo, double hi,
                   const std::string& what) {
  const double v = p[name].as<double>();
  if (!(v >= lo && v <= hi)) {
    throw usage_error("--" + name + ": expected a number from " + number_text(lo) + " to " + number_text(hi) +
                      (what.empty() ? "" : " (" + what + ")") + ", got " + number_text(v));
  }
  return v;
}

int threads_option(const cxxopts::ParseResult& p) { return int_option(p, "threads", 0, 65536, "0: every core"); }

int device_option(const cxxopts::ParseResult& p) { return int_option(p, "device", 0, 1023, "a CUDA device ordinal"); }

namespace {

// Converts one side of a view to the bytes of the output dtype.
void side_bytes(const BatchView& v, int side, bool float32, std::vector<unsigned char>& out) {
  const std::int64_t count = v.games * v.values_per_game();
  const void* src = side == 0 ? v.agents : v.principals;
  out.resize(static_cast<std::size_t>(count) * (float32 ? 4 : 8));
  if (float32) {
    auto* d = reinterpret_cast<float*>(out.data());
    for (std::int64_t j = 0; j < count; ++j) {
      d[j] = v.dtype == DType::float32 ? static_cast<const float*>(src)[j]
                                       : static_cast<float>(static_cast<const double*>(src)[j]);
    }
  } else {
    auto* d = reinterpret_cast<double*>(out.data());
    for (std::int64_t j = 0; j < count; ++j) {
      d[j] = v.dtype == DType::float32 ? static_cast<const float*>(src)[j] : static_cast<const double*>(src)[j];
    }
  }
}

std::vector<std::int64_t> batch_shape(const Dims& dims, std::int64_t games) {
  std::vector<std::int64_t> s{games, dims.players()};
  s.insert(s.end(), dims.actions().begin(), dims.actions().end());
  return s;
}

class NpySideWriter : public SideWriter {
 public:
  NpySideWriter(StagedOutput& out, const Dims& dims, std::int64_t games, bool float32)
      : dims_(dims),
        games_(games),
        float32_(float32),
        w_(std::make_unique<NpyStreamWriter>(out.seekable_descriptor(), out.name(), float32 ? "<f4" : "<f8")) {}
  void append(const BatchView& v, int side) override {
    side_bytes(v, side, float32_, buf_);
    w_->append(buf_.data(), buf_.size());
  }
  void commit() override { w_->finish(batch_shape(dims_, games_)); }

 private:
  Dims dims_;
  std::int64_t games_;
  bool float32_;
  std::unique_ptr<NpyStreamWriter> w_;
  std::vector<unsigned char> buf_;
};

class NfgSideWriter : public SideWriter {
 public:
  NfgSideWriter(StagedOutput& out, const Dims& dims, const NfgGame* labels) : out_(out), dims_(dims) {
    if (labels && labels->dims == dims) labels_ = *labels;
  }
  void append(const BatchView& v, int side) override {
    if (v.games != 1 || !values_.empty()) throw error(out_.name() + ": an .nfg file holds one game");
    std::vector<unsigned char> b;
    side_bytes(v, side, false, b);
    values_.resize(b.size() / 8);
    std::memcpy(values_.data(), b.data(), b.size());
  }
  void commit() override {
    NfgGame g = make_nfg(dims_, values_.data(), "written by dgeval");
    if (labels_) {  // a conversion from .nfg keeps the game's names
      g.title = labels_->title;
      g.comment = labels_->comment;
      g.players = labels_->players;
      g.strategies = labels_->strategies;
    }
    write_nfg(out_.stream(), g);
  }

 private:
  StagedOutput& out_;
  Dims dims_;
  std::vector<double> values_;
  std::optional<NfgGame> labels_;
};

}  // namespace

void check_side_path(const std::string& flag, const std::string& path, std::int64_t games) {
  const std::string e = file_extension(path);
  if (e == ".npy") return;
  if (e == ".nfg") {
    if (games != 1) {
      throw usage_error("--" + flag + " " + printable(path) + ": an .nfg file holds one game, but there are " +
                        std::to_string(games) + "; pick one with --game G, or write .npy / .npz");
    }
    return;
  }
  throw usage_error("--" + flag + " " + printable(path) + ": cannot tell the file type from the extension \"" +
                    printable(e) + "\"; use .npy or .nfg");
}

std::unique_ptr<SideWriter> make_side_writer(StagedOutput& out, const Dims& dims, std::int64_t games, bool float32,
                                             const NfgGame* labels) {
  if (file_extension(out.target().path) == ".nfg") return std::make_unique<NfgSideWriter>(out, dims, labels);
  return std::make_unique<NpySideWriter>(out, dims, games, float32);
}

struct PairNpzWriter::Impl {
  Impl(StagedOutput& out, bool compress) : npz(out, compress) {}
  NpzWriter npz;
  Dims dims;
  bool float32 = false;
  std::int64_t games = 0;
  NpyStreamWriter* agents = nullptr;
  NpyStreamWriter* principals = nullptr;
  std::vector<unsigned char> buf;
};

PairNpzWriter::PairNpzWriter(StagedOutput& out, const Dims& dims, bool compress, bool float32)
    : impl_(std::make_unique<Impl>(out, compress)) {
  impl_->dims = dims;
  impl_->float32 = float32;
  impl_->agents = &impl_->npz.begin("agents", float32 ? "<f4" : "<f8");
  impl_->principals = &impl_->npz.begin("principals", float32 ? "<f4" : "<f8");
}

PairNpzWriter::~PairNpzWriter() = default;

void PairNpzWriter::append(const BatchView& v) {
  side_bytes(v, 0, impl_->float32, impl_->buf);
  impl_->agents->append(impl_->buf.data(), impl_->buf.size());
  side_bytes(v, 1, impl_->float32, impl_->buf);
  impl_->principals->append(impl_->buf.data(), impl_->buf.size());
  impl_->games += v.games;
}

void PairNpzWriter::commit() {
  const auto shape = batch_shape(impl_->dims, impl_->games);
  impl_->agents->finish(shape);
  impl_->principals->finish(shape);
  const std::vector<std::int64_t>& a = impl_->dims.actions();
  impl_->npz.add("dims", {static_cast<std::int64_t>(a.size())}, "<i8", a.data());
  impl_->npz.commit();
}

}  // namespace cli
}  // namespace dgeval
