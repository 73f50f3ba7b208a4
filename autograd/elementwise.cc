#include "autograd/elementwise.h"

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

Tensor Add(const Tensor& a, const Tensor& b) {
  BroadcastShape(a.shape(), b.shape(), "Add");
  return MakeResult(a.value() + b.value(), {&a, &b}, [a, b](const Node& out) {
    AccumulateGrad(a, ReduceToShape(out.grad, a.shape()), "Add");
    AccumulateGrad(b, ReduceToShape(out.grad, b.shape()), "Add");
  });
}

Tensor Sub(const Tensor& a, const Tensor& b) {
  BroadcastShape(a.shape(), b.shape(), "Sub");
  return MakeResult(a.value() - b.value(), {&a, &b}, [a, b](const Node& out) {
    AccumulateGrad(a, ReduceToShape(out.grad, a.shape()), "Sub");
    AccumulateGrad(b, ReduceToShape(-out.grad, b.shape()), "Sub");
  });
}

Tensor Mul(const Tensor& a, const Tensor& b) {
  BroadcastShape(a.shape(), b.shape(), "Mul");
  return MakeResult(a.value() * b.value(), {&a, &b}, [a, b](const Node& out) {
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
  return MakeResult(std::move(y), {&x}, [x](const Node& out) {
    AccumulateGrad(x, out.grad * out.value * (Real(1) - out.value), "Sigmoid");
  });
}

Tensor Tanh(const Tensor& x) {
  return MakeResult(xt::tanh(x.value()), {&x}, [x](const Node& out) {
    AccumulateGrad(x, out.grad * (Real(1) - out.value * out.value), "Tanh");
  });
}

Tensor Relu(const Tensor& x) {
  return MakeResult(xt::maximum(x.value(), Real(0)), {&x}, [x](const Node& out) {
    AccumulateGrad(x, xt::where(out.value > Real(0), out.grad, Real(0)), "Relu");
  });
}

Tensor Exp(const Tensor& x) {
  return MakeResult(xt::exp(x.value()), {&x}, [x](const Node& out) {
    AccumulateGrad(x, out.grad * out.value, "Exp");
  });
}

Tensor Log(const Tensor& x) {
  return MakeResult(xt::log(x.value()), {&x}, [x](const Node& out) {
    AccumulateGrad(x, out.grad / x.value(), "Log");
  });
}

}  // namespace autograd
