// dgeval._core: stopping a long C++ run from Python (Ctrl-C, or a progress callback returning
// False) while the GIL is released. Every binding that runs with a progress callback (evaluate,
// generate, grid_scan, bound_surface, inference_experiment) goes through Interruptible.
#pragma once

#include <nanobind/nanobind.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "dgeval/backend.hpp"  // dgeval::cancelled

namespace dgeval_python {

namespace nb = nanobind;

/// dgeval.Cancelled: raised when the user's progress callback returned False. Created when the
/// module is initialised (module.cpp); a reference kept for the life of the process.
extern nb::handle cancelled_type;

/// Lets a long C++ run (GIL released) be stopped: poll() is called from the running thread now
/// and then; it takes the GIL, runs pending signal handlers (Ctrl-C raises KeyboardInterrupt
/// there) and the user's progress callback, and keeps the first Python exception. After the
/// run (GIL held), raise_if_stopped() raises it, or dgeval.Cancelled ("<what> cancelled: the
/// progress callback returned False") when the callback returned False.
class Interruptible {
 public:
  Interruptible(nb::object progress, std::string what) : progress_(std::move(progress)), what_(std::move(what)) {}

  /// True to go on; false once stopped (a signal handler raised, the callback raised or
  /// returned False). Called without the GIL.
  bool poll(std::int64_t done, std::int64_t total);

  /// poll() for APIs whose progress cannot ask to stop: throws dgeval::cancelled instead.
  void poll_or_throw(std::int64_t done, std::int64_t total) {
    if (!poll(done, total)) throw dgeval::cancelled();
  }

  bool stopped() const { return pending_.has_value() || user_cancelled_; }

  /// Raises the Python exception a stop left (GIL held); nothing if not stopped.
  void raise_if_stopped();

  /// Runs `body` with the GIL released; a dgeval::cancelled that a stop caused becomes the
  /// Python exception, and a stop asked for at the very end (which the run need not notice) is
  /// honoured all the same: a Ctrl-C at the last moment still raises KeyboardInterrupt.
  template <class F>
  void run(F&& body) {
    try {
      nb::gil_scoped_release no_gil;
      body();
    } catch (const dgeval::cancelled&) {
      raise_if_stopped();
      throw;
    }
    raise_if_stopped();
  }

 private:
  nb::object progress_;
  std::string what_;
  std::optional<nb::python_error> pending_;
  bool user_cancelled_ = false;
};

}  // namespace dgeval_python
