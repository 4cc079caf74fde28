// Backend selection by name.
#include "dgeval/backend.hpp"

#include "dgeval/error.hpp"

namespace dgeval {

std::unique_ptr<Backend> make_backend(const BackendConfig& config, std::string* warning) {
  if (config.name == "cpu") return make_cpu_backend(config.threads);
  if (config.name == "cuda") return make_cuda_backend(config.device);
  if (config.name == "auto") {
    std::string why;
    if (cuda_available(&why)) {
      try {
        return make_cuda_backend(config.device);
      } catch (const error& e) {
        why = e.what();
      }
    }
    if (warning) *warning = "using the CPU backend: " + why;
    return make_cpu_backend(config.threads);
  }
  throw error("unknown backend \"" + config.name + "\"; expected one of: auto, cpu, cuda");
}

}  // namespace dgeval
