// Recurrent layers and the Bidirectional wrapper, with Keras' semantics and weight layout.
#ifndef LAYERS_RECURRENT_H_
#define LAYERS_RECURRENT_H_

#include <string>

#include "autograd/recurrent.h"
#include "layers/layer.h"
#include "layers/options.h"

namespace layers {

// Options of the recurrent layers (LSTM, GRU, SimpleRNN), with Keras' names and defaults.
struct RecurrentOptions {
  explicit RecurrentOptions(size_t units) : units_(units) {}
  LAYERS_ARG(size_t, units, 0);
  // Return the hidden state of every step ([time, units]) instead of the last one ([units]).
  LAYERS_ARG(bool, return_sequences, false);
  // In the Functional API, also return the final state: the layer's outputs are the output, then
  // h (and c for LSTM), each [units] (Keras' return_state).
  LAYERS_ARG(bool, return_state, false);
  // Read the input from its last step to its first; the returned sequence is reversed too.
  LAYERS_ARG(bool, go_backwards, false);
  // Keras' names: tanh, sigmoid, hard_sigmoid (Keras 2's), relu, linear. The gates use
  // recurrent_activation (SimpleRNN has none).
  LAYERS_ARG(std::string, activation, "tanh");
  LAYERS_ARG(std::string, recurrent_activation, "sigmoid");
  // "orthogonal" (Keras' default) or "zeros".
  LAYERS_ARG(std::string, recurrent_initializer, "orthogonal");
  // LSTM: add 1 to the forget gate's bias at initialization (Keras' default).
  LAYERS_ARG(bool, unit_forget_bias, true);
  // Fraction of the inputs / of the recurrent state dropped in training: one mask per sequence,
  // reused at every step (Keras' dropout and recurrent_dropout).
  LAYERS_ARG(double, dropout, 0.0);
  LAYERS_ARG(double, recurrent_dropout, 0.0);
  // GRU only: true (tf.keras 2's default) applies the reset gate after the recurrent product and
  // keeps two biases; false (standalone Keras 2's default) applies it before, with one bias.
  LAYERS_ARG(bool, reset_after, true);
  // Not Keras': with a mask, run only over the steps where some sample of the batch is real (the
  // others are exact no-ops, so the result is the same). Off only to show that it is.
  LAYERS_ARG(bool, skip_masked_steps, true);
};
using LstmOptions = RecurrentOptions;

// What the recurrent layers share: argument checks, the zero initial state, input dropout, masks,
// and returning the whole sequence or its last step. Subclasses create their weights and run their
// fused sequence op. Input [time, input_dim] -> [time, units] or [units].
//
// With a mask (Keras' semantics): a masked step leaves the state as it was and outputs the
// previous output (zeros inside Bidirectional with return_sequences, Keras'
// zero_output_for_mask); go_backwards reads the mask reversed with the input; the last output is
// that of the last real step. The mask passes on with return_sequences, unchanged (as Keras, even
// with go_backwards), and ends here without.
class RecurrentLayer : public Layer {
 public:
  RecurrentLayer(std::string type, RecurrentOptions options)
      : Layer(std::move(type)), options_(std::move(options)) {}
  // The mask passes on with return_sequences and ends here without.
  MaskRule mask_rule() const override {
    return return_sequences() ? MaskRule::kPasses : MaskRule::kEnds;
  }
  // Keras' return_state and initial_state: the output (as CallMasked), then the final state,
  // each [batch, units]: h, and c for LSTM. initial_state: {} (zeros) or the state to start from
  // ({h}, or {h, c} for LSTM); gradients flow into it. With a mask, the final state is that after
  // the last real step, and outputs before a sample's first real step are zeros (Keras' first
  // "previous output"), whatever the initial state.
  std::vector<Tensor> CallWithState(const Tensor& x, const Array* mask,
                                    const std::vector<Tensor>& initial_state,
                                    const CallContext& context);
  std::vector<Tensor> CallWithState(const Tensor& x, const Array* mask,
                                    const std::vector<Tensor>& initial_state, bool training) {
    return CallWithState(x, mask, initial_state, CallContext{training});
  }
  // The tensors of the state: 2 for LSTM (h, c), 1 otherwise.
  virtual size_t state_size() const { return 1; }
  // The Functional API: inputs are x, then (Keras' initial_state) the state's tensors; outputs
  // the output, then with return_state the final state.
  absl::StatusOr<std::vector<bool>> OutputsMasked(const std::vector<bool>& masked) const override;
  std::vector<Tensor> CallNode(const std::vector<Tensor>& inputs,
                               const std::vector<const Array*>& masks, const CallContext& context,
                               std::vector<std::optional<Array>>& output_masks) override;
  // Keras' zero_output_for_mask: masked steps output zeros instead of the previous output.
  void set_zero_output_for_mask(bool zero) { zero_output_for_mask_ = zero; }
  // Keras' cell name, between the layer's and the weight's: "lstm_cell".
  std::vector<std::string> KerasWeightNames() const override;
  void GetConfig(Json& config) const override;
  const RecurrentOptions& options() const { return options_; }
  bool return_sequences() const { return options_.return_sequences(); }
  // An unbuilt copy of this layer's configuration with go_backwards flipped (fresh weights), for
  // Bidirectional.
  virtual std::unique_ptr<RecurrentLayer> MakeReversedCopy() const = 0;

 protected:
  absl::StatusOr<Shape> DoBuild(const Shape& input_shape, Rng& rng) final;
  absl::StatusOr<std::vector<Shape>> DoBuildCall(const std::vector<Shape>& input_shapes,
                                                 Rng& rng) final;
  Tensor DoCall(const Tensor& x, const Array* mask, const CallContext& context) final;
  // Creates the weights (AddWeight) for inputs of `input_dim` features.
  virtual void CreateWeights(size_t input_dim, Rng& rng) = 0;
  // The fused op over the whole sequence: [batch, time, input_dim] -> [batch, time, units] in
  // processing order, from a zero initial state.
  // state: the initial state (state_size() tensors); `options` as Run made them: the layer's
  // direction, activations and zero_output_for_mask, with the call's recurrent_mask (recurrent
  // dropout while training), step_mask and append_state (autograd/recurrent.h).
  virtual Tensor Sequence(const Tensor& x, const std::vector<Tensor>& state,
                          const autograd::SequenceOptions& options) = 0;
  // The recurrent kernel's initial value [units, columns] by recurrent_initializer.
  Array RecurrentInitial(size_t columns, Rng& rng) const;
  // CallMasked and CallWithState: the output, then (with return_state) the final state.
  std::vector<Tensor> Run(const Tensor& x, const Array* mask,
                          const std::vector<Tensor>& initial_state, const CallContext& context,
                          bool return_state);
  RecurrentOptions options_;
  autograd::CellActivations activations_;  // parsed from options_ by DoBuild
  bool zero_output_for_mask_ = false;
  // Every recurrent layer has these three weights, in this Keras order.
  Tensor kernel_, recurrent_kernel_, bias_;
};

// Keras LSTM: kernel [input_dim, 4 units] (glorot_uniform), recurrent_kernel [units, 4 units],
// bias [4 units] (zeros, forget slice 1 with unit_forget_bias); gate order i, f, c, o.
class LstmLayer : public RecurrentLayer {
 public:
  explicit LstmLayer(RecurrentOptions options) : RecurrentLayer("LSTM", std::move(options)) {}
  size_t state_size() const override { return 2; }
  std::unique_ptr<RecurrentLayer> MakeReversedCopy() const override;
  static absl::StatusOr<LayerPtr> FromConfig(ConfigReader& config);

 private:
  void CreateWeights(size_t input_dim, Rng& rng) override;
  Tensor Sequence(const Tensor& x, const std::vector<Tensor>& state,
                  const autograd::SequenceOptions& options) override;
};

// Keras SimpleRNN: kernel [input_dim, units], recurrent_kernel [units, units], bias [units].
class SimpleRnnLayer : public RecurrentLayer {
 public:
  explicit SimpleRnnLayer(RecurrentOptions options)
      : RecurrentLayer("SimpleRNN", std::move(options)) {}
  std::unique_ptr<RecurrentLayer> MakeReversedCopy() const override;
  static absl::StatusOr<LayerPtr> FromConfig(ConfigReader& config);

 private:
  void CreateWeights(size_t input_dim, Rng& rng) override;
  Tensor Sequence(const Tensor& x, const std::vector<Tensor>& state,
                  const autograd::SequenceOptions& options) override;
};

// Keras GRU: kernel [input_dim, 3 units], recurrent_kernel [units, 3 units], gate order z, r, h;
// bias [2, 3 units] (input and recurrent biases) with reset_after (TF 2's default, fused op), or
// [3 units] without (standalone Keras 2's; autograd::GruResetBeforeSequence).
class GruLayer : public RecurrentLayer {
 public:
  explicit GruLayer(RecurrentOptions options) : RecurrentLayer("GRU", std::move(options)) {}
  std::unique_ptr<RecurrentLayer> MakeReversedCopy() const override;
  static absl::StatusOr<LayerPtr> FromConfig(ConfigReader& config);

 private:
  void CreateWeights(size_t input_dim, Rng& rng) override;
  Tensor Sequence(const Tensor& x, const std::vector<Tensor>& state,
                  const autograd::SequenceOptions& options) override;
};

// Keras Bidirectional: a forward copy and a go_backwards copy of `layer`, each with its own
// weights, merged by merge_mode "sum", "mul", "ave" or "concat" (the default; features of the
// forward layer first). With return_sequences the backward layer's output is reversed back to
// forward time before merging; without, the two last outputs are merged. A mask goes to both
// copies; with return_sequences their masked steps output zeros (as Keras) and the mask passes on.
class BidirectionalLayer : public Layer {
 public:
  BidirectionalLayer(LayerPtr layer, std::string merge_mode)
      : Layer("Bidirectional"), layer_(std::move(layer)), merge_mode_(std::move(merge_mode)) {}
  // As the wrapped layer's.
  MaskRule mask_rule() const override;
  // Keras' Bidirectional with return_state / initial_state: the merged output, then the forward
  // layer's final state, then the backward layer's; initial_state is {} or both layers' states
  // in that order.
  std::vector<Tensor> CallWithState(const Tensor& x, const Array* mask,
                                    const std::vector<Tensor>& initial_state,
                                    const CallContext& context);
  std::vector<Tensor> CallWithState(const Tensor& x, const Array* mask,
                                    const std::vector<Tensor>& initial_state, bool training) {
    return CallWithState(x, mask, initial_state, CallContext{training});
  }
  // The Functional API: x, then both layers' initial states; with the wrapped layer's
  // return_state, outputs the merged output, then the forward then the backward final state.
  absl::StatusOr<std::vector<bool>> OutputsMasked(const std::vector<bool>& masked) const override;
  std::vector<Tensor> CallNode(const std::vector<Tensor>& inputs,
                               const std::vector<const Array*>& masks, const CallContext& context,
                               std::vector<std::optional<Array>>& output_masks) override;
  std::vector<Weight> weights() const override;
  std::vector<std::string> KerasWeightNames() const override;
  void GetConfig(Json& config) const override;
  static absl::StatusOr<LayerPtr> FromConfig(ConfigReader& config);
  const std::string& merge_mode() const { return merge_mode_; }

 private:
  absl::StatusOr<Shape> DoBuild(const Shape& input_shape, Rng& rng) override;
  absl::StatusOr<std::vector<Shape>> DoBuildCall(const std::vector<Shape>& input_shapes,
                                                 Rng& rng) override;
  Tensor DoCall(const Tensor& x, const Array* mask, const CallContext& context) override;
  Tensor Merge(const Tensor& forward, Tensor backward) const;
  // The wrapped layer (before the first build, then the forward one).
  const RecurrentLayer* inner() const;
  LayerPtr layer_;  // as given; becomes the forward layer
  std::shared_ptr<RecurrentLayer> forward_;
  std::unique_ptr<RecurrentLayer> backward_;
  std::string merge_mode_;
};

LayerPtr LSTM(RecurrentOptions options);
LayerPtr LSTM(size_t units);
LayerPtr SimpleRNN(RecurrentOptions options);
LayerPtr SimpleRNN(size_t units);
LayerPtr GRU(RecurrentOptions options);
LayerPtr GRU(size_t units);
LayerPtr Bidirectional(LayerPtr layer, std::string merge_mode = "concat");

}  // namespace layers

#endif  // LAYERS_RECURRENT_H_
