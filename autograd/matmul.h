// Matrix product through BLAS.
#ifndef AUTOGRAD_MATMUL_H_
#define AUTOGRAD_MATMUL_H_

#include "autograd/tensor.h"

namespace autograd {

// a: [..., k] (any number of leading axes, flattened into rows), b: [k, n] -> [..., n].
// Throws ShapeError naming both shapes when the inner extents differ or b is not a matrix.
Tensor MatMul(const Tensor& a, const Tensor& b);

}  // namespace autograd

#endif  // AUTOGRAD_MATMUL_H_
