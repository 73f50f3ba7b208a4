// Row-major GEMM on raw buffers, overloaded for float and double (OpenBLAS through CBLAS).
// Internal to //autograd: ops call it on contiguous arrays to avoid temporaries.
#ifndef AUTOGRAD_BLAS_H_
#define AUTOGRAD_BLAS_H_

#include <cstddef>

namespace autograd::blas {

// C[m, n] = alpha * op(A)[m, k] @ op(B)[k, n] + beta * C, where op transposes when asked.
// lda, ldb, ldc are the row strides of A, B and C as stored.
void Gemm(bool transpose_a, bool transpose_b, size_t m, size_t n, size_t k, float alpha,
          const float* a, size_t lda, const float* b, size_t ldb, float beta, float* c, size_t ldc);
void Gemm(bool transpose_a, bool transpose_b, size_t m, size_t n, size_t k, double alpha,
          const double* a, size_t lda, const double* b, size_t ldb, double beta, double* c,
          size_t ldc);

// OpenBLAS keeps its own pool of threads. For the small products of a one-sample step that pool
// only spins and steals the other core: call SetThreads(1) there. Large batches gain from 2.
void SetThreads(int threads);

}  // namespace autograd::blas

#endif  // AUTOGRAD_BLAS_H_
