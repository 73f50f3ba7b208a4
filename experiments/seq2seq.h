// Character-level sequence to sequence, as Keras' lstm_seq2seq example: an encoder LSTM whose
// final states start a decoder LSTM trained with teacher forcing on one-hot characters, then
// decoded token by token (greedy and beam search, layers/decoding.h). With attention, the decoder
// also reads the encoder's outputs through Attention or AdditiveAttention.
//
// What a saved model needs to decode raw text (its preprocessing string) and the decoding of
// texts are here too, for //tools:decode.
#ifndef EXPERIMENTS_SEQ2SEQ_H_
#define EXPERIMENTS_SEQ2SEQ_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "datasets/translation.h"
#include "layers/decoding.h"
#include "layers/model.h"

namespace experiments {

// The longest source or target text a preprocessing may declare. Decoding one-hot encodes every
// text to the source length and runs up to the target length steps, so a file claiming 100,000
// made //tools:decode take 85 MB per line (22 GB for a batch of 256); the tasks need at most 64.
inline constexpr size_t kMaxSeq2SeqLength = 1000;

// The task and its vocabularies, kept in the model file's preprocessing string as
// {"class": "Seq2SeqPreprocessing", "task": "dates", "source_length": 29, "target_length": 10,
//  "source": {CharVocabulary}, "target": {CharVocabulary}}.
struct Seq2SeqPreprocessing {
  std::string task;
  datasets::CharVocabulary source, target;
  size_t source_length = 0, target_length = 0;  // the longest source and target texts

  static absl::StatusOr<Seq2SeqPreprocessing> ForTask(const std::string& task);
  std::string ToJson() const;
  // Errors name the key that is missing or wrong.
  static absl::StatusOr<Seq2SeqPreprocessing> FromJson(const std::string& json);
};

// One-hot rows [n, steps, tokens] of index arrays [n, steps] (0, padding, is a token too, as the
// spaces that pad Keras' example).
autograd::Array OneHot(const autograd::Array& indices, size_t tokens);

// Index rows [n, steps] with their padding (0) moved before the text, as Keras' pad_sequences
// pads by default: the encoder's last steps, whose state starts the decoder, are then the text's.
autograd::Array PrePadded(const autograd::Array& indices);

// Keras' lstm_seq2seq model on one-hot characters: [encoder input, decoder input] -> the next
// character's distribution at every decoder step. attention: "" (none), "dot" (Luong,
// Attention) or "additive" (Bahdanau, AdditiveAttention), between the decoder's outputs and the
// encoder's, with a learned score scale, then Luong's attentional state
// Dense(latent_dim, tanh)([context; decoder output]) before the softmax; the attention layer also
// returns its distribution (output 2 of its call), for the heatmaps.
absl::StatusOr<std::unique_ptr<layers::Model>> Seq2SeqModel(const Seq2SeqPreprocessing& setup,
                                                            size_t latent_dim,
                                                            const std::string& attention,
                                                            uint64_t seed);

// Raw texts decoded by a trained model: greedy (beam_width 1) or beam search. A text longer than
// the model takes, or with a character outside its vocabulary, is an error naming the text.
struct Translator {
  Seq2SeqPreprocessing setup;
  layers::DecodingModels models;
  std::unique_ptr<layers::Decoder> decoder;
  std::shared_ptr<const layers::Model> trained;  // what Load read (the cut models share its layers)

  static absl::StatusOr<Translator> Create(const layers::Model& trained,
                                           Seq2SeqPreprocessing setup);
  // From a file saved by seq2seq_lstm's or seq2seq_attention's --save: errors name the file and
  // say first whether its graph is no encoder-decoder, then what its preprocessing lacks.
  static absl::StatusOr<Translator> Load(const std::string& path);
  // The one-hot encoder input of `texts`, [n, source_length, source tokens], pre-padded.
  absl::StatusOr<autograd::Array> EncodeSources(const std::vector<std::string>& texts) const;
  // The best hypothesis per source row, as text.
  absl::StatusOr<std::vector<std::string>> Translate(const autograd::Array& sources,
                                                     size_t beam_width,
                                                     size_t batch_size = 0) const;
  // The token indices of a decoded text, for teacher forcing: start, characters, end.
  std::vector<size_t> Tokens(const std::string& text) const;
};

}  // namespace experiments

#endif  // EXPERIMENTS_SEQ2SEQ_H_
