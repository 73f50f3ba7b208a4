// The README's example, verbatim between the markers: //autograd on its own fits
// y = 2 x^2 - 1 with a tiny two-layer network and Adam.
#include <fstream>
#include <iterator>
#include <string>

#include <gtest/gtest.h>

// README-EXAMPLE-BEGIN
#include "autograd/autograd.h"

using namespace autograd;

Real FitParabola() {
  Rng rng(0);
  Tensor x(RandomUniform({128, 1}, -1, 1, rng));
  Array y = 2 * x.value() * x.value() - 1;
  Tensor w1(GlorotUniform({1, 16}, 1, 16, rng), /*requires_grad=*/true);
  Tensor b1(xt::zeros<Real>({16}), true);
  Tensor w2(GlorotUniform({16, 1}, 16, 1, rng), true);
  Tensor b2(xt::zeros<Real>({1}), true);
  Adam adam(AdamOptions{/*learning_rate=*/0.01f});
  Real loss = 0;
  for (int step = 0; step < 2000; ++step) {
    Tensor hidden = Tanh(MatMul(x, w1) + b1);              // [128, 16]
    Tensor error = MatMul(hidden, w2) + b2 - Tensor(y);     // [128, 1]
    Tensor mse = Mean(error * error);
    loss = mse.item();
    CurrentTape().Backward(mse).IgnoreError();  // fills w1.grad(), ...
    adam.Step({w1, b1, w2, b2});                 // updates, then clears the gradients
  }
  return loss;
}
// README-EXAMPLE-END

TEST(ReadmeExample, FitsTheParabola) { EXPECT_LT(FitParabola(), 1e-3f); }

// The README shows this file's example word for word.
TEST(ReadmeExample, ReadmeShowsThisCode) {
  auto read = [](const std::string& path) {
    std::ifstream in(path);
    EXPECT_TRUE(in.good()) << "cannot read " << path;
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  };
  const std::string self = read("autograd/readme_example_test.cc");
  const std::string begin = "// README-EXAMPLE-BEGIN\n", end = "// README-EXAMPLE-END";
  const size_t from = self.find(begin) + begin.size();
  const std::string example = self.substr(from, self.find(end) - from);
  EXPECT_NE(read("README.md").find("```cpp\n" + example + "```"), std::string::npos);
}
