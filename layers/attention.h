// Keras' dot-product (Luong) and additive (Bahdanau) attention, called on [query, value] or
// [query, value, key] (key defaults to value):
//
//   KerasTensor query = Input({kVaries, 8}), value = Input({kVaries, 8});
//   KerasTensor context = Attention()({query, value});               // [batch, Tq, 8]
//   KerasTensors both = AdditiveAttention(AttentionOptions().return_attention_scores(true))(
//       {query, value});                                             // and [batch, Tq, Tv]
//
// As tf.keras 2.11 (keras/layers/attention/base_dense_attention.py, attention.py,
// additive_attention.py at tag v2.11.0):
//   scores [batch, Tq, Tv]  Attention "dot":     query @ key^T, times "scale" with use_scale;
//                           Attention "concat":  concat_score_weight * sum(tanh(q + k)) over the
//                                                features (tanh(scale * (q + k)) with use_scale);
//                           AdditiveAttention:   sum(scale * tanh(q + k)) over the features
//                                                (scale is 1 without use_scale).
//   masking                 1e9 is subtracted from the scores of padded value steps (the value's
//                           mask) and, with use_causal_mask, of key steps after the query step;
//                           the key's own mask is not read (Keras reads only the first two).
//   distribution            softmax over the value steps; dropout on it in training only.
//   output [batch, Tq, dim] distribution @ value, zero at padded query steps (the query's mask),
//                           which is also the output's mask; with return_attention_scores the
//                           distribution (after dropout) is a second output, unmasked.
// Weights: Attention's "scale" (a scalar, ones) with use_scale and "concat_score_weight" (a
// scalar, ones) with score_mode "concat"; AdditiveAttention's "scale" ([dim], glorot_uniform with
// fan_in = fan_out = dim) with use_scale.
//
// use_causal_mask and return_attention_scores are call arguments in Keras 2.11; here they are
// options of the layer (so every call of a shared layer has the same ones). A model file holds
// them as Keras does, as the call's keyword arguments in each inbound node; the config holds
// dropout, use_scale and score_mode.
#ifndef LAYERS_ATTENTION_H_
#define LAYERS_ATTENTION_H_

#include <optional>
#include <string>
#include <vector>

#include "layers/layer.h"

namespace layers {

// Named arguments: AttentionOptions().use_scale(true).score_mode("concat").dropout(0.1).
struct AttentionOptions {
  // Keras' default: false for Attention, true for AdditiveAttention.
  AttentionOptions& use_scale(bool value) {
    use_scale_ = value;
    return *this;
  }
  // Attention only: "dot" (Keras' default) or "concat".
  AttentionOptions& score_mode(std::string value) {
    score_mode_ = std::move(value);
    return *this;
  }
  // The fraction of the attention distribution dropped in training, in [0, 1).
  AttentionOptions& dropout(double value) {
    dropout_ = value;
    return *this;
  }
  // Query step i attends only to key steps j <= i (decoder self-attention).
  AttentionOptions& use_causal_mask(bool value) {
    use_causal_mask_ = value;
    return *this;
  }
  // A second output: the attention distribution [batch, Tq, Tv].
  AttentionOptions& return_attention_scores(bool value) {
    return_attention_scores_ = value;
    return *this;
  }

  std::optional<bool> use_scale_;
  std::string score_mode_ = "dot";
  double dropout_ = 0;
  bool use_causal_mask_ = false;
  bool return_attention_scores_ = false;
};

// What Attention and AdditiveAttention share (Keras' BaseDenseAttention); they differ in their
// scores and weights only.
class BaseDenseAttentionLayer : public Layer {
 public:
  BaseDenseAttentionLayer(std::string type, AttentionOptions options)
      : Layer(std::move(type)), options_(std::move(options)) {}
  MaskRule mask_rule() const override { return MaskRule::kPasses; }
  absl::StatusOr<std::vector<bool>> OutputsMasked(const std::vector<bool>& masked) const override;
  std::vector<Tensor> CallNode(const std::vector<Tensor>& inputs,
                               const std::vector<const Array*>& masks, const CallContext& context,
                               std::vector<std::optional<Array>>& output_masks) override;
  // The call's keyword arguments as Keras writes them in a model file's inbound nodes: those set
  // ({"use_causal_mask": true}, {"return_attention_scores": true}), else {}.
  Json CallArguments() const;
  // Reads them back from a file (before the layer is first called); an error names the key.
  absl::Status SetCallArguments(const Json& arguments);
  const AttentionOptions& options() const { return options_; }

 protected:
  Tensor DoCall(const Tensor& x, const Array* mask, const CallContext& context) override;
  absl::StatusOr<Shape> DoBuild(const Shape& input_shape, Rng& rng) override;
  absl::StatusOr<std::vector<Shape>> DoBuildCall(const std::vector<Shape>& input_shapes,
                                                 Rng& rng) override;
  // Checks the options and shapes ([Tq, dim], [Tv, dim_v], [Tv, dim]) and creates the weights.
  virtual absl::Status CreateWeights(size_t key_dim, size_t value_dim, Rng& rng) = 0;
  // query [batch, Tq, dim], key [batch, Tv, dim] -> the scores [batch, Tq, Tv].
  virtual Tensor Scores(const Tensor& query, const Tensor& key) const = 0;
  AttentionOptions options_;
};

// Keras Attention(use_scale=False, score_mode="dot", dropout=0.0).
class AttentionLayer : public BaseDenseAttentionLayer {
 public:
  explicit AttentionLayer(AttentionOptions options)
      : BaseDenseAttentionLayer("Attention", std::move(options)) {}
  void GetConfig(Json& config) const override;
  static absl::StatusOr<LayerPtr> FromConfig(ConfigReader& config);

 private:
  absl::Status CreateWeights(size_t key_dim, size_t value_dim, Rng& rng) override;
  Tensor Scores(const Tensor& query, const Tensor& key) const override;
  Tensor scale_, concat_score_weight_;  // undefined when not used
};

// Keras AdditiveAttention(use_scale=True, dropout=0.0).
class AdditiveAttentionLayer : public BaseDenseAttentionLayer {
 public:
  explicit AdditiveAttentionLayer(AttentionOptions options)
      : BaseDenseAttentionLayer("AdditiveAttention", std::move(options)) {}
  void GetConfig(Json& config) const override;
  static absl::StatusOr<LayerPtr> FromConfig(ConfigReader& config);

 private:
  absl::Status CreateWeights(size_t key_dim, size_t value_dim, Rng& rng) override;
  Tensor Scores(const Tensor& query, const Tensor& key) const override;
  Tensor scale_;  // undefined without use_scale
};

LayerPtr Attention(AttentionOptions options = {});
LayerPtr AdditiveAttention(AttentionOptions options = {});

}  // namespace layers

#endif  // LAYERS_ATTENTION_H_
