// The data side of training, as Keras 3's data adapter and epoch iterator: which samples each
// batch takes, in which order, and gathering those rows from every input and target array. Fit,
// Evaluate and Predict all cut their data here.
#ifndef LAYERS_DATA_ADAPTER_H_
#define LAYERS_DATA_ADAPTER_H_

#include <cstddef>
#include <utility>
#include <vector>

#include "absl/types/span.h"
#include "autograd/random.h"
#include "autograd/tensor.h"

namespace layers {

// One pass over the data: batch b is samples order[batches[b].first .. batches[b].second).
struct EpochPlan {
  std::vector<size_t> order;
  std::vector<std::pair<size_t, size_t>> batches;
};

// A training epoch. `carried` is the sample order of the last epoch (0, 1, ... at first; it
// carries over, and through a saved model, so that k epochs then N - k more shuffle exactly as N
// at once): with `shuffle` it is reshuffled in place from `rng`. With `lengths` (bucketing), the
// samples are then sorted by length (ties keep the shuffled order), cut into batches, and with
// `shuffle` the batches are shuffled. Batches hold `batch_size` samples, the last one the rest.
EpochPlan TrainingEpoch(std::vector<size_t>& carried, size_t batch_size,
                        const std::vector<size_t>* lengths, bool shuffle, autograd::Rng& rng);
// Evaluation and prediction: the samples in order, or sorted by length with `lengths`.
EpochPlan InferenceEpoch(size_t samples, size_t batch_size, const std::vector<size_t>* lengths);

// Rows order[begin, end) of every array (each [samples, ...]).
std::vector<autograd::Array> GatherRows(absl::Span<const autograd::Array> arrays,
                                        const std::vector<size_t>& order, size_t begin, size_t end);

// Each sample's span of real steps in a [samples, time] mask (from its first real step to its
// last), for bucketing.
std::vector<size_t> RealLengths(const autograd::Array& mask);

}  // namespace layers

#endif  // LAYERS_DATA_ADAPTER_H_
