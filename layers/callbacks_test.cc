#include "layers/callbacks.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "layers/dense.h"
#include "layers/sequential.h"
#include "xtensor/xtensor.hpp"

namespace layers {
namespace {

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir != nullptr ? dir : "/tmp") + "/" + name;
}

std::unique_ptr<Sequential> SmallModel() {
  auto model = std::make_unique<Sequential>(3);
  model->Add(Dense(2, "tanh"), {3});
  model->Add(Dense(1, "sigmoid"));
  EXPECT_TRUE(
      model->Compile("binary_crossentropy", std::make_unique<autograd::Sgd>(), {"acc"}).ok());
  return model;
}

// Every weight set to `value`: epochs told apart by their weights.
void Fill(Sequential& model, Real value) {
  for (const LayerPtr& layer : model.layers()) {
    std::vector<Array> weights = layer->GetWeights();
    for (Array& weight : weights) weight.fill(value);
    ASSERT_TRUE(layer->SetWeights(weights).ok());
  }
}

TEST(EarlyStopping, StopsAfterPatienceAndRestoresTheBestEpoch) {
  auto model = SmallModel();
  EarlyStopping stopping("val_loss", /*patience=*/2, /*restore_best_weights=*/true);
  ASSERT_TRUE(stopping.OnTrainBegin(*model).ok());
  // val_loss by epoch: best at epoch 1 (0.5); epochs 2 and 3 do not improve: stop after 3.
  const double losses[] = {0.9, 0.5, 0.6, 0.55, 0.1};
  size_t epoch = 0;
  bool stop = false;
  for (; epoch < 5 && !stop; ++epoch) {
    Fill(*model, static_cast<Real>(epoch + 1));
    ASSERT_TRUE(stopping.OnEpochEnd(*model, epoch, {{"val_loss", losses[epoch]}}, stop).ok());
  }
  EXPECT_EQ(epoch, 4u);
  EXPECT_EQ(stopping.stopped_epoch(), 3u);
  EXPECT_EQ(stopping.best_epoch(), 1u);
  EXPECT_EQ(model->GetWeights()[0](0, 0), Real(2));  // epoch 1's weights are back
}

TEST(EarlyStopping, AccuracyIsMaximizedAndMinDeltaCounts) {
  auto model = SmallModel();
  EarlyStopping stopping("val_acc", /*patience=*/1, /*restore_best_weights=*/false, 0.01);
  ASSERT_TRUE(stopping.OnTrainBegin(*model).ok());
  bool stop = false;
  ASSERT_TRUE(stopping.OnEpochEnd(*model, 0, {{"val_acc", 0.80}}, stop).ok());
  EXPECT_FALSE(stop);
  // 0.805 is higher, but by less than min_delta: no improvement, patience 1 is used up.
  ASSERT_TRUE(stopping.OnEpochEnd(*model, 1, {{"val_acc", 0.805}}, stop).ok());
  EXPECT_TRUE(stop);
  EXPECT_EQ(stopping.best(), 0.80);
}

TEST(EarlyStopping, MissingMonitorIsAnError) {
  auto model = SmallModel();
  EarlyStopping stopping("val_loss");
  bool stop = false;
  absl::Status status = stopping.OnEpochEnd(*model, 0, {{"loss", 1.0}}, stop);
  EXPECT_EQ(status.message(),
            "EarlyStopping monitors 'val_loss', which this fit does not report (it reports: "
            "loss; val_ values need validation data)");
}

TEST(CSVLogger, OneRowPerEpochWithTheHistorysValues) {
  auto model = SmallModel();
  const Array x = Array(xt::xtensor<Real, 2>{{0, 1, 2}, {1, 0, 0}, {2, 2, 1}, {0, 0, 1}});
  const Array y = Array(xt::xtensor<Real, 2>{{1}, {0}, {1}, {0}});
  const std::string path = TempPath("log.csv");
  absl::StatusOr<History> history = model->Fit(
      x, y,
      FitOptions().epochs(3).batch_size(2).verbose(0).validation_x(x).validation_y(y).callbacks(
          {std::make_shared<CSVLogger>(path)}));
  ASSERT_TRUE(history.ok()) << history.status();
  std::ifstream file(path);
  std::string line;
  std::getline(file, line);
  EXPECT_EQ(line, "epoch,acc,loss,val_acc,val_loss");  // Keras: sorted keys
  for (int epoch = 0; epoch < 3; ++epoch) {
    ASSERT_TRUE(std::getline(file, line));
    const std::vector<std::string> fields = absl::StrSplit(line, ',');
    ASSERT_EQ(fields.size(), 5u);
    EXPECT_EQ(fields[0], std::to_string(epoch));
    const char* keys[] = {"acc", "loss", "val_acc", "val_loss"};
    for (int k = 0; k < 4; ++k) {
      double value = 0;
      ASSERT_TRUE(absl::SimpleAtod(fields[k + 1], &value));
      EXPECT_EQ(value, history->history.at(keys[k])[epoch]) << keys[k];  // exact: shortest form
    }
  }
  EXPECT_FALSE(std::getline(file, line));
}

TEST(Fit, InitialEpochSkipsTheEpochsDone) {
  auto model = SmallModel();
  const Array x = Array(xt::xtensor<Real, 2>{{0, 1, 2}, {1, 0, 0}});
  const Array y = Array(xt::xtensor<Real, 2>{{1}, {0}});
  absl::StatusOr<History> history =
      model->Fit(x, y, FitOptions().epochs(5).initial_epoch(3).verbose(0));
  ASSERT_TRUE(history.ok());
  EXPECT_EQ(history->history.at("loss").size(), 2u);
  EXPECT_EQ(model->GetTrainingState().epochs, 5);
}

// ReduceLROnPlateau on hand-made logs; the expected rates and counters are worked out by hand
// from Keras 2.11's on_epoch_end (keras/callbacks.py), step by step in the comments.
TEST(ReduceLROnPlateau, PatienceCooldownAndMinLr) {
  auto model = SmallModel();  // SGD, learning rate 0.01
  ReduceLROnPlateau reduce(
      ReduceLROnPlateauOptions().patience(2).factor(0.5).cooldown(2).min_lr(0.002));
  ASSERT_TRUE(reduce.OnTrainBegin(*model).ok());
  struct Epoch {
    double val_loss;
    Real lr;  // after the epoch
    size_t wait, cooldown;
  };
  const Epoch epochs[] = {
      {1.0, 0.01f, 0, 0},      // best 1.0
      {0.99995, 0.01f, 1, 0},  // better, but by less than min_delta 1e-4: wait 1
      {1.2, 0.005f, 0, 2},     // wait 2 = patience: 0.01 * 0.5, then 2 epochs of cooldown
      {1.3, 0.005f, 0, 1},     // cooling down: the wait stays 0
      {1.3, 0.005f, 1, 0},     // the last cooldown epoch ends before the wait counts again
      {1.3, 0.0025f, 0, 2},    // patience again: 0.005 * 0.5
      {0.5, 0.0025f, 0, 1},    // an improvement: best 0.5
      {0.6, 0.0025f, 1, 0},    //
      {0.6, 0.002f, 0, 2},     // max(0.0025 * 0.5, min_lr 0.002)
      {0.6, 0.002f, 0, 1},     //
      {0.6, 0.002f, 1, 0},     //
      {0.6, 0.002f, 2, 0},     // patience, but lr is not above min_lr: nothing, the wait grows
      {0.6, 0.002f, 3, 0},     //
  };
  bool stop = false;
  for (size_t epoch = 0; epoch < std::size(epochs); ++epoch) {
    SCOPED_TRACE(epoch);
    ASSERT_TRUE(
        reduce.OnEpochEnd(*model, epoch, {{"val_loss", epochs[epoch].val_loss}}, stop).ok());
    EXPECT_EQ(model->optimizer()->learning_rate(), epochs[epoch].lr);
    EXPECT_EQ(reduce.wait(), epochs[epoch].wait);
    EXPECT_EQ(reduce.cooldown_counter(), epochs[epoch].cooldown);
  }
  EXPECT_FALSE(stop);
  EXPECT_EQ(reduce.best(), 0.5);
}

TEST(ReduceLROnPlateau, KerasDefaultsAndAccuracyIsMaximized) {
  auto model = SmallModel();
  ReduceLROnPlateau reduce;  // monitor val_loss, factor 0.1, patience 10
  ASSERT_TRUE(reduce.OnTrainBegin(*model).ok());
  bool stop = false;
  for (size_t epoch = 0; epoch < 11; ++epoch) {
    ASSERT_TRUE(reduce.OnEpochEnd(*model, epoch, {{"val_loss", 1.0}}, stop).ok());
    // Epoch 0 sets the best; epochs 1 to 10 wait; the 10th wait reduces: float32 of
    // np.float32(0.01) * 0.1 = 0.0009999999776482583 (not 0.001f).
    EXPECT_EQ(model->optimizer()->learning_rate(), epoch < 10 ? 0.01f : 0.0009999999776482583f)
        << epoch;
  }
  // "auto" maximizes a monitor whose name contains "acc"; "min" overrides it.
  ReduceLROnPlateau accuracy(ReduceLROnPlateauOptions().monitor("val_acc").patience(1));
  ASSERT_TRUE(accuracy.OnTrainBegin(*model).ok());
  ASSERT_TRUE(accuracy.OnEpochEnd(*model, 0, {{"val_acc", 0.5}}, stop).ok());
  ASSERT_TRUE(accuracy.OnEpochEnd(*model, 1, {{"val_acc", 0.6}}, stop).ok());
  EXPECT_EQ(accuracy.best(), 0.6);
  EXPECT_EQ(accuracy.wait(), 0u);
  ReduceLROnPlateau forced(ReduceLROnPlateauOptions().monitor("val_acc").mode("min").patience(5));
  ASSERT_TRUE(forced.OnTrainBegin(*model).ok());
  ASSERT_TRUE(forced.OnEpochEnd(*model, 0, {{"val_acc", 0.5}}, stop).ok());
  ASSERT_TRUE(forced.OnEpochEnd(*model, 1, {{"val_acc", 0.6}}, stop).ok());
  EXPECT_EQ(forced.best(), 0.5);
  EXPECT_EQ(forced.wait(), 1u);
  // OnTrainBegin starts afresh (Keras' on_train_begin calls _reset).
  ASSERT_TRUE(forced.OnTrainBegin(*model).ok());
  EXPECT_EQ(forced.best(), INFINITY);
  EXPECT_EQ(forced.wait(), 0u);
}

TEST(ReduceLROnPlateau, PrintsKerasMessageWithTheRateAsPythonPrintsIt) {
  // The expected strings are NumPy 1.24's: f"{np.float32(0.001) * 0.1}" (Keras reads the rate as
  // float32 and multiplies by a Python float), f"{max(np.float32(2e-5) * 0.1, 1e-05)}" and
  // f"{max(np.float32(2e-4) * 0.1, 0.0001)}".
  auto model = std::make_unique<Sequential>(3);
  model->Add(Dense(1, "sigmoid"), {3});
  ASSERT_TRUE(model->Compile("binary_crossentropy", std::make_unique<autograd::Adam>()).ok());
  ReduceLROnPlateau reduce(ReduceLROnPlateauOptions().patience(1).verbose(1));
  ASSERT_TRUE(reduce.OnTrainBegin(*model).ok());
  bool stop = false;
  ASSERT_TRUE(reduce.OnEpochEnd(*model, 3, {{"val_loss", 1.0}}, stop).ok());
  testing::internal::CaptureStdout();
  ASSERT_TRUE(reduce.OnEpochEnd(*model, 4, {{"val_loss", 1.0}}, stop).ok());
  EXPECT_EQ(testing::internal::GetCapturedStdout(),
            "\nEpoch 5: ReduceLROnPlateau reducing learning rate to 0.00010000000474974513.\n");
  ASSERT_TRUE(model->optimizer()->SetLearningRate(2e-5f).ok());
  ReduceLROnPlateau floor(ReduceLROnPlateauOptions().patience(0).verbose(1).min_lr(1e-5));
  ASSERT_TRUE(floor.OnTrainBegin(*model).ok());
  testing::internal::CaptureStdout();
  ASSERT_TRUE(floor.OnEpochEnd(*model, 0, {{"val_loss", 1.0}}, stop).ok());  // the best
  ASSERT_TRUE(floor.OnEpochEnd(*model, 1, {{"val_loss", 1.0}}, stop).ok());
  EXPECT_EQ(testing::internal::GetCapturedStdout(),
            "\nEpoch 2: ReduceLROnPlateau reducing learning rate to 1e-05.\n");
  EXPECT_EQ(model->optimizer()->learning_rate(), 1e-5f);
  // Python writes 0.0001 in fixed notation (C++'s shortest form would be 1e-04).
  ASSERT_TRUE(model->optimizer()->SetLearningRate(2e-4f).ok());
  ReduceLROnPlateau fixed(ReduceLROnPlateauOptions().patience(0).verbose(1).min_lr(1e-4));
  ASSERT_TRUE(fixed.OnTrainBegin(*model).ok());
  testing::internal::CaptureStdout();
  ASSERT_TRUE(fixed.OnEpochEnd(*model, 0, {{"val_loss", 1.0}}, stop).ok());
  ASSERT_TRUE(fixed.OnEpochEnd(*model, 1, {{"val_loss", 1.0}}, stop).ok());
  EXPECT_EQ(testing::internal::GetCapturedStdout(),
            "\nEpoch 2: ReduceLROnPlateau reducing learning rate to 0.0001.\n");
  // Quiet by default.
  ReduceLROnPlateau quiet(ReduceLROnPlateauOptions().patience(0));
  ASSERT_TRUE(model->optimizer()->SetLearningRate(0.01f).ok());
  ASSERT_TRUE(quiet.OnTrainBegin(*model).ok());
  testing::internal::CaptureStdout();
  ASSERT_TRUE(quiet.OnEpochEnd(*model, 0, {{"val_loss", 1.0}}, stop).ok());
  ASSERT_TRUE(quiet.OnEpochEnd(*model, 1, {{"val_loss", 1.0}}, stop).ok());
  EXPECT_EQ(testing::internal::GetCapturedStdout(), "");
  // Quiet reduced 0.01 to float32(0.01 * 0.1); loud reduces that once more:
  // f"{np.float32(np.float32(0.01) * 0.1) * 0.1}", Python's scientific form with many digits.
  ReduceLROnPlateau loud(ReduceLROnPlateauOptions().patience(0).verbose(1));
  ASSERT_TRUE(loud.OnTrainBegin(*model).ok());
  testing::internal::CaptureStdout();
  ASSERT_TRUE(loud.OnEpochEnd(*model, 0, {{"val_loss", 1.0}}, stop).ok());
  ASSERT_TRUE(loud.OnEpochEnd(*model, 1, {{"val_loss", 1.0}}, stop).ok());
  EXPECT_EQ(testing::internal::GetCapturedStdout(),
            "\nEpoch 2: ReduceLROnPlateau reducing learning rate to 9.999999310821295e-05.\n");
}

TEST(ReduceLROnPlateau, BadOptionsAndAMissingMonitorAreErrors) {
  auto model = SmallModel();
  bool stop = false;
  EXPECT_EQ(
      ReduceLROnPlateau(ReduceLROnPlateauOptions().factor(1.0)).OnTrainBegin(*model).message(),
      "ReduceLROnPlateau: factor expected (in [0, 1): new_lr = lr * factor), got (1)");
  EXPECT_EQ(ReduceLROnPlateau(ReduceLROnPlateauOptions().mode("sideways"))
                .OnEpochEnd(*model, 0, {{"val_loss", 1.0}}, stop)
                .message(),
            "ReduceLROnPlateau: mode expected (\"auto\", \"min\" or \"max\"), got (\"sideways\")");
  EXPECT_EQ(ReduceLROnPlateau(ReduceLROnPlateauOptions().min_lr(-1)).OnTrainBegin(*model).message(),
            "ReduceLROnPlateau: min_lr expected (a finite number >= 0), got (-1)");
  EXPECT_EQ(ReduceLROnPlateau().OnEpochEnd(*model, 0, {{"loss", 1.0}}, stop).message(),
            "ReduceLROnPlateau monitors 'val_loss', which this fit does not report (it reports: "
            "loss; val_ values need validation data)");
  Sequential uncompiled(1);
  uncompiled.Add(Dense(1), {2});
  EXPECT_EQ(ReduceLROnPlateau().OnTrainBegin(uncompiled).message(),
            "ReduceLROnPlateau: the model has no optimizer: compile it first");
}

TEST(ReduceLROnPlateau, ChangesTheRateDuringFit) {
  // min_delta 10: no epoch after the first improves, so with patience 1 every later epoch
  // divides the rate by 10 (0.01 -> 0.001 -> 0.0001, as float32).
  auto model = SmallModel();
  const Array x = Array(xt::xtensor<Real, 2>{{0, 1, 2}, {1, 0, 0}, {2, 2, 1}, {0, 0, 1}});
  const Array y = Array(xt::xtensor<Real, 2>{{1}, {0}, {1}, {0}});
  auto reduce = std::make_shared<ReduceLROnPlateau>(
      ReduceLROnPlateauOptions().monitor("loss").patience(1).min_delta(10));
  ASSERT_TRUE(
      model->Fit(x, y, FitOptions().epochs(3).batch_size(2).verbose(0).callbacks({reduce})).ok());
  // NumPy: np.float32(np.float32(np.float32(0.01) * 0.1) * 0.1) = 9.999999310821295e-05.
  EXPECT_EQ(model->optimizer()->learning_rate(), 9.999999310821295e-05f);
}

}  // namespace
}  // namespace layers
