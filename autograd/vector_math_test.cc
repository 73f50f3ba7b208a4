// The SIMD activations against the C library's in long double: within a few units in the last
// place everywhere, exact at the ends, NaN kept, and the partial last batch as the rest.
#include "autograd/vector_math.h"

#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "gtest/gtest.h"

namespace autograd::vector_math {
namespace {

// Every value from -30 to 30 in steps of 1/1024 (and around 0 finer): 61,441 + 2,000 points.
std::vector<Real> Grid() {
  std::vector<Real> x;
  for (int k = -30 * 1024; k <= 30 * 1024; ++k) x.push_back(Real(k) / Real(1024));
  for (int k = -1000; k < 1000; ++k) x.push_back(Real(k) * Real(1e-6));
  return x;
}

// |got - want| in units of the last place of want (float or double, whichever Real is), with
// an absolute floor of one ulp of 1e-6 (tiny results have tiny ulps).
double Ulps(Real got, long double want) {
  const long double ulp = std::max<long double>(
      std::nextafter(static_cast<Real>(std::fabs(want)), std::numeric_limits<Real>::infinity()) -
          static_cast<Real>(std::fabs(want)),
      std::nextafter(Real(1e-6), Real(1)) - Real(1e-6));
  return static_cast<double>(std::fabs(static_cast<long double>(got) - want) / ulp);
}

TEST(VectorMath, SigmoidWithinFourUlps) {
  std::vector<Real> x = Grid(), y = x;
  SigmoidInPlace(y.data(), y.size());
  double worst = 0;
  for (size_t k = 0; k < x.size(); ++k) {
    const long double want = 1.0L / (1.0L + std::exp(-static_cast<long double>(x[k])));
    worst = std::max(worst, Ulps(y[k], want));
    ASSERT_LE(Ulps(y[k], want), 4.0) << "sigmoid(" << x[k] << ") = " << y[k];
  }
  RecordProperty("worst_ulps", std::to_string(worst));
}

// The fast form for int8 inference: within its stated 2^-11 everywhere (in double it is exact),
// the ends clamped into [0, 1] and NaN kept; and not simply the exact one (float only).
TEST(VectorMath, SigmoidApproximateWithinItsBound) {
  std::vector<Real> x = Grid(), y = x;
  const Real inf = std::numeric_limits<Real>::infinity();
  for (Real end : {inf, -inf, Real(1e30), Real(-1e30), Real(100), Real(-100)}) x.push_back(end);
  y = x;
  SigmoidInPlaceApproximate(y.data(), y.size());
  double worst = 0;
  for (size_t k = 0; k < x.size(); ++k) {
    const long double want = 1.0L / (1.0L + std::exp(-static_cast<long double>(x[k])));
    const double error = static_cast<double>(std::fabs(static_cast<long double>(y[k]) - want));
    worst = std::max(worst, error);
    ASSERT_LE(error, std::ldexp(1.0, -11)) << "sigmoid(" << x[k] << ") = " << y[k];
    ASSERT_GE(y[k], Real(0));
  }
  if (std::is_same_v<Real, float>) {
    EXPECT_GT(worst, 1e-7) << "the exact sigmoid ran";
  }
  RecordProperty("worst_error", std::to_string(worst));
  std::vector<Real> nan = {std::numeric_limits<Real>::quiet_NaN()};
  SigmoidInPlaceApproximate(nan.data(), 1);
  EXPECT_TRUE(std::isnan(nan[0]));
}

TEST(VectorMath, TanhWithinFourUlps) {
  std::vector<Real> x = Grid(), y = x;
  TanhInPlace(y.data(), y.size());
  for (size_t k = 0; k < x.size(); ++k) {
    const long double want = std::tanh(static_cast<long double>(x[k]));
    ASSERT_LE(Ulps(y[k], want), 4.0) << "tanh(" << x[k] << ") = " << y[k];
  }
}

TEST(VectorMath, EndsAndNaN) {
  const Real inf = std::numeric_limits<Real>::infinity();
  std::vector<Real> x = {inf,
                         -inf,
                         Real(1e30),
                         Real(-1e30),
                         Real(100),
                         Real(-100),
                         std::numeric_limits<Real>::quiet_NaN()};
  std::vector<Real> s = x, t = x;
  SigmoidInPlace(s.data(), s.size());
  TanhInPlace(t.data(), t.size());
  EXPECT_EQ(s[0], 1);
  EXPECT_EQ(s[1], 0);
  EXPECT_EQ(s[2], 1);
  EXPECT_EQ(s[3], 0);
  EXPECT_EQ(s[4], 1);
  EXPECT_GE(s[5], 0);
  EXPECT_LT(s[5], Real(1e-30));
  EXPECT_TRUE(std::isnan(s[6]));
  EXPECT_EQ(t[0], 1);
  EXPECT_EQ(t[1], -1);
  EXPECT_EQ(t[2], 1);
  EXPECT_EQ(t[3], -1);
  EXPECT_EQ(t[4], 1);
  EXPECT_EQ(t[5], -1);
  EXPECT_TRUE(std::isnan(t[6]));
}

// Lengths 1 to 40 (no whole batch, one and a part, ...): each element as computed alone, and
// nothing past the end written.
TEST(VectorMath, PartialBatches) {
  for (size_t n = 1; n <= 40; ++n) {
    std::vector<Real> y(n + 1);
    for (size_t k = 0; k <= n; ++k) y[k] = Real(0.37) * Real(k) - Real(3);
    const Real guard = y[n];
    std::vector<Real> s = y, t = y;
    SigmoidInPlace(s.data(), n);
    TanhInPlace(t.data(), n);
    EXPECT_EQ(s[n], guard);
    EXPECT_EQ(t[n], guard);
    for (size_t k = 0; k < n; ++k) {
      Real one_s = y[k], one_t = y[k];
      SigmoidInPlace(&one_s, 1);
      TanhInPlace(&one_t, 1);
      EXPECT_EQ(s[k], one_s) << n << " " << k;
      EXPECT_EQ(t[k], one_t) << n << " " << k;
      EXPECT_NEAR(s[k], 1 / (1 + std::exp(-y[k])), 1e-6);
      EXPECT_NEAR(t[k], std::tanh(y[k]), 1e-6);
    }
  }
}

}  // namespace
}  // namespace autograd::vector_math
