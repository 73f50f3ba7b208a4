#include "layers/dense.h"

#include <gtest/gtest.h>

#include "layers/recurrent.h"
#include "xtensor/xtensor.hpp"

namespace layers {
namespace {

TEST(Dense, ForwardComputedByHand) {
  Rng rng(0);
  LayerPtr dense = Dense(2, "sigmoid");
  ASSERT_TRUE(dense->Build({3}, rng).ok());
  ASSERT_EQ(dense->CountParams(), 3u * 2u + 2u);
  ASSERT_TRUE(dense->SetWeights({Array(xt::xtensor<Real, 2>{{1, 0}, {0, 1}, {1, -1}}),
                                 Array{0.5f, -0.5f}})
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

TEST(Dense, BadArgumentsNameTheLayer) {
  Rng rng(0);
  LayerPtr zero = Dense(0);
  zero->set_name("dense_7");
  const absl::Status status = zero->Build({3}, rng);
  EXPECT_EQ(status.message(), "layer 'dense_7' (Dense) on input (None, 3): units must be positive, got 0");
  LayerPtr bad = Dense(2, "swish");
  EXPECT_NE(bad->Build({3}, rng).message().find("unknown activation 'swish'"), std::string::npos);
  LayerPtr td = TimeDistributed(Dense(1));
  EXPECT_FALSE(td->Build({3}, rng).ok());
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
