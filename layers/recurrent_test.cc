#include "layers/recurrent.h"

#include <gtest/gtest.h>

#include <cmath>

#include "autograd/autograd.h"
#include "autograd/shape_ops.h"
#include "xtensor/xbuilder.hpp"
#include "xtensor/xtensor.hpp"
#include "xtensor/xview.hpp"

namespace layers {
namespace {

// Keras' lstm_test.py reference: LSTM(3) over arange(72).reshape(3, 6, 4) with constant
// initializers kernel 0.01, recurrent_kernel 0.02, bias 0.03 (unit_forget_bias: forget slice 1).
LayerPtr KerasReferenceLstm(bool go_backwards, Rng& rng) {
  LayerPtr lstm = LSTM(LstmOptions(3).go_backwards(go_backwards));
  EXPECT_TRUE(lstm->Build({6, 4}, rng).ok());
  Array bias = xt::full_like(Array(xt::zeros<Real>({12})), Real(0.03));
  xt::view(bias, xt::range(3, 6)) = Real(1);
  EXPECT_TRUE(lstm->SetWeights({xt::full_like(Array(xt::zeros<Real>({4, 12})), Real(0.01)),
                                xt::full_like(Array(xt::zeros<Real>({3, 12})), Real(0.02)), bias})
                  .ok());
  return lstm;
}

Array Arange72() {
  Array x = xt::arange<Real>(72);
  x.reshape({3, 6, 4});
  return x;
}

TEST(LSTM, KerasPublishedReference) {
  Rng rng(0);
  const Array forward = KerasReferenceLstm(false, rng)->Call(Tensor(Arange72()), false).value();
  const Array backward = KerasReferenceLstm(true, rng)->Call(Tensor(Arange72()), false).value();
  const double expected_forward[] = {0.6288687, 0.86899155, 0.9460773};
  const double expected_backward[] = {0.35622165, 0.74789524, 0.8872726};
  ASSERT_EQ(autograd::ShapeOf(forward), (Shape{3, 3}));
  for (size_t sample = 0; sample < 3; ++sample) {
    for (size_t unit = 0; unit < 3; ++unit) {
      EXPECT_NEAR(forward(sample, unit), expected_forward[sample], 1e-5);
      EXPECT_NEAR(backward(sample, unit), expected_backward[sample], 1e-5);
    }
  }
}

TEST(LSTM, KerasLayoutAndInitialization) {
  Rng rng(0);
  LayerPtr lstm = LSTM(20);
  ASSERT_TRUE(lstm->Build({10, 1}, rng).ok());
  EXPECT_EQ(lstm->CountParams(), 1760u);
  const std::vector<Weight> weights = lstm->weights();
  ASSERT_EQ(weights.size(), 3u);
  EXPECT_EQ(weights[0].name, "kernel");
  EXPECT_EQ(weights[0].tensor.shape(), (Shape{1, 80}));
  EXPECT_EQ(weights[1].name, "recurrent_kernel");
  EXPECT_EQ(weights[1].tensor.shape(), (Shape{20, 80}));
  EXPECT_EQ(weights[2].name, "bias");
  const Array& bias = weights[2].tensor.value();
  for (size_t k = 0; k < 80; ++k) EXPECT_EQ(bias(k), (k >= 20 && k < 40) ? 1.0f : 0.0f) << k;
  // glorot_uniform limit sqrt(6 / (1 + 80)).
  EXPECT_LE(xt::amax(xt::abs(weights[0].tensor.value()))(), std::sqrt(6.0f / 81.0f));
}

TEST(LSTM, GoBackwardsReturnsTheReversedSequence) {
  Rng rng(3);
  LayerPtr forward = LSTM(LstmOptions(4).return_sequences(true));
  LayerPtr backward = LSTM(LstmOptions(4).return_sequences(true).go_backwards(true));
  ASSERT_TRUE(forward->Build({5, 2}, rng).ok());
  ASSERT_TRUE(backward->Build({5, 2}, rng).ok());
  ASSERT_TRUE(backward->SetWeights(forward->GetWeights()).ok());
  Rng data(4);
  const Tensor x(autograd::RandomUniform({2, 5, 2}, -1, 1, data));
  // Reading x backwards = reading reversed x forwards; both outputs in processing order.
  const Array expected = forward->Call(autograd::Reverse(x, 1), false).value();
  const Array actual = backward->Call(x, false).value();
  EXPECT_TRUE(xt::allclose(actual, expected, 1e-6, 1e-7));
}

// Bidirectional, checked against two separately built LSTMs with the same weights.
class BidirectionalMerge : public ::testing::TestWithParam<std::tuple<std::string, bool>> {};

TEST_P(BidirectionalMerge, MatchesSeparateLayers) {
  const auto& [mode, return_sequences] = GetParam();
  Rng rng(5);
  LayerPtr bi = Bidirectional(LSTM(LstmOptions(3).return_sequences(return_sequences)), mode);
  ASSERT_TRUE(bi->Build({4, 2}, rng).ok());
  const std::vector<Array> weights = bi->GetWeights();
  ASSERT_EQ(weights.size(), 6u);
  EXPECT_EQ(bi->weights()[0].name, "forward_lstm/kernel");
  EXPECT_EQ(bi->weights()[3].name, "backward_lstm/kernel");
  LayerPtr forward = LSTM(LstmOptions(3).return_sequences(return_sequences));
  LayerPtr backward = LSTM(LstmOptions(3).return_sequences(return_sequences).go_backwards(true));
  ASSERT_TRUE(forward->Build({4, 2}, rng).ok());
  ASSERT_TRUE(backward->Build({4, 2}, rng).ok());
  ASSERT_TRUE(forward->SetWeights({weights[0], weights[1], weights[2]}).ok());
  ASSERT_TRUE(backward->SetWeights({weights[3], weights[4], weights[5]}).ok());

  Rng data(6);
  const Tensor x(autograd::RandomUniform({2, 4, 2}, -1, 1, data));
  const Array f = forward->Call(x, false).value();
  Array b = backward->Call(x, false).value();
  if (return_sequences) b = autograd::Reverse(Tensor(b), 1).value();  // back to forward time
  Array expected;
  if (mode == "sum") expected = f + b;
  if (mode == "mul") expected = f * b;
  if (mode == "ave") expected = (f + b) / 2;
  if (mode == "concat") expected = xt::concatenate(xt::xtuple(f, b), f.dimension() - 1);
  const Array actual = bi->Call(x, false).value();
  ASSERT_EQ(autograd::ShapeOf(actual), autograd::ShapeOf(expected));
  EXPECT_TRUE(xt::allclose(actual, expected, 1e-6, 1e-7));
  Shape out = return_sequences ? Shape{4, 3} : Shape{3};
  if (mode == "concat") out.back() = 6;
  EXPECT_EQ(bi->output_shape(), out);
}

INSTANTIATE_TEST_SUITE_P(AllModes, BidirectionalMerge,
                         ::testing::Combine(::testing::Values("sum", "mul", "ave", "concat"),
                                            ::testing::Bool()));

TEST(Bidirectional, KerasParameterCount) {
  Rng rng(0);
  LayerPtr bi = Bidirectional(LSTM(LstmOptions(20).return_sequences(true)));
  ASSERT_TRUE(bi->Build({10, 1}, rng).ok());
  EXPECT_EQ(bi->CountParams(), 3520u);
  EXPECT_EQ(bi->output_shape(), (Shape{10, 40}));
}

TEST(Bidirectional, BadArguments) {
  Rng rng(0);
  LayerPtr bad_mode = Bidirectional(LSTM(4), "max");
  bad_mode->set_name("bidirectional");
  EXPECT_EQ(bad_mode->Build({10, 1}, rng).message(),
            "layer 'bidirectional' (Bidirectional) on input (None, 10, 1): unknown merge_mode "
            "'max' (expected sum, mul, ave or concat)");
  EXPECT_FALSE(Bidirectional(LSTM(0))->Build({10, 1}, rng).ok());
  LayerPtr lstm = LSTM(4);
  lstm->set_name("lstm");
  EXPECT_EQ(lstm->Build({10}, rng).message(),
            "layer 'lstm' (LSTM) on input (None, 10): expected input of shape [time, features] "
            "with both positive, got (None, 10)");
}

// The book's architectures, as Keras' summary() counts them.
TEST(Recurrent, BookParameterCounts) {
  Rng rng(0);
  const auto count = [&](LayerPtr layer, const Shape& input) {
    EXPECT_TRUE(layer->Build(input, rng).ok());
    return layer->CountParams();
  };
  EXPECT_EQ(count(SimpleRNN(40), {26, 32}), 2920u);
  EXPECT_EQ(count(LSTM(40), {26, 32}), 11680u);
  EXPECT_EQ(count(LSTM(40), {26, 40}), 12960u);  // stacked on LSTM(40, return_sequences)
  EXPECT_EQ(count(GRU(40), {26, 32}), 8880u);
  EXPECT_EQ(count(SimpleRNN(RecurrentOptions(1).recurrent_initializer("zeros")), {2, 1}), 3u);
  EXPECT_EQ(count(LSTM(RecurrentOptions(1).recurrent_initializer("zeros")), {2, 1}), 12u);
}

TEST(Recurrent, WeightLayoutsAndZeroRecurrentInitializer) {
  Rng rng(0);
  LayerPtr gru = GRU(RecurrentOptions(4).recurrent_initializer("zeros"));
  ASSERT_TRUE(gru->Build({3, 2}, rng).ok());
  const std::vector<Weight> weights = gru->weights();
  EXPECT_EQ(weights[0].tensor.shape(), (Shape{2, 12}));
  EXPECT_EQ(weights[1].tensor.shape(), (Shape{4, 12}));
  EXPECT_EQ(weights[2].tensor.shape(), (Shape{2, 12}));
  EXPECT_EQ(xt::amax(xt::abs(weights[1].tensor.value()))(), 0.0f);
  // Standalone Keras 2's GRU: one bias of 3 units.
  LayerPtr legacy = GRU(RecurrentOptions(4).reset_after(false));
  ASSERT_TRUE(legacy->Build({3, 2}, rng).ok());
  EXPECT_EQ(legacy->weights()[2].tensor.shape(), (Shape{12}));
  EXPECT_EQ(legacy->CountParams(), 3u * 4 * (2 + 4) + 12);
  LayerPtr rnn = SimpleRNN(3);
  ASSERT_TRUE(rnn->Build({3, 2}, rng).ok());
  EXPECT_EQ(rnn->weights()[1].tensor.shape(), (Shape{3, 3}));
  EXPECT_FALSE(
      SimpleRNN(RecurrentOptions(3).recurrent_initializer("ones"))->Build({3, 2}, rng).ok());
  // recurrent_dropout now works for every recurrent layer (the fused ops all take the mask).
  EXPECT_TRUE(GRU(RecurrentOptions(3).recurrent_dropout(0.2))->Build({3, 2}, rng).ok());
}

TEST(Recurrent, SimpleRnnLayerMatchesHandComputation) {
  Rng rng(0);
  LayerPtr rnn = SimpleRNN(RecurrentOptions(1).return_sequences(true));
  ASSERT_TRUE(rnn->Build({2, 1}, rng).ok());
  ASSERT_TRUE(rnn->SetWeights({Array(xt::ones<Real>({1, 1})) * 0.5f,
                               Array(xt::ones<Real>({1, 1})) * -0.3f, Array{0.2f}})
                  .ok());
  Array x = Array::from_shape({1, 2, 1});
  x(0, 0, 0) = 1;
  x(0, 1, 0) = 2;
  const Array y = rnn->Call(Tensor(x), false).value();
  const double h1 = std::tanh(0.5 + 0.2), h2 = std::tanh(1.0 - 0.3 * h1 + 0.2);
  EXPECT_NEAR(y(0, 0, 0), h1, 1e-6);
  EXPECT_NEAR(y(0, 1, 0), h2, 1e-6);
}

TEST(Bidirectional, WrapsGruAndSimpleRnn) {
  Rng rng(0);
  LayerPtr bi_gru = Bidirectional(GRU(5), "sum");
  ASSERT_TRUE(bi_gru->Build({4, 3}, rng).ok());
  EXPECT_EQ(bi_gru->output_shape(), (Shape{5}));
  EXPECT_EQ(bi_gru->CountParams(), 2u * (3 * 5 * (3 + 5) + 2 * 15));
  LayerPtr bi_rnn = Bidirectional(SimpleRNN(RecurrentOptions(2).return_sequences(true)));
  ASSERT_TRUE(bi_rnn->Build({4, 3}, rng).ok());
  EXPECT_EQ(bi_rnn->output_shape(), (Shape{4, 4}));
  EXPECT_EQ(bi_rnn->weights()[0].name, "forward_simple_rnn/kernel");
}

TEST(LSTM, DropoutUsesOneMaskPerSequenceForInputsAndState) {
  Rng rng(2);
  LayerPtr lstm = LSTM(LstmOptions(3).return_sequences(true).dropout(0.5).recurrent_dropout(0.4));
  ASSERT_TRUE(lstm->Build({4, 2}, rng).ok());
  Rng data(3);
  const Tensor x(autograd::RandomUniform({5, 4, 2}, -1, 1, data));
  // At inference no mask applies.
  const std::vector<Array> w = lstm->GetWeights();
  const Tensor zeros(xt::zeros<Real>({5, 3}));
  const auto plain = [&](const Tensor& input, const Array* mask) {
    return autograd::LstmSequence(
               input, zeros, zeros, Tensor(w[0]), Tensor(w[1]), Tensor(w[2]),
               autograd::SequenceOptions().go_backwards(false).recurrent_mask(mask))
        .value();
  };
  EXPECT_TRUE(xt::allclose(lstm->Call(x, false).value(), plain(x, nullptr)));
  // In training: the masks the layer draws next, from a copy of the generator.
  Rng copy = rng;
  const Array input_mask = DropoutMask({5, 1, 2}, 0.5, copy);
  const Array state_mask = DropoutMask({5, 3}, 0.4, copy);
  const Array expected = plain(autograd::Mul(x, Tensor(input_mask)), &state_mask);
  EXPECT_TRUE(xt::allclose(lstm->Call(x, true).value(), expected));
  EXPECT_FALSE(xt::allclose(expected, plain(x, nullptr)));
}

TEST(Recurrent, TakesKerasRecurrentActivationsByName) {
  Rng rng(4);
  // SimpleRNN(1, activation="relu") on x = (1, -2) with kernel 0.5, recurrent -0.3, bias 0.2:
  // h1 = relu(0.7) = 0.7, h2 = relu(-1 - 0.21 + 0.2) = 0.
  LayerPtr relu = SimpleRNN(RecurrentOptions(1).activation("relu").return_sequences(true));
  ASSERT_TRUE(relu->Build({2, 1}, rng).ok());
  ASSERT_TRUE(relu->SetWeights({Array(xt::ones<Real>({1, 1})) * 0.5f,
                                Array(xt::ones<Real>({1, 1})) * -0.3f, Array{0.2f}})
                  .ok());
  const Array y = relu->Call(Tensor(Array(xt::xtensor<Real, 3>{{{1}, {-2}}})), false).value();
  EXPECT_NEAR(y(0, 0, 0), 0.7, 1e-6);
  EXPECT_EQ(y(0, 1, 0), 0);
  for (const char* name : {"tanh", "sigmoid", "hard_sigmoid", "relu", "linear"}) {
    EXPECT_TRUE(LSTM(RecurrentOptions(2).activation(name).recurrent_activation(name))
                    ->Build({3, 2}, rng)
                    .ok())
        << name;
  }
  EXPECT_EQ(
      GRU(RecurrentOptions(2).recurrent_activation("softmax"))->Build({3, 2}, rng).message(),
      "layer '' (GRU) on input (None, 3, 2): recurrent_activation 'softmax' is not one of the "
      "recurrent activations: tanh, sigmoid, hard_sigmoid, relu, linear");
}

double Sigmoid(double z) { return 1 / (1 + std::exp(-z)); }

// Keras' return_state and initial_state, worked by hand for one LSTM unit over two steps.
TEST(ReturnState, LstmReturnsItsFinalStateFromAGivenInitialState) {
  Rng rng(5);
  LayerPtr layer = LSTM(RecurrentOptions(1).return_sequences(true));
  ASSERT_TRUE(layer->Build({2, 1}, rng).ok());
  // kernel (i, f, c, o), recurrent kernel, bias.
  ASSERT_TRUE(layer
                  ->SetWeights({Array(xt::xtensor<Real, 2>{{0.5, -0.3, 0.8, 0.2}}),
                                Array(xt::xtensor<Real, 2>{{0.1, 0.4, -0.6, 0.7}}),
                                Array{0.05f, 1.0f, -0.1f, 0.2f}})
                  .ok());
  double h = 0.3, c = -0.2;
  std::vector<double> outputs;
  for (double x : {1.0, -2.0}) {
    const double i = Sigmoid(0.5 * x + 0.1 * h + 0.05), f = Sigmoid(-0.3 * x + 0.4 * h + 1.0);
    const double g = std::tanh(0.8 * x - 0.6 * h - 0.1), o = Sigmoid(0.2 * x + 0.7 * h + 0.2);
    c = f * c + i * g;
    h = o * std::tanh(c);
    outputs.push_back(h);
  }
  auto& lstm = static_cast<LstmLayer&>(*layer);
  const Tensor h0(Array(xt::xtensor<Real, 2>{{0.3}}), true),
      c0(Array(xt::xtensor<Real, 2>{{-0.2}}), true);
  const std::vector<Tensor> result = lstm.CallWithState(
      Tensor(Array(xt::xtensor<Real, 3>{{{1}, {-2}}})), nullptr, {h0, c0}, false);
  ASSERT_EQ(result.size(), 3u);
  EXPECT_NEAR(result[0].value()(0, 0, 0), outputs[0], 1e-6);
  EXPECT_NEAR(result[0].value()(0, 1, 0), outputs[1], 1e-6);
  EXPECT_NEAR(result[1].value()(0, 0), h, 1e-6);
  EXPECT_NEAR(result[2].value()(0, 0), c, 1e-6);
  // The final c's gradient reaches the initial state.
  autograd::CurrentTape().Clear();
  const std::vector<Tensor> again =
      lstm.CallWithState(Tensor(Array(xt::xtensor<Real, 3>{{{1}, {-2}}})), nullptr, {h0, c0}, true);
  ASSERT_TRUE(autograd::CurrentTape().Backward(autograd::Sum(again[2])).ok());
  EXPECT_NE(c0.grad()(0, 0), 0);
  EXPECT_NE(h0.grad()(0, 0), 0);
  // The wrong number of initial tensors is an error naming what is expected.
  EXPECT_THROW(lstm.CallWithState(Tensor(Array(xt::zeros<Real>({1, 2, 1}))), nullptr, {h0}, false),
               autograd::ShapeError);
}

TEST(ReturnState, WithAMaskTheStateIsThatOfTheLastRealStep) {
  Rng rng(6);
  for (const std::string kind : {"LSTM", "GRU", "SimpleRNN"}) {
    SCOPED_TRACE(kind);
    RecurrentOptions options(3);
    options.return_sequences(true);
    LayerPtr layer = kind == "LSTM"  ? LSTM(options)
                     : kind == "GRU" ? GRU(options)
                                     : SimpleRNN(options);
    ASSERT_TRUE(layer->Build({4, 2}, rng).ok());
    auto& recurrent = static_cast<RecurrentLayer&>(*layer);
    Rng data(7);
    const Array x = autograd::RandomUniform({2, 4, 2}, -1, 1, data);
    std::vector<Tensor> initial;
    for (size_t k = 0; k < recurrent.state_size(); ++k) {
      initial.push_back(Tensor(autograd::RandomUniform({2, 3}, -1, 1, data)));
    }
    // Sample 0: pre-padding (steps 0, 1 masked); sample 1: post-padding (steps 2, 3).
    const Array mask = xt::xtensor<Real, 2>{{0, 0, 1, 1}, {1, 1, 0, 0}};
    const std::vector<Tensor> masked = recurrent.CallWithState(Tensor(x), &mask, initial, false);
    ASSERT_EQ(masked.size(), 1 + recurrent.state_size());
    // Each sample alone, unpadded, from its own initial state.
    for (size_t b = 0; b < 2; ++b) {
      const size_t first = b == 0 ? 2 : 0;
      Array alone_x = xt::view(x, xt::range(b, b + 1), xt::range(first, first + 2));
      std::vector<Tensor> alone_initial;
      for (const Tensor& part : initial) {
        alone_initial.push_back(Tensor(Array(xt::view(part.value(), xt::range(b, b + 1)))));
      }
      const std::vector<Tensor> alone =
          recurrent.CallWithState(Tensor(alone_x), nullptr, alone_initial, false);
      for (size_t k = 1; k < alone.size(); ++k) {
        EXPECT_TRUE(
            xt::allclose(xt::view(masked[k].value(), b), xt::view(alone[k].value(), 0), 1e-6, 1e-6))
            << "state " << k << " of sample " << b;
      }
    }
    // Keras starts the previous output at zeros: sample 0's masked leading steps output zeros,
    // not its initial h; sample 1's trailing ones repeat its last real output.
    EXPECT_EQ(Array(xt::view(masked[0].value(), 0, xt::range(0, 2))),
              Array(xt::zeros<Real>({2, 3})));
    EXPECT_EQ(Array(xt::view(masked[0].value(), 1, 3)), Array(xt::view(masked[0].value(), 1, 1)));
  }
}

TEST(ReturnState, BidirectionalReturnsBothDirectionsStates) {
  Rng rng(8);
  LayerPtr layer = Bidirectional(LSTM(RecurrentOptions(2)), "concat");
  ASSERT_TRUE(layer->Build({3, 2}, rng).ok());
  auto& bidirectional = static_cast<BidirectionalLayer&>(*layer);
  const Tensor x(Array(xt::ones<Real>({1, 3, 2})));
  const std::vector<Tensor> states = bidirectional.CallWithState(x, nullptr, {}, false);
  ASSERT_EQ(states.size(), 5u);  // output, forward h, c, backward h, c
  EXPECT_EQ(states[0].shape(), (Shape{1, 4}));
  // Without return_sequences the output is both last outputs: forward h, then backward h.
  EXPECT_EQ(Array(xt::view(states[0].value(), 0, xt::range(0, 2))),
            Array(xt::view(states[1].value(), 0)));
  EXPECT_EQ(Array(xt::view(states[0].value(), 0, xt::range(2, 4))),
            Array(xt::view(states[3].value(), 0)));
  EXPECT_THROW(bidirectional.CallWithState(x, nullptr, {states[1], states[2]}, false),
               autograd::ShapeError);
  // Initial states, forward's then backward's, change the outputs.
  const std::vector<Tensor> from_state = bidirectional.CallWithState(
      x, nullptr,
      {Tensor(Array(xt::ones<Real>({1, 2}))), Tensor(Array(xt::ones<Real>({1, 2}))),
       Tensor(Array(xt::zeros<Real>({1, 2}))), Tensor(Array(xt::zeros<Real>({1, 2})))},
      false);
  EXPECT_NE(Array(xt::view(from_state[0].value(), 0, xt::range(0, 2))),
            Array(xt::view(states[0].value(), 0, xt::range(0, 2))));
  EXPECT_EQ(Array(xt::view(from_state[0].value(), 0, xt::range(2, 4))),
            Array(xt::view(states[0].value(), 0, xt::range(2, 4))));
}

}  // namespace
}  // namespace layers
