// Seeded random numbers and Keras' weight initializers. The same seed gives the same numbers on
// every run: the generator is std::mt19937_64 and the distributions are written here rather
// than taken from the standard library (whose algorithms are left to the implementation).
#ifndef AUTOGRAD_RANDOM_H_
#define AUTOGRAD_RANDOM_H_

#include <cstdint>
#include <random>

#include "autograd/tensor.h"

namespace autograd {

class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}
  // Uniform in [0, 1).
  double Uniform();
  double Uniform(double low, double high) { return low + (high - low) * Uniform(); }
  // Standard normal (Box-Muller).
  double Normal();
  // Uniform integer in [0, n).
  uint64_t Below(uint64_t n);
  std::mt19937_64& engine() { return engine_; }
  const std::mt19937_64& engine() const { return engine_; }

 private:
  std::mt19937_64 engine_;
};

Array RandomUniform(const Shape& shape, double low, double high, Rng& rng);
// Keras glorot_uniform: uniform in +-sqrt(6 / (fan_in + fan_out)).
Array GlorotUniform(const Shape& shape, size_t fan_in, size_t fan_out, Rng& rng);
// Keras Orthogonal (gain 1) for a [rows, cols] matrix: orthonormal rows when rows <= cols,
// orthonormal columns otherwise; from the QR decomposition of a Gaussian matrix.
Array Orthogonal(size_t rows, size_t cols, Rng& rng);

}  // namespace autograd

#endif  // AUTOGRAD_RANDOM_H_
