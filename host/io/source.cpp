// Game sources: batches of delegation games read chunk by chunk from memory, the random
// generator, .npy pairs (read with pread, or streamed from a pipe), .npz archives (streamed)
// and .nfg pairs.
//
// Each side (agents or principals) is read by a Side into a chunk buffer: a chunk of a C-order
// little-endian array in the dtype the evaluation wants is handed out as read; anything else
// (Fortran order, big endian, mixed dtypes) is converted into a second buffer. Every buffer is
// sized from the file only after the file is known to hold the data, within the memory budget.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <istream>
#include <optional>
#include <sstream>

#include "dgeval/detail/escape.hpp"
#include "dgeval/error.hpp"
#include "dgeval/generate.hpp"
#include "dgeval/io.hpp"
#include "io/io_internal.hpp"

namespace dgeval {

std::string file_extension(const std::string& path) {
  const std::size_t slash = path.find_last_of('/');
  const std::size_t dot = path.find_last_of('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return "";
  std::string e = path.substr(dot);
  for (char& c : e) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return e;
}

OutputFormat output_format_for_path(const std::string& path) {
  const std::string e = file_extension(path);
  if (e == ".csv") return OutputFormat::csv;
  if (e == ".jsonl" || e == ".json" || e == ".ndjson") return OutputFormat::jsonl;
  if (e == ".npz") return OutputFormat::npz;
  if (e == ".txt") return OutputFormat::text;
  throw error(path + ": cannot tell the output format from the extension \"" + e +
              "\"; use .csv, .jsonl, .npz or .txt, or give --format");
}

std::int64_t games_per_chunk(const Dims& dims, std::int64_t values, std::int64_t max_games) {
  const std::int64_t per_game = checked_mul(dims.players(), dims.outcomes(), "n x N");
  return std::max<std::int64_t>(1, std::min(max_games, values / per_game));
}

void utility_shape(const std::vector<std::int64_t>& shape, ShapeRule rule, const std::string& name, Dims* dims,
                   std::int64_t* games, bool* ambiguous) {
  const std::int64_t r = static_cast<std::int64_t>(shape.size());
  std::string text = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  text += shape.size() == 1 ? ",)" : ")";
  const bool batch = rule == ShapeRule::automatic && r >= 3 && shape[1] + 2 == r;
  const bool single = r >= 2 && shape[0] + 1 == r;
  if (ambiguous) *ambiguous = batch && single;
  if (!batch && !single) {
    std::ostringstream m;
    m << name << ": shape " << text << " is not ";
    if (rule == ShapeRule::automatic) m << "[B, n, k_1, ..., k_n] (a batch: n = shape[1] players need n + 2 axes) or ";
    m << "[n, k_1, ..., k_n] (one game: n = shape[0] players need n + 1 axes)";
    if (r >= 2 && (shape[0] > kMaxPlayers + 2 || (r >= 3 && shape[1] > kMaxPlayers))) {
      m << "; note that at most " << kMaxPlayers << " players are supported";
    }
    throw error(m.str());
  }
  const std::size_t lead = batch ? 2 : 1;
  std::vector<std::int64_t> actions(shape.begin() + static_cast<std::ptrdiff_t>(lead), shape.end());
  try {
    *dims = Dims(actions);
  } catch (const error& e) {
    throw error(name + ": shape " + text + ": " + e.what());
  }
  *games = batch ? shape[0] : 1;
  if (*games < 1) throw error(name + ": shape " + text + " holds no games; expected at least one");
}

Batch copy_games(const BatchView& v, std::int64_t first, std::int64_t count) {
  Batch b(v.dims, count);
  if (count <= 0) return b;
  const std::int64_t per = v.values_per_game();
  for (int side = 0; side < 2; ++side) {
    const void* src = side == 0 ? v.agents : v.principals;
    double* dst = side == 0 ? b.agents.data() : b.principals.data();
    const std::int64_t total = count * per;
    if (v.dtype == DType::float64) {
      std::memcpy(dst, static_cast<const double*>(src) + first * per, static_cast<std::size_t>(total) * 8);
    } else {
      const float* f = static_cast<const float*>(src) + first * per;
      for (std::int64_t j = 0; j < total; ++j) dst[j] = f[j];
    }
  }
  return b;
}

std::string find_nonfinite(const BatchView& v, std::int64_t first_game) {
  for (std::int64_t g = 0; g < v.games; ++g) {
    std::string m = nonfinite_utility_message(v, g, first_game);
    if (!m.empty()) return m;
  }
  return "";
}

namespace {

// ---------------------------------------------------------------------------------------------
// Sides

// Where an utility array's elements are and how they are laid out.
struct Layout {
  NpyHeader header;
  Dims dims;
  std::int64_t games = 0;
  bool single = false;  // [n, k..] rather than [B, n, k..]
};

template <class T>
T load_as(const unsigned char* p, const NpyHeader& h) {
  double v = 0;
  convert_to_double(h, p, 1, &v);
  return static_cast<T>(v);
}

// Copies games [first, first + count) of the array at `base` (its data start) into C-order
// [count][n][N] elements of T.
template <class T>
void gather(const unsigned char* base, const Layout& L, std::int64_t first, std::int64_t count, T* dst) {
  const NpyHeader& h = L.header;
  const int n = L.dims.players();
  const std::int64_t N = L.dims.outcomes();
  const std::int64_t per = n * N;
  const std::int64_t w = h.itemsize;
  if (count <= 0) return;
  if (!h.fortran_order) {
    const unsigned char* src = base + first * per * w;
    const std::int64_t total = count * per;
    const bool same = (sizeof(T) == static_cast<std::size_t>(w)) && !h.big_endian;
    if (same) {
      std::memcpy(dst, src, static_cast<std::size_t>(total * w));
    } else if (std::is_same<T, double>::value) {
      convert_to_double(h, src, total, reinterpret_cast<double*>(dst));
    } else {
      for (std::int64_t j = 0; j < total; ++j) dst[j] = load_as<T>(src + j * w, h);
    }
    return;
  }
  // Fortran order: axis j has stride prod_{l<j} shape_l elements.
  const auto& shape = h.shape;
  std::vector<std::int64_t> fs(shape.size(), 1);
  for (std::size_t j = 1; j < shape.size(); ++j) fs[j] = fs[j - 1] * shape[j - 1];
  const std::size_t lead = L.single ? 1 : 2;
  std::int64_t a[kMaxPlayers];
  for (std::int64_t g = 0; g < count; ++g) {
    for (int i = 0; i < n; ++i) {
      std::int64_t off = L.single ? i * fs[0] : (first + g) * fs[0] + i * fs[1];
      std::fill(a, a + n, 0);
      T* out = dst + (g * n + i) * N;
      for (std::int64_t s = 0; s < N; ++s) {
        out[s] = load_as<T>(base + off * w, h);
        for (int j = n; j-- > 0;) {
          const std::int64_t stride = fs[lead + static_cast<std::size_t>(j)];
          if (++a[j] < L.dims.actions(j)) {
            off += stride;
            break;
          }
          off -= (L.dims.actions(j) - 1) * stride;
          a[j] = 0;
        }
      }
    }
  }
}

class Side {
 public:
  virtual ~Side() = default;
  /// Games [first, first + count) as C-order [count][n][N] of `want`.
  virtual const void* read(std::int64_t first, std::int64_t count, DType want) = 0;
  virtual bool float32() const = 0;
};

// A helper holding the conversion buffer of a side.
class BufferedSide : public Side {
 protected:
  void* buffer(std::int64_t elements, DType want, const std::string& what) {
    return buf_.reserve(detail::bytes_of(elements, dtype_size(want), what), what + " (a chunk converted to float)");
  }
  detail::Buffer buf_;
};

std::string ambiguous_note(const std::string& path, const Layout& L) {
  return path + ": shape " + L.header.shape_text() + " read as " + std::to_string(L.games) + " games of " +
         std::to_string(L.dims.players()) + " players (" + L.dims.to_string() +
         "); if it is one game, give --single-game or save it with a leading axis of 1";
}

// The layout of an utility .npy from its header.
Layout npy_layout(const NpyHeader& h, const std::string& path, ShapeRule rule, std::vector<std::string>* notes) {
  Layout L;
  L.header = h;
  L.header.utility_dtype(path);
  bool ambiguous = false;
  utility_shape(L.header.shape, rule, path, &L.dims, &L.games, &ambiguous);
  L.single = L.games == 1 && !(rule == ShapeRule::automatic && L.header.shape.size() >= 3 &&
                               L.header.shape[1] + 2 == static_cast<std::int64_t>(L.header.shape.size()));
  if (ambiguous && notes) notes->push_back(ambiguous_note(path, L));
  return L;
}

// An .npy in a regular file, read chunk by chunk with pread into a buffer of the side (the
// file is not mapped: a file truncated while it is read gives an error naming the byte offset
// instead of a SIGBUS). A C-order chunk is one read; a Fortran-order chunk is gathered from the
// runs of consecutive games that each (player, outcome) has, read through a window.
class FileNpySide : public BufferedSide {
 public:
  FileNpySide(std::shared_ptr<detail::InputFile> f, ShapeRule rule, std::vector<std::string>* notes)
      : f_(std::move(f)) {
    const std::string& path = f_->path();
    if (f_->size() == 0) throw error(path + ": byte 0: the file is empty; expected a NumPy .npy array");
    L_ = npy_layout(detail::read_npy_header(*f_), path, rule, notes);
    const std::int64_t need = L_.header.data_offset + L_.header.data_bytes();
    const std::int64_t have = f_->size();
    if (have < need) {
      throw error(path + ": byte " + std::to_string(have) + ": truncated: shape " + L_.header.shape_text() + " needs " +
                  std::to_string(L_.header.data_bytes()) + " data bytes after byte " +
                  std::to_string(L_.header.data_offset) + ", the file has " +
                  std::to_string(have - L_.header.data_offset));
    }
    if (have > need) {
      throw error(path + ": byte " + std::to_string(need) + ": " + std::to_string(have - need) +
                  " unexpected bytes after the array data (shape " + L_.header.shape_text() + ")");
    }
  }
  const Layout& layout() const { return L_; }
  bool float32() const override { return L_.header.kind == 'f' && L_.header.itemsize == 4; }

  const void* read(std::int64_t first, std::int64_t count, DType want) override {
    const std::int64_t per = L_.dims.players() * L_.dims.outcomes();
    const std::int64_t w = L_.header.itemsize;
    const std::string what =
        f_->path() + " (games " + std::to_string(first) + " to " + std::to_string(first + count - 1) + ")";
    if (count <= 0) return buf_.reserve(0, what);
    if (!L_.header.fortran_order) {
      const std::int64_t bytes = detail::bytes_of(count * per, static_cast<std::size_t>(w), what);
      unsigned char* raw = raw_.reserve(bytes, what);
      read_range(raw, bytes, L_.header.data_offset + first * per * w);
      if (!L_.header.big_endian && static_cast<std::size_t>(w) == dtype_size(want)) return raw;
      void* out = buffer(count * per, want, what);
      if (want == DType::float64) {
        gather(raw, L_, 0, count, static_cast<double*>(out));
      } else {
        gather(raw, L_, 0, count, static_cast<float*>(out));
      }
      return out;
    }
    void* out = buffer(count * per, want, what);
    if (want == DType::float64) {
      fortran_runs(first, count, static_cast<double*>(out), what);
    } else {
      fortran_runs(first, count, static_cast<float*>(out), what);
    }
    return out;
  }

 private:
  // Reads file bytes [offset, offset + bytes), or throws naming the byte where the file ended
  // (it was checked to hold the whole array when opened: it has been truncated since).
  void read_range(unsigned char* dst, std::int64_t bytes, std::int64_t offset) {
    const std::size_t got = f_->read_at(dst, static_cast<std::size_t>(bytes), offset);
    if (static_cast<std::int64_t>(got) < bytes) {
      const std::int64_t now = f_->current_size();
      throw error(f_->path() + ": byte " + std::to_string(offset + static_cast<std::int64_t>(got)) +
                  ": the file ended while being read (truncated to " + std::to_string(now) + " bytes; it had " +
                  std::to_string(f_->size()) + " when opened); expected the array data up to byte " +
                  std::to_string(L_.header.data_offset + L_.header.data_bytes()));
    }
  }

  // Fortran order: element (g, i, a_1..a_n) is at g + B (i + n (a_1 + k_1 (a_2 + ...))) (B = 1
  // for the single-game form), so for each (player, outcome) index f, in file order, the games
  // of the chunk are one run of `count` elements. Runs close together are read through a window
  // of kWindow bytes; far apart, one by one.
  template <class T>
  void fortran_runs(std::int64_t first, std::int64_t count, T* dst, const std::string& what) {
    constexpr std::int64_t kWindow = std::int64_t{16} << 20, kMaxGap = std::int64_t{64} << 10;
    const NpyHeader& h = L_.header;
    const int n = L_.dims.players();
    const std::int64_t N = L_.dims.outcomes();
    const std::int64_t w = h.itemsize;
    const std::int64_t B = L_.single ? 1 : L_.games;
    const std::int64_t len = count * w, gap = (B - count) * w;
    const std::int64_t end = h.data_offset + h.data_bytes();
    std::int64_t wb = 0, we = 0;  // the window holds the file's bytes [wb, we)
    std::int64_t a[kMaxPlayers] = {};
    std::int64_t flat = 0;  // the C-order outcome index of a
    int i = 0;
    for (std::int64_t f = 0; f < n * N; ++f) {
      const std::int64_t off = h.data_offset + (f * B + first) * w;
      if (off < wb || off + len > we) {
        wb = off;
        we = std::min(end, off + (gap <= kMaxGap ? std::max(kWindow, len) : len));
        read_range(raw_.reserve(we - wb, what), we - wb, wb);
      }
      const unsigned char* src = raw_.data() + (off - wb);
      T* out = dst + i * N + flat;
      for (std::int64_t g = 0; g < count; ++g) out[g * n * N] = load_as<T>(src + g * w, h);
      if (++i < n) continue;
      i = 0;
      for (int j = 0; j < n; ++j) {
        if (++a[j] < L_.dims.actions(j)) {
          flat += L_.dims.stride(j);
          break;
        }
        a[j] = 0;
        flat -= (L_.dims.actions(j) - 1) * L_.dims.stride(j);
      }
    }
  }

  std::shared_ptr<detail::InputFile> f_;
  Layout L_;
  detail::Buffer raw_;
};

// The data of an .npy read in order from a pipe or FIFO.
class FileStream : public NpzReader::Stream {
 public:
  FileStream(std::shared_ptr<detail::InputFile> f, std::string what) : f_(std::move(f)), what_(std::move(what)) {}
  void read(void* dst, std::size_t bytes) override {
    detail::read_exact(*f_, dst, static_cast<std::int64_t>(bytes), what_);
  }
  // After the last byte of the array: the stream must end there.
  void expect_end(std::int64_t data_end) {
    char c;
    if (f_->read(&c, 1) != 0) {
      throw error(f_->path() + ": byte " + std::to_string(data_end) + ": unexpected bytes after the array data");
    }
  }

 private:
  std::shared_ptr<detail::InputFile> f_;
  std::string what_;
};

// An array read in order from a stream (an .npz member, or an .npy from a pipe).
class StreamNpySide : public BufferedSide {
 public:
  StreamNpySide(std::unique_ptr<NpzReader::Stream> s, Layout L, std::string label, FileStream* pipe = nullptr)
      : stream_(std::move(s)), L_(std::move(L)), label_(std::move(label)), pipe_(pipe) {}
  bool float32() const override { return L_.header.kind == 'f' && L_.header.itemsize == 4; }

  const void* read(std::int64_t first, std::int64_t count, DType want) override {
    const std::int64_t per = L_.dims.players() * L_.dims.outcomes();
    const std::int64_t w = L_.header.itemsize;
    if (L_.header.fortran_order) {
      // The games are interleaved: load the whole array once (within the memory budget), then
      // gather. The buffer is not initialised: its pages are committed as the data arrives.
      if (!loaded_) {
        const std::int64_t bytes = L_.header.data_bytes();
        whole_.reserve(bytes, label_ + " (shape " + L_.header.shape_text() +
                                  ", Fortran order, which is read whole; saved in C order it would be streamed)");
        stream_->read(whole_.data(), static_cast<std::size_t>(bytes));
        if (pipe_) pipe_->expect_end(L_.header.data_offset + bytes);
        loaded_ = true;
      }
      void* out = buffer(count * per, want, label_);
      if (want == DType::float64) {
        gather(whole_.data(), L_, first, count, static_cast<double*>(out));
      } else {
        gather(whole_.data(), L_, first, count, static_cast<float*>(out));
      }
      return out;
    }
    if (first != next_) throw error(label_ + ": internal error: games must be read in order");
    next_ = first + count;
    const std::int64_t bytes = detail::bytes_of(count * per, static_cast<std::size_t>(w), label_);
    unsigned char* raw = raw_.reserve(bytes, label_ + " (a chunk of " + std::to_string(count) + " games)");
    stream_->read(raw, static_cast<std::size_t>(bytes));
    if (pipe_ && next_ == L_.games) pipe_->expect_end(L_.header.data_offset + L_.header.data_bytes());
    const bool direct = !L_.header.big_endian && static_cast<std::size_t>(w) == dtype_size(want);
    if (direct) return raw;
    void* out = buffer(count * per, want, label_);
    if (want == DType::float64) {
      gather(raw, L_, 0, count, static_cast<double*>(out));
    } else {
      gather(raw, L_, 0, count, static_cast<float*>(out));
    }
    return out;
  }

 private:
  std::unique_ptr<NpzReader::Stream> stream_;
  Layout L_;
  std::string label_;
  FileStream* pipe_;  // the stream, when it is a pipe whose end is checked (owned by stream_)
  std::int64_t next_ = 0;
  detail::Buffer raw_;
  detail::Buffer whole_;
  bool loaded_ = false;
};

class MemorySide : public Side {
 public:
  MemorySide(std::vector<double> values, std::int64_t per_game) : v_(std::move(values)), per_(per_game) {}
  bool float32() const override { return false; }
  const void* read(std::int64_t first, std::int64_t, DType) override { return v_.data() + first * per_; }

 private:
  std::vector<double> v_;
  std::int64_t per_;
};

// ---------------------------------------------------------------------------------------------
// Sources

class PairSource : public GameSource {
 public:
  PairSource(Dims dims, std::int64_t games, std::unique_ptr<Side> a, std::unique_ptr<Side> p, std::string what)
      : dims_(std::move(dims)), games_(games), a_(std::move(a)), p_(std::move(p)), what_(std::move(what)) {
    // p == null: the principals' game is the agents' (one file used for both, read once).
    dtype_ = a_->float32() && (!p_ || p_->float32()) ? DType::float32 : DType::float64;
  }
  const Dims& dims() const override { return dims_; }
  std::int64_t games() const override { return games_; }
  std::string describe() const override { return what_; }
  std::vector<std::string> notes() const override { return notes_; }
  BatchView read(std::int64_t first, std::int64_t count) override {
    if (first < 0 || count < 0 || first + count > games_) throw error(what_ + ": game range out of bounds");
    BatchView v;
    v.dtype = dtype_;
    v.dims = dims_;
    v.games = count;
    v.agents = a_->read(first, count, dtype_);
    v.principals = p_ ? p_->read(first, count, dtype_) : v.agents;
    return v;
  }
  const NfgGame* nfg_labels(int side) const override {
    const auto& l = labels_[side == 0 ? 0 : 1];
    return l ? &*l : nullptr;
  }
  std::vector<std::string> notes_;
  std::optional<NfgGame> labels_[2];  ///< .nfg metadata of each side (no payoffs)

 protected:
  Dims dims_;
  std::int64_t games_;
  std::unique_ptr<Side> a_, p_;
  std::string what_;
  DType dtype_;
};

class NpzSource : public PairSource {
 public:
  NpzSource(std::shared_ptr<NpzReader> npz, Dims dims, std::int64_t games, std::unique_ptr<Side> a,
            std::unique_ptr<Side> p)
      : PairSource(std::move(dims), games, std::move(a), std::move(p), npz->name()), npz_(std::move(npz)) {
    has_strategy_ = npz_->has("strategy_pure") || npz_->has("strategy_correlated") || npz_->has("strategy_product");
  }
  bool has_strategy() const override { return has_strategy_; }
  Strategy strategy() override {
    Strategy s;
    read_npz_strategy(*npz_, dims_, games_, &s);
    return s;
  }

 private:
  std::shared_ptr<NpzReader> npz_;
  bool has_strategy_ = false;
};

class MemorySource : public GameSource {
 public:
  MemorySource(Batch b, std::string what) : b_(std::move(b)), what_(std::move(what)) {}
  const Dims& dims() const override { return b_.dims; }
  std::int64_t games() const override { return b_.games; }
  std::string describe() const override { return what_; }
  BatchView read(std::int64_t first, std::int64_t count) override {
    if (first < 0 || count < 0 || first + count > b_.games) throw error(what_ + ": game range out of bounds");
    BatchView v = b_.view();
    const std::int64_t per = v.values_per_game();
    v.agents = b_.agents.data() + first * per;
    v.principals = b_.principals.data() + first * per;
    v.games = count;
    return v;
  }

 private:
  Batch b_;
  std::string what_;
};

class RandomSource : public GameSource {
 public:
  RandomSource(Dims d, std::int64_t games, std::uint64_t seed, int threads)
      : dims_(std::move(d)), games_(games), seed_(seed), threads_(threads) {}
  const Dims& dims() const override { return dims_; }
  std::int64_t games() const override { return games_; }
  std::string describe() const override {
    return std::to_string(games_) + " random games " + dims_.to_string() + " (seed " + std::to_string(seed_) + ")";
  }
  BatchView read(std::int64_t first, std::int64_t count) override {
    chunk_ = random_uniform_games(dims_, count, seed_, first, 0.0, 1.0, threads_);
    return chunk_.view();
  }

 private:
  Dims dims_;
  std::int64_t games_;
  std::uint64_t seed_;
  int threads_;
  Batch chunk_;
};

// One opened side file.
struct OpenedSide {
  std::unique_ptr<Side> side;
  Dims dims;
  std::int64_t games = 0;
  bool is_nfg = false;
  NfgGame nfg;  // players and labels (payoffs moved out)
  std::vector<std::string> notes;
};

// The file type: by extension, else by the first bytes (peeked: a pipe is read only once).
std::string sniff(detail::InputFile& f) {
  const std::string e = file_extension(f.path());
  if (e == ".npy" || e == ".npz" || e == ".nfg") return e;
  const std::string head = f.peek(6);
  if (head.size() >= 6 && std::memcmp(head.data(), "\x93NUMPY", 6) == 0) return ".npy";
  if (head.size() >= 2 && std::memcmp(head.data(), "PK", 2) == 0) return ".npz";
  if (head.size() >= 3 && std::memcmp(head.data(), "NFG", 3) == 0) return ".nfg";
  throw error(f.path() + ": byte 0: unknown file type; expected a Gambit .nfg, a NumPy .npy or an .npz file");
}

// One side from `f` (opened, nothing read yet but peeked bytes) of type `kind`.
OpenedSide open_side(const std::shared_ptr<detail::InputFile>& f, const std::string& kind, ShapeRule rule,
                     const ReadOptions& options) {
  OpenedSide o;
  const std::string& path = f->path();
  if (kind == ".nfg") {
    detail::InputStreamBuf buf(*f);
    std::istream in(&buf);
    o.nfg = parse_nfg(in, path, options, f->size());
    o.dims = o.nfg.dims;
    o.games = 1;
    o.is_nfg = true;
    const std::int64_t per = o.dims.players() * o.dims.outcomes();
    o.side = std::make_unique<MemorySide>(std::move(o.nfg.payoffs), per);
    o.nfg.payoffs.clear();
  } else if (kind == ".npy") {
    if (f->regular()) {
      auto m = std::make_unique<FileNpySide>(f, rule, &o.notes);
      o.dims = m->layout().dims;
      o.games = m->layout().games;
      o.side = std::move(m);
    } else {
      // A pipe or FIFO: streamed in order (a Fortran-order array is read whole, within the budget).
      const Layout L = npy_layout(detail::read_npy_header(*f), path, rule, &o.notes);
      auto stream = std::make_unique<FileStream>(f, "the array data (shape " + L.header.shape_text() + ")");
      FileStream* pipe = stream.get();
      o.dims = L.dims;
      o.games = L.games;
      o.side = std::make_unique<StreamNpySide>(std::move(stream), L, path, pipe);
    }
  } else {
    throw error(path + ": an .npz holds both sides; give it with --input, not as one side");
  }
  return o;
}

OpenedSide open_side(const std::string& path, ShapeRule rule, const ReadOptions& options) {
  auto f = std::make_shared<detail::InputFile>(path);
  const std::string kind = sniff(*f);
  return open_side(f, kind, rule, options);
}

// Strategies labelled in both files must carry the same labels (else the payoffs would be paired
// with the wrong actions); differing player names are only noted.
void check_same_labels(const OpenedSide& a, const OpenedSide& p, const std::string& an, const std::string& pn,
                       std::vector<std::string>* notes) {
  if (!a.is_nfg || !p.is_nfg) return;
  for (std::size_t i = 0; i < a.nfg.players.size() && i < p.nfg.players.size(); ++i) {
    if (a.nfg.players[i] != p.nfg.players[i]) {
      notes->push_back(an + " and " + pn + " name player " + std::to_string(i + 1) + " differently (\"" +
                       printable(a.nfg.players[i]) + "\" and \"" + printable(p.nfg.players[i]) +
                       "\"); they are paired by position");
      break;
    }
  }
  if (!a.nfg.strategies.empty() && !p.nfg.strategies.empty() && a.nfg.strategies != p.nfg.strategies) {
    for (std::size_t i = 0; i < a.nfg.strategies.size(); ++i) {
      for (std::size_t j = 0; j < a.nfg.strategies[i].size(); ++j) {
        if (a.nfg.strategies[i][j] != p.nfg.strategies[i][j]) {
          throw error(an + " and " + pn + " label strategy " + std::to_string(j + 1) + " of player " +
                      std::to_string(i + 1) + " differently (\"" + printable(a.nfg.strategies[i][j]) + "\" and \"" +
                      printable(p.nfg.strategies[i][j]) + "\"); a delegation game needs identical strategies");
        }
      }
    }
  }
}

}  // namespace

std::unique_ptr<GameSource> make_memory_source(Batch batch, std::string description) {
  return std::make_unique<MemorySource>(std::move(batch), std::move(description));
}

std::unique_ptr<GameSource> make_random_source(const Dims& dims, std::int64_t games, std::uint64_t seed, int threads) {
  if (games < 1) throw error("random games: the number of games must be at least 1");
  return std::make_unique<RandomSource>(dims, games, seed, threads);
}

std::unique_ptr<GameSource> open_game_pair(const std::string& agents_path, const std::string& principals_path,
                                           ShapeRule rule, const ReadOptions& options) {
  OpenedSide a = open_side(agents_path, rule, options);
  OpenedSide p = open_side(principals_path, rule, options);
  if (a.dims != p.dims) {
    throw error("mismatched agents and principals: " + agents_path + " has dims " + a.dims.to_string() + " (" +
                std::to_string(a.dims.players()) + " players), " + principals_path + " has " + p.dims.to_string() +
                " (" + std::to_string(p.dims.players()) +
                " players); both sides must have the same players and actions");
  }
  if (a.games != p.games) {
    throw error("mismatched agents and principals: " + agents_path + " holds " + std::to_string(a.games) + " games, " +
                principals_path + " holds " + std::to_string(p.games));
  }
  std::vector<std::string> label_notes;
  check_same_labels(a, p, agents_path, principals_path, &label_notes);
  auto s = std::make_unique<PairSource>(a.dims, a.games, std::move(a.side), std::move(p.side),
                                        agents_path + " / " + principals_path);
  s->notes_ = label_notes;
  s->notes_.insert(s->notes_.end(), a.notes.begin(), a.notes.end());
  s->notes_.insert(s->notes_.end(), p.notes.begin(), p.notes.end());
  if (a.is_nfg) s->labels_[0] = std::move(a.nfg);
  if (p.is_nfg) s->labels_[1] = std::move(p.nfg);
  return s;
}

std::unique_ptr<GameSource> open_game_file(const std::string& path, ShapeRule rule, const ReadOptions& options) {
  auto f = std::make_shared<detail::InputFile>(path);
  const std::string kind = sniff(*f);
  if (kind == ".npz" && !f->regular()) {
    throw error(path +
                ": an .npz cannot be read from a pipe, FIFO or device (a zip archive is read by seeking); "
                "write it to a file first");
  }
  if (kind != ".npz") {
    // One side, opened and read once (so that a pipe works), is both the agents' and the
    // principals' game.
    OpenedSide a = open_side(f, kind, rule, options);
    auto s = std::make_unique<PairSource>(a.dims, a.games, std::move(a.side), nullptr, path + " / " + path);
    s->notes_ = a.notes;
    s->notes_.push_back(path + " is used as both the agents' and the principals' game");
    if (a.is_nfg) {
      s->labels_[1] = a.nfg;
      s->labels_[0] = std::move(a.nfg);
    }
    return s;
  }
  f.reset();
  auto npz = std::make_shared<NpzReader>(path);
  const std::string la = path + ": array 'agents'", lp = path + ": array 'principals'";
  NpyHeader ha, hp;
  auto sa = npz->open("agents", &ha);
  auto sp = npz->open("principals", &hp);
  ha.utility_dtype(la);
  hp.utility_dtype(lp);
  if (ha.shape != hp.shape) {
    throw error("mismatched agents and principals in " + path + ": array 'agents' has shape " + ha.shape_text() +
                ", array 'principals' has shape " + hp.shape_text() + "; the shapes must be equal");
  }
  Layout L;
  L.header = ha;
  bool ambiguous = false;
  ShapeRule r = rule;
  if (npz->has("dims")) {
    // Written by dgeval: the action counts settle the batch/single reading. Its shape must be
    // (m,) with m < the rank of 'agents' (and at most kMaxPlayers) before it is loaded.
    const NpyHeader dh = npz->header("dims");
    if (dh.shape.size() != 1 || dh.shape[0] < 1 || dh.shape[0] > kMaxPlayers ||
        dh.shape[0] + 1 > static_cast<std::int64_t>(ha.shape.size())) {
      throw error(path + ": array 'dims' has shape " + dh.shape_text() + ", which does not match the shape " +
                  ha.shape_text() + " of 'agents'; expected (n,) with the n players' action counts");
    }
    const NpyArray d = npz->load("dims");
    std::vector<std::int64_t> actions;
    for (double x : d.values) {
      if (!(x >= 0 && x <= 9e15 && x == std::floor(x))) {
        throw error(path + ": array 'dims' holds " + std::to_string(x) +
                    "; expected non-negative integer action counts");
      }
      actions.push_back(static_cast<std::int64_t>(x));
    }
    const std::size_t lead = ha.shape.size() >= actions.size() ? ha.shape.size() - actions.size() : 0;
    if (d.header.shape.size() != 1 || (lead != 1 && lead != 2) ||
        !std::equal(actions.begin(), actions.end(), ha.shape.begin() + static_cast<std::ptrdiff_t>(lead)) ||
        ha.shape[lead - 1] != static_cast<std::int64_t>(actions.size())) {
      throw error(path + ": array 'dims' does not match the shape " + ha.shape_text() + " of 'agents'");
    }
    r = lead == 1 ? ShapeRule::single_game : ShapeRule::automatic;
  }
  utility_shape(ha.shape, r, la, &L.dims, &L.games, &ambiguous);
  L.single = r == ShapeRule::single_game ||
             !(ha.shape.size() >= 3 && ha.shape[1] + 2 == static_cast<std::int64_t>(ha.shape.size()));
  Layout Lp = L;
  Lp.header = hp;
  auto source = std::make_unique<NpzSource>(npz, L.dims, L.games, std::make_unique<StreamNpySide>(std::move(sa), L, la),
                                            std::make_unique<StreamNpySide>(std::move(sp), Lp, lp));
  if (ambiguous) source->notes_.push_back(ambiguous_note(path, L));
  return source;
}

}  // namespace dgeval
