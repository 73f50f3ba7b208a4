// The synthetic cumulative-sum problem of "How to Develop a Bidirectional LSTM For Sequence
// Classification in Python with Keras":
//   X = n values uniform in [0, 1); limit = n / 4; y[t] = 0 if cumsum(X)[t] < limit else 1.
#ifndef DATASETS_CUMSUM_H_
#define DATASETS_CUMSUM_H_

#include "autograd/random.h"
#include "autograd/tensor.h"

namespace datasets {

struct Sequence {
  autograd::Array x;  // [1, n_timesteps, 1]
  autograd::Array y;  // [1, n_timesteps, 1], 0 or 1
};

// One fresh sequence, drawn from `rng` (the same seed gives the same sequences).
Sequence GetSequence(size_t n_timesteps, autograd::Rng& rng);

}  // namespace datasets

#endif  // DATASETS_CUMSUM_H_
