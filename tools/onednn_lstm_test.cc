// Our fused LstmSequence against oneDNN's LSTM primitive, an independent implementation: the same
// weights and inputs give the same outputs and the same gradients of every input and weight.
#include "tools/onednn_lstm.h"

#include <cmath>
#include <vector>

#include "autograd/autograd.h"
#include "autograd/runtime.h"
#include "gtest/gtest.h"

namespace tools {
namespace {

using autograd::Array;
using autograd::Tensor;

std::vector<float> Flat(const Array& a) { return std::vector<float>(a.begin(), a.end()); }

void ExpectClose(const std::vector<float>& ours, const std::vector<float>& theirs,
                 const char* what) {
  ASSERT_EQ(ours.size(), theirs.size()) << what;
  double worst = 0;
  for (size_t i = 0; i < ours.size(); ++i) {
    worst = std::max(worst, std::abs(double(ours[i]) - theirs[i]) / (1e-3 + std::abs(theirs[i])));
  }
  EXPECT_LT(worst, 2e-3) << what << ": worst relative difference";
}

void Compare(size_t batch, size_t time, size_t input_dim, size_t units) {
  autograd::Rng rng(5);
  const Array x = autograd::RandomUniform({batch, time, input_dim}, -1, 1, rng);
  const Array kernel = autograd::RandomUniform({input_dim, 4 * units}, -0.5, 0.5, rng);
  const Array recurrent = autograd::RandomUniform({units, 4 * units}, -0.5, 0.5, rng);
  const Array bias = autograd::RandomUniform({4 * units}, -0.3, 0.3, rng);
  const Array dy = autograd::RandomUniform({batch, time, units}, -1, 1, rng);

  Tensor x_t(x, true), kernel_t(kernel, true), recurrent_t(recurrent, true), bias_t(bias, true);
  const Tensor zeros(Array(xt::zeros<float>({batch, units})));
  Tensor y = autograd::LstmSequence(x_t, zeros, zeros, kernel_t, recurrent_t, bias_t,
                                    autograd::SequenceOptions().go_backwards(false));
  Tensor loss = autograd::Sum(y * Tensor(dy));  // d loss / d y = dy
  ASSERT_TRUE(autograd::CurrentTape().Backward(loss).ok());

  OneDnnLstm reference(batch, time, input_dim, units);
  reference.SetWeights(Flat(kernel), Flat(recurrent), Flat(bias));
  reference.SetInput(Flat(x));
  reference.SetOutputGradient(Flat(dy));
  reference.ForwardTraining();
  reference.Backward();

  ExpectClose(Flat(y.value()), reference.Output(), "output");
  ExpectClose(Flat(x_t.grad()), reference.InputGradient(), "d x");
  ExpectClose(Flat(kernel_t.grad()), reference.KernelGradient(), "d kernel");
  ExpectClose(Flat(recurrent_t.grad()), reference.RecurrentKernelGradient(), "d recurrent kernel");
  ExpectClose(Flat(bias_t.grad()), reference.BiasGradient(), "d bias");
}

TEST(OneDnnLstmTest, SmallLayerAgreesWithOneDnn) { Compare(3, 7, 4, 5); }

TEST(OneDnnLstmTest, BatchSplitOverThreadsAgreesWithOneDnn) {
  ASSERT_GT(autograd::RecurrentThreads(32, 50, 16, 64), 1) << "the split is not exercised";
  Compare(32, 50, 8, 16);
}

}  // namespace
}  // namespace tools
