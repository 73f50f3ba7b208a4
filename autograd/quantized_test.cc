#include "autograd/quantized.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

namespace autograd {
namespace {

// Values on the quantization grid come out exact: a row spanning exactly 255 has step 1 (zero point
// at -min), a column whose largest magnitude is 127 has step 1. Products computed by hand.
TEST(QuantizedGemm, ValuesOnTheGridAreExact) {
  // Row 0: [0, 255, 10] (step 1, zero point 0). Row 1: [-51, 204, 0] (step 1, zero point 51).
  const std::vector<Real> a = {0, 255, 10, -51, 204, 0};
  // Column 0: [1, 127, -2]; column 1: [127, -1, 5] (both step 1).
  const std::vector<Real> b = {1, 127, 127, -1, -2, 5};
  const QuantizedMatrix q = QuantizeColumns(b.data(), 3, 2);
  EXPECT_FLOAT_EQ(q.scale[0], 1.0f);
  EXPECT_FLOAT_EQ(q.scale[1], 1.0f);
  std::vector<Real> c(4, Real(-7));
  QuantizedGemmScratch scratch;
  QuantizedGemm(2, a.data(), 3, q, false, c.data(), 2, scratch);
  // 0*1 + 255*127 + 10*(-2) = 32365;  0*127 + 255*(-1) + 10*5 = -205
  // -51*1 + 204*127 + 0 = 25857;      -51*127 + 204*(-1) + 0 = -6681
  EXPECT_FLOAT_EQ(c[0], 32365);
  EXPECT_FLOAT_EQ(c[1], -205);
  EXPECT_FLOAT_EQ(c[2], 25857);
  EXPECT_FLOAT_EQ(c[3], -6681);
  // accumulate adds to what C held.
  QuantizedGemm(1, a.data(), 3, q, true, c.data(), 2, scratch);
  EXPECT_FLOAT_EQ(c[0], 2 * 32365);
  EXPECT_FLOAT_EQ(c[1], -2 * 205);
  EXPECT_FLOAT_EQ(c[2], 25857);  // row 1 not touched by a one-row product
}

// Off the grid: within the bound stated in quantized.h, computed from each row's and column's
// step, against a plain double-precision product; and not exact (the quantization is real).
TEST(QuantizedGemm, WithinTheQuantizationBound) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> uniform(-1, 1);
  for (const auto& [m, k, n] : std::vector<std::array<size_t, 3>>{{5, 7, 9}, {33, 100, 400}}) {
    std::vector<Real> a(m * k), b(k * n);
    for (Real& v : a) v = static_cast<Real>(uniform(rng) + 0.3);  // asymmetric rows
    for (Real& v : b) v = static_cast<Real>(uniform(rng) * 0.2);
    const QuantizedMatrix q = QuantizeColumns(b.data(), k, n);
    std::vector<Real> c(m * n);
    QuantizedGemmScratch scratch;
    QuantizedGemm(m, a.data(), k, q, false, c.data(), n, scratch);
    double largest_error = 0;
    for (size_t i = 0; i < m; ++i) {
      double low = 0, high = 0;
      for (size_t p = 0; p < k; ++p) {
        low = std::min<double>(low, a[i * k + p]);
        high = std::max<double>(high, a[i * k + p]);
      }
      const double s_a = (high - low) / 255;
      for (size_t j = 0; j < n; ++j) {
        double top = 0;
        for (size_t p = 0; p < k; ++p) top = std::max(top, std::fabs(double(b[p * n + j])));
        const double s_b = top / 127;
        double exact = 0, bound = 0;
        for (size_t p = 0; p < k; ++p) {
          exact += double(a[i * k + p]) * b[p * n + j];
          bound +=
              std::fabs(a[i * k + p]) * s_b / 2 + std::fabs(b[p * n + j]) * s_a / 2 + s_a * s_b / 4;
        }
        const double error = std::fabs(c[i * n + j] - exact);
        EXPECT_LE(error, bound * 1.001 + 1e-5) << "row " << i << " column " << j;
        largest_error = std::max(largest_error, error);
      }
    }
    EXPECT_GT(largest_error, 1e-6);
  }
}

// Our VNNI kernel (QuantizedGemm where the processor has it) and oneDNN's u8s8s32 GEMM quantize
// alike and sum exactly in int32: their results differ only by float rounding in dequantizing.
TEST(QuantizedGemm, OursMatchesOneDnn) {
  std::mt19937 rng(5);
  std::uniform_real_distribution<double> uniform(-1, 1);
  for (const auto& [m, k, n] :
       std::vector<std::array<size_t, 3>>{{5, 7, 9}, {33, 100, 400}, {9, 32, 70}}) {
    std::vector<Real> a(m * k), b(k * n);
    for (Real& v : a) v = static_cast<Real>(uniform(rng) + 0.3);
    for (Real& v : b) v = static_cast<Real>(uniform(rng) * 0.2);
    const QuantizedMatrix q = QuantizeColumns(b.data(), k, n);
    for (const bool accumulate : {false, true}) {
      std::vector<Real> ours(m * n, Real(0.5)), theirs(m * n, Real(0.5));
      QuantizedGemmScratch scratch;
      QuantizedGemm(m, a.data(), k, q, accumulate, ours.data(), n, scratch);
      QuantizedGemmOneDnn(m, a.data(), k, q, accumulate, theirs.data(), n, scratch);
      for (size_t i = 0; i < m * n; ++i) {
        EXPECT_NEAR(ours[i], theirs[i], 1e-4 + 1e-5 * std::fabs(double(theirs[i])))
            << "element " << i << " of " << m << " x " << n << " x " << k;
      }
    }
  }
}

// Rows quantized once (as the recurrent ops quantize their inputs) and multiplied later from any
// offset give what quantizing and multiplying those rows at once gives; a row of the wrong length
// or a range past the end is refused.
TEST(QuantizedRows, ProductFromAnOffset) {
  std::mt19937 rng(8);
  std::uniform_real_distribution<double> uniform(-1, 1);
  const size_t m = 11, k = 30, n = 50;
  std::vector<Real> a(m * k), b(k * n);
  for (Real& v : a) v = static_cast<Real>(uniform(rng) - 0.2);
  for (Real& v : b) v = static_cast<Real>(uniform(rng) * 0.3);
  const QuantizedMatrix q = QuantizeColumns(b.data(), k, n);
  QuantizedRows rows;
  rows.Resize(m, k);
  EXPECT_EQ(rows.stride, 32u);
  for (size_t i = 0; i < m; ++i) rows.Set(i, a.data() + i * k);
  for (size_t i = 0; i < m; ++i) {  // the zero point maps 0 to an integer
    EXPECT_GE(rows.zero[i], 0);
    EXPECT_LE(rows.zero[i], 255);
    EXPECT_EQ(rows.values[i * rows.stride + 30], 0);  // padding
  }
  const size_t first = 3, count = 6;
  std::vector<Real> from_rows(count * n), at_once(count * n);
  QuantizedGemm(rows, first, count, q, false, from_rows.data(), n);
  QuantizedGemmScratch scratch;
  QuantizedGemm(count, a.data() + first * k, k, q, false, at_once.data(), n, scratch);
  for (size_t i = 0; i < count * n; ++i) EXPECT_EQ(from_rows[i], at_once[i]) << i;
  EXPECT_THROW(QuantizedGemm(rows, 6, 6, q, false, from_rows.data(), n), ShapeError);
  const QuantizedMatrix wrong = QuantizeColumns(b.data(), k - 1, n);
  EXPECT_THROW(QuantizedGemm(rows, 0, 1, wrong, false, from_rows.data(), n), ShapeError);
}

// Every byte, scale and zero point as the formula of quantized.h gives them, worked here in scalar
// code: rows of several lengths (whole and partial vectors), 1 to 33 at once (the AVX-512 path
// takes 16 at a time), written every third row.
TEST(QuantizedRows, BytesAsTheFormulaGives) {
  std::mt19937 rng(12);
  std::uniform_real_distribution<double> uniform(-2, 1);
  for (const size_t k : {1, 5, 16, 17, 100}) {
    for (const size_t m : {1, 15, 16, 17, 33}) {
      std::vector<Real> a(m * k);
      for (Real& v : a) v = static_cast<Real>(uniform(rng));
      if (m > 2) std::fill(a.begin() + k, a.begin() + 2 * k, Real(0));  // a row of zeros
      QuantizedRows rows;
      rows.Resize(3 * m, k);
      rows.Set(1, 3, m, a.data(), k);
      for (size_t i = 0; i < m; ++i) {
        float low = 0, high = 0;
        for (size_t p = 0; p < k; ++p) {
          low = std::min(low, static_cast<float>(a[i * k + p]));
          high = std::max(high, static_cast<float>(a[i * k + p]));
        }
        const float scale = high > low ? (high - low) / 255.0f : 1.0f;
        const float inverse = 1.0f / scale;
        const float zero = std::nearbyint(-low * inverse);
        const size_t row = 1 + 3 * i;
        ASSERT_EQ(rows.scale[row], scale) << "k " << k << " m " << m << " row " << i;
        ASSERT_EQ(rows.zero[row], zero) << "k " << k << " m " << m << " row " << i;
        for (size_t p = 0; p < rows.stride; ++p) {
          const int want =
              p < k ? static_cast<int>(std::nearbyint(std::clamp(
                          std::fma(static_cast<float>(a[i * k + p]), inverse, zero), 0.0f, 255.0f)))
                    : 0;
          ASSERT_EQ(rows.values[row * rows.stride + p], want)
              << "k " << k << " m " << m << " row " << i << " value " << p;
        }
      }
    }
  }
}

// The pair (a recurrent step's two products in one pass) gives what the two products one after
// the other give, the bias included, on whole and partial column panels and row blocks.
// A row holding a NaN or an infinity quantizes to scale NaN (its products NaN, as in float32); the
// rows beside it, quantized in the same call, are untouched by it.
TEST(QuantizedRows, NonFiniteRowsGiveNanProducts) {
  const Real nan = std::numeric_limits<Real>::quiet_NaN(), inf = std::numeric_limits<Real>::infinity();
  std::vector<Real> a(6 * 20, Real(0.25));
  a[1 * 20 + 7] = nan;
  a[3 * 20 + 19] = inf;
  a[4 * 20] = -inf;
  QuantizedRows rows;
  rows.Resize(6, 20);
  rows.Set(0, 1, 6, a.data(), 20);
  for (size_t i = 0; i < 6; ++i) {
    const bool finite = i != 1 && i != 3 && i != 4;
    EXPECT_EQ(std::isnan(rows.scale[i]), !finite) << "row " << i;
    if (finite) EXPECT_FLOAT_EQ(rows.scale[i], 0.25f / 255) << "row " << i;
  }
  std::vector<Real> b(20 * 3, Real(0.5)), c(6 * 3);
  const QuantizedMatrix q = QuantizeColumns(b.data(), 20, 3);
  QuantizedGemm(rows, 0, 6, q, false, c.data(), 3);
  for (size_t i = 0; i < 6; ++i) {
    const bool finite = i != 1 && i != 3 && i != 4;
    for (size_t j = 0; j < 3; ++j) {
      if (finite) {
        EXPECT_FLOAT_EQ(c[i * 3 + j], 2.5f) << i;  // 20 x 0.25 x 0.5, both on their grids
      } else {
        EXPECT_TRUE(std::isnan(c[i * 3 + j])) << i;
      }
    }
  }
}

TEST(QuantizedGemmPair, AsTheTwoProducts) {
  std::mt19937 rng(14);
  std::uniform_real_distribution<double> uniform(-1, 1);
  for (const auto& [m, k1, k2, n] :
       std::vector<std::array<size_t, 4>>{{7, 5, 9, 30}, {64, 32, 100, 400}, {6, 3, 20, 96}}) {
    std::vector<Real> a1(m * k1), a2(m * k2), b1(k1 * n), b2(k2 * n), bias(n);
    for (Real& v : a1) v = static_cast<Real>(uniform(rng));
    for (Real& v : a2) v = static_cast<Real>(uniform(rng) * 0.5 + 0.2);
    for (Real& v : b1) v = static_cast<Real>(uniform(rng) * 0.3);
    for (Real& v : b2) v = static_cast<Real>(uniform(rng) * 0.1);
    for (Real& v : bias) v = static_cast<Real>(uniform(rng));
    const QuantizedMatrix q1 = QuantizeColumns(b1.data(), k1, n),
                          q2 = QuantizeColumns(b2.data(), k2, n);
    QuantizedRows r1, r2;
    r1.Resize(m + 2, k1);
    r2.Resize(m, k2);
    r1.Set(2, 1, m, a1.data(), k1);
    r2.Set(0, 1, m, a2.data(), k2);
    std::vector<Real> pair(m * n, Real(9)), apart(m * n, Real(9));
    QuantizedGemmPair(r1, 2, q1, r2, 0, q2, m, pair.data(), n, bias.data());
    QuantizedGemm(r1, 2, m, q1, false, apart.data(), n, bias.data());
    QuantizedGemm(r2, 0, m, q2, true, apart.data(), n);
    for (size_t i = 0; i < m * n; ++i) {
      ASSERT_EQ(pair[i], apart[i]) << "element " << i << " of " << m << " x " << n;
    }
    EXPECT_THROW(QuantizedGemmPair(r1, 2, q1, r2, 1, q2, m, pair.data(), n), ShapeError);
  }
}

TEST(QuantizeColumns, PerColumnScale) {
  // Column 0 spans 0.5, column 1 spans 127: each gets its own step.
  const std::vector<Real> b = {0.5, -127, -0.25, 63.5};
  const QuantizedMatrix q = QuantizeColumns(b.data(), 2, 2);
  EXPECT_FLOAT_EQ(q.scale[0], 0.5f / 127);
  EXPECT_FLOAT_EQ(q.scale[1], 1.0f);
  EXPECT_EQ(q.values[0], 127);
  EXPECT_EQ(q.values[1], -127);
  EXPECT_EQ(q.values[2], -64);  // -63.5 -> -64 (lrint: half to even)
  EXPECT_EQ(q.values[3], 64);   // 63.5 -> 64 (round half to even)
  EXPECT_EQ(q.column_sums[0], 63);
  EXPECT_EQ(q.column_sums[1], -63);
}

}  // namespace
}  // namespace autograd
