#include "autograd/optimizers.h"

#include <cmath>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "absl/strings/str_format.h"
#include "autograd/autograd.h"

namespace autograd {
namespace {

// The trajectories below start from p = [1, -2, 0.5] and are fed these gradients, one per step.
const Real kGradients[3][3] = {{0.5f, -4.0f, 0.0f}, {1.0f, 0.25f, -2.0f}, {-0.75f, 3.0f, 1.5f}};

// p after each of the three steps of `optimizer`.
std::vector<std::vector<double>> Trajectory(Optimizer& optimizer) {
  Tensor p(Array{1.0f, -2.0f, 0.5f}, true);
  std::vector<std::vector<double>> values;
  for (const auto& g : kGradients) {
    AccumulateGrad(p, Array{g[0], g[1], g[2]}, "test");
    optimizer.Step({p});
    EXPECT_FALSE(p.has_grad());
    values.emplace_back(p.value().begin(), p.value().end());
  }
  return values;
}

void ExpectTrajectory(Optimizer& optimizer, const double (&expected)[3][3]) {
  const std::vector<std::vector<double>> got = Trajectory(optimizer);
  for (size_t step = 0; step < 3; ++step) {
    for (size_t i = 0; i < 3; ++i) {
      EXPECT_NEAR(got[step][i], expected[step][i], 2e-6)
          << "step " << step + 1 << ", p[" << i << "]";
    }
  }
}

TEST(Adam, FirstTwoStepsMatchKerasFormulaByHand) {
  Tensor p(Array{1.0f, -2.0f}, true);
  Adam adam;
  // Step 1 with g = [0.5, -4]: m = 0.1 g, v = 0.001 g^2, lr_t = 0.001 sqrt(0.001) / 0.1,
  // so the update is lr_t * 0.1 g / (sqrt(0.001) |g| + 1e-7) ~= 0.001 sign(g).
  AccumulateGrad(p, Array{0.5f, -4.0f}, "test");
  adam.Step({p});
  const double lr1 = 0.001 * std::sqrt(1 - 0.999) / (1 - 0.9);
  const double step0 = lr1 * 0.05 / (std::sqrt(0.001 * 0.25) + 1e-7);
  EXPECT_NEAR(p.value()(0), 1.0 - step0, 1e-7);
  EXPECT_NEAR(p.value()(1), -2.0 + lr1 * 0.4 / (std::sqrt(0.001 * 16) + 1e-7), 1e-7);
  EXPECT_FALSE(p.has_grad());
  // Step 2 with g = [1, 0].
  AccumulateGrad(p, Array{1.0f, 0.0f}, "test");
  adam.Step({p});
  const double m = 0.9 * 0.05 + 0.1 * 1.0, v = 0.999 * 0.00025 + 0.001 * 1.0;
  const double lr2 = 0.001 * std::sqrt(1 - 0.999 * 0.999) / (1 - 0.9 * 0.9);
  EXPECT_NEAR(p.value()(0), 1.0 - step0 - lr2 * m / (std::sqrt(v) + 1e-7), 1e-6);
}

TEST(Sgd, StepsAgainstTheGradient) {
  Tensor p(Array{1.0f}, true);
  Sgd sgd(SgdOptions{0.1f});
  AccumulateGrad(p, Array{2.0f}, "test");
  sgd.Step({p});
  EXPECT_FLOAT_EQ(p.value()(0), 0.8f);
}

TEST(Adam, FitsALineAndParametersWithoutGradientsStayPut) {
  Rng rng(7);
  Tensor w(Array(xt::zeros<Real>({1, 1})), true), b(Array{0.0f}, true), frozen(Array{5.0f}, true);
  const Array x = RandomUniform({64, 1}, -1, 1, rng);
  const Array y = 3.0f * x - 1.0f;
  Adam adam(AdamOptions{0.05f});
  for (int step = 0; step < 500; ++step) {
    Tensor error = Sub(Add(MatMul(Tensor(x), w), b), Tensor(y));
    ASSERT_TRUE(CurrentTape().Backward(Mean(Mul(error, error))).ok());
    adam.Step({w, b, frozen});
  }
  EXPECT_NEAR(w.value()(0, 0), 3.0f, 1e-2);
  EXPECT_NEAR(b.value()(0), -1.0f, 1e-2);
  EXPECT_FLOAT_EQ(frozen.value()(0), 5.0f);
}

// The reference trajectories were computed in float64 by autograd/optimizers_reference.py:
// PyTorch 1.13 (Debian's python3-torch) where Keras and PyTorch compute the same thing, and
// Keras 2.11's formulas written out in NumPy where they do not (RMSprop with momentum). Epsilon is
// 0.25, large enough that where it sits (inside or outside the root) changes the numbers.

TEST(Rmsprop, WithoutMomentumMatchesPyTorch) {
  // torch.optim.RMSprop(lr=0.01, alpha=0.9, eps=0.25): Keras' update without momentum.
  const double expected[3][3] = {{0.987748518, -1.97359581, 0.5},
                                 {0.971081851, -1.97531686, 0.522664032},
                                 {0.982479263, -1.99262002, 0.507883565}};
  Rmsprop rmsprop(RmspropOptions{0.01f, 0.9f, 0.0f, 0.25f});
  ExpectTrajectory(rmsprop, expected);
}

TEST(Rmsprop, CenteredWithoutMomentumMatchesPyTorch) {
  // torch.optim.RMSprop(lr=0.01, alpha=0.9, eps=0.25, centered=True).
  const double expected[3][3] = {{0.9875, -1.97241379, 0.5},
                                 {0.969911441, -1.97419315, 0.523529412},
                                 {0.981374912, -1.99149632, 0.508740368}};
  Rmsprop rmsprop(RmspropOptions{0.01f, 0.9f, 0.0f, 0.25f, /*centered=*/true});
  ExpectTrajectory(rmsprop, expected);
}

TEST(Rmsprop, WithMomentumFollowsTensorFlowsKernel) {
  // Keras' formula by hand (epsilon inside the root); PyTorch's momentum RMSprop differs from
  // these by up to 0.0054.
  const double expected[3][3] = {{0.990465374, -1.97059142, 0.5},
                                 {0.969313423, -1.95780665, 0.524806947},
                                 {0.970358722, -1.97057422, 0.520795151}};
  Rmsprop rmsprop(RmspropOptions{0.01f, 0.9f, /*momentum=*/0.5f, 0.25f});
  ExpectTrajectory(rmsprop, expected);
}

TEST(Rmsprop, CenteredWithMomentumFollowsTensorFlowsKernel) {
  const double expected[3][3] = {{0.990421737, -1.96923077, 0.5},
                                 {0.968765026, -1.95583252, 0.525607376},
                                 {0.969601157, -1.96829335, 0.521986941}};
  Rmsprop rmsprop(RmspropOptions{0.01f, 0.9f, 0.5f, 0.25f, /*centered=*/true});
  ExpectTrajectory(rmsprop, expected);
}

TEST(Rmsprop, KerasDefaultsAndConfigNames) {
  Rmsprop rmsprop;
  EXPECT_EQ(rmsprop.name(), "RMSprop");
  const std::vector<std::pair<std::string, double>> expected = {{"learning_rate", Real(0.001)},
                                                                {"rho", Real(0.9)},
                                                                {"momentum", 0.0},
                                                                {"epsilon", Real(1e-7)},
                                                                {"centered", 0.0}};
  EXPECT_EQ(rmsprop.Hyperparameters(), expected);
}

TEST(Adagrad, MatchesPyTorch) {
  // torch.optim.Adagrad(lr=0.1, initial_accumulator_value=0.1, eps=0.25) computes Keras' update.
  const double expected[3][3] = {{0.940589917, -1.90615793, 0.5},
                                 {0.86976312, -1.91201237, 0.587918052},
                                 {0.915692783, -1.96897919, 0.533764876}};
  Adagrad adagrad(AdagradOptions{0.1f, 0.1f, 0.25f});
  ExpectTrajectory(adagrad, expected);
}

TEST(Adagrad, KerasDefaultsAndConfigNames) {
  Adagrad adagrad;
  EXPECT_EQ(adagrad.name(), "Adagrad");
  const std::vector<std::pair<std::string, double>> expected = {
      {"learning_rate", Real(0.001)},
      {"initial_accumulator_value", Real(0.1)},
      {"epsilon", Real(1e-7)}};
  EXPECT_EQ(adagrad.Hyperparameters(), expected);
}

// Two steps, the state moved into a fresh optimizer, one more step each: the same numbers.
template <typename Make>
void ExpectStateCarriesOver(Make make, const std::vector<std::string>& slot_names) {
  Tensor a(Array{1.0f, -2.0f, 0.5f}, true), b(Array{1.0f, -2.0f, 0.5f}, true);
  Tensor untouched(Array{3.0f}, true);  // never gets a gradient
  std::unique_ptr<Optimizer> first = make(), second = make();
  for (int step = 0; step < 2; ++step) {
    AccumulateGrad(a, Array{kGradients[step][0], kGradients[step][1], kGradients[step][2]}, "t");
    first->Step({a, untouched});
  }
  OptimizerState state = first->GetState({a, untouched});
  EXPECT_EQ(state.iterations, 2);
  EXPECT_EQ(state.slot_names, slot_names);
  ASSERT_EQ(state.slots.size(), slot_names.size());
  b.mutable_value() = a.value();
  ASSERT_TRUE(second->SetState({b, untouched}, state).ok());
  for (Tensor* p : {&a, &b}) {
    AccumulateGrad(*p, Array{kGradients[2][0], kGradients[2][1], kGradients[2][2]}, "t");
  }
  first->Step({a, untouched});
  second->Step({b, untouched});
  EXPECT_EQ(a.value(), b.value());
  EXPECT_EQ(second->GetState({b, untouched}).slots, first->GetState({a, untouched}).slots);
  // A state of another configuration is refused, naming the slots.
  OptimizerState wrong = state;
  wrong.slot_names.push_back("extra");
  wrong.slots.push_back(wrong.slots.back());
  absl::Status status = second->SetState({b, untouched}, wrong);
  EXPECT_NE(status.message().find("expected slots ("), std::string::npos) << status;
}

TEST(Rmsprop, StateHasKerasSlotsInKerasOrderAndCarriesOver) {
  ExpectStateCarriesOver([] { return std::make_unique<Rmsprop>(); }, {"rms"});
  ExpectStateCarriesOver(
      [] {
        return std::make_unique<Rmsprop>(RmspropOptions{0.01f, 0.9f, 0.5f, 1e-7f, true});
      },
      {"rms", "momentum", "mg"});
  ExpectStateCarriesOver(
      [] {
        return std::make_unique<Rmsprop>(RmspropOptions{0.01f, 0.9f, 0.0f, 1e-7f, true});
      },
      {"rms", "mg"});
}

TEST(Adagrad, StateStartsAtTheInitialAccumulatorValueAndCarriesOver) {
  ExpectStateCarriesOver([] { return std::make_unique<Adagrad>(); }, {"accumulator"});
  Tensor p(Array{1.0f, 2.0f}, true);
  Adagrad adagrad(AdagradOptions{0.1f, 0.25f});
  const OptimizerState state = adagrad.GetState({p});
  EXPECT_EQ(state.slots[0][0], (Array{0.25f, 0.25f}));
}

TEST(Optimizers, InvalidOptionsAreAnErrorFromCreate) {
  EXPECT_EQ(Rmsprop::Create(RmspropOptions{0.001f, 0.9f, 1.5f}).status().message(),
            "RMSprop: momentum expected (in [0, 1]), got (1.5)");
  EXPECT_EQ(Adagrad::Create(AdagradOptions{0.001f, -0.1f}).status().message(),
            "Adagrad: initial_accumulator_value expected (a finite number >= 0), got (-0.1)");
  EXPECT_EQ(Sgd::Create(SgdOptions{-1.0f}).status().message(),
            "SGD: learning_rate expected (a finite number >= 0), got (-1)");
  EXPECT_EQ(Adam::Create(AdamOptions{0.001f, 1.0f}).status().message(),
            "Adam: beta_1 expected (in [0, 1)), got (1)");
  EXPECT_TRUE(Adagrad::Create().ok());
}

TEST(OptimizersDeathTest, TheConstructorRefusesInvalidOptions) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(Rmsprop(RmspropOptions{0.001f, 0.9f, 1.5f}),
               "autograd::Rmsprop: invalid options: RMSprop: momentum expected \\(in \\[0, "
               "1\\]\\), got \\(1.5\\) \\(construct it with Rmsprop::Create");
}

// Gradient clipping, numbers by hand. SGD with learning rate 1 from p = 0: p = -clipped gradient.
std::unique_ptr<Sgd> PlainSgd(GradientClipping clipping) {
  SgdOptions options{1.0f};
  options.clipping = clipping;
  return std::make_unique<Sgd>(options);
}

TEST(GradientClipping, ClipnormScalesEachGradientToItsOwnNorm) {
  GradientClipping clip;
  clip.clipnorm = 1.0f;
  auto sgd = PlainSgd(clip);
  Tensor a(Array{0.0f, 0.0f}, true), b(Array{0.0f, 0.0f}, true);
  AccumulateGrad(a, Array{3.0f, 4.0f}, "t");  // norm 5: scaled by 1/5
  AccumulateGrad(b, Array{0.3f, 0.4f}, "t");  // norm 0.5: below 1, unchanged
  sgd->Step({a, b});
  EXPECT_NEAR(a.value()(0), -0.6, 1e-7);
  EXPECT_NEAR(a.value()(1), -0.8, 1e-7);
  EXPECT_NEAR(b.value()(0), -0.3, 1e-7);
  EXPECT_NEAR(b.value()(1), -0.4, 1e-7);
}

TEST(GradientClipping, GlobalClipnormScalesAllGradientsTogether) {
  GradientClipping clip;
  clip.global_clipnorm = 6.5f;
  auto sgd = PlainSgd(clip);
  Tensor a(Array{0.0f, 0.0f}, true), b(Array{0.0f}, true), frozen(Array{100.0f}, true);
  // Global norm sqrt(9 + 16 + 144) = 13: every gradient halved. `frozen` has no gradient and
  // does not count (were it counted as 0 nothing changes; as its value, the norm would differ).
  AccumulateGrad(a, Array{3.0f, 4.0f}, "t");
  AccumulateGrad(b, Array{12.0f}, "t");
  sgd->Step({a, frozen, b});
  EXPECT_NEAR(a.value()(0), -1.5, 1e-6);
  EXPECT_NEAR(a.value()(1), -2.0, 1e-6);
  EXPECT_NEAR(b.value()(0), -6.0, 1e-6);
  EXPECT_EQ(frozen.value()(0), 100.0f);
  // Below the bound nothing changes.
  AccumulateGrad(b, Array{1.0f}, "t");
  sgd->Step({a, b});
  EXPECT_NEAR(b.value()(0), -7.0, 1e-6);
}

TEST(GradientClipping, ClipvalueComesBeforeClipnormAsInKeras) {
  // clipvalue 3.5 first: [3, 4] -> [3, 3.5], norm sqrt(21.25) = 4.6097722, then clipnorm 1:
  // [0.65079137, 0.75925660]. (clipnorm first would give [0.6, 0.8], which clipvalue keeps.)
  GradientClipping clip;
  clip.clipvalue = 3.5f;
  clip.clipnorm = 1.0f;
  auto sgd = PlainSgd(clip);
  Tensor a(Array{0.0f, 0.0f}, true);
  AccumulateGrad(a, Array{3.0f, 4.0f}, "t");
  sgd->Step({a});
  EXPECT_NEAR(a.value()(0), -0.65079137, 1e-7);
  EXPECT_NEAR(a.value()(1), -0.75925660, 1e-7);
}

TEST(GradientClipping, ANonFiniteGlobalNormMakesEveryGradientNaN) {
  // As tf.clip_by_global_norm: scale = c min(1 / inf, 1 / c) + (inf - inf) = NaN.
  GradientClipping clip;
  clip.global_clipnorm = 1.0f;
  auto sgd = PlainSgd(clip);
  Tensor a(Array{0.0f}, true), b(Array{0.0f}, true);
  AccumulateGrad(a, Array{INFINITY}, "t");
  AccumulateGrad(b, Array{1.0f}, "t");
  sgd->Step({a, b});
  EXPECT_TRUE(std::isnan(b.value()(0)));
}

// Each optimizer with clipping ends where an unclipped twin fed the hand-clipped gradients
// ends, and away from where the raw gradients take it.
template <typename Options, typename Make>
void ExpectClipped(Options options, Make make) {
  SCOPED_TRACE(make(options)->name());
  // clipvalue 5: [3, 4], [12] -> [3, 4], [5]; global norm sqrt(50) = 7.0710678, global_clipnorm
  // 6.5 scales by 0.91923882: [2.7577164, 3.6769553], [4.5961941].
  Options clipped_options = options;
  clipped_options.clipping.clipvalue = 5.0f;
  clipped_options.clipping.global_clipnorm = 6.5f;
  const auto run = [](Optimizer& optimizer, const Array& ga, const Array& gb) {
    Tensor a(Array{1.0f, -1.0f}, true), b(Array{0.5f}, true);
    for (int step = 0; step < 2; ++step) {
      AccumulateGrad(a, ga, "t");
      AccumulateGrad(b, gb, "t");
      optimizer.Step({a, b});
    }
    return std::vector<double>{a.value()(0), a.value()(1), b.value()(0)};
  };
  const std::vector<double> clipped = run(*make(clipped_options), Array{3.0f, 4.0f}, Array{12.0f});
  const std::vector<double> by_hand =
      run(*make(options), Array{2.7577164f, 3.6769553f}, Array{4.5961941f});
  const std::vector<double> raw = run(*make(options), Array{3.0f, 4.0f}, Array{12.0f});
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_NEAR(clipped[i], by_hand[i], 1e-6) << i;
    EXPECT_GT(std::fabs(clipped[i] - raw[i]), 1e-5) << i;  // 10x the tolerance above
  }
}

TEST(GradientClipping, EveryOptimizerClips) {
  // Epsilon 1 for Adam and RMSprop, whose steps otherwise hardly depend on the gradients' scale.
  ExpectClipped(SgdOptions{0.1f, 0.9f},
                [](const SgdOptions& o) { return std::make_unique<Sgd>(o); });
  ExpectClipped(AdamOptions{0.1f, 0.9f, 0.999f, 1.0f},
                [](const AdamOptions& o) { return std::make_unique<Adam>(o); });
  ExpectClipped(RmspropOptions{0.1f, 0.9f, 0.5f, 1.0f},
                [](const RmspropOptions& o) { return std::make_unique<Rmsprop>(o); });
  ExpectClipped(AdagradOptions{0.1f},
                [](const AdagradOptions& o) { return std::make_unique<Adagrad>(o); });
}

TEST(GradientClipping, InTheConfigOnlyWhenSetAndFirst) {
  RmspropOptions options;
  options.clipping.global_clipnorm = 2.0f;
  options.clipping.clipvalue = 0.5f;
  const std::vector<std::pair<std::string, double>> expected = {
      {"clipvalue", 0.5}, {"global_clipnorm", 2.0}, {"learning_rate", Real(0.001)},
      {"rho", Real(0.9)}, {"momentum", 0.0},        {"epsilon", Real(1e-7)},
      {"centered", 0.0}};
  EXPECT_EQ(Rmsprop(options).Hyperparameters(), expected);
  EXPECT_EQ(Sgd().Hyperparameters().front().first, "learning_rate");
}

TEST(GradientClipping, KerasRefusesClipnormWithGlobalClipnormAndSoDoWe) {
  AdamOptions options;
  options.clipping.clipnorm = 1.0f;
  options.clipping.global_clipnorm = 2.0f;
  EXPECT_EQ(Adam::Create(options).status().message(),
            "expected (at most one of clipnorm and global_clipnorm, as Keras), got (clipnorm 1 "
            "and global_clipnorm 2)");
  for (const float bad : {0.0f, -1.0f, NAN, INFINITY}) {
    SgdOptions sgd;
    sgd.clipping.clipvalue = bad;
    EXPECT_EQ(Sgd::Create(sgd).status().message(),
              absl::StrFormat("clipvalue expected (a finite number > 0, or unset), got (%g)", bad));
  }
}

TEST(Optimizers, LearningRateCanBeReadAndChanged) {
  Sgd sgd(SgdOptions{0.1f});
  EXPECT_EQ(sgd.learning_rate(), 0.1f);
  ASSERT_TRUE(sgd.SetLearningRate(0.5f).ok());
  EXPECT_EQ(sgd.learning_rate(), 0.5f);
  EXPECT_EQ(sgd.Hyperparameters().front(), (std::pair<std::string, double>("learning_rate", 0.5)));
  Tensor p(Array{1.0f}, true);
  AccumulateGrad(p, Array{2.0f}, "t");
  sgd.Step({p});
  EXPECT_EQ(p.value()(0), 0.0f);  // 1 - 0.5 * 2
  EXPECT_EQ(sgd.SetLearningRate(-1.0f).message(),
            "SGD: learning_rate expected (a finite number >= 0), got (-1)");
  EXPECT_FALSE(sgd.SetLearningRate(NAN).ok());
  EXPECT_EQ(sgd.learning_rate(), 0.5f);
  std::vector<std::unique_ptr<Optimizer>> optimizers;
  optimizers.push_back(std::make_unique<Adam>());
  optimizers.push_back(std::make_unique<Rmsprop>());
  optimizers.push_back(std::make_unique<Adagrad>());
  for (const std::unique_ptr<Optimizer>& optimizer : optimizers) {
    EXPECT_EQ(optimizer->learning_rate(), Real(0.001)) << optimizer->name();
    ASSERT_TRUE(optimizer->SetLearningRate(0.25f).ok());
    EXPECT_EQ(optimizer->Hyperparameters().front().second, 0.25) << optimizer->name();
  }
}

}  // namespace
}  // namespace autograd
