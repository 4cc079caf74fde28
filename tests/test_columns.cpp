// Selecting result columns (Options::columns, --columns): parsing, the CPU backend, the writers,
// the summary's bound checks (carried by flags whatever is selected) and the CLI.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <sstream>
#include <string>

#include "dgeval/detail/measures.hpp"
#include "dgeval/dgeval.hpp"
#include "dgeval/io.hpp"
#include "test_cli_util.hpp"
#include "test_util.hpp"

namespace dgeval {
namespace {

ColumnMask bit(const char* name) { return ColumnMask{1} << column_index(name); }

TEST(Columns, ParseNamesAllAndErrors) {
  EXPECT_EQ(parse_columns("all"), kAllColumns);
  EXPECT_EQ(parse_columns("ia,bound"), bit("ia") | bit("bound") | bit("flags"));
  EXPECT_EQ(parse_columns(" ia , bound ,"), bit("ia") | bit("bound") | bit("flags"));
  EXPECT_EQ(parse_columns("flags"), bit("flags"));
  EXPECT_EQ(columns_text(parse_columns("bound,ia")), "ia,bound,flags");  // output order, not the list's
  dgeval_test::expect_error([] { parse_columns("ia_0"); }, {"ia_0", "base name", "principals_welfare_regret"});
  dgeval_test::expect_error([] { parse_columns("ia,regret"); }, {"'regret'"});
  dgeval_test::expect_error([] { parse_columns(" , "); }, {"comma-separated"});
  EXPECT_EQ(column_index("flags"), static_cast<int>(result_columns().size()) - 1);
  EXPECT_EQ(column_index("nope"), -1);
}

TEST(Columns, CpuBackendReturnsExactlyTheSelectedColumns) {
  DGEVAL_SEEDED(rng);
  const Batch b = testing::random_batch(Dims({3, 4, 2}), 37, rng);
  Options full_opt;
  full_opt.list_equilibria = true;
  Results full;
  make_cpu_backend(2)->evaluate(b.view(), full_opt, full);
  Options o = full_opt;
  o.columns = parse_columns("magnitude_principals,ca_agents,eps_ne_count,bound_holds");
  Results r;
  make_cpu_backend(2)->evaluate(b.view(), o, r);
  EXPECT_EQ(r.columns, o.columns);
  EXPECT_EQ(r.magnitude_principals, full.magnitude_principals);
  EXPECT_EQ(r.ca_agents.size(), 37u);
  for (std::size_t g = 0; g < 37; ++g) {
    EXPECT_EQ(r.ca_agents[g], full.ca_agents[g]);  // bit-identical: the same computation
  }
  EXPECT_EQ(r.eps_ne_count, full.eps_ne_count);
  ASSERT_EQ(r.bound_holds.size(), full.bound_holds.size());  // bit for bit, NaN (undefined) included
  EXPECT_EQ(std::memcmp(r.bound_holds.data(), full.bound_holds.data(), r.bound_holds.size() * sizeof(double)), 0);
  EXPECT_EQ(r.flags, full.flags);
  EXPECT_EQ(r.pure_ne, full.pure_ne);
  EXPECT_TRUE(r.ia.empty());
  EXPECT_TRUE(r.bound.empty());
  EXPECT_TRUE(r.pure_ne_count.empty());
  EXPECT_FALSE(r.has_column("ia"));
  EXPECT_TRUE(r.has_column("ca_agents"));
  // An empty batch keeps the selection too.
  Results none;
  make_cpu_backend(1)->evaluate(Batch(Dims({2, 2}), 0).view(), o, none);
  EXPECT_EQ(none.columns, o.columns);
}

TEST(Columns, WritersAndSummaryFollowTheSelection) {
  DGEVAL_SEEDED(rng);
  const Batch b = testing::random_batch(Dims({3, 3}), 12, rng);
  Options o;
  o.columns = parse_columns("bound,ia");
  Results r, full;
  make_cpu_backend(1)->evaluate(b.view(), o, r);
  make_cpu_backend(1)->evaluate(b.view(), Options{}, full);
  std::ostringstream csv, jsonl, text;
  write_results(csv, r, b.dims, OutputFormat::csv);
  EXPECT_EQ(csv.str().substr(0, csv.str().find('\n')), "game,ia_0,ia_1,bound,flags");
  write_results(jsonl, r, b.dims, OutputFormat::jsonl);
  const std::string first = jsonl.str().substr(0, jsonl.str().find('\n'));
  EXPECT_EQ(first.rfind("{\"game\":0,\"ia\":[", 0), 0u) << first;
  EXPECT_EQ(first.find("ca_principals"), std::string::npos);
  write_results(text, r, b.dims, OutputFormat::text);
  EXPECT_EQ(text.str().find("welfare_agents_max"), std::string::npos);
  EXPECT_NE(text.str().find("bound"), std::string::npos);

  const Summary s = summarise(r), sf = summarise(full);
  ASSERT_EQ(s.columns.size(), 2u);
  EXPECT_EQ(s.columns[0].name, "ia");
  EXPECT_EQ(s.columns[1].name, "bound");
  for (const auto& st : sf.columns) {
    if (st.name == "bound") {
      EXPECT_EQ(s.columns[1].sum, st.sum);
      EXPECT_EQ(s.columns[1].count, st.count);
    }
  }
  EXPECT_EQ(s.bound_violations, 0);
  EXPECT_EQ(s.games_without_pure_ne, sf.games_without_pure_ne);
}

// Rows are formatted in parallel blocks of 2048 games: the text does not depend on the threads.
TEST(Columns, WritersGiveTheSameTextForAnyThreadCount) {
  DGEVAL_SEEDED(rng);
  const Batch b = testing::random_batch(Dims({2, 3}), 5000, rng);
  Options o;
  o.list_equilibria = true;
  Results r;
  make_cpu_backend(2)->evaluate(b.view(), o, r);
  for (OutputFormat f : {OutputFormat::csv, OutputFormat::jsonl}) {
    std::ostringstream one, three;
    write_results(one, r, b.dims, f, 10, true, 1);
    write_results(three, r, b.dims, f, 10, true, 3);
    const std::string text = one.str();
    EXPECT_EQ(text, three.str());
    EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), f == OutputFormat::csv ? 5001 : 5000);
  }
}

// The bound checks behind flag_bound_violated and flag_ideal_gap_bound_violated (the summary and
// the CLI's exit status 3 read those flags, so they hold whatever columns are selected).
TEST(Columns, BoundCheckFlagsComeFromComputeBounds) {
  const double m[2] = {1.0, 1.0}, ia[2] = {1.0, 1.0}, zero[2] = {0.0, 0.0};
  detail::BoundInputs in{};
  in.players = 2;
  in.welfare = Welfare::average;
  in.constants = detail::standardisation_constants(Standardisation::epic);
  in.magnitude_agents = m;
  in.magnitude_principals = m;
  in.ia = ia;
  in.agents_at_best_principal_outcome = zero;
  in.agents_expected = zero;
  in.ca_principals = 1.0;  // R5 = 0
  in.principals_utopia = 1.0;
  in.principals_max = 1.0;  // ideal gap 0
  in.principals_regret = 0.0;
  detail::BoundOutputs b = detail::compute_bounds(in);
  EXPECT_TRUE(b.holds);
  EXPECT_TRUE(b.ideal_gap_holds);
  in.principals_regret = b.bound + 0.5;  // a regret above the (aligned, capable: zero) bound
  in.principals_max = 0.5;               // ideal gap 0.5 > R5 = 0
  b = detail::compute_bounds(in);
  EXPECT_FALSE(b.holds);
  EXPECT_FALSE(b.ideal_gap_holds);
  in.principals_max = NAN;  // undefined: not counted as a violation
  EXPECT_TRUE(detail::compute_bounds(in).ideal_gap_holds);
}

using dgeval_test::TempDir;

TEST(Columns, CommandLine) {
  SKIP_WITHOUT_CLI();
  TempDir d;
  auto r = dgeval_test::run_cli("evaluate --random 20 --dims 3x3 --seed 4 --columns ia,bound --backend cpu -q", d);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.substr(0, r.out.find('\n')), "game,ia_0,ia_1,bound,flags");
  auto full = dgeval_test::run_cli("evaluate --random 20 --dims 3x3 --seed 4 --backend cpu -q", d);
  ASSERT_EQ(full.status, 0);
  // Row 7 of both: the selected values are the full run's.
  auto row = [](const std::string& out, int k) {
    std::istringstream in(out);
    std::string line;
    for (int i = 0; i <= k + 1; ++i) std::getline(in, line);
    return line;
  };
  auto field = [](const std::string& line, int k) {
    std::istringstream in(line);
    std::string f;
    for (int i = 0; i <= k; ++i) std::getline(in, f, ',');
    return f;
  };
  const auto cols = dgeval::result_columns();
  int ia0 = 1, bound = 1;  // field positions in the full CSV (game first)
  for (const auto& c : cols) {
    if (std::string(c.name) == "ia") break;
    ia0 += c.kind == ColumnKind::player_real ? 2 : 1;
  }
  for (const auto& c : cols) {
    if (std::string(c.name) == "bound") break;
    bound += c.kind == ColumnKind::player_real ? 2 : 1;
  }
  EXPECT_EQ(field(row(r.out, 7), 1), field(row(full.out, 7), ia0));
  EXPECT_EQ(field(row(r.out, 7), 3), field(row(full.out, 7), bound));

  ASSERT_EQ(dgeval_test::run_cli("evaluate --random 20 --dims 3x3 --columns ca_agents,pure_ne_count -q --backend cpu "
                                 "--check all --output " +
                                     d / "r.npz",
                                 d)
                .status,
            0);
  NpzReader z(d / "r.npz");
  EXPECT_TRUE(z.has("ca_agents") && z.has("pure_ne_count") && z.has("flags") && z.has("game"));
  EXPECT_FALSE(z.has("ia") || z.has("bound"));
  // float32 .npz columns: the float64 run's values rounded to float.
  ASSERT_EQ(dgeval_test::run_cli("evaluate --random 20 --dims 3x3 --seed 4 --columns ia,bound --float32-results -q "
                                 "--backend cpu --distance-matrix --output " +
                                     d / "f.npz",
                                 d)
                .status,
            0);
  ASSERT_EQ(dgeval_test::run_cli("evaluate --random 20 --dims 3x3 --seed 4 --columns ia,bound -q --backend cpu "
                                 "--distance-matrix --output " +
                                     d / "d.npz",
                                 d)
                .status,
            0);
  NpzReader f(d / "f.npz"), dbl(d / "d.npz");
  for (const char* name : {"ia", "bound", "distance_matrix"}) {
    const NpyArray a32 = f.load(name), a64 = dbl.load(name);
    EXPECT_EQ(a32.header.descr, "<f4") << name;
    ASSERT_EQ(a32.values.size(), a64.values.size()) << name;
    for (std::size_t j = 0; j < a64.values.size(); ++j) {
      const double want = static_cast<double>(static_cast<float>(a64.values[j]));
      if (std::isnan(want)) {
        EXPECT_TRUE(std::isnan(a32.values[j])) << name << j;
      } else {
        EXPECT_EQ(a32.values[j], want) << name << j;
      }
    }
  }
  EXPECT_EQ(f.load("flags").header.descr, "<i8");
  EXPECT_EQ(dgeval_test::run_cli("evaluate --random 2 --dims 3x3 --float32-results -q", d).status, 2);
  auto bad = dgeval_test::run_cli("evaluate --random 2 --dims 3x3 --columns ia,regret -q", d);
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.err.find("--columns: unknown result column 'regret'"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace dgeval
