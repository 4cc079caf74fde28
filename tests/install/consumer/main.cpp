// Evaluates the built-in example "mammoth" (docs/MATH.md §8) through the installed public API
// and checks the measures of its worked solution; exit status 0 when they agree. The backend is
// "auto" (the GPU when one is usable, else the CPU), so the CUDA backend is linked when built.
#include <cmath>
#include <cstdio>
#include <string>

#include <dgeval/dgeval.hpp>

namespace {

int failures = 0;

void expect(const char* what, double got, double want) {
  if (std::fabs(got - want) > dgeval::tolerances::golden_absolute) {
    std::printf("consumer: %s = %.17g, expected %.17g\n", what, got, want);
    ++failures;
  }
}

}  // namespace

int main() {
  try {
    const dgeval::Example ex = dgeval::make_example("mammoth");
    std::string warning;
    const auto backend = dgeval::make_backend(dgeval::BackendConfig{}, &warning);
    dgeval::Results r;
    backend->evaluate(ex.batch.view(), ex.options, r);
    if (r.games != 1 || r.players != 2) {
      std::printf("consumer: %lld games of %d players, expected 1 of 2\n", static_cast<long long>(r.games), r.players);
      return 1;
    }
    // Identical agents and principals: IA = CA = 1; the worst NE (F,F) has welfare 2 against
    // the best 10, so both welfare regrets and R3 are 8, and the bound holds.
    expect("ia_0", r.ia[0], 1.0);
    expect("ia_1", r.ia[1], 1.0);
    expect("ca_principals", r.ca_principals[0], 1.0);
    expect("pure_ne_count", static_cast<double>(r.pure_ne_count[0]), 2.0);
    expect("principals_welfare_regret", r.principals_welfare_regret[0], 8.0);
    expect("bound_r3", r.bound_r3[0], 8.0);
    expect("bound_holds", static_cast<double>(r.bound_holds[0]), 1.0);
    std::printf("consumer: dgeval %s, %s backend%s%s, mammoth: principals_welfare_regret = %g\n", dgeval::version(),
                backend->name(), warning.empty() ? "" : ": ", warning.c_str(), r.principals_welfare_regret[0]);
  } catch (const std::exception& e) {
    std::printf("consumer: %s\n", e.what());
    return 1;
  }
  return failures == 0 ? 0 : 1;
}
