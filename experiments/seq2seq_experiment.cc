// Keras' lstm_seq2seq (keras-io examples/nlp/lstm_seq2seq.py), on synthetic tasks:
//   encoder_inputs = keras.Input(shape=(None, num_encoder_tokens))
//   encoder = keras.layers.LSTM(latent_dim, return_state=True)
//   encoder_outputs, state_h, state_c = encoder(encoder_inputs)
//   encoder_states = [state_h, state_c]
//   decoder_inputs = keras.Input(shape=(None, num_decoder_tokens))
//   decoder_lstm = keras.layers.LSTM(latent_dim, return_sequences=True, return_state=True)
//   decoder_outputs, _, _ = decoder_lstm(decoder_inputs, initial_state=encoder_states)
//   decoder_dense = keras.layers.Dense(num_decoder_tokens, activation="softmax")
//   decoder_outputs = decoder_dense(decoder_outputs)
//   model = keras.Model([encoder_inputs, decoder_inputs], decoder_outputs)
//   model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])
//   model.fit([encoder_input_data, decoder_input_data], decoder_target_data, ...)
//   # then encoder_model and decoder_model cut from it, and decode_sequence by hand
// With attention, the encoder also returns its sequence and the decoder's outputs attend to it:
//   context = keras.layers.Attention(use_scale=True)([decoder_outputs, encoder_outputs])
//   decoder_outputs = keras.layers.Concatenate()([context, decoder_outputs])
//   decoder_outputs = keras.layers.Dense(latent_dim, activation="tanh")(decoder_outputs)
#include "experiments/seq2seq_experiment.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "autograd/optimizers.h"
#include "experiments/command_line.h"
#include "experiments/report.h"
#include "experiments/seq2seq.h"
#include "experiments/seq2seq_experiment.h"
#include "io/atomic_file.h"
#include "io/json_nesting.h"
#include "layers/attention.h"
#include "layers/data_adapter.h"
#include "layers/dense.h"
#include "layers/merging.h"
#include "layers/recurrent.h"
#include "nlohmann/json.hpp"
#include "saving/model_file.h"

using Examples = experiments::IntIn<10, 400000>;
using Epochs = experiments::IntIn<1, 100000>;
using BatchSize = experiments::IntIn<1, 100000>;
using LatentDim = experiments::IntIn<1, 4096>;
using BeamWidth = experiments::IntIn<1, 64>;
using Shown = experiments::IntIn<0, 1000>;
using Verbose = experiments::IntIn<0, 2>;

ABSL_FLAG(std::string, task, "dates",
          "dates (human dates -> ISO dates) or numbers (numbers in words up to a million -> "
          "digits; longer inputs)");
ABSL_FLAG(Examples, examples, Examples{20000}, "pairs generated, 10 to 400000");
ABSL_FLAG(double, held_out, 0.1, "fraction of the pairs held out for the test, in (0, 1)");
ABSL_FLAG(double, validation_split, 0.1,
          "fraction of the training pairs (the last ones) that validate after every epoch and "
          "drive the learning-rate schedule, in [0, 1)");
ABSL_FLAG(Epochs, epochs, Epochs{12}, "training epochs, 1 to 100000");
ABSL_FLAG(BatchSize, batch_size, BatchSize{64}, "samples per gradient step (Keras' example: 64)");
ABSL_FLAG(LatentDim, latent_dim, LatentDim{128}, "units of the encoder and decoder LSTMs");
ABSL_FLAG(BeamWidth, beam_width, BeamWidth{4}, "beam search width, 1 to 64");
ABSL_FLAG(std::string, attention, "dot",
          "seq2seq_attention only: dot (Luong, Attention) or additive (Bahdanau, "
          "AdditiveAttention)");
ABSL_FLAG(bool, compare_without_attention, false,
          "seq2seq_attention only: also train the model without attention on the same data and "
          "print its line");
ABSL_FLAG(uint64_t, seed, 1, "random seed for the data, the weights and the shuffling");
ABSL_FLAG(Shown, show, Shown{8}, "held-out examples printed beside their targets");
ABSL_FLAG(std::string, save, "",
          "write the trained model here (a Keras HDF5 file, with what //tools:decode needs)");
ABSL_FLAG(std::string, out_dir, "", "where the CSV and PNG files go (default: where you ran it)");
ABSL_FLAG(Verbose, verbose, Verbose{2}, "0 silent, 1 progress bar, 2 one line per epoch");

namespace experiments {
namespace {

using autograd::Array;
using layers::KerasTensor;
using layers::KerasTensors;

std::vector<size_t> Range(size_t n) {
  std::vector<size_t> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = i;
  return out;
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

// The attention call of a model with attention: its distribution is output 1.
std::shared_ptr<layers::Node> AttentionNode(const layers::Model& model) {
  for (const auto& node : model.nodes()) {
    if (dynamic_cast<const layers::BaseDenseAttentionLayer*>(node->layer.get()) != nullptr) {
      return node;
    }
  }
  return nullptr;
}

struct Scored {
  double greedy = 0, beam = 0;  // exact-match fractions
  std::vector<std::string> greedy_texts;
};

absl::StatusOr<Scored> ExactMatch(const Translator& translator, const Array& sources,
                                  const std::vector<datasets::TranslationPair>& pairs,
                                  size_t beam_width) {
  Scored scored;
  absl::StatusOr<std::vector<std::string>> greedy = translator.Translate(sources, 1);
  if (!greedy.ok()) return greedy.status();
  absl::StatusOr<std::vector<std::string>> beam = translator.Translate(sources, beam_width);
  if (!beam.ok()) return beam.status();
  for (size_t i = 0; i < pairs.size(); ++i) {
    scored.greedy += (*greedy)[i] == pairs[i].target;
    scored.beam += (*beam)[i] == pairs[i].target;
  }
  scored.greedy /= std::max<size_t>(pairs.size(), 1);
  scored.beam /= std::max<size_t>(pairs.size(), 1);
  scored.greedy_texts = *std::move(greedy);
  return scored;
}

// Sequences per second decoding `sources` all at once and one at a time (the first `single`).
absl::Status PrintThroughput(const Translator& translator, const Array& sources,
                             size_t beam_width) {
  const size_t all = sources.shape()[0], single = std::min<size_t>(all, 200);
  std::vector<std::string> parts;
  for (size_t width : {size_t{1}, beam_width}) {
    auto start = std::chrono::steady_clock::now();
    if (absl::StatusOr<std::vector<std::string>> out = translator.Translate(sources, width);
        !out.ok()) {
      return out.status();
    }
    const double batched = all / Seconds(start);
    const Array first = layers::GatherRows({sources}, Range(single), 0, single)[0];
    start = std::chrono::steady_clock::now();
    if (absl::StatusOr<std::vector<std::string>> out = translator.Translate(first, width, 1);
        !out.ok()) {
      return out.status();
    }
    const double one = single / Seconds(start);
    parts.push_back(absl::StrFormat("%s %.0f seq/s batched (%d), %.0f seq/s one at a time (%d)",
                                    width == 1 ? "greedy" : absl::StrCat("beam ", width), batched,
                                    all, one, single));
  }
  std::printf("Decoding throughput: %s\n", absl::StrJoin(parts, "; ").c_str());
  return absl::OkStatus();
}

// Heatmaps of where the decoder looked: for the first held-out examples, the attention
// distribution with the greedy answer fed back (teacher forcing on the model's own output).
absl::Status PlotAttention(const layers::Model& model, const Translator& translator,
                           const std::vector<datasets::TranslationPair>& pairs,
                           const std::vector<std::string>& answers, const std::string& png,
                           const std::string& title) {
  std::shared_ptr<layers::Node> node = AttentionNode(model);
  if (node == nullptr) return absl::InternalError("the model has no attention layer");
  layers::Model scores_model(model.inputs(), {KerasTensor(node, 1)});
  if (!scores_model.status().ok()) return scores_model.status();
  const size_t shown = std::min<size_t>(4, pairs.size());
  std::vector<std::string> sources;
  for (size_t i = 0; i < shown; ++i) sources.push_back(pairs[i].source);
  absl::StatusOr<Array> encoded = translator.EncodeSources(sources);
  if (!encoded.ok()) return encoded.status();
  const Seq2SeqPreprocessing& setup = translator.setup;
  Array fed = xt::zeros<autograd::Real>({shown, setup.target_length + 1});
  for (size_t i = 0; i < shown; ++i) {
    const std::vector<size_t> tokens = translator.Tokens(answers[i]);
    for (size_t t = 0; t + 1 < tokens.size() && t <= setup.target_length; ++t)
      fed(i, t) = tokens[t];
  }
  absl::StatusOr<std::vector<Array>> scores =
      scores_model.Predict({*encoded, OneHot(fed, setup.target.size())});
  if (!scores.ok()) return scores.status();
  std::vector<Heatmap> maps;
  for (size_t i = 0; i < shown; ++i) {
    Heatmap map;
    map.title = absl::StrFormat("%s -> %s", pairs[i].source, answers[i]);
    for (char c : pairs[i].source) map.x_labels.push_back(std::string(1, c));
    for (char c : answers[i]) map.y_labels.push_back(std::string(1, c));
    map.y_labels.push_back("<end>");
    for (size_t t = 0; t < map.y_labels.size() && t <= setup.target_length; ++t) {
      std::vector<double> row;
      // The text's steps are the last ones (pre-padded).
      const size_t first = setup.source_length - map.x_labels.size();
      for (size_t s = 0; s < map.x_labels.size(); ++s) {
        row.push_back((*scores)[0](i, t, first + s));
      }
      map.values.push_back(std::move(row));
    }
    map.y_labels.resize(map.values.size());
    maps.push_back(std::move(map));
  }
  return PlotHeatmaps(png, title, maps);
}

struct Trained {
  std::unique_ptr<layers::Model> model;
  std::unique_ptr<Translator> translator;
  Scored scored;
};

absl::StatusOr<Trained> TrainAndScore(const Seq2SeqPreprocessing& setup,
                                      const datasets::Seq2SeqArrays& train,
                                      const datasets::Seq2SeqArrays& test,
                                      const std::vector<datasets::TranslationPair>& test_pairs,
                                      const std::string& attention, const std::string& label,
                                      const std::string& out_dir, const std::string& stem) {
  Trained trained;
  absl::StatusOr<std::unique_ptr<layers::Model>> model = Seq2SeqModel(
      setup, absl::GetFlag(FLAGS_latent_dim).value, attention, absl::GetFlag(FLAGS_seed));
  if (!model.ok()) return model.status();
  trained.model = *std::move(model);
  std::printf("\n%s", (*trained.model).Summary().c_str());
  const size_t source_tokens = setup.source.size(), target_tokens = setup.target.size();
  const std::vector<Array> x = {OneHot(train.encoder_input, source_tokens),
                                OneHot(train.decoder_input, target_tokens)};
  const std::vector<Array> y = {OneHot(train.decoder_target, target_tokens)};
  // As Keras' example, the last part of the training pairs validates (validation_split); the
  // held-out pairs are only decoded at the end. The learning rate halves when the validation
  // loss stalls, so that the last epoch's weights are not one of RMSprop's noisy steps.
  layers::FitOptions options =
      layers::FitOptions()
          .epochs(absl::GetFlag(FLAGS_epochs).value)
          .batch_size(absl::GetFlag(FLAGS_batch_size).value)
          .verbose(static_cast<int>(absl::GetFlag(FLAGS_verbose).value))
          .validation_split(absl::GetFlag(FLAGS_validation_split))
          .callbacks({std::make_shared<layers::ReduceLROnPlateau>(
              layers::ReduceLROnPlateauOptions()
                  .monitor(absl::GetFlag(FLAGS_validation_split) > 0 ? "val_loss" : "loss")
                  .factor(0.5)
                  .patience(1)
                  .verbose(1))});
  std::printf("Training %s (%s) on %zu pairs, %zu held out, %zu epochs\n", stem.c_str(),
              label.c_str(), static_cast<size_t>(x[0].shape()[0]), test_pairs.size(),
              options.epochs());
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<layers::History> history = trained.model->Fit(x, y, options);
  if (!history.ok()) return history.status();
  std::printf("Trained in %.1f s (%.1f s per epoch)\n", Seconds(start),
              Seconds(start) / options.epochs());
  absl::StatusOr<PendingPlot> plot =
      WriteHistory(out_dir, stem, absl::StrFormat("%s: teacher-forced loss and accuracy", stem),
                   history->history);
  if (!plot.ok()) return plot.status();
  PlotOrWarn(*plot);

  absl::StatusOr<Translator> translator = Translator::Create(*trained.model, setup);
  if (!translator.ok()) return translator.status();
  trained.translator = std::make_unique<Translator>(*std::move(translator));
  const Array sources = OneHot(test.encoder_input, source_tokens);
  absl::StatusOr<Scored> scored =
      ExactMatch(*trained.translator, sources, test_pairs, absl::GetFlag(FLAGS_beam_width).value);
  if (!scored.ok()) return scored.status();
  trained.scored = *std::move(scored);
  const size_t shown = std::min<size_t>(absl::GetFlag(FLAGS_show).value, test_pairs.size());
  for (size_t i = 0; i < shown; ++i) {
    const std::string& answer = trained.scored.greedy_texts[i];
    std::printf("  %-40s -> %-12s %s %s\n", test_pairs[i].source.c_str(), answer.c_str(),
                answer == test_pairs[i].target ? "ok" : "x ", test_pairs[i].target.c_str());
  }
  if (absl::Status status =
          PrintThroughput(*trained.translator, sources, absl::GetFlag(FLAGS_beam_width).value);
      !status.ok()) {
    return status;
  }
  return trained;
}

std::string ExactMatchLine(const std::string& label, const Scored& scored, size_t beam_width) {
  return absl::StrFormat("Exact match (held out), %s: greedy %.2f%%, beam %d %.2f%%", label,
                         100 * scored.greedy, beam_width, 100 * scored.beam);
}

}  // namespace

int RunSeq2Seq(const char* name, bool attention, int argc, char** argv) {
  ParseCommandLine(argc, argv,
                   attention ? "Keras' lstm_seq2seq with attention; greedy and beam decoding"
                             : "Keras' lstm_seq2seq; greedy and beam decoding");
  const std::string task = absl::GetFlag(FLAGS_task);
  const double held_out = absl::GetFlag(FLAGS_held_out);
  const double validation_split = absl::GetFlag(FLAGS_validation_split);
  if (!(validation_split >= 0 && validation_split < 1)) {
    return ExitWithUsageError(absl::InvalidArgumentError(absl::StrFormat(
        "--validation_split=%g: give the fraction of the training pairs that validates, in [0, "
        "1)",
        validation_split)));
  }
  if (!(held_out > 0 && held_out < 1)) {
    return ExitWithUsageError(absl::InvalidArgumentError(
        absl::StrFormat("--held_out=%g: give the fraction held out, in (0, 1)", held_out)));
  }
  absl::StatusOr<Seq2SeqPreprocessing> setup = Seq2SeqPreprocessing::ForTask(task);
  if (!setup.ok()) {
    return ExitWithUsageError(
        absl::InvalidArgumentError(absl::StrCat("--task=", task, ": ", setup.status().message())));
  }
  const std::string kind = attention ? absl::GetFlag(FLAGS_attention) : "";
  if (attention && kind != "dot" && kind != "additive") {
    return ExitWithUsageError(absl::InvalidArgumentError(absl::StrFormat(
        "--attention=%s: use dot (Luong: Attention) or additive (Bahdanau: AdditiveAttention)",
        kind)));
  }
  if (!attention && absl::GetFlag(FLAGS_compare_without_attention)) {
    return ExitWithUsageError(absl::InvalidArgumentError(
        "--compare_without_attention is for seq2seq_attention; this model has no attention"));
  }
  const std::string save = absl::GetFlag(FLAGS_save);
  if (absl::Status status = CheckSavePath(save); !status.ok()) return ExitWithUsageError(status);
  const std::string out_dir = OutputDirectory(absl::GetFlag(FLAGS_out_dir));
  if (absl::Status status = io::PrepareOutputDirectory(out_dir, "--out_dir"); !status.ok()) {
    return ExitWithUsageError(status);
  }

  absl::StatusOr<std::vector<datasets::TranslationPair>> pairs = datasets::GenerateTranslationPairs(
      task, absl::GetFlag(FLAGS_examples).value, absl::GetFlag(FLAGS_seed));
  if (!pairs.ok()) return ExitWithError(pairs.status());
  absl::StatusOr<datasets::TranslationSplit> split = datasets::SplitHeldOut(*pairs, held_out);
  if (!split.ok()) return ExitWithError(split.status());
  if (split->train.empty()) {
    return ExitWithUsageError(absl::InvalidArgumentError(absl::StrFormat(
        "--held_out=%g of --examples=%d holds out all %d pairs, leaving none to train on: give a "
        "smaller --held_out or more --examples",
        held_out, pairs->size(), pairs->size())));
  }
  std::printf("Task %s: %zu training and %zu held-out pairs, e.g. \"%s\" -> \"%s\"\n", task.c_str(),
              split->train.size(), split->test.size(), split->train[0].source.c_str(),
              split->train[0].target.c_str());
  absl::StatusOr<datasets::Seq2SeqArrays> train = datasets::MakeSeq2SeqArrays(
      split->train, setup->source, setup->target, setup->source_length, setup->target_length);
  absl::StatusOr<datasets::Seq2SeqArrays> test = datasets::MakeSeq2SeqArrays(
      split->test, setup->source, setup->target, setup->source_length, setup->target_length);
  if (!train.ok()) return ExitWithError(train.status());
  if (!test.ok()) return ExitWithError(test.status());
  train->encoder_input = PrePadded(train->encoder_input);
  test->encoder_input = PrePadded(test->encoder_input);
  const size_t beam_width = absl::GetFlag(FLAGS_beam_width).value;

  std::vector<std::string> lines;
  if (absl::GetFlag(FLAGS_compare_without_attention)) {
    absl::StatusOr<Trained> plain =
        TrainAndScore(*setup, *train, *test, split->test, "", "no attention", out_dir,
                      absl::StrCat("seq2seq_lstm_", task));
    if (!plain.ok()) return ExitWithError(plain.status());
    lines.push_back(ExactMatchLine("no attention", plain->scored, beam_width));
  }
  const std::string stem = absl::StrCat(name, "_", task);
  absl::StatusOr<Trained> trained =
      TrainAndScore(*setup, *train, *test, split->test, kind,
                    attention ? absl::StrCat(kind, " attention") : "no attention", out_dir, stem);
  if (!trained.ok()) return ExitWithError(trained.status());
  if (attention) {
    const std::string png = absl::StrCat(out_dir, "/", stem, "_attention.png");
    if (absl::Status status = PlotAttention(
            *trained->model, *trained->translator, split->test, trained->scored.greedy_texts, png,
            absl::StrFormat("%s (%s): where each output character looked", stem, kind));
        !status.ok()) {
      std::fprintf(stderr, "warning: no attention heatmap: %s\n", status.ToString().c_str());
    } else {
      std::printf("Wrote %s\n", png.c_str());
    }
  }
  if (!save.empty()) {
    trained->model->set_preprocessing(setup->ToJson());
    if (absl::Status status = saving::SaveModel(*trained->model, save); !status.ok()) {
      return ExitWithError(status);
    }
    std::printf("Saved %s (decode raw text with: bazel run //tools:decode -- --model=%s 'text')\n",
                save.c_str(), save.c_str());
  }
  lines.push_back(
      ExactMatchLine(attention ? "attention" : "no attention", trained->scored, beam_width));
  for (const std::string& line : lines) std::printf("%s\n", line.c_str());
  return 0;
}

}  // namespace experiments
