#include "layers/dense.h"

#include <gtest/gtest.h>

#include "layers/convolutional.h"
#include "layers/embedding.h"
#include "layers/recurrent.h"
#include "xtensor/xtensor.hpp"

namespace layers {
namespace {

TEST(Dense, ForwardComputedByHand) {
  Rng rng(0);
  LayerPtr dense = Dense(2, "sigmoid");
  ASSERT_TRUE(dense->Build({3}, rng).ok());
  ASSERT_EQ(dense->CountParams(), 3u * 2u + 2u);
  ASSERT_TRUE(
      dense->SetWeights({Array(xt::xtensor<Real, 2>{{1, 0}, {0, 1}, {1, -1}}), Array{0.5f, -0.5f}})
          .ok());
  // x = [1, 2, 3]: z = [1 + 3 + 0.5, 2 - 3 - 0.5] = [4.5, -1.5]
  const Array y = dense->Call(Tensor(Array(xt::xtensor<Real, 2>{{1, 2, 3}})), false).value();
  EXPECT_NEAR(y(0, 0), 1 / (1 + std::exp(-4.5)), 1e-6);
  EXPECT_NEAR(y(0, 1), 1 / (1 + std::exp(1.5)), 1e-6);
  EXPECT_EQ(dense->weights()[0].name, "kernel");
  EXPECT_EQ(dense->weights()[1].name, "bias");
}

TEST(Dense, KerasParameterCounts) {
  Rng rng(0);
  LayerPtr td = TimeDistributed(Dense(1, "sigmoid"));
  ASSERT_TRUE(td->Build({10, 40}, rng).ok());
  EXPECT_EQ(td->CountParams(), 41u);
  EXPECT_EQ(td->output_shape(), (Shape{10, 1}));
}

TEST(TimeDistributed, AppliesTheLayerAtEveryStep) {
  Rng rng(1);
  LayerPtr td = TimeDistributed(Dense(2, "tanh"));
  ASSERT_TRUE(td->Build({3, 4}, rng).ok());
  Rng data(2);
  const Array x = autograd::RandomUniform({2, 3, 4}, -1, 1, data);
  const Array y = td->Call(Tensor(x), false).value();
  const Array kernel = td->GetWeights()[0];
  for (size_t b = 0; b < 2; ++b) {
    for (size_t t = 0; t < 3; ++t) {
      for (size_t u = 0; u < 2; ++u) {
        double z = 0;
        for (size_t f = 0; f < 4; ++f) z += x(b, t, f) * kernel(f, u);
        EXPECT_NEAR(y(b, t, u), std::tanh(z), 1e-6);
      }
    }
  }
}

// Built on a varying time axis (Input({kVaries, 4})), it takes any length: each call's own length,
// not the built one, unflattens the steps (the built shape's 0 made it refuse "(28, 1) to
// (4, 0, 1)").
TEST(TimeDistributed, TakesAnyLengthOnAVaryingTimeAxis) {
  Rng rng(1);
  LayerPtr td = TimeDistributed(Dense(2, "tanh"));
  ASSERT_TRUE(td->Build({kVaries, 4}, rng).ok());
  for (size_t time : {1, 3, 7}) {
    Rng data(time);
    const Array x = autograd::RandomUniform({2, time, 4}, -1, 1, data);
    const Array y = td->Call(Tensor(x), false).value();
    ASSERT_EQ(y.shape(), (std::vector<size_t>{2, time, 2}));
    const Array kernel = td->GetWeights()[0];
    for (size_t b = 0; b < 2; ++b) {
      for (size_t t = 0; t < time; ++t) {
        for (size_t u = 0; u < 2; ++u) {
          double z = 0;
          for (size_t f = 0; f < 4; ++f) z += x(b, t, f) * kernel(f, u);
          EXPECT_NEAR(y(b, t, u), std::tanh(z), 1e-6);
        }
      }
    }
  }
}

// Keras' Dense on inputs of rank > 2 works on the last axis (tf.tensordot, keras/layers/core/
// dense.py): exactly TimeDistributed(Dense) with the same weights, on [batch, time, features] and
// on a rank-4 input; and the mask passes through (supports_masking = True).
TEST(Dense, OnRankThreeAndFourIsTimeDistributedDense) {
  Rng rng(4);
  LayerPtr dense = Dense(3, "tanh"), td = TimeDistributed(Dense(3, "tanh"));
  ASSERT_TRUE(dense->Build({5, 4}, rng).ok());
  ASSERT_TRUE(td->Build({5, 4}, rng).ok());
  EXPECT_EQ(dense->output_shape(), (Shape{5, 3}));
  // A bias other than Keras' zeros, so that it counts.
  ASSERT_TRUE(dense->SetWeights({dense->GetWeights()[0], Array{0.1f, -0.2f, 0.3f}}).ok());
  ASSERT_TRUE(td->SetWeights(dense->GetWeights()).ok());
  const Tensor x(autograd::RandomUniform({2, 5, 4}, -1, 1, rng));
  const Array y = dense->Call(x, false).value();
  EXPECT_EQ(y.shape(), (std::vector<size_t>{2, 5, 3}));
  EXPECT_EQ(y, td->Call(x, false).value());
  // Rank 4: [batch, 2, 5, 4] -> [batch, 2, 5, 3], each [5, 4] slice as above.
  LayerPtr dense4 = Dense(3, "tanh");
  ASSERT_TRUE(dense4->Build({2, 5, 4}, rng).ok());
  ASSERT_TRUE(dense4->SetWeights(dense->GetWeights()).ok());
  Array x4 = autograd::RandomUniform({3, 2, 5, 4}, -1, 1, rng);
  const Array y4 = dense4->Call(Tensor(x4), false).value();
  ASSERT_EQ(y4.shape(), (std::vector<size_t>{3, 2, 5, 3}));
  Array flat = x4;
  flat.reshape({6, 5, 4});
  Array expected = td->Call(Tensor(flat), false).value();
  expected.reshape({3, 2, 5, 3});
  EXPECT_EQ(y4, expected);
  // The mask passes on unchanged.
  const Array mask = xt::xtensor<Real, 2>{{1, 1, 0, 0, 0}, {1, 1, 1, 1, 1}};
  EXPECT_TRUE(dense->OutputMasked(true));
  const std::optional<Array> passed = dense->ComputeMask(x.value(), &mask);
  ASSERT_TRUE(passed.has_value());
  EXPECT_EQ(*passed, mask);
}

TEST(Dense, BadArgumentsNameTheLayer) {
  Rng rng(0);
  LayerPtr zero = Dense(0);
  zero->set_name("dense_7");
  const absl::Status status = zero->Build({3}, rng);
  EXPECT_EQ(status.message(),
            "layer 'dense_7' (Dense) on input (None, 3): units must be in [1, 16777216], got 0");
  LayerPtr bad = Dense(2, "swish");
  EXPECT_NE(bad->Build({3}, rng).message().find("unknown activation 'swish'"), std::string::npos);
  LayerPtr td = TimeDistributed(Dense(1));
  EXPECT_FALSE(td->Build({3}, rng).ok());
}

// Sizes are size_t, so Dense(-1) used to pass the "== 0" checks and die of std::bad_alloc in
// Compile. Every sized layer now answers with an error naming it, the size and the range.
TEST(Layer, NegativeAndHugeSizesAreErrorsNamingTheLayer) {
  const size_t minus_one = static_cast<size_t>(-1);
  struct Case {
    LayerPtr layer;
    Shape input;
    std::string expected;
  };
  std::vector<Case> cases;
  cases.push_back({Dense(minus_one), {3}, "units must be in [1, 16777216], got -1"});
  cases.push_back({LSTM(LstmOptions(minus_one)), {5, 3}, "units must be in [1, 16777216], got -1"});
  cases.push_back(
      {GRU(RecurrentOptions(minus_one)), {5, 3}, "units must be in [1, 16777216], got -1"});
  cases.push_back({Conv1D(minus_one, 3), {5, 3}, "filters must be in [1, 16777216], got -1"});
  cases.push_back({Conv1D(4, minus_one), {5, 3}, "kernel_size must be in [1, 16777216], got -1"});
  cases.push_back({Embedding(minus_one, 8, 5), {5}, "input_dim must be in [1, 16777216], got -1"});
  cases.push_back(
      {Embedding(10, minus_one, 5), {5}, "output_dim must be in [1, 16777216], got -1"});
  cases.push_back({MaxPooling1D(minus_one), {5, 3}, "pool_size must be in [1, 5]"});
  cases.push_back({Dense(1 << 24), {1 << 20}, "more than 2147483648: use smaller sizes"});
  cases.push_back({LSTM(LstmOptions(1 << 24)), {5, 3}, "more than 2147483648: use smaller sizes"});
  for (Case& c : cases) {
    Rng rng(0);
    const absl::Status status = c.layer->Build(c.input, rng);
    ASSERT_FALSE(status.ok()) << c.expected;
    EXPECT_NE(status.message().find(c.expected), std::string::npos) << status.message();
    EXPECT_NE(status.message().find("layer '"), std::string::npos) << status.message();
  }
}

TEST(Layer, SetWeightsChecksCountAndShapes) {
  Rng rng(0);
  LayerPtr dense = Dense(2);
  ASSERT_TRUE(dense->Build({3}, rng).ok());
  EXPECT_FALSE(dense->SetWeights({Array(xt::zeros<Real>({3, 2}))}).ok());
  const absl::Status status =
      dense->SetWeights({Array(xt::zeros<Real>({2, 3})), Array(xt::zeros<Real>({2}))});
  EXPECT_NE(status.message().find("kernel expected shape (3, 2), got (2, 3)"), std::string::npos);
}

}  // namespace
}  // namespace layers
