// Elementwise ops. Binary ops broadcast as NumPy does (shapes aligned on the right, extent-1 axes
// stretched); the result has the broadcast shape and each operand's gradient is summed back to its
// own shape (ReduceToShape). A shape that cannot broadcast throws ShapeError naming the op.
#ifndef AUTOGRAD_ELEMENTWISE_H_
#define AUTOGRAD_ELEMENTWISE_H_

#include "autograd/tensor.h"

namespace autograd {

Tensor Add(const Tensor& a, const Tensor& b);
Tensor Sub(const Tensor& a, const Tensor& b);
Tensor Mul(const Tensor& a, const Tensor& b);
Tensor Div(const Tensor& a, const Tensor& b);
// a * factor, for a constant factor.
Tensor Scale(const Tensor& a, Real factor);

inline Tensor operator+(const Tensor& a, const Tensor& b) { return Add(a, b); }
inline Tensor operator-(const Tensor& a, const Tensor& b) { return Sub(a, b); }
inline Tensor operator*(const Tensor& a, const Tensor& b) { return Mul(a, b); }
inline Tensor operator/(const Tensor& a, const Tensor& b) { return Div(a, b); }

// Same shape as x.
Tensor Sigmoid(const Tensor& x);
Tensor Tanh(const Tensor& x);
Tensor Relu(const Tensor& x);
Tensor Exp(const Tensor& x);
Tensor Log(const Tensor& x);

// The broadcast shape of a and b, or ShapeError "<op>: cannot broadcast (..) with (..)".
Shape BroadcastShape(const Shape& a, const Shape& b, const char* op);

}  // namespace autograd

#endif  // AUTOGRAD_ELEMENTWISE_H_
