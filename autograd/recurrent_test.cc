// LstmSequence's forward pass against values worked out by hand in the test.
#include "autograd/recurrent.h"

#include <gtest/gtest.h>

#include <cmath>

#include "autograd/autograd.h"
#include "xtensor/xtensor.hpp"

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
                        Tensor(Row({wi, wf, wc, wo})), Tensor(Row({ui, uf, uc, uo})),
                        Tensor(Array{Real(bi), Real(bf), Real(bc), Real(bo)}),
                        SequenceOptions().go_backwards(go_backwards));
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
                 Tensor(xt::zeros<Real>({5, 20})), Tensor(xt::zeros<Real>({20})),
                 SequenceOptions().go_backwards(false));
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
  const Array out =
      SimpleRnnSequence(Tensor(x), Tensor(Row({-0.4})), Tensor(Row({0.5})), Tensor(Row({0.3})),
                        Tensor(Array{0.1f}), SequenceOptions().go_backwards(false))
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
  const Array out =
      GruSequence(Tensor(x), Tensor(Row({0.25})), Tensor(Row({wz, wr, wh})),
                  Tensor(Row({uz, ur, uh})), Tensor(bias), SequenceOptions().go_backwards(false))
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

// The other activations, one unit, worked by hand. hard_sigmoid(x) = clip(0.2 x + 0.5, 0, 1).
TEST(Activations, SimpleRnnReluAndLinear) {
  const Tensor x(Array(xt::xtensor<Real, 3>{{{1}, {-2}}}));
  const Tensor h0(Row({0})), kernel(Row({0.5})), recurrent(Row({-0.3})), bias(Array{0.2f});
  // relu: h1 = relu(0.5 + 0.2) = 0.7; h2 = relu(-1 - 0.21 + 0.2) = 0.
  const Array relu = SimpleRnnSequence(x, h0, kernel, recurrent, bias,
                                       SequenceOptions()
                                           .go_backwards(false)
                                           .recurrent_mask(nullptr)
                                           .step_mask(nullptr)
                                           .zero_output_for_mask(false)
                                           .activations({Activation::kRelu, Activation::kSigmoid}))
                         .value();
  EXPECT_NEAR(relu(0, 0, 0), 0.7, 1e-6);
  EXPECT_EQ(relu(0, 1, 0), 0);
  // linear: h2 = -1 - 0.21 + 0.2 = -1.01.
  const Array linear =
      SimpleRnnSequence(x, h0, kernel, recurrent, bias,
                        SequenceOptions()
                            .go_backwards(false)
                            .recurrent_mask(nullptr)
                            .step_mask(nullptr)
                            .zero_output_for_mask(false)
                            .activations({Activation::kLinear, Activation::kSigmoid}))
          .value();
  EXPECT_NEAR(linear(0, 1, 0), -1.01, 1e-6);
}

TEST(Activations, LstmReluWithHardSigmoidGates) {
  // x = 1, kernel (i, f, c, o) = (0.5, 1, 2, -1), no recurrent product (h0 = 0), c0 = 0.5:
  // i = hs(0.5) = 0.6, f = hs(1) = 0.7, g = relu(2) = 2, o = hs(-1) = 0.3;
  // c = 0.7 * 0.5 + 0.6 * 2 = 1.55; h = 0.3 * relu(1.55) = 0.465.
  const Tensor x(Array(xt::xtensor<Real, 3>{{{1}}}));
  const Array y =
      LstmSequence(x, Tensor(Row({0})), Tensor(Row({0.5})), Tensor(Row({0.5, 1, 2, -1})),
                   Tensor(Row({0.3, 0.3, 0.3, 0.3})), Tensor(Array{0.f, 0.f, 0.f, 0.f}),
                   SequenceOptions()
                       .go_backwards(false)
                       .recurrent_mask(nullptr)
                       .step_mask(nullptr)
                       .zero_output_for_mask(false)
                       .activations({Activation::kRelu, Activation::kHardSigmoid}))
          .value();
  EXPECT_NEAR(y(0, 0, 0), 0.465, 1e-6);
  // Clipped gates: x = 20 saturates i, f, o at 1 (and c's relu passes 40).
  const Array big = LstmSequence(Tensor(Array(xt::xtensor<Real, 3>{{{20}}})), Tensor(Row({0})),
                                 Tensor(Row({0.5})), Tensor(Row({0.5, 1, 2, 1})),
                                 Tensor(Row({0, 0, 0, 0})), Tensor(Array{0.f, 0.f, 0.f, 0.f}),
                                 SequenceOptions()
                                     .go_backwards(false)
                                     .recurrent_mask(nullptr)
                                     .step_mask(nullptr)
                                     .zero_output_for_mask(false)
                                     .activations({Activation::kRelu, Activation::kHardSigmoid}))
                        .value();
  EXPECT_NEAR(big(0, 0, 0), 40.5, 1e-5);  // c = 1 * 0.5 + 1 * 40
}

TEST(Activations, GruLinearWithHardSigmoidGates) {
  // x = 1, kernel (z, r, h) = (0.5, -1, 2), recurrent kernel all 1, biases 0, h0 = 0.4:
  // z = hs(0.9) = 0.68, r = hs(-0.6) = 0.38, n = 2 + 0.38 * 0.4 = 2.152,
  // h = 0.68 * 0.4 + 0.32 * 2.152 = 0.96064.
  const Tensor x(Array(xt::xtensor<Real, 3>{{{1}}}));
  const Array y = GruSequence(x, Tensor(Row({0.4})), Tensor(Row({0.5, -1, 2})),
                              Tensor(Row({1, 1, 1})), Tensor(Array(xt::zeros<Real>({2, 3}))),
                              SequenceOptions()
                                  .go_backwards(false)
                                  .recurrent_mask(nullptr)
                                  .step_mask(nullptr)
                                  .zero_output_for_mask(false)
                                  .activations({Activation::kLinear, Activation::kHardSigmoid}))
                      .value();
  EXPECT_NEAR(y(0, 0, 0), 0.96064, 1e-6);
}

// recurrent_dropout: the mask multiplies h in the recurrent products only.
TEST(RecurrentMask, SimpleRnnAndGruByHand) {
  const Array mask = Row({2});  // a kept unit at rate 0.5
  // SimpleRNN: h1 = tanh(0.7); h2 = tanh(1 - 0.3 * (2 h1) + 0.2).
  const Tensor x(Array(xt::xtensor<Real, 3>{{{1}, {2}}}));
  const Array rnn = SimpleRnnSequence(x, Tensor(Row({0})), Tensor(Row({0.5})), Tensor(Row({-0.3})),
                                      Tensor(Array{0.2f}),
                                      SequenceOptions().go_backwards(false).recurrent_mask(&mask))
                        .value();
  const double h1 = std::tanh(0.7);
  EXPECT_NEAR(rnn(0, 1, 0), std::tanh(1.2 - 0.6 * h1), 1e-6);
  // GRU, one step from h0 = 0.4: the products see 0.8, the mix the unmasked 0.4.
  const Tensor one(Array(xt::xtensor<Real, 3>{{{1}}}));
  const Array gru = GruSequence(one, Tensor(Row({0.4})), Tensor(Row({0.5, -1, 2})),
                                Tensor(Row({1, 1, 1})), Tensor(Array(xt::zeros<Real>({2, 3}))),
                                SequenceOptions().go_backwards(false).recurrent_mask(&mask))
                        .value();
  const double z = Sig(0.5 + 0.8), r = Sig(-1 + 0.8), n = std::tanh(2 + r * 0.8);
  EXPECT_NEAR(gru(0, 0, 0), z * 0.4 + (1 - z) * n, 1e-6);
}

// reset_after = false, two units so that (r h) U differs from r (h U): x = 1, h0 = (0.4, -0.2),
// kernel columns (z1, z2, r1, r2, h1, h2), U rows per unit, bias per column.
TEST(GruResetBeforeSequence, ForwardMatchesHandComputation) {
  const double k[6] = {0.5, -0.3, -1.0, 0.6, 2.0, -0.7};
  const double u[2][6] = {{0.3, -0.2, 0.5, 0.1, 0.4, -0.6}, {-0.1, 0.2, 0.3, -0.4, 0.8, 0.9}};
  const double b[6] = {0.1, 0.0, 0.2, -0.1, 0.3, 0.05};
  const double h0[2] = {0.4, -0.2};
  double z[2], r[2], n[2], h[2];
  for (int j = 0; j < 2; ++j) {
    z[j] = Sig(k[j] + h0[0] * u[0][j] + h0[1] * u[1][j] + b[j]);
    r[j] = Sig(k[2 + j] + h0[0] * u[0][2 + j] + h0[1] * u[1][2 + j] + b[2 + j]);
  }
  for (int j = 0; j < 2; ++j) {
    n[j] = std::tanh(k[4 + j] + r[0] * h0[0] * u[0][4 + j] + r[1] * h0[1] * u[1][4 + j] + b[4 + j]);
    h[j] = z[j] * h0[j] + (1 - z[j]) * n[j];
  }
  Array kernel = Array::from_shape({1, 6}), recurrent = Array::from_shape({2, 6});
  Array bias = Array::from_shape({6});
  for (int c = 0; c < 6; ++c) {
    kernel(0, c) = k[c];
    recurrent(0, c) = u[0][c];
    recurrent(1, c) = u[1][c];
    bias(c) = b[c];
  }
  const Array y =
      GruResetBeforeSequence(Tensor(Array(xt::xtensor<Real, 3>{{{1}}})), Tensor(Row({0.4, -0.2})),
                             Tensor(kernel), Tensor(recurrent), Tensor(bias),
                             SequenceOptions().go_backwards(false))
          .value();
  EXPECT_NEAR(y(0, 0, 0), h[0], 1e-6);
  EXPECT_NEAR(y(0, 0, 1), h[1], 1e-6);
}

}  // namespace
}  // namespace autograd
