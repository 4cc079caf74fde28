// File formats: Gambit .nfg, NumPy .npy and .npz, user strategy files, and game sources that
// stream a batch of games from any of them chunk by chunk (bounded memory).
//
// Every reader refuses malformed input with a dgeval::error whose message names the file, the
// position (line:column for text, byte offset or array name for binary) and what was expected.
// Writers produce files that the readers (and Gambit / NumPy) read back.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "dgeval/format.hpp"
#include "dgeval/game.hpp"
#include "dgeval/memory.hpp"
#include "dgeval/options.hpp"

namespace dgeval {

class OutputSet;  // dgeval/output.hpp
class StagedOutput;

/// Options shared by the readers.
struct ReadOptions {
  /// Accept NaN/±Inf utilities (otherwise a text reader refuses them at their position; binary
  /// utilities are checked by the evaluation, which names the game, player and outcome).
  bool allow_nonfinite = false;
};

// ---------------------------------------------------------------------------------------------
// Gambit .nfg (strategic form), http://www.gambit-project.org file format "NFG 1".
// ---------------------------------------------------------------------------------------------

/// One side of a delegation game as read from (or written to) an .nfg file.
struct NfgGame {
  std::string title;
  std::vector<std::string> players;                  ///< player names (size n)
  std::vector<std::vector<std::string>> strategies;  ///< labels per player; empty if given as counts
  std::string comment;
  Dims dims;
  /// Payoffs [n][N], outcomes in dgeval's C order (the last player's action varies fastest);
  /// the file lists contingencies with player 1 varying fastest, and the reader transposes.
  std::vector<double> payoffs;
};

/// Parses an .nfg stream (both body versions: payoff list, and outcome list with the null
/// outcome 0; strategies as counts or labels; integers, decimals with exponents, rationals p/q).
/// Reads in bounded memory beyond the game itself. `name` is used in messages; `size_hint`
/// (bytes, -1 if unknown) lets the reader refuse a header whose game cannot fit the file before
/// allocating it.
NfgGame parse_nfg(std::istream& in, const std::string& name, const ReadOptions& options = {},
                  std::int64_t size_hint = -1);
/// Parses the .nfg file at `path`.
NfgGame read_nfg(const std::string& path, const ReadOptions& options = {});
/// Writes the payoff version ("NFG 1 R"), contingencies with player 1 fastest, numbers in their
/// shortest round-trip decimal form. Uses the names/labels of `game` when present.
void write_nfg(std::ostream& out, const NfgGame& game);
/// An NfgGame for payoffs [n][N] in C order, with default names.
NfgGame make_nfg(const Dims& dims, const double* payoffs, const std::string& title = "");

// ---------------------------------------------------------------------------------------------
// NumPy .npy / .npz
// ---------------------------------------------------------------------------------------------

/// The header of an .npy array.
struct NpyHeader {
  int major = 1, minor = 0;
  std::string descr;        ///< as in the file, e.g. "<f8"
  char kind = 'f';          ///< 'f' float, 'i' signed, 'u' unsigned, 'b' bool
  int itemsize = 8;         ///< bytes per element
  bool big_endian = false;  ///< byte order of the data (false for 1-byte types)
  bool fortran_order = false;
  std::vector<std::int64_t> shape;
  std::int64_t data_offset = 0;  ///< bytes from the start of the .npy to the data

  /// Product of the shape (throws on overflow).
  std::int64_t elements() const;
  /// elements() * itemsize (throws on overflow).
  std::int64_t data_bytes() const;
  /// "(2, 3, 3)".
  std::string shape_text() const;
  /// The utility dtype, or a dgeval::error naming `name` if not float32/float64.
  DType utility_dtype(const std::string& name) const;
};

/// Parses the magic, version and header dict of an .npy held in [data, data + size). `size`
/// may be just a prefix of the file (the header must be complete). Throws naming `name`.
NpyHeader parse_npy_header(const void* data, std::size_t size, const std::string& name);

/// Converts `count` elements of type `h` (any supported kind, either byte order) to double.
void convert_to_double(const NpyHeader& h, const void* src, std::int64_t count, double* dst);

/// A whole array loaded in memory (small arrays: strategies, tests), converted to double in C
/// order.
struct NpyArray {
  NpyHeader header;
  std::vector<double> values;  ///< C order
};

/// Reads an .npy file (whole) into memory as double.
NpyArray read_npy(const std::string& path);
/// Parses a complete .npy held in memory.
NpyArray parse_npy(const void* data, std::size_t size, const std::string& name);

/// Writes a C-order little-endian array. `descr` is "<f8", "<f4", "<i8" or "|b1"; `data` holds
/// elements() * itemsize bytes.
void write_npy(std::ostream& out, const std::vector<std::int64_t>& shape, const std::string& descr, const void* data);

/// Writes an .npy file chunk by chunk: the header is reserved first and completed by finish()
/// once the leading dimension is known.
class NpyStreamWriter {
 public:
  /// Creates `path` (truncating). `descr` as in write_npy.
  NpyStreamWriter(const std::string& path, std::string descr);
  /// Writes into the open, seekable descriptor `fd` from byte 0 (truncating it); `fd` stays the
  /// caller's, open after finish(). `name` is used in messages.
  NpyStreamWriter(int fd, std::string name, std::string descr);
  ~NpyStreamWriter();
  NpyStreamWriter(const NpyStreamWriter&) = delete;
  NpyStreamWriter& operator=(const NpyStreamWriter&) = delete;
  void append(const void* data, std::size_t bytes);
  /// Writes the final header with `shape` (whose product must match the bytes appended).
  void finish(const std::vector<std::int64_t>& shape);
  const std::string& path() const { return path_; }
  bool finished() const { return file_ == nullptr; }

 private:
  void reserve_header();
  std::string path_;
  std::string descr_;
  int itemsize_;
  std::FILE* file_ = nullptr;
  std::int64_t bytes_ = 0;
};

/// Reading the arrays of an .npz (np.savez or np.savez_compressed) with libzip.
class NpzReader {
 public:
  /// Opens the archive at `path`; throws naming the path if it is not a readable zip.
  explicit NpzReader(const std::string& path);
  /// Opens an archive held in memory (the buffer must outlive the reader).
  NpzReader(const void* data, std::size_t size, const std::string& name);
  ~NpzReader();
  NpzReader(const NpzReader&) = delete;
  NpzReader& operator=(const NpzReader&) = delete;

  const std::string& name() const { return name_; }
  /// Array names (entry names without ".npy"), in archive order.
  std::vector<std::string> arrays() const;
  bool has(const std::string& array) const;
  /// Reads and checks the header of `array` (the entry size must match the header's data).
  NpyHeader header(const std::string& array);
  /// Loads the whole array as double (for small arrays).
  NpyArray load(const std::string& array);

  /// Sequential reader of one array's data (after its header); many may be open at once.
  class Stream {
   public:
    virtual ~Stream() = default;
    /// Reads exactly `bytes` bytes or throws (truncated / corrupt entry), naming the array.
    virtual void read(void* dst, std::size_t bytes) = 0;
  };
  /// Opens a stream positioned at the first data byte of `array`; *header receives its header.
  std::unique_ptr<Stream> open(const std::string& array, NpyHeader* header);

  struct Impl;  ///< libzip state (host/io/npz.cpp)

 private:
  std::string name_;
  std::unique_ptr<Impl> impl_;
};

/// Builds an .npz: each array is staged in an unnamed temporary file (dgeval::unnamed_file) on
/// the output's file system, then commit() zips them (stored, or deflated when `compress`)
/// into the output. Without commit() (an exception, a stop) nothing is left behind, and a
/// process killed outright leaves no file either.
class NpzWriter {
 public:
  /// Writes `path` on its own: commit() also commits it (dgeval::write_file_atomically's rules).
  NpzWriter(std::string path, bool compress = false);
  /// Writes into `output`, one of a run's outputs: commit() completes the archive there, and
  /// the run's OutputSet commits it with the others.
  NpzWriter(StagedOutput& output, bool compress = false);
  ~NpzWriter();
  NpzWriter(const NpzWriter&) = delete;
  NpzWriter& operator=(const NpzWriter&) = delete;
  /// Adds a whole array (C order, little endian; descr as in write_npy).
  void add(const std::string& array, const std::vector<std::int64_t>& shape, const std::string& descr,
           const void* data);
  /// Starts an array written in chunks; finish it with NpyStreamWriter::finish before commit().
  NpyStreamWriter& begin(const std::string& array, const std::string& descr);
  /// Zips the arrays (all finished) into the output; polls the stop flag (dgeval::cancelled).
  void commit();

 private:
  struct Entry {
    std::string array;
    int fd = -1;  ///< the unnamed staging file
    std::unique_ptr<NpyStreamWriter> writer;
  };
  std::string path_;
  bool compress_;
  std::unique_ptr<OutputSet> own_;  ///< set when the writer owns its output
  StagedOutput* out_ = nullptr;
  std::vector<Entry> entries_;
  bool committed_ = false;
};

// ---------------------------------------------------------------------------------------------
// Game sources: a batch of delegation games read chunk by chunk.
// ---------------------------------------------------------------------------------------------

/// How an array's shape is read: [B, n, k_1..k_n] for a batch or [n, k_1..k_n] for one game.
enum class ShapeRule {
  automatic,    ///< batch form if it fits, else single-game form (ambiguous shapes noted)
  single_game,  ///< always [n, k_1..k_n]
};

/// Interprets an utility array shape. Throws naming `name` if it fits neither form or the dims
/// are invalid. *ambiguous is set when both forms fit (the batch form is then chosen).
void utility_shape(const std::vector<std::int64_t>& shape, ShapeRule rule, const std::string& name, Dims* dims,
                   std::int64_t* games, bool* ambiguous = nullptr);

class GameSource {
 public:
  virtual ~GameSource() = default;
  virtual const Dims& dims() const = 0;
  virtual std::int64_t games() const = 0;
  /// A view of games [first, first + count). Calls must ask for consecutive ranges starting at 0
  /// (sources may stream). The view stays valid until the next call.
  virtual BatchView read(std::int64_t first, std::int64_t count) = 0;
  /// Human-readable origin for messages, e.g. "games.npz" or "a.npy / p.npy".
  virtual std::string describe() const = 0;
  /// Notes for the user (e.g. an ambiguous shape read as a batch); may be empty.
  virtual std::vector<std::string> notes() const { return {}; }
  /// A strategy stored with the games (npz arrays strategy_pure / _correlated / _product).
  virtual bool has_strategy() const { return false; }
  virtual Strategy strategy() { return Strategy{}; }
  /// For a side read from a Gambit .nfg (0 agents, 1 principals): its title, comment, player
  /// names and strategy labels (payoffs empty), so a conversion back to .nfg keeps them; else null.
  virtual const NfgGame* nfg_labels(int side) const {
    (void)side;
    return nullptr;
  }
};

/// A source over an owning Batch (examples, generated games, .nfg pairs).
std::unique_ptr<GameSource> make_memory_source(Batch batch, std::string description);
/// Random i.i.d. uniform games generated chunk by chunk (random_uniform_games).
std::unique_ptr<GameSource> make_random_source(const Dims& dims, std::int64_t games, std::uint64_t seed,
                                               int threads = 0);
/// Agents and principals from two files, each .npy (read chunk by chunk; from a pipe or FIFO,
/// in order) or .nfg. Shapes, dims and game counts must match.
std::unique_ptr<GameSource> open_game_pair(const std::string& agents_path, const std::string& principals_path,
                                           ShapeRule rule = ShapeRule::automatic, const ReadOptions& options = {});
/// One file: .npz with arrays `agents` and `principals` (streamed; a regular file, as a zip is
/// read by seeking); or a single .nfg / .npy (also from a pipe or FIFO), read once and used as
/// both the agents and the principals.
std::unique_ptr<GameSource> open_game_file(const std::string& path, ShapeRule rule = ShapeRule::automatic,
                                           const ReadOptions& options = {});

/// Chunk size (games) so that one chunk holds about `values` utilities per side, and at most
/// `max_games` games (bounding the per-chunk results too); at least 1.
std::int64_t games_per_chunk(const Dims& dims, std::int64_t values = std::int64_t{1} << 24,
                             std::int64_t max_games = std::int64_t{1} << 18);

/// Copies games [first, first + count) of `view` into a float64 Batch.
Batch copy_games(const BatchView& view, std::int64_t first, std::int64_t count);

/// Finds the first NaN/±Inf utility of `view` and describes it (game index offset by
/// `first_game`); empty if every utility is finite.
std::string find_nonfinite(const BatchView& view, std::int64_t first_game);

// ---------------------------------------------------------------------------------------------
// Strategies from files
// ---------------------------------------------------------------------------------------------

/// Reads a user strategy for games of `dims` (B = `games`).
///  * "KIND:PATH" or "PATH" with KIND in pure | correlated | product;
///  * .npy: integer dtype = pure ([n] or [B, n]); float with shape [k_1..k_n] or [B, k_1..k_n]
///    = correlated; float with shape [Σk_i] or [B, Σk_i] = product;
///  * .npz: array strategy_pure, strategy_correlated or strategy_product (or the KIND given);
///  * text: a first word pure | correlated | product (unless given by KIND:), then numbers
///    (integers, decimals, rationals p/q) separated by white space or commas; '#' comments.
///    Correlated weights are in C order. One strategy for all games, or one per game.
/// The result is validated (a distribution, actions in range) with messages naming the file.
Strategy read_strategy_file(const std::string& spec, const Dims& dims, std::int64_t games);

/// Strategy arrays inside an .npz of games, if any (see read_strategy_file).
bool read_npz_strategy(NpzReader& npz, const Dims& dims, std::int64_t games, Strategy* out);

// ---------------------------------------------------------------------------------------------
// Results as .npz of columns
// ---------------------------------------------------------------------------------------------

/// Writes Results chunk by chunk as an .npz of columns: `game` (int64 [B]); per-player columns
/// float64 [B, n]; real columns float64 [B]; integer columns int64 [B]; boolean columns bool [B];
/// when present, `pure_ne` int64 [E, n] (action tuples) with `pure_ne_offsets` int64 [B + 1],
/// and `distance_matrix` float64 [B, 2n, 2n]. Atomic: nothing appears before commit().
class ResultsNpzWriter {
 public:
  /// float32: real columns (and distance matrices) stored as <f4, rounded to nearest: half the
  /// bytes, ~7 significant digits.
  ResultsNpzWriter(const std::string& path, bool compress = false, bool float32 = false);
  /// Into one of a run's outputs (see NpzWriter): its OutputSet commits the file.
  ResultsNpzWriter(StagedOutput& output, bool compress = false, bool float32 = false);
  ~ResultsNpzWriter();
  void add(const Results& results, const Dims& dims, std::int64_t first_game);
  void commit();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// The output format for `path` from its extension (.csv, .jsonl/.json/.ndjson, .npz, .txt);
/// throws naming the path when the extension is not one of these.
OutputFormat output_format_for_path(const std::string& path);

/// Lower-case extension of `path` including the dot ("" if none).
std::string file_extension(const std::string& path);

}  // namespace dgeval
