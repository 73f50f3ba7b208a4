#include "saving/model_checkpoint.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "layers/dense.h"
#include "layers/sequential.h"
#include "saving/model_file.h"

namespace saving {
namespace {

using layers::Dense;
using layers::Sequential;

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

TEST(ModelCheckpoint, AccuracyIsMaximizedAndEveryEpochSavesWithoutSaveBestOnly) {
  auto model = SmallModel();
  ModelCheckpoint best(TempPath("acc-{epoch}.h5"), "val_acc", /*save_best_only=*/true);
  ModelCheckpoint every(TempPath("every-{epoch}.h5"), "val_acc");
  bool stop = false;
  const double accuracies[] = {0.5, 0.4, 0.6};
  for (size_t epoch = 0; epoch < 3; ++epoch) {
    ASSERT_TRUE(best.OnEpochEnd(*model, epoch, {{"val_acc", accuracies[epoch]}}, stop).ok());
    ASSERT_TRUE(every.OnEpochEnd(*model, epoch, {{"loss", 1.0}}, stop).ok());
  }
  EXPECT_EQ(access(TempPath("acc-1.h5").c_str(), F_OK), 0);
  EXPECT_NE(access(TempPath("acc-2.h5").c_str(), F_OK), 0);
  EXPECT_EQ(access(TempPath("acc-3.h5").c_str(), F_OK), 0);
  for (const char* name : {"every-1.h5", "every-2.h5", "every-3.h5"}) {
    EXPECT_EQ(access(TempPath(name).c_str(), F_OK), 0) << name;
  }
  EXPECT_TRUE(every.writes_files());  // data-parallel: rank 0 only
}

TEST(ModelCheckpoint, MissingMonitorIsAnError) {
  auto model = SmallModel();
  ModelCheckpoint checkpoint(TempPath("never.h5"), "val_loss", /*save_best_only=*/true);
  bool stop = false;
  EXPECT_EQ(checkpoint.OnEpochEnd(*model, 0, {{"loss", 0.5}}, stop).message(),
            "ModelCheckpoint monitors 'val_loss', which this fit does not report (it reports: "
            "loss; val_ values need validation data)");
  EXPECT_NE(access(TempPath("never.h5").c_str(), F_OK), 0);
}

}  // namespace
}  // namespace saving
