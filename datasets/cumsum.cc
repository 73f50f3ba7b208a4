#include "datasets/cumsum.h"

namespace datasets {

Sequence GetSequence(size_t n_timesteps, autograd::Rng& rng) {
  Sequence sequence{autograd::Array::from_shape({1, n_timesteps, 1}),
                    autograd::Array::from_shape({1, n_timesteps, 1})};
  const double limit = static_cast<double>(n_timesteps) / 4.0;
  double cumulative = 0;
  for (size_t t = 0; t < n_timesteps; ++t) {
    const double value = rng.Uniform();
    cumulative += value;
    sequence.x(0, t, 0) = static_cast<autograd::Real>(value);
    sequence.y(0, t, 0) = cumulative < limit ? 0 : 1;
  }
  return sequence;
}

}  // namespace datasets
