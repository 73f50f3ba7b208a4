// Matrix products through BLAS.
#ifndef AUTOGRAD_MATMUL_H_
#define AUTOGRAD_MATMUL_H_

#include "autograd/tensor.h"

namespace autograd {

// a: [..., k] (any number of leading axes, flattened into rows), b: [k, n] -> [..., n].
// Throws ShapeError naming both shapes when the inner extents differ or b is not a matrix.
Tensor MatMul(const Tensor& a, const Tensor& b);

// One matrix product per sample (tf.matmul on rank 3): a [batch, n, k] @ b [batch, k, m] ->
// [batch, n, m]; with transpose_b, b is [batch, m, k] and each of its matrices is transposed
// (attention's query @ key^T). Throws ShapeError naming both shapes when the batch or inner
// extents differ or either is not of rank 3.
Tensor BatchMatMul(const Tensor& a, const Tensor& b, bool transpose_b = false);

}  // namespace autograd

#endif  // AUTOGRAD_MATMUL_H_
