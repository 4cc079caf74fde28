// Writers shared by `dgeval generate` and `dgeval convert`, and the common argv parsing.
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <optional>
#include <cxxopts.hpp>
#include <random>
#include <sstream>

#include "commands.hpp"
#include "dgeval/error.hpp"
#include "dgeval/io.hpp"

namespace dgeval {
namespace cli {

namespace {
std::atomic<bool> g_interrupted{false};
extern "C" void on_interrupt(int) { g_interrupted = true; }
}  // namespace

void install_interrupt_handler() {
  std::signal(SIGINT, on_interrupt);
  std::signal(SIGTERM, on_interrupt);
}

bool interrupted() { return g_interrupted; }

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
    throw usage_error(e.what());
  }
  if (!p.unmatched().empty()) throw usage_error("unexpected argument \"" + p.unmatched()[0] + "\"");
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

std::string temp_beside(const std::string& path) {
  std::random_device rd;
  return path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(rd());
}

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
  NpySideWriter(const std::string& path, const Dims& dims, std::int64_t games, bool float32)
      : path_(path), tmp_(temp_beside(path)), dims_(dims), games_(games), float32_(float32),
        w_(std::make_unique<NpyStreamWriter>(tmp_, float32 ? "<f4" : "<f8")) {}
  ~NpySideWriter() override {
    w_.reset();
    if (!committed_) std::remove(tmp_.c_str());
  }
  void append(const BatchView& v, int side) override {
    side_bytes(v, side, float32_, buf_);
    w_->append(buf_.data(), buf_.size());
  }
  void commit() override {
    w_->finish(batch_shape(dims_, games_));
    if (std::rename(tmp_.c_str(), path_.c_str()) != 0) {
      throw error("cannot rename " + tmp_ + " to " + path_ + ": " + std::strerror(errno));
    }
    committed_ = true;
  }

 private:
  std::string path_, tmp_;
  Dims dims_;
  std::int64_t games_;
  bool float32_;
  std::unique_ptr<NpyStreamWriter> w_;
  std::vector<unsigned char> buf_;
  bool committed_ = false;
};

class NfgSideWriter : public SideWriter {
 public:
  NfgSideWriter(const std::string& path, const Dims& dims, const NfgGame* labels) : path_(path), dims_(dims) {
    if (labels && labels->dims == dims) labels_ = *labels;
  }
  void append(const BatchView& v, int side) override {
    if (v.games != 1 || !values_.empty()) throw error(path_ + ": an .nfg file holds one game");
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
    write_file_atomically(path_, [&](std::ostream& out) { write_nfg(out, g); });
  }

 private:
  std::string path_;
  Dims dims_;
  std::vector<double> values_;
  std::optional<NfgGame> labels_;
};

}  // namespace

std::unique_ptr<SideWriter> make_side_writer(const std::string& path, const Dims& dims, std::int64_t games,
                                             bool float32, const NfgGame* labels) {
  const std::string e = file_extension(path);
  if (e == ".npy") return std::make_unique<NpySideWriter>(path, dims, games, float32);
  if (e == ".nfg") {
    if (games != 1) {
      throw usage_error(path + ": an .nfg file holds one game, but there are " + std::to_string(games) +
                        "; pick one with --game G, or write .npy / .npz");
    }
    return std::make_unique<NfgSideWriter>(path, dims, labels);
  }
  throw usage_error(path + ": cannot tell the file type from the extension \"" + e + "\"; use .npy or .nfg");
}

struct PairNpzWriter::Impl {
  Impl(const std::string& path, bool compress) : npz(path, compress) {}
  NpzWriter npz;
  Dims dims;
  bool float32 = false;
  std::int64_t games = 0;
  NpyStreamWriter* agents = nullptr;
  NpyStreamWriter* principals = nullptr;
  std::vector<unsigned char> buf;
};

PairNpzWriter::PairNpzWriter(const std::string& path, const Dims& dims, bool compress, bool float32)
    : impl_(std::make_unique<Impl>(path, compress)) {
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
