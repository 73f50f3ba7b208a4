// Translation of raw text with a model saved by seq2seq_lstm's or seq2seq_attention's --save (the
// file holds the vocabularies too):
//   bazel run //tools:decode -- --model=dates.h5 "saturday 9 may 2018" "9/5/18"
// prints one line per text: the answer, a tab, the text. Greedy with --beam_width=1, else beam
// search. With no text arguments it reads one text per line from standard input, decodes them in
// batches, and writes one line per input line; a line that cannot be decoded (a character the
// model does not know, too long) gets "error<TAB>reason" instead, and the run goes on. With texts
// as arguments, any such text is an error before anything is written.

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_format.h"
#include "experiments/command_line.h"
#include "experiments/seq2seq.h"
#include "tools/predict_lines.h"

using BatchSize = experiments::IntIn<1, 100000>;
using BeamWidth = experiments::IntIn<1, 64>;
using LineBytes = experiments::IntIn<1, 1073741824>;

ABSL_FLAG(std::string, model, "",
          "the model file (saved by seq2seq_lstm's or seq2seq_attention's --save)");
ABSL_FLAG(BeamWidth, beam_width, BeamWidth{4}, "beam search width, 1 (greedy) to 64");
ABSL_FLAG(BatchSize, batch_size, BatchSize{256}, "texts decoded together, 1 to 100000");
ABSL_FLAG(LineBytes, max_line_bytes, LineBytes{1 << 20},
          "longer input lines are not decoded (an error line instead), 1 to 2^30");

namespace {

int ExitWithError(const absl::Status& status) {
  std::fflush(stdout);
  std::fprintf(stderr, "error: %s\n", std::string(status.message()).c_str());
  return 1;
}

using tools::Shown;
using tools::Text;

// Decodes the texts without an error and prints one line per text.
absl::Status DecodeBatch(const experiments::Translator& translator, std::vector<Text>& batch) {
  std::vector<std::string> texts;
  for (Text& text : batch) {
    if (text.error.empty() && text.text.empty()) text.error = "the line is empty";
    if (!text.error.empty()) continue;
    if (absl::StatusOr<autograd::Array> one = translator.EncodeSources({text.text}); !one.ok()) {
      // "text 1: character 'Q' at position 0 ...": the line is the text here.
      const std::string message(one.status().message());
      text.error = message.substr(message.find(": ") + 2);
    } else {
      texts.push_back(text.text);
    }
  }
  std::vector<std::string> answers;
  if (!texts.empty()) {
    absl::StatusOr<autograd::Array> sources = translator.EncodeSources(texts);
    if (!sources.ok()) return sources.status();
    absl::StatusOr<std::vector<std::string>> decoded =
        translator.Translate(*sources, absl::GetFlag(FLAGS_beam_width).value);
    if (!decoded.ok()) return decoded.status();
    answers = *std::move(decoded);
  }
  size_t next = 0;
  for (const Text& text : batch) {
    if (text.error.empty()) {
      std::printf("%s\t%s\n", answers[next++].c_str(), Shown(text.text).c_str());
    } else {
      std::printf("error\t%s\t%s\n", text.error.c_str(), Shown(text.text).c_str());
    }
  }
  return absl::OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> texts = experiments::ParseCommandLineWithArguments(
      argc, argv,
      "Translation of raw text with a saved seq2seq model: decode --model=FILE [TEXT ...] (no "
      "text: one per line from standard input).");
  std::signal(SIGPIPE, SIG_IGN);  // a closed pipe is EPIPE from write, handled as the end
  const std::string path = absl::GetFlag(FLAGS_model);
  if (path.empty()) {
    return experiments::ExitWithUsageError(absl::InvalidArgumentError(
        "--model is required: a file saved by seq2seq_lstm or seq2seq_attention, e.g. bazel run "
        "//experiments:seq2seq_attention -- --save=$PWD/dates.h5"));
  }
  if (absl::Status status = texts.empty() ? tools::CheckStandardInput() : absl::OkStatus();
      !status.ok()) {
    return experiments::ExitWithUsageError(status);
  }
  absl::StatusOr<experiments::Translator> translator = experiments::Translator::Load(path);
  if (!translator.ok()) return experiments::ExitWithUsageError(translator.status());

  if (!texts.empty()) {
    // Every text checked before anything is written.
    for (size_t i = 0; i < texts.size(); ++i) {
      if (texts[i].empty()) {
        return experiments::ExitWithUsageError(absl::InvalidArgumentError(
            absl::StrFormat("text %d is empty: give a text to decode", i + 1)));
      }
    }
    if (absl::StatusOr<autograd::Array> all = translator->EncodeSources(texts); !all.ok()) {
      return experiments::ExitWithUsageError(all.status());
    }
    std::vector<Text> batch;
    for (const std::string& text : texts) batch.push_back({text, ""});
    if (absl::Status status = DecodeBatch(*translator, batch); !status.ok()) {
      return ExitWithError(status);
    }
    return tools::ExitAfterFlush("the answers");
  }
  std::setvbuf(stdout, nullptr, _IOFBF, 1 << 16);
  size_t count = 0;
  return tools::RunOverStandardInput(
      static_cast<size_t>(absl::GetFlag(FLAGS_batch_size).value),
      static_cast<size_t>(absl::GetFlag(FLAGS_max_line_bytes).value), "the answers",
      [&](std::vector<Text>& batch) { return DecodeBatch(*translator, batch); }, count);
}
