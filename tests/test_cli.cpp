// The dgeval command line: help and version, the round trips generate -> npz -> evaluate and
// nfg -> npy -> nfg, output formats, --check, chunking, strategies from files, and bad input
// (clear message, non-zero exit, no partial output).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <regex>
#include <sstream>

#include "dgeval/dgeval.hpp"
#include "dgeval/io.hpp"
#include "test_cli_util.hpp"

using dgeval_test::data_dir;
using dgeval_test::has;
using dgeval_test::run_cli;
using dgeval_test::TempDir;

TEST(Cli, VersionAndHelpForEveryCommand) {
  SKIP_WITHOUT_CLI();
  TempDir d;
  auto v = run_cli("--version", d);
  EXPECT_EQ(v.status, 0);
  EXPECT_TRUE(has(v.out, dgeval::version()));
  for (const char* c : {"evaluate", "generate", "convert", "bench"}) {
    auto h = run_cli(std::string(c) + " --help", d);
    EXPECT_EQ(h.status, 0) << c;
    EXPECT_TRUE(has(h.out, "examples:")) << c;
    EXPECT_TRUE(has(h.out, std::string("dgeval ") + c)) << c;
  }
  EXPECT_EQ(run_cli("nonsense", d).status, 2);
  EXPECT_EQ(run_cli("evaluate --no-such-flag", d).status, 2);
}

TEST(Cli, GenerateNpzEvaluateMatchesInMemoryRandomGames) {
  SKIP_WITHOUT_CLI();
  TempDir d;
  ASSERT_EQ(run_cli("generate --dims 3x2x2 --games 7 --seed 11 --output " + d / "g.npz" + " -q", d).status, 0);
  auto from_file = run_cli("evaluate --input " + d / "g.npz" + " --backend cpu --format csv -q", d);
  auto in_memory = run_cli("evaluate --random 7 --dims 3x2x2 --seed 11 --backend cpu --format csv -q", d);
  ASSERT_EQ(from_file.status, 0) << from_file.err;
  ASSERT_EQ(in_memory.status, 0);
  EXPECT_EQ(from_file.out, in_memory.out);
  // Compressed, float64; and as a pair of .npy files.
  ASSERT_EQ(run_cli("generate --dims 3x2x2 --games 7 --seed 11 --compress --output " + d / "c.npz" + " -q", d).status,
            0);
  EXPECT_EQ(run_cli("evaluate --input " + d / "c.npz" + " --backend cpu --format csv -q", d).out, in_memory.out);
  ASSERT_EQ(
      run_cli("generate --dims 3x2x2 --games 7 --seed 11 --agents " + d / "a.npy" + " --principals " + d / "p.npy", d)
          .status,
      0);
  EXPECT_EQ(
      run_cli("evaluate --agents " + d / "a.npy" + " --principals " + d / "p.npy" + " --backend cpu --format csv -q", d)
          .out,
      in_memory.out);
  // Chunk by chunk (one game at a time) gives the same rows.
  EXPECT_EQ(run_cli("evaluate --input " + d / "g.npz" + " --chunk-games 2 --backend cpu --format csv -q", d).out,
            in_memory.out);
}

TEST(Cli, NfgToNpyToNfgRoundTrip) {
  SKIP_WITHOUT_CLI();
  TempDir d;
  const std::string src = data_dir() + "/asym_payoff.nfg";
  ASSERT_EQ(run_cli("convert --input " + src + " --output " + d / "g.npy", d).status, 0);
  const dgeval::NpyArray a = dgeval::read_npy(d / "g.npy");
  EXPECT_EQ(a.header.shape, (std::vector<std::int64_t>{1, 3, 2, 3, 4}));
  ASSERT_EQ(run_cli("convert --input " + d / "g.npy" + " --output " + d / "back.nfg", d).status, 0);
  const dgeval::NfgGame g = dgeval::read_nfg(src), back = dgeval::read_nfg(d / "back.nfg");
  EXPECT_EQ(back.dims, g.dims);
  EXPECT_EQ(back.payoffs, g.payoffs);
  // Two .nfg sides -> .npz -> one game's sides back.
  ASSERT_EQ(
      run_cli("convert --agents " + src + " --principals " + d / "back.nfg" + " --output " + d / "pair.npz", d).status,
      0);
  ASSERT_EQ(run_cli("convert --input " + d / "pair.npz" + " --game 0 --agents-output " + d / "a.nfg" +
                        " --principals-output " + d / "p.nfg",
                    d)
                .status,
            0);
  EXPECT_EQ(dgeval::read_nfg(d / "p.nfg").payoffs, g.payoffs);
}

// .nfg to .nfg (e.g. outcome version to payoff version) keeps the game's names and labels.
TEST(Cli, NfgToNfgKeepsNamesAndLabels) {
  SKIP_WITHOUT_CLI();
  TempDir d;
  const std::string src = data_dir() + "/outcome_labels.nfg";
  ASSERT_EQ(run_cli("convert --input " + src + " --output " + d / "out.nfg", d).status, 0);
  const dgeval::NfgGame in = dgeval::read_nfg(src), out = dgeval::read_nfg(d / "out.nfg");
  EXPECT_EQ(out.title, in.title);
  EXPECT_EQ(out.comment, in.comment);
  EXPECT_EQ(out.players, in.players);
  EXPECT_EQ(out.strategies, in.strategies);
  ASSERT_FALSE(out.strategies.empty());
  EXPECT_EQ(out.payoffs, in.payoffs);
  // A pair: each side keeps its own file's names.
  ASSERT_EQ(run_cli("convert --agents " + src + " --principals " + src + " --agents-output " + d / "a.nfg" +
                        " --principals-output " + d / "p.nfg",
                    d)
                .status,
            0);
  EXPECT_EQ(dgeval::read_nfg(d / "a.nfg").players, in.players);
  EXPECT_EQ(dgeval::read_nfg(d / "p.nfg").strategies, in.strategies);
}

TEST(Cli, GambitFilesEvaluateAsDelegationGames) {
  SKIP_WITHOUT_CLI();
  TempDir d;
  auto r = run_cli("evaluate --agents " + data_dir() + "/outcome_labels.nfg --principals " + data_dir() +
                       "/outcome_labels.nfg --backend cpu --format jsonl --list-equilibria -q",
                   d);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(has(r.out, "\"ia\":[1,1]"));
  EXPECT_TRUE(has(r.out, "\"pure_ne\":"));
  const std::string gambit = dgeval_test::gambit_dir() + "/contrib_games_pd.nfg";
  if (std::filesystem::exists(gambit)) {
    auto pd = run_cli("evaluate --input " + gambit + " --backend cpu --format csv", d);
    EXPECT_EQ(pd.status, 0) << pd.err;
    EXPECT_TRUE(has(pd.err, "used as both"));
  }
}

TEST(Cli, OutputFormatsFromExtensionAndAtomicWrites) {
  SKIP_WITHOUT_CLI();
  TempDir d;
  const std::string base = "evaluate --example misaligned --backend cpu -q --output ";
  ASSERT_EQ(run_cli(base + d / "r.csv", d).status, 0);
  EXPECT_EQ(dgeval_test::read_file(d / "r.csv").rfind("game,offset_agents_0,offset_agents_1,", 0), 0u);
  ASSERT_EQ(run_cli(base + d / "r.jsonl", d).status, 0);
  EXPECT_EQ(dgeval_test::read_file(d / "r.jsonl").rfind("{\"game\":0,", 0), 0u);
  ASSERT_EQ(run_cli(base + d / "r.npz", d).status, 0);
  dgeval::NpzReader z(d / "r.npz");
  EXPECT_TRUE(z.has("ia") && z.has("bound_holds"));
  auto bad = run_cli(base + d / "r.xyz", d);
  EXPECT_NE(bad.status, 0);
  EXPECT_TRUE(has(bad.err, "r.xyz")) << bad.err;
  auto sum = run_cli("evaluate --example mammoth --backend cpu -q --format csv --summary-output " + d / "s.json", d);
  EXPECT_EQ(sum.status, 0);
  EXPECT_TRUE(has(dgeval_test::read_file(d / "s.json"), "\"bound_violations\":0"));
  EXPECT_EQ(d.entries(), 4) << "no temporary files are left behind";
}

TEST(Cli, CheckComparesWithTheCpuReference) {
  SKIP_WITHOUT_CLI();
  TempDir d;
  auto r = run_cli("evaluate --random 50 --dims 3x3 --check 10 --format csv", d);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(has(r.err, "check: 10 games re-evaluated"));
  EXPECT_TRUE(has(r.err, "check: passed"));
  auto all = run_cli("evaluate --random 20 --dims 2x2x2 --check all --chunk-games 3 --format csv", d);
  EXPECT_EQ(all.status, 0);
  EXPECT_TRUE(has(all.err, "check: 20 games"));
}

TEST(Cli, StrategiesFromFiles) {
  SKIP_WITHOUT_CLI();
  TempDir d;
  dgeval_test::write_file(d / "s.txt", "pure 1 1\n");
  auto r = run_cli("evaluate --example mammoth --strategy " + d / "s.txt" + " --backend cpu --format csv -q", d);
  ASSERT_EQ(r.status, 0) << r.err;
  // (M,M) is everyone's optimum: no regret.
  EXPECT_TRUE(has(r.out, ",0,0,")) << r.out;
  auto stored = run_cli("evaluate --input " + data_dir() + "/games_with_strategy.npz --backend cpu --format csv", d);
  EXPECT_EQ(stored.status, 0) << stored.err;
  EXPECT_TRUE(has(stored.err, "using the correlated strategy stored in"));
}

// --- bad input through the CLI: message with file and position, non-zero exit, no output ---

TEST(CliBad, NonFiniteRefusedByDefaultPropagatedOnRequest) {
  SKIP_WITHOUT_CLI();
  TempDir d;
  dgeval::Batch b(dgeval::Dims({2, 2}), 4);
  for (std::size_t k = 0; k < b.agents.size(); ++k) b.agents[k] = b.principals[k] = static_cast<double>(k % 5);
  b.agents[2 * 8 + 5] = NAN;  // game 2, agent 1, outcome (0,1)
  {
    dgeval::NpzWriter z(d / "nan.npz");
    z.add("agents", {4, 2, 2, 2}, "<f8", b.agents.data());
    z.add("principals", {4, 2, 2, 2}, "<f8", b.principals.data());
    z.commit();
  }
  auto r = run_cli("evaluate --input " + d / "nan.npz" + " --backend cpu --chunk-games 1 --output " + d / "r.csv", d);
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(has(r.err, "nan.npz: game 2, agent 1, outcome (0,1): utility is nan")) << r.err;
  EXPECT_FALSE(std::filesystem::exists(d / "r.csv"));
  EXPECT_EQ(d.entries(), 1) << "no partial or temporary output";
  auto ok = run_cli("evaluate --input " + d / "nan.npz" + " --backend cpu --allow-nonfinite --format jsonl -q", d);
  EXPECT_EQ(ok.status, 0) << ok.err;
  EXPECT_TRUE(has(ok.out, "\"game\":2,\"offset_agents\":[null,null]")) << ok.out;
}

TEST(CliBad, MalformedFilesNameTheFileAndPosition) {
  SKIP_WITHOUT_CLI();
  TempDir d;
  dgeval_test::write_file(d / "short.nfg", "NFG 1 R \"\" { \"1\" \"2\" } { 2 2 }\n1 2 3\n");
  auto r = run_cli("evaluate --input " + d / "short.nfg", d);
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(has(r.err, "short.nfg:3:1: the payoff list is too short")) << r.err;
  auto m = run_cli("evaluate --agents " + data_dir() + "/a_f8.npy --principals " + data_dir() + "/single_game.npy", d);
  EXPECT_EQ(m.status, 1);
  EXPECT_TRUE(has(m.err, "mismatched agents and principals")) << m.err;
  auto missing = run_cli("evaluate --input " + d / "nope.npz", d);
  EXPECT_EQ(missing.status, 1);
  EXPECT_TRUE(has(missing.err, "nope.npz"));
  dgeval_test::write_file(d / "s.txt", "correlated 0.5 0.6 0 0\n");
  auto s = run_cli("evaluate --example mammoth --strategy " + d / "s.txt", d);
  EXPECT_EQ(s.status, 1);
  EXPECT_TRUE(has(s.err, "s.txt") && has(s.err, "probability distribution")) << s.err;
  auto dims = run_cli("evaluate --random 2 --dims 3x0", d);
  EXPECT_EQ(dims.status, 2);  // a bad option value: a bad command line, as everywhere
  EXPECT_TRUE(has(dims.err, "player 1 has 0 actions")) << dims.err;
  auto usage = run_cli("evaluate --agents " + data_dir() + "/a_f8.npy", d);
  EXPECT_EQ(usage.status, 2);
}

// --- bound_holds undefined, the summary, --strategy names, --digits, the timing line ---

// A game without a pure NE (matching pennies) leaves the default strategy, and so bound_holds,
// undefined: never false, in any format.
TEST(Cli, BoundHoldsUndefinedInEveryFormat) {
  SKIP_WITHOUT_CLI();
  TempDir d;
  const std::string base = "evaluate --example matching-pennies --backend cpu -q ";
  auto text = run_cli(base, d);
  ASSERT_EQ(text.status, 0) << text.err;
  EXPECT_TRUE(has(text.out, "  bound_holds                 undefined\n")) << text.out;
  auto csv = run_cli(base + "--format csv --columns bound,bound_holds", d);
  ASSERT_EQ(csv.status, 0) << csv.err;
  EXPECT_EQ(csv.out.rfind("game,bound,bound_holds,flags\n0,nan,,", 0), 0u) << csv.out;
  auto jsonl = run_cli(base + "--format jsonl", d);
  EXPECT_TRUE(has(jsonl.out, "\"bound_holds\":null,")) << jsonl.out;
  ASSERT_EQ(run_cli(base + "--output " + d / "r.npz", d).status, 0);
  dgeval::NpzReader z(d / "r.npz");
  EXPECT_EQ(z.header("bound_holds").descr, "<f8");
  EXPECT_TRUE(std::isnan(z.load("bound_holds").values.at(0)));
  // The mammoth game's is defined: 1 / true.
  auto mammoth = run_cli("evaluate --example mammoth --backend cpu -q --format jsonl", d);
  EXPECT_TRUE(has(mammoth.out, "\"bound_holds\":true,")) << mammoth.out;
}

TEST(Cli, SummaryLeavesUndefinedGamesOutOfTheBoundCheck) {
  SKIP_WITHOUT_CLI();
  TempDir d;
  auto r = run_cli("evaluate --random 300 --dims 3x3 --seed 5 --backend cpu --output " + d / "r.csv", d);
  ASSERT_EQ(r.status, 0) << r.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.err, m,
                                std::regex("bound_holds \\(R2\\) in ([0-9]+)/([0-9]+) games with a defined strategy "
                                           "\\(([0-9]+) undefined: no pure NE\\); R2 violated in 0 of them\n")))
      << r.err;
  const long holds = std::stol(m[1]), defined = std::stol(m[2]), undefined = std::stol(m[3]);
  EXPECT_EQ(holds, defined);
  EXPECT_EQ(defined + undefined, 300);
  EXPECT_GT(undefined, 0) << "3x3 games without a pure NE are common; seed 5 has some";
  // The column's row counts the same games, and the CSV leaves exactly the undefined ones empty.
  const std::regex row("\n  bound_holds +" + std::to_string(defined) + " +1 +1 +1\n");
  EXPECT_TRUE(std::regex_search(r.err, row)) << r.err;
  const std::string csv = dgeval_test::read_file(d / "r.csv");
  std::stringstream lines(csv);
  std::string line, header;
  std::getline(lines, header);
  const std::string before = header.substr(0, header.find(",bound_holds,"));
  const long at = std::count(before.begin(), before.end(), ',') + 1;
  long empty = 0;
  while (std::getline(lines, line)) {
    std::stringstream fields(line);
    std::string f;
    for (long j = 0; j <= at; ++j) std::getline(fields, f, ',');
    empty += f.empty();
  }
  EXPECT_EQ(empty, undefined);
  auto json = run_cli("evaluate --random 300 --dims 3x3 --seed 5 --backend cpu --format csv --summary json", d);
  EXPECT_TRUE(has(json.err, "\"bound_holds_defined\":" + std::to_string(defined) + ",")) << json.err;
  // uniform-eps-ne names its own reason.
  auto eps =
      run_cli("evaluate --random 300 --dims 3x3 --seed 5 --backend cpu --format csv --strategy uniform-eps-ne", d);
  EXPECT_TRUE(has(eps.err, " undefined: no eps-NE); R2 violated in 0 of them")) << eps.err;
}

TEST(Cli, SingleGameHasNoSummaryUnlessAsked) {
  SKIP_WITHOUT_CLI();
  TempDir d;
  auto one = run_cli("evaluate --example mammoth --backend cpu", d);
  ASSERT_EQ(one.status, 0) << one.err;
  EXPECT_FALSE(has(one.err, "summary:")) << one.err;
  EXPECT_FALSE(has(one.err, "checks:")) << one.err;
  EXPECT_TRUE(has(one.err, "dgeval: 1 game on the cpu backend in ")) << one.err;
  EXPECT_TRUE(has(run_cli("evaluate --example mammoth --backend cpu --summary text", d).err, "summary: 1 games;"));
  EXPECT_TRUE(has(run_cli("evaluate --example mammoth --backend cpu --summary json", d).err, "{\"games\":1,"));
  auto two = run_cli("evaluate --random 2 --dims 2x2 --backend cpu --format csv", d);
  EXPECT_TRUE(has(two.err, "summary: 2 games;")) << two.err;
  EXPECT_TRUE(has(two.err, "dgeval: 2 games on the cpu backend in ")) << two.err;
}

// The timing line counts the whole run and keeps 3 significant digits in a fitting unit, so a
// single game's time is not "0.000 s".
TEST(Cli, TimingLineIsUsefulForOneGame) {
  SKIP_WITHOUT_CLI();
  TempDir d;
  auto r = run_cli("evaluate --example mammoth --backend cpu --format csv", d);
  ASSERT_EQ(r.status, 0) << r.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.err, m,
                                std::regex("dgeval: 1 game on the cpu backend in ([0-9.]+) (s|ms|\u00b5s), reading and "
                                           "writing included \\(([0-9.e+]+) games/s\\)\n")))
      << r.err;
  EXPECT_GT(std::stod(m[1]), 0.0) << m[0];
  EXPECT_LE(m[1].str().size(), 4u) << "3 significant digits: " << m[0];
}

TEST(CliBad, UnknownStrategyListsTheNames) {
  SKIP_WITHOUT_CLI();
  TempDir d;
  auto r = run_cli("evaluate --example mammoth --strategy best", d);
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(has(r.err,
                  "unknown strategy 'best': expected worst-ne | best-ne | uniform-ne | uniform-eps-ne | "
                  "played, or a strategy FILE (.npy, .npz or text"))
      << r.err;
  EXPECT_FALSE(has(r.err, "cannot open")) << r.err;
  // A file of any name is still a strategy file; a KIND:FILE that is missing says so.
  dgeval_test::write_file(d / "best", "pure 1 1\n");
  auto file = run_cli("evaluate --example mammoth --backend cpu -q --format csv --strategy " + d / "best", d);
  EXPECT_EQ(file.status, 0) << file.err;
  auto missing = run_cli("evaluate --example mammoth --strategy pure:" + d / "missing.txt", d);
  EXPECT_EQ(missing.status, 1);
  EXPECT_TRUE(has(missing.err, "cannot open " + d / "missing.txt")) << missing.err;
}

TEST(Cli, DigitsForText) {
  SKIP_WITHOUT_CLI();
  TempDir d;
  auto three = run_cli("evaluate --example misaligned --backend cpu -q --digits 3", d);
  ASSERT_EQ(three.status, 0) << three.err;
  EXPECT_TRUE(has(three.out, "  ia                          [1, 0.125]\n")) << three.out;
  EXPECT_TRUE(has(run_cli("evaluate --example misaligned --backend cpu -q", d).out, "[1, 0.125410684141"));
  for (const char* bad : {"0", "18", "-2"}) {
    auto r = run_cli(std::string("evaluate --example misaligned --digits=") + bad, d);
    EXPECT_EQ(r.status, 2) << bad;
    EXPECT_TRUE(has(r.err, std::string("--digits: expected a number of significant digits from 1 to 17, got ") + bad))
        << r.err;
  }
  auto csv = run_cli("evaluate --example misaligned --digits 3 --format csv", d);
  EXPECT_EQ(csv.status, 2);
  EXPECT_TRUE(has(csv.err, "--digits applies to text output")) << csv.err;
}

TEST(CliBad, PandasIndexColumnGetsAHint) {
  SKIP_WITHOUT_CLI();
  TempDir d;
  dgeval_test::write_file(d / "obs.csv", ",action_0,action_1,agent_0,agent_1,principal_0,principal_1\n0,0,0,1,1,1,1\n");
  auto r = run_cli("infer --input " + d / "obs.csv", d);
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(has(r.err, "obs.csv, line 1, column 1: unknown column \"\"")) << r.err;
  EXPECT_TRUE(has(r.err, "(a pandas index column? write the CSV with index=False)")) << r.err;
}
