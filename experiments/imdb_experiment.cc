#include "experiments/imdb_experiment.h"

#include <chrono>
#include <cstdio>

#include "absl/flags/flag.h"
#include "absl/strings/str_format.h"
#include "autograd/optimizers.h"
#include "datasets/imdb.h"
#include "datasets/text.h"
#include "experiments/command_line.h"
#include "experiments/model_files.h"
#include "experiments/parallel.h"
#include "experiments/report.h"

using Epochs = experiments::IntIn<1, 100000>;
using BatchSize = experiments::IntIn<1, 1000000>;
using TopWords = experiments::IntIn<4, 1000000>;
using ReviewLength = experiments::IntIn<1, 20000>;
using TimeoutSeconds = experiments::IntIn<1, 1000000>;

ABSL_FLAG(Epochs, epochs, Epochs{3}, "training epochs, 1 to 100000");
ABSL_FLAG(BatchSize, batch_size, BatchSize{64}, "samples per gradient step, 1 to 1000000");
ABSL_FLAG(uint64_t, seed, 7, "random seed for weights, dropout and shuffling");
ABSL_FLAG(std::string, data_dir, "",
          "folder holding aclImdb/ (default: the project's data/ folder; fetch it with "
          "bazel run //tools:fetch_data -- --from ../shared/data imdb)");
ABSL_FLAG(TopWords, top_words, TopWords{5000},
          "vocabulary size, 4 to 1000000: rarer words become the out-of-vocabulary index (indices "
          "0 to 3 are padding, start, out-of-vocabulary and unused, as in Keras)");
ABSL_FLAG(ReviewLength, max_review_length, ReviewLength{500},
          "reviews are cut or padded to this many words, 1 to 20000");
ABSL_FLAG(bool, validate, false, "evaluate on the test reviews after every epoch");
ABSL_FLAG(TimeoutSeconds, collective_timeout_s, TimeoutSeconds{300},
          "under mpirun: how long a rank waits for the others in one collective (1 to 1000000 "
          "seconds); past it the job ends, naming the ranks that did not reach it (stopped, hung "
          "or far slower)");
ABSL_FLAG(bool, compare_unmasked, false,
          "masked experiments only: then train the same model without masking or bucketing and "
          "print both runs' accuracy and seconds per epoch");

namespace experiments {
int RunImdb(const ImdbModelBuilder& build, int argc, char** argv, bool masked) {
  ParseCommandLine(argc, argv, "Sentiment classification of IMDB movie reviews.");
  if (absl::GetFlag(FLAGS_compare_unmasked) && !masked) {
    return ExitWithUsageError(absl::InvalidArgumentError(
        "--compare_unmasked is for the masked experiments (imdb_lstm_masked, imdb_bilstm_masked)"));
  }
  // Under mpirun with several processes: one model trained on all of them.
  distributed::CommunicatorOptions job_options;
  job_options.collective_timeout = absl::Seconds(absl::GetFlag(FLAGS_collective_timeout_s).value);
  absl::StatusOr<std::shared_ptr<distributed::Communicator>> job = JoinJob(job_options);
  if (!job.ok()) return ExitWithError(job.status());
  const std::shared_ptr<distributed::Communicator>& world = *job;
  // Every rank must run the same experiment: the flags that shape the data, the model and the
  // training (not the paths: each machine may keep its files elsewhere).
  if (world) {
    RequireSameFlags(*world, {"epochs", "batch_size", "seed", "top_words", "max_review_length",
                              "validate", "compare_unmasked", "collective_timeout_s"});
  }
  const size_t rank = world ? static_cast<size_t>(world->rank()) : 0;
  const size_t ranks = world ? static_cast<size_t>(world->size()) : 1;
  ImdbSizes sizes;
  sizes.mask_zero = masked;
  sizes.top_words = static_cast<size_t>(absl::GetFlag(FLAGS_top_words).value);
  sizes.max_review_length = static_cast<size_t>(absl::GetFlag(FLAGS_max_review_length).value);
  const std::string data_dir = absl::GetFlag(FLAGS_data_dir).empty()
                                   ? datasets::DefaultDataDirectory()
                                   : absl::GetFlag(FLAGS_data_dir);

  // load the dataset but only keep the top n words, zero the rest
  datasets::ImdbOptions options;
  options.num_words = sizes.top_words;
  absl::StatusOr<datasets::ImdbData> data =
      datasets::LoadImdb(absl::StrFormat("%s/aclImdb", data_dir), options);
  if (!data.ok()) return ExitWithError(data.status());
  std::printf("Loaded %zu training and %zu test reviews (%zu distinct words) in %.1f s\n",
              data->train.labels.size(), data->test.labels.size(), data->vocabulary_size,
              data->seconds);
  if (world) {
    // After the loader's shuffle, common to all ranks, each keeps its contiguous shard: equal
    // ones for training (Fit needs them), all reviews for testing.
    const auto keep = [&](datasets::LabelledSequences& split, bool equal) {
      const auto [begin, end] = Shard(split.labels.size(), rank, ranks, equal);
      split.sequences =
          datasets::Sequences(split.sequences.begin() + begin, split.sequences.begin() + end);
      split.labels = std::vector<int>(split.labels.begin() + begin, split.labels.begin() + end);
    };
    const size_t reviews = data->train.labels.size();
    keep(data->train, /*equal=*/true);
    keep(data->test, /*equal=*/false);
    std::printf(
        "Data-parallel on %zu processes (mpirun): each trains on %zu of the %zu training "
        "reviews%s, and each step on %zu of a batch's %d\n",
        ranks, data->train.labels.size(), reviews,
        reviews % ranks == 0 ? "" : absl::StrFormat(" (%zu left out)", reviews % ranks).c_str(),
        static_cast<size_t>(absl::GetFlag(FLAGS_batch_size).value) / ranks,
        static_cast<int>(absl::GetFlag(FLAGS_batch_size).value));
  }
  // truncate and pad input sequences
  absl::StatusOr<autograd::Array> x_train =
      datasets::PadSequences(data->train.sequences, sizes.max_review_length);
  if (!x_train.ok()) return ExitWithError(x_train.status());
  absl::StatusOr<autograd::Array> x_test =
      datasets::PadSequences(data->test.sequences, sizes.max_review_length);
  if (!x_test.ok()) return ExitWithError(x_test.status());
  const auto labels = [](const std::vector<int>& values) {
    autograd::Array y = autograd::Array::from_shape({values.size(), size_t{1}});
    for (size_t i = 0; i < values.size(); ++i) y(i, 0) = static_cast<autograd::Real>(values[i]);
    return y;
  };
  const autograd::Array y_train = labels(data->train.labels), y_test = labels(data->test.labels);

  // create the model
  absl::StatusOr<std::unique_ptr<layers::Model>> made = NewOrResumedModel(
      [&]() -> absl::StatusOr<std::unique_ptr<layers::Model>> {
        auto model = std::make_unique<layers::Sequential>(absl::GetFlag(FLAGS_seed));
        build(*model, sizes);
        if (absl::Status status = model->Compile("binary_crossentropy",
                                                 std::make_unique<autograd::Adam>(), {"accuracy"});
            !status.ok()) {
          return status;
        }
        return model;
      },
      {sizes.max_review_length});
  if (!made.ok()) return ExitWithError(made.status());
  layers::Model& model = **made;
  model.set_data_parallel(world);  // a resumed model too
  std::fputs(model.Summary().c_str(), stdout);
  layers::FitOptions fit =
      layers::FitOptions()
          .epochs(static_cast<size_t>(absl::GetFlag(FLAGS_epochs).value))
          .batch_size(static_cast<size_t>(absl::GetFlag(FLAGS_batch_size).value))
          .verbose(1);
  if (absl::GetFlag(FLAGS_validate)) fit.validation_x(*x_test).validation_y(y_test);
  // What //tools:predict needs to turn a review into this model's input.
  datasets::TextPreprocessing preprocessing;
  preprocessing.tokenizer = "imdb";
  preprocessing.words = data->words;
  preprocessing.first_index = 1 + options.index_from;
  preprocessing.num_words = options.num_words;
  preprocessing.start_char = options.start_char;
  preprocessing.oov_char = options.oov_char;
  preprocessing.maxlen = sizes.max_review_length;
  preprocessing.labels = {"negative", "positive"};
  if (absl::Status status = AddModelFiles(model, preprocessing, fit); !status.ok()) {
    return ExitWithUsageError(status);
  }
  fit.bucket_by_length(masked);
  const size_t batch_size = fit.batch_size();
  if (world) {
    // Every rank must take the same branch below (train, or only evaluate): copies of a resumed
    // file on different machines could differ in the epochs they hold. All equal exactly when
    // ranks x (sum of squares) = (sum)^2.
    const double trained = static_cast<double>(model.GetTrainingState().epochs);
    double sums[2] = {trained, trained * trained};
    if (absl::Status status = world->AllreduceSum(sums, 2); !status.ok()) {
      return ExitWithError(status);
    }
    if (sums[1] * static_cast<double>(ranks) != sums[0] * sums[0]) {
      return ExitWithError(absl::InvalidArgumentError(absl::StrFormat(
          "--resume: this rank's model has had %.0f epoch(s), and the ranks' models do not all "
          "have as many: resume every rank from the same file",
          trained)));
    }
  }
  if (NothingLeftToTrain(model, fit.epochs())) {
    absl::StatusOr<layers::Scores> scores =
        model.Evaluate(*x_test, y_test, batch_size, fit.bucket_by_length());
    if (!scores.ok()) return ExitWithError(scores.status());
    std::printf("Accuracy: %.2f%%\n", 100 * scores->accuracy);
    return 0;
  }
  // Trains `model` with `options`, prints the seconds per epoch and returns the test scores.
  const auto train = [&](layers::Model& model, const layers::FitOptions& options,
                         double& seconds_per_epoch) -> absl::StatusOr<layers::Scores> {
    const distributed::Communicator::Traffic traffic_before =
        world ? world->traffic() : distributed::Communicator::Traffic();
    const auto start = std::chrono::steady_clock::now();
    absl::StatusOr<layers::History> history = model.Fit(*x_train, y_train, options);
    if (!history.ok()) return history.status();
    const size_t epochs = history->history.at("loss").size();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    seconds_per_epoch = epochs == 0 ? 0 : seconds / static_cast<double>(epochs);
    if (epochs > 0) std::printf("Seconds per epoch: %.1f\n", seconds_per_epoch);
    if (world) {
      // One allreduce per step: every gradient, a flag per weight, loss and accuracy sums.
      const size_t bytes = (model.CountParams() + model.Parameters().size() + 3) * sizeof(float);
      const distributed::Communicator::Traffic& traffic = world->traffic();
      std::printf(
          "Exchanged per step: one allreduce of %zu bytes; rank 0 spent %.1f s of %.1f s "
          "in collectives (%.1f%%, waiting for the other ranks included)\n",
          bytes, traffic.seconds - traffic_before.seconds, seconds,
          100 * (traffic.seconds - traffic_before.seconds) / seconds);
    }
    // Final evaluation of the model
    return model.Evaluate(*x_test, y_test, batch_size, options.bucket_by_length());
  };
  double seconds = 0;
  absl::StatusOr<layers::Scores> scores = train(model, fit, seconds);
  if (!scores.ok()) return ExitWithError(scores.status());
  if (absl::GetFlag(FLAGS_compare_unmasked)) {
    std::printf("\nThe same model without masking or bucketing:\n");
    layers::Sequential unmasked(absl::GetFlag(FLAGS_seed));
    unmasked.set_data_parallel(world);
    ImdbSizes plain = sizes;
    plain.mask_zero = false;
    build(unmasked, plain);
    if (absl::Status status = unmasked.Compile("binary_crossentropy",
                                               std::make_unique<autograd::Adam>(), {"accuracy"});
        !status.ok()) {
      return ExitWithError(status);
    }
    layers::FitOptions plain_fit = fit;
    plain_fit.bucket_by_length(false).callbacks({});
    double plain_seconds = 0;
    absl::StatusOr<layers::Scores> plain_scores = train(unmasked, plain_fit, plain_seconds);
    if (!plain_scores.ok()) return ExitWithError(plain_scores.status());
    std::printf("\n%-24s %9s %9s\n", "", "accuracy", "s/epoch");
    std::printf("%-24s %8.2f%% %9.1f\n", "masked, bucketed", 100 * scores->accuracy, seconds);
    std::printf("%-24s %8.2f%% %9.1f\n", "unmasked", 100 * plain_scores->accuracy, plain_seconds);
  }
  std::printf("Accuracy: %.2f%%\n", 100 * scores->accuracy);
  return 0;
}

}  // namespace experiments
