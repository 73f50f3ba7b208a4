// Decoding throughput of a model saved by seq2seq_lstm's or seq2seq_attention's --save:
//   bazel run //tools:bench_decoding -- --model=$PWD/dates.h5
// decodes --inputs fresh sources of the model's task, greedy and with beam search, all in one
// batch and one at a time, and prints sequences per second (medians of --rounds, interleaved).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_format.h"
#include "autograd/runtime.h"
#include "datasets/translation.h"
#include "experiments/command_line.h"
#include "experiments/seq2seq.h"

using Inputs = experiments::IntIn<1, 100000>;
using BeamWidth = experiments::IntIn<1, 64>;
using Rounds = experiments::IntIn<1, 1000>;

ABSL_FLAG(std::string, model, "",
          "the model file (saved by seq2seq_lstm's or seq2seq_attention's --save)");
ABSL_FLAG(Inputs, inputs, Inputs{1000},
          "sources decoded in one batch (one at a time: 200 of them)");
ABSL_FLAG(BeamWidth, beam_width, BeamWidth{4}, "beam search width, 1 to 64");
ABSL_FLAG(Rounds, rounds, Rounds{3}, "timed rounds of each case (medians are printed)");
ABSL_FLAG(uint64_t, seed, 12345, "seed of the generated sources");

int main(int argc, char** argv) {
  experiments::ParseCommandLine(argc, argv, "Decoding throughput of a saved seq2seq model.");
  const std::string path = absl::GetFlag(FLAGS_model);
  const auto fail = [&](const absl::Status& status) {
    return experiments::ExitWithUsageError(
        absl::Status(status.code(), absl::StrFormat("'%s': %s", path, status.message())));
  };
  if (path.empty()) {
    return experiments::ExitWithUsageError(absl::InvalidArgumentError(
        "--model is required: a file saved by seq2seq_lstm's or seq2seq_attention's --save"));
  }
  absl::StatusOr<experiments::Translator> translator = experiments::Translator::Load(path);
  if (!translator.ok()) return experiments::ExitWithUsageError(translator.status());
  const std::string task = translator->setup.task;
  const size_t count = absl::GetFlag(FLAGS_inputs).value, single = std::min<size_t>(count, 200);
  absl::StatusOr<std::vector<datasets::TranslationPair>> pairs =
      datasets::GenerateTranslationPairs(task, count, absl::GetFlag(FLAGS_seed));
  if (!pairs.ok()) return fail(pairs.status());
  std::vector<std::string> texts;
  for (const auto& pair : *pairs) texts.push_back(pair.source);
  absl::StatusOr<autograd::Array> all = translator->EncodeSources(texts);
  absl::StatusOr<autograd::Array> few =
      translator->EncodeSources(std::vector<std::string>(texts.begin(), texts.begin() + single));
  if (!all.ok() || !few.ok()) return fail(all.ok() ? few.status() : all.status());

  std::printf("Processor: %s; model %s (task %s), %zu sources batched, %zu one at a time\n",
              autograd::ProcessorName().c_str(), path.c_str(), task.c_str(), count, single);
  const size_t beam = absl::GetFlag(FLAGS_beam_width).value;
  struct Case {
    size_t width;
    bool batched;
    std::vector<double> rates;
  };
  std::vector<Case> cases = {{1, true, {}}, {1, false, {}}, {beam, true, {}}, {beam, false, {}}};
  for (int64_t round = 0; round < absl::GetFlag(FLAGS_rounds).value; ++round) {
    for (Case& c : cases) {
      const autograd::Array& sources = c.batched ? *all : *few;
      const auto start = std::chrono::steady_clock::now();
      absl::StatusOr<std::vector<std::string>> out =
          translator->Translate(sources, c.width, c.batched ? 0 : 1);
      if (!out.ok()) return fail(out.status());
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      c.rates.push_back(sources.shape()[0] / seconds);
    }
  }
  const auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  for (size_t k = 0; k < cases.size(); k += 2) {
    const std::string name =
        cases[k].width == 1 ? "greedy" : absl::StrFormat("beam %d", cases[k].width);
    const double batched = median(cases[k].rates), one = median(cases[k + 1].rates);
    std::printf("decoding, %s: %.0f sequences/s batched, %.0f one at a time (%.1fx)\n",
                name.c_str(), batched, one, batched / one);
  }
  return 0;
}
