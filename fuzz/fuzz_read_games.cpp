// libFuzzer target: the whole reading path the CLI takes. The input's bytes are written to a
// memory file (memfd) and opened by path as `dgeval evaluate --input FILE` would: the type told
// by the first bytes (.nfg, .npy or .npz), every game read chunk by chunk, the .npz's strategy
// and the .nfg's labels; the same bytes also read as a strategy text file. The memory budget is
// 256 MiB, so a size read from the input that is not checked before an allocation shows as a
// libFuzzer out-of-memory (run with -rss_limit_mb=1024 -malloc_limit_mb=1024). Any input must
// either be read or throw dgeval::error.
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "dgeval/error.hpp"
#include "dgeval/io.hpp"
#include "dgeval/memory.hpp"

namespace {

int memory_file() {
  static const int fd = [] {
    const int f = ::memfd_create("fuzz_read_games", MFD_CLOEXEC);
    if (f < 0) std::abort();
    return f;
  }();
  return fd;
}

void read_games(const std::string& path) {
  auto s = dgeval::open_game_file(path);
  const std::int64_t step = dgeval::games_per_chunk(s->dims());
  volatile double sink = 0;
  for (std::int64_t g = 0; g < s->games(); g += step) {
    const std::int64_t count = std::min(step, s->games() - g);
    const dgeval::BatchView v = s->read(g, count);
    const std::int64_t n = count * v.values_per_game();
    for (const void* side : {v.agents, v.principals}) {
      // Touch the first and the last value of each side.
      if (v.dtype == dgeval::DType::float64) {
        sink = sink + static_cast<const double*>(side)[0] + static_cast<const double*>(side)[n - 1];
      } else {
        sink = sink + static_cast<const float*>(side)[0] + static_cast<const float*>(side)[n - 1];
      }
    }
  }
  if (s->has_strategy()) s->strategy();
  for (int side = 0; side < 2; ++side) s->nfg_labels(side);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  dgeval::set_memory_limit(std::int64_t{256} << 20);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const int fd = memory_file();
  if (::ftruncate(fd, 0) != 0) std::abort();
  std::size_t done = 0;
  while (done < size) {
    const ssize_t w = ::pwrite(fd, data + done, size - done, static_cast<off_t>(done));
    if (w <= 0) std::abort();
    done += static_cast<std::size_t>(w);
  }
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  try {
    read_games(path);
  } catch (const dgeval::error&) {
  }
  try {
    dgeval::read_strategy_file(path, dgeval::Dims({2, 3}), 4);
  } catch (const dgeval::error&) {
  }
  return 0;
}
