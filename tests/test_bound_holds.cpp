// bound_holds is 1, 0 or undefined (NaN), never false for a game whose strategy is undefined: in
// Results, every writer (CSV empty field, JSON null, text "undefined", .npz float64 NaN) and the
// summary's R2 denominator.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "dgeval/dgeval.hpp"
#include "dgeval/io.hpp"
#include "test_cli_util.hpp"

namespace dgeval {
namespace {

// Game 0: the mammoth game (two pure NE, defined); game 1: matching pennies (no pure NE, so the
// default worst-ne strategy is undefined); game 2: mammoth again.
Batch mixed_batch() {
  const Batch mammoth = make_example("mammoth").batch, pennies = make_example("matching-pennies").batch;
  Batch b(mammoth.dims, 3);
  const std::size_t per = mammoth.agents.size();
  for (std::size_t g = 0; g < 3; ++g) {
    const Batch& src = g == 1 ? pennies : mammoth;
    std::copy(src.agents.begin(), src.agents.end(), b.agents.begin() + static_cast<std::ptrdiff_t>(g * per));
    std::copy(src.principals.begin(), src.principals.end(),
              b.principals.begin() + static_cast<std::ptrdiff_t>(g * per));
  }
  return b;
}

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::stringstream s(text);
  std::string item;
  while (std::getline(s, item, sep)) out.push_back(item);
  if (!text.empty() && text.back() == sep) out.emplace_back();
  return out;
}

TEST(BoundHolds, UndefinedExactlyWhenTheStrategyIs) {
  const Batch b = mixed_batch();
  const Results r = evaluate(b.view());
  ASSERT_EQ(r.bound_holds.size(), 3u);
  EXPECT_EQ(r.bound_holds[0], 1.0);
  EXPECT_TRUE(std::isnan(r.bound_holds[1])) << r.bound_holds[1];
  EXPECT_EQ(r.bound_holds[2], 1.0);
  EXPECT_EQ(r.flags[0] & flag_strategy_undefined, 0);
  EXPECT_NE(r.flags[1] & flag_strategy_undefined, 0);
  EXPECT_EQ(r.flags[1] & flag_bound_violated, 0);
  // A user strategy is defined in every game, matching pennies included.
  Options o;
  o.strategy.kind = StrategyKind::pure;
  o.strategy.actions = {0, 0};
  const Results u = evaluate(b.view(), o);
  for (std::int64_t g = 0; g < 3; ++g) EXPECT_EQ(u.bound_holds[g], 1.0) << g;
}

TEST(BoundHolds, EveryWriterSaysUndefined) {
  const Batch b = mixed_batch();
  const Results r = evaluate(b.view());

  std::ostringstream csv;
  write_results(csv, r, b.dims, OutputFormat::csv);
  const std::vector<std::string> lines = split(csv.str(), '\n');
  ASSERT_GE(lines.size(), 4u);
  const std::vector<std::string> header = split(lines[0], ',');
  const auto at = static_cast<std::size_t>(std::find(header.begin(), header.end(), "bound_holds") - header.begin());
  ASSERT_LT(at, header.size());
  for (std::size_t g = 0; g < 3; ++g) {
    const std::vector<std::string> row = split(lines[g + 1], ',');
    ASSERT_EQ(row.size(), header.size()) << lines[g + 1];
    EXPECT_EQ(row[at], g == 1 ? "" : "1") << "game " << g;
  }

  std::ostringstream jsonl;
  write_results(jsonl, r, b.dims, OutputFormat::jsonl);
  const std::vector<std::string> objects = split(jsonl.str(), '\n');
  ASSERT_GE(objects.size(), 3u);
  EXPECT_NE(objects[0].find("\"bound_holds\":true,"), std::string::npos) << objects[0];
  EXPECT_NE(objects[1].find("\"bound_holds\":null,"), std::string::npos) << objects[1];
  EXPECT_NE(objects[2].find("\"bound_holds\":true,"), std::string::npos) << objects[2];

  std::ostringstream text;
  write_results(text, r, b.dims, OutputFormat::text);
  const std::vector<std::string> games = [&] {
    std::vector<std::string> v;
    const std::string t = text.str();
    for (std::size_t start = t.find("game "); start != std::string::npos;) {
      const std::size_t next = t.find("\ngame ", start);
      v.push_back(t.substr(start, next == std::string::npos ? std::string::npos : next - start));
      start = next == std::string::npos ? next : next + 1;
    }
    return v;
  }();
  ASSERT_EQ(games.size(), 3u);
  const std::string pad(28 - std::string("bound_holds").size(), ' ');
  EXPECT_NE(games[0].find("  bound_holds" + pad + "1\n"), std::string::npos) << games[0];
  EXPECT_NE(games[1].find("  bound_holds" + pad + "undefined\n"), std::string::npos) << games[1];

  dgeval_test::TempDir d;
  for (bool float32 : {false, true}) {
    {
      ResultsNpzWriter w(d / "r.npz", false, float32);
      w.add(r, b.dims, 0);
      w.commit();
    }
    NpzReader z(d / "r.npz");
    EXPECT_EQ(z.header("bound_holds").descr, "<f8") << "float32 results: " << float32;
    const std::vector<double> v = z.load("bound_holds").values;
    ASSERT_EQ(v.size(), 3u);
    EXPECT_EQ(v[0], 1.0);
    EXPECT_TRUE(std::isnan(v[1]));
    EXPECT_EQ(v[2], 1.0);
  }
}

TEST(BoundHolds, SummaryLeavesUndefinedGamesOutOfTheCheck) {
  const Batch b = mixed_batch();
  const Results r = evaluate(b.view());
  Summary s;
  s.undefined_reason = "no pure NE";
  s.add(r);
  s.add(r);  // two chunks
  EXPECT_EQ(s.games, 6);
  EXPECT_EQ(s.bound_holds_defined, 4);
  EXPECT_EQ(s.bound_violations, 0);
  std::ostringstream text;
  s.write(text, false);
  EXPECT_NE(text.str().find("bound_holds (R2) in 4/4 games with a defined strategy (2 undefined: no pure NE); "
                            "R2 violated in 0 of them"),
            std::string::npos)
      << text.str();
  // The column's row agrees: 4 defined values, all 1.
  const auto row = std::find_if(s.columns.begin(), s.columns.end(),
                                [](const Summary::ColumnStat& c) { return c.name == "bound_holds"; });
  ASSERT_NE(row, s.columns.end());
  EXPECT_EQ(row->count, 4);
  EXPECT_EQ(row->sum, 4.0);
  std::ostringstream json;
  s.write(json, true);
  EXPECT_NE(json.str().find("\"bound_holds_defined\":4,"), std::string::npos) << json.str();
  EXPECT_NE(json.str().find("\"bound_holds\":{\"count\":4,\"mean\":1,"), std::string::npos) << json.str();
}

TEST(BoundHolds, SummaryNamesNonFiniteGamesAmongTheUndefined) {
  Batch b = mixed_batch();
  b.agents[2 * 8 + 3] = NAN;  // game 2 (mammoth), agent 0, outcome (1,1)
  Options o;
  o.allow_nonfinite = true;
  const Results r = evaluate(b.view(), o);
  EXPECT_TRUE(std::isnan(r.bound_holds[2]));
  EXPECT_EQ(r.flags[2], flag_nonfinite);
  Summary s;
  s.undefined_reason = "no pure NE";
  s.add(r);
  EXPECT_EQ(s.bound_holds_defined, 1);
  std::ostringstream text;
  s.write(text, false);
  EXPECT_NE(text.str().find("in 1/1 games with a defined strategy (2 undefined: 1 no pure NE, 1 non-finite)"),
            std::string::npos)
      << text.str();
}

}  // namespace
}  // namespace dgeval
