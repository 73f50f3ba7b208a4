#include "layers/dense.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "autograd/elementwise.h"
#include "autograd/matmul.h"
#include "autograd/shape_ops.h"
#include "layers/config.h"
#include "xtensor/xbuilder.hpp"

namespace layers {

absl::StatusOr<Shape> DenseLayer::DoBuild(const Shape& input_shape, Rng& rng) {
  if (absl::Status status = CheckSize("units", units_); !status.ok()) return status;
  if (absl::Status status = CheckActivation(activation_); !status.ok()) return status;
  if (input_shape.empty() || input_shape.back() == 0) {
    return absl::InvalidArgumentError("Dense needs inputs with a non-empty last axis");
  }
  const size_t input_dim = input_shape.back();
  if (absl::Status status = CheckWeightShape("kernel", {input_dim, units_}); !status.ok()) {
    return status;
  }
  kernel_ = AddWeight("kernel", {input_dim, units_}, [&] {
    return autograd::GlorotUniform({input_dim, units_}, input_dim, units_, rng);
  });
  bias_ = AddWeight("bias", {units_}, [&] { return Array(xt::zeros<Real>({units_})); });
  Shape output = input_shape;
  output.back() = units_;
  return output;
}

Tensor DenseLayer::DoCall(const Tensor& x, const Array* /*mask*/, const CallContext& context) {
  if (context.int8 != nullptr && !autograd::GradEnabled()) {
    // x @ kernel over the last axis, every leading row at once, then the bias and activation.
    const Array& kernel = kernel_.value();
    const size_t inputs = kernel.shape()[0], units = kernel.shape()[1];
    const Array& values = x.value();
    if (values.dimension() >= 2 && values.shape().back() == inputs) {
      Shape shape = x.shape();
      shape.back() = units;
      Array product = Array::from_shape(shape);
      autograd::QuantizedGemmScratch scratch;
      autograd::QuantizedGemm(values.size() / inputs, values.data(), inputs,
                              context.int8->Get(kernel), false, product.data(), units, scratch);
      return Activate(activation_, autograd::Add(Tensor(std::move(product)), bias_));
    }
  }
  return Activate(activation_, autograd::Add(autograd::MatMul(x, kernel_), bias_));
}

absl::StatusOr<Shape> TimeDistributedLayer::DoBuild(const Shape& input_shape, Rng& rng) {
  if (input_shape.size() < 2) {
    return absl::InvalidArgumentError("TimeDistributed needs inputs of at least [time, features]");
  }
  // Once: a rebuild (a model initialising the weights) keeps the same name.
  if (inner_name_.empty()) inner_name_ = layer_->name().empty() ? layer_->type() : layer_->name();
  layer_->set_name(name() + "/" + inner_name_);
  const Shape step_shape(input_shape.begin() + 1, input_shape.end());
  if (absl::Status status = layer_->Build(step_shape, rng); !status.ok()) return status;
  Shape output = {input_shape[0]};
  output.insert(output.end(), layer_->output_shape().begin(), layer_->output_shape().end());
  return output;
}

Tensor TimeDistributedLayer::EveryStep(const Tensor& x,
                                       const std::function<Tensor(const Tensor&)>& call) const {
  // The call's own shapes, not the built ones: a time axis built as varying (kVaries) has no
  // length of its own.
  const Shape shape = x.shape();
  const size_t batch = shape[0], time = shape[1];
  Shape flat = {batch * time};
  flat.insert(flat.end(), shape.begin() + 2, shape.end());
  Tensor y = call(autograd::Reshape(x, flat));
  const Shape step = y.shape();
  Shape unflat = {batch, time};
  unflat.insert(unflat.end(), step.begin() + 1, step.end());
  return autograd::Reshape(y, unflat);
}

Tensor TimeDistributedLayer::DoCall(const Tensor& x, const Array* /*mask*/,
                                    const CallContext& context) {
  return EveryStep(x, [&](const Tensor& step) { return layer_->Call(step, nullptr, context); });
}

void DenseLayer::GetConfig(Json& config) const {
  config["units"] = units_;
  config["activation"] = activation_.empty() ? "linear" : activation_;
  SetKernelLayerKeys(config);
}

absl::StatusOr<LayerPtr> DenseLayer::FromConfig(ConfigReader& config) {
  const size_t units = config.Size("units");
  const std::string activation = config.String("activation", "linear");
  ReadKernelLayerKeys(config);
  return Dense(units, activation);
}

void TimeDistributedLayer::GetConfig(Json& config) const {
  Json inner = LayerToConfig(*layer_);
  inner["config"]["name"] = KerasBaseName(layer_->type());  // Keras keeps the inner layer's name
  config["layer"] = inner;
}

absl::StatusOr<LayerPtr> TimeDistributedLayer::FromConfig(ConfigReader& config) {
  const Json& inner = config.Object("layer");
  if (!config.ok()) return absl::InvalidArgumentError("no inner layer");
  absl::StatusOr<LayerFromFile> layer = LayerFromConfig(inner, "the inner layer");
  if (!layer.ok()) return layer.status();
  return TimeDistributed(std::move(layer->layer));
}

std::vector<std::string> TimeDistributedLayer::KerasWeightNames() const {
  // Keras creates the inner layer's weights under the wrapper's name: "time_distributed/kernel:0".
  std::vector<std::string> names;
  for (const Weight& weight : layer_->weights()) {
    names.push_back(absl::StrCat(name(), "/", weight.name, ":0"));
  }
  return names;
}

LayerPtr Dense(size_t units, std::string activation) {
  return std::make_unique<DenseLayer>(units, std::move(activation));
}

LayerPtr TimeDistributed(LayerPtr layer) {
  return std::make_unique<TimeDistributedLayer>(std::move(layer));
}

}  // namespace layers
