#include "autograd/blas.h"

#include <stdexcept>

#include "absl/strings/str_format.h"
#include "oneapi/dnnl/dnnl.h"

namespace autograd::blas {
namespace {

// beta * C, without reading C when beta is 0 (it may hold anything).
template <typename T>
void Scale(size_t m, size_t n, T beta, T* c, size_t ldc) {
  for (size_t i = 0; i < m; ++i) {
    for (size_t j = 0; j < n; ++j) c[i * ldc + j] = beta == T(0) ? T(0) : beta * c[i * ldc + j];
  }
}

// C += alpha op(A) op(B) by plain loops, each arranged so that its innermost loop runs over
// contiguous memory and vectorizes (the reductions through `omp simd`).
template <typename T>
void LoopGemm(bool transpose_a, bool transpose_b, size_t m, size_t n, size_t k, T alpha,
              const T* __restrict a, size_t lda, const T* __restrict b, size_t ldb,
              T* __restrict c, size_t ldc) {
  if (!transpose_b) {
    for (size_t i = 0; i < m; ++i) {
      T* __restrict c_row = c + i * ldc;
      for (size_t p = 0; p < k; ++p) {
        const T a_ip = alpha * (transpose_a ? a[p * lda + i] : a[i * lda + p]);
        const T* __restrict b_row = b + p * ldb;
#pragma omp simd
        for (size_t j = 0; j < n; ++j) c_row[j] += a_ip * b_row[j];
      }
    }
    return;
  }
  for (size_t i = 0; i < m; ++i) {
    for (size_t j = 0; j < n; ++j) {
      const T* __restrict b_row = b + j * ldb;
      T sum = 0;
      if (transpose_a) {
        for (size_t p = 0; p < k; ++p) sum += a[p * lda + i] * b_row[p];
      } else {
        const T* __restrict a_row = a + i * lda;
#pragma omp simd reduction(+ : sum)
        for (size_t p = 0; p < k; ++p) sum += a_row[p] * b_row[p];
      }
      c[i * ldc + j] += alpha * sum;
    }
  }
}

// Below this many multiply-adds a library call costs more than the product (measured with
// oneDNN 2.6 on the one-sample steps of merge_modes: 1 x 20 @ 20 x 80 and the like).
constexpr size_t kSmallProduct = 16 * 1024;

}  // namespace

void Gemm(bool transpose_a, bool transpose_b, size_t m, size_t n, size_t k, float alpha,
          const float* a, size_t lda, const float* b, size_t ldb, float beta, float* c,
          size_t ldc) {
  if (m == 0 || n == 0) return;
  if (k == 0) return Scale(m, n, beta, c, ldc);
  if (m * n * k <= kSmallProduct) {
    if (beta != 1.0f) Scale(m, n, beta, c, ldc);
    return LoopGemm(transpose_a, transpose_b, m, n, k, alpha, a, lda, b, ldb, c, ldc);
  }
  const dnnl_status_t status =
      dnnl_sgemm(transpose_a ? 'T' : 'N', transpose_b ? 'T' : 'N', m, n, k, alpha, a, lda, b, ldb,
                 beta, c, ldc);
  if (status != dnnl_success) {
    throw std::runtime_error(absl::StrFormat(
        "dnnl_sgemm failed (status %d) on %d x %d x %d", static_cast<int>(status), m, n, k));
  }
}

void Gemm(bool transpose_a, bool transpose_b, size_t m, size_t n, size_t k, double alpha,
          const double* a, size_t lda, const double* b, size_t ldb, double beta, double* c,
          size_t ldc) {
  if (m == 0 || n == 0) return;
  if (beta != 1.0) Scale(m, n, beta, c, ldc);
  LoopGemm(transpose_a, transpose_b, m, n, k, alpha, a, lda, b, ldb, c, ldc);
}

}  // namespace autograd::blas
