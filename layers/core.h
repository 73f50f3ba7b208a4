// Keras' RepeatVector and Activation: layers without weights that reshape or transform their
// input. An axis of length 0 in an input shape is one whose length varies (Keras' None).
#ifndef LAYERS_CORE_H_
#define LAYERS_CORE_H_

#include <string>

#include "layers/layer.h"

namespace layers {

// Keras RepeatVector(n): input [features] -> [n, features], each sample's vector n times
// (keras/layers/reshaping/repeat_vector.py, tf.keras 2.11). The feature axis must be known.
// Keras' RepeatVector does not support masking (its base Layer's supports_masking is false); a
// mask that reaches it fails at Compile, naming it, as for Conv1D. (tf.keras 2.11 itself would
// drop such a mask without a word: engine/base_layer.py, _set_mask_metadata returns early for a
// layer without supports_masking.)
class RepeatVectorLayer : public Layer {
 public:
  explicit RepeatVectorLayer(size_t n) : Layer("RepeatVector"), n_(n) {}
  void GetConfig(Json& config) const override;
  static absl::StatusOr<LayerPtr> FromConfig(ConfigReader& config);
  size_t n() const { return n_; }

 private:
  absl::StatusOr<Shape> DoBuild(const Shape& input_shape, Rng& rng) override;
  // x: [batch, features] -> [batch, n, features].
  Tensor DoCall(const Tensor& x, const Array* mask, const CallContext& context) override;
  size_t n_;
};

// Keras Activation(name): applies one of the activations Activate knows ("linear", "sigmoid",
// "tanh", "relu", "softmax" over the last axis) elementwise; any input shape, the same output
// shape. As Keras (supports_masking true, compute_mask inherited), a mask passes on unchanged;
// the values at masked steps are computed as at any other.
class ActivationLayer : public Layer {
 public:
  explicit ActivationLayer(std::string activation)
      : Layer("Activation"), activation_(std::move(activation)) {}
  MaskRule mask_rule() const override { return MaskRule::kPasses; }
  void GetConfig(Json& config) const override;
  static absl::StatusOr<LayerPtr> FromConfig(ConfigReader& config);
  const std::string& activation() const { return activation_; }

 private:
  absl::StatusOr<Shape> DoBuild(const Shape& input_shape, Rng& rng) override;
  Tensor DoCall(const Tensor& x, const Array* mask, const CallContext& context) override;
  std::string activation_;
};

LayerPtr RepeatVector(size_t n);
LayerPtr Activation(std::string activation);

}  // namespace layers

#endif  // LAYERS_CORE_H_
