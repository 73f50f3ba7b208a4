#include "autograd/blas.h"

#include <cmath>
#include <vector>

#include "gtest/gtest.h"

namespace autograd::blas {
namespace {

// C = alpha op(A) op(B) + beta C by the definition, in double.
std::vector<double> Reference(bool ta, bool tb, size_t m, size_t n, size_t k, double alpha,
                              const std::vector<float>& a, const std::vector<float>& b, double beta,
                              const std::vector<float>& c) {
  std::vector<double> out(m * n);
  for (size_t i = 0; i < m; ++i) {
    for (size_t j = 0; j < n; ++j) {
      double sum = 0;
      for (size_t p = 0; p < k; ++p) {
        sum += double(ta ? a[p * m + i] : a[i * k + p]) * double(tb ? b[j * k + p] : b[p * n + j]);
      }
      out[i * n + j] = alpha * sum + beta * c[i * n + j];
    }
  }
  return out;
}

// Both paths of Gemm: the plain loops for small products and oneDNN for large ones.
TEST(BlasTest, EveryTransposeMatchesTheDefinitionSmallAndLarge) {
  // Widths below, at and between multiples of the SIMD width (up to 16 floats), and one large
  // product for oneDNN.
  for (const size_t scale : {1, 4, 5, 9, 13}) {
    const size_t m = 3 * scale, n = 5 * scale, k = 7 * scale;
    std::vector<float> a(m * k), b(k * n), c(m * n);
    for (size_t i = 0; i < a.size(); ++i) a[i] = std::sin(0.37f * i);
    for (size_t i = 0; i < b.size(); ++i) b[i] = std::cos(0.11f * i);
    for (size_t i = 0; i < c.size(); ++i) c[i] = 0.5f - 0.01f * i;
    for (const bool ta : {false, true}) {
      for (const bool tb : {false, true}) {
        std::vector<float> out = c;
        Gemm(ta, tb, m, n, k, 0.5f, a.data(), ta ? m : k, b.data(), tb ? k : n, 2.0f, out.data(),
             n);
        const std::vector<double> expected = Reference(ta, tb, m, n, k, 0.5, a, b, 2.0, c);
        for (size_t i = 0; i < out.size(); ++i) {
          ASSERT_NEAR(out[i], expected[i], 1e-4 * (1 + std::abs(expected[i])))
              << "scale " << scale << " ta " << ta << " tb " << tb << " at " << i;
        }
      }
    }
  }
}

TEST(BlasTest, EmptyInnerDimensionGivesZerosWithBetaZero) {
  std::vector<float> c(6, std::nanf(""));
  Gemm(false, false, 2, 3, 0, 1.0f, nullptr, 0, nullptr, 3, 0.0f, c.data(), 3);
  for (float value : c) EXPECT_EQ(value, 0.0f);
  std::vector<double> d(6, 4.0);
  Gemm(false, false, 2, 3, 0, 1.0, nullptr, 0, nullptr, 3, 0.5, d.data(), 3);
  for (double value : d) EXPECT_EQ(value, 2.0);
}

}  // namespace
}  // namespace autograd::blas
