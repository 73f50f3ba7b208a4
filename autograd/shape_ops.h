// Ops that move elements without changing them: reshape, concat, slice, reverse.
#ifndef AUTOGRAD_SHAPE_OPS_H_
#define AUTOGRAD_SHAPE_OPS_H_

#include <vector>

#include "autograd/tensor.h"

namespace autograd {

// Same elements in row-major order, new shape (same element count, else ShapeError).
Tensor Reshape(const Tensor& x, const Shape& shape);

// Joins tensors along `axis` (negative counts from the end); all other extents must agree.
Tensor Concat(const std::vector<Tensor>& parts, int axis);

// Elements [begin, end) along `axis`; other axes unchanged.
Tensor Slice(const Tensor& x, int axis, size_t begin, size_t end);

// Reverses the order along `axis` (for sequences [batch, time, features]: axis 1 is time).
Tensor Reverse(const Tensor& x, int axis);

}  // namespace autograd

#endif  // AUTOGRAD_SHAPE_OPS_H_
