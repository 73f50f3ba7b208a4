// int8 inference (Model::set_int8_inference) against float32 Predict on the same weights.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "autograd/quantized.h"
#include "layers/dense.h"
#include "layers/masking.h"
#include "layers/recurrent.h"
#include "layers/sequential.h"
#include "xtensor/xbuilder.hpp"

namespace layers {
namespace {

Array Uniform(Shape shape, double low, double high, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> uniform(low, high);
  Array x = Array::from_shape(shape);
  for (Real& v : x) v = static_cast<Real>(uniform(rng));
  return x;
}

// Runs Predict in float32 and in int8; returns both.
std::pair<Array, Array> BothWays(Sequential& model, const Array& x) {
  model.set_int8_inference(false);
  absl::StatusOr<Array> float32 = model.Predict(x, 16);
  model.set_int8_inference(true);
  EXPECT_TRUE(model.int8_inference());
  absl::StatusOr<Array> int8 = model.Predict(x, 16);
  model.set_int8_inference(false);
  EXPECT_TRUE(float32.ok()) << float32.status();
  EXPECT_TRUE(int8.ok()) << int8.status();
  return {*float32, *int8};
}

double LargestDifference(const Array& a, const Array& b) {
  EXPECT_EQ(a.shape(), b.shape());
  double largest = 0;
  for (size_t k = 0; k < std::min(a.size(), b.size()); ++k) {
    largest = std::max(largest, std::fabs(double(a.data()[k]) - b.data()[k]));
  }
  return largest;
}

// A linear Dense is one quantized product plus the bias: each output within the bound of
// autograd/quantized.h, computed here from the inputs' rows and the kernel's columns.
TEST(Int8, DenseWithinTheQuantizationBound) {
  if (!autograd::HasInt8Dot()) GTEST_SKIP() << "no VNNI: int8 inference runs float32 here";
  Sequential model(3);
  model.Add(Dense(7), {30});
  ASSERT_TRUE(model.Build().ok());
  const Array x = Uniform({40, 30}, -2, 1, 5);
  const auto [float32, int8] = BothWays(model, x);
  const Array kernel = model.GetWeights()[0];
  double largest = 0;
  for (size_t i = 0; i < 40; ++i) {
    double low = 0, high = 0;
    for (size_t p = 0; p < 30; ++p) {
      low = std::min<double>(low, x(i, p));
      high = std::max<double>(high, x(i, p));
    }
    const double s_a = (high - low) / 255;
    for (size_t j = 0; j < 7; ++j) {
      double top = 0, bound = 0;
      for (size_t p = 0; p < 30; ++p) top = std::max(top, std::fabs(double(kernel(p, j))));
      const double s_b = top / 127;
      for (size_t p = 0; p < 30; ++p) {
        bound += std::fabs(x(i, p)) * s_b / 2 + std::fabs(kernel(p, j)) * s_a / 2 + s_a * s_b / 4;
      }
      const double error = std::fabs(double(int8(i, j)) - float32(i, j));
      EXPECT_LE(error, bound + 1e-5) << i << ", " << j;
      largest = std::max(largest, error);
    }
  }
  EXPECT_GT(largest, 1e-6) << "int8 gave float32's numbers: it did not run";
}

// LSTM into LSTM (no Dense: that one is tested above) on random inputs in [-1, 1]. Bound 0.03 on
// the outputs: each pre-activation's error is a sum of K independent rounding errors (K = 8 inputs,
// 20 units), each at most half a step (steps ~ 0.002 for these kernels and 1/127 of |h| <= 1), so
// its standard deviation is ~ 0.002 * sqrt(K) / sqrt(12) < 0.003; the gates are 1-Lipschitz and the
// forget gate
// (~0.5 here) damps what the state carries, so an output's error stays a few times one step's:
// 0.03 is ten standard deviations.
TEST(Int8, LstmPredictNearFloat32) {
  if (!autograd::HasInt8Dot()) GTEST_SKIP() << "no VNNI: int8 inference runs float32 here";
  Sequential model(11);
  model.Add(LSTM(LstmOptions(20).return_sequences(true)), {12, 8});
  model.Add(LSTM(20));
  ASSERT_TRUE(model.Build().ok());
  const Array x = Uniform({50, 12, 8}, -1, 1, 9);
  const auto [float32, int8] = BothWays(model, x);
  ASSERT_EQ(float32.shape(), int8.shape());
  const double largest = LargestDifference(float32, int8);
  EXPECT_LE(largest, 0.03);
  EXPECT_GT(largest, 1e-6) << "int8 gave float32's numbers: it did not run";
}

// GRU and SimpleRNN go through the same fused op.
TEST(Int8, GruAndSimpleRnnPredictNearFloat32) {
  if (!autograd::HasInt8Dot()) GTEST_SKIP() << "no VNNI: int8 inference runs float32 here";
  for (int kind = 0; kind < 2; ++kind) {
    Sequential model(13);
    model.Add(kind == 0 ? GRU(20) : SimpleRNN(20), {12, 8});
    ASSERT_TRUE(model.Build().ok());
    const Array x = Uniform({50, 12, 8}, -1, 1, 4);
    const auto [float32, int8] = BothWays(model, x);
    const double largest = LargestDifference(float32, int8);
    EXPECT_LE(largest, 0.03) << (kind == 0 ? "GRU" : "SimpleRNN");
    EXPECT_GT(largest, 1e-6) << (kind == 0 ? "GRU" : "SimpleRNN");
  }
}

// Masked steps (Masking, steps of zeros at the start of some sequences and at the end of others)
// and go_backwards (Bidirectional) take the same int8 path: a masked step carries the state, and
// its output, over in both ways, so the masked outputs of int8 and float32 agree as the rest do.
TEST(Int8, MaskedBidirectionalLstmNearFloat32) {
  if (!autograd::HasInt8Dot()) GTEST_SKIP() << "no VNNI: int8 inference runs float32 here";
  Sequential model(17);
  model.Add(Masking(), {15, 6});
  model.Add(Bidirectional(LSTM(LstmOptions(24).return_sequences(true))));
  ASSERT_TRUE(model.Build().ok());
  Array x = Uniform({37, 15, 6}, -1, 1, 21);
  for (size_t i = 0; i < 37; ++i) {
    const size_t masked = i % 5;  // steps of zeros: leading for even rows, trailing for odd
    for (size_t step = 0; step < masked; ++step) {
      const size_t t = i % 2 == 0 ? step : 14 - step;
      for (size_t f = 0; f < 6; ++f) x(i, t, f) = 0;
    }
  }
  const auto [float32, int8] = BothWays(model, x);
  ASSERT_EQ(float32.shape(), int8.shape());
  const double largest = LargestDifference(float32, int8);
  EXPECT_LE(largest, 0.03);
  EXPECT_GT(largest, 1e-6) << "int8 gave float32's numbers: it did not run";
}

// A NaN in a sequence's inputs makes that sequence's outputs NaN, as in float32, and leaves the
// other sequences of the batch alone: quantizing hides nothing and spreads nothing.
TEST(Int8, NanInputsGiveNanOutputsAsFloat32) {
  if (!autograd::HasInt8Dot()) GTEST_SKIP() << "no VNNI: int8 inference runs float32 here";
  Sequential model(5);
  model.Add(LSTM(20), {12, 8});
  model.Add(Dense(3));
  ASSERT_TRUE(model.Build().ok());
  Array x = Uniform({10, 12, 8}, -1, 1, 6);
  x(3, 5, 2) = std::numeric_limits<Real>::quiet_NaN();
  const auto [float32, int8] = BothWays(model, x);
  for (size_t i = 0; i < 10; ++i) {
    for (size_t j = 0; j < 3; ++j) {
      EXPECT_EQ(std::isnan(double(int8(i, j))), i == 3) << "row " << i << " column " << j;
      EXPECT_EQ(std::isnan(double(float32(i, j))), i == 3) << "row " << i << " column " << j;
    }
  }
}

}  // namespace
}  // namespace layers
