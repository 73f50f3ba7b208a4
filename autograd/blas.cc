#include "autograd/blas.h"

#include <cblas.h>

namespace autograd::blas {
namespace {
CBLAS_TRANSPOSE Flag(bool transpose) { return transpose ? CblasTrans : CblasNoTrans; }
}  // namespace

void Gemm(bool transpose_a, bool transpose_b, size_t m, size_t n, size_t k, float alpha,
          const float* a, size_t lda, const float* b, size_t ldb, float beta, float* c,
          size_t ldc) {
  if (m == 0 || n == 0) return;
  cblas_sgemm(CblasRowMajor, Flag(transpose_a), Flag(transpose_b), m, n, k, alpha, a, lda, b, ldb,
              beta, c, ldc);
}

void Gemm(bool transpose_a, bool transpose_b, size_t m, size_t n, size_t k, double alpha,
          const double* a, size_t lda, const double* b, size_t ldb, double beta, double* c,
          size_t ldc) {
  if (m == 0 || n == 0) return;
  cblas_dgemm(CblasRowMajor, Flag(transpose_a), Flag(transpose_b), m, n, k, alpha, a, lda, b, ldb,
              beta, c, ldc);
}

void SetThreads(int threads) { openblas_set_num_threads(threads); }

}  // namespace autograd::blas
