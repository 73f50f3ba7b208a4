#include "layers/dropout.h"

#include <gtest/gtest.h>

namespace layers {
namespace {

TEST(Dropout, InvertedInTrainingIdentityOtherwise) {
  Rng rng(1);
  LayerPtr dropout = Dropout(0.2);
  ASSERT_TRUE(dropout->Build({1000}, rng).ok());
  const Tensor x(xt::ones<Real>({10, 1000}));
  EXPECT_EQ(dropout->Call(x, false).value(), x.value());
  const Array y = dropout->Call(x, true).value();
  size_t zeros = 0;
  for (Real value : y) {
    if (value == 0) {
      ++zeros;
    } else {
      EXPECT_FLOAT_EQ(value, 1.25f);
    }
  }
  EXPECT_NEAR(zeros / 10000.0, 0.2, 0.015);
  EXPECT_FALSE(Dropout(1.0)->Build({3}, rng).ok());
}

}  // namespace
}  // namespace layers
