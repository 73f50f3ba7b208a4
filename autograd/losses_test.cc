// The losses' values against numbers computed by hand, and their gradients against finite
// differences (this test links //autograd:autograd_f64, so both are checked in double).
#include "autograd/losses.h"

#include <gtest/gtest.h>

#include <cmath>
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

}  // namespace
}  // namespace autograd
