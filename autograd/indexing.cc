#include "autograd/indexing.h"

#include <cstring>
#include <stdexcept>
#include <vector>

#include "absl/strings/str_format.h"
#include "xtensor/xbuilder.hpp"

namespace autograd {

Tensor GatherRows(const Tensor& table, const Array& indices) {
  if (table.dim() != 2) {
    throw ShapeError(absl::StrFormat("GatherRows: table must be [rows, width], got %s",
                                     ShapeString(table.shape())));
  }
  const size_t rows = table.size(0), width = table.size(1);
  std::vector<size_t> positions(indices.size());
  for (size_t k = 0; k < indices.size(); ++k) {
    const Real index = indices.data()[k];
    if (!(index >= 0 && index < static_cast<Real>(rows)) || index != static_cast<size_t>(index)) {
      throw std::out_of_range(absl::StrFormat(
          "index %g at position %d is not a whole number in [0, %d): raise input_dim or map the "
          "index to a known word",
          index, k, rows));
    }
    positions[k] = static_cast<size_t>(index);
  }
  Shape out_shape = ShapeOf(indices);
  out_shape.push_back(width);
  Array out = Array::from_shape(out_shape);
  for (size_t k = 0; k < positions.size(); ++k) {
    std::memcpy(out.data() + k * width, table.value().data() + positions[k] * width,
                width * sizeof(Real));
  }
  return MakeResult(std::move(out), {&table}, [table, positions, width](const Node& out) {
    Array grad = xt::zeros<Real>(table.value().shape());
    for (size_t k = 0; k < positions.size(); ++k) {
      Real* row = grad.data() + positions[k] * width;
      const Real* g = out.grad.data() + k * width;
      for (size_t j = 0; j < width; ++j) row[j] += g[j];
    }
    AccumulateGrad(table, std::move(grad), "GatherRows");
  });
}

}  // namespace autograd
