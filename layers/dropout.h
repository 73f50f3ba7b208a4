// Keras' Dropout layer.
#ifndef LAYERS_DROPOUT_H_
#define LAYERS_DROPOUT_H_

#include "layers/layer.h"

namespace layers {

// Keras Dropout: in training, zeroes each element with probability `rate` and scales the rest by
// 1 / (1 - rate) (inverted dropout, a fresh mask per batch); at inference, the identity.
class DropoutLayer : public Layer {
 public:
  explicit DropoutLayer(double rate) : Layer("Dropout"), rate_(rate) {}
  MaskRule mask_rule() const override { return MaskRule::kPasses; }
  void GetConfig(Json& config) const override;
  static absl::StatusOr<LayerPtr> FromConfig(ConfigReader& config);

 private:
  absl::StatusOr<Shape> DoBuild(const Shape& input_shape, Rng& rng) override;
  Tensor DoCall(const Tensor& x, const Array* mask, const CallContext& context) override;
  double rate_;
};

LayerPtr Dropout(double rate);

}  // namespace layers

#endif  // LAYERS_DROPOUT_H_
