#include "autograd/losses.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "autograd/elementwise.h"
#include "autograd/reductions.h"
#include "xtensor/xbroadcast.hpp"
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

// Throws unless `weights` (when given) has `shape` without its last axis.
void CheckWeights(const Array* weights, const Shape& shape, const char* op) {
  if (weights == nullptr) return;
  const Shape rows(shape.begin(), shape.end() - (shape.empty() ? 0 : 1));
  if (shape.empty() || ShapeOf(*weights) != rows) {
    throw ShapeError(
        absl::StrFormat("%s: weights expected shape %s (the predictions' without the "
                        "last axis), got %s",
                        op, ShapeString(rows), ShapeString(ShapeOf(*weights))));
  }
}

// The weights of the loss terms stretched over the last axis to `shape`, or {} without weights.
Array ElementWeights(const Array* weights, const Shape& shape, const char* op) {
  CheckWeights(weights, shape, op);
  if (weights == nullptr) return Array();
  const Shape rows(shape.begin(), shape.end() - 1);
  Shape column = rows;
  column.push_back(1);
  Array by_row = *weights;
  by_row.reshape(column);
  return xt::broadcast(by_row, shape);
}

// terms * weights, or the terms as they are without weights.
Array Weighted(Array terms, const Array& weights) {
  if (weights.dimension() > 0) terms *= weights;
  return terms;
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

Tensor BinaryCrossentropy(const Tensor& predictions, const Array& targets, const Array* weights) {
  CheckSameShape(predictions, targets, "BinaryCrossentropy");
  if (predictions.node()->logits) {
    return SigmoidBinaryCrossentropy(Tensor(predictions.node()->logits), targets, weights);
  }
  const Array w = ElementWeights(weights, predictions.shape(), "BinaryCrossentropy");
  const Array& p = predictions.value();
  const Array clipped = xt::clip(p, kEpsilon, Real(1) - kEpsilon);
  const Real count = static_cast<Real>(std::max<size_t>(p.size(), 1));
  Array loss = -xt::sum(
      Weighted(targets * xt::log(clipped) + (Real(1) - targets) * xt::log(Real(1) - clipped), w),
      xt::evaluation_strategy::immediate);
  loss /= count;
  return MakeResult(
      std::move(loss), {&predictions}, [predictions, targets, count, w](const Node& out) {
        const Array& p = predictions.value();
        const Real scale = *out.grad.data() / count;
        Array grad =
            xt::where(p >= kEpsilon && p <= Real(1) - kEpsilon,
                      scale * ((Real(1) - targets) / (Real(1) - p) - targets / p), Real(0));
        AccumulateGrad(predictions, Weighted(std::move(grad), w), "BinaryCrossentropy");
      });
}

Tensor SigmoidBinaryCrossentropy(const Tensor& logits, const Array& targets, const Array* weights) {
  CheckSameShape(logits, targets, "SigmoidBinaryCrossentropy");
  const Array w = ElementWeights(weights, logits.shape(), "SigmoidBinaryCrossentropy");
  const Array& z = logits.value();
  const Real count = static_cast<Real>(std::max<size_t>(z.size(), 1));
  Array loss =
      xt::sum(Weighted(xt::maximum(z, Real(0)) - z * targets + xt::log1p(xt::exp(-xt::abs(z))), w),
              xt::evaluation_strategy::immediate);
  loss /= count;
  return MakeResult(std::move(loss), {&logits}, [logits, targets, count, w](const Node& out) {
    const Real scale = *out.grad.data() / count;
    const Array& z = logits.value();
    AccumulateGrad(logits, Weighted(scale * (Real(1) / (Real(1) + xt::exp(-z)) - targets), w),
                   "SigmoidBinaryCrossentropy");
  });
}

Tensor CategoricalCrossentropy(const Tensor& predictions, const Array& targets,
                               const Array* weights) {
  CheckSameShape(predictions, targets, "CategoricalCrossentropy");
  if (predictions.dim() < 1) throw ShapeError("CategoricalCrossentropy: needs at least one axis");
  const Array w = ElementWeights(weights, predictions.shape(), "CategoricalCrossentropy");
  // Composed from ops: the renormalisation matters only for inputs that are not a softmax.
  const Tensor row_sums = Sum(predictions, -1, /*keep_dims=*/true);
  const Tensor normalised = Div(predictions, row_sums);
  const Array& q = normalised.value();
  const Real rows = static_cast<Real>(std::max<size_t>(q.size() / q.shape().back(), 1));
  // A row's term is its sum over the last axis, so each element takes the row's weight.
  Array loss = -xt::sum(Weighted(targets * xt::log(xt::clip(q, kEpsilon, Real(1) - kEpsilon)), w),
                        xt::evaluation_strategy::immediate);
  loss /= rows;
  return MakeResult(
      std::move(loss), {&normalised}, [normalised, targets, rows, w](const Node& out) {
        const Array& q = normalised.value();
        const Real scale = *out.grad.data() / rows;
        Array grad =
            xt::where(q >= kEpsilon && q <= Real(1) - kEpsilon, -scale * targets / q, Real(0));
        AccumulateGrad(normalised, Weighted(std::move(grad), w), "CategoricalCrossentropy");
      });
}

Tensor SparseCategoricalCrossentropy(const Tensor& predictions, const Array& targets,
                                     const Array* weights) {
  const char* op = "SparseCategoricalCrossentropy";
  if (predictions.dim() < 1) {
    throw ShapeError(absl::StrFormat("%s: predictions need a class axis, got shape %s", op,
                                     ShapeString(predictions.shape())));
  }
  const Shape shape = predictions.shape();
  const Shape rows_shape(shape.begin(), shape.end() - 1);
  Shape with_one = rows_shape;
  with_one.push_back(1);
  if (ShapeOf(targets) != rows_shape && ShapeOf(targets) != with_one) {
    throw ShapeError(absl::StrFormat(
        "%s: targets expected shape %s (the predictions' %s without the class axis) or %s, got "
        "%s",
        op, ShapeString(rows_shape), ShapeString(shape), ShapeString(with_one),
        ShapeString(ShapeOf(targets))));
  }
  CheckWeights(weights, shape, op);
  const size_t classes = shape.back();
  const size_t rows = targets.size();
  std::vector<size_t> labels(rows);
  for (size_t r = 0; r < rows; ++r) {
    const Real target = targets.data()[r];
    if (!(target >= 0 && target < static_cast<Real>(classes)) || target != std::floor(target)) {
      // The position as an index into the rows, e.g. (sample, step).
      std::vector<size_t> index(rows_shape.size());
      for (size_t axis = rows_shape.size(), rest = r; axis-- > 0;) {
        index[axis] = rest % rows_shape[axis];
        rest /= rows_shape[axis];
      }
      throw std::out_of_range(absl::StrFormat(
          "%s: target %g at (%s) is not a class: expected a whole number in [0, %d)", op, target,
          absl::StrJoin(index, ", "), classes));
    }
    labels[r] = static_cast<size_t>(target);
  }
  const Array w = weights != nullptr ? *weights : Array();
  const auto weight = [&w](size_t r) { return w.dimension() > 0 ? w.data()[r] : Real(1); };
  const Real count = static_cast<Real>(std::max<size_t>(rows, 1));
  const Real* p = predictions.value().data();
  const auto clipped = [](Real value) { return std::clamp(value, kEpsilon, Real(1) - kEpsilon); };
  Real total = 0;
  for (size_t r = 0; r < rows; ++r) {
    const Real* row = p + r * classes;
    Real sum = 0;
    for (size_t k = 0; k < classes; ++k) sum += clipped(row[k]);
    total += weight(r) * (std::log(sum) - std::log(clipped(row[labels[r]])));
  }
  Array loss = xt::zeros<Real>(Shape{});
  *loss.data() = total / count;
  return MakeResult(
      std::move(loss), {&predictions}, [predictions, labels, classes, count, w](const Node& out) {
        // d/dp_k = (1 / sum(p') - [k = y] / p'_y), zero where p is clipped.
        const Real* p = predictions.value().data();
        Array grad = xt::zeros<Real>(predictions.value().shape());
        for (size_t r = 0; r < labels.size(); ++r) {
          const Real* row = p + r * classes;
          Real* g = grad.data() + r * classes;
          const Real scale = *out.grad.data() / count * (w.dimension() > 0 ? w.data()[r] : Real(1));
          Real sum = 0;
          for (size_t k = 0; k < classes; ++k) {
            sum += std::clamp(row[k], kEpsilon, Real(1) - kEpsilon);
          }
          for (size_t k = 0; k < classes; ++k) {
            if (row[k] < kEpsilon || row[k] > Real(1) - kEpsilon) continue;
            g[k] = scale * (Real(1) / sum - (k == labels[r] ? Real(1) / row[k] : 0));
          }
        }
        AccumulateGrad(predictions, std::move(grad), "SparseCategoricalCrossentropy");
      });
}

Tensor MeanSquaredError(const Tensor& predictions, const Array& targets, const Array* weights) {
  CheckSameShape(predictions, targets, "MeanSquaredError");
  CheckWeights(weights, predictions.shape(), "MeanSquaredError");
  // The arithmetic of Sequential's loss before it moved here, so that numbers do not change.
  const Tensor error = Sub(predictions, Tensor(targets));
  Tensor squares = Mul(error, error);
  if (weights != nullptr) {
    Shape column = ShapeOf(*weights);
    column.push_back(1);
    Array by_row = *weights;
    by_row.reshape(column);
    squares = Mul(squares, Tensor(std::move(by_row)));
  }
  return Mean(squares);
}

}  // namespace autograd
