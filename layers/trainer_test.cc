// The trainer's options beyond the batches: validation_split, sample_weight and class_weight, as
// tf.keras 2 defines them; references by hand or from training on the data cut by hand.
#include <gtest/gtest.h>

#include "layers/dense.h"
#include "layers/sequential.h"
#include "xtensor/xview.hpp"

namespace layers {
namespace {

Array Data(size_t rows, size_t columns, uint64_t seed) {
  Rng rng(seed);
  Array out = Array::from_shape({rows, columns});
  for (Real& value : out) value = static_cast<Real>(rng.Uniform() * 2 - 1);
  return out;
}

std::unique_ptr<Sequential> Linear(double learning_rate) {
  auto model = std::make_unique<Sequential>(/*seed=*/3);
  model->Add(Dense(1), {3});
  autograd::SgdOptions sgd;
  sgd.learning_rate = static_cast<Real>(learning_rate);
  EXPECT_TRUE(model->Compile("mse", std::make_unique<autograd::Sgd>(sgd)).ok());
  return model;
}

Array Rows(const Array& data, size_t begin, size_t end) {
  return xt::view(data, xt::range(begin, end), xt::all());
}

// Keras: the last 30% of 10 samples (floor(10 * 0.7) = 7 train) are held out before shuffling.
TEST(Trainer, ValidationSplitHoldsOutTheLastSamples) {
  const Array x = Data(10, 3, 1), y = Data(10, 1, 2);
  auto split = Linear(0.1), by_hand = Linear(0.1);
  absl::StatusOr<History> a = split->Fit(
      x, y, FitOptions().epochs(2).batch_size(4).verbose(0).validation_split(0.3));
  absl::StatusOr<History> b = by_hand->Fit(
      Rows(x, 0, 7), Rows(y, 0, 7),
      FitOptions().epochs(2).batch_size(4).verbose(0).validation_x(Rows(x, 7, 10)).validation_y(
          Rows(y, 7, 10)));
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(a->history, b->history);
  EXPECT_EQ(a->history.at("val_loss").size(), 2u);
  EXPECT_EQ(split->GetWeights()[0], by_hand->GetWeights()[0]);
  absl::StatusOr<Scores> held_out = split->Evaluate(Rows(x, 7, 10), Rows(y, 7, 10));
  ASSERT_TRUE(held_out.ok());
  EXPECT_EQ(held_out->loss, a->history.at("val_loss")[1]);

  EXPECT_EQ(Linear(0.1)->Fit(x, y, FitOptions().validation_split(1.0)).status().message(),
            "fit: validation_split must be in [0, 1), got 1");
  EXPECT_EQ(Linear(0.1)->Fit(Rows(x, 0, 1), Rows(y, 0, 1), FitOptions().validation_split(0.5))
                .status()
                .message(),
            "fit: validation_split 0.5 of 1 samples leaves nothing to train on: use more samples "
            "or another split");
}

// The weighted loss by hand: sum_i w_i (p_i - y_i)^2 / n, n counting every sample.
TEST(Trainer, SampleWeightScalesEachSamplesLoss) {
  const Array x = Data(4, 3, 3), y = Data(4, 1, 4);
  auto model = Linear(0.0);  // learning rate 0: the loss of the weights as they are
  absl::StatusOr<Array> p = model->Predict(x);
  ASSERT_TRUE(p.ok());
  const Array weights = {0.5f, 2.0f, 0.0f, 1.0f};
  double expected = 0;
  for (size_t i = 0; i < 4; ++i) expected += weights(i) * std::pow((*p)(i, 0) - y(i, 0), 2) / 4;
  absl::StatusOr<History> history =
      model->Fit(x, y, FitOptions().batch_size(4).verbose(0).sample_weight(weights));
  ASSERT_TRUE(history.ok()) << history.status();
  EXPECT_NEAR(history->history.at("loss")[0], expected, 1e-6);

  // Weights 2, 2, 0, 0 over 4 samples train as the first 2 samples alone: the same mean gradient.
  auto weighted = Linear(0.1), alone = Linear(0.1);
  ASSERT_TRUE(weighted
                  ->Fit(x, y,
                        FitOptions().batch_size(4).verbose(0).shuffle(false).sample_weight(
                            Array{2.0f, 2.0f, 0.0f, 0.0f}))
                  .ok());
  ASSERT_TRUE(alone->Fit(Rows(x, 0, 2), Rows(y, 0, 2), FitOptions().batch_size(4).verbose(0)).ok());
  const Array kernel_a = weighted->GetWeights()[0], kernel_b = alone->GetWeights()[0];
  for (size_t k = 0; k < 3; ++k) EXPECT_NEAR(kernel_a(k, 0), kernel_b(k, 0), 1e-6);
  EXPECT_NE(kernel_a(0, 0), Linear(0.1)->GetWeights()[0](0, 0));  // it did move

  EXPECT_EQ(Linear(0.1)->Fit(x, y, FitOptions().sample_weight(Array{1.0f, 1.0f})).status().message(),
            "fit: sample_weight has shape (2), but x has 4 samples: give one weight per sample, "
            "[samples]");
  EXPECT_EQ(Linear(0.1)
                ->Fit(x, y, FitOptions().sample_weight(Array{1.0f, -1.0f, 1.0f, 1.0f}))
                .status()
                .message(),
            "fit: sample_weight[1] is -1: weights must be finite and >= 0");
}

// class_weight {0: 1, 1: 3} on binary targets is sample_weight 1 or 3 by each sample's class.
TEST(Trainer, ClassWeightIsSampleWeightByClass) {
  const Array x = Data(6, 3, 5);
  Array y = Array::from_shape({6, 1});
  for (size_t i = 0; i < 6; ++i) y(i, 0) = static_cast<Real>(i == 1 || i == 2 || i == 4);
  auto by_class = Linear(0.1), by_sample = Linear(0.1);
  absl::StatusOr<History> a =
      by_class->Fit(x, y, FitOptions().epochs(2).batch_size(3).verbose(0).class_weight({1, 3}));
  absl::StatusOr<History> b = by_sample->Fit(
      x, y,
      FitOptions().epochs(2).batch_size(3).verbose(0).sample_weight(
          Array{1.0f, 3.0f, 3.0f, 1.0f, 3.0f, 1.0f}));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->history, b->history);
  EXPECT_EQ(by_class->GetWeights()[0], by_sample->GetWeights()[0]);
  EXPECT_EQ(Linear(0.1)->Fit(x, y, FitOptions().class_weight({1})).status().message(),
            "fit: sample 1 is of class 1, but class_weight gives weights for classes 0 to 0: "
            "give one weight per class");
}

// sparse_categorical_crossentropy on class indices trains as categorical_crossentropy on their
// one-hot rows (the same loss, the same accuracy), and takes [samples] or [samples, 1] targets.
TEST(Trainer, SparseTargetsTrainAsOneHot) {
  const Array x = Data(6, 3, 7);
  Array labels = Array::from_shape({6});
  Array one_hot = xt::zeros<Real>({size_t{6}, size_t{3}});
  for (size_t i = 0; i < 6; ++i) {
    labels(i) = static_cast<Real>(i % 3);
    one_hot(i, i % 3) = 1;
  }
  const auto model = [](const std::string& loss) {
    auto m = std::make_unique<Sequential>(/*seed=*/2);
    m->Add(Dense(3, "softmax"), {3});
    EXPECT_TRUE(m->Compile(loss, std::make_unique<autograd::Adam>(), {"acc"}).ok());
    return m;
  };
  auto sparse = model("sparse_categorical_crossentropy"), dense = model("categorical_crossentropy");
  const FitOptions options = FitOptions().epochs(3).batch_size(2).verbose(0);
  absl::StatusOr<History> a = sparse->Fit(x, labels, options);
  absl::StatusOr<History> b = dense->Fit(x, one_hot, options);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  for (const char* key : {"loss", "acc"}) {
    for (size_t e = 0; e < 3; ++e) {
      EXPECT_NEAR(a->history.at(key)[e], b->history.at(key)[e], 1e-6) << key << " epoch " << e;
    }
  }
  Array column = labels;
  column.reshape({6, 1});
  EXPECT_TRUE(model("sparse_categorical_crossentropy")->Evaluate(x, column).ok());
  EXPECT_FALSE(model("sparse_categorical_crossentropy")->Evaluate(x, one_hot).ok());
}

}  // namespace
}  // namespace layers
