#include "layers/sequential.h"

#include <gtest/gtest.h>

#include <limits>

#include "datasets/cumsum.h"
#include "layers/convolutional.h"
#include "layers/dense.h"
#include "layers/embedding.h"
#include "layers/recurrent.h"
#include "xtensor/xtensor.hpp"

namespace layers {
namespace {

std::unique_ptr<Sequential> BiLstmModel(uint64_t seed, const std::string& mode = "concat") {
  auto model = std::make_unique<Sequential>(seed);
  model->Add(Bidirectional(LSTM(LstmOptions(20).return_sequences(true)), mode), {10, 1});
  model->Add(TimeDistributed(Dense(1, "sigmoid")));
  EXPECT_TRUE(
      model->Compile("binary_crossentropy", std::make_unique<autograd::Adam>(), {"acc"}).ok());
  return model;
}

TEST(Sequential, SummaryIsKerasTable) {
  // Keras 2.3 prints exactly this for the tutorial's BiLSTM model (columns end at 29, 55, 65).
  const std::string expected =
      "Model: \"sequential\"\n"
      "_________________________________________________________________\n"
      "Layer (type)                 Output Shape              Param #   \n"
      "=================================================================\n"
      "bidirectional (Bidirectional (None, 10, 40)            3520      \n"
      "_________________________________________________________________\n"
      "time_distributed (TimeDistri (None, 10, 1)             41        \n"
      "=================================================================\n"
      "Total params: 3,561\n"
      "Trainable params: 3,561\n"
      "Non-trainable params: 0\n"
      "_________________________________________________________________\n";
  EXPECT_EQ(BiLstmModel(0)->Summary(), expected);
}

TEST(Sequential, KerasNamesForRepeatedLayers) {
  Sequential model;
  model.Add(LSTM(LstmOptions(4).return_sequences(true)), {5, 2});
  model.Add(LSTM(4));
  model.Add(Dense(1));
  EXPECT_EQ(model.layer(0).name(), "lstm");
  EXPECT_EQ(model.layer(1).name(), "lstm_1");
  EXPECT_EQ(model.layer(2).name(), "dense");
}

TEST(Sequential, TrainingLowersTheLoss) {
  auto model = BiLstmModel(1);
  Rng data(2);
  double early = 0, late = 0;
  for (int epoch = 0; epoch < 300; ++epoch) {
    const datasets::Sequence s = datasets::GetSequence(10, data);
    absl::StatusOr<History> history =
        model->Fit(s.x, s.y, FitOptions().epochs(1).batch_size(1).verbose(0));
    ASSERT_TRUE(history.ok()) << history.status().message();
    const double loss = history->history.at("loss")[0];
    if (epoch < 30) early += loss / 30;
    if (epoch >= 270) late += loss / 30;
  }
  EXPECT_LT(late, 0.6 * early) << "early " << early << " late " << late;
  // Accuracy on fresh sequences is well above chance.
  Array x = Array::from_shape({50, 10, 1}), y = Array::from_shape({50, 10, 1});
  for (size_t i = 0; i < 50; ++i) {
    const datasets::Sequence s = datasets::GetSequence(10, data);
    std::copy(s.x.begin(), s.x.end(), x.begin() + i * 10);
    std::copy(s.y.begin(), s.y.end(), y.begin() + i * 10);
  }
  absl::StatusOr<Scores> scores = model->Evaluate(x, y);
  ASSERT_TRUE(scores.ok());
  EXPECT_GT(scores->accuracy, 0.8);
}

TEST(Sequential, SameSeedSameNumbers) {
  auto first = BiLstmModel(5), second = BiLstmModel(5);
  Rng data_a(9), data_b(9);
  for (int epoch = 0; epoch < 5; ++epoch) {
    const datasets::Sequence a = datasets::GetSequence(10, data_a);
    const datasets::Sequence b = datasets::GetSequence(10, data_b);
    const double loss_a = first->TrainOnBatch(a.x, a.y)->loss;
    const double loss_b = second->TrainOnBatch(b.x, b.y)->loss;
    EXPECT_EQ(loss_a, loss_b);
  }
}

TEST(Sequential, PredictRecordsNothingAndPredictClassesThresholds) {
  auto model = BiLstmModel(3);
  Rng data(4);
  const datasets::Sequence s = datasets::GetSequence(10, data);
  absl::StatusOr<Array> p = model->Predict(s.x);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(autograd::CurrentTape().size(), 0u);
  absl::StatusOr<Array> classes = model->PredictClasses(s.x);
  ASSERT_TRUE(classes.ok());
  for (size_t t = 0; t < 10; ++t) {
    EXPECT_EQ((*classes)(0, t, 0), (*p)(0, t, 0) > 0.5f ? 1.0f : 0.0f);
  }
}

TEST(Sequential, BinaryCrossentropyOnSigmoidUsesTheLogits) {
  // As tf.keras: a confident wrong prediction (z = 20, y = 0) costs 20 + log(1 + e^-20), not the
  // clipped -log(1e-7) = 15.9.
  Sequential model;
  model.Add(Dense(1, "sigmoid"), {1});
  ASSERT_TRUE(model.Compile("binary_crossentropy", std::make_unique<autograd::Adam>()).ok());
  ASSERT_TRUE(model.layer(0).SetWeights({Array(xt::ones<Real>({1, 1})) * 20.0f, Array{0.0f}}).ok());
  absl::StatusOr<Scores> scores = model.Evaluate(xt::ones<Real>({1, 1}), xt::zeros<Real>({1, 1}));
  ASSERT_TRUE(scores.ok());
  EXPECT_NEAR(scores->loss, 20 + std::log1p(std::exp(-20.0)), 1e-4);
}

TEST(Sequential, ClearErrors) {
  auto model = BiLstmModel(0);
  const Array wrong = xt::zeros<Real>({1, 5, 1});
  EXPECT_EQ(model->Fit(wrong, wrong).status().message(),
            "fit: x has shape (1, 5, 1) but model 'sequential' expects (None, 10, 1)");
  const Array x = xt::zeros<Real>({2, 10, 1});
  EXPECT_EQ(model->Fit(x, wrong).status().message(),
            "fit: y has shape (1, 5, 1) but the model's output for x is (2, 10, 1)");

  Sequential no_shape;
  no_shape.Add(LSTM(3));
  EXPECT_NE(no_shape.Compile("mse", std::make_unique<autograd::Adam>())
                .message()
                .find("needs an input shape"),
            std::string::npos);

  // A zero-length axis is named as such, not as a missing shape or a later layer's complaint.
  Sequential zero_steps;
  zero_steps.Add(Embedding(10, 4, 0), {0});
  zero_steps.Add(LSTM(3));
  EXPECT_EQ(zero_steps.Compile("mse", std::make_unique<autograd::Adam>()).message(),
            "model 'sequential': the input shape (None, 0) has an axis of length 0: the first "
            "layer 'embedding' needs at least one step and one feature (did the data come out "
            "empty, every sequence of length 0?)");
  Sequential zero_features;
  zero_features.Add(LSTM(3), {5, 0});
  EXPECT_NE(zero_features.Compile("mse", std::make_unique<autograd::Adam>())
                .message()
                .find("the input shape (None, 5, 0) has an axis of length 0"),
            std::string::npos);
  Sequential any_length;  // input_length 0: any length, so no shape
  any_length.Add(Embedding(10, 4, 0));
  any_length.Add(LSTM(3));
  EXPECT_EQ(any_length.Compile("mse", std::make_unique<autograd::Adam>()).message(),
            "model 'sequential': the first layer 'embedding' needs an input shape (Add(layer, "
            "{time, features})); an Embedding's input_length of 0 means any length and implies "
            "no shape");

  Sequential bad_loss;
  bad_loss.Add(Dense(1), {3});
  EXPECT_NE(bad_loss.Compile("hinge", std::make_unique<autograd::Adam>())
                .message()
                .find("unknown loss 'hinge'"),
            std::string::npos);

  Sequential mismatch;  // an LSTM cannot follow a layer that dropped the time axis
  mismatch.Add(LSTM(3), {10, 1});
  mismatch.Add(LSTM(3));
  EXPECT_EQ(mismatch.Compile("mse", std::make_unique<autograd::Adam>()).message(),
            "layer 'lstm_1' (LSTM) on input (None, 3): expected input of shape [time, features] "
            "with both positive, got (None, 3)");

  Sequential not_compiled;
  not_compiled.Add(Dense(1), {3});
  EXPECT_FALSE(not_compiled.Predict(xt::zeros<Real>({1, 3})).ok());
}

TEST(Sequential, ImdbLstmParameterCounts) {
  Sequential model;
  model.Add(Embedding(5000, 32, 500));
  model.Add(LSTM(100));
  model.Add(Dense(1, "sigmoid"));
  ASSERT_TRUE(model.Compile("binary_crossentropy", std::make_unique<autograd::Adam>()).ok());
  EXPECT_EQ(model.layer(0).CountParams(), 160000u);
  EXPECT_EQ(model.layer(1).CountParams(), 53200u);
  EXPECT_EQ(model.layer(2).CountParams(), 101u);
  EXPECT_NE(model.Summary().find("Total params: 213,301\n"), std::string::npos);
}

TEST(Sequential, AirlineBookParameterCounts) {
  Sequential model;
  model.Add(Embedding(12533, 32, 26));
  model.Add(SimpleRNN(40));
  model.Add(Dense(2, "softmax"));
  ASSERT_TRUE(model.Compile("categorical_crossentropy", std::make_unique<autograd::Adam>()).ok());
  EXPECT_EQ(model.layer(0).CountParams(), 401056u);
  EXPECT_EQ(model.layer(1).CountParams(), 2920u);
  EXPECT_EQ(model.layer(2).CountParams(), 82u);

  Sequential toy;
  toy.Add(SimpleRNN(RecurrentOptions(1).recurrent_initializer("zeros")), {2, 1});
  toy.Add(Dense(5, "softmax"));
  ASSERT_TRUE(toy.Compile("categorical_crossentropy", std::make_unique<autograd::Adam>()).ok());
  EXPECT_EQ(toy.layer(1).CountParams(), 10u);
  EXPECT_NE(toy.Summary().find("Total params: 13\n"), std::string::npos);
}

TEST(Sequential, ImdbCnnLstmParameterCounts) {
  Sequential model;
  model.Add(Embedding(5000, 32, 500));
  model.Add(Conv1D(32, 3, "same", "relu"));
  model.Add(MaxPooling1D(2));
  model.Add(LSTM(100));
  model.Add(Dense(1, "sigmoid"));
  ASSERT_TRUE(model.Compile("binary_crossentropy", std::make_unique<autograd::Adam>()).ok());
  EXPECT_EQ(model.layer(1).CountParams(), 3104u);
  EXPECT_EQ(model.layer(2).output_shape(), (Shape{250, 32}));
  EXPECT_NE(model.Summary().find("Total params: 216,405\n"), std::string::npos);
}

TEST(Sequential, RefusesEmptyAndNonFiniteData) {
  auto model = BiLstmModel(0);
  const Array none = xt::zeros<Real>({0, 10, 1});
  EXPECT_EQ(model->Fit(none, none).status().message(),
            "fit: x has no samples (shape (0, 10, 1)): there is nothing to learn from or score; "
            "check the data and the split that produced it");
  EXPECT_EQ(model->Evaluate(none, none).status().message().substr(0, 27),
            "evaluate: x has no samples ");
  EXPECT_EQ(model->Predict(none)->size(), 0u);  // no sample, no prediction (as Keras)

  Array x = xt::zeros<Real>({3, 10, 1});
  Array y = xt::zeros<Real>({3, 10, 1});
  const std::vector<Array> before = model->GetWeights();
  x(2, 7, 0) = std::numeric_limits<Real>::quiet_NaN();
  EXPECT_EQ(model->Fit(x, y, FitOptions().verbose(0)).status().message(),
            "fit: x holds nan at [2, 7, 0] (the first index is the sample): remove or repair "
            "that sample");
  x(2, 7, 0) = 0;
  y(1, 0, 0) = -std::numeric_limits<Real>::infinity();
  EXPECT_EQ(model->Evaluate(x, y).status().message(),
            "evaluate: y holds -inf at [1, 0, 0] (the first index is the sample): remove or "
            "repair that sample");
  EXPECT_NE(model
                ->Fit(x, xt::zeros<Real>({3, 10, 1}),
                      FitOptions().verbose(0).validation_x(x).validation_y(y))
                .status()
                .message()
                .find("fit (validation_data): y holds -inf at [1, 0, 0]"),
            std::string::npos);
  EXPECT_FALSE(model->TrainOnBatch(x, y).ok());
  const std::vector<Array> after = model->GetWeights();
  for (size_t i = 0; i < before.size(); ++i) EXPECT_EQ(before[i], after[i]);  // nothing trained

  EXPECT_EQ(model->Fit(x, x, FitOptions().batch_size(0)).status().message(),
            "fit: batch_size is 0; it must be at least 1");
  EXPECT_EQ(model->Evaluate(x, x, 0).status().message(),
            "evaluate: batch_size is 0; it must be at least 1");
  EXPECT_EQ(model->Predict(x, 0).status().message(),
            "predict: batch_size is 0; it must be at least 1");
}

TEST(Sequential, TerminateOnNanStopsBeforeTheUpdate) {
  // Finite inputs, but an MSE target of 3e38 overflows the squared error to inf.
  Sequential model(1);
  model.Add(Dense(1), {2});
  ASSERT_TRUE(model.Compile("mse", std::make_unique<autograd::Adam>()).ok());
  Array x = xt::ones<Real>({4, 2});
  Array y = xt::zeros<Real>({4, 1});
  y(3, 0) = 3e38f;
  const std::vector<Array> before = model.GetWeights();
  const absl::Status status =
      model.Fit(x, y, FitOptions().batch_size(2).shuffle(false).verbose(0)).status();
  EXPECT_EQ(status.message(),
            "fit: epoch 1, batch 2 (samples 2 to 3): the loss became inf, so training stopped "
            "(TerminateOnNaN) before this batch's update; the weights are finite: try a smaller "
            "learning rate, or look for extreme values in the data");
  EXPECT_EQ(status.code(), absl::StatusCode::kOutOfRange);
  // The first batch was applied, the second not: every weight is finite and some moved.
  const std::vector<Array> after = model.GetWeights();
  EXPECT_TRUE(xt::all(xt::isfinite(after[0])));
  EXPECT_FALSE(after[0] == before[0]);
  // Switched off, training goes on and reports the infinite loss (Keras without the callback).
  absl::StatusOr<History> history =
      model.Fit(x, y, FitOptions().batch_size(4).verbose(0).terminate_on_nan(false));
  ASSERT_TRUE(history.ok()) << history.status().message();
  EXPECT_TRUE(std::isinf(history->history.at("loss")[0]));
}

TEST(Sequential, PredictClassesTakesTheArgMaxOfADistribution) {
  // Dense(3, softmax) with kernel 5 I and no bias: the class is the arg max of the input row,
  // found by hand below; the class axis is dropped, as Keras' predict_classes.
  Sequential model;
  model.Add(Dense(3, "softmax"), {3});
  ASSERT_TRUE(model.Compile("categorical_crossentropy", std::make_unique<autograd::Adam>()).ok());
  ASSERT_TRUE(
      model.layer(0).SetWeights({Array(xt::eye<Real>(3) * Real(5)), Array(xt::zeros<Real>({3}))})
          .ok());
  const Array x = xt::xtensor<Real, 2>(
      {{0.1f, 0.9f, 0.2f}, {3.0f, 1.0f, 2.0f}, {0.0f, 0.0f, 1.0f}, {-1.0f, -2.0f, -0.5f}});
  absl::StatusOr<Array> classes = model.PredictClasses(x);
  ASSERT_TRUE(classes.ok()) << classes.status();
  EXPECT_EQ(*classes, Array(xt::xtensor<Real, 1>({1.0f, 0.0f, 2.0f, 2.0f})));
}

TEST(Sequential, ALossThatCannotFitTheOutputIsACompileError) {
  // Softmax cross-entropy over one unit is 0 whatever the weights: it trained with loss 0 and
  // accuracy 1 before.
  Sequential model;
  model.Add(Dense(1, "sigmoid"), {4});
  ASSERT_TRUE(
      model.Compile("binary_crossentropy", std::make_unique<autograd::Adam>(), {"acc"}).ok());
  EXPECT_EQ(model.Compile("categorical_crossentropy", std::make_unique<autograd::Adam>(),
                          {"accuracy"})
                .message(),
            "compile: loss 'categorical_crossentropy' needs a distribution over at least 2 "
            "classes, but the output of layer 'dense' (Dense) is (None, 1), one value per sample: "
            "use binary_crossentropy for one sigmoid unit, or a Dense(classes, \"softmax\") "
            "output with one-hot targets");
  // The failed compile changed nothing: the earlier one holds.
  EXPECT_TRUE(model.compiled());
  EXPECT_EQ(model.loss(), "binary_crossentropy");
  EXPECT_EQ(model.metrics(), std::vector<std::string>{"acc"});
  // Targets narrower or wider than the output are a fit error.
  Sequential two;
  two.Add(Dense(2, "softmax"), {4});
  ASSERT_TRUE(two.Compile("categorical_crossentropy", std::make_unique<autograd::Adam>()).ok());
  EXPECT_EQ(two.Fit(xt::zeros<Real>({3, 4}), xt::zeros<Real>({3, 1})).status().message(),
            "fit: y has shape (3, 1) but the model's output for x is (3, 2)");
}

TEST(Sequential, GetLayerIsAStatusOutOfRange) {
  auto model = BiLstmModel(0);
  EXPECT_EQ(model->GetLayer(7).status().message(),
            "model 'sequential' has 2 layers (indices 0 to 1), so there is no layer 7");
  EXPECT_EQ(model->GetLayer("dense").status().message(),
            "model 'sequential' has no layer named 'dense' (it has 'bidirectional', "
            "'time_distributed')");
  absl::StatusOr<Layer*> second = model->GetLayer(1);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ((*second)->name(), "time_distributed");
  absl::StatusOr<Layer*> named = model->GetLayer("bidirectional");
  ASSERT_TRUE(named.ok());
  EXPECT_EQ(*named, &model->layer(0));
}

TEST(Sequential, AccuracyWithNoRealStepIsZeroInFitAndEvaluate) {
  // Every step of every sample masked: the metric has no weight, and Keras reports 0.
  Sequential model(1);
  model.Add(Embedding(5, 2, 4, /*mask_zero=*/true));
  model.Add(LSTM(LstmOptions(3).return_sequences(true)));
  model.Add(TimeDistributed(Dense(1, "sigmoid")));
  ASSERT_TRUE(
      model.Compile("binary_crossentropy", std::make_unique<autograd::Adam>(), {"acc"}).ok());
  const Array x = xt::zeros<Real>({4, 4});
  const Array y = xt::ones<Real>({4, 4, 1});
  absl::StatusOr<History> history =
      model.Fit(x, y, FitOptions().epochs(2).batch_size(2).verbose(0));
  ASSERT_TRUE(history.ok()) << history.status();
  EXPECT_EQ(history->history.at("acc"), (std::vector<double>{0, 0}));
  absl::StatusOr<Scores> scores = model.Evaluate(x, y);
  ASSERT_TRUE(scores.ok());
  EXPECT_EQ(scores->accuracy, 0);
}

}  // namespace
}  // namespace layers
