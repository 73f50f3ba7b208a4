#include "experiments/airline_experiment.h"

#include <algorithm>
#include <cstdio>

#include "absl/flags/flag.h"
#include "absl/strings/str_format.h"
#include "absl/types/optional.h"
#include "autograd/optimizers.h"
#include "datasets/airline.h"
#include "datasets/imdb.h"
#include "datasets/text.h"
#include "experiments/command_line.h"
#include "experiments/model_files.h"
#include "experiments/report.h"
#include "io/atomic_file.h"
#include "layers/callbacks.h"

using Epochs = experiments::IntIn<1, 100000>;
using BatchSize = experiments::IntIn<1, 1000000>;
using TweetLength = experiments::IntIn<1, 10000>;

ABSL_FLAG(absl::optional<Epochs>, epochs, absl::nullopt,
          "training epochs, 1 to 100000 (default: the book's)");
ABSL_FLAG(BatchSize, batch_size, BatchSize{32}, "samples per gradient step, 1 to 1000000");
ABSL_FLAG(absl::optional<TweetLength>, max_length, absl::nullopt,
          "tweets are padded or cut to this many words, 1 to 10000 (default: the longest tweet, "
          "but at most 100: one runaway record must not pad the whole data set to its length)");
ABSL_FLAG(uint64_t, seed, 7, "random seed for the weights and the shuffling");
ABSL_FLAG(uint64_t, split_seed, 42,
          "random seed of the train/test split (the book's random_state)");
ABSL_FLAG(std::string, data_dir, "",
          "folder holding Tweets.csv (default: the project's data/ folder; fetch it with "
          "bazel run //tools:fetch_data -- --from ../shared/data tweets)");
ABSL_FLAG(bool, early_stopping, false,
          "stop when the test loss has not improved for 2 epochs and keep the best epoch's "
          "weights (Keras' EarlyStopping(patience=2, restore_best_weights=True))");
ABSL_FLAG(std::string, out_dir, "",
          "where to write the CSV and PNG of the curves (default: the directory you ran from; "
          "created if only its last part is missing)");

namespace experiments {
namespace {

// The padded length when --max_length is not given: far above any real tweet (the book's
// longest has 26 words after stop-word removal), far below what a damaged file can hold.
constexpr size_t kDefaultMaxLength = 100;

// The padded length, with a warning naming the longest tweet when it will be cut.
size_t PaddedLength(const datasets::AirlineData& data, const std::string& path) {
  const absl::optional<TweetLength> flag = absl::GetFlag(FLAGS_max_length);
  const size_t padded = flag.has_value() ? static_cast<size_t>(flag->value)
                                         : std::min(data.max_length, kDefaultMaxLength);
  if (data.max_length > padded) {
    size_t longest = 0, next = 0;
    for (size_t i = 0; i < data.sequences.size(); ++i) {
      if (data.sequences[i].size() > data.sequences[longest].size()) longest = i;
    }
    for (size_t i = 0; i < data.sequences.size(); ++i) {
      if (i != longest) next = std::max(next, data.sequences[i].size());
    }
    std::fflush(stdout);
    std::fprintf(stderr,
                 "warning: the tweet on line %zu of %s has %zu words (the next longest: %zu); "
                 "tweets are cut to %zu words (--max_length)\n",
                 data.lines[longest], path.c_str(), data.sequences[longest].size(), next, padded);
  }
  return padded;
}

}  // namespace

int RunAirline(const std::string& name, int default_epochs, const AirlineModelBuilder& build,
               int argc, char** argv) {
  ParseCommandLine(argc, argv, "Sentiment of tweets about US airlines (negative or positive).");
  const int epochs =
      static_cast<int>(absl::GetFlag(FLAGS_epochs).value_or(Epochs{default_epochs}).value);
  const std::string out_dir = OutputDirectory(absl::GetFlag(FLAGS_out_dir));
  if (absl::Status status = io::PrepareOutputDirectory(out_dir, "--out_dir"); !status.ok()) {
    return ExitWithUsageError(status);
  }
  const std::string data_dir = absl::GetFlag(FLAGS_data_dir).empty()
                                   ? datasets::DefaultDataDirectory()
                                   : absl::GetFlag(FLAGS_data_dir);
  const std::string path = absl::StrFormat("%s/Tweets.csv", data_dir);

  absl::StatusOr<datasets::AirlineData> data = datasets::LoadAirlineTweets(path);
  if (!data.ok()) return ExitWithError(data.status());
  const size_t tweets = data->labels.size();
  const size_t negative = std::count(data->labels.begin(), data->labels.end(), 0);
  std::printf(
      "Binary task as in the book: %zu neutral tweets dropped, %zu left: %zu negative (0), %zu "
      "positive (1). Majority-class baseline: %.1f%%\n",
      data->neutral_dropped, tweets, negative, tweets - negative, 100.0 * negative / tweets);
  std::printf("Vocabulary %zu words, longest tweet %zu words (loaded in %.2f s)\n",
              data->words.size(), data->max_length, data->seconds);
  const size_t length = PaddedLength(*data, path);

  absl::StatusOr<autograd::Array> x =
      datasets::PadSequences(data->sequences, length, datasets::Side::kPost, datasets::Side::kPre);
  if (!x.ok()) return ExitWithError(x.status());
  absl::StatusOr<autograd::Array> y = datasets::ToCategorical(data->labels, 2);
  if (!y.ok()) return ExitWithError(y.status());
  absl::StatusOr<datasets::SplitIndices> split_or =
      datasets::TrainTestSplit(tweets, 0.30, absl::GetFlag(FLAGS_split_seed));
  if (!split_or.ok()) return ExitWithError(split_or.status());
  const datasets::SplitIndices& split = *split_or;
  if (split.train.empty() || split.test.empty()) {
    return ExitWithError(absl::InvalidArgumentError(absl::StrFormat(
        "%s has %d usable tweet(s): the book's 70/30 split leaves %d to train on and %d to test "
        "on, and both need at least one",
        path, tweets, split.train.size(), split.test.size())));
  }
  absl::StatusOr<autograd::Array> x_train = datasets::TakeRows(*x, split.train);
  absl::StatusOr<autograd::Array> x_test = datasets::TakeRows(*x, split.test);
  absl::StatusOr<autograd::Array> y_train = datasets::TakeRows(*y, split.train);
  absl::StatusOr<autograd::Array> y_test = datasets::TakeRows(*y, split.test);
  for (const auto* rows : {&x_train, &x_test, &y_train, &y_test}) {
    if (!rows->ok()) return ExitWithError(rows->status());
  }
  std::printf("Train %zu tweets, test %zu tweets\n", split.train.size(), split.test.size());

  absl::StatusOr<std::unique_ptr<layers::Model>> made = NewOrResumedModel(
      [&]() -> absl::StatusOr<std::unique_ptr<layers::Model>> {
        auto model = std::make_unique<layers::Sequential>(absl::GetFlag(FLAGS_seed));
        build(*model, data->words.size() + 1, length);
        if (absl::Status status = model->Compile("categorical_crossentropy",
                                                 std::make_unique<autograd::Adam>(), {"accuracy"});
            !status.ok()) {
          return status;
        }
        return model;
      },
      {length});
  if (!made.ok()) return ExitWithError(made.status());
  layers::Model& model = **made;
  std::fputs(model.Summary().c_str(), stdout);
  layers::FitOptions fit =
      layers::FitOptions()
          .epochs(static_cast<size_t>(epochs))
          .batch_size(static_cast<size_t>(absl::GetFlag(FLAGS_batch_size).value))
          .verbose(1)
          .validation_x(*x_test)
          .validation_y(*y_test);
  std::shared_ptr<layers::EarlyStopping> stopping;
  if (absl::GetFlag(FLAGS_early_stopping)) {
    stopping = std::make_shared<layers::EarlyStopping>("val_loss", /*patience=*/2,
                                                       /*restore_best_weights=*/true);
    fit.callbacks({stopping});
  }
  // What //tools:predict needs to turn a tweet into this model's input.
  datasets::TextPreprocessing preprocessing;
  preprocessing.tokenizer = "airline";
  preprocessing.words = data->words;
  preprocessing.maxlen = length;
  preprocessing.padding = datasets::Side::kPost;
  preprocessing.labels = {"negative", "positive"};
  if (absl::Status status = AddModelFiles(model, preprocessing, fit); !status.ok()) {
    return ExitWithUsageError(status);
  }
  if (NothingLeftToTrain(model, fit.epochs())) {
    absl::StatusOr<layers::Scores> scores = model.Evaluate(*x_test, *y_test, 32);
    if (!scores.ok()) return ExitWithError(scores.status());
    std::printf("Accuracy: %.2f%%\n", 100 * scores->accuracy);
    return 0;
  }
  absl::StatusOr<layers::History> history = model.Fit(*x_train, *y_train, fit);
  if (!history.ok()) return ExitWithError(history.status());
  absl::StatusOr<PendingPlot> plot =
      WriteHistory(out_dir, name, absl::StrFormat("%s: loss and accuracy, train and test", name),
                   history->history);
  if (!plot.ok()) return ExitWithError(plot.status());
  const std::vector<double>& val = history->history.at("val_accuracy");
  const size_t first = fit.initial_epoch();
  const size_t best = std::max_element(val.begin(), val.end()) - val.begin();
  std::printf("Best test accuracy: %.2f%% at epoch %zu of %d\n", 100 * val[best], first + best + 1,
              epochs);
  if (stopping != nullptr && stopping->stopped_epoch() > 0) {
    // The weights are the best epoch's again: score them.
    absl::StatusOr<layers::Scores> scores = model.Evaluate(*x_test, *y_test, 32);
    if (!scores.ok()) return ExitWithError(scores.status());
    std::printf("Early stopping: stopped after epoch %zu, weights of epoch %zu restored\n",
                stopping->stopped_epoch() + 1, stopping->best_epoch() + 1);
    std::printf("Accuracy: %.2f%%\n", 100 * scores->accuracy);
  } else {
    std::printf("Accuracy: %.2f%%\n", 100 * val.back());
  }
  PlotOrWarn(*plot);
  return 0;
}

}  // namespace experiments
