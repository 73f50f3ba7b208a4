#include "experiments/cumsum_experiment.h"

#include <chrono>
#include <cstdio>

#include "absl/flags/flag.h"
#include "absl/strings/str_format.h"
#include "autograd/optimizers.h"
#include "datasets/cumsum.h"
#include "experiments/command_line.h"
#include "experiments/report.h"
#include "io/atomic_file.h"
#include "layers/dense.h"
#include "layers/recurrent.h"

ABSL_FLAG(uint64_t, seed, 7, "random seed for weights and sequences (same seed, same numbers)");
ABSL_FLAG(absl::optional<experiments::CumsumEpochs>, epochs, absl::nullopt,
          "training epochs, one fresh sequence each, 1 to 1000000 (default: the tutorial's 1000 "
          "for the classification experiments, 250 for the comparisons)");
ABSL_FLAG(experiments::Repeats, repeats, experiments::Repeats{1},
          "average each loss curve over this many independent runs, 1 to 1000");
ABSL_FLAG(std::string, out_dir, "",
          "where the comparisons write their CSV and PNG files (default: the directory you ran "
          "from; created if only its last part is missing)");

namespace experiments {

using layers::Bidirectional;
using layers::Dense;
using layers::LSTM;
using layers::LstmOptions;
using layers::Sequential;
using layers::TimeDistributed;

absl::StatusOr<std::unique_ptr<Sequential>> GetLstmModel(size_t n_timesteps, bool backwards,
                                                         uint64_t seed) {
  auto model = std::make_unique<Sequential>(seed);
  model->Add(LSTM(LstmOptions(20).return_sequences(true).go_backwards(backwards)),
             {n_timesteps, 1});
  model->Add(TimeDistributed(Dense(1, "sigmoid")));
  absl::Status status =
      model->Compile("binary_crossentropy", std::make_unique<autograd::Adam>(), {"acc"});
  if (!status.ok()) return status;
  return model;
}

absl::StatusOr<std::unique_ptr<Sequential>> GetBiLstmModel(size_t n_timesteps,
                                                           const std::string& mode, uint64_t seed) {
  auto model = std::make_unique<Sequential>(seed);
  model->Add(Bidirectional(LSTM(LstmOptions(20).return_sequences(true)), mode), {n_timesteps, 1});
  model->Add(TimeDistributed(Dense(1, "sigmoid")));
  absl::Status status =
      model->Compile("binary_crossentropy", std::make_unique<autograd::Adam>(), {"acc"});
  if (!status.ok()) return status;
  return model;
}

std::string TrainingClock::Describe() const {
  return absl::StrFormat("Training: %d steps in %.3f s, %.1f us/step", steps, seconds,
                         steps == 0 ? 0.0 : 1e6 * seconds / static_cast<double>(steps));
}

absl::StatusOr<std::vector<double>> TrainModel(
    Sequential& model, size_t n_timesteps, int epochs, autograd::Rng& data, TrainingClock& clock,
    const std::function<void(int epoch, const layers::History&)>& on_epoch) {
  std::vector<double> loss;
  const layers::FitOptions once = layers::FitOptions().epochs(1).batch_size(1).verbose(0);
  for (int epoch = 0; epoch < epochs; ++epoch) {
    // generate new random sequence
    const datasets::Sequence sequence = datasets::GetSequence(n_timesteps, data);
    // fit model for one epoch on this sequence
    const auto start = std::chrono::steady_clock::now();
    absl::StatusOr<layers::History> hist = model.Fit(sequence.x, sequence.y, once);
    clock.seconds +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ++clock.steps;
    if (!hist.ok()) return hist.status();
    loss.push_back(hist->history.at("loss")[0]);
    if (on_epoch) on_epoch(epoch, *hist);
  }
  return loss;
}

namespace {

int Epochs(int default_epochs) {
  return static_cast<int>(absl::GetFlag(FLAGS_epochs).value_or(CumsumEpochs{default_epochs}).value);
}

}  // namespace

int RunClassification(
    const std::function<absl::StatusOr<std::unique_ptr<Sequential>>(uint64_t seed)>& get_model,
    int argc, char** argv) {
  ParseCommandLine(argc, argv, "Sequence classification of the cumulative-sum problem.");
  const int epochs = Epochs(1000);
  const uint64_t seed = absl::GetFlag(FLAGS_seed);
  absl::StatusOr<std::unique_ptr<Sequential>> model = get_model(seed);
  if (!model.ok()) return ExitWithError(model.status());
  std::fputs((*model)->Summary().c_str(), stdout);

  autograd::Rng data(seed + 1000);
  TrainingClock clock;
  double late_accuracy = 0;
  const int late_epochs = std::min(100, epochs);
  absl::StatusOr<std::vector<double>> loss = TrainModel(
      **model, kTimesteps, epochs, data, clock, [&](int epoch, const layers::History& hist) {
        const double acc = hist.history.at("acc")[0];
        std::printf("Epoch %d/%d - loss: %.4f - acc: %.4f\n", epoch + 1, epochs,
                    hist.history.at("loss")[0], acc);
        if (epoch >= epochs - late_epochs) late_accuracy += acc / late_epochs;
      });
  if (!loss.ok()) return ExitWithError(loss.status());

  // evaluate LSTM on a new sequence
  const datasets::Sequence sequence = datasets::GetSequence(kTimesteps, data);
  absl::StatusOr<autograd::Array> yhat = (*model)->PredictClasses(sequence.x);
  if (!yhat.ok()) return ExitWithError(yhat.status());
  for (size_t i = 0; i < kTimesteps; ++i) {
    std::printf("Expected: [%d] Predicted [%d]\n", static_cast<int>(sequence.y(0, i, 0)),
                static_cast<int>((*yhat)(0, i, 0)));
  }
  std::printf("Mean accuracy over the last %d epochs: %.1f%%\n", late_epochs, 100 * late_accuracy);
  std::printf("%s\n", clock.Describe().c_str());
  return 0;
}

int RunComparison(const std::string& stem, const std::string& title,
                  const std::vector<Candidate>& candidates, int argc, char** argv) {
  ParseCommandLine(argc, argv, "Compares loss curves on the cumulative-sum problem.");
  const int epochs = Epochs(250);
  const int repeats = static_cast<int>(absl::GetFlag(FLAGS_repeats).value);
  const uint64_t seed = absl::GetFlag(FLAGS_seed);
  const std::string out_dir = OutputDirectory(absl::GetFlag(FLAGS_out_dir));
  if (absl::Status status = io::PrepareOutputDirectory(out_dir, "--out_dir"); !status.ok()) {
    return ExitWithUsageError(status);
  }

  std::vector<Series> results;
  TrainingClock clock;
  for (const Candidate& candidate : candidates) {
    Series curve{candidate.name, std::vector<double>(epochs, 0.0)};
    for (int repeat = 0; repeat < repeats; ++repeat) {
      // Each run: its own weights and its own stream of sequences.
      const uint64_t run_seed = seed + 7919 * repeat;
      absl::StatusOr<std::unique_ptr<Sequential>> model = candidate.get_model(run_seed);
      if (!model.ok()) return ExitWithError(model.status());
      autograd::Rng data(run_seed + 1000);
      absl::StatusOr<std::vector<double>> loss =
          TrainModel(**model, kTimesteps, epochs, data, clock);
      if (!loss.ok()) return ExitWithError(loss.status());
      for (int epoch = 0; epoch < epochs; ++epoch) curve.values[epoch] += (*loss)[epoch] / repeats;
    }
    std::printf("%s: trained %d epochs x %d run(s)\n", candidate.name.c_str(), epochs, repeats);
    results.push_back(std::move(curve));
  }

  const int tail = std::min(50, epochs);
  std::printf("Mean loss over the last %d epochs (averaged over %d run(s)):\n", tail, repeats);
  for (const Series& curve : results) {
    double mean = 0;
    for (int epoch = epochs - tail; epoch < epochs; ++epoch) mean += curve.values[epoch] / tail;
    std::printf("  %-12s %.4f\n", curve.name.c_str(), mean);
  }
  const std::string plot_title =
      repeats == 1 ? title : absl::StrFormat("%s (mean of %d runs)", title, repeats);
  absl::StatusOr<PendingPlot> plot = WriteCurves(out_dir, stem, plot_title, "log loss", results);
  if (!plot.ok()) return ExitWithError(plot.status());
  std::printf("%s\n", clock.Describe().c_str());
  PlotOrWarn(*plot);
  return 0;
}

}  // namespace experiments
