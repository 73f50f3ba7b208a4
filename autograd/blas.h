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
#include <cstdint>
#include <vector>

namespace autograd::blas {

// C[m, n] = alpha * op(A)[m, k] @ op(B)[k, n] + beta * C, where op transposes when asked.
// lda, ldb, ldc are the row strides of A, B and C as stored. k = 0 gives beta * C (zeros for
// beta = 0, whatever C held).
void Gemm(bool transpose_a, bool transpose_b, size_t m, size_t n, size_t k, float alpha,
          const float* a, size_t lda, const float* b, size_t ldb, float beta, float* c, size_t ldc);
void Gemm(bool transpose_a, bool transpose_b, size_t m, size_t n, size_t k, double alpha,
          const double* a, size_t lda, const double* b, size_t ldb, double beta, double* c,
          size_t ldc);

// The right-hand operand B [k, n] (row stride ldb, not transposed) of many products in a row, as
// a recurrent kernel is at every step: under the bfloat16 policy it is rounded once, at its first
// product, rather than at each (at a step's sizes the rounding costs a third of the product).
// B must not change while the object lives.
template <typename T>
class RepeatedOperand {
 public:
  RepeatedOperand(const T* b, size_t k, size_t n, size_t ldb) : b(b), k(k), n(n), ldb(ldb) {}

  const T* const b;
  const size_t k, n, ldb;
  std::vector<uint16_t> bfloat16;  // B rounded, packed [k, n]; filled by the first product
};

// C[m, n] = alpha A[m, k] @ B + beta C, as Gemm without transposes.
void Gemm(size_t m, float alpha, const float* a, size_t lda, RepeatedOperand<float>& b, float beta,
          float* c, size_t ldc);
void Gemm(size_t m, double alpha, const double* a, size_t lda, RepeatedOperand<double>& b,
          double beta, double* c, size_t ldc);

}  // namespace autograd::blas

#endif  // AUTOGRAD_BLAS_H_
