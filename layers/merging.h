// Keras' merging layers: called on a list of tensors, they give one. Concatenate joins them along
// an axis; Add, Subtract, Multiply and Average combine same-shaped tensors elementwise.
//
// Masks (tf.keras 2, keras/layers/merging/base_merge.py and concatenate.py): the output is masked
// where any input is masked: the AND of the inputs' masks (an input without a mask counts as all
// real). Only steps masks are combined: every input's mask must be [batch, time] of one length.
#ifndef LAYERS_MERGING_H_
#define LAYERS_MERGING_H_

#include <string>
#include <vector>

#include "layers/layer.h"

namespace layers {

class MergeLayer : public Layer {
 public:
  using Layer::Layer;
  MaskRule mask_rule() const override { return MaskRule::kPasses; }
  absl::StatusOr<std::vector<bool>> OutputsMasked(const std::vector<bool>& masked) const override;
  std::vector<Tensor> CallNode(const std::vector<Tensor>& inputs,
                               const std::vector<const Array*>& masks, const CallContext& context,
                               std::vector<std::optional<Array>>& output_masks) override;
  void GetConfig(Json& config) const override {}

 protected:
  Tensor DoCall(const Tensor& x, const Array* mask, const CallContext& context) override;
  absl::StatusOr<Shape> DoBuild(const Shape& input_shape, Rng& rng) override;
  absl::StatusOr<std::vector<Shape>> DoBuildCall(const std::vector<Shape>& input_shapes,
                                                 Rng& rng) override;
  // The output shape for these input shapes (at least 2, or exactly 2 for Subtract).
  virtual absl::StatusOr<Shape> MergedShape(const std::vector<Shape>& shapes) const;
  virtual Tensor Merge(const std::vector<Tensor>& inputs) const = 0;
};

// Keras Concatenate(axis=-1): the axis counts within a sample (as Keras', -1 the last; the batch
// axis, 0 in Keras, cannot be joined). Every other axis must agree.
class ConcatenateLayer : public MergeLayer {
 public:
  explicit ConcatenateLayer(int axis) : MergeLayer("Concatenate"), axis_(axis) {}
  void GetConfig(Json& config) const override;
  static absl::StatusOr<LayerPtr> FromConfig(ConfigReader& config);

 private:
  absl::StatusOr<Shape> MergedShape(const std::vector<Shape>& shapes) const override;
  Tensor Merge(const std::vector<Tensor>& inputs) const override;
  int axis_;
  size_t sample_axis_ = 0;  // the axis within a sample, resolved by MergedShape
};

// Keras Add, Subtract (exactly two inputs: the first minus the second), Multiply, Average.
class ElementwiseMergeLayer : public MergeLayer {
 public:
  explicit ElementwiseMergeLayer(std::string type) : MergeLayer(std::move(type)) {}
  // For the registry of layers/config.cc: one reader per class.
  template <const char* kType>
  static absl::StatusOr<LayerPtr> FromConfig(ConfigReader& /*config*/) {
    return LayerPtr(std::make_shared<ElementwiseMergeLayer>(kType));
  }

 private:
  absl::StatusOr<Shape> MergedShape(const std::vector<Shape>& shapes) const override;
  Tensor Merge(const std::vector<Tensor>& inputs) const override;
};

inline constexpr char kAdd[] = "Add", kSubtract[] = "Subtract", kMultiply[] = "Multiply",
                      kAverage[] = "Average";

LayerPtr Concatenate(int axis = -1);
LayerPtr Add();
LayerPtr Subtract();
LayerPtr Multiply();
LayerPtr Average();

}  // namespace layers

#endif  // LAYERS_MERGING_H_
