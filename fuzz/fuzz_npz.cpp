// libFuzzer target: .npz archives (libzip) and the .npy headers of their entries. Any input must
// either be read or throw dgeval::error.
#include <cstdint>

#include "dgeval/error.hpp"
#include "dgeval/io.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    dgeval::NpzReader z(data, size, "fuzz.npz");
    for (const std::string& name : z.arrays()) {
      try {
        const dgeval::NpyHeader h = z.header(name);
        if (h.data_bytes() <= (std::int64_t{1} << 20)) z.load(name);
      } catch (const dgeval::error&) {
      }
    }
  } catch (const dgeval::error&) {
  }
  return 0;
}
