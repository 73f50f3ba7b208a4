// Keras' global pooling over the time axis: GlobalMaxPooling1D and GlobalAveragePooling1D
// (data_format channels_last). MaxPooling1D, which pools windows, lives beside Conv1D in
// layers/convolutional.h.
#ifndef LAYERS_POOLING_H_
#define LAYERS_POOLING_H_

#include "layers/layer.h"

namespace layers {

// What both share (keras/layers/pooling/base_global_pooling1d.py, tf.keras 2.11): input
// [time, features] -> [features], or [1, features] with keepdims. The time axis may have length
// 0 (it varies from batch to batch, Keras' None); the feature axis must be known. The layer
// takes a mask [batch, time] and ends it: no mask comes out.
class GlobalPooling1DLayer : public Layer {
 public:
  GlobalPooling1DLayer(std::string type, bool keepdims)
      : Layer(std::move(type)), keepdims_(keepdims) {}
  // It takes a mask and ends it.
  MaskRule mask_rule() const override { return MaskRule::kEnds; }
  void GetConfig(Json& config) const override;
  bool keepdims() const { return keepdims_; }

 protected:
  // Throws autograd::ShapeError unless x is [batch, time >= 1, features] and `mask` (when given)
  // [batch, time].
  void CheckCall(const Tensor& x, const Array* mask) const;
  // [batch, 1, features] -> [batch, features] unless keepdims.
  Tensor Output(const Tensor& pooled) const;
  // Keras' data_format (only channels_last) and keepdims, for the subclasses' FromConfig.
  static bool ReadConfig(ConfigReader& config);

 private:
  absl::StatusOr<Shape> DoBuild(const Shape& input_shape, Rng& rng) override;
  bool keepdims_;
};

// Keras GlobalMaxPooling1D: the maximum over the time axis of each feature. The gradient goes to
// the first step holding the maximum (TensorFlow's reduce_max shares it among ties).
// Masks: tf.keras 2.11 ignores them here. Its GlobalMaxPooling1D sets no supports_masking and its
// call takes no mask (pooling/global_max_pooling1d.py), so the base Layer neither passes the mask
// to call nor carries it on (engine/base_layer.py, _get_input_masks and _set_mask_metadata): the
// maximum is over every step, masked ones included, and the mask ends. This layer does the same.
class GlobalMaxPooling1DLayer : public GlobalPooling1DLayer {
 public:
  explicit GlobalMaxPooling1DLayer(bool keepdims = false)
      : GlobalPooling1DLayer("GlobalMaxPooling1D", keepdims) {}
  static absl::StatusOr<LayerPtr> FromConfig(ConfigReader& config);

 private:
  Tensor DoCall(const Tensor& x, const Array* mask, const CallContext& context) override;
};

// Keras GlobalAveragePooling1D: the mean over the time axis of each feature. With a mask, as
// tf.keras 2.11 (pooling/global_average_pooling1d.py, call): the sum over the real steps divided
// by their number, so masked steps are left out (they get no gradient). A sample whose every step
// is masked gives 0 / 0 = NaN there, as in Keras.
class GlobalAveragePooling1DLayer : public GlobalPooling1DLayer {
 public:
  explicit GlobalAveragePooling1DLayer(bool keepdims = false)
      : GlobalPooling1DLayer("GlobalAveragePooling1D", keepdims) {}
  static absl::StatusOr<LayerPtr> FromConfig(ConfigReader& config);

 private:
  Tensor DoCall(const Tensor& x, const Array* mask, const CallContext& context) override;
};

LayerPtr GlobalMaxPooling1D(bool keepdims = false);
LayerPtr GlobalAveragePooling1D(bool keepdims = false);

}  // namespace layers

#endif  // LAYERS_POOLING_H_
