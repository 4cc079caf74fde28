// libFuzzer target: the .npy header parser and element conversion. Any input must either parse
// or throw dgeval::error.
#include <cstdint>

#include "dgeval/error.hpp"
#include "dgeval/io.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const dgeval::NpyHeader h = dgeval::parse_npy_header(data, size, "fuzz.npy");
    if (h.data_offset > static_cast<std::int64_t>(size)) __builtin_trap();
    (void)h.shape_text();
    if (h.data_bytes() <= (std::int64_t{1} << 20)) dgeval::parse_npy(data, size, "fuzz.npy");
  } catch (const dgeval::error&) {
  }
  return 0;
}
