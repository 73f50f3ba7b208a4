#include "experiments/airline_experiment.h"

#include <algorithm>
#include <cstdio>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_format.h"
#include "autograd/optimizers.h"
#include "datasets/airline.h"
#include "datasets/imdb.h"
#include "datasets/text.h"
#include "experiments/report.h"

ABSL_FLAG(int, epochs, 0, "training epochs (0: the book's)");
ABSL_FLAG(int, batch_size, 32, "samples per gradient step");
ABSL_FLAG(uint64_t, seed, 7, "random seed for the weights and the shuffling");
ABSL_FLAG(uint64_t, split_seed, 42,
          "random seed of the train/test split (the book's random_state)");
ABSL_FLAG(std::string, data_dir, "",
          "folder holding Tweets.csv (default: the project's data/ folder; fetch it with "
          "bazel run //tools:fetch_data -- --from ../shared/data tweets)");
ABSL_FLAG(std::string, out_dir, "",
          "where to write the CSV and PNG of the curves (default: the directory you ran from)");

namespace experiments {
int RunAirline(const std::string& name, int default_epochs, const AirlineModelBuilder& build,
               int argc, char** argv) {
  absl::SetProgramUsageMessage("Sentiment of tweets about US airlines (negative or positive).");
  absl::ParseCommandLine(argc, argv);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  const int epochs = absl::GetFlag(FLAGS_epochs) > 0 ? absl::GetFlag(FLAGS_epochs) : default_epochs;
  const std::string data_dir = absl::GetFlag(FLAGS_data_dir).empty()
                                   ? datasets::DefaultDataDirectory()
                                   : absl::GetFlag(FLAGS_data_dir);

  absl::StatusOr<datasets::AirlineData> data =
      datasets::LoadAirlineTweets(absl::StrFormat("%s/Tweets.csv", data_dir));
  if (!data.ok()) return ExitWithError(data.status());
  const size_t tweets = data->labels.size();
  const size_t negative = std::count(data->labels.begin(), data->labels.end(), 0);
  std::printf(
      "Binary task as in the book: %zu neutral tweets dropped, %zu left: %zu negative (0), %zu "
      "positive (1). Majority-class baseline: %.1f%%\n",
      data->neutral_dropped, tweets, negative, tweets - negative, 100.0 * negative / tweets);
  std::printf("Vocabulary %zu words, longest tweet %zu words (loaded in %.2f s)\n",
              data->words.size(), data->max_length, data->seconds);

  absl::StatusOr<autograd::Array> x = datasets::PadSequences(
      data->sequences, data->max_length, datasets::Side::kPost, datasets::Side::kPre);
  if (!x.ok()) return ExitWithError(x.status());
  absl::StatusOr<autograd::Array> y = datasets::ToCategorical(data->labels, 2);
  if (!y.ok()) return ExitWithError(y.status());
  absl::StatusOr<datasets::SplitIndices> split_or =
      datasets::TrainTestSplit(tweets, 0.30, absl::GetFlag(FLAGS_split_seed));
  if (!split_or.ok()) return ExitWithError(split_or.status());
  const datasets::SplitIndices& split = *split_or;
  absl::StatusOr<autograd::Array> x_train = datasets::TakeRows(*x, split.train);
  absl::StatusOr<autograd::Array> x_test = datasets::TakeRows(*x, split.test);
  absl::StatusOr<autograd::Array> y_train = datasets::TakeRows(*y, split.train);
  absl::StatusOr<autograd::Array> y_test = datasets::TakeRows(*y, split.test);
  for (const auto* rows : {&x_train, &x_test, &y_train, &y_test}) {
    if (!rows->ok()) return ExitWithError(rows->status());
  }
  std::printf("Train %zu tweets, test %zu tweets\n", split.train.size(), split.test.size());

  layers::Sequential model(absl::GetFlag(FLAGS_seed));
  build(model, data->words.size() + 1, data->max_length);
  if (absl::Status status = model.Compile("categorical_crossentropy",
                                          std::make_unique<autograd::Adam>(), {"accuracy"});
      !status.ok()) {
    return ExitWithError(status);
  }
  std::fputs(model.Summary().c_str(), stdout);
  absl::StatusOr<layers::History> history =
      model.Fit(*x_train, *y_train,
                layers::FitOptions()
                    .epochs(epochs)
                    .batch_size(absl::GetFlag(FLAGS_batch_size))
                    .verbose(1)
                    .validation_x(*x_test)
                    .validation_y(*y_test));
  if (!history.ok()) return ExitWithError(history.status());

  const std::vector<double>& val = history->history.at("val_accuracy");
  const size_t best = std::max_element(val.begin(), val.end()) - val.begin();
  if (absl::Status status = WriteHistory(
          OutputDirectory(absl::GetFlag(FLAGS_out_dir)), name,
          absl::StrFormat("%s: loss and accuracy, train and test", name), history->history);
      !status.ok()) {
    return ExitWithError(status);
  }
  std::printf("Best test accuracy: %.2f%% at epoch %zu of %d\n", 100 * val[best], best + 1, epochs);
  std::printf("Accuracy: %.2f%%\n", 100 * val.back());
  return 0;
}

}  // namespace experiments
