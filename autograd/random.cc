#include "autograd/random.h"

#include <cmath>
#include <vector>

namespace autograd {

double Rng::Uniform() {
  // 53 random bits -> a double in [0, 1).
  return static_cast<double>(engine_() >> 11) * (1.0 / 9007199254740992.0);
}

double Rng::Normal() {
  const double u1 = 1.0 - Uniform();  // in (0, 1]
  const double u2 = Uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

uint64_t Rng::Below(uint64_t n) { return static_cast<uint64_t>(Uniform() * static_cast<double>(n)); }

Array RandomUniform(const Shape& shape, double low, double high, Rng& rng) {
  Array out = Array::from_shape(shape);
  for (Real& value : out) value = static_cast<Real>(rng.Uniform(low, high));
  return out;
}

Array GlorotUniform(const Shape& shape, size_t fan_in, size_t fan_out, Rng& rng) {
  const double limit = std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
  return RandomUniform(shape, -limit, limit, rng);
}

Array Orthogonal(size_t rows, size_t cols, Rng& rng) {
  // Gram-Schmidt on the columns of a tall Gaussian matrix [tall, wide]; the positive diagonal of
  // R it implies is Keras' sign correction (q *= sign(diag(r))).
  const size_t tall = std::max(rows, cols), wide = std::min(rows, cols);
  std::vector<std::vector<double>> q(wide, std::vector<double>(tall));
  for (size_t j = 0; j < wide; ++j) {
    for (size_t i = 0; i < tall; ++i) q[j][i] = rng.Normal();
  }
  for (size_t j = 0; j < wide; ++j) {
    for (size_t k = 0; k < j; ++k) {
      double dot = 0;
      for (size_t i = 0; i < tall; ++i) dot += q[j][i] * q[k][i];
      for (size_t i = 0; i < tall; ++i) q[j][i] -= dot * q[k][i];
    }
    double norm = 0;
    for (size_t i = 0; i < tall; ++i) norm += q[j][i] * q[j][i];
    norm = std::sqrt(norm);
    for (size_t i = 0; i < tall; ++i) q[j][i] /= norm;
  }
  Array out = Array::from_shape({rows, cols});
  for (size_t r = 0; r < rows; ++r) {
    for (size_t c = 0; c < cols; ++c) {
      // Orthonormal vectors become the rows when the matrix is wide, the columns when tall.
      out(r, c) = static_cast<Real>(rows <= cols ? q[r][c] : q[c][r]);
    }
  }
  return out;
}

}  // namespace autograd
