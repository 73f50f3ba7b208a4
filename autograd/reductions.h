// Sums and means.
#ifndef AUTOGRAD_REDUCTIONS_H_
#define AUTOGRAD_REDUCTIONS_H_

#include "autograd/tensor.h"

namespace autograd {

// All elements -> a scalar (shape ()).
Tensor Sum(const Tensor& x);
Tensor Mean(const Tensor& x);
// Over one axis (negative counts from the end): [d0, .., d_axis, ..] -> the shape without `axis`,
// or with extent 1 there when keep_dims.
Tensor Sum(const Tensor& x, int axis, bool keep_dims = false);
Tensor Mean(const Tensor& x, int axis, bool keep_dims = false);

// Resolves a possibly negative axis against `rank`, or ShapeError naming `op`.
size_t NormalizeAxis(int axis, size_t rank, const char* op);

}  // namespace autograd

#endif  // AUTOGRAD_REDUCTIONS_H_
