// Keras' Masking layer.
#ifndef LAYERS_MASKING_H_
#define LAYERS_MASKING_H_

#include "layers/layer.h"

namespace layers {

// Keras Masking: input [time, features]; a step whose every feature equals mask_value is masked
// (mask = any(x != mask_value) over the features) and its output zeroed; other steps pass
// unchanged. Layers after it that support masks skip the masked steps.
class MaskingLayer : public Layer {
 public:
  explicit MaskingLayer(double mask_value) : Layer("Masking"), mask_value_(mask_value) {}
  MaskRule mask_rule() const override { return MaskRule::kMakes; }
  void GetConfig(Json& config) const override;
  static absl::StatusOr<LayerPtr> FromConfig(ConfigReader& config);
  double mask_value() const { return mask_value_; }

 private:
  absl::StatusOr<Shape> DoBuild(const Shape& input_shape, Rng& rng) override;
  Tensor DoCall(const Tensor& x, const Array* mask, const CallContext& context) override;
  Array MakeMask(const Array& x) const override;
  double mask_value_;
};

LayerPtr Masking(double mask_value = 0.0);

}  // namespace layers

#endif  // LAYERS_MASKING_H_
