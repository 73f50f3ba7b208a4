#include "layers/convolutional.h"

#include "absl/strings/str_format.h"
#include "autograd/convolution.h"
#include "autograd/elementwise.h"
#include "layers/config.h"
#include "xtensor/xbuilder.hpp"

namespace layers {

absl::StatusOr<Shape> Conv1DLayer::DoBuild(const Shape& input_shape, Rng& rng) {
  for (const auto& [what, value] :
       {std::pair<const char*, size_t>{"filters", filters_}, {"kernel_size", kernel_size_}}) {
    if (absl::Status status = CheckSize(what, value); !status.ok()) return status;
  }
  if (padding_ != "same" && padding_ != "valid") {
    return absl::InvalidArgumentError(
        absl::StrFormat("unknown padding '%s' (expected same or valid)", padding_));
  }
  if (absl::Status status = CheckActivation(activation_); !status.ok()) return status;
  if (input_shape.size() != 2 || input_shape[1] == 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("expected input [time, channels], got %s", KerasShapeString(input_shape)));
  }
  const size_t time = input_shape[0], channels = input_shape[1];
  if (absl::Status status = CheckWeightShape("kernel", {kernel_size_, channels, filters_});
      !status.ok()) {
    return status;
  }
  // A varying time axis (kVaries: Keras' None) stays varying; a call on too few steps fails there.
  if (time != kVaries && padding_ == "valid" && kernel_size_ > time) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "kernel_size %d is longer than the %d steps of the input", kernel_size_, time));
  }
  // Keras' fans for a convolution count the receptive field.
  kernel_ = AddWeight("kernel", {kernel_size_, channels, filters_}, [&] {
    return autograd::GlorotUniform({kernel_size_, channels, filters_}, kernel_size_ * channels,
                                   kernel_size_ * filters_, rng);
  });
  bias_ = AddWeight("bias", {filters_}, [&] { return Array(xt::zeros<Real>({filters_})); });
  if (time == kVaries) return Shape{kVaries, filters_};
  return Shape{padding_ == "same" ? time : time - kernel_size_ + 1, filters_};
}

Tensor Conv1DLayer::DoCall(const Tensor& x, const Array* /*mask*/, const CallContext& /*context*/) {
  const autograd::Padding padding =
      padding_ == "same" ? autograd::Padding::kSame : autograd::Padding::kValid;
  if (activation_ == "relu") return autograd::Conv1D(x, kernel_, bias_, padding, /*relu=*/true);
  return Activate(activation_, autograd::Conv1D(x, kernel_, bias_, padding, /*relu=*/false));
}

void Conv1DLayer::GetConfig(Json& config) const {
  config["filters"] = filters_;
  config["kernel_size"] = Json::array({kernel_size_});
  config["strides"] = Json::array({1});
  config["padding"] = padding_;
  config["data_format"] = "channels_last";
  config["dilation_rate"] = Json::array({1});
  config["groups"] = 1;
  config["activation"] = activation_.empty() ? "linear" : activation_;
  SetKernelLayerKeys(config);
}

absl::StatusOr<LayerPtr> Conv1DLayer::FromConfig(ConfigReader& config) {
  const size_t filters = config.Size("filters");
  const size_t kernel_size = config.SizeOrSingleton("kernel_size");
  for (const char* key : {"strides", "dilation_rate"}) config.Only(key, Json::array({1}));
  const std::string padding = config.String("padding", "valid");
  config.Only("data_format", "channels_last");
  config.Only("groups", 1);
  const std::string activation = config.String("activation", "linear");
  ReadKernelLayerKeys(config);
  return Conv1D(filters, kernel_size, padding, activation);
}

void MaxPooling1DLayer::GetConfig(Json& config) const {
  config["strides"] = Json::array({pool_size_});
  config["pool_size"] = Json::array({pool_size_});
  config["padding"] = "valid";
  config["data_format"] = "channels_last";
}

absl::StatusOr<LayerPtr> MaxPooling1DLayer::FromConfig(ConfigReader& config) {
  const size_t pool_size = config.SizeOrSingleton("pool_size");
  // Keras' strides default to the pool size, the only stride implemented.
  if (config.ok()) config.Only("strides", Json::array({pool_size}));
  config.Only("padding", "valid");
  config.Only("data_format", "channels_last");
  return MaxPooling1D(pool_size);
}

absl::StatusOr<Shape> MaxPooling1DLayer::DoBuild(const Shape& input_shape, Rng& /*rng*/) {
  if (input_shape.size() != 2) {
    return absl::InvalidArgumentError(
        absl::StrFormat("expected input [time, channels], got %s", KerasShapeString(input_shape)));
  }
  if (pool_size_ != 0 && input_shape[0] == kVaries) return input_shape;
  if (pool_size_ == 0 || pool_size_ > input_shape[0]) {
    return absl::InvalidArgumentError(
        absl::StrFormat("pool_size must be in [1, %d] (the input's steps), got %d", input_shape[0],
                        static_cast<int64_t>(pool_size_)));
  }
  return Shape{input_shape[0] / pool_size_, input_shape[1]};
}

Tensor MaxPooling1DLayer::DoCall(const Tensor& x, const Array* /*mask*/,
                                 const CallContext& /*context*/) {
  return autograd::MaxPool1D(x, pool_size_);
}

LayerPtr Conv1D(size_t filters, size_t kernel_size, std::string padding, std::string activation) {
  return std::make_unique<Conv1DLayer>(filters, kernel_size, std::move(padding),
                                       std::move(activation));
}

LayerPtr MaxPooling1D(size_t pool_size) { return std::make_unique<MaxPooling1DLayer>(pool_size); }

}  // namespace layers
