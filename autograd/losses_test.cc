// The losses' values against numbers computed by hand, and their gradients against finite
// differences (this test links //autograd:autograd_f64, so both are checked in double).
#include "autograd/losses.h"

#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <string>

#include "autograd/autograd.h"
#include "autograd/gradcheck.h"
#include "xtensor/xtensor.hpp"

namespace autograd {
namespace {

static_assert(sizeof(Real) == sizeof(double), "losses_test must link autograd_f64");

Tensor Param(const Shape& shape, double low, double high, uint64_t seed) {
  Rng rng(seed);
  return Tensor(RandomUniform(shape, low, high, rng), /*requires_grad=*/true);
}

using Inputs = std::vector<Tensor>;

#define EXPECT_GRADCHECK(fn, ...) \
  EXPECT_TRUE(Gradcheck(fn, __VA_ARGS__).ok()) << Gradcheck(fn, __VA_ARGS__)

// The message of what `fn` throws as E ("" if it does not).
template <typename E, typename F>
std::string Thrown(F fn) {
  try {
    fn();
  } catch (const E& error) {
    return error.what();
  }
  ADD_FAILURE() << "nothing thrown";
  return "";
}

TEST(MeanSquaredError, ValueByHand) {
  const Tensor p(Array(xt::xtensor<Real, 2>{{1, 2}, {3, 5}}));
  const Array y = xt::xtensor<Real, 2>{{0, 2}, {3, 3}};
  // Squares [[1, 0], [0, 4]]: mean 5 / 4.
  EXPECT_DOUBLE_EQ(MeanSquaredError(p, y).item(), 1.25);
  // Row weights [2, 0.5]: [[2, 0], [0, 2]], still divided by all 4 elements.
  const Array w = {2.0, 0.5};
  EXPECT_DOUBLE_EQ(MeanSquaredError(p, y, &w).item(), 1.0);
}

TEST(MeanSquaredError, Gradients) {
  Rng rng(3);
  const Array y = RandomUniform({2, 3, 4}, -1, 1, rng);
  const Array w = xt::xtensor<Real, 2>{{1, 0, 0.5}, {2, 1, 0}};  // a mask with weights
  EXPECT_GRADCHECK([&](const Inputs& in) { return MeanSquaredError(in[0], y); },
                   Inputs{Param({2, 3, 4}, -2, 2, 4)});
  EXPECT_GRADCHECK([&](const Inputs& in) { return MeanSquaredError(in[0], y, &w); },
                   Inputs{Param({2, 3, 4}, -2, 2, 5)});
}

TEST(MeanSquaredError, ShapesAreChecked) {
  const Tensor p(Array(xt::zeros<Real>({4, 1})));
  // Without the check, [4, 1] - [4] would broadcast to [4, 4].
  EXPECT_EQ(Thrown<ShapeError>([&] { MeanSquaredError(p, Array(xt::zeros<Real>({4}))); }),
            "MeanSquaredError: predictions have shape (4, 1) but targets have shape (4)");
  const Array w = xt::zeros<Real>({4, 1});
  EXPECT_EQ(Thrown<ShapeError>([&] {
              MeanSquaredError(p, Array(xt::zeros<Real>({4, 1})), &w);
            }),
            "MeanSquaredError: weights expected shape (4) (the predictions' without the last "
            "axis), got (4, 1)");
}

TEST(SparseCategoricalCrossentropy, ValueByHand) {
  const Tensor p(Array(xt::xtensor<Real, 2>{{0.7, 0.2, 0.1}, {0.1, 0.3, 0.6}}));
  const Array y = {0, 2};
  // (-log 0.7 - log 0.6) / 2 (Python's math.log; torch's nll_loss of log p agrees).
  EXPECT_NEAR(SparseCategoricalCrossentropy(p, y).item(), 0.433750283852, 1e-12);
  // Row weights [1, 0.5]; the divisor stays 2.
  const Array w = {1.0, 0.5};
  EXPECT_NEAR(SparseCategoricalCrossentropy(p, y, &w).item(), 0.306043877911, 1e-12);
  // Keras' [samples, 1] targets give the same.
  const Array column = xt::xtensor<Real, 2>{{0}, {2}};
  EXPECT_EQ(SparseCategoricalCrossentropy(p, column).item(),
            SparseCategoricalCrossentropy(p, y).item());
}

TEST(SparseCategoricalCrossentropy, RowsAreRenormalisedAfterClipping) {
  // [0.4, 0.2, 0.2]: -log(0.4 / 0.8) = log 2.
  const Tensor unnormalised(Array(xt::xtensor<Real, 2>{{0.4, 0.2, 0.2}}));
  EXPECT_NEAR(SparseCategoricalCrossentropy(unnormalised, Array{0}).item(), std::log(2.0), 1e-12);
  // [0, 0.5, 0.5] clipped to [1e-7, 0.5, 0.5]: -log(1e-7) + log(1 + 1e-7), and no gradient
  // reaches the clipped probability.
  Tensor clipped(Array(xt::xtensor<Real, 2>{{0, 0.5, 0.5}}), true);
  const Tensor loss = SparseCategoricalCrossentropy(clipped, Array{0});
  EXPECT_NEAR(loss.item(), 16.118095751, 1e-8);
  ASSERT_TRUE(CurrentTape().Backward(loss).ok());
  EXPECT_EQ(clipped.grad()(0, 0), 0.0);
  EXPECT_NEAR(clipped.grad()(0, 1), 1 / (1 + 1e-7), 1e-12);  // d log(sum) / dp
}

TEST(SparseCategoricalCrossentropy, EqualsCategoricalOnOneHotTargetsOfASoftmax) {
  // On a softmax (rows sum to 1, nothing clipped) both are -log p[y]: an independent
  // implementation, with a mask as weights over [samples, steps].
  Rng rng(8);
  const Tensor p = Softmax(Tensor(RandomUniform({2, 3, 4}, -2, 2, rng)));
  const Array labels = xt::xtensor<Real, 2>{{0, 3, 1}, {2, 2, 0}};
  Array one_hot = xt::zeros<Real>({2, 3, 4});
  for (size_t i = 0; i < 2; ++i) {
    for (size_t t = 0; t < 3; ++t) one_hot(i, t, static_cast<size_t>(labels(i, t))) = 1;
  }
  const Array mask = xt::xtensor<Real, 2>{{1, 1, 0}, {1, 0, 0}};
  EXPECT_NEAR(SparseCategoricalCrossentropy(p, labels, &mask).item(),
              CategoricalCrossentropy(p, one_hot, &mask).item(), 1e-14);
}

TEST(SparseCategoricalCrossentropy, Gradients) {
  const Array labels = xt::xtensor<Real, 2>{{0, 3, 1}, {2, 2, 0}};
  const Array weights = xt::xtensor<Real, 2>{{1, 0.5, 0}, {2, 1, 1}};
  EXPECT_GRADCHECK(
      [&](const Inputs& in) { return SparseCategoricalCrossentropy(Softmax(in[0]), labels); },
      Inputs{Param({2, 3, 4}, -2, 2, 9)});
  // Not a softmax: the renormalisation is differentiated too.
  EXPECT_GRADCHECK(
      [&](const Inputs& in) { return SparseCategoricalCrossentropy(in[0], labels, &weights); },
      Inputs{Param({2, 3, 4}, 0.1, 0.9, 10)});
}

TEST(SparseCategoricalCrossentropy, BadTargetsAreAnError) {
  const Tensor p(Array(xt::zeros<Real>({2, 3, 4}) + 0.25));
  const auto message = [&](Real bad) {
    Array labels = xt::zeros<Real>({2, 3});
    labels(1, 2) = bad;
    return Thrown<std::out_of_range>([&] { SparseCategoricalCrossentropy(p, labels); });
  };
  EXPECT_EQ(message(4),
            "SparseCategoricalCrossentropy: target 4 at (1, 2) is not a class: "
            "expected a whole number in [0, 4)");
  EXPECT_EQ(message(1.5),
            "SparseCategoricalCrossentropy: target 1.5 at (1, 2) is not a class: "
            "expected a whole number in [0, 4)");
  EXPECT_EQ(message(-1),
            "SparseCategoricalCrossentropy: target -1 at (1, 2) is not a class: "
            "expected a whole number in [0, 4)");
  EXPECT_EQ(message(NAN),
            "SparseCategoricalCrossentropy: target nan at (1, 2) is not a class: "
            "expected a whole number in [0, 4)");
  EXPECT_EQ(Thrown<ShapeError>([&] {
              SparseCategoricalCrossentropy(p, Array(xt::zeros<Real>({2, 4})));
            }),
            "SparseCategoricalCrossentropy: targets expected shape (2, 3) (the predictions' (2, 3, "
            "4) without the class axis) or (2, 3, 1), got (2, 4)");
}

}  // namespace
}  // namespace autograd
