// Recurrent layers and the Bidirectional wrapper, with Keras' semantics and weight layout.
#ifndef LAYERS_RECURRENT_H_
#define LAYERS_RECURRENT_H_

#include <string>

#include "layers/layer.h"
#include "layers/options.h"

namespace layers {

// What Bidirectional needs of the layer it wraps.
class RecurrentLayer : public Layer {
 public:
  using Layer::Layer;
  virtual bool return_sequences() const = 0;
  virtual bool go_backwards() const = 0;
  // An unbuilt copy of this layer's configuration with go_backwards flipped (fresh weights).
  virtual std::unique_ptr<RecurrentLayer> MakeReversedCopy() const = 0;
};

struct LstmOptions {
  explicit LstmOptions(size_t units) : units_(units) {}
  LAYERS_ARG(size_t, units, 0);
  // Return the hidden state of every step ([time, units]) instead of the last one ([units]).
  LAYERS_ARG(bool, return_sequences, false);
  // Read the input from its last step to its first; the returned sequence is reversed too.
  LAYERS_ARG(bool, go_backwards, false);
  LAYERS_ARG(std::string, activation, "tanh");
  LAYERS_ARG(std::string, recurrent_activation, "sigmoid");
  // Add 1 to the forget gate's bias at initialization (Keras' default).
  LAYERS_ARG(bool, unit_forget_bias, true);
  // Fraction of the inputs / of the recurrent state dropped in training: one mask per sequence,
  // reused at every step (Keras' dropout and recurrent_dropout).
  LAYERS_ARG(double, dropout, 0.0);
  LAYERS_ARG(double, recurrent_dropout, 0.0);
};

// Keras LSTM. Input [time, input_dim]; weights kernel [input_dim, 4 units] (glorot_uniform),
// recurrent_kernel [units, 4 units] (orthogonal), bias [4 units] (zeros, forget slice 1), gate
// order i, f, c, o. The initial state is zeros.
class LstmLayer : public RecurrentLayer {
 public:
  explicit LstmLayer(LstmOptions options) : RecurrentLayer("LSTM"), options_(options) {}
  Tensor Call(const Tensor& x, bool training) override;
  bool return_sequences() const override { return options_.return_sequences(); }
  bool go_backwards() const override { return options_.go_backwards(); }
  std::unique_ptr<RecurrentLayer> MakeReversedCopy() const override;
  const LstmOptions& options() const { return options_; }

 private:
  absl::StatusOr<Shape> DoBuild(const Shape& input_shape, Rng& rng) override;
  LstmOptions options_;
  Tensor kernel_, recurrent_kernel_, bias_;
};

// Keras Bidirectional: a forward copy and a go_backwards copy of `layer`, each with its own
// weights, merged by merge_mode "sum", "mul", "ave" or "concat" (the default; features of the
// forward layer first). With return_sequences the backward layer's output is reversed back to
// forward time before merging; without, the two last outputs are merged.
class BidirectionalLayer : public Layer {
 public:
  BidirectionalLayer(LayerPtr layer, std::string merge_mode)
      : Layer("Bidirectional"), layer_(std::move(layer)), merge_mode_(std::move(merge_mode)) {}
  Tensor Call(const Tensor& x, bool training) override;
  std::vector<Weight> weights() const override;
  const std::string& merge_mode() const { return merge_mode_; }

 private:
  absl::StatusOr<Shape> DoBuild(const Shape& input_shape, Rng& rng) override;
  LayerPtr layer_;  // as given; becomes the forward layer
  std::unique_ptr<RecurrentLayer> forward_, backward_;
  std::string merge_mode_;
};

LayerPtr LSTM(LstmOptions options);
LayerPtr LSTM(size_t units);
LayerPtr Bidirectional(LayerPtr layer, std::string merge_mode = "concat");

}  // namespace layers

#endif  // LAYERS_RECURRENT_H_
