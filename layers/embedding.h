// Keras' Embedding layer.
#ifndef LAYERS_EMBEDDING_H_
#define LAYERS_EMBEDDING_H_

#include "layers/layer.h"

namespace layers {

// Keras Embedding: input [input_length] of word indices in [0, input_dim) ->
// [input_length, output_dim]. Weight "embeddings" [input_dim, output_dim], uniform(-0.05, 0.05).
// The gradient is a scatter-add into the rows used. An index out of range is an error naming the
// layer. With mask_zero, index 0 is padding: the output carries the mask x != 0 (Keras), so the
// layers after it that support masks skip those steps (the vocabulary then needs input_dim =
// words + 1).
class EmbeddingLayer : public Layer {
 public:
  EmbeddingLayer(size_t input_dim, size_t output_dim, size_t input_length, bool mask_zero)
      : Layer("Embedding"),
        input_dim_(input_dim),
        output_dim_(output_dim),
        input_length_(input_length),
        mask_zero_(mask_zero) {}
  // Rows of the table: word indices 0 to input_dim - 1.
  size_t input_dim() const { return input_dim_; }
  // As Keras (supports_masking = mask_zero): with mask_zero it makes a mask (index 0 is padding).
  MaskRule mask_rule() const override { return mask_zero_ ? MaskRule::kMakes : MaskRule::kRefuses; }
  bool mask_zero() const { return mask_zero_; }
  Shape implied_input_shape() const override {
    return input_length_ == 0 ? Shape{} : Shape{input_length_};
  }
  void GetConfig(Json& config) const override;
  static absl::StatusOr<LayerPtr> FromConfig(ConfigReader& config);

 private:
  Tensor DoCall(const Tensor& x, const Array* mask, const CallContext& context) override;
  Array MakeMask(const Array& x) const override;
  absl::StatusOr<Shape> DoBuild(const Shape& input_shape, Rng& rng) override;
  size_t input_dim_, output_dim_, input_length_;
  bool mask_zero_;
  Tensor embeddings_;
};

// Keras' Embedding(input_dim, output_dim, input_length=..., mask_zero=...): the model's input shape
// comes from input_length, so an Embedding first layer needs no input shape in Sequential::Add.
LayerPtr Embedding(size_t input_dim, size_t output_dim, size_t input_length,
                   bool mask_zero = false);

}  // namespace layers

#endif  // LAYERS_EMBEDDING_H_
