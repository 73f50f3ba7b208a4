#include "autograd/matmul.h"

#include "absl/strings/str_format.h"
#include "autograd/blas.h"

namespace autograd {

Tensor MatMul(const Tensor& a, const Tensor& b) {
  if (a.dim() < 1 || b.dim() != 2 || a.size(a.dim() - 1) != b.size(0)) {
    throw ShapeError(
        absl::StrFormat("MatMul: cannot multiply %s by %s (expected [..., k] @ [k, n])",
                        ShapeString(a.shape()), ShapeString(b.shape())));
  }
  const size_t k = b.size(0), n = b.size(1);
  size_t rows = 1;  // the product of a's leading extents (not numel / k: k may be 0)
  for (size_t axis = 0; axis + 1 < a.dim(); ++axis) rows *= a.size(axis);
  Shape out_shape = a.shape();
  out_shape.back() = n;
  Array out = Array::from_shape(out_shape);
  blas::Gemm(false, false, rows, n, k, Real(1), a.value().data(), k, b.value().data(), n, Real(0),
             out.data(), n);
  return MakeResult(std::move(out), {&a, &b}, [a, b, rows, k, n](const Node& out) {
    if (a.requires_grad()) {
      Array grad_a = Array::from_shape(a.shape());
      // d a = d out @ b^T
      blas::Gemm(false, true, rows, k, n, Real(1), out.grad.data(), n, b.value().data(), n, Real(0),
                 grad_a.data(), k);
      AccumulateGrad(a, std::move(grad_a), "MatMul");
    }
    if (b.requires_grad()) {
      Array grad_b = Array::from_shape({k, n});
      // d b = a^T @ d out, over all rows.
      blas::Gemm(true, false, k, n, rows, Real(1), a.value().data(), k, out.grad.data(), n, Real(0),
                 grad_b.data(), n);
      AccumulateGrad(b, std::move(grad_b), "MatMul");
    }
  });
}

}  // namespace autograd
