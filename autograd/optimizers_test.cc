#include "autograd/optimizers.h"

#include <cmath>

#include <gtest/gtest.h>

#include "autograd/autograd.h"

namespace autograd {
namespace {

TEST(Adam, FirstTwoStepsMatchKerasFormulaByHand) {
  Tensor p(Array{1.0f, -2.0f}, true);
  Adam adam;
  // Step 1 with g = [0.5, -4]: m = 0.1 g, v = 0.001 g^2, lr_t = 0.001 sqrt(0.001) / 0.1,
  // so the update is lr_t * 0.1 g / (sqrt(0.001) |g| + 1e-7) ~= 0.001 sign(g).
  AccumulateGrad(p, Array{0.5f, -4.0f}, "test");
  adam.Step({p});
  const double lr1 = 0.001 * std::sqrt(1 - 0.999) / (1 - 0.9);
  const double step0 = lr1 * 0.05 / (std::sqrt(0.001 * 0.25) + 1e-7);
  EXPECT_NEAR(p.value()(0), 1.0 - step0, 1e-7);
  EXPECT_NEAR(p.value()(1), -2.0 + lr1 * 0.4 / (std::sqrt(0.001 * 16) + 1e-7), 1e-7);
  EXPECT_FALSE(p.has_grad());
  // Step 2 with g = [1, 0].
  AccumulateGrad(p, Array{1.0f, 0.0f}, "test");
  adam.Step({p});
  const double m = 0.9 * 0.05 + 0.1 * 1.0, v = 0.999 * 0.00025 + 0.001 * 1.0;
  const double lr2 = 0.001 * std::sqrt(1 - 0.999 * 0.999) / (1 - 0.9 * 0.9);
  EXPECT_NEAR(p.value()(0), 1.0 - step0 - lr2 * m / (std::sqrt(v) + 1e-7), 1e-6);
}

TEST(Sgd, StepsAgainstTheGradient) {
  Tensor p(Array{1.0f}, true);
  Sgd sgd(SgdOptions{0.1f});
  AccumulateGrad(p, Array{2.0f}, "test");
  sgd.Step({p});
  EXPECT_FLOAT_EQ(p.value()(0), 0.8f);
}

TEST(Adam, FitsALineAndParametersWithoutGradientsStayPut) {
  Rng rng(7);
  Tensor w(Array(xt::zeros<Real>({1, 1})), true), b(Array{0.0f}, true), frozen(Array{5.0f}, true);
  const Array x = RandomUniform({64, 1}, -1, 1, rng);
  const Array y = 3.0f * x - 1.0f;
  Adam adam(AdamOptions{0.05f});
  for (int step = 0; step < 500; ++step) {
    Tensor error = Sub(Add(MatMul(Tensor(x), w), b), Tensor(y));
    ASSERT_TRUE(CurrentTape().Backward(Mean(Mul(error, error))).ok());
    adam.Step({w, b, frozen});
  }
  EXPECT_NEAR(w.value()(0, 0), 3.0f, 1e-2);
  EXPECT_NEAR(b.value()(0), -1.0f, 1e-2);
  EXPECT_FLOAT_EQ(frozen.value()(0), 5.0f);
}

}  // namespace
}  // namespace autograd
