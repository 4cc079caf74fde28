// dgeval._core: NumPy arrays in and out, shared by the binding files (python/src/*.cpp).
#pragma once

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "dgeval/game.hpp"

namespace dgeval_python {

namespace nb = nanobind;

/// Any read-only, C-contiguous host array; the dtype is checked by hand for a clear message.
using InArray = nb::ndarray<nb::ro, nb::c_contig, nb::device::cpu>;
using IntArray = nb::ndarray<const std::int64_t, nb::c_contig, nb::device::cpu>;
using RealArray = nb::ndarray<const double, nb::c_contig, nb::device::cpu>;
using SetArray = nb::ndarray<const std::uint8_t, nb::c_contig, nb::device::cpu>;

/// A NumPy array that takes ownership of `v` (no copy): the vector lives in a capsule.
template <class T>
nb::object to_numpy(std::vector<T>&& v, std::vector<std::size_t> shape) {
  auto* owner = new std::vector<T>(std::move(v));
  nb::capsule keep(owner, [](void* p) noexcept { delete static_cast<std::vector<T>*>(p); });
  return nb::ndarray<nb::numpy, T>(owner->data(), shape.size(), shape.data(), keep).cast(nb::rv_policy::reference);
}

/// The shape of one side of a batch: [games,] n, k_1..k_n.
inline std::vector<std::size_t> side_shape(const dgeval::Dims& dims, std::int64_t games, bool with_games) {
  std::vector<std::size_t> shape;
  if (with_games) shape.push_back(static_cast<std::size_t>(games));
  shape.push_back(static_cast<std::size_t>(dims.players()));
  for (std::int64_t k : dims.actions()) shape.push_back(static_cast<std::size_t>(k));
  return shape;
}

/// Builds a dict of NumPy columns (numbers) and lists of str (text), in insertion order.
struct ColumnDict {
  nb::dict d;
  template <class T>
  void num(const char* name, std::vector<T>&& v) {
    const std::size_t size = v.size();
    d[name] = to_numpy(std::move(v), {size});
  }
  void text(const char* name, const std::vector<std::string>& v) {
    nb::list l;
    for (const std::string& s : v) l.append(nb::str(s.data(), s.size()));
    d[name] = l;
  }
  /// Column `name` holding `f(row)` for each row, where f is a member pointer or a callable:
  /// text for strings, int64 for integers, float64 otherwise.
  template <class Row, class F>
  void of(const char* name, const std::vector<Row>& rows, F f) {
    using V = std::decay_t<std::invoke_result_t<F, const Row&>>;
    if constexpr (std::is_convertible_v<V, std::string>) {
      std::vector<std::string> v;
      v.reserve(rows.size());
      for (const Row& r : rows) v.emplace_back(std::invoke(f, r));
      text(name, v);
    } else {
      using Out = std::conditional_t<std::is_integral_v<V>, std::int64_t, double>;
      std::vector<Out> v;
      v.reserve(rows.size());
      for (const Row& r : rows) v.push_back(static_cast<Out>(std::invoke(f, r)));
      num(name, std::move(v));
    }
  }
};

}  // namespace dgeval_python
