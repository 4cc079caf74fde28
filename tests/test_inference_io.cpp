// Observation files and bad input for inference: CSV and .npz readers, every refusal naming the
// file, line/row, column and what was expected; unknown outcome indices, inconsistent utilities
// for one outcome, too few samples; and the `dgeval infer` / `dgeval experiment inference` CLI.
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "dgeval/inference.hpp"
#include "dgeval/io.hpp"
#include "test_cli_util.hpp"

namespace dgeval {
namespace {

using dgeval_test::expect_error;
using dgeval_test::run_cli;
using dgeval_test::TempDir;
using dgeval_test::write_file;

Observations parse(const std::string& text, const std::string& dims = "", ObservedSet def = ObservedSet::played) {
  std::istringstream in(text);
  ObservationReadOptions o;
  if (!dims.empty()) o.dims = Dims::parse(dims), o.has_dims = true;
  o.default_set = def;
  return parse_observations_csv(in, "obs.csv", o);
}

const char* kGood =
    "# stag hunt observations\n"
    "action_0,action_1,agent_0,agent_1,principal_0,principal_1,set\n"
    "0,0,2,2,2,2,all\n"
    "1,1,10,10,10,10,all\n"
    "\n"
    "0,1,1,1,1,1,ne\n"
    "0,0,2,2,2,2,played\n";

TEST(InferenceIo, ReadsCsvWithSetsCommentsAndBlankLines) {
  const Observations o = parse(kGood, "2x2");
  ASSERT_EQ(o.rows(), 4);
  EXPECT_EQ(o.outcome, (std::vector<std::int64_t>{0, 3, 1, 0}));
  EXPECT_EQ(o.set[2], ObservedSet::ne);
  EXPECT_EQ(o.set[3], ObservedSet::played);
  EXPECT_EQ(o.where(1), "obs.csv, line 4");
  EXPECT_TRUE(o.dims_known);
  // Without dims: the largest indices, noted as unknown.
  const Observations u = parse(kGood);
  EXPECT_EQ(u.dims, Dims({2, 2}));
  EXPECT_FALSE(u.dims_known);
  // Round trip through the writer.
  std::ostringstream out;
  write_observations_csv(out, o);
  const Observations back = parse(out.str(), "2x2");
  EXPECT_EQ(back.outcome, o.outcome);
  EXPECT_EQ(back.agents, o.agents);
  EXPECT_EQ(back.set, o.set);
}

TEST(InferenceIo, FlatOutcomeColumnNeedsDims) {
  const std::string text = "outcome,agent_0,principal_0\n0,1,1\n2,3,0.5\n";
  const Observations o = parse(text, "3");
  EXPECT_EQ(o.outcome, (std::vector<std::int64_t>{0, 2}));
  expect_error([&] { parse(text); }, {"obs.csv", "flat `outcome` index needs the game's dims"});
  expect_error([&] { parse(text, "2"); },
               {"obs.csv, line 3, column outcome", "outcome index 2 is outside [0, 2)", "unknown outcome"});
}

TEST(InferenceIo, UnknownOutcomeIndicesAreRefused) {
  const std::string text = "action_0,action_1,agent_0,agent_1,principal_0,principal_1\n0,0,1,1,1,1\n0,3,1,1,1,1\n";
  expect_error([&] { parse(text, "3x3"); }, {"obs.csv, line 3, column action_1",
                                             "action 3 of player 1 is outside [0, 3)", "3x3", "unknown outcome"});
  const std::string negative = "action_0,action_1,agent_0,agent_1,principal_0,principal_1\n-1,0,1,1,1,1\n";
  expect_error([&] { parse(negative); }, {"line 2, column action_0", "action -1"});
  expect_error([&] { parse(text, "3x3x3"); }, {"2 players", "3x3x3"});
  // Observations built in code are checked by infer().
  Observations o;
  o.dims = Dims({2, 2});
  const double u[2] = {1, 2};
  o.add(7, u, u, ObservedSet::all);
  expect_error([&] { infer(o); }, {"row 0", "outcome index 7 is outside the game 2x2", "expected 0 to 3"});
}

TEST(InferenceIo, InconsistentUtilitiesForOneOutcomeAreRefused) {
  const std::string text =
      "action_0,action_1,agent_0,agent_1,principal_0,principal_1\n"
      "0,1,1,2,3,4\n"
      "1,1,0,0,0,0\n"
      "0,1,1,2,3.5,4\n";
  const Observations o = parse(text, "2x2");
  expect_error([&] { infer(o); }, {"obs.csv, line 4", "outcome (0,1)", "principal_0 = 3.5", "obs.csv, line 2 gave it 3",
                                   "same utilities"});
  // Equal within the relative 1e-9 is accepted (printing noise).
  const Observations ok = parse("action_0,agent_0,principal_0\n0,1,1\n0,1.0000000000001,1\n1,2,0\n");
  EXPECT_NO_THROW(infer(ok, InferenceOptions{0, 0.95, 0, 1}));
}

TEST(InferenceIo, MalformedCsvIsRefusedWithItsPosition) {
  expect_error([&] { parse(""); }, {"obs.csv", "empty file"});
  expect_error([&] { parse("action_0,agent_0,principal_0\n"); }, {"obs.csv", "no observation rows"});
  expect_error([&] { parse("action_0,agent_0,principal_0\n0,abc,1\n"); },
               {"obs.csv, line 2, column agent_0", "\"abc\" is not a number"});
  expect_error([&] { parse("action_0,agent_0,principal_0\n0,nan,1\n"); }, {"line 2, column agent_0", "must be finite"});
  expect_error([&] { parse("action_0,agent_0,principal_0\n0.5,1,1\n"); }, {"column action_0", "not an integer index"});
  expect_error([&] { parse("action_0,agent_0,principal_0\n0,1\n"); }, {"line 2", "2 fields, expected 3"});
  expect_error([&] { parse("action_0,action_1,agent_0,agent_1,principal_0\n"); },
               {"line 1", "2 agent_ columns but 1 principal_ columns"});
  expect_error([&] { parse("action_0,agent_0,agent_2,principal_0\n"); }, {"column agent_1 is missing"});
  expect_error([&] { parse("action_0,agent_0,principal_0,utility\n"); }, {"column 4: unknown column \"utility\""});
  // pandas' index column (to_csv without index=False), unnamed or read back as "Unnamed: 0".
  for (const char* head : {",action_0,agent_0,principal_0\n0,0,1,1\n", "Unnamed: 0,action_0,agent_0,principal_0\n"}) {
    expect_error([&] { parse(head); },
                 {"line 1, column 1: unknown column", "(a pandas index column? write the CSV with index=False)"});
  }
  try {  // no hint for an unknown column that is not first
    parse("action_0,agent_0,principal_0,\n");
    ADD_FAILURE() << "accepted";
  } catch (const error& e) {
    EXPECT_EQ(std::string(e.what()).find("pandas"), std::string::npos) << e.what();
  }
  expect_error([&] { parse("agent_0,principal_0\n"); }, {"give the outcome either as action_0"});
  expect_error([&] { parse("action_0,agent_0,principal_0,set\n0,1,1,equilibrium\n"); },
               {"line 2, column set", "unknown observed set \"equilibrium\""});
}

TEST(InferenceIo, TooFewSamplesGiveNaNWithAReasonOrAnError) {
  Observations none;
  none.dims = Dims({2, 2});
  expect_error([&] { infer(none); }, {"no observations"});
  // Two distinct outcomes: IA is defined, but most bootstrap replicates draw one outcome twice.
  const Observations two = parse("action_0,agent_0,principal_0\n0,1,1\n1,2,3\n");
  InferenceOptions io;
  io.resamples = 200;
  io.threads = 1;
  const Inference r = infer(two, io);
  EXPECT_FALSE(std::isnan(r.corrected.ia[0].value));
  EXPECT_TRUE(std::isnan(r.corrected.ia[0].lo));
  EXPECT_NE(r.corrected.ia[0].interval_reason.find("bootstrap replicates"), std::string::npos);
  // The text output explains every NaN.
  std::ostringstream text;
  write_inference(text, r, InferenceFormat::text);
  EXPECT_NE(text.str().find("(too few distinct outcomes)"), std::string::npos) << text.str();
  std::ostringstream json;
  write_inference(json, r, InferenceFormat::json);
  EXPECT_NE(json.str().find("\"interval_reason\""), std::string::npos);
  EXPECT_NE(json.str().find("\"estimate\":null"), std::string::npos);  // NaN as null
}

TEST(InferenceIo, ReadsNpzAndRefusesBadArrays) {
  TempDir dir;
  const std::vector<double> actions = {0, 0, 1, 2, 1, 1}, agents = {1, 2, 3, 4, 5, 6}, principals = {1, 1, 2, 2, 3, 3};
  const std::vector<std::int64_t> set = {0, 3, 2};
  const std::vector<std::int64_t> dims = {2, 3};
  auto write = [&](const std::string& name, bool with_set, bool with_dims, const std::vector<double>& act) {
    NpzWriter w(dir / name);
    w.add("actions", {3, 2}, "<f8", act.data());
    w.add("agents", {3, 2}, "<f8", agents.data());
    w.add("principals", {3, 2}, "<f8", principals.data());
    if (with_set) w.add("set", {3}, "<i8", set.data());
    if (with_dims) w.add("dims", {2}, "<i8", dims.data());
    w.commit();
    return dir / name;
  };
  const Observations o = read_observations(write("ok.npz", true, true, actions));
  EXPECT_EQ(o.dims, Dims({2, 3}));
  EXPECT_EQ(o.outcome, (std::vector<std::int64_t>{0, 5, 4}));
  EXPECT_EQ(o.set[1], ObservedSet::played);
  EXPECT_EQ(o.where(2), dir / "ok.npz" + ", row 2");
  const std::vector<double> bad_action = {0, 0, 1, 3, 1, 1};
  expect_error([&] { read_observations(write("bad.npz", false, true, bad_action)); },
               {"bad.npz, array actions, row 1, player 1", "action 3", "outside [0, 3)"});
  const std::vector<double> fractional = {0, 0.5, 1, 2, 1, 1};
  expect_error([&] { read_observations(write("frac.npz", false, false, fractional)); },
               {"array actions, element 1", "not an integer index"});
  // A games file is not an observations file.
  {
    NpzWriter w(dir / "games.npz");
    const std::vector<double> g(2 * 2 * 2 * 2, 1.0);
    w.add("agents", {2, 2, 2, 2}, "<f8", g.data());
    w.add("principals", {2, 2, 2, 2}, "<f8", g.data());
    w.commit();
  }
  expect_error([&] { read_observations(dir / "games.npz"); },
               {"no array `actions`", "hold games: pass them with --game"});
  {
    NpzWriter w(dir / "shape.npz");
    w.add("actions", {3, 2}, "<f8", actions.data());
    w.add("agents", {3, 2}, "<f8", agents.data());
    w.add("principals", {2, 3}, "<f8", principals.data());
    w.commit();
  }
  expect_error([&] { read_observations(dir / "shape.npz"); }, {"array principals: shape (2, 3)", "expected (3, 2)"});
  {
    const std::vector<std::int64_t> bad_set = {0, 7, 1};
    NpzWriter w(dir / "set.npz");
    w.add("actions", {3, 2}, "<f8", actions.data());
    w.add("agents", {3, 2}, "<f8", agents.data());
    w.add("principals", {3, 2}, "<f8", principals.data());
    w.add("set", {3}, "<i8", bad_set.data());
    w.commit();
  }
  expect_error([&] { read_observations(dir / "set.npz"); }, {"array set, row 1", "7 is not a set code"});
  expect_error([&] { read_observations(dir / "obs.parquet"); }, {"unknown observations format"});
}

// The example files the README and docs/INFERENCE.md use: the .npz holds the CSV's rows.
TEST(InferenceIo, ExampleObservationsCsvAndNpzAgree) {
  const std::string dir = std::string(DGEVAL_SOURCE_DIR) + "/examples/";
  const Observations c = read_observations(dir + "observations.csv");
  const Observations z = read_observations(dir + "observations.npz");
  EXPECT_EQ(c.rows(), 200);
  EXPECT_EQ(c.dims, Dims({3, 3}));
  EXPECT_FALSE(c.dims_known);  // the CSV carries no dims: the docs pass --dims 3x3
  EXPECT_TRUE(z.dims_known);   // the .npz has a dims array
  EXPECT_EQ(z.dims, c.dims);
  EXPECT_EQ(z.outcome, c.outcome);
  EXPECT_EQ(z.agents, c.agents);
  EXPECT_EQ(z.principals, c.principals);
  EXPECT_EQ(z.set, c.set);
  int per_set[kObservedSets] = {};
  for (ObservedSet s : c.set) ++per_set[static_cast<int>(s)];
  for (int s = 0; s < kObservedSets; ++s) EXPECT_EQ(per_set[s], 50) << s;
}

TEST(InferenceCli, InferPrintsEstimatesWithIntervals) {
  TempDir dir;
  write_file(dir / "obs.csv", kGood);
  auto r = run_cli("infer --input '" + dir / "obs.csv" + "' --dims 2x2 --resamples 50 --format csv", dir);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("family,measure,player,estimate,lo,hi,level,replicates,reason"), std::string::npos);
  EXPECT_NE(r.out.find("corrected,ca,,"), std::string::npos) << r.out;
  r = run_cli(
      "infer --example common-3x3 --sample all,ne,eps_ne,played --ic 0.5 --samples 100 --resamples 100 --format json "
      "-o '" +
          dir / "est.json" + "' --write-observations '" + dir / "sampled.csv" + "'",
      dir);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("truth (evaluated on the whole game"), std::string::npos);
  EXPECT_NE(dgeval_test::read_file(dir / "est.json").find("\"family\":\"corrected\",\"measure\":\"ic\""),
            std::string::npos);
  EXPECT_EQ(read_observations(dir / "sampled.csv").rows(), 400);
  // Bad input: exit status 1 and the position in the message.
  write_file(dir / "bad.csv", "action_0,action_1,agent_0,agent_1,principal_0,principal_1\n0,5,1,1,1,1\n");
  r = run_cli("infer --input '" + dir / "bad.csv" + "' --dims 2x2", dir);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("bad.csv, line 2, column action_1"), std::string::npos) << r.err;
  r = run_cli("infer --input '" + dir / "obs.csv" + "' --example mammoth", dir);
  EXPECT_EQ(r.status, 2);
}

TEST(InferenceCli, ExperimentWritesCurves) {
  TempDir dir;
  const auto r = run_cli("experiment inference --sizes 3x3,2x2x2 --games 3 --samples 30 --every 10 -q -o '" +
                             dir / "curves.csv" + "' --per-game '" + dir / "games.csv" + "'",
                         dir);
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string curves = dgeval_test::read_file(dir / "curves.csv");
  EXPECT_EQ(curves.rfind("size,outcomes,distribution,estimator,measure,samples,games,undefined,mean,sd,", 0), 0u);
  EXPECT_NE(curves.find("3x3,9,all,corrected,ca,30,3,0,"), std::string::npos) << curves.substr(0, 400);
  const std::string games = dgeval_test::read_file(dir / "games.csv");
  EXPECT_EQ(std::count(games.begin(), games.end(), '\n'), 1 + 2 * 3 * 4 * 2 * 3);
}

}  // namespace
}  // namespace dgeval
