// Sentiment of raw text with a model saved by an experiment's --save (the file holds the text
// preprocessing too):
//   bazel run //tools:predict -- --model=imdb_lstm.h5 "This movie was a wonderful surprise"
// prints one line per text: the probability of the last class (positive), the label, the text.
// With no text arguments it reads one text per line from standard input and writes one TSV line
// per input line, in batches, then the texts per second on standard error. A line that cannot be
// scored (empty, not UTF-8, longer than --max_line_bytes) gets "nan<TAB>error<TAB>reason".
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_format.h"
#include "datasets/preprocessing.h"
#include "experiments/command_line.h"
#include "layers/saving.h"

using BatchSize = experiments::IntIn<1, 100000>;
using LineBytes = experiments::IntIn<1, 1073741824>;

ABSL_FLAG(std::string, model, "", "the model file (saved by an experiment's --save)");
ABSL_FLAG(BatchSize, batch_size, BatchSize{256}, "texts per forward pass, 1 to 100000");
ABSL_FLAG(LineBytes, max_line_bytes, LineBytes{1 << 20},
          "longer input lines are not scored (an error line instead), 1 to 2^30");

namespace {

struct Text {
  std::string text;
  std::string error;  // why it cannot be scored, or ""
};

// Tabs and line ends in a text would break the TSV: shown as spaces, and cut to 60 characters.
std::string Shown(const std::string& text) {
  std::string out = text.substr(0, 60);
  for (char& c : out) {
    if (c == '\t' || c == '\n' || c == '\r') c = ' ';
  }
  return out.size() < text.size() ? out + "..." : out;
}

class Predictor {
 public:
  Predictor(layers::Sequential& model, const datasets::TextPreprocessing& preprocessing)
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
      const size_t classes = probabilities.shape().back();
      const layers::Real* row = probabilities.data() + rows[i] * classes;
      size_t label = 0;
      if (classes == 1) {
        label = row[0] > layers::Real(0.5) ? 1 : 0;
      } else {
        for (size_t c = 1; c < classes; ++c) label = row[c] > row[label] ? c : label;
      }
      const std::string name = label < p.labels.size() ? p.labels[label] : std::to_string(label);
      std::printf("%.4f\t%s\t%s\n", static_cast<double>(row[classes - 1]), name.c_str(),
                  Shown(texts[i].text).c_str());
    }
    return absl::OkStatus();
  }

 private:
  layers::Sequential& model_;
  datasets::TextEncoder encoder_;
};

// One line of stdin, at most `limit` bytes kept; false at the end of input.
bool ReadLine(std::FILE* in, size_t limit, Text& line) {
  line.text.clear();
  line.error.clear();
  size_t length = 0;
  int c = 0;
  while ((c = std::fgetc(in)) != EOF && c != '\n') {
    if (++length <= limit) line.text += static_cast<char>(c);
  }
  if (c == EOF && length == 0) return false;
  if (!line.text.empty() && line.text.back() == '\r') line.text.pop_back();
  if (length > limit) {
    line.error = absl::StrFormat("line of %d bytes, longer than --max_line_bytes=%d: not scored",
                                 length, limit);
    line.text.clear();
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> texts = experiments::ParseCommandLineWithArguments(
      argc, argv,
      "Sentiment of raw text with a saved model: predict --model=FILE [TEXT ...] (no text: one "
      "per line from standard input).");
  const std::string path = absl::GetFlag(FLAGS_model);
  if (path.empty()) {
    return experiments::ExitWithUsageError(absl::InvalidArgumentError(
        "--model is required: a file saved by an experiment's --save, e.g. "
        "bazel run //experiments:imdb_lstm -- --save=$PWD/imdb_lstm.h5"));
  }
  absl::StatusOr<std::unique_ptr<layers::Sequential>> model = layers::LoadModel(path);
  if (!model.ok()) return experiments::ExitWithUsageError(model.status());
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
  Predictor predictor(**model, *preprocessing);
  if (!texts.empty()) {
    std::vector<Text> batch;
    for (const std::string& text : texts) batch.push_back({text, ""});
    if (absl::Status status = predictor.Run(batch); !status.ok()) {
      return experiments::ExitWithUsageError(status);
    }
    return 0;
  }
  std::setvbuf(stdout, nullptr, _IOFBF, 1 << 16);  // many lines: no flush per line
  const size_t batch_size = static_cast<size_t>(absl::GetFlag(FLAGS_batch_size).value);
  const size_t limit = static_cast<size_t>(absl::GetFlag(FLAGS_max_line_bytes).value);
  const auto start = std::chrono::steady_clock::now();
  size_t count = 0;
  std::vector<Text> batch;
  Text line;
  bool more = true;
  while (more) {
    more = ReadLine(stdin, limit, line);
    if (more) batch.push_back(line);
    if (batch.size() == batch_size || (!more && !batch.empty())) {
      if (absl::Status status = predictor.Run(batch); !status.ok()) {
        std::fflush(stdout);
        return experiments::ExitWithUsageError(status);
      }
      count += batch.size();
      batch.clear();
    }
  }
  std::fflush(stdout);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::fprintf(stderr, "%zu texts in %.2f s: %.0f texts/s\n", count, seconds,
               seconds > 0 ? count / seconds : 0.0);
  return 0;
}
