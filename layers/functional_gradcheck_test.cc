// A graph's gradients by finite differences: two inputs, two outputs, one layer called on both.
// Tight in the double build (bazel test --config=f64, as CI runs it), loose in float32.
#include <gtest/gtest.h>

#include "autograd/elementwise.h"
#include "autograd/gradcheck.h"
#include "autograd/reductions.h"
#include "layers/dense.h"
#include "layers/functional.h"
#include "layers/model.h"

namespace layers {
namespace {

constexpr bool kDouble = sizeof(Real) == 8;

autograd::GradcheckOptions Options() {
  autograd::GradcheckOptions options;
  if (!kDouble) options.step = 1e-2, options.abs_tolerance = 2e-2, options.rel_tolerance = 2e-2;
  return options;
}

Array Random(Shape shape, uint64_t seed) {
  Rng rng(seed);
  return autograd::RandomUniform(shape, -1, 1, rng);
}

struct SharedGraph {
  LayerPtr shared = Dense(3, "tanh");
  LayerPtr head_a = Dense(2), head_b = Dense(1, "sigmoid");
  KerasTensor left = Input({4}), right = Input({4});
  Model model{{left, right}, {head_a(shared(left)), head_b(shared(right))}, /*seed=*/8};
  Array x1 = Random({5, 4}, 1), x2 = Random({5, 4}, 2);
  Array y1 = Random({5, 2}, 3), y2 = Random({5, 1}, 4);

  // The outputs' squared errors, weighted 1 and `weight_b` (0 or 1 picks one call's share).
  Tensor Loss(double weight_a, double weight_b) {
    std::vector<std::optional<Array>> masks;
    const std::vector<Tensor> out =
        model.CallNode({Tensor(x1), Tensor(x2)}, {nullptr, nullptr}, CallContext{true}, masks);
    const Tensor a = autograd::Sub(out[0], Tensor(y1)), b = autograd::Sub(out[1], Tensor(y2));
    return autograd::Add(autograd::Scale(autograd::Mean(autograd::Mul(a, a)), Real(weight_a)),
                         autograd::Scale(autograd::Mean(autograd::Mul(b, b)), Real(weight_b)));
  }
};

TEST(FunctionalGradients, MatchFiniteDifferences) {
  SharedGraph graph;
  ASSERT_TRUE(graph.model.status().ok()) << graph.model.status();
  const absl::Status status = autograd::Gradcheck(
      [&](const std::vector<Tensor>&) { return graph.Loss(1, 0.5); }, graph.model.Parameters(),
      Options());
  EXPECT_TRUE(status.ok()) << status;
}

// The shared layer's gradient is the sum of what each of its two calls contributes.
TEST(FunctionalGradients, SharedLayerGradientIsTheSumOverCalls) {
  SharedGraph graph;
  const std::vector<Weight> shared = graph.shared->weights();
  const auto gradients = [&](double weight_a, double weight_b) {
    autograd::CurrentTape().Clear();
    for (const Weight& weight : shared) Tensor(weight.tensor).ZeroGrad();
    EXPECT_TRUE(autograd::CurrentTape().Backward(graph.Loss(weight_a, weight_b)).ok());
    std::vector<Array> out;
    for (const Weight& weight : shared) out.push_back(weight.tensor.grad());
    return out;
  };
  const std::vector<Array> both = gradients(1, 1), first = gradients(1, 0),
                           second = gradients(0, 1);
  for (size_t w = 0; w < shared.size(); ++w) {
    double first_norm = 0, second_norm = 0;
    for (size_t k = 0; k < both[w].size(); ++k) {
      EXPECT_NEAR(both[w].data()[k], first[w].data()[k] + second[w].data()[k], 1e-6)
          << shared[w].name << " element " << k;
      first_norm += std::abs(first[w].data()[k]);
      second_norm += std::abs(second[w].data()[k]);
    }
    EXPECT_GT(first_norm, 0) << shared[w].name;  // both calls contribute
    EXPECT_GT(second_norm, 0) << shared[w].name;
  }
}

}  // namespace
}  // namespace layers
