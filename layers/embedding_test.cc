#include "layers/embedding.h"

#include <gtest/gtest.h>

#include "autograd/autograd.h"
#include "layers/dense.h"
#include "layers/recurrent.h"
#include "layers/sequential.h"

namespace layers {
namespace {

TEST(Embedding, LooksUpRowsAndCountsKerasParameters) {
  Rng rng(0);
  LayerPtr embedding = Embedding(5000, 32, 500);
  ASSERT_TRUE(embedding->Build({500}, rng).ok());
  EXPECT_EQ(embedding->CountParams(), 160000u);
  EXPECT_EQ(embedding->weights()[0].name, "embeddings");
  EXPECT_EQ(embedding->output_shape(), (Shape{500, 32}));
  const Array table = embedding->GetWeights()[0];
  EXPECT_LE(xt::amax(xt::abs(table))(), 0.05f);
  Array x = xt::zeros<Real>({2, 500});
  x(0, 3) = 4999;
  x(1, 499) = 7;
  const Array y = embedding->Call(Tensor(x), false).value();
  for (size_t j = 0; j < 32; ++j) {
    EXPECT_EQ(y(0, 3, j), table(4999, j));
    EXPECT_EQ(y(1, 499, j), table(7, j));
    EXPECT_EQ(y(1, 0, j), table(0, j));
  }
}

TEST(Embedding, OutOfRangeIndexNamesTheLayer) {
  Sequential model;
  model.Add(Embedding(10, 4, 3));
  model.Add(LSTM(2));
  ASSERT_TRUE(model.Compile("mse", std::make_unique<autograd::Adam>()).ok());
  Array x = xt::zeros<Real>({1, 3});
  x(0, 1) = 10;
  const absl::Status status = model.Predict(x).status();
  EXPECT_NE(status.message().find("layer 'embedding' (Embedding): index 10 at position 1"),
            std::string::npos)
      << status.message();
}

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
    return autograd::LstmSequence(input, zeros, zeros, Tensor(w[0]), Tensor(w[1]), Tensor(w[2]),
                                  false, mask)
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

TEST(Sequential, ImdbLstmParameterCounts) {
  Sequential model;
  model.Add(Embedding(5000, 32, 500));
  model.Add(LSTM(100));
  model.Add(Dense(1, "sigmoid"));
  ASSERT_TRUE(model.Compile("binary_crossentropy", std::make_unique<autograd::Adam>()).ok());
  EXPECT_EQ(model.layer(0).CountParams(), 160000u);
  EXPECT_EQ(model.layer(1).CountParams(), 53200u);
  EXPECT_EQ(model.layer(2).CountParams(), 101u);
  EXPECT_NE(model.Summary().find("Total params: 213,301\n"), std::string::npos);
}

TEST(Sequential, AirlineBookParameterCounts) {
  Sequential model;
  model.Add(Embedding(12533, 32, 26));
  model.Add(SimpleRNN(40));
  model.Add(Dense(2, "softmax"));
  ASSERT_TRUE(model.Compile("categorical_crossentropy", std::make_unique<autograd::Adam>()).ok());
  EXPECT_EQ(model.layer(0).CountParams(), 401056u);
  EXPECT_EQ(model.layer(1).CountParams(), 2920u);
  EXPECT_EQ(model.layer(2).CountParams(), 82u);

  Sequential toy;
  toy.Add(SimpleRNN(RecurrentOptions(1).recurrent_initializer("zeros")), {2, 1});
  toy.Add(Dense(5, "softmax"));
  ASSERT_TRUE(toy.Compile("categorical_crossentropy", std::make_unique<autograd::Adam>()).ok());
  EXPECT_EQ(toy.layer(1).CountParams(), 10u);
  EXPECT_NE(toy.Summary().find("Total params: 13\n"), std::string::npos);
}

}  // namespace
}  // namespace layers
