// Dense and TimeDistributed.
#ifndef LAYERS_DENSE_H_
#define LAYERS_DENSE_H_

#include <functional>
#include <string>

#include "layers/layer.h"

namespace layers {

// Keras Dense: y = activation(x @ kernel + bias) on the last axis.
// Input [..., input_dim] -> [..., units]; kernel [input_dim, units] (glorot_uniform), bias [units]
// (zeros).
class DenseLayer : public Layer {
 public:
  DenseLayer(size_t units, std::string activation)
      : Layer("Dense"), units_(units), activation_(std::move(activation)) {}
  // Keras' Dense passes a mask on unchanged (it works on the last axis only).
  MaskRule mask_rule() const override { return MaskRule::kPasses; }
  void GetConfig(Json& config) const override;
  static absl::StatusOr<LayerPtr> FromConfig(ConfigReader& config);

 private:
  absl::StatusOr<Shape> DoBuild(const Shape& input_shape, Rng& rng) override;
  Tensor DoCall(const Tensor& x, const Array* mask, const CallContext& context) override;
  size_t units_;
  std::string activation_;
  Tensor kernel_, bias_;
};

// Keras TimeDistributed: applies `layer` to every timestep. Input [time, features...] ->
// [time, inner output...]; the inner layer sees [batch * time, features...].
class TimeDistributedLayer : public Layer {
 public:
  explicit TimeDistributedLayer(LayerPtr layer)
      : Layer("TimeDistributed"), layer_(std::move(layer)) {}
  // As Keras: the mask passes on as it came, one entry per step.
  MaskRule mask_rule() const override { return MaskRule::kPasses; }
  std::vector<Weight> weights() const override { return layer_->weights(); }
  const Layer& inner() const { return *layer_; }
  std::vector<std::string> KerasWeightNames() const override;
  void GetConfig(Json& config) const override;
  static absl::StatusOr<LayerPtr> FromConfig(ConfigReader& config);

 private:
  absl::StatusOr<Shape> DoBuild(const Shape& input_shape, Rng& rng) override;
  Tensor DoCall(const Tensor& x, const Array* mask, const CallContext& context) override;
  // Applies `call` (the inner layer's Call) at every step.
  Tensor EveryStep(const Tensor& x, const std::function<Tensor(const Tensor&)>& call) const;
  LayerPtr layer_;
  std::string inner_name_;  // the wrapped layer's own name
};

// Keras-style constructors: model.Add(Dense(1, "sigmoid")).
LayerPtr Dense(size_t units, std::string activation = "linear");
LayerPtr TimeDistributed(LayerPtr layer);

}  // namespace layers

#endif  // LAYERS_DENSE_H_
