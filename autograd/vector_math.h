// Activations over raw buffers with SIMD (xsimd), for the fused recurrent ops' inner loops.
#ifndef AUTOGRAD_VECTOR_MATH_H_
#define AUTOGRAD_VECTOR_MATH_H_

#include <cstddef>

#include "autograd/tensor.h"

namespace autograd::vector_math {

// data[k] = 1 / (1 + exp(-data[k])) for k < n.
void SigmoidInPlace(Real* data, size_t n);
// data[k] = tanh(data[k]).
void TanhInPlace(Real* data, size_t n);

// Sigmoid, faster and to within 2^-11 in float, for int8 inference, whose quantization errs far
// more (exact in double): the exponential to 2^-14 and the reciprocal as the processor estimates it
// (2^-14 on AVX-512, 1.5 2^-12 on AVX). Tanh has no such form: xsimd's is as fast where the
// values are small, as in the cells.
void SigmoidInPlaceApproximate(Real* data, size_t n);

// One Adam update of n parameters (Keras' formula, see optimizers.h):
//   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;  p -= lr_t m / (sqrt(v) + epsilon).
void AdamUpdate(Real* parameter, Real* m, Real* v, const Real* gradient, size_t n, Real lr_t,
                Real beta1, Real beta2, Real epsilon);

}  // namespace autograd::vector_math

#endif  // AUTOGRAD_VECTOR_MATH_H_
