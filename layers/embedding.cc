#include "layers/embedding.h"

#include "absl/strings/str_format.h"
#include "autograd/elementwise.h"
#include "autograd/indexing.h"
#include "layers/config.h"

namespace layers {

absl::StatusOr<Shape> EmbeddingLayer::DoBuild(const Shape& input_shape, Rng& rng) {
  for (const auto& [what, value] :
       {std::pair<const char*, size_t>{"input_dim", input_dim_}, {"output_dim", output_dim_}}) {
    if (absl::Status status = CheckSize(what, value); !status.ok()) return status;
  }
  if (input_length_ > kMaxLayerSize) return CheckSize("input_length", input_length_);
  if (absl::Status status = CheckWeightShape("embeddings", {input_dim_, output_dim_});
      !status.ok()) {
    return status;
  }
  if (input_shape.size() != 1 || (input_length_ != 0 && input_shape[0] != input_length_)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("expected input [input_length] = (None, %d) of word indices, got %s",
                        input_length_, KerasShapeString(input_shape)));
  }
  embeddings_ = AddWeight("embeddings", {input_dim_, output_dim_}, [&] {
    return autograd::RandomUniform({input_dim_, output_dim_}, -0.05, 0.05, rng);
  });
  return Shape{input_shape[0], output_dim_};
}

Tensor EmbeddingLayer::DoCall(const Tensor& x, const Array* /*mask*/,
                              const CallContext& /*context*/) {
  return autograd::GatherRows(embeddings_, x.value());
}

Array EmbeddingLayer::MakeMask(const Array& x) const {
  return Array(xt::cast<Real>(xt::not_equal(x, Real(0))));
}

void EmbeddingLayer::GetConfig(Json& config) const {
  config["input_dim"] = input_dim_;
  config["output_dim"] = output_dim_;
  Json initializer = InitializerConfig("RandomUniform");
  initializer["config"] = Json{{"minval", -0.05}, {"maxval", 0.05}, {"seed", nullptr}};
  config["embeddings_initializer"] = initializer;
  SetNull(config, {"embeddings_regularizer", "activity_regularizer", "embeddings_constraint"});
  config["mask_zero"] = mask_zero_;
  const Json length = input_length_ == 0 ? Json() : Json(input_length_);
  config["input_length"] = length;
  // Keras' Embedding always sets its input shape, wherever it sits in the model.
  if (!config.contains("batch_input_shape")) config["batch_input_shape"] = Json::array({nullptr, length});
}

absl::StatusOr<LayerPtr> EmbeddingLayer::FromConfig(ConfigReader& config) {
  const size_t input_dim = config.Size("input_dim");
  const size_t output_dim = config.Size("output_dim");
  config.Ignore("embeddings_initializer");
  config.OnlyNull({"embeddings_regularizer", "activity_regularizer", "embeddings_constraint"});
  const bool mask_zero = config.Bool("mask_zero", false);
  size_t input_length = 0;  // null: any length
  if (config.ok() && !config.IsNull("input_length")) input_length = config.Size("input_length", 0);
  return Embedding(input_dim, output_dim, input_length, mask_zero);
}

LayerPtr Embedding(size_t input_dim, size_t output_dim, size_t input_length, bool mask_zero) {
  return std::make_unique<EmbeddingLayer>(input_dim, output_dim, input_length, mask_zero);
}

}  // namespace layers
