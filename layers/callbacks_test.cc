#include "layers/callbacks.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "layers/dense.h"
#include "layers/saving.h"
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

TEST(ModelCheckpoint, SavesOnlyImprovementsUnderTheEpochsName) {
  auto model = SmallModel();
  const std::string pattern = TempPath("checkpoint-{epoch:02d}.h5");
  ModelCheckpoint checkpoint(pattern, "val_loss", /*save_best_only=*/true);
  bool stop = false;
  const double losses[] = {0.7, 0.8, 0.6};
  for (size_t epoch = 0; epoch < 3; ++epoch) {
    ASSERT_TRUE(checkpoint.OnEpochEnd(*model, epoch, {{"val_loss", losses[epoch]}}, stop).ok());
  }
  EXPECT_EQ(access(TempPath("checkpoint-01.h5").c_str(), F_OK), 0);
  EXPECT_NE(access(TempPath("checkpoint-02.h5").c_str(), F_OK), 0);
  EXPECT_EQ(access(TempPath("checkpoint-03.h5").c_str(), F_OK), 0);
  EXPECT_TRUE(LoadModel(TempPath("checkpoint-03.h5")).ok());
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

}  // namespace
}  // namespace layers
