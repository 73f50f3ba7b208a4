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

Tensor BatchMatMul(const Tensor& a, const Tensor& b, bool transpose_b) {
  const bool ranks = a.dim() == 3 && b.dim() == 3;
  if (!ranks || a.size(0) != b.size(0) || a.size(2) != b.size(transpose_b ? 2 : 1)) {
    throw ShapeError(absl::StrFormat(
        "BatchMatMul: cannot multiply %s by %s%s (expected [batch, n, k] @ [batch, %s)",
        ShapeString(a.shape()), ShapeString(b.shape()), transpose_b ? " transposed" : "",
        transpose_b ? "m, k]^T" : "k, m]"));
  }
  const size_t batch = a.size(0), n = a.size(1), k = a.size(2);
  const size_t m = b.size(transpose_b ? 1 : 2);
  const size_t ldb = transpose_b ? k : m;  // b's row stride as stored
  Array out = Array::from_shape({batch, n, m});
  for (size_t s = 0; s < batch; ++s) {
    blas::Gemm(false, transpose_b, n, m, k, Real(1), a.value().data() + s * n * k, k,
               b.value().data() + s * k * m, ldb, Real(0), out.data() + s * n * m, m);
  }
  return MakeResult(
      std::move(out), {&a, &b}, [a, b, transpose_b, batch, n, k, m, ldb](const Node& out) {
        if (a.requires_grad()) {
          // d a = d out @ op(b)^T: with transpose_b, op(b)^T is b as stored.
          Array grad_a = Array::from_shape({batch, n, k});
          for (size_t s = 0; s < batch; ++s) {
            blas::Gemm(false, !transpose_b, n, k, m, Real(1), out.grad.data() + s * n * m, m,
                       b.value().data() + s * k * m, ldb, Real(0), grad_a.data() + s * n * k, k);
          }
          AccumulateGrad(a, std::move(grad_a), "BatchMatMul");
        }
        if (b.requires_grad()) {
          Array grad_b = Array::from_shape(b.shape());
          for (size_t s = 0; s < batch; ++s) {
            const Real* a_s = a.value().data() + s * n * k;
            const Real* g_s = out.grad.data() + s * n * m;
            if (transpose_b) {  // d b [m, k] = d out^T @ a
              blas::Gemm(true, false, m, k, n, Real(1), g_s, m, a_s, k, Real(0),
                         grad_b.data() + s * k * m, k);
            } else {  // d b [k, m] = a^T @ d out
              blas::Gemm(true, false, k, m, n, Real(1), a_s, k, g_s, m, Real(0),
                         grad_b.data() + s * k * m, m);
            }
          }
          AccumulateGrad(b, std::move(grad_b), "BatchMatMul");
        }
      });
}

}  // namespace autograd
