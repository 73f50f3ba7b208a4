#include "autograd/tensor.h"

#include <gtest/gtest.h>

#include "autograd/autograd.h"
#include "xtensor/xtensor.hpp"

namespace autograd {
namespace {

TEST(Tape, GradientsAccumulateForATensorUsedTwice) {
  Tensor x(Array{3.0f}, /*requires_grad=*/true);
  // y = x * x + x: dy/dx = 2x + 1 = 7.
  Tensor y = Add(Mul(x, x), x);
  ASSERT_TRUE(CurrentTape().Backward(y).ok());
  EXPECT_FLOAT_EQ(x.grad()(0), 7.0f);
  // A second pass adds on top (+= semantics) until the gradient is zeroed.
  Tensor z = Scale(x, 2);
  ASSERT_TRUE(CurrentTape().Backward(z).ok());
  EXPECT_FLOAT_EQ(x.grad()(0), 9.0f);
  x.ZeroGrad();
  EXPECT_FLOAT_EQ(x.grad()(0), 0.0f);
}

TEST(Tape, BackwardClearsTheTape) {
  Tensor x(Array{1.0f, 2.0f}, true);
  Tensor y = Sum(Tanh(x));
  EXPECT_EQ(CurrentTape().size(), 2u);
  ASSERT_TRUE(CurrentTape().Backward(y).ok());
  EXPECT_EQ(CurrentTape().size(), 0u);
}

TEST(Tape, NoGradRecordsNothing) {
  Tensor x(Array{1.0f, 2.0f}, true);
  {
    NoGradGuard no_grad;
    Tensor y = Sum(Sigmoid(Mul(x, x)));
    EXPECT_FALSE(y.requires_grad());
    EXPECT_EQ(CurrentTape().size(), 0u);
  }
  Tensor y = Sum(x);
  EXPECT_TRUE(y.requires_grad());
  CurrentTape().Clear();
}

TEST(Tape, ConstantsRecordNothing) {
  Tensor a(Array{1.0f}), b(Array{2.0f});
  Tensor c = Add(a, b);
  EXPECT_FALSE(c.requires_grad());
  EXPECT_EQ(CurrentTape().size(), 0u);
  EXPECT_FALSE(CurrentTape().Backward(c).ok());
}

TEST(Tape, DeepGraphDoesNotRecurse) {
  // 200,000 chained ops: a recursive backward or destructor chain would overflow the stack.
  Tensor x(Array{0.5f}, true);
  Tensor h = x;
  for (int step = 0; step < 200000; ++step) h = Scale(h, 1.0f);
  ASSERT_TRUE(CurrentTape().Backward(h).ok());
  EXPECT_FLOAT_EQ(x.grad()(0), 1.0f);
}

TEST(Tape, UnrolledLstmOverFiveHundredSteps) {
  Rng rng(3);
  const size_t units = 4;
  Tensor x(RandomUniform({2, 500, 3}, -1, 1, rng), true);
  Tensor h0(xt::zeros<Real>(Shape{2, units})), c0(xt::zeros<Real>(Shape{2, units}));
  Tensor kernel(GlorotUniform({3, 4 * units}, 3, 4 * units, rng), true);
  Tensor recurrent(Orthogonal(units, 4 * units, rng), true);
  Tensor bias(xt::zeros<Real>(Shape{4 * units}), true);
  Tensor loss =
      Mean(LstmSequence(x, h0, c0, kernel, recurrent, bias, SequenceOptions().go_backwards(false)));
  ASSERT_TRUE(CurrentTape().Backward(loss).ok());
  EXPECT_GT(xt::sum(xt::abs(kernel.grad()))(), 0.0f);
  EXPECT_TRUE(xt::all(xt::isfinite(x.grad())));
}

TEST(Shapes, MismatchNamesTheOpAndBothShapes) {
  Tensor a(xt::zeros<Real>({2, 3})), b(xt::zeros<Real>({4, 3}));
  try {
    Add(a, b);
    FAIL() << "expected a ShapeError";
  } catch (const ShapeError& error) {
    EXPECT_STREQ(error.what(), "Add: cannot broadcast shape (2, 3) with shape (4, 3)");
  }
  try {
    MatMul(a, b);
    FAIL() << "expected a ShapeError";
  } catch (const ShapeError& error) {
    EXPECT_NE(std::string(error.what()).find("MatMul: cannot multiply (2, 3) by (4, 3)"),
              std::string::npos);
  }
  EXPECT_THROW(Reshape(a, {5}), ShapeError);
  EXPECT_THROW(Concat({a, Tensor(xt::zeros<Real>({2, 3, 1}))}, 0), ShapeError);
  EXPECT_THROW(Slice(a, 1, 2, 4), ShapeError);
  EXPECT_THROW(Sum(a, 2), ShapeError);
}

// Two samples, each its own product: [[1, 2], [3, 4]] @ [[5], [6]] = [[17], [39]] and
// [[0, 1], [1, 0]] @ [[7], [8]] = [[8], [7]]; transposed, b is stored as [[5, 6]], [[7, 8]].
TEST(BatchMatMul, ValuesByHandAndShapeErrors) {
  const Array a = xt::xtensor<Real, 3>{{{1, 2}, {3, 4}}, {{0, 1}, {1, 0}}};
  const Array b = xt::xtensor<Real, 3>{{{5}, {6}}, {{7}, {8}}};
  const Array expected = xt::xtensor<Real, 3>{{{17}, {39}}, {{8}, {7}}};
  EXPECT_EQ(BatchMatMul(Tensor(a), Tensor(b)).value(), expected);
  const Array b_rows = xt::xtensor<Real, 3>{{{5, 6}}, {{7, 8}}};
  EXPECT_EQ(BatchMatMul(Tensor(a), Tensor(b_rows), /*transpose_b=*/true).value(), expected);
  try {
    BatchMatMul(Tensor(a), Tensor(xt::zeros<Real>({3, 2, 1})));
    FAIL() << "expected a ShapeError";
  } catch (const ShapeError& error) {
    EXPECT_STREQ(error.what(),
                 "BatchMatMul: cannot multiply (2, 2, 2) by (3, 2, 1) (expected [batch, n, k] @ "
                 "[batch, k, m])");
  }
  EXPECT_THROW(BatchMatMul(Tensor(a), Tensor(b), /*transpose_b=*/true), ShapeError);
  EXPECT_THROW(BatchMatMul(Tensor(xt::zeros<Real>({2, 2})), Tensor(b)), ShapeError);
}

TEST(Shapes, AccumulationChecksTheGradientShape) {
  Tensor x(xt::zeros<Real>({2, 2}), true);
  try {
    AccumulateGrad(x, xt::zeros<Real>({3}), "Test");
    FAIL() << "expected a ShapeError";
  } catch (const ShapeError& error) {
    EXPECT_STREQ(error.what(), "Test backward: gradient shape expected (2, 2), got (3)");
  }
}

TEST(Values, ForwardResultsComputedByHand) {
  Tensor a(Array(xt::xtensor<Real, 2>{{1.0f, 2.0f}, {3.0f, 4.0f}}));
  Tensor b(Array(xt::xtensor<Real, 2>{{5.0f}, {6.0f}}));
  // [1 2; 3 4] @ [5; 6] = [17; 39]
  const Array product = MatMul(a, b).value();
  EXPECT_FLOAT_EQ(product(0, 0), 17.0f);
  EXPECT_FLOAT_EQ(product(1, 0), 39.0f);
  EXPECT_FLOAT_EQ(Reverse(a, 1).value()(0, 0), 2.0f);
  EXPECT_FLOAT_EQ(Concat({a, a}, 1).value()(1, 3), 4.0f);
  EXPECT_FLOAT_EQ(Slice(a, 0, 1, 2).value()(0, 1), 4.0f);
  EXPECT_FLOAT_EQ(Mean(a, 0).value()(1), 3.0f);
  // softmax([0, ln 3]) = [1/4, 3/4]
  const Array soft = Softmax(Tensor(Array{0.0f, std::log(3.0f)})).value();
  EXPECT_NEAR(soft(0), 0.25f, 1e-6);
  EXPECT_NEAR(soft(1), 0.75f, 1e-6);
  // BCE of p = 0.8 with y = 1 and p = 0 (clipped to 1e-7) with y = 0.
  const Real bce = BinaryCrossentropy(Tensor(Array{0.8f, 0.0f}), Array{1.0f, 0.0f}).item();
  EXPECT_NEAR(bce, (-std::log(0.8) - std::log(1 - 1e-7)) / 2, 1e-6);
  // Clipping at the other end: p = 1 with y = 0. In float32, 1 - 1e-7 rounds to 1 - 2^-23, so
  // the cost is -log(2^-23) = 23 ln 2 = 15.942385 (Keras prints the same figure).
  EXPECT_NEAR(BinaryCrossentropy(Tensor(Array{1.0f}), Array{0.0f}).item(), 23 * std::log(2.0),
              1e-5);
}

// An empty inner dimension: the product is all zeros (it returned uninitialised memory), and so are
// the gradients that flow back through it.
TEST(Values, MatMulOverAnEmptyInnerDimensionIsZero) {
  Tensor a(Array::from_shape({2, 0}), true), b(Array::from_shape({0, 3}), true);
  Tensor product = MatMul(a, b);
  ASSERT_EQ(product.shape(), (Shape{2, 3}));
  for (Real value : product.value()) EXPECT_EQ(value, 0);
  ASSERT_TRUE(CurrentTape().Backward(Sum(product)).ok());
  EXPECT_EQ(a.grad().size(), 0u);
  EXPECT_EQ(b.grad().size(), 0u);
}

// Broadcast fast paths (a bias over rows, equal shapes) against values worked out by hand, both
// operand orders, with gradients summed back to each operand's shape.
TEST(Values, BroadcastOverRowsBothWays) {
  Tensor rows(Array{{1, 2, 3}, {4, 5, 6}}, true), bias(Array{10, 20, 30}, true);
  EXPECT_EQ((rows - bias).value(), (Array{{-9, -18, -27}, {-6, -15, -24}}));
  Tensor difference = bias - rows;
  EXPECT_EQ(difference.value(), (Array{{9, 18, 27}, {6, 15, 24}}));
  ASSERT_TRUE(CurrentTape().Backward(Sum(difference)).ok());
  EXPECT_EQ(bias.grad(), (Array{2, 2, 2}));
  EXPECT_EQ(rows.grad(), (Array{{-1, -1, -1}, {-1, -1, -1}}));
  EXPECT_EQ((rows * rows).value(), (Array{{1, 4, 9}, {16, 25, 36}}));
}

TEST(Values, SigmoidBinaryCrossentropyEqualsTheUnclippedFormula) {
  // z = 2, y = 1: -log(sigmoid(2)); z = -30, y = 1: 30 + log(1 + e^-30), far past the clip.
  const Real loss =
      SigmoidBinaryCrossentropy(Tensor(Array{2.0f, -30.0f}), Array{1.0f, 1.0f}).item();
  EXPECT_NEAR(loss, (std::log(1 + std::exp(-2.0)) + 30 + std::log1p(std::exp(-30.0))) / 2, 1e-5);
  // Inside the clip range it equals the clipped formula on sigmoid(z), computed by hand here.
  const Array z = {0.3f, -1.2f};
  const Array y = {1.0f, 0.0f};
  const double p0 = 1 / (1 + std::exp(-0.3)), p1 = 1 / (1 + std::exp(1.2));
  EXPECT_NEAR(SigmoidBinaryCrossentropy(Tensor(z), y).item(),
              -(std::log(p0) + std::log(1 - p1)) / 2, 1e-6);
}

TEST(Values, BinaryCrossentropyOfASigmoidUsesItsLogitsEvenThroughReshape) {
  // tf.keras: binary_crossentropy on a sigmoid's output is computed from the sigmoid's input.
  // At z = -30, y = 1 the clipped formula would give -log(1e-7) = 16.1 and a zero gradient.
  const Tensor z(Array{{2.0f, -30.0f}}, /*requires_grad=*/true);
  const Tensor p = Reshape(Sigmoid(z), {2, 1});  // as TimeDistributed leaves it
  const Tensor loss = BinaryCrossentropy(p, xt::ones<Real>({2, 1}));
  EXPECT_NEAR(loss.item(), (std::log1p(std::exp(-2.0)) + 30 + std::log1p(std::exp(-30.0))) / 2,
              1e-5);
  ASSERT_TRUE(CurrentTape().Backward(loss).ok());
  // d/dz = (sigmoid(z) - y) / 2.
  EXPECT_NEAR(z.grad()(0, 0), (1 / (1 + std::exp(-2.0)) - 1) / 2, 1e-6);
  EXPECT_NEAR(z.grad()(0, 1), (1 / (1 + std::exp(30.0)) - 1) / 2, 1e-6);
  // A tensor not made by a sigmoid keeps Keras' clipping.
  EXPECT_NEAR(BinaryCrossentropy(Tensor(Array{0.0f}), Array{1.0f}).item(), -std::log(1e-7), 1e-3);
}

TEST(Random, SameSeedSameNumbers) {
  Rng first(42), second(42), other(43);
  const Array a = GlorotUniform({5, 7}, 5, 7, first);
  const Array b = GlorotUniform({5, 7}, 5, 7, second);
  const Array c = GlorotUniform({5, 7}, 5, 7, other);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_TRUE(xt::all(xt::abs(a) <= std::sqrt(6.0f / 12.0f)));
}

TEST(Random, OrthogonalHasOrthonormalRows) {
  Rng rng(1);
  const Array q = Orthogonal(4, 16, rng);  // the LSTM recurrent kernel's shape for 4 units
  for (size_t i = 0; i < 4; ++i) {
    for (size_t j = 0; j < 4; ++j) {
      float dot = 0;
      for (size_t k = 0; k < 16; ++k) dot += q(i, k) * q(j, k);
      EXPECT_NEAR(dot, i == j ? 1.0f : 0.0f, 1e-5) << i << "," << j;
    }
  }
}

}  // namespace
}  // namespace autograd

namespace autograd {
namespace {

TEST(Values, ConvolutionAndPoolingByHand) {
  // x = [1, 2, 3] (one channel), kernel [1, 10, 100] (one filter), "same": pad 1 each side.
  Array x = Array::from_shape({1, 3, 1});
  x(0, 0, 0) = 1;
  x(0, 1, 0) = 2;
  x(0, 2, 0) = 3;
  Array k = Array::from_shape({3, 1, 1});
  k(0, 0, 0) = 1;
  k(1, 0, 0) = 10;
  k(2, 0, 0) = 100;
  const Array same = Conv1D(Tensor(x), Tensor(k), Padding::kSame).value();
  // out[t] = x[t-1] * 1 + x[t] * 10 + x[t+1] * 100
  EXPECT_FLOAT_EQ(same(0, 0, 0), 0 + 10 + 200);
  EXPECT_FLOAT_EQ(same(0, 1, 0), 1 + 20 + 300);
  EXPECT_FLOAT_EQ(same(0, 2, 0), 2 + 30 + 0);
  const Array valid = Conv1D(Tensor(x), Tensor(k), Padding::kValid).value();
  ASSERT_EQ(ShapeOf(valid), (Shape{1, 1, 1}));
  EXPECT_FLOAT_EQ(valid(0, 0, 0), 321);
  const Array pooled = MaxPool1D(Tensor(x), 2).value();
  ASSERT_EQ(ShapeOf(pooled), (Shape{1, 1, 1}));
  EXPECT_FLOAT_EQ(pooled(0, 0, 0), 2);
}

TEST(Values, GatherRowsLooksUpAndRejectsBadIndices) {
  const Tensor table(Array(xt::xtensor<Real, 2>{{0, 1}, {10, 11}, {20, 21}}));
  const Array rows = GatherRows(table, Array{2, 0}).value();
  EXPECT_FLOAT_EQ(rows(0, 1), 21);
  EXPECT_FLOAT_EQ(rows(1, 0), 0);
  EXPECT_THROW(GatherRows(table, Array{3}), std::out_of_range);
  EXPECT_THROW(GatherRows(table, Array{-1}), std::out_of_range);
  EXPECT_THROW(GatherRows(table, Array{0.5}), std::out_of_range);
}

}  // namespace
}  // namespace autograd
