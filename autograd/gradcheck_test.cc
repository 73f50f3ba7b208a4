// Every op's backward against central finite differences, in double precision
// (this test links //autograd:autograd_f64).
#include "autograd/gradcheck.h"

#include <gtest/gtest.h>

#include "autograd/autograd.h"
#include "autograd/runtime.h"
#include "xtensor/xtensor.hpp"
#include "xtensor/xview.hpp"

namespace autograd {
namespace {

static_assert(sizeof(Real) == sizeof(double), "gradcheck_test must link autograd_f64");

Tensor Param(const Shape& shape, double low, double high, uint64_t seed) {
  Rng rng(seed);
  return Tensor(RandomUniform(shape, low, high, rng), /*requires_grad=*/true);
}

using Inputs = std::vector<Tensor>;

#define EXPECT_GRADCHECK(fn, ...) \
  EXPECT_TRUE(Gradcheck(fn, __VA_ARGS__).ok()) << Gradcheck(fn, __VA_ARGS__)

TEST(Gradcheck, BinaryOpsWithBroadcasting) {
  const Inputs same = {Param({2, 3}, -1, 1, 1), Param({2, 3}, 0.5, 2, 2)};
  const Inputs bcast = {Param({2, 3, 4}, -1, 1, 3), Param({3, 1}, 0.5, 2, 4)};
  for (const Inputs& inputs : {same, bcast}) {
    EXPECT_GRADCHECK([](const Inputs& in) { return Add(in[0], in[1]); }, inputs);
    EXPECT_GRADCHECK([](const Inputs& in) { return Sub(in[0], in[1]); }, inputs);
    EXPECT_GRADCHECK([](const Inputs& in) { return Mul(in[0], in[1]); }, inputs);
    EXPECT_GRADCHECK([](const Inputs& in) { return Div(in[0], in[1]); }, inputs);
  }
  EXPECT_GRADCHECK([](const Inputs& in) { return Scale(in[0], -2.5); }, same);
  // A tensor used twice collects both contributions.
  EXPECT_GRADCHECK([](const Inputs& in) { return Mul(in[0], in[0]); }, same);
}

TEST(Gradcheck, UnaryOps) {
  const Inputs x = {Param({3, 4}, -2, 2, 5)};
  const Inputs positive = {Param({3, 4}, 0.2, 3, 6)};
  EXPECT_GRADCHECK([](const Inputs& in) { return Sigmoid(in[0]); }, x);
  EXPECT_GRADCHECK([](const Inputs& in) { return Tanh(in[0]); }, x);
  EXPECT_GRADCHECK([](const Inputs& in) { return Exp(in[0]); }, x);
  EXPECT_GRADCHECK([](const Inputs& in) { return Log(in[0]); }, positive);
  // Relu away from its kink at 0.
  Inputs away = {Param({3, 4}, 0.1, 1, 7)};
  for (size_t k = 0; k < 12; k += 2) away[0].mutable_value().data()[k] *= -1;
  EXPECT_GRADCHECK([](const Inputs& in) { return Relu(in[0]); }, away);
}

TEST(Gradcheck, MatMul) {
  EXPECT_GRADCHECK([](const Inputs& in) { return MatMul(in[0], in[1]); },
                   Inputs{Param({3, 4}, -1, 1, 8), Param({4, 5}, -1, 1, 9)});
  EXPECT_GRADCHECK([](const Inputs& in) { return MatMul(in[0], in[1]); },
                   Inputs{Param({2, 3, 4}, -1, 1, 10), Param({4, 2}, -1, 1, 11)});
}

TEST(Gradcheck, BatchMatMul) {
  EXPECT_GRADCHECK([](const Inputs& in) { return BatchMatMul(in[0], in[1]); },
                   Inputs{Param({2, 3, 4}, -1, 1, 80), Param({2, 4, 5}, -1, 1, 81)});
  EXPECT_GRADCHECK([](const Inputs& in) { return BatchMatMul(in[0], in[1], true); },
                   Inputs{Param({2, 3, 4}, -1, 1, 82), Param({2, 5, 4}, -1, 1, 83)});
  // A tensor multiplied by itself transposed collects both contributions.
  EXPECT_GRADCHECK([](const Inputs& in) { return BatchMatMul(in[0], in[0], true); },
                   Inputs{Param({3, 2, 4}, -1, 1, 84)});
}

// Softmax over the last axis after adding a constant mask bias (attention's masked scores): the
// masked entries get zero weight and no gradient reaches them.
TEST(Gradcheck, SoftmaxWithAdditiveMask) {
  Array bias = xt::zeros<Real>({2, 1, 4});
  bias(0, 0, 3) = -1e9;
  bias(1, 0, 0) = -1e9;
  EXPECT_GRADCHECK([&](const Inputs& in) { return Softmax(Add(in[0], Tensor(bias)), -1); },
                   Inputs{Param({2, 3, 4}, -2, 2, 85)});
}

TEST(Gradcheck, Reductions) {
  const Inputs x = {Param({2, 3, 4}, -1, 1, 12)};
  EXPECT_GRADCHECK([](const Inputs& in) { return Sum(in[0]); }, x);
  EXPECT_GRADCHECK([](const Inputs& in) { return Mean(in[0]); }, x);
  for (int axis : {0, 1, -1}) {
    for (bool keep : {false, true}) {
      EXPECT_GRADCHECK([=](const Inputs& in) { return Sum(in[0], axis, keep); }, x);
      EXPECT_GRADCHECK([=](const Inputs& in) { return Mean(in[0], axis, keep); }, x);
    }
  }
}

TEST(Gradcheck, ShapeOps) {
  const Inputs x = {Param({2, 3, 4}, -1, 1, 13), Param({2, 2, 4}, -1, 1, 14)};
  EXPECT_GRADCHECK([](const Inputs& in) { return Reshape(in[0], {6, 4}); }, x);
  EXPECT_GRADCHECK([](const Inputs& in) { return Concat({in[0], in[1]}, 1); }, x);
  EXPECT_GRADCHECK([](const Inputs& in) { return Concat({in[0], in[0]}, -1); }, x);
  EXPECT_GRADCHECK([](const Inputs& in) { return Slice(in[0], 2, 1, 3); }, x);
  EXPECT_GRADCHECK([](const Inputs& in) { return Reverse(in[0], 1); }, x);
  EXPECT_GRADCHECK([](const Inputs& in) { return Reverse(in[0], 0); }, x);
}

TEST(Gradcheck, SoftmaxAndLosses) {
  EXPECT_GRADCHECK([](const Inputs& in) { return Softmax(in[0]); },
                   Inputs{Param({3, 5}, -2, 2, 15)});
  EXPECT_GRADCHECK([](const Inputs& in) { return Softmax(in[0], 0); },
                   Inputs{Param({3, 5}, -2, 2, 16)});
  Rng rng(17);
  const Array binary_targets = xt::round(RandomUniform({2, 5, 1}, 0, 1, rng));
  EXPECT_GRADCHECK([&](const Inputs& in) { return BinaryCrossentropy(in[0], binary_targets); },
                   Inputs{Param({2, 5, 1}, 0.05, 0.95, 18)});
  EXPECT_GRADCHECK(
      [&](const Inputs& in) { return SigmoidBinaryCrossentropy(in[0], binary_targets); },
      Inputs{Param({2, 5, 1}, -20, 20, 70)});
  Array one_hot = xt::zeros<Real>({4, 3});
  for (size_t row = 0; row < 4; ++row) one_hot(row, row % 3) = 1;
  EXPECT_GRADCHECK(
      [&](const Inputs& in) { return CategoricalCrossentropy(Softmax(in[0]), one_hot); },
      Inputs{Param({4, 3}, -2, 2, 19)});
  // Not a softmax: the renormalisation is differentiated too.
  EXPECT_GRADCHECK([&](const Inputs& in) { return CategoricalCrossentropy(in[0], one_hot); },
                   Inputs{Param({4, 3}, 0.1, 1, 20)});
}

TEST(Gradcheck, LstmSequenceInputsWeightsAndInitialState) {
  const size_t batch = 2, time = 4, input_dim = 3, units = 2;
  for (bool go_backwards : {false, true}) {
    const Inputs inputs = {
        Param({batch, time, input_dim}, -1, 1, 21), Param({batch, units}, -0.5, 0.5, 22),
        Param({batch, units}, -0.5, 0.5, 23),       Param({input_dim, 4 * units}, -0.7, 0.7, 24),
        Param({units, 4 * units}, -0.7, 0.7, 25),   Param({4 * units}, -0.3, 0.3, 26)};
    EXPECT_GRADCHECK(
        [=](const Inputs& in) {
          return LstmSequence(in[0], in[1], in[2], in[3], in[4], in[5],
                              SequenceOptions().go_backwards(go_backwards));
        },
        inputs);
  }
}

TEST(Gradcheck, LstmSequenceWithRecurrentMask) {
  Rng rng(40);
  const Array mask = xt::round(RandomUniform({2, 3}, 0, 1, rng)) * 1.25;
  const Inputs inputs = {Param({2, 4, 2}, -1, 1, 41),   Param({2, 3}, -0.5, 0.5, 42),
                         Param({2, 3}, -0.5, 0.5, 43),  Param({2, 12}, -0.7, 0.7, 44),
                         Param({3, 12}, -0.7, 0.7, 45), Param({12}, -0.3, 0.3, 46)};
  for (bool go_backwards : {false, true}) {
    EXPECT_GRADCHECK(
        [&](const Inputs& in) {
          return LstmSequence(in[0], in[1], in[2], in[3], in[4], in[5],
                              SequenceOptions().go_backwards(go_backwards).recurrent_mask(&mask));
        },
        inputs);
  }
}

// Step masks of every shape a batch meets: pre-padding, post-padding, a hole, all real, and a
// row masked throughout. [batch 5, time 4].
Array StepMask() {
  return Array(
      xt::xtensor<Real, 2>{{0, 0, 1, 1}, {1, 1, 1, 0}, {1, 0, 1, 1}, {1, 1, 1, 1}, {0, 0, 0, 0}});
}

TEST(Gradcheck, RecurrentSequencesWithStepMasks) {
  const Array steps = StepMask();
  Rng rng(90);
  const Array dropout = xt::round(RandomUniform({5, 2}, 0, 1, rng)) * 1.25;
  for (bool go_backwards : {false, true}) {
    for (bool zero_output : {false, true}) {
      for (const Array* recurrent_mask : {static_cast<const Array*>(nullptr), &dropout}) {
        SCOPED_TRACE(testing::Message()
                     << "go_backwards " << go_backwards << ", zero_output " << zero_output
                     << ", recurrent dropout " << (recurrent_mask != nullptr));
        const Inputs lstm = {Param({5, 4, 3}, -1, 1, 91),  Param({5, 2}, -0.5, 0.5, 92),
                             Param({5, 2}, -0.5, 0.5, 93), Param({3, 8}, -0.7, 0.7, 94),
                             Param({2, 8}, -0.7, 0.7, 95), Param({8}, -0.3, 0.3, 96)};
        EXPECT_GRADCHECK(
            [&](const Inputs& in) {
              return LstmSequence(in[0], in[1], in[2], in[3], in[4], in[5],
                                  SequenceOptions()
                                      .go_backwards(go_backwards)
                                      .recurrent_mask(recurrent_mask)
                                      .step_mask(&steps)
                                      .zero_output_for_mask(zero_output));
            },
            lstm);
        const Inputs rnn = {Param({5, 4, 3}, -1, 1, 97), Param({5, 2}, -0.5, 0.5, 98),
                            Param({3, 2}, -0.8, 0.8, 99), Param({2, 2}, -0.8, 0.8, 100),
                            Param({2}, -0.3, 0.3, 101)};
        EXPECT_GRADCHECK(
            [&](const Inputs& in) {
              return SimpleRnnSequence(in[0], in[1], in[2], in[3], in[4],
                                       SequenceOptions()
                                           .go_backwards(go_backwards)
                                           .recurrent_mask(recurrent_mask)
                                           .step_mask(&steps)
                                           .zero_output_for_mask(zero_output));
            },
            rnn);
        const Inputs gru = {Param({5, 4, 3}, -1, 1, 102), Param({5, 2}, -0.5, 0.5, 103),
                            Param({3, 6}, -0.8, 0.8, 104), Param({2, 6}, -0.8, 0.8, 105),
                            Param({2, 6}, -0.3, 0.3, 106)};
        EXPECT_GRADCHECK(
            [&](const Inputs& in) {
              return GruSequence(in[0], in[1], in[2], in[3], in[4],
                                 SequenceOptions()
                                     .go_backwards(go_backwards)
                                     .recurrent_mask(recurrent_mask)
                                     .step_mask(&steps)
                                     .zero_output_for_mask(zero_output));
            },
            gru);
      }
    }
  }
}

// The property that proves masking: a padded, masked batch gives each sequence what it gives
// alone, unpadded (outputs at real steps, the final state, every gradient), and nothing flows to
// padded steps. Here for LstmSequence in double precision, to 1e-12.
TEST(StepMask, PaddedBatchEqualsEachSequenceAlone) {
  const Array steps = StepMask();
  const size_t B = 5, T = 4, D = 3, H = 2;
  const Tensor x_all = Param({B, T, D}, -1, 1, 110);
  for (bool go_backwards : {false, true}) {
    SCOPED_TRACE(go_backwards);
    const Tensor kernel = Param({D, 4 * H}, -0.7, 0.7, 111);
    const Tensor recurrent = Param({H, 4 * H}, -0.7, 0.7, 112);
    const Tensor bias = Param({4 * H}, -0.3, 0.3, 113);
    const Tensor x(x_all.value(), /*requires_grad=*/true);
    const Tensor zeros(xt::zeros<Real>({B, H}));
    CurrentTape().Clear();
    const Tensor y = LstmSequence(
        x, zeros, zeros, kernel, recurrent, bias,
        SequenceOptions().go_backwards(go_backwards).recurrent_mask(nullptr).step_mask(&steps));
    // The loss reads the outputs at real steps and the last output (the last real step's h,
    // carried over the padding).
    Array real_outputs = Array::from_shape({B, T, H});
    for (size_t b = 0; b < B; ++b) {
      for (size_t step = 0; step < T; ++step) {
        for (size_t j = 0; j < H; ++j) {
          real_outputs(b, step, j) = steps(b, go_backwards ? T - 1 - step : step);
        }
      }
    }
    const Tensor loss = Add(Sum(Mul(Mul(y, y), Tensor(real_outputs))), Sum(Slice(y, 1, T - 1, T)));
    ASSERT_TRUE(CurrentTape().Backward(loss).ok());
    const Array dk = kernel.grad(), dr = recurrent.grad(), db = bias.grad(), dx = x.grad();
    const Array out = y.value();
    Array dk_alone = xt::zeros<Real>(dk.shape()), dr_alone = xt::zeros<Real>(dr.shape());
    Array db_alone = xt::zeros<Real>(db.shape());
    for (size_t b = 0; b < B; ++b) {
      std::vector<size_t> real;
      for (size_t t = 0; t < T; ++t) {
        if (steps(b, t) != 0) real.push_back(t);
      }
      for (size_t t = 0; t < T; ++t) {
        if (steps(b, t) == 0) {
          for (size_t d = 0; d < D; ++d) EXPECT_EQ(dx(b, t, d), 0) << "padded step " << t;
        }
      }
      if (real.empty()) {  // all masked: zeros out, nothing back
        for (Real v : xt::eval(xt::view(out, b))) EXPECT_EQ(v, 0);
        continue;
      }
      Array alone_x = Array::from_shape({1, real.size(), D});
      for (size_t k = 0; k < real.size(); ++k) {
        for (size_t d = 0; d < D; ++d) alone_x(0, k, d) = x_all.value()(b, real[k], d);
      }
      const Tensor kernel1(kernel.value(), true), recurrent1(recurrent.value(), true),
          bias1(bias.value(), true), x1(alone_x, true);
      const Tensor zeros1(xt::zeros<Real>({size_t{1}, H}));
      CurrentTape().Clear();
      const Tensor y1 = LstmSequence(x1, zeros1, zeros1, kernel1, recurrent1, bias1,
                                     SequenceOptions().go_backwards(go_backwards));
      const size_t n = real.size();
      const Tensor loss1 = Add(Sum(Mul(y1, y1)), Sum(Slice(y1, 1, n - 1, n)));
      ASSERT_TRUE(CurrentTape().Backward(loss1).ok());
      // Output step s of the masked run is processing step s; the real steps are processed in
      // order, so the k-th processed real step is output step at its processing position.
      size_t k = 0;
      for (size_t step = 0; step < T; ++step) {
        const size_t t = go_backwards ? T - 1 - step : step;
        if (steps(b, t) == 0) continue;
        for (size_t j = 0; j < H; ++j) EXPECT_NEAR(out(b, step, j), y1.value()(0, k, j), 1e-12);
        for (size_t d = 0; d < D; ++d) {
          const size_t input_k = go_backwards ? n - 1 - k : k;
          EXPECT_NEAR(dx(b, t, d), x1.grad()(0, input_k, d), 1e-12);
        }
        ++k;
      }
      for (size_t j = 0; j < H; ++j) {
        EXPECT_NEAR(out(b, T - 1, j), y1.value()(0, n - 1, j), 1e-12);  // the last output
      }
      dk_alone += kernel1.grad();
      dr_alone += recurrent1.grad();
      db_alone += bias1.grad();
    }
    EXPECT_LT(xt::amax(xt::abs(dk - dk_alone))(), 1e-12);
    EXPECT_LT(xt::amax(xt::abs(dr - dr_alone))(), 1e-12);
    EXPECT_LT(xt::amax(xt::abs(db - db_alone))(), 1e-12);
  }
}

TEST(Gradcheck, GatherRowsScatterAddsRepeatedRows) {
  const Array indices = {{0, 2, 2}, {3, 0, 1}};
  EXPECT_GRADCHECK([&](const Inputs& in) { return GatherRows(in[0], indices); },
                   Inputs{Param({4, 3}, -1, 1, 47)});
}

TEST(Gradcheck, Conv1DSameAndValidOddAndEvenKernels) {
  for (size_t kernel_size : {1, 2, 3, 4}) {
    for (Padding padding : {Padding::kSame, Padding::kValid}) {
      EXPECT_GRADCHECK([=](const Inputs& in) { return Conv1D(in[0], in[1], padding); },
                       Inputs{Param({2, 5, 3}, -1, 1, 48), Param({kernel_size, 3, 2}, -1, 1, 49)})
          << "kernel " << kernel_size;
    }
  }
}

TEST(Gradcheck, Conv1DWithBiasAndRelu) {
  for (bool relu : {false, true}) {
    for (Padding padding : {Padding::kSame, Padding::kValid}) {
      EXPECT_GRADCHECK([=](const Inputs& in) { return Conv1D(in[0], in[1], in[2], padding, relu); },
                       Inputs{Param({2, 5, 3}, -1, 1, 84), Param({3, 3, 4}, -1, 1, 85),
                              Param({4}, -0.5, 0.5, 86)})
          << "relu " << relu;
    }
  }
}

TEST(Gradcheck, MaxPool1D) {
  // Random values: no ties, so the maximum is differentiable; 7 steps leave one unpooled.
  for (size_t pool : {1, 2, 3}) {
    EXPECT_GRADCHECK([=](const Inputs& in) { return MaxPool1D(in[0], pool); },
                     Inputs{Param({2, 7, 3}, -1, 1, 50)});
  }
}

TEST(Gradcheck, SimpleRnnAndGruSequences) {
  for (bool go_backwards : {false, true}) {
    const Inputs rnn = {Param({2, 4, 3}, -1, 1, 60), Param({2, 2}, -0.5, 0.5, 61),
                        Param({3, 2}, -0.8, 0.8, 62), Param({2, 2}, -0.8, 0.8, 63),
                        Param({2}, -0.3, 0.3, 64)};
    EXPECT_GRADCHECK(
        [=](const Inputs& in) {
          return SimpleRnnSequence(in[0], in[1], in[2], in[3], in[4],
                                   SequenceOptions().go_backwards(go_backwards));
        },
        rnn);
    const Inputs gru = {Param({2, 4, 3}, -1, 1, 65), Param({2, 2}, -0.5, 0.5, 66),
                        Param({3, 6}, -0.8, 0.8, 67), Param({2, 6}, -0.8, 0.8, 68),
                        Param({2, 6}, -0.3, 0.3, 69)};
    EXPECT_GRADCHECK(
        [=](const Inputs& in) {
          return GruSequence(in[0], in[1], in[2], in[3], in[4],
                             SequenceOptions().go_backwards(go_backwards));
        },
        gru);
  }
}

// Every activation Keras allows in the cells, in both roles. The inputs reach past +-2.5, so
// hard_sigmoid is clipped at some steps and on its slope at others.
TEST(Gradcheck, RecurrentSequencesWithOtherActivations) {
  const Activation kinds[] = {Activation::kRelu, Activation::kHardSigmoid, Activation::kLinear,
                              Activation::kSigmoid, Activation::kTanh};
  for (size_t k = 0; k < 5; ++k) {
    const CellActivations a{kinds[k], kinds[(k + 1) % 5]};
    SCOPED_TRACE(testing::Message()
                 << "activation " << static_cast<int>(a.activation) << ", recurrent_activation "
                 << static_cast<int>(a.recurrent_activation));
    const Inputs lstm = {Param({2, 3, 2}, -4, 4, 120 + k), Param({2, 2}, -0.5, 0.5, 121),
                         Param({2, 2}, -0.5, 0.5, 122),    Param({2, 8}, -0.9, 0.9, 123),
                         Param({2, 8}, -0.7, 0.7, 124),    Param({8}, -0.3, 0.3, 125)};
    EXPECT_GRADCHECK(
        [&](const Inputs& in) {
          return LstmSequence(in[0], in[1], in[2], in[3], in[4], in[5],
                              SequenceOptions()
                                  .go_backwards(false)
                                  .recurrent_mask(nullptr)
                                  .step_mask(nullptr)
                                  .zero_output_for_mask(false)
                                  .activations(a));
        },
        lstm);
    const Inputs rnn = {Param({2, 3, 2}, -4, 4, 130 + k), Param({2, 2}, -0.5, 0.5, 131),
                        Param({2, 2}, -0.8, 0.8, 132), Param({2, 2}, -0.8, 0.8, 133),
                        Param({2}, -0.3, 0.3, 134)};
    EXPECT_GRADCHECK(
        [&](const Inputs& in) {
          return SimpleRnnSequence(in[0], in[1], in[2], in[3], in[4],
                                   SequenceOptions()
                                       .go_backwards(true)
                                       .recurrent_mask(nullptr)
                                       .step_mask(nullptr)
                                       .zero_output_for_mask(false)
                                       .activations(a));
        },
        rnn);
    const Inputs gru = {Param({2, 3, 2}, -4, 4, 140 + k), Param({2, 2}, -0.5, 0.5, 141),
                        Param({2, 6}, -0.9, 0.9, 142), Param({2, 6}, -0.8, 0.8, 143),
                        Param({2, 6}, -0.3, 0.3, 144)};
    EXPECT_GRADCHECK(
        [&](const Inputs& in) {
          return GruSequence(in[0], in[1], in[2], in[3], in[4],
                             SequenceOptions()
                                 .go_backwards(false)
                                 .recurrent_mask(nullptr)
                                 .step_mask(nullptr)
                                 .zero_output_for_mask(false)
                                 .activations(a));
        },
        gru);
  }
}

// The final state appended to the outputs (Keras' return_state), with and without a step mask
// (whose last steps are padding in some rows), from a non-zero initial state.
TEST(Gradcheck, RecurrentSequencesReturningTheirState) {
  const Array steps = StepMask();
  for (const Array* step_mask : {static_cast<const Array*>(nullptr), &steps}) {
    for (bool go_backwards : {false, true}) {
      SCOPED_TRACE(testing::Message()
                   << "step mask " << (step_mask != nullptr) << ", go_backwards " << go_backwards);
      const Inputs lstm = {Param({5, 4, 3}, -1, 1, 150),  Param({5, 2}, -0.5, 0.5, 151),
                           Param({5, 2}, -0.5, 0.5, 152), Param({3, 8}, -0.7, 0.7, 153),
                           Param({2, 8}, -0.7, 0.7, 154), Param({8}, -0.3, 0.3, 155)};
      EXPECT_GRADCHECK(
          [&](const Inputs& in) {
            return LstmSequence(in[0], in[1], in[2], in[3], in[4], in[5],
                                SequenceOptions()
                                    .go_backwards(go_backwards)
                                    .recurrent_mask(nullptr)
                                    .step_mask(step_mask)
                                    .zero_output_for_mask(false)
                                    .activations({})
                                    .append_state(/*append_state=*/true));
          },
          lstm);
      const Inputs rnn = {Param({5, 4, 3}, -1, 1, 156), Param({5, 2}, -0.5, 0.5, 157),
                          Param({3, 2}, -0.8, 0.8, 158), Param({2, 2}, -0.8, 0.8, 159),
                          Param({2}, -0.3, 0.3, 160)};
      EXPECT_GRADCHECK(
          [&](const Inputs& in) {
            return SimpleRnnSequence(in[0], in[1], in[2], in[3], in[4],
                                     SequenceOptions()
                                         .go_backwards(go_backwards)
                                         .recurrent_mask(nullptr)
                                         .step_mask(step_mask)
                                         .zero_output_for_mask(false)
                                         .activations({})
                                         .append_state(/*append_state=*/true));
          },
          rnn);
      const Inputs gru = {Param({5, 4, 3}, -1, 1, 161), Param({5, 2}, -0.5, 0.5, 162),
                          Param({3, 6}, -0.8, 0.8, 163), Param({2, 6}, -0.8, 0.8, 164),
                          Param({2, 6}, -0.3, 0.3, 165)};
      EXPECT_GRADCHECK(
          [&](const Inputs& in) {
            return GruSequence(in[0], in[1], in[2], in[3], in[4],
                               SequenceOptions()
                                   .go_backwards(go_backwards)
                                   .recurrent_mask(nullptr)
                                   .step_mask(step_mask)
                                   .zero_output_for_mask(true)
                                   .activations({})
                                   .append_state(/*append_state=*/true));
          },
          gru);
    }
  }
}

// Standalone Keras 2's GRU (reset_after = false), with every option the fused ops take.
TEST(Gradcheck, GruResetBeforeSequence) {
  const Array steps = StepMask();
  Rng rng(170);
  const Array dropout = xt::round(RandomUniform({5, 2}, 0, 1, rng)) * 1.25;
  for (bool go_backwards : {false, true}) {
    for (const Array* step_mask : {static_cast<const Array*>(nullptr), &steps}) {
      for (bool zero_output : {false, true}) {
        SCOPED_TRACE(testing::Message()
                     << "go_backwards " << go_backwards << ", step mask " << (step_mask != nullptr)
                     << ", zero_output " << zero_output);
        const Inputs gru = {Param({5, 4, 3}, -1, 1, 171), Param({5, 2}, -0.5, 0.5, 172),
                            Param({3, 6}, -0.8, 0.8, 173), Param({2, 6}, -0.8, 0.8, 174),
                            Param({6}, -0.3, 0.3, 175)};
        EXPECT_GRADCHECK(
            [&](const Inputs& in) {
              return GruResetBeforeSequence(in[0], in[1], in[2], in[3], in[4],
                                            SequenceOptions()
                                                .go_backwards(go_backwards)
                                                .recurrent_mask(&dropout)
                                                .step_mask(step_mask)
                                                .zero_output_for_mask(zero_output)
                                                .activations({})
                                                .append_state(/*append_state=*/true));
            },
            gru);
      }
    }
  }
  const Inputs gru = {Param({2, 3, 2}, -4, 4, 176), Param({2, 2}, -0.5, 0.5, 177),
                      Param({2, 6}, -0.9, 0.9, 178), Param({2, 6}, -0.8, 0.8, 179),
                      Param({6}, -0.3, 0.3, 180)};
  EXPECT_GRADCHECK(
      [&](const Inputs& in) {
        return GruResetBeforeSequence(
            in[0], in[1], in[2], in[3], in[4],
            SequenceOptions()
                .go_backwards(false)
                .recurrent_mask(nullptr)
                .step_mask(nullptr)
                .zero_output_for_mask(false)
                .activations({Activation::kRelu, Activation::kHardSigmoid}));
      },
      gru);
}

TEST(Gradcheck, SimpleRnnAndGruWithRecurrentMask) {
  Rng rng(70);
  const Array mask = xt::round(RandomUniform({2, 3}, 0, 1, rng)) * 1.25;
  for (bool go_backwards : {false, true}) {
    const Inputs rnn = {Param({2, 4, 2}, -1, 1, 71), Param({2, 3}, -0.5, 0.5, 72),
                        Param({2, 3}, -0.8, 0.8, 73), Param({3, 3}, -0.8, 0.8, 74),
                        Param({3}, -0.3, 0.3, 75)};
    EXPECT_GRADCHECK(
        [&](const Inputs& in) {
          return SimpleRnnSequence(
              in[0], in[1], in[2], in[3], in[4],
              SequenceOptions().go_backwards(go_backwards).recurrent_mask(&mask));
        },
        rnn);
    const Inputs gru = {Param({2, 4, 2}, -1, 1, 76), Param({2, 3}, -0.5, 0.5, 77),
                        Param({2, 9}, -0.8, 0.8, 78), Param({3, 9}, -0.8, 0.8, 79),
                        Param({2, 9}, -0.3, 0.3, 80)};
    EXPECT_GRADCHECK(
        [&](const Inputs& in) {
          return GruSequence(in[0], in[1], in[2], in[3], in[4],
                             SequenceOptions().go_backwards(go_backwards).recurrent_mask(&mask));
        },
        gru);
  }
}

// A batch large enough to be split over two threads (runtime.h's RecurrentThreads), checked
// against finite differences through h0 and the recurrent kernel, whose gradients cross the
// shares' boundaries.
TEST(Gradcheck, LstmSequenceSplitOverThreads) {
  const size_t batch = 16, time = 40, units = 16;
  ASSERT_GT(RecurrentThreads(batch, time, units, 4 * units), 1) << "the split is not exercised";
  Rng rng(81);
  const Array mask = xt::round(RandomUniform({batch, units}, 0, 1, rng)) * 1.25;
  const Tensor x(RandomUniform({batch, time, 2}, -1, 1, rng));
  const Tensor kernel(RandomUniform({2, 4 * units}, -0.5, 0.5, rng));
  const Tensor recurrent_kernel(RandomUniform({units, 4 * units}, -0.4, 0.4, rng));
  const Tensor bias(RandomUniform({4 * units}, -0.3, 0.3, rng));
  const Inputs inputs = {Param({batch, units}, -0.5, 0.5, 82), Param({batch, units}, -1, 1, 83)};
  EXPECT_GRADCHECK(
      [&](const Inputs& in) {
        return LstmSequence(
            x, in[0], in[1], kernel, recurrent_kernel, bias,
            SequenceOptions().go_backwards(/*go_backwards=*/true).recurrent_mask(&mask));
      },
      inputs);
}

// A deliberately broken op: the check must catch it.
Tensor SquareWithBrokenBackward(const Tensor& x, Real sign, bool drop_term) {
  return MakeResult(x.value() * x.value(), {&x}, [x, sign, drop_term](const Node& out) {
    // Correct: 2 x g. Broken: a flipped sign, or only one of the two product-rule terms.
    const Real factor = drop_term ? Real(1) : Real(2);
    AccumulateGrad(x, sign * factor * x.value() * out.grad, "BrokenSquare");
  });
}

TEST(Gradcheck, CatchesBrokenBackward) {
  const Inputs x = {Param({3}, 0.5, 1, 27)};
  EXPECT_TRUE(
      Gradcheck([](const Inputs& in) { return SquareWithBrokenBackward(in[0], 1, false); }, x)
          .ok());
  const absl::Status wrong_sign =
      Gradcheck([](const Inputs& in) { return SquareWithBrokenBackward(in[0], -1, false); }, x);
  EXPECT_FALSE(wrong_sign.ok());
  EXPECT_NE(std::string(wrong_sign.message()).find("finite differences"), std::string::npos);
  EXPECT_FALSE(
      Gradcheck([](const Inputs& in) { return SquareWithBrokenBackward(in[0], 1, true); }, x).ok());
}

TEST(Gradcheck, CatchesAnLstmWithADroppedTerm) {
  // The forget gate's contribution through c_prev is essential: perturbing c0 exposes it.
  const Inputs inputs = {
      Param({1, 3, 2}, -1, 1, 28),           Param({1, 2}, -0.5, 0.5, 29),
      Param({1, 2}, -0.5, 0.5, 30),          Tensor(Array(xt::ones<Real>({2, 8}))),
      Tensor(Array(xt::ones<Real>({2, 8}))), Tensor(Array(xt::zeros<Real>({8})))};
  // The genuine op passes; with c0 detached from its gradient path it would not, which the
  // check sees as a mismatch on input 2.
  EXPECT_TRUE(Gradcheck(
                  [](const Inputs& in) {
                    return LstmSequence(in[0], in[1], in[2], in[3], in[4], in[5],
                                        SequenceOptions().go_backwards(false));
                  },
                  inputs)
                  .ok());
  const absl::Status detached = Gradcheck(
      [](const Inputs& in) {
        // Forward uses c0, but a copy that records nothing: backward drops c0's term.
        const Tensor c0_copy(in[2].value());
        Tensor out = LstmSequence(in[0], in[1], c0_copy, in[3], in[4], in[5],
                                  SequenceOptions().go_backwards(false));
        return Add(out, Scale(Sum(in[2]), 0));  // keeps c0 on the tape with a zero gradient
      },
      inputs);
  EXPECT_FALSE(detached.ok());
}

}  // namespace
}  // namespace autograd
