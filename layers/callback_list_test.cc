// The training loop's side jobs as callbacks: the hooks in Keras' order, History, TerminateOnNaN
// and the progress bar, driven by a real Fit.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "layers/callbacks.h"
#include "layers/dense.h"
#include "layers/sequential.h"
#include "xtensor/xtensor.hpp"
#include "xtensor/xview.hpp"

namespace layers {
namespace {

std::unique_ptr<Sequential> SmallModel() {
  auto model = std::make_unique<Sequential>(3);
  model->Add(Dense(2, "tanh"), {3});
  model->Add(Dense(1, "sigmoid"));
  EXPECT_TRUE(model
                  ->Compile("binary_crossentropy",
                            std::make_unique<autograd::Sgd>(autograd::SgdOptions{Real(0.5)}),
                            {"acc"})
                  .ok());
  return model;
}

// Ten samples: batches of 4 are rows 0-3, 4-7 and 8-9.
Array Inputs() {
  Array x = Array::from_shape({10, 3});
  for (size_t i = 0; i < x.size(); ++i) x.data()[i] = std::sin(0.7 * static_cast<double>(i));
  return x;
}

Array Targets() {
  Array y = Array::from_shape({10, 1});
  for (size_t i = 0; i < 10; ++i) y(i, 0) = static_cast<Real>(i % 3 == 0);
  return y;
}

// Writes down every hook it sees; BeforeUpdate fails at `fail_at` (epoch, batch) when set.
class Recorder : public Callback {
 public:
  void SetParams(const FitParams& params) override {
    events.push_back(absl::StrFormat("params %d %d %s", params.epochs, params.samples,
                                     absl::StrJoin(params.keys, ",")));
  }
  absl::Status OnTrainBegin(Model&) override { return Add("train_begin"); }
  absl::Status OnEpochBegin(Model&, size_t epoch) override {
    epoch_ = epoch;
    return Add(absl::StrFormat("epoch_begin %d", epoch));
  }
  absl::Status BeforeUpdate(Model&, size_t batch, double) override {
    if (fail_at && fail_at->first == epoch_ && fail_at->second == batch) {
      return absl::AbortedError("stop here");
    }
    return Add(absl::StrFormat("update %d", batch));
  }
  absl::Status OnTrainBatchEnd(Model&, const BatchEnd& batch) override {
    last_batch_logs = batch.logs();
    return Add(absl::StrFormat("batch_end %d %d", batch.batch, batch.samples_seen));
  }
  absl::Status OnEpochEnd(Model&, size_t epoch, const EpochLogs& logs, bool&) override {
    std::vector<std::string> keys;
    for (const auto& [key, value] : logs) keys.push_back(key);
    epoch_logs.push_back(logs);
    return Add(absl::StrFormat("epoch_end %d %s", epoch, absl::StrJoin(keys, ",")));
  }
  absl::Status OnTrainEnd(Model&) override { return Add("train_end"); }
  void OnTrainError(Model&, const absl::Status& error) override {
    events.push_back("error " + std::string(error.message()));
  }

  std::vector<std::string> events;
  std::vector<EpochLogs> epoch_logs;
  EpochLogs last_batch_logs;
  std::optional<std::pair<size_t, size_t>> fail_at;

 private:
  absl::Status Add(std::string event) {
    events.push_back(std::move(event));
    return absl::OkStatus();
  }
  size_t epoch_ = 0;
};

TEST(CallbackList, FitCallsEveryHookInKerasOrder) {
  auto model = SmallModel();
  auto recorder = std::make_shared<Recorder>();
  absl::StatusOr<History> history = model->Fit(
      Inputs(), Targets(),
      FitOptions().epochs(2).batch_size(4).verbose(0).shuffle(false).callbacks({recorder}));
  ASSERT_TRUE(history.ok()) << history.status();
  const std::vector<std::string> expected = {
      "params 2 10 loss,acc",  //
      "train_begin",           //
      "epoch_begin 0",         //
      "update 0",
      "batch_end 0 4",  //
      "update 1",
      "batch_end 1 8",  //
      "update 2",
      "batch_end 2 10",        //
      "epoch_end 0 acc,loss",  //
      "epoch_begin 1",         //
      "update 0",
      "batch_end 0 4",  //
      "update 1",
      "batch_end 1 8",  //
      "update 2",
      "batch_end 2 10",        //
      "epoch_end 1 acc,loss",  //
      "train_end",
  };
  EXPECT_EQ(recorder->events, expected);
  // The last batch's running logs are the epoch's (no validation), and History holds the
  // epochs' logs as the callbacks saw them.
  EXPECT_EQ(recorder->last_batch_logs, recorder->epoch_logs[1]);
  ASSERT_EQ(history->history["loss"].size(), 2u);
  for (size_t epoch = 0; epoch < 2; ++epoch) {
    EXPECT_EQ(history->history["loss"][epoch], recorder->epoch_logs[epoch].at("loss"));
    EXPECT_EQ(history->history["acc"][epoch], recorder->epoch_logs[epoch].at("acc"));
  }
  EXPECT_EQ(history->epoch, (std::vector<size_t>{0, 1}));
}

TEST(CallbackList, AnErrorBeforeTheUpdateKeepsTheWeightsOfTheBatchesBefore) {
  // Stopped at the second batch: the weights are those after the first batch alone.
  auto stopped = SmallModel();
  auto recorder = std::make_shared<Recorder>();
  recorder->fail_at = std::make_pair(size_t{0}, size_t{1});
  absl::StatusOr<History> history = stopped->Fit(
      Inputs(), Targets(),
      FitOptions().epochs(2).batch_size(4).verbose(0).shuffle(false).callbacks({recorder}));
  ASSERT_FALSE(history.ok());
  EXPECT_EQ(history.status().message(), "fit: epoch 1, batch 2 (samples 4 to 7): stop here");
  EXPECT_EQ(recorder->events.back(), "error fit: epoch 1, batch 2 (samples 4 to 7): stop here");

  auto one_batch = SmallModel();
  const Array x = Inputs(), y = Targets();
  ASSERT_TRUE(one_batch
                  ->TrainOnBatch(Array(xt::view(x, xt::range(0, 4), xt::all())),
                                 Array(xt::view(y, xt::range(0, 4), xt::all())))
                  .ok());
  const std::vector<Array> expected = one_batch->GetWeights(), got = stopped->GetWeights();
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i], expected[i]) << "weight " << i;
  // The untouched model differs: the first batch did update.
  EXPECT_NE(SmallModel()->GetWeights()[0], got[0]);
}

TEST(History, CountsTheEpochsFromInitialEpoch) {
  auto model = SmallModel();
  absl::StatusOr<History> history =
      model->Fit(Inputs(), Targets(), FitOptions().epochs(3).initial_epoch(1).verbose(0));
  ASSERT_TRUE(history.ok()) << history.status();
  EXPECT_EQ(history->epoch, (std::vector<size_t>{1, 2}));
  EXPECT_EQ(history->history["loss"].size(), 2u);
  EXPECT_EQ(history->history.size(), 2u);  // loss, acc
}

TEST(TerminateOnNaN, RefusesNanAndInfinitiesOnly) {
  auto model = SmallModel();
  TerminateOnNaN terminate;
  EXPECT_TRUE(terminate.BeforeUpdate(*model, 0, 0.7).ok());
  EXPECT_TRUE(terminate.BeforeUpdate(*model, 0, 1e308).ok());
  for (double loss :
       {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity()}) {
    absl::Status status = terminate.BeforeUpdate(*model, 3, loss);
    EXPECT_EQ(status.code(), absl::StatusCode::kOutOfRange);
    EXPECT_NE(status.message().find("(TerminateOnNaN) before this batch's update"),
              std::string::npos)
        << status;
  }
}

// Runs `fit` with standard output in an anonymous temporary file; returns what was printed.
template <typename Fit>
std::string Printed(Fit fit) {
  std::fflush(stdout);
  const int saved = dup(1);
  FILE* file = std::tmpfile();
  dup2(fileno(file), 1);
  fit();
  std::fflush(stdout);
  dup2(saved, 1);
  close(saved);
  std::string printed;
  std::rewind(file);
  for (int c; (c = std::fgetc(file)) != EOF;) printed += static_cast<char>(c);
  std::fclose(file);
  return printed;
}

TEST(ProgbarLogger, VerboseTwoPrintsOneLinePerEpochAsKeras) {
  auto model = SmallModel();
  absl::StatusOr<History> history;
  const std::string printed = Printed(
      [&] { history = model->Fit(Inputs(), Targets(), FitOptions().epochs(2).verbose(2)); });
  ASSERT_TRUE(history.ok()) << history.status();
  std::string expected;
  for (size_t epoch = 0; epoch < 2; ++epoch) {
    expected += absl::StrFormat("Epoch %d/2\n - 0s - loss: %.4f - acc: %.4f\n", epoch + 1,
                                history->history["loss"][epoch], history->history["acc"][epoch]);
  }
  EXPECT_EQ(printed, expected);
}

TEST(ProgbarLogger, VerboseOneOffATerminalEndsEachEpochWithTheBarLine) {
  auto model = SmallModel();
  absl::StatusOr<History> history;
  const std::string printed = Printed([&] {
    history = model->Fit(Inputs(), Targets(), FitOptions().epochs(1).batch_size(4).verbose(1));
  });
  ASSERT_TRUE(history.ok()) << history.status();
  // Plain lines at each tenth of the epoch passed (4 and 8 of 10 samples), then the bar.
  const std::vector<std::string> lines = absl::StrSplit(printed, '\n');
  ASSERT_EQ(lines.size(), 5u) << printed;
  EXPECT_EQ(lines[0], "Epoch 1/1");
  EXPECT_EQ(lines[1].rfind(" 4/10 - ETA: ", 0), 0u) << lines[1];
  EXPECT_EQ(lines[2].rfind(" 8/10 - ETA: ", 0), 0u) << lines[2];
  EXPECT_EQ(lines[3].rfind("10/10 [==============================] - 0s ", 0), 0u) << lines[3];
  EXPECT_NE(lines[3].find(absl::StrFormat("ms/step - loss: %.4f - acc: %.4f",
                                          history->history["loss"][0], history->history["acc"][0])),
            std::string::npos)
      << lines[3];
  EXPECT_EQ(lines[4], "");
}

}  // namespace
}  // namespace layers
