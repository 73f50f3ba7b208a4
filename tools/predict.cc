// Sentiment of raw text with a model saved by an experiment's --save (the file holds the text
// preprocessing too):
//   bazel run //tools:predict -- --model=imdb_lstm.h5 "This movie was a wonderful surprise"
// prints one line per text: the probability of the last class (positive), the label, the text.
// With no text arguments it reads one text per line from standard input and writes one TSV line
// per input line, in batches, then the texts per second on standard error. A line that cannot be
// scored (empty, not UTF-8, longer than --max_line_bytes) gets "nan<TAB>error<TAB>reason".
// --int8: int8 inference (layers/model.h, set_int8_inference).

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_format.h"
#include "datasets/preprocessing.h"
#include "experiments/command_line.h"
#include "layers/embedding.h"
#include "saving/model_file.h"
#include "tools/predict_lines.h"

using BatchSize = experiments::IntIn<1, 100000>;
using LineBytes = experiments::IntIn<1, 1073741824>;

ABSL_FLAG(std::string, model, "", "the model file (saved by an experiment's --save)");
ABSL_FLAG(BatchSize, batch_size, BatchSize{256}, "texts per forward pass, 1 to 100000");
ABSL_FLAG(LineBytes, max_line_bytes, LineBytes{1 << 20},
          "longer input lines are not scored (an error line instead), 1 to 2^30");
ABSL_FLAG(bool, int8, false,
          "int8 inference (dynamic quantization of the LSTM, GRU, SimpleRNN and Dense kernels, "
          "u8s8s32 GEMM); float32 where the processor lacks VNNI (said once on stderr)");

namespace {

using tools::Shown;
using tools::Text;

class Predictor {
 public:
  Predictor(layers::Model& model, const datasets::TextPreprocessing& preprocessing)
      : model_(model), encoder_(preprocessing) {}

  // Scores `texts` together and prints one line each.
  absl::Status Run(const std::vector<Text>& texts) {
    const datasets::TextPreprocessing& p = encoder_.preprocessing();
    std::vector<std::string> notes(texts.size());
    datasets::Sequences sequences;
    std::vector<size_t> rows(texts.size(), SIZE_MAX);
    for (size_t i = 0; i < texts.size(); ++i) {
      notes[i] = texts[i].error;
      if (notes[i].empty() && texts[i].text.find_first_not_of(" \t\r") == std::string::npos) {
        notes[i] = "empty text";
      }
      if (!notes[i].empty()) continue;
      absl::StatusOr<datasets::TextEncoder::Encoded> encoded = encoder_.Encode(texts[i].text);
      if (!encoded.ok()) {
        notes[i] = std::string(encoded.status().message());
        continue;
      }
      if (encoded->known == 0) {
        notes[i] = "no word of the text is in the model's vocabulary";
        continue;
      }
      rows[i] = sequences.size();
      sequences.push_back(std::move(encoded->indices));
    }
    layers::Array probabilities;
    if (!sequences.empty()) {
      absl::StatusOr<layers::Array> x =
          datasets::PadSequences(sequences, p.maxlen, p.padding, p.truncating);
      if (!x.ok()) return x.status();
      absl::StatusOr<layers::Array> predicted = model_.Predict(*x, sequences.size());
      if (!predicted.ok()) return predicted.status();
      probabilities = *std::move(predicted);
    }
    for (size_t i = 0; i < texts.size(); ++i) {
      if (rows[i] == SIZE_MAX) {
        std::printf("nan\terror\t%s\n", notes[i].c_str());
        continue;
      }
      // One sigmoid unit: P(class 1); a softmax: the last class's probability, the arg max label.
      // Rows are texts: main refuses models with more axes than [texts, classes].
      const size_t classes = probabilities.shape().back();
      const layers::Real* row = probabilities.data() + rows[i] * classes;
      size_t label = 0;
      if (classes == 1) {
        label = row[0] > layers::Real(0.5) ? 1 : 0;
      } else {
        for (size_t c = 1; c < classes; ++c) label = row[c] > row[label] ? c : label;
      }
      const std::string name = label < p.labels.size() ? p.labels[label] : std::to_string(label);
      const std::string shown = Shown(texts[i].text);
      std::printf("%.4f\t%s\t", static_cast<double>(row[classes - 1]), name.c_str());
      std::fwrite(shown.data(), 1, shown.size(), stdout);
      std::fputc('\n', stdout);
    }
    return absl::OkStatus();
  }

 private:
  layers::Model& model_;
  datasets::TextEncoder encoder_;
};

}  // namespace

// Exit codes: 0 done (or standard output closed by its reader), 1 standard output failed, 2 a
// bad command line, model file or standard input.
int main(int argc, char** argv) {
  const std::vector<std::string> texts = experiments::ParseCommandLineWithArguments(
      argc, argv,
      "Sentiment of raw text with a saved model: predict --model=FILE [TEXT ...] (no text: one "
      "per line from standard input).");
  // A closed pipe is an error code from write (EPIPE), handled below, not a signal that kills.
  std::signal(SIGPIPE, SIG_IGN);
  const std::string path = absl::GetFlag(FLAGS_model);
  if (path.empty()) {
    return experiments::ExitWithUsageError(absl::InvalidArgumentError(
        "--model is required: a file saved by an experiment's --save, e.g. "
        "bazel run //experiments:imdb_lstm -- --save=$PWD/imdb_lstm.h5"));
  }
  if (absl::Status status = texts.empty() ? tools::CheckStandardInput() : absl::OkStatus();
      !status.ok()) {
    return experiments::ExitWithUsageError(status);
  }
  absl::StatusOr<std::unique_ptr<layers::Model>> model = saving::LoadModel(path);
  if (!model.ok()) return experiments::ExitWithUsageError(model.status());
  const layers::Layer& output = *(*model)->layers().back();
  if (output.output_shape().size() != 1) {
    return experiments::ExitWithUsageError(absl::InvalidArgumentError(absl::StrFormat(
        "'%s': the model's output (layer '%s') is %s, not one score or one distribution per text "
        "(None, classes): predict scores whole texts; use a model that ends in a Dense layer "
        "without return_sequences",
        path, output.name(), layers::KerasShapeString(output.output_shape()))));
  }
  if ((*model)->preprocessing().empty()) {
    return experiments::ExitWithUsageError(absl::InvalidArgumentError(absl::StrFormat(
        "'%s' holds no text preprocessing: save it with an IMDB or airline experiment's --save",
        path)));
  }
  absl::StatusOr<datasets::TextPreprocessing> preprocessing =
      datasets::TextPreprocessingFromJson((*model)->preprocessing());
  if (!preprocessing.ok()) {
    return experiments::ExitWithUsageError(
        absl::Status(preprocessing.status().code(),
                     absl::StrFormat("'%s': %s", path, preprocessing.status().message())));
  }
  // The preprocessing must make inputs this model takes: its length, and word indices its
  // Embedding has rows for. Checked here, not at the first batch that breaks it.
  const layers::Shape& input = (*model)->input_shape();
  if (input.size() != 1 || input[0] != preprocessing->maxlen) {
    return experiments::ExitWithUsageError(absl::InvalidArgumentError(absl::StrFormat(
        "'%s': the text preprocessing pads to %d words, but the model takes inputs %s: the file "
        "is inconsistent; save it again with an experiment's --save",
        path, preprocessing->maxlen, layers::KerasShapeString(input))));
  }
  size_t largest_index = static_cast<size_t>(
      std::max({preprocessing->start_char, preprocessing->oov_char, 0}));
  if (!preprocessing->words.empty()) {
    size_t last_word = static_cast<size_t>(preprocessing->first_index) +
                       preprocessing->words.size() - 1;
    // Words ranked at num_words or beyond become oov_char (or are dropped).
    if (preprocessing->num_words > 0) last_word = std::min(last_word, preprocessing->num_words - 1);
    largest_index = std::max(largest_index, last_word);
  }
  if (const auto* embedding =
          dynamic_cast<const layers::EmbeddingLayer*>((*model)->layers().front().get());
      embedding != nullptr && largest_index >= embedding->input_dim()) {
    return experiments::ExitWithUsageError(absl::InvalidArgumentError(absl::StrFormat(
        "'%s': the text preprocessing makes word indices up to %d, but layer '%s' (Embedding) "
        "has rows for 0 to %d: the file is inconsistent; save it again with an experiment's "
        "--save",
        path, largest_index, embedding->name(), embedding->input_dim() - 1)));
  }
  (*model)->set_int8_inference(absl::GetFlag(FLAGS_int8));
  Predictor predictor(**model, *preprocessing);

  if (!texts.empty()) {
    std::vector<Text> batch;
    for (const std::string& text : texts) batch.push_back({text, ""});
    if (absl::Status status = predictor.Run(batch); !status.ok()) {
      return experiments::ExitWithUsageError(status);
    }
    return tools::ExitAfterFlush("the predictions");
  }
  std::setvbuf(stdout, nullptr, _IOFBF, 1 << 16);  // many lines: no flush per line
  const auto start = std::chrono::steady_clock::now();
  size_t count = 0;
  const int code = tools::RunOverStandardInput(
      static_cast<size_t>(absl::GetFlag(FLAGS_batch_size).value),
      static_cast<size_t>(absl::GetFlag(FLAGS_max_line_bytes).value), "the predictions",
      [&](std::vector<Text>& batch) { return predictor.Run(batch); }, count);
  if (code != 0 || std::ferror(stdout)) return code;  // ferror: the reader closed it
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::fprintf(stderr, "%zu texts in %.2f s: %.0f texts/s\n", count, seconds,
               seconds > 0 ? count / seconds : 0.0);
  return 0;
}
