#include "autograd/losses.h"

#include "absl/strings/str_format.h"
#include "autograd/elementwise.h"
#include "autograd/reductions.h"
#include "xtensor/xmath.hpp"
#include "xtensor/xreducer.hpp"

namespace autograd {
namespace {

void CheckSameShape(const Tensor& predictions, const Array& targets, const char* op) {
  if (predictions.shape() != ShapeOf(targets)) {
    throw ShapeError(absl::StrFormat("%s: predictions have shape %s but targets have shape %s", op,
                                     ShapeString(predictions.shape()),
                                     ShapeString(ShapeOf(targets))));
  }
}

}  // namespace

Tensor Softmax(const Tensor& x, int axis) {
  const size_t resolved = NormalizeAxis(axis, x.dim(), "Softmax");
  Shape kept = x.shape();
  kept[resolved] = 1;
  // Shifting by the maximum keeps exp from overflowing and does not change the result.
  Array peak = xt::amax(x.value(), {resolved}, xt::evaluation_strategy::immediate);
  peak.reshape(kept);
  Array y = xt::exp(x.value() - peak);
  Array total = xt::sum(y, {resolved}, xt::evaluation_strategy::immediate);
  total.reshape(kept);
  y /= total;
  return MakeResult(std::move(y), {&x}, [x, resolved, kept](const Node& out) {
    // dx = y * (g - sum(g * y)) along the axis.
    Array dot = xt::sum(out.grad * out.value, {resolved}, xt::evaluation_strategy::immediate);
    dot.reshape(kept);
    AccumulateGrad(x, out.value * (out.grad - dot), "Softmax");
  });
}

Tensor BinaryCrossentropy(const Tensor& predictions, const Array& targets) {
  CheckSameShape(predictions, targets, "BinaryCrossentropy");
  if (predictions.node()->logits) {
    return SigmoidBinaryCrossentropy(Tensor(predictions.node()->logits), targets);
  }
  const Array& p = predictions.value();
  const Array clipped = xt::clip(p, kEpsilon, Real(1) - kEpsilon);
  const Real count = static_cast<Real>(std::max<size_t>(p.size(), 1));
  Array loss =
      -xt::sum(targets * xt::log(clipped) + (Real(1) - targets) * xt::log(Real(1) - clipped),
               xt::evaluation_strategy::immediate);
  loss /= count;
  return MakeResult(
      std::move(loss), {&predictions}, [predictions, targets, count](const Node& out) {
        const Array& p = predictions.value();
        const Real scale = *out.grad.data() / count;
        Array grad =
            xt::where(p >= kEpsilon && p <= Real(1) - kEpsilon,
                      scale * ((Real(1) - targets) / (Real(1) - p) - targets / p), Real(0));
        AccumulateGrad(predictions, std::move(grad), "BinaryCrossentropy");
      });
}

Tensor SigmoidBinaryCrossentropy(const Tensor& logits, const Array& targets) {
  CheckSameShape(logits, targets, "SigmoidBinaryCrossentropy");
  const Array& z = logits.value();
  const Real count = static_cast<Real>(std::max<size_t>(z.size(), 1));
  Array loss = xt::sum(xt::maximum(z, Real(0)) - z * targets + xt::log1p(xt::exp(-xt::abs(z))),
                       xt::evaluation_strategy::immediate);
  loss /= count;
  return MakeResult(std::move(loss), {&logits}, [logits, targets, count](const Node& out) {
    const Real scale = *out.grad.data() / count;
    const Array& z = logits.value();
    AccumulateGrad(logits, scale * (Real(1) / (Real(1) + xt::exp(-z)) - targets),
                   "SigmoidBinaryCrossentropy");
  });
}

Tensor CategoricalCrossentropy(const Tensor& predictions, const Array& targets) {
  CheckSameShape(predictions, targets, "CategoricalCrossentropy");
  if (predictions.dim() < 1) throw ShapeError("CategoricalCrossentropy: needs at least one axis");
  // Composed from ops: the renormalisation matters only for inputs that are not a softmax.
  const Tensor row_sums = Sum(predictions, -1, /*keep_dims=*/true);
  const Tensor normalised = Div(predictions, row_sums);
  const Array& q = normalised.value();
  const Real rows = static_cast<Real>(std::max<size_t>(q.size() / q.shape().back(), 1));
  Array loss = -xt::sum(targets * xt::log(xt::clip(q, kEpsilon, Real(1) - kEpsilon)),
                        xt::evaluation_strategy::immediate);
  loss /= rows;
  return MakeResult(std::move(loss), {&normalised}, [normalised, targets, rows](const Node& out) {
    const Array& q = normalised.value();
    const Real scale = *out.grad.data() / rows;
    Array grad = xt::where(q >= kEpsilon && q <= Real(1) - kEpsilon, -scale * targets / q, Real(0));
    AccumulateGrad(normalised, std::move(grad), "CategoricalCrossentropy");
  });
}

}  // namespace autograd
