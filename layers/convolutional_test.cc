#include "layers/convolutional.h"

#include <gtest/gtest.h>

#include "xtensor/xbuilder.hpp"

namespace layers {
namespace {

TEST(Conv1D, ForwardComputedByHand) {
  Rng rng(0);
  LayerPtr conv = Conv1D(1, 2, "same", "relu");
  ASSERT_TRUE(conv->Build({3, 2}, rng).ok());
  EXPECT_EQ(conv->output_shape(), (Shape{3, 1}));
  // kernel[j, c, 0]: j = 0 -> (1, 2), j = 1 -> (3, 4); bias -20. Kernel size 2 with "same" pads
  // nothing before and one step after.
  Array kernel = Array::from_shape({2, 2, 1});
  kernel(0, 0, 0) = 1;
  kernel(0, 1, 0) = 2;
  kernel(1, 0, 0) = 3;
  kernel(1, 1, 0) = 4;
  ASSERT_TRUE(conv->SetWeights({kernel, Array{-20.0f}}).ok());
  Array x = Array::from_shape({1, 3, 2});
  for (size_t k = 0; k < 6; ++k) x.data()[k] = static_cast<Real>(k + 1);  // rows (1,2) (3,4) (5,6)
  const Array y = conv->Call(Tensor(x), false).value();
  // t=0: 1*1 + 2*2 + 3*3 + 4*4 - 20 = 10; t=1: 3 + 8 + 15 + 24 - 20 = 30;
  // t=2: 5 + 12 + 0 - 20 = -3 -> relu 0.
  EXPECT_FLOAT_EQ(y(0, 0, 0), 10);
  EXPECT_FLOAT_EQ(y(0, 1, 0), 30);
  EXPECT_FLOAT_EQ(y(0, 2, 0), 0);
}

TEST(Conv1D, KerasParameterCountAndShapes) {
  Rng rng(0);
  LayerPtr conv = Conv1D(32, 3, "same", "relu");
  ASSERT_TRUE(conv->Build({500, 32}, rng).ok());
  EXPECT_EQ(conv->CountParams(), 3104u);
  LayerPtr valid = Conv1D(8, 3);
  ASSERT_TRUE(valid->Build({10, 4}, rng).ok());
  EXPECT_EQ(valid->output_shape(), (Shape{8, 8}));
  LayerPtr pool = MaxPooling1D(2);
  ASSERT_TRUE(pool->Build({500, 32}, rng).ok());
  EXPECT_EQ(pool->output_shape(), (Shape{250, 32}));
}

TEST(Conv1D, BadArguments) {
  Rng rng(0);
  LayerPtr conv = Conv1D(4, 3, "causal");
  conv->set_name("conv1d");
  EXPECT_EQ(conv->Build({10, 2}, rng).message(),
            "layer 'conv1d' (Conv1D) on input (None, 10, 2): unknown padding 'causal' (expected "
            "same or valid)");
  EXPECT_FALSE(Conv1D(4, 11)->Build({10, 2}, rng).ok());
  EXPECT_FALSE(MaxPooling1D(0)->Build({10, 2}, rng).ok());
  EXPECT_FALSE(MaxPooling1D(2)->Build({10}, rng).ok());
}

}  // namespace
}  // namespace layers
