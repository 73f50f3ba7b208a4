#include "datasets/text.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "absl/strings/str_format.h"
#include "autograd/random.h"
#include "xtensor/xbuilder.hpp"

namespace datasets {

autograd::Array PadSequences(const Sequences& sequences, size_t maxlen, Side padding,
                             Side truncating, int value) {
  if (maxlen == 0) {
    for (const std::vector<int>& sequence : sequences) maxlen = std::max(maxlen, sequence.size());
  }
  autograd::Array out = autograd::Array::from_shape({sequences.size(), maxlen});
  std::fill(out.begin(), out.end(), static_cast<autograd::Real>(value));
  for (size_t row = 0; row < sequences.size(); ++row) {
    const std::vector<int>& sequence = sequences[row];
    const size_t kept = std::min(maxlen, sequence.size());
    const size_t from = truncating == Side::kPre ? sequence.size() - kept : 0;
    const size_t to = padding == Side::kPre ? maxlen - kept : 0;
    for (size_t k = 0; k < kept; ++k) {
      out(row, to + k) = static_cast<autograd::Real>(sequence[from + k]);
    }
  }
  return out;
}

absl::StatusOr<autograd::Array> ToCategorical(const std::vector<int>& labels, size_t classes) {
  autograd::Array one_hot = xt::zeros<autograd::Real>({labels.size(), classes});
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0 || static_cast<size_t>(labels[i]) >= classes) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "to_categorical: label %d (row %d) is outside [0, %d)", labels[i], i, classes));
    }
    one_hot(i, static_cast<size_t>(labels[i])) = 1;
  }
  return one_hot;
}

SplitIndices TrainTestSplit(size_t count, double test_size, uint64_t seed) {
  std::vector<size_t> order(count);
  std::iota(order.begin(), order.end(), 0);
  autograd::Rng rng(seed);
  for (size_t i = count; i > 1; --i) std::swap(order[i - 1], order[rng.Below(i)]);
  const size_t tests = std::min(count, static_cast<size_t>(std::ceil(test_size * count)));
  return {std::vector<size_t>(order.begin() + tests, order.end()),
          std::vector<size_t>(order.begin(), order.begin() + tests)};
}

autograd::Array TakeRows(const autograd::Array& data, const std::vector<size_t>& indices) {
  autograd::Shape shape = autograd::ShapeOf(data);
  const size_t row = shape.empty() || shape[0] == 0 ? 0 : data.size() / shape[0];
  shape[0] = indices.size();
  autograd::Array out = autograd::Array::from_shape(shape);
  for (size_t i = 0; i < indices.size(); ++i) {
    std::copy(data.data() + indices[i] * row, data.data() + (indices[i] + 1) * row,
              out.data() + i * row);
  }
  return out;
}

int WordCounter::Add(std::string_view word) {
  // Debian's Abseil has its own string_view type.
  auto it = ids_.find(absl::string_view(word.data(), word.size()));
  if (it == ids_.end()) {
    const int id = static_cast<int>(words_.size());
    words_.emplace_back(word);
    counts_.push_back(0);
    it = ids_.emplace(words_.back(), id).first;
  }
  ++counts_[it->second];
  return it->second;
}

int WordCounter::Find(std::string_view word) const {
  auto it = ids_.find(absl::string_view(word.data(), word.size()));
  return it == ids_.end() ? -1 : it->second;
}

std::vector<int> WordCounter::RankedIds() const {
  std::vector<int> ids(words_.size());
  std::iota(ids.begin(), ids.end(), 0);
  std::stable_sort(ids.begin(), ids.end(), [&](int a, int b) { return counts_[a] > counts_[b]; });
  return ids;
}

}  // namespace datasets
