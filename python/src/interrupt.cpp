// dgeval._core: Interruptible (interrupt.hpp).
#include "interrupt.hpp"

namespace dgeval_python {

nb::handle cancelled_type;

bool Interruptible::poll(std::int64_t done, std::int64_t total) {
  nb::gil_scoped_acquire gil;
  if (stopped()) return false;
  if (PyErr_CheckSignals() != 0) {
    pending_.emplace();
    return false;
  }
  if (!progress_.is_none()) {
    try {
      nb::object keep_going = progress_(done, total);
      if (keep_going.is(nb::handle(Py_False))) {
        user_cancelled_ = true;
        return false;
      }
    } catch (nb::python_error& e) {
      pending_.emplace(std::move(e));
      return false;
    }
  }
  return true;
}

void Interruptible::raise_if_stopped() {
  if (pending_) {
    nb::python_error e = std::move(*pending_);
    pending_.reset();
    throw std::move(e);
  }
  if (user_cancelled_) {
    user_cancelled_ = false;
    PyErr_SetString(cancelled_type.ptr(), (what_ + " cancelled: the progress callback returned False").c_str());
    throw nb::python_error();
  }
}

}  // namespace dgeval_python
