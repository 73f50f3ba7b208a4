// GlobalMaxPooling1D and GlobalAveragePooling1D: values computed by hand, with and without masks;
// gradients by hand and by finite differences, masked cases included; shapes (a time axis that
// varies, keepdims), the mask ending there, summary rows and configs.
#include "layers/pooling.h"

#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <type_traits>
#include <vector>

#include "autograd/elementwise.h"
#include "autograd/gradcheck.h"
#include "autograd/optimizers.h"
#include "autograd/random.h"
#include "autograd/reductions.h"
#include "autograd/shape_ops.h"
#include "layers/config.h"
#include "layers/dense.h"
#include "layers/embedding.h"
#include "layers/masking.h"
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

// Two samples of three steps and two features: (1, 2), (3, 4), (5, -6) | (0, 1), (2, -1), (4, 10).
const Array& X() {
  static const Array* x =
      new Array(xt::xtensor<Real, 3>{{{1, 2}, {3, 4}, {5, -6}}, {{0, 1}, {2, -1}, {4, 10}}});
  return *x;
}
// Sample 0 without its last step, sample 1 without its first.
const Array& Mask() {
  static const Array* mask = new Array(xt::xtensor<Real, 2>{{1, 1, 0}, {0, 1, 1}});
  return *mask;
}

// [batch, time, features] values all at least 0.1 apart (a permutation of -1, -0.9, ...), so a
// difference step never changes which step holds a maximum.
Array Spaced(const Shape& shape) {
  Array x = Array::from_shape(shape);
  const size_t n = x.size();  // 7 must not divide n
  for (size_t k = 0; k < n; ++k) x.data()[k] = static_cast<Real>((k * 7 % n) * 0.1 - 1);
  return x;
}

template <typename LayerType>
std::unique_ptr<LayerType> Built(const Shape& input_shape, bool keepdims = false) {
  auto layer = std::make_unique<LayerType>(keepdims);
  Rng rng(1);
  const absl::Status status = layer->Build(input_shape, rng);
  EXPECT_TRUE(status.ok()) << status;
  return layer;
}

// ---- GlobalAveragePooling1D ----

TEST(GlobalAveragePooling1D, MeanOverTheSteps) {
  auto pool = Built<GlobalAveragePooling1DLayer>({3, 2});
  EXPECT_EQ(pool->output_shape(), (Shape{2}));
  EXPECT_EQ(pool->CountParams(), 0u);
  // (1 + 3 + 5) / 3 = 3, (2 + 4 - 6) / 3 = 0 | (0 + 2 + 4) / 3 = 2, (1 - 1 + 10) / 3 = 10/3.
  const Array y = pool->Call(Tensor(X()), false).value();
  ASSERT_EQ(autograd::ShapeOf(y), (Shape{2, 2}));
  EXPECT_NEAR(y(0, 0), 3, 1e-6);
  EXPECT_NEAR(y(0, 1), 0, 1e-6);
  EXPECT_NEAR(y(1, 0), 2, 1e-6);
  EXPECT_NEAR(y(1, 1), 10.0 / 3, 1e-6);
}

TEST(GlobalAveragePooling1D, MaskedStepsAreLeftOut) {
  auto pool = Built<GlobalAveragePooling1DLayer>({3, 2});
  // (1 + 3) / 2 = 2, (2 + 4) / 2 = 3 | (2 + 4) / 2 = 3, (-1 + 10) / 2 = 4.5.
  EXPECT_EQ(pool->CallMasked(Tensor(X()), &Mask(), false).value(),
            (Array(xt::xtensor<Real, 2>{{2, 3}, {3, 4.5}})));
  // A sample with one real step gives that step.
  const Array one = xt::xtensor<Real, 2>{{0, 0, 1}, {1, 0, 0}};
  EXPECT_EQ(pool->CallMasked(Tensor(X()), &one, false).value(),
            (Array(xt::xtensor<Real, 2>{{5, -6}, {0, 1}})));
  // Every step masked: Keras divides 0 by 0 (NaN); the other sample is unaffected.
  const Array none = xt::xtensor<Real, 2>{{0, 0, 0}, {1, 1, 1}};
  const Array y = pool->CallMasked(Tensor(X()), &none, false).value();
  EXPECT_TRUE(std::isnan(y(0, 0)) && std::isnan(y(0, 1))) << y(0, 0) << ", " << y(0, 1);
  EXPECT_NEAR(y(1, 0), 2, 1e-6);
  EXPECT_NEAR(y(1, 1), 10.0 / 3, 1e-6);
}

TEST(GlobalAveragePooling1D, GradientsByHandAndFiniteDifferences) {
  auto pool = Built<GlobalAveragePooling1DLayer>({3, 2});
  // By hand: the loss sum(y * w) gives x[b, t, f] the gradient w[b, f] * mask[b, t] / (real steps
  // of b): w / 2 at the real steps here, exactly 0 at the masked ones.
  Tensor x(X(), /*requires_grad=*/true);
  const Array w = xt::xtensor<Real, 2>{{1, -2}, {0.5, 4}};
  autograd::CurrentTape().Clear();
  const Tensor y = pool->CallMasked(x, &Mask(), true);
  ASSERT_TRUE(autograd::CurrentTape().Backward(autograd::Sum(autograd::Mul(y, Tensor(w)))).ok());
  const Array expected =
      xt::xtensor<Real, 3>{{{0.5, -1}, {0.5, -1}, {0, 0}}, {{0, 0}, {0.25, 2}, {0.25, 2}}};
  EXPECT_EQ(x.grad(), expected);

  const Array ragged = xt::xtensor<Real, 2>{{1, 0, 1, 1}, {0, 0, 0, 1}, {1, 1, 1, 1}};
  for (bool keepdims : {false, true}) {
    SCOPED_TRACE(keepdims ? "keepdims" : "no keepdims");
    auto layer = Built<GlobalAveragePooling1DLayer>({4, 3}, keepdims);
    for (const Array* mask : {static_cast<const Array*>(nullptr), &ragged}) {
      SCOPED_TRACE(mask ? "masked" : "no mask");
      Rng rng(5);
      const absl::Status check = autograd::Gradcheck(
          [&](const Inputs& in) { return layer->CallMasked(in[0], mask, true); },
          {Tensor(autograd::RandomUniform({3, 4, 3}, -2, 2, rng), true)}, Precision());
      EXPECT_TRUE(check.ok()) << check;
    }
  }
}

// ---- GlobalMaxPooling1D ----

TEST(GlobalMaxPooling1D, MaximumOverTheSteps) {
  auto pool = Built<GlobalMaxPooling1DLayer>({3, 2});
  EXPECT_EQ(pool->output_shape(), (Shape{2}));
  EXPECT_EQ(pool->Call(Tensor(X()), false).value(), (Array(xt::xtensor<Real, 2>{{5, 4}, {4, 10}})));
  // Keras' docstring: [[1], [2], [3]], [[4], [5], [6]], [[7], [8], [9]] -> [3], [6], [9].
  auto column = Built<GlobalMaxPooling1DLayer>({3, 1});
  EXPECT_EQ(column
                ->Call(Tensor(Array(xt::xtensor<Real, 3>{
                           {{1}, {2}, {3}}, {{4}, {5}, {6}}, {{7}, {8}, {9}}})),
                       false)
                .value(),
            (Array(xt::xtensor<Real, 2>{{3}, {6}, {9}})));
}

TEST(GlobalMaxPooling1D, IgnoresTheMaskAsTfKeras211) {
  auto pool = Built<GlobalMaxPooling1DLayer>({3, 2});
  // The masked steps (5, -6) of sample 0 and (0, 1) of sample 1 still count: the same maxima.
  EXPECT_TRUE(pool->supports_masking());
  EXPECT_EQ(pool->CallMasked(Tensor(X()), &Mask(), false).value(),
            (Array(xt::xtensor<Real, 2>{{5, 4}, {4, 10}})));
}

TEST(GlobalMaxPooling1D, GradientsByHandAndFiniteDifferences) {
  auto pool = Built<GlobalMaxPooling1DLayer>({3, 2});
  // By hand: each feature's gradient goes to the step holding its maximum.
  Tensor x(X(), /*requires_grad=*/true);
  const Array w = xt::xtensor<Real, 2>{{1, -2}, {0.5, 4}};
  autograd::CurrentTape().Clear();
  const Tensor y = pool->Call(x, true);
  ASSERT_TRUE(autograd::CurrentTape().Backward(autograd::Sum(autograd::Mul(y, Tensor(w)))).ok());
  const Array expected =
      xt::xtensor<Real, 3>{{{0, 0}, {0, -2}, {1, 0}}, {{0, 0}, {0, 0}, {0.5, 4}}};
  EXPECT_EQ(x.grad(), expected);

  const Array ragged = xt::xtensor<Real, 2>{{1, 0, 1, 1, 1}, {0, 0, 0, 1, 1}};
  for (bool keepdims : {false, true}) {
    SCOPED_TRACE(keepdims ? "keepdims" : "no keepdims");
    auto layer = Built<GlobalMaxPooling1DLayer>({5, 3}, keepdims);
    for (const Array* mask : {static_cast<const Array*>(nullptr), &ragged}) {
      SCOPED_TRACE(mask ? "masked" : "no mask");
      const absl::Status check = autograd::Gradcheck(
          [&](const Inputs& in) { return layer->CallMasked(in[0], mask, true); },
          {Tensor(Spaced({2, 5, 3}), true)}, Precision());
      EXPECT_TRUE(check.ok()) << check;
    }
  }
}

// ---- Both ----

TEST(GlobalPooling1D, TimeAxisThatVariesAndKeepdims) {
  // A time axis of length 0 varies from batch to batch: batches of 3 and of 5 steps both pool.
  for (bool keepdims : {false, true}) {
    auto average = Built<GlobalAveragePooling1DLayer>({0, 2}, keepdims);
    auto max = Built<GlobalMaxPooling1DLayer>({0, 2}, keepdims);
    const Shape shape = keepdims ? Shape{1, 2} : Shape{2};
    EXPECT_EQ(average->output_shape(), shape);
    EXPECT_EQ(max->output_shape(), shape);
    const Shape batch = keepdims ? Shape{2, 1, 2} : Shape{2, 2};
    EXPECT_EQ(average->Call(Tensor(X()), false).shape(), batch);
    EXPECT_EQ(max->Call(Tensor(Spaced({2, 5, 2})), false).shape(), batch);
    // keepdims only adds the axis: the same numbers.
    EXPECT_EQ(autograd::Reshape(max->CallMasked(Tensor(X()), &Mask(), false), {2, 2}).value(),
              (Array(xt::xtensor<Real, 2>{{5, 4}, {4, 10}})));
    EXPECT_EQ(autograd::Reshape(average->CallMasked(Tensor(X()), &Mask(), false), {2, 2}).value(),
              (Array(xt::xtensor<Real, 2>{{2, 3}, {3, 4.5}})));
  }
}

TEST(GlobalPooling1D, ErrorsNameTheLayerAndShapes) {
  Rng rng(1);
  EXPECT_EQ(GlobalAveragePooling1D()->Build({5}, rng).message(),
            "layer '' (GlobalAveragePooling1D) on input (None, 5): expected input [time, "
            "features] with a known number of features, got (None, 5)");
  EXPECT_EQ(GlobalMaxPooling1D()->Build({5, 0}, rng).message(),
            "layer '' (GlobalMaxPooling1D) on input (None, 5, None): expected input [time, "
            "features] with a known number of features, got (None, 5, None)");
  auto pool = Built<GlobalAveragePooling1DLayer>({3, 2});
  const Array short_mask = xt::ones<Real>({2, 2});
  try {
    pool->CallMasked(Tensor(X()), &short_mask, false);
    ADD_FAILURE() << "no error";
  } catch (const autograd::ShapeError& error) {
    EXPECT_STREQ(error.what(),
                 "GlobalAveragePooling1D: mask expected shape (2, 3) (the input's batch and "
                 "steps), got (2, 2)");
  }
  auto max = Built<GlobalMaxPooling1DLayer>({0, 2});
  try {
    max->Call(Tensor(Array(xt::zeros<Real>({2, 0, 2}))), false);
    ADD_FAILURE() << "no error";
  } catch (const autograd::ShapeError& error) {
    EXPECT_STREQ(error.what(),
                 "GlobalMaxPooling1D: expected input [batch, time >= 1, 2], got (2, 0, 2)");
  }
  EXPECT_THROW(max->Call(Tensor(Array(xt::zeros<Real>({2, 3, 4}))), false), autograd::ShapeError);
}

TEST(GlobalPooling1D, InAModelTheMaskEndsThere) {
  for (bool average : {true, false}) {
    SCOPED_TRACE(average ? "GlobalAveragePooling1D" : "GlobalMaxPooling1D");
    LayerPtr layer = average ? GlobalAveragePooling1D() : GlobalMaxPooling1D();
    EXPECT_FALSE(layer->OutputMasked(true));
    const Array mask = Mask();
    EXPECT_FALSE(layer->ComputeMask(X(), &mask).has_value());
    // Masking -> pooling: the pooling layer gets the mask and ends it (the loss gets none).
    // Masking zeroes the masked steps' values: sample 0 is -1, (masked), -3; sample 1 is 2, 6,
    // (masked).
    Sequential model(1);
    model.Add(Masking(), {3, 1});
    model.Add(std::move(layer));
    ASSERT_TRUE(model.Compile("mse", std::make_unique<autograd::Adam>()).ok());
    const absl::StatusOr<Array> out =
        model.Predict(xt::xtensor<Real, 3>{{{-1}, {0}, {-3}}, {{2}, {6}, {0}}});
    ASSERT_TRUE(out.ok()) << out.status();
    // Average over the real steps: -2 and 4. Maximum over every step (tf.keras 2.11 ignores the
    // mask): the masked step's 0 wins in sample 0 (over the real steps it would be -1).
    EXPECT_EQ(*out, average ? Array(xt::xtensor<Real, 2>{{-2}, {4}})
                            : Array(xt::xtensor<Real, 2>{{0}, {6}}));
  }
}

TEST(GlobalPooling1D, SummaryShowsKerasOutputShapes) {
  Sequential model(1);
  model.Add(Embedding(20, 4, 6, /*mask_zero=*/true));
  model.Add(GlobalAveragePooling1D());
  model.Add(Dense(1, "sigmoid"));
  ASSERT_TRUE(model.Compile("binary_crossentropy", std::make_unique<autograd::Adam>()).ok());
  Sequential kept(1);
  kept.Add(Embedding(20, 4, 6));
  kept.Add(GlobalMaxPooling1D(/*keepdims=*/true));
  ASSERT_TRUE(kept.Build().ok());
  // Keras' rows (columns end at 29, 55, 65; the name is cut as Keras cuts it).
  EXPECT_NE(
      model.Summary().find("global_average_pooling1d (Gl (None, 4)                 0         \n"),
      std::string::npos)
      << model.Summary();
  EXPECT_NE(
      kept.Summary().find("global_max_pooling1d (Global (None, 1, 4)              0         \n"),
      std::string::npos)
      << kept.Summary();
}

TEST(GlobalPooling1D, ConfigsRoundTrip) {
  for (bool keepdims : {false, true}) {
    std::vector<LayerPtr> layers;
    layers.push_back(GlobalMaxPooling1D(keepdims));
    layers.push_back(GlobalAveragePooling1D(keepdims));
    for (const LayerPtr& layer : layers) {
      const Json entry = LayerToConfig(*layer);
      EXPECT_EQ(entry["config"]["data_format"], "channels_last");
      EXPECT_EQ(entry["config"]["keepdims"], keepdims);
      absl::StatusOr<LayerFromFile> read = LayerFromConfig(entry, "test");
      ASSERT_TRUE(read.ok()) << read.status();
      EXPECT_EQ(read->layer->type(), layer->type());
      EXPECT_EQ(static_cast<const GlobalPooling1DLayer&>(*read->layer).keepdims(), keepdims);
      EXPECT_EQ(LayerToConfig(*read->layer), entry);
    }
  }
  // Keras' defaults when the keys are absent; channels_first is not implemented.
  const Json bare = Json::parse(R"({"class_name": "GlobalMaxPooling1D", "config": {"name": "g"}})");
  absl::StatusOr<LayerFromFile> read = LayerFromConfig(bare, "m.h5");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_FALSE(static_cast<const GlobalPooling1DLayer&>(*read->layer).keepdims());
  const Json first = Json::parse(
      R"({"class_name": "GlobalAveragePooling1D", "config": {"name": "g",
          "data_format": "channels_first"}})");
  EXPECT_EQ(LayerFromConfig(first, "m.h5").status().message(),
            "m.h5: layer 'g' (GlobalAveragePooling1D), config key 'data_format': expected "
            "(\"channels_last\"), got (\"channels_first\"): only Keras' default is implemented");
}

}  // namespace
}  // namespace layers
