// RepeatVector and Activation: values computed by hand, gradients by finite differences, shapes,
// masks, summary rows and configs.
#include "layers/core.h"

#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <optional>
#include <type_traits>
#include <vector>

#include "autograd/elementwise.h"
#include "autograd/gradcheck.h"
#include "autograd/optimizers.h"
#include "autograd/random.h"
#include "autograd/reductions.h"
#include "layers/config.h"
#include "layers/dense.h"
#include "layers/embedding.h"
#include "layers/masking.h"
#include "layers/pooling.h"
#include "layers/recurrent.h"
#include "layers/sequential.h"
#include "xtensor/xtensor.hpp"

namespace layers {
namespace {

using Inputs = std::vector<Tensor>;

// Gradient checks: at gradcheck.h's tight defaults in the double build (bazel test --config=f64,
// which CI runs on this test); in float32, where a step of 1e-6 drowns in rounding, with a step
// of 1e-2 and tolerances of 1e-2 relative, still far below any wrong rule's error.
autograd::GradcheckOptions Precision() {
  autograd::GradcheckOptions options;
  if constexpr (std::is_same_v<Real, float>) {
    options.step = 1e-2;
    options.abs_tolerance = 2e-3;
    options.rel_tolerance = 1e-2;
  }
  return options;
}

Tensor Param(const Shape& shape, double low, double high, uint64_t seed) {
  Rng rng(seed);
  return Tensor(autograd::RandomUniform(shape, low, high, rng), /*requires_grad=*/true);
}

// ---- RepeatVector ----

TEST(RepeatVector, RepeatsEachSampleNTimes) {
  RepeatVectorLayer repeat(3);
  Rng rng(1);
  ASSERT_TRUE(repeat.Build({2}, rng).ok());
  EXPECT_EQ(repeat.output_shape(), (Shape{3, 2}));
  EXPECT_EQ(repeat.CountParams(), 0u);
  const Array x = xt::xtensor<Real, 2>{{1, 2}, {3, -4}};
  const Array expected =
      xt::xtensor<Real, 3>{{{1, 2}, {1, 2}, {1, 2}}, {{3, -4}, {3, -4}, {3, -4}}};
  EXPECT_EQ(repeat.Call(Tensor(x), false).value(), expected);
}

TEST(RepeatVector, GradientSumsTheCopies) {
  RepeatVectorLayer repeat(4);
  Rng rng(1);
  ASSERT_TRUE(repeat.Build({3}, rng).ok());
  // By hand: the loss sum(y * w) gives x[b, f] the gradient sum over the copies of w[b, ·, f].
  Tensor x = Param({2, 3}, -1, 1, 2);
  const Array w = autograd::RandomUniform({2, 4, 3}, -1, 1, rng);
  autograd::CurrentTape().Clear();
  const Tensor y = repeat.Call(x, true);
  ASSERT_TRUE(autograd::CurrentTape().Backward(autograd::Sum(autograd::Mul(y, Tensor(w)))).ok());
  for (size_t b = 0; b < 2; ++b) {
    for (size_t f = 0; f < 3; ++f) {
      double sum = 0;
      for (size_t copy = 0; copy < 4; ++copy) sum += w(b, copy, f);
      EXPECT_NEAR(x.grad()(b, f), sum, 1e-6) << b << ", " << f;
    }
  }
  const absl::Status check =
      autograd::Gradcheck([&](const Inputs& in) { return repeat.Call(in[0], true); },
                          {Param({2, 3}, -1, 1, 3)}, Precision());
  EXPECT_TRUE(check.ok()) << check;
}

TEST(RepeatVector, ErrorsNameTheLayerAndShapes) {
  Rng rng(1);
  EXPECT_EQ(RepeatVector(3)->Build({4, 2}, rng).message(),
            "layer '' (RepeatVector) on input (None, 4, 2): expected input [features] with a "
            "known number of features, got (None, 4, 2)");
  // An axis of length 0 is one whose length varies: the features must be known.
  EXPECT_EQ(RepeatVector(3)->Build({0}, rng).message(),
            "layer '' (RepeatVector) on input (None, None): expected input [features] with a known "
            "number of features, got (None, None)");
  EXPECT_EQ(RepeatVector(0)->Build({2}, rng).message(),
            "layer '' (RepeatVector) on input (None, 2): n must be in [1, 16777216], got 0");
  RepeatVectorLayer repeat(2);
  ASSERT_TRUE(repeat.Build({3}, rng).ok());
  EXPECT_THROW(repeat.Call(Tensor(Array(xt::zeros<Real>({2, 4}))), false), autograd::ShapeError);
}

TEST(RepeatVector, RefusesAMaskAtCompile) {
  // A mask cannot reach a layer without supports_masking (Embedding -> RepeatVector: the check
  // comes before the shapes).
  Sequential model(1);
  model.Add(Embedding(20, 4, 5, /*mask_zero=*/true));
  model.Add(RepeatVector(3));
  EXPECT_FALSE(RepeatVector(3)->supports_masking());
  EXPECT_EQ(model.Compile("mse", std::make_unique<autograd::Adam>()).message(),
            "layer 'repeat_vector' (RepeatVector) does not support masking, but the mask made by "
            "layer 'embedding' (Embedding) reaches it: turn the mask off (mask_zero=false, no "
            "Masking), or consume it first with a recurrent layer without return_sequences");
}

// ---- Activation ----

TEST(Activation, ValuesByHand) {
  Rng rng(1);
  const auto apply = [&](const std::string& name, const Array& x) {
    ActivationLayer layer(name);
    EXPECT_TRUE(layer.Build({x.shape()[1]}, rng).ok()) << name;
    EXPECT_EQ(layer.output_shape(), (Shape{x.shape()[1]}));
    return layer.Call(Tensor(x), false).value();
  };
  // Keras' docstring: Activation('relu') on [-3, -1, 0, 2] gives [0, 0, 0, 2].
  EXPECT_EQ(apply("relu", xt::xtensor<Real, 2>{{-3, -1, 0, 2}}),
            (Array(xt::xtensor<Real, 2>{{0, 0, 0, 2}})));
  EXPECT_EQ(apply("linear", xt::xtensor<Real, 2>{{-3, 0.5}}),
            (Array(xt::xtensor<Real, 2>{{-3, 0.5}})));
  EXPECT_EQ(apply("", xt::xtensor<Real, 2>{{-3, 0.5}}), (Array(xt::xtensor<Real, 2>{{-3, 0.5}})));
  // sigmoid(0) = 1/2, sigmoid(ln 3) = 3 / (3 + 1), sigmoid(-ln 3) = 1/4.
  const Real ln3 = static_cast<Real>(std::log(3.0));
  const Array sigmoid = apply("sigmoid", xt::xtensor<Real, 2>{{0, ln3, -ln3}});
  EXPECT_NEAR(sigmoid(0, 0), 0.5, 1e-6);
  EXPECT_NEAR(sigmoid(0, 1), 0.75, 1e-6);
  EXPECT_NEAR(sigmoid(0, 2), 0.25, 1e-6);
  // tanh(ln 2) = (2 - 1/2) / (2 + 1/2) = 0.6.
  const Real ln2 = static_cast<Real>(std::log(2.0));
  const Array tanh = apply("tanh", xt::xtensor<Real, 2>{{ln2, -ln2, 0}});
  EXPECT_NEAR(tanh(0, 0), 0.6, 1e-6);
  EXPECT_NEAR(tanh(0, 1), -0.6, 1e-6);
  EXPECT_NEAR(tanh(0, 2), 0.0, 1e-6);
  // softmax over the last axis: exp(0), exp(ln 2), exp(ln 5) = 1, 2, 5 of 8; a second row shifted
  // by 7 gives the same.
  const Real ln5 = static_cast<Real>(std::log(5.0));
  const Array softmax =
      apply("softmax", xt::xtensor<Real, 2>{{0, ln2, ln5}, {7, 7 + ln2, 7 + ln5}});
  for (size_t row = 0; row < 2; ++row) {
    EXPECT_NEAR(softmax(row, 0), 1.0 / 8, 1e-6);
    EXPECT_NEAR(softmax(row, 1), 2.0 / 8, 1e-6);
    EXPECT_NEAR(softmax(row, 2), 5.0 / 8, 1e-6);
  }
}

TEST(Activation, AnyShapeAndSoftmaxOverTheLastAxis) {
  Rng rng(1);
  ActivationLayer softmax("softmax");
  // [time, features] with the time axis varying (length 0): the shape passes on as it is.
  ASSERT_TRUE(softmax.Build({0, 3}, rng).ok());
  EXPECT_EQ(softmax.output_shape(), (Shape{0, 3}));
  const Real ln2 = static_cast<Real>(std::log(2.0));
  const Array x = xt::xtensor<Real, 3>{{{0, 0, 0}, {0, ln2, 0}}};  // one sample, two steps
  const Array y = softmax.Call(Tensor(x), false).value();
  ASSERT_EQ(autograd::ShapeOf(y), (Shape{1, 2, 3}));
  for (size_t f = 0; f < 3; ++f) EXPECT_NEAR(y(0, 0, f), 1.0 / 3, 1e-6);
  EXPECT_NEAR(y(0, 1, 0), 0.25, 1e-6);
  EXPECT_NEAR(y(0, 1, 1), 0.5, 1e-6);
  EXPECT_NEAR(y(0, 1, 2), 0.25, 1e-6);
}

TEST(Activation, GradientsByFiniteDifferences) {
  Rng rng(1);
  for (const char* name : {"linear", "sigmoid", "tanh", "relu", "softmax"}) {
    SCOPED_TRACE(name);
    ActivationLayer layer(name);
    ASSERT_TRUE(layer.Build({4, 3}, rng).ok());
    // Values at least 0.05 from relu's kink at 0, so the differences never straddle it.
    Array x = autograd::RandomUniform({2, 4, 3}, 0.05, 2, rng);
    for (size_t k = 0; k < x.size(); k += 2) x.data()[k] = -x.data()[k];
    const absl::Status check =
        autograd::Gradcheck([&](const Inputs& in) { return layer.Call(in[0], true); },
                            {Tensor(x, /*requires_grad=*/true)}, Precision());
    EXPECT_TRUE(check.ok()) << check;
  }
}

TEST(Activation, PassesTheMaskOn) {
  ActivationLayer layer("tanh");
  EXPECT_TRUE(layer.supports_masking());
  EXPECT_TRUE(layer.OutputMasked(true));
  EXPECT_FALSE(layer.OutputMasked(false));
  const Array mask = xt::xtensor<Real, 2>{{1, 0, 1}};
  const Array x = xt::zeros<Real>({1, 3, 2});
  const std::optional<Array> passed = layer.ComputeMask(x, &mask);
  ASSERT_TRUE(passed.has_value());
  EXPECT_EQ(*passed, mask);
  EXPECT_FALSE(layer.ComputeMask(x, nullptr).has_value());
  // In a model: Masking -> Activation(relu) -> GlobalAveragePooling1D. Steps 2, 0 (masked), -4
  // and 0 (masked), 1, 5: the means over the real steps are (2 + 0) / 2 = 1 and (1 + 5) / 2 = 3
  // (without the mask they would be 2/3 and 2).
  Sequential model(1);
  model.Add(Masking(), {3, 1});
  model.Add(Activation("relu"));
  model.Add(GlobalAveragePooling1D());
  ASSERT_TRUE(model.Compile("mse", std::make_unique<autograd::Adam>()).ok());
  const absl::StatusOr<Array> out =
      model.Predict(xt::xtensor<Real, 3>{{{2}, {0}, {-4}}, {{0}, {1}, {5}}});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, (Array(xt::xtensor<Real, 2>{{1}, {3}})));
}

TEST(Activation, Errors) {
  Rng rng(1);
  EXPECT_EQ(Activation("gelu")->Build({3}, rng).message(),
            "layer '' (Activation) on input (None, 3): unknown activation 'gelu' (expected "
            "linear, sigmoid, tanh, relu or softmax)");
  EXPECT_EQ(Activation("softmax")->Build({}, rng).message(),
            "layer '' (Activation) on input (None,): softmax needs an axis besides the batch axis "
            "to normalize over, got input (None,)");
  EXPECT_TRUE(Activation("relu")->Build({}, rng).ok());
}

// ---- Both in a model: summary rows and configs ----

TEST(Core, SummaryShowsKerasOutputShapes) {
  Sequential model(1);
  model.Add(Dense(4), {3});
  model.Add(RepeatVector(5));
  model.Add(Activation("relu"));
  model.Add(LSTM(LstmOptions(2).return_sequences(true)));
  ASSERT_TRUE(model.Compile("mse", std::make_unique<autograd::Adam>()).ok());
  // Keras' summary rows (columns end at 29, 55, 65): Dense 3 * 4 + 4 = 16 parameters, LSTM
  // 4 * 2 * (4 + 2 + 1) = 56.
  const std::string summary = model.Summary();
  for (const char* row : {
           "dense (Dense)                (None, 4)                 16        \n",
           "repeat_vector (RepeatVector) (None, 5, 4)              0         \n",
           "activation (Activation)      (None, 5, 4)              0         \n",
           "lstm (LSTM)                  (None, 5, 2)              56        \n",
       }) {
    EXPECT_NE(summary.find(row), std::string::npos) << row << "in\n" << summary;
  }
  // The model runs: every sample's LSTM input is its Dense output, five times, through relu.
  const absl::StatusOr<Array> out = model.Predict(xt::ones<Real>({2, 3}));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(autograd::ShapeOf(*out), (Shape{2, 5, 2}));
}

TEST(Core, ConfigsRoundTrip) {
  const auto round_trip = [](const Layer& layer, const char* key, const Json& value) {
    const Json entry = LayerToConfig(layer);
    EXPECT_EQ(entry["config"][key], value) << entry.dump();
    absl::StatusOr<LayerFromFile> read = LayerFromConfig(entry, "test");
    ASSERT_TRUE(read.ok()) << read.status();
    EXPECT_EQ(read->layer->type(), layer.type());
    EXPECT_EQ(LayerToConfig(*read->layer), entry);
  };
  round_trip(*RepeatVector(7), "n", 7);
  round_trip(*Activation("softmax"), "activation", "softmax");
  EXPECT_EQ(LayerToConfig(*Activation(""))["config"]["activation"], "linear");
  // Both keys are required, as the arguments of Keras' constructors.
  const Json no_n = Json::parse(R"({"class_name": "RepeatVector", "config": {"name": "r"}})");
  EXPECT_EQ(LayerFromConfig(no_n, "m.h5").status().message(),
            "m.h5: layer 'r' (RepeatVector), config key 'n': missing (a positive integer is "
            "required)");
  const Json no_activation =
      Json::parse(R"({"class_name": "Activation", "config": {"name": "a"}})");
  EXPECT_EQ(LayerFromConfig(no_activation, "m.h5").status().message(),
            "m.h5: layer 'a' (Activation), config key 'activation': missing (an activation name "
            "is required)");
}

}  // namespace
}  // namespace layers
