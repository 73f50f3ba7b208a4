#include "autograd/reductions.h"

#include "absl/strings/str_format.h"
#include "xtensor/xbroadcast.hpp"
#include "xtensor/xbuilder.hpp"
#include "xtensor/xreducer.hpp"

namespace autograd {

size_t NormalizeAxis(int axis, size_t rank, const char* op) {
  const int resolved = axis < 0 ? axis + static_cast<int>(rank) : axis;
  if (resolved < 0 || resolved >= static_cast<int>(rank)) {
    throw ShapeError(absl::StrFormat("%s: axis %d is out of range for rank %d", op, axis, rank));
  }
  return static_cast<size_t>(resolved);
}

namespace {

// Sum and mean differ only by the factor applied to the gradient, which is spread back evenly.
Tensor SumAll(const Tensor& x, Real factor, const char* op) {
  Array total = xt::sum(x.value(), xt::evaluation_strategy::immediate);
  total *= factor;
  return MakeResult(std::move(total), {&x}, [x, factor, op](const Node& out) {
    Array grad = xt::empty<Real>(x.value().shape());
    grad.fill(*out.grad.data() * factor);
    AccumulateGrad(x, std::move(grad), op);
  });
}

Tensor SumAxis(const Tensor& x, int axis, bool keep_dims, bool mean, const char* op) {
  const size_t resolved = NormalizeAxis(axis, x.dim(), op);
  const Real factor = mean ? Real(1) / static_cast<Real>(x.size(resolved)) : Real(1);
  Array total = xt::sum(x.value(), {resolved}, xt::evaluation_strategy::immediate);
  total *= factor;
  Shape kept = x.shape();
  kept[resolved] = 1;
  if (keep_dims) total.reshape(kept);
  return MakeResult(std::move(total), {&x}, [x, kept, factor, op](const Node& out) {
    Array grad_kept = out.grad * factor;
    grad_kept.reshape(kept);
    AccumulateGrad(x, xt::broadcast(grad_kept, x.value().shape()), op);
  });
}

}  // namespace

Tensor Sum(const Tensor& x) { return SumAll(x, Real(1), "Sum"); }
Tensor Mean(const Tensor& x) {
  return SumAll(x, Real(1) / static_cast<Real>(std::max<size_t>(x.numel(), 1)), "Mean");
}
Tensor Sum(const Tensor& x, int axis, bool keep_dims) {
  return SumAxis(x, axis, keep_dims, false, "Sum");
}
Tensor Mean(const Tensor& x, int axis, bool keep_dims) {
  return SumAxis(x, axis, keep_dims, true, "Mean");
}

}  // namespace autograd
