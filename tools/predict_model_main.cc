// Trains a tiny sentiment model on a handful of made-up reviews and saves it with its text
// preprocessing (as an IMDB experiment's --save does), for predict_test.sh:
//   predict_model_main OUT.h5             one score per text
//   predict_model_main OUT.h5 KIND        untrained files predict refuses: KIND is sequence (one
//                                         score per step), other_length (the preprocessing pads
//                                         to another length), small_embedding (indices past the
//                                         Embedding's rows)
#include <cstdio>
#include <string>
#include <vector>

#include "datasets/preprocessing.h"
#include "layers/dense.h"
#include "layers/embedding.h"
#include "layers/recurrent.h"
#include "layers/sequential.h"
#include "saving/model_file.h"

int main(int argc, char** argv) {
  const std::string kind = argc == 3 ? argv[2] : "";
  if (argc < 2 || argc > 3 ||
      (argc == 3 && kind != "sequence" && kind != "other_length" && kind != "small_embedding")) {
    std::fprintf(stderr,
                 "usage: predict_model_main OUT.h5 [sequence | other_length | small_embedding]\n");
    return 2;
  }
  datasets::TextPreprocessing p;
  p.tokenizer = "imdb";
  p.words = {"movie", "a", "was", "good", "great", "wonderful", "bad", "awful", "terrible"};
  p.first_index = 4;  // 0 padding, 1 start, 2 unknown, as the IMDB loader
  p.start_char = 1;
  p.oov_char = 2;
  p.maxlen = 6;
  p.labels = {"negative", "positive"};
  const std::vector<std::pair<std::string, int>> reviews = {
      {"a good movie", 1},        {"a great movie", 1},   {"wonderful", 1},
      {"the movie was great", 1}, {"good good movie", 1}, {"a wonderful movie", 1},
      {"a bad movie", 0},         {"an awful movie", 0},  {"terrible", 0},
      {"the movie was awful", 0}, {"bad bad movie", 0},   {"a terrible movie", 0},
  };
  datasets::TextEncoder encoder(p);
  datasets::Sequences sequences;
  layers::Array y = layers::Array::from_shape({reviews.size(), size_t{1}});
  for (size_t i = 0; i < reviews.size(); ++i) {
    sequences.push_back(encoder.Encode(reviews[i].first)->indices);
    y(i, 0) = static_cast<layers::Real>(reviews[i].second);
  }
  absl::StatusOr<layers::Array> x = datasets::PadSequences(sequences, p.maxlen);
  layers::Sequential model(5);
  if (!kind.empty()) {
    // Untrained files that predict must refuse: a sequence output, a preprocessing that pads to
    // another length than the model takes, word indices past the Embedding's rows.
    model.Add(layers::Embedding(kind == "small_embedding" ? 9 : 4 + p.words.size(), 8, p.maxlen));
    if (kind == "sequence") {
      model.Add(layers::LSTM(layers::LstmOptions(8).return_sequences(true)));
      model.Add(layers::TimeDistributed(layers::Dense(1, "sigmoid")));
    } else {
      model.Add(layers::LSTM(8));
      model.Add(layers::Dense(1, "sigmoid"));
    }
    datasets::TextPreprocessing saved = p;
    if (kind == "other_length") saved.maxlen = p.maxlen + 1;
    model.set_preprocessing(datasets::ToJson(saved));
    absl::Status status = model.Compile("binary_crossentropy", std::make_unique<autograd::Adam>());
    if (status.ok()) status = saving::SaveModel(model, argv[1]);
    if (!status.ok()) std::fprintf(stderr, "%s\n", std::string(status.message()).c_str());
    return status.ok() ? 0 : 1;
  }
  model.Add(layers::Embedding(4 + p.words.size(), 8, p.maxlen));
  model.Add(layers::LSTM(8));
  model.Add(layers::Dense(1, "sigmoid"));
  autograd::AdamOptions adam;
  adam.learning_rate = 0.02f;
  absl::Status status =
      model.Compile("binary_crossentropy", std::make_unique<autograd::Adam>(adam), {"accuracy"});
  absl::StatusOr<layers::History> history =
      status.ok() ? model.Fit(*x, y, layers::FitOptions().epochs(60).batch_size(4).verbose(0))
                  : absl::StatusOr<layers::History>(status);
  model.set_preprocessing(datasets::ToJson(p));
  if (history.ok()) status = saving::SaveModel(model, argv[1]);
  if (!history.ok() || !status.ok()) {
    std::fprintf(stderr, "%s\n",
                 std::string((history.ok() ? status : history.status()).message()).c_str());
    return 1;
  }
  std::printf("trained to accuracy %.2f\n", history->history.at("accuracy").back());
  return 0;
}
