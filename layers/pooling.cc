#include "layers/pooling.h"

#include "absl/strings/str_format.h"
#include "autograd/convolution.h"
#include "autograd/elementwise.h"
#include "autograd/reductions.h"
#include "autograd/shape_ops.h"
#include "layers/config.h"

namespace layers {

absl::StatusOr<Shape> GlobalPooling1DLayer::DoBuild(const Shape& input_shape, Rng& /*rng*/) {
  if (input_shape.size() != 2 || input_shape[1] == 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("expected input [time, features] with a known number of features, got %s",
                        KerasShapeString(input_shape)));
  }
  if (keepdims_) return Shape{1, input_shape[1]};
  return Shape{input_shape[1]};
}

void GlobalPooling1DLayer::CheckCall(const Tensor& x, const Array* mask) const {
  const size_t features = input_shape()[1];
  if (x.dim() != 3 || x.size(1) == 0 || x.size(2) != features) {
    throw autograd::ShapeError(absl::StrFormat("%s: expected input [batch, time >= 1, %d], got %s",
                                               type(), features, autograd::ShapeString(x.shape())));
  }
  if (mask != nullptr && autograd::ShapeOf(*mask) != Shape{x.size(0), x.size(1)}) {
    throw autograd::ShapeError(
        absl::StrFormat("%s: mask expected shape %s (the input's batch and steps), got %s", type(),
                        autograd::ShapeString({x.size(0), x.size(1)}),
                        autograd::ShapeString(autograd::ShapeOf(*mask))));
  }
}

Tensor GlobalPooling1DLayer::Output(const Tensor& pooled) const {
  if (keepdims_) return pooled;
  return autograd::Reshape(pooled, {pooled.size(0), pooled.size(2)});
}

void GlobalPooling1DLayer::GetConfig(Json& config) const {
  config["data_format"] = "channels_last";
  config["keepdims"] = keepdims_;
}

bool GlobalPooling1DLayer::ReadConfig(ConfigReader& config) {
  config.Only("data_format", "channels_last");
  return config.Bool("keepdims", false);
}

Tensor GlobalMaxPooling1DLayer::DoCall(const Tensor& x, const Array* mask,
                                       const CallContext& /*context*/) {
  CheckCall(x, mask);
  // One window of every step. The mask is not read: tf.keras 2.11 ignores it (pooling.h).
  return Output(autograd::MaxPool1D(x, x.size(1)));
}

absl::StatusOr<LayerPtr> GlobalMaxPooling1DLayer::FromConfig(ConfigReader& config) {
  return GlobalMaxPooling1D(ReadConfig(config));
}

Tensor GlobalAveragePooling1DLayer::DoCall(const Tensor& x, const Array* mask,
                                           const CallContext& /*context*/) {
  CheckCall(x, mask);
  if (mask == nullptr) return Output(autograd::Mean(x, 1, /*keep_dims=*/true));
  // Keras: sum(x * mask) / sum(mask) over the steps, the mask broadcast over the features.
  const size_t batch = x.size(0), time = x.size(1);
  Array steps = *mask;
  steps.reshape({batch, time, size_t{1}});
  Array real_steps = Array::from_shape({batch, size_t{1}, size_t{1}});
  for (size_t b = 0; b < batch; ++b) {
    Real count = 0;
    for (size_t t = 0; t < time; ++t) count += steps.data()[b * time + t];
    real_steps.data()[b] = count;
  }
  const Tensor sum = autograd::Sum(autograd::Mul(x, Tensor(std::move(steps))), 1,
                                   /*keep_dims=*/true);
  return Output(autograd::Div(sum, Tensor(std::move(real_steps))));
}

absl::StatusOr<LayerPtr> GlobalAveragePooling1DLayer::FromConfig(ConfigReader& config) {
  return GlobalAveragePooling1D(ReadConfig(config));
}

LayerPtr GlobalMaxPooling1D(bool keepdims) {
  return std::make_unique<GlobalMaxPooling1DLayer>(keepdims);
}

LayerPtr GlobalAveragePooling1D(bool keepdims) {
  return std::make_unique<GlobalAveragePooling1DLayer>(keepdims);
}

}  // namespace layers
