// Row-major GEMM on raw buffers, overloaded for float and double. Internal to //autograd: ops call
// it on contiguous arrays to avoid temporaries.
//
// float goes to oneDNN's dnnl_sgemm, which picks its kernels from the CPUID features at run time
// (so processors newer than the library get their widest vector units) and threads through the
// one OpenMP pool of runtime.h. Called inside a parallel region it runs on the calling thread
// alone. Small products, and double (only the gradient checks use it), run on our own SIMD loops.
#ifndef AUTOGRAD_BLAS_H_
#define AUTOGRAD_BLAS_H_

#include <cstddef>

namespace autograd::blas {

// C[m, n] = alpha * op(A)[m, k] @ op(B)[k, n] + beta * C, where op transposes when asked.
// lda, ldb, ldc are the row strides of A, B and C as stored. k = 0 gives beta * C (zeros for
// beta = 0, whatever C held).
void Gemm(bool transpose_a, bool transpose_b, size_t m, size_t n, size_t k, float alpha,
          const float* a, size_t lda, const float* b, size_t ldb, float beta, float* c, size_t ldc);
void Gemm(bool transpose_a, bool transpose_b, size_t m, size_t n, size_t k, double alpha,
          const double* a, size_t lda, const double* b, size_t ldb, double beta, double* c,
          size_t ldc);

}  // namespace autograd::blas

#endif  // AUTOGRAD_BLAS_H_
