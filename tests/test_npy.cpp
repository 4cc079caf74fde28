// NumPy .npy / .npz: headers, dtypes, byte orders, Fortran order, streaming sources, writers,
// strategies from files, results as .npz, and every malformed input refused with a position.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "dgeval/dgeval.hpp"
#include "dgeval/io.hpp"
#include "test_cli_util.hpp"

using dgeval_test::data_dir;
using dgeval_test::expect_error;
using dgeval_test::TempDir;

namespace {

// The fixtures of tests/data/make_fixtures.py: value(b, i, s) = 1000 b + 100 i + s (agents),
// its negation (principals); 3 games, dims 2x3x4.
const dgeval::Dims kDims({2, 3, 4});

void expect_fixture_values(dgeval::GameSource& src, double principal_sign = -1.0, std::int64_t chunk = 2) {
  ASSERT_EQ(src.dims(), kDims);
  ASSERT_EQ(src.games(), 3);
  for (std::int64_t g0 = 0; g0 < 3; g0 += chunk) {
    const std::int64_t count = std::min<std::int64_t>(chunk, 3 - g0);
    const dgeval::BatchView v = src.read(g0, count);
    const dgeval::Batch b = dgeval::copy_games(v, 0, count);
    for (std::int64_t g = 0; g < count; ++g) {
      for (int i = 0; i < 3; ++i) {
        for (std::int64_t s = 0; s < 24; ++s) {
          const double want = 1000.0 * (g0 + g) + 100.0 * i + s;
          const std::size_t k = static_cast<std::size_t>((g * 3 + i) * 24 + s);
          ASSERT_EQ(b.agents[k], want) << g0 + g << " " << i << " " << s;
          ASSERT_EQ(b.principals[k], principal_sign * want);
        }
      }
    }
  }
}

// An .npy with a hand-written header dict and `data_bytes` zero bytes of data.
std::string make_npy(const std::string& dict, std::size_t data_bytes, int major = 1) {
  std::string h = dict;
  const std::size_t prefix = major == 1 ? 10 : 12;
  while ((prefix + h.size() + 1) % 64) h += ' ';
  h += '\n';
  std::string out = std::string("\x93NUMPY", 6) + static_cast<char>(major) + '\0';
  const std::size_t len = h.size();
  out += static_cast<char>(len & 0xff);
  out += static_cast<char>((len >> 8) & 0xff);
  if (major > 1) out += std::string(2, '\0');
  return out + h + std::string(data_bytes, '\0');
}

std::string npy_file(const TempDir& d, const std::string& name, const std::string& bytes) {
  dgeval_test::write_file(d / name, bytes);
  return d / name;
}

}  // namespace

TEST(Npy, HeaderParsing) {
  const std::string f = make_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2, 2, 3), }", 0);
  const dgeval::NpyHeader h = dgeval::parse_npy_header(f.data(), f.size(), "x.npy");
  EXPECT_EQ(h.kind, 'f');
  EXPECT_EQ(h.itemsize, 8);
  EXPECT_FALSE(h.big_endian);
  EXPECT_EQ(h.shape, (std::vector<std::int64_t>{3, 2, 2, 3}));
  EXPECT_EQ(h.data_offset % 64, 0);
  const std::string v2 = make_npy("{\"shape\": (5,), \"fortran_order\": True, \"descr\": \">f4\"}", 0, 2);
  const dgeval::NpyHeader h2 = dgeval::parse_npy_header(v2.data(), v2.size(), "x.npy");
  EXPECT_TRUE(h2.big_endian);
  EXPECT_TRUE(h2.fortran_order);
  EXPECT_EQ(h2.itemsize, 4);
  EXPECT_EQ(h2.shape, (std::vector<std::int64_t>{5}));
}

TEST(Npy, PairOfNpyFilesAllLayouts) {
  const std::string d = data_dir();
  for (const char* a : {"a_f8.npy", "a_f8_fortran.npy", "a_f8_big.npy", "a_f4.npy"}) {
    SCOPED_TRACE(a);
    auto src = dgeval::open_game_pair(d + "/" + a, d + "/p_f8.npy");
    expect_fixture_values(*src);
  }
  // Both sides float32 stay float32 (zero copy for the evaluation).
  auto f32 = dgeval::open_game_pair(d + "/a_f4.npy", d + "/a_f4.npy");
  EXPECT_EQ(f32->read(0, 1).dtype, dgeval::DType::float32);
  expect_fixture_values(*f32, 1.0, 1);
}

TEST(Npy, NpzSavezAndSavezCompressed) {
  for (const char* f : {"games.npz", "games_compressed.npz"}) {
    SCOPED_TRACE(f);
    auto src = dgeval::open_game_file(data_dir() + "/" + f);
    EXPECT_FALSE(src->has_strategy());
    expect_fixture_values(*src, -1.0, 1);
  }
}

TEST(Npy, NpzStrategyArray) {
  auto src = dgeval::open_game_file(data_dir() + "/games_with_strategy.npz");
  ASSERT_TRUE(src->has_strategy());
  const dgeval::Strategy s = src->strategy();
  EXPECT_EQ(s.kind, dgeval::StrategyKind::correlated);
  EXPECT_FALSE(s.per_game);
  ASSERT_EQ(s.weights.size(), 24u);
  EXPECT_DOUBLE_EQ(s.weights[5], 1.0 / 24);
}

TEST(Npy, AmbiguousShapeIsNotedAndSingleGameRuleReadsOneGame) {
  // single_game.npy has shape (3, 2, 3, 4): one game of 3 players, or 3 games of 2 players.
  auto batch = dgeval::open_game_file(data_dir() + "/single_game.npy");
  EXPECT_EQ(batch->games(), 3);
  EXPECT_EQ(batch->dims(), dgeval::Dims({3, 4}));
  ASSERT_FALSE(batch->notes().empty());
  EXPECT_NE(batch->notes()[0].find("--single-game"), std::string::npos);
  auto one = dgeval::open_game_file(data_dir() + "/single_game.npy", dgeval::ShapeRule::single_game);
  EXPECT_EQ(one->games(), 1);
  EXPECT_EQ(one->dims(), kDims);
  const dgeval::Batch b = dgeval::copy_games(one->read(0, 1), 0, 1);
  for (int i = 0; i < 3; ++i) {
    for (int s = 0; s < 24; ++s) EXPECT_EQ(b.agents[static_cast<std::size_t>(i * 24 + s)], 100.0 * i + s);
  }
}

TEST(Npy, WritersRoundTrip) {
  TempDir d;
  const std::vector<double> v{1.5, -2, 3, 4, 5, 6};
  std::ostringstream out;
  dgeval::write_npy(out, {2, 3}, "<f8", v.data());
  const std::string bytes = out.str();
  const dgeval::NpyArray a = dgeval::parse_npy(bytes.data(), bytes.size(), "mem.npy");
  EXPECT_EQ(a.header.data_offset % 64, 0);
  EXPECT_EQ(a.values, v);
  {
    dgeval::NpyStreamWriter w(d / "s.npy", "<f4");
    const float f[3] = {1, 2, 3};
    w.append(f, sizeof f);
    w.append(f, sizeof f);
    w.finish({2, 3});
  }
  const dgeval::NpyArray s = dgeval::read_npy(d / "s.npy");
  EXPECT_EQ(s.header.shape, (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(s.values, (std::vector<double>{1, 2, 3, 1, 2, 3}));
  int files = 1;  // s.npy
  for (bool compress : {false, true}) {
    const std::string name = compress ? "z1.npz" : "z0.npz";
    {
      dgeval::NpzWriter z(d / name, compress);
      z.add("x", {2, 3}, "<f8", v.data());
      const std::int64_t ints[2] = {7, -8};
      z.add("k", {2}, "<i8", ints);
    }
    EXPECT_FALSE(std::filesystem::exists(d / name)) << "nothing appears without commit()";
    EXPECT_EQ(d.entries(), files);  // the staging files are gone
    {
      dgeval::NpzWriter z(d / name, compress);
      z.add("x", {2, 3}, "<f8", v.data());
      const std::int64_t ints[2] = {7, -8};
      z.add("k", {2}, "<i8", ints);
      z.commit();
    }
    dgeval::NpzReader r(d / name);
    EXPECT_EQ(r.arrays(), (std::vector<std::string>{"x", "k"}));
    EXPECT_EQ(r.load("x").values, v);
    EXPECT_EQ(r.load("k").values, (std::vector<double>{7, -8}));
    EXPECT_EQ(d.entries(), ++files);
  }
}

TEST(Npy, ResultsNpzHasEveryColumn) {
  TempDir d;
  const dgeval::Example e = dgeval::make_example("common-3x3");
  dgeval::Options o;
  o.list_equilibria = true;
  o.distance_matrix = true;
  const dgeval::Results r = dgeval::evaluate(e.batch.view(), o);
  dgeval::ResultsNpzWriter w(d / "r.npz");
  w.add(r, e.batch.dims, 0);
  w.add(r, e.batch.dims, 1);
  w.commit();
  dgeval::NpzReader z(d / "r.npz");
  for (const dgeval::ColumnInfo& c : dgeval::result_columns()) EXPECT_TRUE(z.has(c.name)) << c.name;
  EXPECT_EQ(z.load("game").values, (std::vector<double>{0, 1}));
  EXPECT_EQ(z.header("ia").shape, (std::vector<std::int64_t>{2, 2}));
  EXPECT_EQ(z.header("bound_holds").descr, "<f8");  // 1, 0 or NaN (undefined)
  EXPECT_EQ(z.load("pure_ne_count").values[1], static_cast<double>(r.pure_ne_count[0]));
  EXPECT_EQ(z.load("pure_ne").values, (std::vector<double>{0, 0, 2, 2, 0, 0, 2, 2}));
  EXPECT_EQ(z.load("pure_ne_offsets").values, (std::vector<double>{0, 2, 4}));
  EXPECT_EQ(z.header("distance_matrix").shape, (std::vector<std::int64_t>{2, 4, 4}));
}

TEST(Npy, StrategyFiles) {
  TempDir d;
  const dgeval::Dims dims({2, 3});
  dgeval_test::write_file(d / "c.txt", "correlated  # weights in C order\n1/6 1/6 1/6\n1/6, 1/6, 1/6\n");
  dgeval::Strategy s = dgeval::read_strategy_file(d / "c.txt", dims, 4);
  EXPECT_EQ(s.kind, dgeval::StrategyKind::correlated);
  EXPECT_FALSE(s.per_game);
  dgeval_test::write_file(d / "p.txt", "0 2\n1 0\n");
  s = dgeval::read_strategy_file("pure:" + d / "p.txt", dims, 2);
  EXPECT_EQ(s.kind, dgeval::StrategyKind::pure);
  EXPECT_TRUE(s.per_game);
  EXPECT_EQ(s.actions, (std::vector<std::int64_t>{0, 2, 1, 0}));
  dgeval_test::write_file(d / "m.txt", "product 0.5 0.5 1 0 0");
  s = dgeval::read_strategy_file(d / "m.txt", dims, 1);
  EXPECT_EQ(s.kind, dgeval::StrategyKind::product);
  const dgeval::Strategy np = dgeval::read_strategy_file(data_dir() + "/strategy_pure.npy", kDims, 3);
  EXPECT_EQ(np.kind, dgeval::StrategyKind::pure);
  EXPECT_TRUE(np.per_game);
  EXPECT_EQ(np.actions[2], 3);
}

// --- malformed input ---

TEST(NpyBad, StrategyNotADistribution) {
  TempDir d;
  const dgeval::Dims dims({2, 2});
  dgeval_test::write_file(d / "c.txt", "correlated 0.5 0.25 0.25 0.25\n");
  expect_error([&] { dgeval::read_strategy_file(d / "c.txt", dims, 1); },
               {d / "c.txt", "sum to 1.25", "probability distribution"});
  dgeval_test::write_file(d / "n.txt", "correlated 1.5 -0.5 0 0\n");
  expect_error([&] { dgeval::read_strategy_file(d / "n.txt", dims, 1); }, {d / "n.txt", "weight 1 is -0.5"});
  dgeval_test::write_file(d / "x.txt", "correlated 0.5 0.5 abc 0\n");
  expect_error([&] { dgeval::read_strategy_file(d / "x.txt", dims, 1); }, {d / "x.txt" + ":1:20", "\"abc\""});
  dgeval_test::write_file(d / "k.txt", "correlated 1 0 0\n");
  expect_error([&] { dgeval::read_strategy_file(d / "k.txt", dims, 1); }, {"3 numbers", "expected 4"});
  dgeval_test::write_file(d / "a.txt", "pure 0 2\n");
  expect_error([&] { dgeval::read_strategy_file(d / "a.txt", dims, 1); }, {"player 1 action 2 is out of range"});
}

TEST(NpyBad, WrongMagicAndVersion) {
  TempDir d;
  std::string f = make_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 1, 1), }", 16);
  f[1] = 'X';
  const std::string p1 = npy_file(d, "magic.npy", f);
  expect_error([&] { dgeval::open_game_file(p1); }, {"magic.npy: byte 0", "wrong magic"});
  f[1] = 'N';
  f[6] = 9;
  const std::string p2 = npy_file(d, "version.npy", f);
  expect_error([&] { dgeval::open_game_file(p2); }, {"version.npy: byte 6", "version 9.0"});
}

TEST(NpyBad, TruncatedHeaderAndData) {
  TempDir d;
  const std::string f = make_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 1, 1), }", 16);
  const std::string p1 = npy_file(d, "head.npy", f.substr(0, 30));
  expect_error([&] { dgeval::open_game_file(p1); }, {"head.npy: byte 30", "truncated"});
  const std::string p2 = npy_file(d, "data.npy", f.substr(0, f.size() - 3));
  expect_error([&] { dgeval::open_game_file(p2); }, {"data.npy: byte 141", "truncated", "needs 16 data bytes"});
  const std::string p3 = npy_file(d, "long.npy", f + "xyz");
  expect_error([&] { dgeval::open_game_file(p3); }, {"long.npy: byte 144", "3 unexpected bytes"});
  const std::string p4 = npy_file(d, "empty.npy", "");
  expect_error([&] { dgeval::open_game_pair(p4, p4); }, {"empty.npy", "empty"});
}

TEST(NpyBad, UnsupportedDtype) {
  TempDir d;
  expect_error([&] { dgeval::open_game_pair(data_dir() + "/a_i4.npy", data_dir() + "/p_f8.npy"); },
               {"a_i4.npy", "unsupported dtype '<i4'", "float32 or float64"});
  for (const char* descr : {"<f2", "<c16", "|O", "<U3"}) {
    const std::string p =
        npy_file(d, "t.npy",
                 make_npy(std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': (2, 1, 1), }", 64));
    expect_error([&] { dgeval::open_game_file(p); }, {"t.npy: byte 10", "unsupported dtype"});
  }
  const std::string s =
      npy_file(d, "s.npy", make_npy("{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (1,), }", 8));
  expect_error([&] { dgeval::open_game_file(s); }, {"s.npy: byte", "structured"});
}

TEST(NpyBad, ShapesThatAreNotGames) {
  TempDir d;
  auto header = [](const std::string& shape) {
    return make_npy("{'descr': '<f8', 'fortran_order': False, 'shape': " + shape + ", }", 0);
  };
  // Zero actions.
  const std::string z = npy_file(d, "zero.npy", header("(4, 2, 3, 0)"));
  expect_error([&] { dgeval::open_game_file(z); }, {"zero.npy", "player 1 has 0 actions"});
  // Negative dimension.
  const std::string neg = npy_file(d, "neg.npy", header("(4, 2, -3, 2)"));
  expect_error([&] { dgeval::open_game_file(neg); }, {"neg.npy: byte", "negative dimension"});
  // Product overflowing 64 bits.
  const std::string big = npy_file(d, "big.npy", header("(1, 3, 4294967296, 4294967296, 2)"));
  expect_error([&] { dgeval::open_game_file(big); }, {"big.npy", "overflows"});
  // More players than supported: n = 33 needs 35 axes.
  std::string shape = "(1, 33";
  for (int i = 0; i < 33; ++i) shape += ", 1";
  const std::string many = npy_file(d, "many.npy", header(shape + ")"));
  expect_error([&] { dgeval::open_game_file(many); }, {"many.npy", "at most 32"});
  // Neither form.
  const std::string odd = npy_file(d, "odd.npy", header("(2, 5, 2, 2)"));
  expect_error([&] { dgeval::open_game_file(odd); }, {"odd.npy: shape (2, 5, 2, 2) is not", "[B, n, k_1, ..., k_n]"});
  // No games.
  const std::string none = npy_file(d, "none.npy", header("(0, 2, 2, 2)"));
  expect_error([&] { dgeval::open_game_file(none); }, {"none.npy", "no games"});
}

TEST(NpyBad, MismatchedAgentsAndPrincipals) {
  TempDir d;
  const std::string other = npy_file(
      d, "other.npy", make_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (3, 3, 2, 3, 5), }", 3 * 3 * 30 * 8));
  expect_error([&] { dgeval::open_game_pair(data_dir() + "/a_f8.npy", other); },
               {"mismatched agents and principals", "2x3x4", "2x3x5"});
  const std::string fewer = npy_file(
      d, "fewer.npy", make_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3, 2, 3, 4), }", 2 * 3 * 24 * 8));
  expect_error([&] { dgeval::open_game_pair(data_dir() + "/a_f8.npy", fewer); }, {"holds 3 games", "holds 2"});
  // Inside one .npz.
  {
    dgeval::NpzWriter z(d / "m.npz");
    const std::vector<double> v(24, 0.0);
    z.add("agents", {2, 2, 3}, "<f8", v.data());
    z.add("principals", {2, 3, 2}, "<f8", v.data());
    z.commit();
  }
  expect_error([&] { dgeval::open_game_file(d / "m.npz"); }, {"m.npz", "(2, 2, 3)", "(2, 3, 2)"});
}

TEST(NpyBad, NpzProblems) {
  TempDir d;
  dgeval_test::write_file(d / "notzip.npz", "this is not a zip file at all");
  expect_error([&] { dgeval::open_game_file(d / "notzip.npz"); }, {"notzip.npz: byte 0", "not an .npz"});
  {
    dgeval::NpzWriter z(d / "missing.npz");
    const double x = 1;
    z.add("agents", {1, 1, 1}, "<f8", &x);
    z.commit();
  }
  expect_error([&] { dgeval::open_game_file(d / "missing.npz"); }, {"missing.npz: no array 'principals'", "agents"});
  // A truncated archive (cut in the middle).
  const std::string whole = dgeval_test::read_file(data_dir() + "/games.npz");
  dgeval_test::write_file(d / "cut.npz", whole.substr(0, whole.size() / 2));
  expect_error([&] { dgeval::open_game_file(d / "cut.npz"); }, {"cut.npz"});
}

TEST(NpyBad, NpzMemberWithAFlippedByteIsRefusedByItsCrc) {
  // A flipped data byte in a stored member, or in the data of a deflated member (random
  // doubles do not compress, so deflate stores them and the flip inflates without error),
  // must be refused by the member's CRC-32, naming the array; the intact file reads.
  TempDir d;
  std::vector<double> a(2 * 2 * 2 * 500), p(a.size());
  for (std::size_t k = 0; k < a.size(); ++k) {
    a[k] = std::sin(1.0 + static_cast<double>(k)) * 1e3;
    p[k] = std::cos(2.0 + static_cast<double>(k)) * 1e3;
  }
  for (bool compress : {false, true}) {
    SCOPED_TRACE(compress ? "deflated" : "stored");
    const std::string name = compress ? "z.npz" : "s.npz";
    {
      dgeval::NpzWriter z(d / name, compress);
      z.add("agents", {500, 2, 2, 2}, "<f8", a.data());
      z.add("principals", {500, 2, 2, 2}, "<f8", p.data());
      z.commit();
    }
    const std::string good = dgeval_test::read_file(d / name);
    auto src = dgeval::open_game_file(d / name);
    EXPECT_NO_THROW(src->read(0, 500));
    // The first member's data: past its local header and the .npy header, about half-way.
    std::string bad = good;
    const std::size_t at = good.find("agents.npy") + 10 + 128 + 2000;
    ASSERT_LT(at, good.find("principals.npy"));
    bad[at] = static_cast<char>(bad[at] ^ 0x10);
    dgeval_test::write_file(d / ("bad_" + name), bad);
    expect_error(
        [&] {
          auto s = dgeval::open_game_file(d / ("bad_" + name));
          s->read(0, 500);
        },
        {"bad_" + name, "array 'agents'", "CRC-32"});
  }
}

TEST(NpyBad, NonFiniteUtilitiesNamedByGameAndOutcome) {
  dgeval::Batch b(dgeval::Dims({2, 2}), 3);
  b.principals[1 * 8 + 4 + 3] = NAN;  // game 1, principal 1, outcome (1,1)
  const std::string m = dgeval::find_nonfinite(b.view(), 10);
  EXPECT_NE(m.find("game 11, principal 1, outcome (1,1)"), std::string::npos) << m;
  b.principals[1 * 8 + 4 + 3] = 0;
  EXPECT_EQ(dgeval::find_nonfinite(b.view(), 0), "");
}

// Crashing inputs found by fuzz/fuzz_npy and fuzz/fuzz_npz, kept as regression cases.
TEST(NpyBad, FuzzRegressions) {
  for (const char* kind : {"npy", "npz"}) {
    const std::filesystem::path dir = data_dir() + "/fuzz-regressions/" + kind;
    if (!std::filesystem::exists(dir)) continue;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
      const std::string bytes = dgeval_test::read_file(e.path().string());
      try {
        if (std::string(kind) == "npy") {
          dgeval::parse_npy(bytes.data(), bytes.size(), "fuzz.npy");
        } else {
          dgeval::NpzReader z(bytes.data(), bytes.size(), "fuzz.npz");
          for (const std::string& a : z.arrays()) z.header(a);
        }
      } catch (const dgeval::error&) {
      }
    }
  }
}
