#include "layers/core.h"

#include "absl/strings/str_format.h"
#include "autograd/elementwise.h"
#include "autograd/shape_ops.h"
#include "layers/config.h"
#include "xtensor/xbuilder.hpp"

namespace layers {

absl::StatusOr<Shape> RepeatVectorLayer::DoBuild(const Shape& input_shape, Rng& /*rng*/) {
  if (absl::Status status = CheckSize("n", n_); !status.ok()) return status;
  if (input_shape.size() != 1 || input_shape[0] == 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("expected input [features] with a known number of features, got %s",
                        KerasShapeString(input_shape)));
  }
  if (absl::Status status = CheckWeightShape("output", {n_, input_shape[0]}); !status.ok()) {
    return status;
  }
  return Shape{n_, input_shape[0]};
}

Tensor RepeatVectorLayer::DoCall(const Tensor& x, const Array* /*mask*/,
                                 const CallContext& /*context*/) {
  const size_t features = input_shape()[0];
  if (x.dim() != 2 || x.size(1) != features) {
    throw autograd::ShapeError(absl::StrFormat("RepeatVector: expected input [batch, %d], got %s",
                                               features, autograd::ShapeString(x.shape())));
  }
  // [batch, 1, features] * ones [1, n, 1]: the broadcast repeats each vector n times, and its
  // backward sums the n copies' gradients.
  const Tensor column = autograd::Reshape(x, {x.size(0), 1, features});
  return autograd::Mul(column, Tensor(Array(xt::ones<Real>({size_t{1}, n_, size_t{1}}))));
}

void RepeatVectorLayer::GetConfig(Json& config) const { config["n"] = n_; }

absl::StatusOr<LayerPtr> RepeatVectorLayer::FromConfig(ConfigReader& config) {
  return RepeatVector(config.Size("n"));
}

absl::StatusOr<Shape> ActivationLayer::DoBuild(const Shape& input_shape, Rng& /*rng*/) {
  if (absl::Status status = CheckActivation(activation_); !status.ok()) return status;
  // Keras' softmax refuses a tensor of rank 1 ("Cannot apply softmax to a tensor that is 1D"):
  // the batch axis alone.
  if (activation_ == "softmax" && input_shape.empty()) {
    return absl::InvalidArgumentError(
        "softmax needs an axis besides the batch axis to normalize over, got input (None,)");
  }
  return input_shape;
}

Tensor ActivationLayer::DoCall(const Tensor& x, const Array* /*mask*/,
                               const CallContext& /*context*/) {
  return Activate(activation_, x);
}

void ActivationLayer::GetConfig(Json& config) const {
  config["activation"] = activation_.empty() ? "linear" : activation_;
}

absl::StatusOr<LayerPtr> ActivationLayer::FromConfig(ConfigReader& config) {
  // Required, as the argument of Keras' Activation.
  const std::string activation = config.String("activation", "");
  if (config.ok() && activation.empty()) {
    config.Fail("activation", "missing (an activation name is required)");
  }
  return Activation(activation);
}

LayerPtr RepeatVector(size_t n) { return std::make_unique<RepeatVectorLayer>(n); }

LayerPtr Activation(std::string activation) {
  return std::make_unique<ActivationLayer>(std::move(activation));
}

}  // namespace layers
