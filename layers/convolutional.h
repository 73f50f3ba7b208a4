// Conv1D and MaxPooling1D over sequences [time, channels].
#ifndef LAYERS_CONVOLUTIONAL_H_
#define LAYERS_CONVOLUTIONAL_H_

#include <string>

#include "layers/layer.h"

namespace layers {

// Keras Conv1D(filters, kernel_size, padding, activation), stride 1: input [time, channels] ->
// [time (same) or time - kernel_size + 1 (valid), filters]. Weights kernel
// [kernel_size, channels, filters] (glorot_uniform) and bias [filters] (zeros).
class Conv1DLayer : public Layer {
 public:
  Conv1DLayer(size_t filters, size_t kernel_size, std::string padding, std::string activation)
      : Layer("Conv1D"),
        filters_(filters),
        kernel_size_(kernel_size),
        padding_(std::move(padding)),
        activation_(std::move(activation)) {}
  void GetConfig(Json& config) const override;
  static absl::StatusOr<LayerPtr> FromConfig(ConfigReader& config);

 private:
  absl::StatusOr<Shape> DoBuild(const Shape& input_shape, Rng& rng) override;
  Tensor DoCall(const Tensor& x, const Array* mask, const CallContext& context) override;
  size_t filters_, kernel_size_;
  std::string padding_, activation_;
  Tensor kernel_, bias_;
};

// Keras MaxPooling1D(pool_size), strides = pool_size, padding "valid":
// [time, channels] -> [time / pool_size, channels].
class MaxPooling1DLayer : public Layer {
 public:
  explicit MaxPooling1DLayer(size_t pool_size) : Layer("MaxPooling1D"), pool_size_(pool_size) {}
  void GetConfig(Json& config) const override;
  static absl::StatusOr<LayerPtr> FromConfig(ConfigReader& config);

 private:
  absl::StatusOr<Shape> DoBuild(const Shape& input_shape, Rng& rng) override;
  Tensor DoCall(const Tensor& x, const Array* mask, const CallContext& context) override;
  size_t pool_size_;
};

LayerPtr Conv1D(size_t filters, size_t kernel_size, std::string padding = "valid",
                std::string activation = "linear");
LayerPtr MaxPooling1D(size_t pool_size = 2);

}  // namespace layers

#endif  // LAYERS_CONVOLUTIONAL_H_
