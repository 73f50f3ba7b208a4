// LstmSequence's forward pass against values worked out by hand in the test.
#include "autograd/recurrent.h"

#include <cmath>

#include <gtest/gtest.h>

#include "autograd/autograd.h"

namespace autograd {
namespace {

// A [1, n] matrix.
Array Row(std::initializer_list<double> values) {
  Array row = Array::from_shape({1, values.size()});
  std::copy(values.begin(), values.end(), row.begin());
  return row;
}

double Sig(double z) { return 1 / (1 + std::exp(-z)); }

// One unit, one input feature, two steps, distinct weights per gate.
struct TinyLstm {
  // kernel [1, 4]: i, f, c, o
  double wi = 0.5, wf = -0.3, wc = 0.8, wo = 0.2;
  double ui = 0.1, uf = 0.4, uc = -0.6, uo = 0.7;
  double bi = 0.05, bf = 1.0, bc = -0.1, bo = 0.2;

  // Returns h after each step for the inputs in the given order.
  std::vector<double> Run(std::vector<double> xs, double h, double c) const {
    std::vector<double> hs;
    for (double x : xs) {
      const double i = Sig(wi * x + ui * h + bi);
      const double f = Sig(wf * x + uf * h + bf);
      const double g = std::tanh(wc * x + uc * h + bc);
      const double o = Sig(wo * x + uo * h + bo);
      c = f * c + i * g;
      h = o * std::tanh(c);
      hs.push_back(h);
    }
    return hs;
  }

  Tensor Call(const std::vector<double>& xs, double h0, double c0, bool go_backwards) const {
    Array x = Array::from_shape({1, xs.size(), 1});
    for (size_t t = 0; t < xs.size(); ++t) x(0, t, 0) = static_cast<Real>(xs[t]);
    return LstmSequence(Tensor(x), Tensor(Row({h0})), Tensor(Row({c0})),
                        Tensor(Row({wi, wf, wc, wo})),
                        Tensor(Row({ui, uf, uc, uo})),
                        Tensor(Array{Real(bi), Real(bf), Real(bc), Real(bo)}), go_backwards);
  }
};

TEST(LstmSequence, ForwardMatchesHandComputation) {
  const TinyLstm lstm;
  const std::vector<double> hand = lstm.Run({0.7, -1.2}, 0.3, -0.2);
  const Array out = lstm.Call({0.7, -1.2}, 0.3, -0.2, false).value();
  ASSERT_EQ(ShapeOf(out), (Shape{1, 2, 1}));
  EXPECT_NEAR(out(0, 0, 0), hand[0], 1e-6);
  EXPECT_NEAR(out(0, 1, 0), hand[1], 1e-6);
}

TEST(LstmSequence, GoBackwardsReadsTheInputReversedAndReturnsProcessingOrder) {
  const TinyLstm lstm;
  const std::vector<double> hand = lstm.Run({-1.2, 0.7}, 0, 0);  // input reversed
  const Array out = lstm.Call({0.7, -1.2}, 0, 0, true).value();
  EXPECT_NEAR(out(0, 0, 0), hand[0], 1e-6);  // the step that read x[1] comes first
  EXPECT_NEAR(out(0, 1, 0), hand[1], 1e-6);
}

TEST(LstmSequence, RejectsMismatchedWeights) {
  const Tensor x(xt::zeros<Real>({2, 3, 4})), state(xt::zeros<Real>({2, 5}));
  try {
    LstmSequence(x, state, state, Tensor(xt::zeros<Real>({3, 20})),
                 Tensor(xt::zeros<Real>({5, 20})), Tensor(xt::zeros<Real>({20})), false);
    FAIL() << "expected a ShapeError";
  } catch (const ShapeError& error) {
    EXPECT_STREQ(error.what(), "LstmSequence: kernel expected shape (4, 20), got (3, 20)");
  }
}

TEST(SimpleRnnSequence, ForwardMatchesHandComputation) {
  // One unit: h1 = tanh(0.5 * 0.7 + 0.3 * (-0.4) + 0.1), h2 = tanh(0.5 * (-1.2) + 0.3 * h1 + 0.1).
  Array x = Array::from_shape({1, 2, 1});
  x(0, 0, 0) = 0.7f;
  x(0, 1, 0) = -1.2f;
  const Array out = SimpleRnnSequence(Tensor(x), Tensor(Row({-0.4})), Tensor(Row({0.5})),
                                      Tensor(Row({0.3})), Tensor(Array{0.1f}), false)
                        .value();
  const double h1 = std::tanh(0.5 * 0.7 + 0.3 * -0.4 + 0.1);
  const double h2 = std::tanh(0.5 * -1.2 + 0.3 * h1 + 0.1);
  EXPECT_NEAR(out(0, 0, 0), h1, 1e-6);
  EXPECT_NEAR(out(0, 1, 0), h2, 1e-6);
}

TEST(GruSequence, ForwardMatchesHandComputation) {
  // One unit, Keras' reset_after GRU; gate order z, r, h; bias rows: input, recurrent.
  const double wz = 0.4, wr = -0.6, wh = 0.9, uz = 0.2, ur = 0.5, uh = -0.7;
  const double bz = 0.1, br = -0.2, bh = 0.05, rz = 0.3, rr = 0.15, rh = -0.1;
  Array x = Array::from_shape({1, 2, 1});
  x(0, 0, 0) = 0.8f;
  x(0, 1, 0) = -0.5f;
  Array bias = Array::from_shape({2, 3});
  bias(0, 0) = bz, bias(0, 1) = br, bias(0, 2) = bh;
  bias(1, 0) = rz, bias(1, 1) = rr, bias(1, 2) = rh;
  const Array out = GruSequence(Tensor(x), Tensor(Row({0.25})), Tensor(Row({wz, wr, wh})),
                                Tensor(Row({uz, ur, uh})), Tensor(bias), false)
                        .value();
  double h = 0.25;
  for (size_t t = 0; t < 2; ++t) {
    const double xt = t == 0 ? 0.8 : -0.5;
    const double z = Sig(wz * xt + bz + uz * h + rz);
    const double r = Sig(wr * xt + br + ur * h + rr);
    const double n = std::tanh(wh * xt + bh + r * (uh * h + rh));
    h = z * h + (1 - z) * n;
    EXPECT_NEAR(out(0, t, 0), h, 1e-6) << "step " << t;
  }
}

}  // namespace
}  // namespace autograd
