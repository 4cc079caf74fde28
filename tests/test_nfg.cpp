// Gambit .nfg reader and writer: both body versions, both strategy forms, number syntaxes, the
// transposition to C order on asymmetric dims, every malformed input refused with a position;
// the small Gambit-style files of tests/data/nfg (each feature of the real files, exact payoffs)
// always, and every real Gambit file of ../shared/data/gambit-nfg when that folder exists.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <sstream>

#include "dgeval/dgeval.hpp"
#include "dgeval/io.hpp"
#include "test_cli_util.hpp"

using dgeval::NfgGame;
using dgeval_test::expect_error;

namespace {

NfgGame parse(const std::string& text, bool allow_nonfinite = false, std::int64_t size = -1) {
  std::istringstream in(text);
  dgeval::ReadOptions o;
  o.allow_nonfinite = allow_nonfinite;
  return dgeval::parse_nfg(in, "mem.nfg", o, size);
}

const char* kHeader2x2 = "NFG 1 R \"g\" { \"A\" \"B\" } { 2 2 }\n";

}  // namespace

TEST(Nfg, PayoffVersionTransposesToCOrderOnAsymmetricDims) {
  const NfgGame g = dgeval::read_nfg(dgeval_test::data_dir() + "/asym_payoff.nfg");
  ASSERT_EQ(g.dims, dgeval::Dims({2, 3, 4}));
  ASSERT_EQ(g.players, (std::vector<std::string>{"P1", "P2", "P3"}));
  EXPECT_TRUE(g.strategies.empty());
  const std::int64_t N = 24;
  for (int i = 0; i < 3; ++i) {
    for (std::int64_t s = 0; s < N; ++s) EXPECT_EQ(g.payoffs[i * N + s], 100.0 * i + s) << i << " " << s;
  }
}

TEST(Nfg, OutcomeVersionWithLabelsNullOutcomeAndComment) {
  const NfgGame g = dgeval::read_nfg(dgeval_test::data_dir() + "/outcome_labels.nfg");
  ASSERT_EQ(g.dims, dgeval::Dims({3, 2}));
  EXPECT_EQ(g.strategies, (std::vector<std::vector<std::string>>{{"T", "M", "B"}, {"L", "R"}}));
  EXPECT_EQ(g.comment, "a comment with an escaped \"quote\"");
  EXPECT_NE(g.title.find("over two lines"), std::string::npos);
  EXPECT_EQ(g.payoffs, (std::vector<double>{1, -4, 1.5, 1, 0, 1.5, -1, 7, 0.25, -1, 0, 0.25}));
}

TEST(Nfg, NumberSyntaxes) {
  const NfgGame g = parse(std::string(kHeader2x2) + "1 -2.5 3e2 -4E-1\n7/2 +6 .5 1.25e+1\n");
  EXPECT_EQ(g.payoffs, (std::vector<double>{1, 3.5, 300, 0.5, -2.5, 6, -0.4, 12.5}));
}

TEST(Nfg, WriterRoundTripKeepsPayoffsAndLabels) {
  const NfgGame g = dgeval::read_nfg(dgeval_test::data_dir() + "/outcome_labels.nfg");
  std::ostringstream out;
  dgeval::write_nfg(out, g);
  const NfgGame h = parse(out.str());
  EXPECT_EQ(h.dims, g.dims);
  EXPECT_EQ(h.payoffs, g.payoffs);
  EXPECT_EQ(h.strategies, g.strategies);
  EXPECT_EQ(h.players, g.players);
  EXPECT_EQ(h.comment, g.comment);
  // Shortest round-trip decimals: awkward doubles survive exactly.
  dgeval::Batch b = dgeval::random_uniform_games(dgeval::Dims({3, 2, 2}), 1, 5);
  const NfgGame r = dgeval::make_nfg(b.dims, b.agents.data());
  std::ostringstream o2;
  dgeval::write_nfg(o2, r);
  EXPECT_EQ(parse(o2.str()).payoffs, b.agents);
}

TEST(Nfg, CommasAndSpacesInOutcomes) {
  const NfgGame g = parse("NFG 1 R \"\" { \"1\" \"2\" } { 1 2 }\n{ { \"a\" 1 2 } { \"b\" 3, 4 } }\n2 1\n");
  EXPECT_EQ(g.payoffs, (std::vector<double>{3, 1, 4, 2}));
}

// --- malformed input: each refused with the file, a line:column and what was expected ---

TEST(NfgBad, WrongMagic) {
  expect_error([] { parse("NFX 1 R \"\" { \"1\" } { 1 }\n1\n"); }, {"mem.nfg:1:1", "magic word NFG"});
}

TEST(NfgBad, WrongVersion) {
  expect_error([] { parse("NFG 2 R \"\" { \"1\" } { 1 }\n1\n"); }, {"mem.nfg:1:5", "format version 1"});
}

TEST(NfgBad, PayoffCountTooShort) {
  expect_error([] { parse(std::string(kHeader2x2) + "1 2 3 4 5 6 7\n"); },
               {"mem.nfg:3:1", "too short", "expected 8 payoffs", "found 7"});
}

TEST(NfgBad, PayoffCountTooLong) {
  expect_error([] { parse(std::string(kHeader2x2) + "1 2 3 4 5 6 7 8 9\n"); },
               {"mem.nfg:2:17", "end of the file", "8 expected"});
}

TEST(NfgBad, TruncatedInsideTheHeader) {
  expect_error([] { parse("NFG 1 R \"title\" { \"1\" \"2\" "); }, {"mem.nfg:1:", "found end of file"});
  expect_error([] { parse("NFG 1 R \"unterminated title { 1 }"); }, {"mem.nfg:1:9", "unterminated string"});
}

TEST(NfgBad, NotANumber) {
  expect_error([] { parse(std::string(kHeader2x2) + "1 2 x3 4 5 6 7 8\n"); },
               {"mem.nfg:2:5", "expected a payoff", "\"x3\""});
  expect_error([] { parse(std::string(kHeader2x2) + "1 2 3/0 4 5 6 7 8\n"); }, {"mem.nfg:2:5", "\"3/0\""});
  expect_error([] { parse(std::string(kHeader2x2) + "1 2 3 4 5 6 7 1.2.3\n"); }, {"mem.nfg:2:15"});
}

TEST(NfgBad, ZeroOrNegativeActionCounts) {
  expect_error([] { parse("NFG 1 R \"\" { \"1\" \"2\" } { 2 0 }\n"); },
               {"mem.nfg:1:28", "player 2 has 0 strategies", "at least 1"});
  expect_error([] { parse("NFG 1 R \"\" { \"1\" \"2\" } { -3 2 }\n"); }, {"mem.nfg:1:26", "player 1 has -3"});
  expect_error([] { parse("NFG 1 R \"\" { \"1\" \"2\" } { --3 2 }\n"); }, {"mem.nfg:1:26", "strategy count"});
  expect_error([] { parse("NFG 1 R \"\" { \"1\" \"2\" } { { \"a\" } { } }\n"); }, {"player 2 has 0 strategies"});
}

TEST(NfgBad, StrategyCountsDoNotMatchPlayers) {
  expect_error([] { parse("NFG 1 R \"\" { \"1\" \"2\" } { 2 }\n1 2 3 4\n"); }, {"strategies for 2 players"});
  expect_error([] { parse("NFG 1 R \"\" { \"1\" \"2\" } { 2 2 2 }\n"); }, {"mem.nfg:1:30", "'}'"});
}

TEST(NfgBad, DimsOverflow64Bits) {
  expect_error([] { parse("NFG 1 R \"\" { \"1\" \"2\" \"3\" } { 4294967296 4294967296 4 }\n1\n"); },
               {"mem.nfg:1:12", "overflows"});
}

TEST(NfgBad, MorePlayersThanSupported) {
  std::string players, counts;
  for (int i = 0; i <= dgeval::kMaxPlayers; ++i) players += " \"p\"", counts += " 1";
  const std::string text = "NFG 1 R \"\" {" + players + " } {" + counts + " }\n";
  expect_error([&] { parse(text); }, {"mem.nfg:1:", "more than 32 players"});
}

TEST(NfgBad, HugeGameInSmallFileRefusedBeforeAllocating) {
  const std::string text = "NFG 1 R \"\" { \"1\" \"2\" } { 1000000 1000000 }\n1 2 3\n";
  expect_error([&] { parse(text, false, static_cast<std::int64_t>(text.size())); },
               {"mem.nfg", "2000000000000 payoffs", "truncated"});
}

TEST(NfgBad, NonFiniteRefusedByDefaultAndAcceptedOnRequest) {
  const std::string text = std::string(kHeader2x2) + "1 2 nan 4 5 6 7 1e999\n";
  expect_error([&] { parse(text); }, {"mem.nfg:2:5", "not finite"});
  const NfgGame g = parse(text, true);
  EXPECT_TRUE(std::isnan(g.payoffs[2]));  // contingency (1,0): C index 2
  EXPECT_TRUE(std::isinf(g.payoffs[7]));
}

TEST(NfgBad, OutcomeNumberOutOfRangeAndWrongPayoffCount) {
  expect_error([] { parse("NFG 1 R \"\" { \"1\" \"2\" } { 1 2 }\n{ { \"a\" 1 2 } }\n1 2\n"); },
               {"mem.nfg:3:3", "outcome number 2 is out of range", "0 (the null outcome) to 1"});
  expect_error([] { parse("NFG 1 R \"\" { \"1\" \"2\" } { 1 2 }\n{ { \"a\" 1 } }\n1 1\n"); },
               {"mem.nfg:2:11", "has 1 payoffs; expected 2"});
  expect_error([] { parse("NFG 1 R \"\" { \"1\" \"2\" } { 1 2 }\n{ { \"a\" 1 2 } }\n1\n"); },
               {"contingency list is too short", "expected 2"});
  expect_error([] { parse("NFG 1 R \"\" { \"1\" \"2\" } { 1 2 }\n{ { \"a\" 1 2 } }\n1 1.5\n"); },
               {"mem.nfg:3:3", "outcome number"});
}

TEST(NfgBad, MissingFile) {
  expect_error([] { dgeval::read_nfg("/nonexistent/x.nfg"); }, {"/nonexistent/x.nfg"});
}

// Crashing or hanging inputs found by fuzz/fuzz_nfg, kept as regression cases.
TEST(NfgBad, FuzzRegressions) {
  const std::filesystem::path dir = dgeval_test::data_dir() + "/fuzz-regressions/nfg";
  if (!std::filesystem::exists(dir)) GTEST_SKIP() << "no regression inputs";
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    const std::string bytes = dgeval_test::read_file(e.path().string());
    try {
      parse(bytes, false, static_cast<std::int64_t>(bytes.size()));
    } catch (const dgeval::error&) {
    }
  }
}

// --- tests/data/nfg: small files written for dgeval with the features of real Gambit files ---
// Each payoff vector below is [player][C-order outcome], transposed by hand from the file's
// contingency order (player 1 fastest).

namespace {

std::string nfg_fixture(const std::string& name) { return dgeval_test::data_dir() + "/nfg/" + name; }

// Evaluates g as a delegation game with itself as principals and agents: every IA is 1 and,
// where the default strategy (worst pure NE) exists, the bound holds.
void expect_self_delegation_consistent(const NfgGame& g) {
  ASSERT_EQ(static_cast<std::int64_t>(g.payoffs.size()), g.dims.players() * g.dims.outcomes());
  dgeval::Batch b(g.dims, 1);
  b.agents = g.payoffs;
  b.principals = g.payoffs;
  const dgeval::Results r = dgeval::evaluate(b.view());
  for (int i = 0; i < g.dims.players(); ++i) EXPECT_NEAR(r.ia[static_cast<std::size_t>(i)], 1.0, 1e-12) << i;
  // Games without a pure NE leave the default strategy (worst NE) undefined: bound_holds NaN.
  if (r.flags[0] & dgeval::flag_strategy_undefined) {
    EXPECT_TRUE(std::isnan(r.bound_holds[0]));
  } else {
    EXPECT_EQ(r.bound_holds[0], 1.0);
  }
}

}  // namespace

TEST(NfgFixtures, Outcome3x3x1WithNamesLabelsRationalsNullOutcomeAndMultilineComment) {
  const NfgGame g = dgeval::read_nfg(nfg_fixture("outcome_3x3x1.nfg"));
  EXPECT_EQ(g.title, "A 3x3x1 game: Carol's single strategy");
  EXPECT_EQ(g.players, (std::vector<std::string>{"Alice", "Bob", "Carol"}));
  ASSERT_EQ(g.dims, dgeval::Dims({3, 3, 1}));
  EXPECT_EQ(g.strategies,
            (std::vector<std::vector<std::string>>{{"Up", "Mid", "Down"}, {"Left", "Centre", "Right"}, {"Only"}}));
  EXPECT_EQ(g.comment,
            "Outcome version with a comment over\ntwo lines: {braces}, `backticks` and an escaped \"quote\".");
  // Outcomes win (3/2, -7/4, 1), lose (-1, 2, 0.5), "" (5, -2.5e1, -3/8), tie (2/7, 2, 4); the
  // contingency list 1 2 0 3 4 2 1 1 3 puts them at C indices 0 3 6 1 4 7 2 5 8 (6: the null outcome).
  EXPECT_EQ(g.payoffs, (std::vector<double>{1.5,   5,      1.5,   -1,  2.0 / 7, 1.5,   0, -1,  5,    //
                                            -1.75, -25,    -1.75, 2,   2,       -1.75, 0, 2,   -25,  //
                                            1,     -0.375, 1,     0.5, 4,       1,     0, 0.5, -0.375}));
}

TEST(NfgFixtures, PayoffVersionTypeDWithLabelsAndNoComment) {
  const NfgGame g = dgeval::read_nfg(nfg_fixture("payoff_type_d_labels_2x2x2.nfg"));
  EXPECT_EQ(g.title, "Payoff version, number type D, labelled strategies and no comment");
  EXPECT_EQ(g.players, (std::vector<std::string>{"P1", "P2", "P3"}));
  ASSERT_EQ(g.dims, dgeval::Dims({2, 2, 2}));
  EXPECT_EQ(g.strategies, (std::vector<std::vector<std::string>>{{"a", "b"}, {"c", "d"}, {"e", "f"}}));
  EXPECT_EQ(g.comment, "");
  // Contingency c (file order) pays -(10 c + i + 1) to player i; C index s holds c = 0 4 2 6 1 5 3 7.
  EXPECT_EQ(g.payoffs, (std::vector<double>{-1, -41, -21, -61, -11, -51, -31, -71,  //
                                            -2, -42, -22, -62, -12, -52, -32, -72,  //
                                            -3, -43, -23, -63, -13, -53, -33, -73}));
}

TEST(NfgFixtures, PayoffVersionCountsEmptyNamesNoCommentRationals) {
  const NfgGame g = dgeval::read_nfg(nfg_fixture("payoff_counts_3x2.nfg"));
  EXPECT_EQ(g.title, "");
  EXPECT_EQ(g.players, (std::vector<std::string>{"", ""}));
  ASSERT_EQ(g.dims, dgeval::Dims({3, 2}));
  EXPECT_TRUE(g.strategies.empty());
  EXPECT_EQ(g.comment, "");
  // Pairs (1,-1) (5/2,0) (-7/4,3) (0,2) (4,-4) (1/8,6) at C indices 0 2 4 1 3 5.
  EXPECT_EQ(g.payoffs, (std::vector<double>{1, 0, 2.5, 4, -1.75, 0.125, -1, 2, 0, -4, 3, 6}));
}

TEST(NfgFixtures, PayoffVersionWithMultilineCommentHoldingBraces) {
  const NfgGame g = dgeval::read_nfg(nfg_fixture("payoff_multiline_comment_2x2x2.nfg"));
  EXPECT_EQ(g.title, "Payoff version with strategy counts and a long comment");
  EXPECT_EQ(g.players, (std::vector<std::string>{"Player 1", "Player 2", "Player 3"}));
  ASSERT_EQ(g.dims, dgeval::Dims({2, 2, 2}));
  EXPECT_EQ(g.comment.rfind("\n- The comment spans several lines and holds {braces}, commas, and numbers: 1 2 3\n", 0),
            0u)
      << g.comment;
  EXPECT_EQ(g.comment.size() - g.comment.rfind("2 1 1:  1 2 -1\n"), std::string("2 1 1:  1 2 -1\n").size());
  EXPECT_EQ(g.payoffs, (std::vector<double>{0, 2,  3,  -2, 1,  4, -1, 0.5,   //
                                            0, 1,  -2, 0,  2,  4, 5,  -0.5,  //
                                            0, -3, 2,  6,  -1, 4, 1,  7}));
}

TEST(NfgFixtures, OutcomeVersionFivePlayers) {
  const NfgGame g = dgeval::read_nfg(nfg_fixture("outcome_5_players.nfg"));
  ASSERT_EQ(g.dims, dgeval::Dims({2, 2, 2, 2, 2}));
  EXPECT_EQ(g.players.size(), 5u);
  EXPECT_EQ(g.strategies.size(), 5u);
  EXPECT_EQ(g.comment, "");
  // Outcome 1 (1..5) where player 1 plays his first strategy (C indices 0..15), outcome 2 (-1..-5) elsewhere.
  std::vector<double> want;
  for (int i = 0; i < 5; ++i) {
    for (int s = 0; s < 32; ++s) want.push_back(s < 16 ? i + 1.0 : -(i + 1.0));
  }
  EXPECT_EQ(g.payoffs, want);
}

TEST(NfgFixtures, OutcomeVersionNoCommentNoCommasRepeatedLabels) {
  const NfgGame g = dgeval::read_nfg(nfg_fixture("outcome_no_comment_2x3.nfg"));
  ASSERT_EQ(g.dims, dgeval::Dims({2, 3}));
  EXPECT_EQ(g.players, (std::vector<std::string>{"Row", "Col"}));
  EXPECT_EQ(g.strategies, (std::vector<std::vector<std::string>>{{"1*1", "2*1"}, {"same", "same", "other"}}));
  EXPECT_EQ(g.comment, "");
  // x (6,7), y (7.32,6), z (1,4); the list 3 2 1 1 2 3 puts z y x x y z at C indices 0 3 1 4 2 5.
  EXPECT_EQ(g.payoffs, (std::vector<double>{1, 6, 7.32, 7.32, 6, 1, 4, 7, 6, 6, 7, 4}));
}

TEST(NfgFixtures, AllZeroPayoffs) {
  const NfgGame g = dgeval::read_nfg(nfg_fixture("zero_2x2.nfg"));
  ASSERT_EQ(g.dims, dgeval::Dims({2, 2}));
  EXPECT_EQ(g.players, (std::vector<std::string>{"1", "2"}));
  EXPECT_EQ(g.payoffs, std::vector<double>(8, 0.0));
}

TEST(NfgFixtures, EveryFileEvaluatesAndRoundTrips) {
  const std::filesystem::path dir = dgeval_test::data_dir() + "/nfg";
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() != ".nfg") continue;
    ++files;
    SCOPED_TRACE(e.path().string());
    const NfgGame g = dgeval::read_nfg(e.path().string());
    expect_self_delegation_consistent(g);
    std::ostringstream out;
    dgeval::write_nfg(out, g);
    const NfgGame h = parse(out.str());
    EXPECT_EQ(h.dims, g.dims);
    EXPECT_EQ(h.payoffs, g.payoffs);
    EXPECT_EQ(h.title, g.title);
    EXPECT_EQ(h.players, g.players);
    EXPECT_EQ(h.strategies, g.strategies);
    EXPECT_EQ(h.comment, g.comment);
  }
  EXPECT_EQ(files, 7);
}

// --- the real Gambit files (an extra check, run only where ../shared/data/gambit-nfg exists) ---

TEST(NfgGambit, EveryFileParsesAndEvaluates) {
  const std::filesystem::path dir = dgeval_test::gambit_dir();
  if (!std::filesystem::exists(dir)) GTEST_SKIP() << dir << " is absent";
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() != ".nfg") continue;
    ++files;
    SCOPED_TRACE(e.path().string());
    expect_self_delegation_consistent(dgeval::read_nfg(e.path().string()));
  }
  EXPECT_EQ(files, 60);
}

TEST(NfgGambit, KnownValues) {
  const std::filesystem::path dir = dgeval_test::gambit_dir();
  if (!std::filesystem::exists(dir)) GTEST_SKIP() << dir << " is absent";
  // 3x3x3 coordination game: payoff 1 exactly on the diagonal (outcome version, permuted list).
  const NfgGame c = dgeval::read_nfg((dir / "contrib_games_coord333.nfg").string());
  for (std::int64_t s = 0; s < 27; ++s) {
    const bool diag = s == 0 || s == 13 || s == 26;
    for (int i = 0; i < 3; ++i) EXPECT_EQ(c.payoffs[i * 27 + s], diag ? 1.0 : 0.0);
  }
  // Rationals: Todd's example has 2/7, 3/19, 7/38.
  const NfgGame t = dgeval::read_nfg((dir / "contrib_games_todd3.nfg").string());
  EXPECT_EQ(t.dims, dgeval::Dims({7, 4}));
  EXPECT_DOUBLE_EQ(t.payoffs[1 * 4 + 0], 0.0);      // (2,1) is the 2nd contingency: outcome { "" 0, 1 }
  EXPECT_DOUBLE_EQ(t.payoffs[4 * 4 + 0], 2.0 / 7);  // (5,1)
  EXPECT_DOUBLE_EQ(t.payoffs[5 * 4 + 0], 3.0 / 19);
  // Payoff version, 3x2: contingencies (1,1) (2,1) (3,1) (1,2) ...
  const NfgGame m = dgeval::read_nfg((dir / "tests_test_games_mixed_strategy.nfg").string());
  EXPECT_EQ(m.payoffs, (std::vector<double>{1, 1, 0, 0, 0, 2, 1, 1, 2, 3, 2, 0}));
}
