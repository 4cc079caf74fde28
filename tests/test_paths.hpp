// Where the tests find the source tree and the CLI, read at run time so that the test binary runs
// from another checkout than the one it was built in (bench/prepare_device.sh builds it here and
// bench/device_check.sh runs it on a GPU machine): the environment variable DGEVAL_SOURCE_DIR (the
// repository root, for tests/data and examples/) and DGEVAL_TEST_CLI (the dgeval binary) override
// the paths compiled in. tests/CMakeLists.txt includes this header first in every test file, so
// DGEVAL_SOURCE_DIR and DGEVAL_CLI_PATH read as before: expressions of type const char*.
#pragma once

#include <cstdlib>

namespace dgeval_test_paths {
inline const char* env_or(const char* name, const char* built) {
  const char* v = std::getenv(name);
  return v && *v ? v : built;
}
}  // namespace dgeval_test_paths

#define DGEVAL_SOURCE_DIR (::dgeval_test_paths::env_or("DGEVAL_SOURCE_DIR", DGEVAL_BUILT_SOURCE_DIR))
#define DGEVAL_CLI_PATH (::dgeval_test_paths::env_or("DGEVAL_TEST_CLI", DGEVAL_BUILT_CLI_PATH))
