#include "layers/attention.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "autograd/elementwise.h"
#include "autograd/losses.h"
#include "autograd/matmul.h"
#include "autograd/reductions.h"
#include "autograd/shape_ops.h"
#include "layers/config.h"
#include "nlohmann/json.hpp"
#include "xtensor/xbuilder.hpp"

namespace layers {
namespace {

// What Keras subtracts from a masked score before the softmax (base_dense_attention.py).
constexpr Real kMaskedScore = Real(1e9);

std::string ShapesString(const std::vector<Shape>& shapes) {
  std::vector<std::string> parts;
  for (const Shape& shape : shapes) parts.push_back(KerasShapeString(shape));
  return absl::StrCat("[", absl::StrJoin(parts, ", "), "]");
}

// Two extents agree when equal or when either varies (Keras' None).
bool Agree(size_t a, size_t b) { return a == b || a == kVaries || b == kVaries; }

}  // namespace

Tensor BaseDenseAttentionLayer::DoCall(const Tensor& x, const Array* mask,
                                       const CallContext& context) {
  std::vector<std::optional<Array>> masks;
  return CallNode({x}, {mask}, context, masks).front();
}

absl::StatusOr<Shape> BaseDenseAttentionLayer::DoBuild(const Shape& input_shape, Rng& rng) {
  absl::StatusOr<std::vector<Shape>> out = DoBuildCall({input_shape}, rng);
  if (!out.ok()) return out.status();
  return (*out)[0];
}

absl::StatusOr<std::vector<Shape>> BaseDenseAttentionLayer::DoBuildCall(
    const std::vector<Shape>& shapes, Rng& rng) {
  if (shapes.size() < 2 || shapes.size() > 3) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "it is called on a list of 2 or 3 tensors, [query, value] or [query, value, key], got %d",
        shapes.size()));
  }
  for (const Shape& shape : shapes) {
    if (shape.size() != 2 || shape[1] == kVaries) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "every input must be a sequence (None, steps, features) with a known feature size, "
          "got %s",
          ShapesString(shapes)));
    }
  }
  const Shape& query = shapes[0];
  const Shape& value = shapes[1];
  const Shape& key = shapes.size() > 2 ? shapes[2] : value;
  if (shapes.size() > 2 && !Agree(key[0], value[0])) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "the value and the key must have the same number of steps, got value %s and key %s",
        KerasShapeString(value), KerasShapeString(key)));
  }
  if (query[1] != key[1]) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "the query and the key must have the same feature size, got query %s and %s %s",
        KerasShapeString(query), shapes.size() > 2 ? "key" : "value (the key)",
        KerasShapeString(key)));
  }
  if (!(options_.dropout_ >= 0 && options_.dropout_ < 1)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("dropout must be in [0, 1), got %g", options_.dropout_));
  }
  if (absl::Status status = CreateWeights(key[1], value[1], rng); !status.ok()) return status;
  std::vector<Shape> out = {{query[0], value[1]}};
  if (options_.return_attention_scores_) out.push_back({query[0], value[0]});
  return out;
}

absl::StatusOr<std::vector<bool>> BaseDenseAttentionLayer::OutputsMasked(
    const std::vector<bool>& masked) const {
  if (masked.size() < 2 || masked.size() > 3) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "it is called on a list of 2 or 3 tensors, [query, value] or [query, value, key], got %d",
        masked.size()));
  }
  // Keras' compute_mask: the query's mask; the scores carry none.
  std::vector<bool> out = {masked[0]};
  if (options_.return_attention_scores_) out.push_back(false);
  return out;
}

std::vector<Tensor> BaseDenseAttentionLayer::CallNode(
    const std::vector<Tensor>& inputs, const std::vector<const Array*>& masks,
    const CallContext& context, std::vector<std::optional<Array>>& output_masks) {
  const Tensor& query = inputs.at(0);
  const Tensor& value = inputs.at(1);
  const Tensor& key = inputs.size() > 2 ? inputs[2] : value;
  const auto fail = [&](const std::string& problem) {
    std::vector<Shape> shapes;
    for (const Tensor& input : inputs) shapes.push_back(input.shape());
    std::vector<std::string> parts;
    for (const Shape& shape : shapes) parts.push_back(autograd::ShapeString(shape));
    throw autograd::ShapeError(absl::StrFormat("layer '%s' (%s) on inputs [%s]: %s", name(), type(),
                                               absl::StrJoin(parts, ", "), problem));
  };
  if (query.dim() != 3 || value.dim() != 3 || key.dim() != 3) {
    fail("expected [batch, steps, features] each");
  }
  const size_t batch = query.size(0), tq = query.size(1), tv = value.size(1);
  if (value.size(0) != batch || key.size(0) != batch) fail("the batch sizes differ");
  if (key.size(1) != tv) fail("the value and the key have different numbers of steps");
  if (key.size(2) != query.size(2)) fail("the query and the key have different feature sizes");
  const Array* query_mask = masks.size() > 0 ? masks[0] : nullptr;
  const Array* value_mask = masks.size() > 1 ? masks[1] : nullptr;
  if (query_mask != nullptr && autograd::ShapeOf(*query_mask) != Shape{batch, tq}) {
    fail("the query's mask has shape " + autograd::ShapeString(autograd::ShapeOf(*query_mask)));
  }
  if (value_mask != nullptr && autograd::ShapeOf(*value_mask) != Shape{batch, tv}) {
    fail("the value's mask has shape " + autograd::ShapeString(autograd::ShapeOf(*value_mask)));
  }

  Tensor scores = Scores(query, key);
  if (value_mask != nullptr || options_.use_causal_mask_) {
    // 1 where query step i may attend to value step j: the value's mask AND (with the causal
    // mask) j <= i. Keras subtracts 1e9 from the others.
    Array keep = xt::ones<Real>({batch, tq, tv});
    for (size_t b = 0; b < batch; ++b) {
      for (size_t i = 0; i < tq; ++i) {
        for (size_t j = 0; j < tv; ++j) {
          if (value_mask != nullptr && (*value_mask)(b, j) == 0) keep(b, i, j) = 0;
          if (options_.use_causal_mask_ && j > i) keep(b, i, j) = 0;
        }
      }
    }
    Array bias = (keep - Real(1)) * kMaskedScore;
    scores = autograd::Add(scores, Tensor(std::move(bias)));
  }
  Tensor distribution = autograd::Softmax(scores, -1);
  if (context.training && options_.dropout_ > 0) {
    distribution = autograd::Mul(
        distribution, Tensor(DropoutMask(distribution.shape(), options_.dropout_, rng(), context)));
  }
  Tensor out = autograd::BatchMatMul(distribution, value);
  if (query_mask != nullptr) {
    Array steps = *query_mask;
    steps.reshape({batch, tq, 1});
    out = autograd::Mul(out, Tensor(std::move(steps)));
  }
  output_masks.clear();
  output_masks.push_back(query_mask != nullptr ? std::optional<Array>(*query_mask) : std::nullopt);
  if (!options_.return_attention_scores_) return {out};
  output_masks.push_back(std::nullopt);
  return {out, distribution};
}

Json BaseDenseAttentionLayer::CallArguments() const {
  Json arguments = Json::object();
  if (options_.return_attention_scores_) arguments["return_attention_scores"] = true;
  if (options_.use_causal_mask_) arguments["use_causal_mask"] = true;
  return arguments;
}

absl::Status BaseDenseAttentionLayer::SetCallArguments(const Json& arguments) {
  for (const auto& [key, value] : arguments.items()) {
    const bool known = key == "return_attention_scores" || key == "use_causal_mask";
    if (!known || !value.is_boolean()) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "the call's keyword argument '%s' (value %s) is not one this library reads: expected "
          "({}, or return_attention_scores and use_causal_mask true or false)",
          key, Quote(value)));
    }
    if (key == "return_attention_scores") {
      options_.return_attention_scores_ = value.get<bool>();
    } else {
      options_.use_causal_mask_ = value.get<bool>();
    }
  }
  return absl::OkStatus();
}

absl::Status AttentionLayer::CreateWeights(size_t /*key_dim*/, size_t /*value_dim*/, Rng& /*rng*/) {
  if (options_.score_mode_ != "dot" && options_.score_mode_ != "concat") {
    return absl::InvalidArgumentError(absl::StrFormat(
        "score_mode must be \"dot\" or \"concat\", got \"%s\"", options_.score_mode_));
  }
  const auto one = [] { return Array(xt::ones<Real>(Shape{})); };
  scale_ = options_.use_scale_.value_or(false) ? AddWeight("scale", {}, one) : Tensor();
  concat_score_weight_ =
      options_.score_mode_ == "concat" ? AddWeight("concat_score_weight", {}, one) : Tensor();
  return absl::OkStatus();
}

Tensor AttentionLayer::Scores(const Tensor& query, const Tensor& key) const {
  if (options_.score_mode_ == "dot") {
    Tensor scores = autograd::BatchMatMul(query, key, /*transpose_b=*/true);
    return scale_.defined() ? autograd::Mul(scores, scale_) : scores;
  }
  // "concat": [batch, Tq, 1, dim] + [batch, 1, Tv, dim], tanh, summed over the features.
  const size_t batch = query.size(0), dim = query.size(2);
  Tensor sum = autograd::Add(autograd::Reshape(query, {batch, query.size(1), 1, dim}),
                             autograd::Reshape(key, {batch, 1, key.size(1), dim}));
  if (scale_.defined()) sum = autograd::Mul(scale_, sum);
  return autograd::Mul(concat_score_weight_, autograd::Sum(autograd::Tanh(sum), -1));
}

absl::Status AdditiveAttentionLayer::CreateWeights(size_t key_dim, size_t value_dim, Rng& rng) {
  if (options_.score_mode_ != "dot") {
    return absl::InvalidArgumentError("score_mode is an option of Attention only");
  }
  scale_ = Tensor();
  if (!options_.use_scale_.value_or(true)) return absl::OkStatus();
  // Keras shapes "scale" by the value's features and multiplies it with tanh(query + key).
  if (value_dim != key_dim) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "with use_scale the value's feature size must be the key's (its scale has the value's), "
        "got %d and %d",
        value_dim, key_dim));
  }
  scale_ = AddWeight("scale", {value_dim}, [&] {
    return autograd::GlorotUniform({value_dim}, value_dim, value_dim, rng);
  });
  return absl::OkStatus();
}

Tensor AdditiveAttentionLayer::Scores(const Tensor& query, const Tensor& key) const {
  const size_t batch = query.size(0), dim = query.size(2);
  Tensor terms =
      autograd::Tanh(autograd::Add(autograd::Reshape(query, {batch, query.size(1), 1, dim}),
                                   autograd::Reshape(key, {batch, 1, key.size(1), dim})));
  if (scale_.defined()) terms = autograd::Mul(terms, scale_);
  return autograd::Sum(terms, -1);
}

void AttentionLayer::GetConfig(Json& config) const {
  config["dropout"] = options_.dropout_;
  config["use_scale"] = options_.use_scale_.value_or(false);
  config["score_mode"] = options_.score_mode_;
}

void AdditiveAttentionLayer::GetConfig(Json& config) const {
  config["dropout"] = options_.dropout_;
  config["use_scale"] = options_.use_scale_.value_or(true);
}

namespace {

// The keys both classes read: dropout, and causal (Keras before 2.10 wrote it; 2.11 still takes
// it, as use_causal_mask for every call).
AttentionOptions ReadBaseKeys(ConfigReader& config, bool default_scale) {
  AttentionOptions options;
  options.dropout(config.Number("dropout", 0.0));
  options.use_scale(config.Bool("use_scale", default_scale));
  options.use_causal_mask(config.Bool("causal", false));
  return options;
}

}  // namespace

absl::StatusOr<LayerPtr> AttentionLayer::FromConfig(ConfigReader& config) {
  AttentionOptions options = ReadBaseKeys(config, false);
  options.score_mode(config.String("score_mode", "dot"));
  return Attention(options);
}

absl::StatusOr<LayerPtr> AdditiveAttentionLayer::FromConfig(ConfigReader& config) {
  return AdditiveAttention(ReadBaseKeys(config, true));
}

LayerPtr Attention(AttentionOptions options) {
  return std::make_shared<AttentionLayer>(std::move(options));
}

LayerPtr AdditiveAttention(AttentionOptions options) {
  return std::make_shared<AdditiveAttentionLayer>(std::move(options));
}

}  // namespace layers
