// Decoding a sequence token by token with a step model, as Keras' lstm_seq2seq does by hand in
// Python (decode_sequence), here in one call: greedy decoding and beam search, batched over many
// inputs at once, without the training tape.
//
// A step model maps (the previous token, the states, any constants) to (the next token's
// distribution, the new states):
//
//   inputs:  [token, state_1 .. state_n, constant_1 .. constant_m]
//   outputs: [probabilities, state_1' .. state_n']
//
// token: Input({1}) of token indices (for an Embedding) or Input({1, V}) of one-hot rows (Keras'
// example; kVaries stands for the 1 in both). probabilities: [1, V] or [V], a softmax over the V
// tokens. States go round: output i + 1 feeds input i + 1 at the next step, so they have the same
// shapes. Constants (the encoder's outputs an attention layer reads) stay as given.
//
//   Decoder decoder = *Decoder::Create(decoder_model);
//   std::vector<Array> start = *encoder_model.Predict({encoder_input});  // {h, c}
//   auto answers = decoder.BeamSearch(start, DecodeOptions().max_length(12).beam_width(4));
#ifndef LAYERS_DECODING_H_
#define LAYERS_DECODING_H_

#include <cstddef>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "layers/model.h"
#include "layers/options.h"

namespace layers {

struct DecodeOptions {
  // The most tokens generated per sequence, the end token included (required, >= 1).
  LAYERS_ARG(size_t, max_length, 0);
  // The token fed first, and the token that ends a sequence (not returned in its tokens).
  LAYERS_ARG(size_t, start_token, 1);
  LAYERS_ARG(size_t, end_token, 2);
  // Beam search keeps this many partial sequences per input (>= 1); 1 is greedy decoding.
  LAYERS_ARG(size_t, beam_width, 1);
  // Length normalisation: hypotheses are ranked by log P / length^length_penalty (0: by log P
  // alone; 1: per token). Length counts the end token.
  LAYERS_ARG(double, length_penalty, 0.0);
  // How many inputs are decoded together (one step-model call per step for all of them, times
  // the beam width); 0: all at once.
  LAYERS_ARG(size_t, batch_size, 0);
};

struct Hypothesis {
  std::vector<size_t> tokens;  // without the start and end tokens
  double log_probability = 0;  // natural log of the sequence's probability, the end token's too
  double score = 0;            // log_probability / length^length_penalty
  bool ended = false;          // false: stopped at max_length without the end token
};

class Decoder {
 public:
  // Checks that `step_model` is a step model as above; the error says what does not fit. The
  // model must outlive the decoder.
  static absl::StatusOr<Decoder> Create(Model& step_model);

  // The states and constants, each [inputs, ...]: the model's inputs 1.. in order.
  // One hypothesis per input: the most probable token at each step.
  absl::StatusOr<std::vector<Hypothesis>> Greedy(const std::vector<Array>& start,
                                                 const DecodeOptions& options) const;
  // Up to beam_width hypotheses per input, best score first. With no length penalty, a search
  // stops once no partial sequence can beat the finished ones it keeps.
  absl::StatusOr<std::vector<std::vector<Hypothesis>>> BeamSearch(
      const std::vector<Array>& start, const DecodeOptions& options) const;
  // Teacher forcing, step by step: feeds `tokens` [inputs, T] (start token first) and returns
  // each step's distribution, [inputs, T, V].
  absl::StatusOr<Array> Distributions(const std::vector<Array>& start, const Array& tokens) const;

  size_t vocabulary() const { return vocabulary_; }
  size_t states() const { return states_; }
  size_t constants() const { return constants_; }

 private:
  Decoder(Model& model, size_t vocabulary, size_t states, bool one_hot)
      : model_(&model),
        vocabulary_(vocabulary),
        states_(states),
        constants_(model.inputs().size() - 1 - states),
        one_hot_(one_hot) {}
  absl::Status CheckStart(const std::vector<Array>& start, const char* method) const;
  absl::Status CheckOptions(const DecodeOptions& options) const;
  // One step for `rows` rows: feeds `tokens` (one per row) with `inputs` (states then constants,
  // each [rows, ...]); returns the distributions [rows, V] and overwrites the states.
  absl::StatusOr<Array> Step(const std::vector<size_t>& tokens, std::vector<Array>& inputs,
                             size_t step, const char* method) const;
  absl::StatusOr<std::vector<std::vector<Hypothesis>>> Search(const std::vector<Array>& start,
                                                              const DecodeOptions& options,
                                                              const char* method) const;

  Model* model_;
  size_t vocabulary_, states_, constants_;
  bool one_hot_;
};

// The inference models of a trained encoder-decoder, cut from it as Keras' lstm_seq2seq does by
// hand, sharing its layers and weights. `trained` takes [source, decoder tokens] (teacher
// forcing: start, then the target shifted) and gives the next-token distributions; its decoder
// is every call that depends on the decoder tokens. The encoder model gives what the decoder
// reads from the encoder: first the initial states of the decoder's recurrent layers, then the
// other tensors (an attention layer's value); the step model is a Decoder's (above).
struct DecodingModels {
  std::unique_ptr<Model> encoder, step;
};
// Errors name the layer that cannot run one step at a time (a recurrent layer without
// initial_state or return_state, Bidirectional, convolutions and pooling over time, attention of
// the decoder over itself) or say what the graph lacks.
absl::StatusOr<DecodingModels> CutDecodingModels(const Model& trained);

}  // namespace layers

#endif  // LAYERS_DECODING_H_
