#include "layers/data_adapter.h"

#include <algorithm>
#include <cstring>
#include <numeric>

namespace layers {
namespace {

std::vector<std::pair<size_t, size_t>> Batches(size_t samples, size_t batch_size) {
  std::vector<std::pair<size_t, size_t>> batches;
  for (size_t begin = 0; begin < samples; begin += batch_size) {
    batches.emplace_back(begin, std::min(samples, begin + batch_size));
  }
  return batches;
}

// `order` sorted by length, keeping the order of equal lengths.
void SortByLength(std::vector<size_t>& order, const std::vector<size_t>& lengths) {
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return lengths[a] < lengths[b]; });
}

}  // namespace

EpochPlan TrainingEpoch(std::vector<size_t>& carried, size_t batch_size,
                        const std::vector<size_t>* lengths, bool shuffle, autograd::Rng& rng) {
  const size_t samples = carried.size();
  if (shuffle) {
    for (size_t i = samples; i > 1; --i) std::swap(carried[i - 1], carried[rng.Below(i)]);
  }
  EpochPlan plan{carried, Batches(samples, batch_size)};
  if (lengths != nullptr) {
    SortByLength(plan.order, *lengths);
    if (shuffle) {
      for (size_t i = plan.batches.size(); i > 1; --i) {
        std::swap(plan.batches[i - 1], plan.batches[rng.Below(i)]);
      }
    }
  }
  return plan;
}

EpochPlan InferenceEpoch(size_t samples, size_t batch_size, const std::vector<size_t>* lengths) {
  EpochPlan plan{std::vector<size_t>(samples), Batches(samples, batch_size)};
  std::iota(plan.order.begin(), plan.order.end(), 0);
  if (lengths != nullptr) SortByLength(plan.order, *lengths);
  return plan;
}

std::vector<autograd::Array> GatherRows(absl::Span<const autograd::Array> arrays,
                                        const std::vector<size_t>& order, size_t begin,
                                        size_t end) {
  std::vector<autograd::Array> out;
  for (const autograd::Array& data : arrays) {
    autograd::Shape shape = autograd::ShapeOf(data);
    const size_t row = data.size() / shape[0];
    shape[0] = end - begin;
    autograd::Array rows = autograd::Array::from_shape(shape);
    for (size_t i = begin; i < end; ++i) {
      std::memcpy(rows.data() + (i - begin) * row, data.data() + order[i] * row,
                  row * sizeof(autograd::Real));
    }
    out.push_back(std::move(rows));
  }
  return out;
}

std::vector<size_t> RealLengths(const autograd::Array& mask) {
  const size_t samples = mask.shape()[0], time = mask.shape()[1];
  std::vector<size_t> lengths(samples, 0);
  for (size_t i = 0; i < samples; ++i) {
    const autograd::Real* row = mask.data() + i * time;
    size_t first = 0, last = time;
    while (first < time && row[first] == 0) ++first;
    while (last > first && row[last - 1] == 0) --last;
    lengths[i] = last - first;
  }
  return lengths;
}

}  // namespace layers
