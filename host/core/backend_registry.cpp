// Backend selection by name, and the "auto" backend's fallback from the GPU to the CPU.
#include "dgeval/backend.hpp"

#include <cstdio>
#include <utility>

#include "dgeval/error.hpp"

namespace dgeval {

namespace {

/// "auto" on a machine with a usable GPU: evaluates on the CUDA backend until the device cannot
/// run a batch (resource_error: out of device or pinned memory, a game too large for it), then
/// on the CPU backend from that batch on. Input errors are not resource errors: they propagate.
class AutoBackend final : public Backend {
 public:
  AutoBackend(std::unique_ptr<Backend> gpu, BackendConfig config) : gpu_(std::move(gpu)), config_(std::move(config)) {}

  const char* name() const override { return cpu_ ? cpu_->name() : gpu_->name(); }

  void evaluate(const BatchView& batch, const Options& options, Results& results) override {
    if (!cpu_) {
      gpu_->set_progress(progress_);
      try {
        gpu_->evaluate(batch, options, results);
        return;
      } catch (const resource_error& e) {
        // Games in device memory cannot move to the CPU backend: the caller gets the GPU's error.
        if (batch.memory != Memory::host) throw;
        const std::string message = std::string("falling back to the CPU backend: ") + e.what();
        if (config_.on_fallback) {
          config_.on_fallback(message);
        } else {
          std::fprintf(stderr, "dgeval: %s\n", message.c_str());
        }
        cpu_ = make_cpu_backend(config_.threads);
        gpu_.reset();
      }
    }
    cpu_->set_progress(progress_);
    cpu_->evaluate(batch, options, results);
  }

 private:
  std::unique_ptr<Backend> gpu_, cpu_;
  BackendConfig config_;
};

}  // namespace

std::unique_ptr<Backend> make_backend(const BackendConfig& config, std::string* warning) {
  if (config.name == "cpu") return make_cpu_backend(config.threads);
  if (config.name == "cuda") return make_cuda_backend(config.device);
  if (config.name == "auto") {
    std::string why;
    if (cuda_available(&why)) {
      try {
        return make_fallback_backend(make_cuda_backend(config.device), config);
      } catch (const error& e) {
        why = e.what();
      }
    }
    if (warning) *warning = "using the CPU backend: " + why;
    return make_cpu_backend(config.threads);
  }
  throw error("unknown backend \"" + config.name + "\"; expected one of: auto, cpu, cuda");
}

std::unique_ptr<Backend> make_fallback_backend(std::unique_ptr<Backend> gpu, const BackendConfig& config) {
  return std::make_unique<AutoBackend>(std::move(gpu), config);
}

}  // namespace dgeval
