#include "autograd/elementwise.h"

#include <functional>

#include "absl/strings/str_format.h"
#include "xtensor/xmath.hpp"
#include "xtensor/xoperation.hpp"

namespace autograd {

Shape BroadcastShape(const Shape& a, const Shape& b, const char* op) {
  Shape result(std::max(a.size(), b.size()));
  for (size_t i = 0; i < result.size(); ++i) {
    // Aligned on the right; a missing axis counts as extent 1.
    const size_t ea = i < a.size() ? a[a.size() - 1 - i] : 1;
    const size_t eb = i < b.size() ? b[b.size() - 1 - i] : 1;
    if (ea != eb && ea != 1 && eb != 1) {
      throw ShapeError(absl::StrFormat("%s: cannot broadcast shape %s with shape %s", op,
                                       ShapeString(a), ShapeString(b)));
    }
    result[result.size() - 1 - i] = std::max(ea, eb);
  }
  return result;
}

namespace {

// Whether `suffix` is the trailing part of `shape`: an operand broadcast over leading rows.
bool IsSuffix(const Array& suffix, const Array& shape) {
  const auto& s = suffix.shape();
  const auto& full = shape.shape();
  return s.size() <= full.size() && std::equal(s.begin(), s.end(), full.end() - s.size());
}

// op(a, b) elementwise with broadcasting. Equal shapes, and one operand repeated over the other's
// leading rows (a bias), run as plain loops; anything else through xtensor's general broadcast.
template <typename Op>
Array Combine(const Array& a, const Array& b, Op op) {
  if (IsSuffix(b, a) || IsSuffix(a, b)) {
    const bool b_repeats = IsSuffix(b, a);
    const Array& big = b_repeats ? a : b;
    const Array& small = b_repeats ? b : a;
    Array out = Array::from_shape(big.shape());
    const size_t width = small.size();
    const size_t rows = width == 0 ? 0 : big.size() / width;
    const Real* __restrict x = big.data();
    const Real* __restrict y = small.data();
    Real* __restrict z = out.data();
    for (size_t r = 0; r < rows; ++r) {
      for (size_t k = 0; k < width; ++k) {
        const size_t i = r * width + k;
        z[i] = b_repeats ? op(x[i], y[k]) : op(y[k], x[i]);
      }
    }
    return out;
  }
  return xt::eval(op(a, b));
}

}  // namespace

Tensor Add(const Tensor& a, const Tensor& b) {
  BroadcastShape(a.shape(), b.shape(), "Add");
  return MakeResult(Combine(a.value(), b.value(), std::plus<>()), {&a, &b},
                    [a, b](const Node& out) {
                      AccumulateGrad(a, ReduceToShape(out.grad, a.shape()), "Add");
                      AccumulateGrad(b, ReduceToShape(out.grad, b.shape()), "Add");
                    });
}

Tensor Sub(const Tensor& a, const Tensor& b) {
  BroadcastShape(a.shape(), b.shape(), "Sub");
  return MakeResult(Combine(a.value(), b.value(), std::minus<>()), {&a, &b},
                    [a, b](const Node& out) {
                      AccumulateGrad(a, ReduceToShape(out.grad, a.shape()), "Sub");
                      AccumulateGrad(b, ReduceToShape(-out.grad, b.shape()), "Sub");
                    });
}

Tensor Mul(const Tensor& a, const Tensor& b) {
  BroadcastShape(a.shape(), b.shape(), "Mul");
  return MakeResult(Combine(a.value(), b.value(), std::multiplies<>()), {&a, &b},
                    [a, b](const Node& out) {
                      if (a.requires_grad()) {
                        AccumulateGrad(a, ReduceToShape(out.grad * b.value(), a.shape()), "Mul");
                      }
                      if (b.requires_grad()) {
                        AccumulateGrad(b, ReduceToShape(out.grad * a.value(), b.shape()), "Mul");
                      }
                    });
}

Tensor Div(const Tensor& a, const Tensor& b) {
  BroadcastShape(a.shape(), b.shape(), "Div");
  return MakeResult(a.value() / b.value(), {&a, &b}, [a, b](const Node& out) {
    if (a.requires_grad()) {
      AccumulateGrad(a, ReduceToShape(out.grad / b.value(), a.shape()), "Div");
    }
    if (b.requires_grad()) {
      // d(a/b)/db = -(a/b)/b, and a/b is the saved output.
      AccumulateGrad(b, ReduceToShape(-out.grad * out.value / b.value(), b.shape()), "Div");
    }
  });
}

Tensor Scale(const Tensor& a, Real factor) {
  return MakeResult(a.value() * factor, {&a}, [a, factor](const Node& out) {
    AccumulateGrad(a, out.grad * factor, "Scale");
  });
}

// Activations save their output, not their input (the derivative is a function of the output).
Tensor Sigmoid(const Tensor& x) {
  Array y = Real(1) / (Real(1) + xt::exp(-x.value()));
  Tensor result = MakeResult(std::move(y), {&x}, [x](const Node& out) {
    AccumulateGrad(x, out.grad * out.value * (Real(1) - out.value), "Sigmoid");
  });
  result.node()->logits = x.node();
  return result;
}

Tensor Tanh(const Tensor& x) {
  return MakeResult(xt::tanh(x.value()), {&x}, [x](const Node& out) {
    AccumulateGrad(x, out.grad * (Real(1) - out.value * out.value), "Tanh");
  });
}

Tensor Relu(const Tensor& x) {
  Array y = Array::from_shape(x.value().shape());
  const Real* __restrict in = x.value().data();
  Real* __restrict activated = y.data();
  for (size_t k = 0, n = y.size(); k < n; ++k) activated[k] = in[k] > Real(0) ? in[k] : Real(0);
  return MakeResult(std::move(y), {&x}, [x](const Node& out) {
    Array grad = Array::from_shape(out.value.shape());
    const Real* __restrict y = out.value.data();
    const Real* __restrict dy = out.grad.data();
    Real* __restrict dx = grad.data();
    for (size_t k = 0, n = grad.size(); k < n; ++k) dx[k] = y[k] > Real(0) ? dy[k] : Real(0);
    AccumulateGrad(x, std::move(grad), "Relu");
  });
}

Tensor Exp(const Tensor& x) {
  return MakeResult(xt::exp(x.value()), {&x},
                    [x](const Node& out) { AccumulateGrad(x, out.grad * out.value, "Exp"); });
}

Tensor Log(const Tensor& x) {
  return MakeResult(xt::log(x.value()), {&x},
                    [x](const Node& out) { AccumulateGrad(x, out.grad / x.value(), "Log"); });
}

}  // namespace autograd
