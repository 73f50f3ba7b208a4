#include "layers/embedding.h"

#include <gtest/gtest.h>

#include "autograd/autograd.h"
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

}  // namespace
}  // namespace layers
