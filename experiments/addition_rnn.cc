// Keras' "Sequence to sequence learning for performing number addition" (keras-io
// examples/nlp/addition_rnn.py): "535+61" -> "596", questions reversed; Keras' listing says "You'll
// get to 99+% validation accuracy after ~30 epochs" (and, in its table, "Three digits (reversed):
// One layer LSTM (128 HN), 50k training examples = 99% train/test accuracy in 100 epochs").
//   TRAINING_SIZE = 50000
//   DIGITS = 3
//   REVERSE = True
//   MAXLEN = DIGITS + 1 + DIGITS
//   chars = "0123456789+ "
//   ...
//   model = keras.Sequential()
//   model.add(layers.LSTM(128, input_shape=(MAXLEN, len(chars))))
//   model.add(layers.RepeatVector(DIGITS + 1))
//   for _ in range(num_layers):  # num_layers = 1
//       model.add(layers.LSTM(128, return_sequences=True))
//   model.add(layers.Dense(len(chars), activation="softmax"))
//   model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
//   epochs = 30
//   batch_size = 32
//   for epoch in range(1, epochs):
//       model.fit(x_train, y_train, batch_size=batch_size, epochs=1,
//                 validation_data=(x_val, y_val))
//       for i in range(10):  # 10 random validation questions, decoded
//           ...
//           print("Q", q[::-1] if REVERSE else q, end=" ")
//           print("T", correct, end=" ")
//           print("☑ " + guess if correct == guess else "☒ " + guess)
// Here one Fit of --epochs epochs (Keras' loop of one-epoch fits does the same training, 29 epochs
// of it). After every epoch a callback answers the validation questions and prints the share of
// characters right (Keras' val_accuracy) and of whole answers right (all DIGITS + 1 characters);
// at the end 10 decoded validation questions as Keras prints them, then the last line:
//   Validation accuracy: 99.12% of characters, 97.40% of answers
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "autograd/optimizers.h"
#include "autograd/random.h"
#include "datasets/addition.h"
#include "experiments/command_line.h"
#include "experiments/report.h"
#include "io/atomic_file.h"
#include "layers/callbacks.h"
#include "layers/core.h"
#include "layers/dense.h"
#include "layers/recurrent.h"
#include "layers/sequential.h"
#include "saving/model_checkpoint.h"

namespace {

// A flag in [0, 1].
struct Fraction {
  double value = 0;
};

bool AbslParseFlag(absl::string_view text, Fraction* flag, std::string* error) {
  double value = 0;
  if (!absl::SimpleAtod(text, &value) || !(value >= 0 && value <= 1)) {
    *error = "expected a number in [0, 1]";
    return false;
  }
  flag->value = value;
  return true;
}

std::string AbslUnparseFlag(Fraction flag) { return absl::StrCat(flag.value); }

}  // namespace

using Epochs = experiments::IntIn<1, 100000>;
using BatchSize = experiments::IntIn<1, 1000000>;
// Up to 40 times Keras' 50,000: the one-hot questions and answers take 1,392 bytes a question at
// --digits=9 (2.8 GB here), and 100,000,000 asked for 139 GB.
using Examples = experiments::IntIn<10, 2000000>;
using Digits = experiments::IntIn<1, datasets::kMaxAdditionDigits>;
using Verbose = experiments::IntIn<0, 2>;

ABSL_FLAG(Epochs, epochs, Epochs{30}, "training epochs, 1 to 100000 (Keras' epochs = 30)");
ABSL_FLAG(BatchSize, batch_size, BatchSize{32}, "samples per gradient step, 1 to 1000000");
ABSL_FLAG(Examples, examples, Examples{50000},
          "distinct questions generated (Keras' TRAINING_SIZE), 10 to 2000000; a tenth of "
          "them is held out for validation");
ABSL_FLAG(Digits, digits, Digits{3},
          "the numbers have 1 to this many digits (Keras' DIGITS), 1 to 9");
ABSL_FLAG(bool, reverse, true, "the model reads the questions backwards (Keras' REVERSE)");
ABSL_FLAG(uint64_t, seed, 7,
          "random seed of the questions, the split, the weights and the shuffling (same seed, "
          "same run)");
ABSL_FLAG(Fraction, stop_at_accuracy, Fraction{0},
          "stop after the first epoch whose share of validation characters right reaches this, "
          "0 to 1 (0: train all --epochs)");
ABSL_FLAG(Verbose, verbose, Verbose{1},
          "Keras' verbose: 0 silent, 1 progress bar, 2 one line per epoch (the accuracy lines "
          "print in every case)");
ABSL_FLAG(std::string, out_dir, "",
          "where to write addition_rnn.csv and .png, the curves per epoch (default: the "
          "directory you ran from; created if only its last part is missing)");
ABSL_FLAG(std::string, save, "",
          "save the model here (Keras' HDF5 layout, saving::SaveModel) after every epoch");

namespace {

using autograd::Array;
using namespace layers;

constexpr size_t kChars = datasets::kAdditionChars.size();
constexpr size_t kShown = 10;  // Keras' `for i in range(10)`

// After every epoch: the validation questions answered (Predict) and scored per character and
// per whole answer, printed with the epoch's seconds (training and Fit's validation, before this
// callback's own Predict); with `stop_at` > 0 training stops once the characters reach it.
class AnswerAccuracy : public Callback {
 public:
  AnswerAccuracy(const Array& x, const Array& y, double stop_at)
      : x_(x), y_(y), stop_at_(stop_at) {}

  absl::Status OnEpochBegin(Model& /*model*/, size_t /*epoch*/) override {
    start_ = std::chrono::steady_clock::now();
    return absl::OkStatus();
  }

  absl::Status OnEpochEnd(Model& model, size_t epoch, const EpochLogs& /*logs*/,
                          bool& stop) override {
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    absl::StatusOr<Array> predictions = model.Predict(x_, /*batch_size=*/256);
    if (!predictions.ok()) return predictions.status();
    absl::StatusOr<datasets::AdditionScores> scores = datasets::ScoreAdditions(*predictions, y_);
    if (!scores.ok()) return scores.status();
    characters.push_back(scores->characters);
    answers.push_back(scores->answers);
    epoch_seconds.push_back(seconds);
    std::printf("Epoch %zu: validation %.2f%% of characters, %.2f%% of answers (%.1f s)\n",
                epoch + 1, 100 * scores->characters, 100 * scores->answers, seconds);
    if (stop_at_ > 0 && scores->characters >= stop_at_) {
      reached_epoch = epoch + 1;
      stop = true;
      std::printf("Reached %.2f%% of characters (--stop_at_accuracy=%g): stopping\n",
                  100 * scores->characters, stop_at_);
    }
    return absl::OkStatus();
  }

  // One value per epoch trained.
  std::vector<double> characters, answers, epoch_seconds;
  size_t reached_epoch = 0;  // the epoch (from 1) that reached stop_at; 0 if none did

 private:
  const Array& x_;
  const Array& y_;
  double stop_at_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace

int main(int argc, char** argv) {
  experiments::ParseCommandLine(
      argc, argv,
      "Learns to add numbers given as text, \"535+61\" -> \"596\": Keras' "
      "addition_rnn example.");
  const size_t epochs = static_cast<size_t>(absl::GetFlag(FLAGS_epochs).value);
  const size_t batch_size = static_cast<size_t>(absl::GetFlag(FLAGS_batch_size).value);
  const size_t training_size = static_cast<size_t>(absl::GetFlag(FLAGS_examples).value);
  const size_t digits = static_cast<size_t>(absl::GetFlag(FLAGS_digits).value);
  const bool reverse = absl::GetFlag(FLAGS_reverse);
  const uint64_t seed = absl::GetFlag(FLAGS_seed);
  const std::string save = absl::GetFlag(FLAGS_save);
  const size_t maxlen = digits + 1 + digits;
  if (training_size > datasets::MaxAdditionQuestions(digits)) {
    return experiments::ExitWithUsageError(absl::InvalidArgumentError(absl::StrFormat(
        "--examples=%d: numbers of at most --digits=%d digit(s) make only %d distinct questions",
        training_size, digits, datasets::MaxAdditionQuestions(digits))));
  }
  const std::string out_dir = experiments::OutputDirectory(absl::GetFlag(FLAGS_out_dir));
  if (absl::Status status = io::PrepareOutputDirectory(out_dir, "--out_dir"); !status.ok()) {
    return experiments::ExitWithUsageError(status);
  }
  if (!save.empty()) {
    if (absl::Status status = experiments::CheckSavePath(save); !status.ok()) {
      return experiments::ExitWithUsageError(status);
    }
  }

  std::printf("Generating data...\n");
  autograd::Rng data_rng(seed);
  absl::StatusOr<datasets::AdditionData> data =
      datasets::GenerateAdditions(training_size, digits, reverse, data_rng);
  if (!data.ok()) return experiments::ExitWithError(data.status());
  std::printf("Total questions: %zu\n", data->questions.size());
  // Shuffled, as Keras does, "as the later parts of x will almost all be larger digits", then the
  // last tenth held out.
  const datasets::AdditionSplit split = datasets::ShuffleAndSplit(*std::move(data), data_rng);
  absl::StatusOr<Array> x_train = datasets::EncodeAdditionChars(split.train.questions, maxlen);
  absl::StatusOr<Array> y_train = datasets::EncodeAdditionChars(split.train.answers, digits + 1);
  absl::StatusOr<Array> x_val = datasets::EncodeAdditionChars(split.validation.questions, maxlen);
  absl::StatusOr<Array> y_val = datasets::EncodeAdditionChars(split.validation.answers, digits + 1);
  for (const auto* array : {&x_train, &y_train, &x_val, &y_val}) {
    if (!array->ok()) return experiments::ExitWithError(array->status());
  }
  absl::PrintF("Training Data: x %s, y %s\n", autograd::ShapeString(autograd::ShapeOf(*x_train)),
               autograd::ShapeString(autograd::ShapeOf(*y_train)));
  absl::PrintF("Validation Data: x %s, y %s\n", autograd::ShapeString(autograd::ShapeOf(*x_val)),
               autograd::ShapeString(autograd::ShapeOf(*y_val)));

  Sequential model(seed);
  model.Add(LSTM(128), {maxlen, kChars});
  model.Add(RepeatVector(digits + 1));
  model.Add(LSTM(LstmOptions(128).return_sequences(true)));
  model.Add(Dense(kChars, "softmax"));
  if (absl::Status status = model.Compile("categorical_crossentropy",
                                          std::make_unique<autograd::Adam>(), {"accuracy"});
      !status.ok()) {
    return experiments::ExitWithError(status);
  }
  std::fputs(model.Summary().c_str(), stdout);

  auto accuracy =
      std::make_shared<AnswerAccuracy>(*x_val, *y_val, absl::GetFlag(FLAGS_stop_at_accuracy).value);
  std::vector<std::shared_ptr<Callback>> callbacks = {accuracy};
  if (!save.empty()) callbacks.push_back(std::make_shared<saving::ModelCheckpoint>(save));
  absl::StatusOr<History> history =
      model.Fit(*x_train, *y_train,
                FitOptions()
                    .epochs(epochs)
                    .batch_size(batch_size)
                    .verbose(static_cast<int>(absl::GetFlag(FLAGS_verbose).value))
                    .validation_x(*x_val)
                    .validation_y(*y_val)
                    .callbacks(callbacks));
  if (!history.ok()) return experiments::ExitWithError(history.status());

  // The curves: loss and accuracy (Keras' History), and the whole answers right.
  const experiments::PendingPlot plot{absl::StrCat(out_dir, "/addition_rnn.csv"),
                                      absl::StrCat(out_dir, "/addition_rnn.png"),
                                      "addition_rnn: loss and accuracy, train and validation",
                                      {{"loss", {2, 3}}, {"accuracy", {4, 5, 6}}}};
  if (absl::Status status =
          experiments::WriteCsv(plot.csv, {{"loss", history->history.at("loss")},
                                           {"val_loss", history->history.at("val_loss")},
                                           {"accuracy", history->history.at("accuracy")},
                                           {"val_accuracy", history->history.at("val_accuracy")},
                                           {"val_answer_accuracy", accuracy->answers}});
      !status.ok()) {
    return experiments::ExitWithError(status);
  }
  std::printf("Wrote %s\n", plot.csv.c_str());
  experiments::PlotOrWarn(plot);
  if (!save.empty()) std::printf("Saved the model after every epoch to %s\n", save.c_str());

  // Keras' 10 validation questions drawn at random (with replacement), decoded.
  std::vector<std::string> questions, answers;
  for (size_t i = 0; i < kShown; ++i) {
    const size_t index = data_rng.Below(split.validation.questions.size());
    questions.push_back(split.validation.questions[index]);
    answers.push_back(split.validation.answers[index]);
  }
  absl::StatusOr<Array> x_shown = datasets::EncodeAdditionChars(questions, maxlen);
  if (!x_shown.ok()) return experiments::ExitWithError(x_shown.status());
  absl::StatusOr<Array> guesses = model.Predict(*x_shown);
  if (!guesses.ok()) return experiments::ExitWithError(guesses.status());
  for (size_t i = 0; i < kShown; ++i) {
    std::string question = questions[i];
    if (reverse) std::reverse(question.begin(), question.end());
    const std::string guess = datasets::DecodeAdditionChars(*guesses, i);
    absl::PrintF("Q %s T %s %s %s\n", question, answers[i],
                 guess == answers[i] ? "\u2611" : "\u2612", guess);
  }

  const std::vector<double>& seconds = accuracy->epoch_seconds;
  double total = 0;
  for (double s : seconds) total += s;
  std::printf("Seconds per epoch: %.1f (mean of %zu)\n", total / seconds.size(), seconds.size());
  const double stop_at = absl::GetFlag(FLAGS_stop_at_accuracy).value;
  if (stop_at > 0) {
    if (accuracy->reached_epoch > 0) {
      std::printf("%.2f%% of validation characters reached after epoch %zu\n", 100 * stop_at,
                  accuracy->reached_epoch);
    } else {
      std::printf("%.2f%% of validation characters not reached in %zu epochs\n", 100 * stop_at,
                  seconds.size());
    }
  }
  std::printf("Validation accuracy: %.2f%% of characters, %.2f%% of answers\n",
              100 * accuracy->characters.back(), 100 * accuracy->answers.back());
  return 0;
}
