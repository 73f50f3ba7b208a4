// Keras' mixed_bfloat16 policy (runtime.h): the products' numbers against bfloat16 arithmetic done
// here in double, the fallback where the processor lacks bfloat16, and one training step's loss
// and gradients against float32's within a bound derived from bfloat16's 8-bit significand.
#include <cpuid.h>

#include <cmath>
#include <random>
#include <vector>

#include "autograd/autograd.h"
#include "autograd/blas.h"
#include "autograd/runtime.h"
#include "gtest/gtest.h"

namespace autograd {
namespace {

// bfloat16 keeps 8 significant bits: a value rounded to nearest is within u = 2^-8 of itself,
// relatively. float32 keeps 24.
constexpr double kBfloat16Roundoff = 1.0 / 256;
constexpr double kFloat32Roundoff = 1.0 / (1 << 24);

// Rounds to 8 significant bits, to nearest with ties to even, by arithmetic in double (blas.cc
// does it on the bits).
double RoundToBfloat16(double x) {
  if (x == 0 || !std::isfinite(x)) return x;
  int exponent = 0;
  const double fraction = std::frexp(x, &exponent);  // in [0.5, 1)
  return std::ldexp(std::nearbyint(std::ldexp(fraction, 8)), exponent - 8);
}

// The processor's own answer (CPUID leaf 7, subleaf 1, EAX bit 5), not oneDNN's.
bool CpuidSaysAvx512Bf16() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid_max(0, nullptr) < 7) return false;
  __cpuid_count(7, 1, eax, ebx, ecx, edx);
  return (eax >> 5) & 1;
}

// Sets the policy for the life of the object.
class ScopedPrecision {
 public:
  explicit ScopedPrecision(Precision precision) : saved_(CurrentRuntime()) {
    RuntimeOptions options = saved_;
    options.precision = precision;
    ConfigureRuntime(options);
  }
  ~ScopedPrecision() { ConfigureRuntime(saved_); }

 private:
  RuntimeOptions saved_;
};

// Whether mixed_bfloat16_anywhere runs bfloat16 under the ScopedPrecision in force: it does where
// the processor has AVX-512 (as CPUID says), on which oneDNN emulates what it lacks; elsewhere it
// must fall back, saying so.
bool AnywhereRuns() {
  if (__builtin_cpu_supports("avx512f")) {
    EXPECT_TRUE(Bfloat16Products()) << PrecisionFallback(Precision::kMixedBfloat16Anywhere);
  } else {
    EXPECT_FALSE(Bfloat16Products());
    EXPECT_NE(PrecisionFallback(Precision::kMixedBfloat16Anywhere).find("has no AVX-512"),
              std::string::npos);
  }
  return Bfloat16Products();
}

std::vector<float> Random(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uniform(-1, 1);
  std::vector<float> v(n);
  for (float& x : v) x = uniform(rng);
  return v;
}

struct Product {
  bool ta, tb;
  size_t m, n, k, lda, ldb, ldc;
  float alpha, beta;
};

// C = alpha op(A) op(B) + beta C through blas::Gemm; returns C and, in `bound`, float32's
// rounding bound on each entry for products of the operands rounded to bfloat16 (in `exact`).
std::vector<float> RunGemm(const Product& p, const std::vector<float>& a,
                           const std::vector<float>& b, const std::vector<float>& c,
                           std::vector<double>* exact, std::vector<double>* bound) {
  std::vector<float> out = c;
  blas::Gemm(p.ta, p.tb, p.m, p.n, p.k, p.alpha, a.data(), p.lda, b.data(), p.ldb, p.beta,
             out.data(), p.ldc);
  if (exact != nullptr) {
    exact->assign(p.m * p.n, 0);
    bound->assign(p.m * p.n, 0);
    for (size_t i = 0; i < p.m; ++i) {
      for (size_t j = 0; j < p.n; ++j) {
        double sum = 0, magnitude = 0;
        for (size_t q = 0; q < p.k; ++q) {
          const double x = RoundToBfloat16(p.ta ? a[q * p.lda + i] : a[i * p.lda + q]);
          const double y = RoundToBfloat16(p.tb ? b[j * p.ldb + q] : b[q * p.ldb + j]);
          sum += x * y;
          magnitude += std::fabs(x * y);
        }
        const double initial = c[i * p.ldc + j];
        (*exact)[i * p.n + j] = p.alpha * sum + p.beta * initial;
        // gamma_(k+2) for the k sums, the scaling and the addition of beta C.
        (*bound)[i * p.n + j] = (p.k + 2) * kFloat32Roundoff *
                                (std::fabs(p.alpha) * magnitude + std::fabs(p.beta * initial));
      }
    }
  }
  return out;
}

// Every transpose, strides wider than the rows, alpha and beta, small (one thread) and large
// (the pool) products: each entry within float32's summation bound of the exact product of the
// operands rounded to bfloat16; and more than 10 times that bound from float32's own product
// (which is within it of the unrounded operands' product), so bfloat16 really ran.
TEST(MixedPrecision, ProductsAreBfloat16OperandsSummedInFloat32) {
  ScopedPrecision bf16(Precision::kMixedBfloat16Anywhere);
  if (!AnywhereRuns()) return;
  // The small shape in every variant; the large one (threaded in oneDNN) in two.
  struct Case {
    size_t m, n, k;
    bool ta, tb;
    float alpha, beta;
  };
  std::vector<Case> cases = {{256, 400, 100, false, false, 1, 1},
                             {256, 400, 100, true, true, 0.5f, 0}};
  for (const bool ta : {false, true}) {
    for (const bool tb : {false, true}) {
      for (const auto& [alpha, beta] : {std::pair<float, float>{1, 0}, {0.5f, 1}, {-2, 0.25f}}) {
        cases.push_back({37, 45, 129, ta, tb, alpha, beta});
      }
    }
  }
  for (const auto& [m, n, k, ta, tb, alpha, beta] : cases) {
    Product p{ta, tb, m, n, k, (ta ? m : k) + 3, (tb ? k : n) + 5, n + 2, alpha, beta};
    const std::vector<float> a = Random((ta ? k : m) * p.lda, 1),
                             b = Random((tb ? n : k) * p.ldb, 2), c = Random(m * p.ldc, 3);
    std::vector<double> exact, bound;
    const std::vector<float> got = RunGemm(p, a, b, c, &exact, &bound);
    std::vector<float> float32;
    {
      ScopedPrecision plain(Precision::kFloat32);
      float32 = RunGemm(p, a, b, c, nullptr, nullptr);
    }
    double worst = 0, apart = 0;
    for (size_t i = 0; i < m; ++i) {
      for (size_t j = 0; j < n; ++j) {
        const double error = std::fabs(got[i * p.ldc + j] - exact[i * n + j]);
        worst = std::max(worst, error / bound[i * n + j]);
        apart = std::max(apart,
                         std::fabs(got[i * p.ldc + j] - float32[i * p.ldc + j]) / bound[i * n + j]);
      }
      // Columns past n (the stride's padding) untouched.
      for (size_t j = n; j < p.ldc; ++j) ASSERT_EQ(got[i * p.ldc + j], c[i * p.ldc + j]);
    }
    SCOPED_TRACE(testing::Message() << m << "x" << n << "x" << k << " ta " << ta << " tb " << tb
                                    << " alpha " << alpha << " beta " << beta);
    EXPECT_LE(worst, 1.0);
    EXPECT_GT(apart, 10.0);
    if (!ta && !tb) {
      // A RepeatedOperand B (rounded at the first product, reused at the second) gives the same.
      blas::RepeatedOperand<float> repeated(b.data(), k, n, p.ldb);
      for (int use = 0; use < 2; ++use) {
        std::vector<float> again = c;
        blas::Gemm(m, alpha, a.data(), p.lda, repeated, beta, again.data(), p.ldc);
        EXPECT_EQ(again, got) << "use " << use;
      }
      EXPECT_EQ(repeated.bfloat16.size(), k * n);
    }
  }
}

// mixed_bfloat16 runs where the processor has AVX512-BF16 (as CPUID says); elsewhere it says why
// in one line naming the processor, and the products are float32's, bit for bit.
TEST(MixedPrecision, FallsBackToFloat32WithoutAvx512Bf16) {
  const Product p{false, false, 64, 400, 100, 100, 400, 400, 1, 0};
  const std::vector<float> a = Random(64 * 100, 4), b = Random(100 * 400, 5), c(64 * 400, 0);
  std::vector<float> float32;
  {
    ScopedPrecision plain(Precision::kFloat32);
    EXPECT_FALSE(Bfloat16Products());
    float32 = RunGemm(p, a, b, c, nullptr, nullptr);
  }
  ScopedPrecision bf16(Precision::kMixedBfloat16);
  const std::string why = PrecisionFallback(Precision::kMixedBfloat16);
  if (CpuidSaysAvx512Bf16()) {
    EXPECT_TRUE(Bfloat16Products());
    EXPECT_EQ(why, "");
    EXPECT_NE(RunGemm(p, a, b, c, nullptr, nullptr), float32);
  } else {
    EXPECT_FALSE(Bfloat16Products());
    EXPECT_EQ(why, "mixed_bfloat16: " + ProcessorName() +
                       " has neither AVX512-BF16 nor AMX; the products run in float32");
    EXPECT_EQ(RunGemm(p, a, b, c, nullptr, nullptr), float32);
  }
}

TEST(MixedPrecision, PolicyNames) {
  Precision precision = Precision::kFloat32;
  for (Precision p :
       {Precision::kFloat32, Precision::kMixedBfloat16, Precision::kMixedBfloat16Anywhere}) {
    ASSERT_TRUE(ParsePrecision(PrecisionName(p), precision));
    EXPECT_EQ(precision, p);
  }
  ASSERT_TRUE(ParsePrecision("bfloat16", precision));
  EXPECT_EQ(precision, Precision::kMixedBfloat16);
  for (const char* bad : {"", "float16", "mixed_float16", "BFLOAT16", "bfloat16 "}) {
    EXPECT_FALSE(ParsePrecision(bad, precision)) << bad;
  }
}

struct Step {
  double loss;
  std::vector<Array> gradients;
};

// One training step of imdb_lstm's shape, smaller: Embedding(50, 32) -> LSTM(100) -> Dense(1),
// sigmoid cross-entropy, on a batch of 16 sequences of 40 tokens. The loss and the gradients of
// the embedding, the LSTM's kernel, recurrent kernel and bias, and the Dense kernel and bias.
Step TrainingStep() {
  Rng rng(3);
  const size_t B = 16, T = 40, V = 50, D = 32, H = 100;
  Tensor embedding(RandomUniform({V, D}, -0.05, 0.05, rng), true);
  Tensor kernel(GlorotUniform({D, 4 * H}, D, 4 * H, rng), true);
  Tensor recurrent(GlorotUniform({H, 4 * H}, H, 4 * H, rng), true);
  Array bias_value = xt::zeros<Real>({4 * H});
  for (size_t j = H; j < 2 * H; ++j) bias_value(j) = 1;  // unit_forget_bias
  Tensor bias(bias_value, true);
  Tensor dense(GlorotUniform({H, 1}, H, 1, rng), true);
  Tensor dense_bias(xt::zeros<Real>({1}), true);
  Array tokens = Array::from_shape({B, T});
  Array labels = Array::from_shape({B, 1});
  std::mt19937 generator(11);
  for (Real& t : tokens) t = static_cast<Real>(generator() % V);
  for (size_t i = 0; i < B; ++i) labels(i, 0) = static_cast<Real>(i % 2);
  const Tensor x = GatherRows(embedding, tokens);  // [B, T, D]
  const Tensor zeros(xt::zeros<Real>({B, H}));
  const Tensor outputs = LstmSequence(x, zeros, zeros, kernel, recurrent, bias);
  const Tensor h = Reshape(Slice(outputs, 1, T - 1, T), {B, H});  // the last step
  const Tensor loss = SigmoidBinaryCrossentropy(MatMul(h, dense) + dense_bias, labels);
  EXPECT_TRUE(CurrentTape().Backward(loss).ok());
  Step step{loss.item(), {}};
  for (const Tensor* t : {&embedding, &kernel, &recurrent, &bias, &dense, &dense_bias}) {
    step.gradients.push_back(t->grad());
  }
  return step;
}

double RelativeDifference(const Array& got, const Array& want) {
  double difference = 0, norm = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    difference += std::pow(double(got.flat(i)) - double(want.flat(i)), 2);
    norm += std::pow(double(want.flat(i)), 2);
  }
  return std::sqrt(difference / norm);
}

// The bounds. Each rounded operand is off by at most u = 2^-8 relatively, so each product of two
// by at most 2u + u^2 ~ 2u, and a sum of such products by 2u times the sum of their magnitudes.
// The loss sees the forward products: the input projection and the recurrent product (whose
// errors the gates damp rather than grow in a stable LSTM; Dense(1) is too small a product to
// leave float32): 2 products, 2u each, 4u in all. A gradient also passes the backward products
// (by U^T at every step, by the inputs for dW and dU): at most 4 on any path, 8u, times 2 from
// the magnitudes of the terms to the norm of their sum (random signs cancel), and times 2 again
// for the sums over the batch and the steps (the bias gradient is such a sum, smaller than its
// terms): 32u = 12.5%. The observed differences are far smaller for most (rounding errors are
// unbiased and average out); the bound is what rounding to 8 bits could do, not what it does.
constexpr double kLossBound = 4 * kBfloat16Roundoff;
constexpr double kGradientBound = 32 * kBfloat16Roundoff;

TEST(MixedPrecision, TrainingStepWithinTheBfloat16BoundOfFloat32) {
  Step float32, bfloat16;
  {
    ScopedPrecision plain(Precision::kFloat32);
    float32 = TrainingStep();
  }
  {
    ScopedPrecision bf16(Precision::kMixedBfloat16Anywhere);
    if (!AnywhereRuns()) return;
    bfloat16 = TrainingStep();
  }
  const double loss_difference = std::fabs(bfloat16.loss - float32.loss) / std::fabs(float32.loss);
  EXPECT_LE(loss_difference, kLossBound);
  const char* names[] = {"embedding", "kernel", "recurrent_kernel", "bias", "dense", "dense_bias"};
  double largest = 0;
  for (size_t g = 0; g < float32.gradients.size(); ++g) {
    const double difference = RelativeDifference(bfloat16.gradients[g], float32.gradients[g]);
    std::printf("%s: relative difference %.2e (bound %.2e)\n", names[g], difference,
                kGradientBound);
    EXPECT_LE(difference, kGradientBound) << names[g];
    largest = std::max(largest, difference);
  }
  std::printf("loss: relative difference %.2e (bound %.2e)\n", loss_difference, kLossBound);
  // bfloat16 ran: float32's own rounding would leave differences near 1e-7.
  EXPECT_GT(largest, kBfloat16Roundoff / 64);
}

}  // namespace
}  // namespace autograd
