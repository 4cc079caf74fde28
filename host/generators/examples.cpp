// The worked examples of docs/MATH.md §8 as built-in games.
#include "dgeval/examples.hpp"

#include "dgeval/error.hpp"

namespace dgeval {
namespace {

// One game from per-player utility rows (agents then principals), each of length N.
Example make(const std::string& name, const std::string& description, std::vector<std::int64_t> dims,
             const std::vector<std::vector<double>>& agents, const std::vector<std::vector<double>>& principals) {
  Example e;
  e.name = name;
  e.description = description;
  e.batch = Batch(Dims(std::move(dims)), 1);
  std::size_t pos = 0;
  for (const auto& row : agents) {
    for (double v : row) e.batch.agents[pos++] = v;
  }
  pos = 0;
  for (const auto& row : principals) {
    for (double v : row) e.batch.principals[pos++] = v;
  }
  return e;
}

}  // namespace

std::vector<std::string> example_names() {
  return {"mammoth", "mammoth-negated", "misaligned", "matching-pennies", "common-3x3", "max-ca-negative"};
}

Example make_example(const std::string& name) {
  // Outcome order for 2x2 games: (F,F), (F,M), (M,F), (M,M); F = fruit (0), M = mammoth (1).
  const std::vector<double> mammoth = {2, 1, 1, 10};
  if (name == "mammoth") {
    return make(name, "docs/MATH.md §8 Example A: common-payoff mammoth game, agents identical to principals", {2, 2},
                {mammoth, mammoth}, {mammoth, mammoth});
  }
  if (name == "mammoth-negated") {
    const std::vector<double> neg = {-2, -1, -1, -10};
    return make(name, "docs/MATH.md §8 Example A, necessity of IA: agents' utilities are the principals' negated",
                {2, 2}, {neg, neg}, {mammoth, mammoth});
  }
  if (name == "misaligned") {
    return make(name, "docs/MATH.md §8 Example B: agent 2 only likes gathering fruit", {2, 2}, {mammoth, {2, 1, 2, 1}},
                {mammoth, mammoth});
  }
  if (name == "matching-pennies") {
    const std::vector<double> p1 = {1, -1, -1, 1}, p2 = {-1, 1, 1, -1};
    return make(name, "docs/MATH.md §8 Example C: zero-sum principals (CA = 0); agents identical", {2, 2}, {p1, p2},
                {p1, p2});
  }
  if (name == "common-3x3") {
    const std::vector<double> u = {4, 3, 0, 3, 2, 1, 0, 1, 10};
    return make(name, "docs/MATH.md §8 Example D: 3x3 common payoff, for IC and CC", {3, 3}, {u, u}, {u, u});
  }
  if (name == "max-ca-negative") {
    const std::vector<std::vector<double>> nu = {{1, -1, 1}, {1, 1, -1}, {-1, 1, 1}};
    Example e = make(name, "docs/MATH.md §8 Example E: 3 players, 3 outcomes, CA under MAX is -1/3", {3, 1, 1}, nu, nu);
    e.options.standardisation = Standardisation::max;
    return e;
  }
  std::string names;
  for (const auto& n : example_names()) names += (names.empty() ? "" : ", ") + n;
  throw error("unknown example \"" + name + "\"; built-in examples: " + names);
}

}  // namespace dgeval
