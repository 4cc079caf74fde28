// libFuzzer target: the Gambit .nfg reader. Any input must either parse or throw dgeval::error;
// a parsed game must survive write_nfg and a second parse unchanged.
#include <cmath>
#include <cstdint>
#include <sstream>
#include <string>

#include "dgeval/error.hpp"
#include "dgeval/io.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  dgeval::NfgGame g;
  dgeval::ReadOptions options;
  options.allow_nonfinite = size % 2 == 0;
  try {
    std::istringstream in(text);
    g = dgeval::parse_nfg(in, "fuzz.nfg", options, static_cast<std::int64_t>(size));
  } catch (const dgeval::error&) {
    return 0;
  }
  if (static_cast<std::int64_t>(g.payoffs.size()) != g.dims.players() * g.dims.outcomes()) __builtin_trap();
  std::ostringstream out;
  dgeval::write_nfg(out, g);
  std::istringstream again(out.str());
  const dgeval::NfgGame h = dgeval::parse_nfg(again, "fuzz-roundtrip.nfg", options);
  if (h.dims != g.dims) __builtin_trap();
  for (std::size_t k = 0; k < g.payoffs.size(); ++k) {
    const double a = g.payoffs[k], b = h.payoffs[k];
    if (!(a == b || (std::isnan(a) && std::isnan(b)))) __builtin_trap();
  }
  return 0;
}
