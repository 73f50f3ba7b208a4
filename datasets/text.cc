#include "datasets/text.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "absl/strings/str_format.h"
#include "autograd/random.h"
#include "xtensor/xbuilder.hpp"

namespace datasets {

absl::StatusOr<autograd::Array> PadSequences(const Sequences& sequences, size_t maxlen,
                                             Side padding, Side truncating, int value) {
  size_t longest = 0;
  for (const std::vector<int>& sequence : sequences) longest = std::max(longest, sequence.size());
  if (maxlen == 0) maxlen = longest;
  if (maxlen != 0 && sequences.size() > kMaxPaddedValues / maxlen) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "pad_sequences: %d sequences of length %d would be %.3g values, more than %d (the longest "
        "sequence has %d): cap the length",
        sequences.size(), maxlen, static_cast<double>(sequences.size()) * maxlen, kMaxPaddedValues,
        longest));
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

absl::StatusOr<SplitIndices> TrainTestSplit(size_t count, double test_size, uint64_t seed) {
  if (!(test_size >= 0 && test_size <= 1)) {  // also false for NaN
    return absl::InvalidArgumentError(
        absl::StrFormat("train_test_split: test_size must be in [0, 1], got %g", test_size));
  }
  std::vector<size_t> order(count);
  std::iota(order.begin(), order.end(), 0);
  autograd::Rng rng(seed);
  for (size_t i = count; i > 1; --i) std::swap(order[i - 1], order[rng.Below(i)]);
  const size_t tests = std::min(count, static_cast<size_t>(std::ceil(test_size * count)));
  return SplitIndices{std::vector<size_t>(order.begin() + tests, order.end()),
                      std::vector<size_t>(order.begin(), order.begin() + tests)};
}

absl::StatusOr<autograd::Array> TakeRows(const autograd::Array& data,
                                         const std::vector<size_t>& indices) {
  autograd::Shape shape = autograd::ShapeOf(data);
  if (shape.empty()) return absl::InvalidArgumentError("take_rows: the data has no rows (0-d)");
  for (size_t i = 0; i < indices.size(); ++i) {
    if (indices[i] >= shape[0]) {
      return absl::OutOfRangeError(
          absl::StrFormat("take_rows: index %d (position %d) is past the last of %d rows",
                          indices[i], i, shape[0]));
    }
  }
  const size_t row = shape[0] == 0 ? 0 : data.size() / shape[0];
  shape[0] = indices.size();
  autograd::Array out = autograd::Array::from_shape(shape);
  for (size_t i = 0; i < indices.size(); ++i) {
    std::copy(data.data() + indices[i] * row, data.data() + (indices[i] + 1) * row,
              out.data() + i * row);
  }
  return out;
}

bool ValidUtf8(std::string_view text) {
  // The well-formed byte sequences of the Unicode Standard, table 3-7: no overlong forms, no
  // surrogates (U+D800..DFFF), nothing above U+10FFFF.
  const auto in = [](unsigned char byte, unsigned char low, unsigned char high) {
    return byte >= low && byte <= high;
  };
  for (size_t i = 0; i < text.size();) {
    const unsigned char lead = static_cast<unsigned char>(text[i]);
    if (lead < 0x80) {
      ++i;
      continue;
    }
    size_t length = 0;
    unsigned char second_low = 0x80, second_high = 0xBF;
    if (in(lead, 0xC2, 0xDF)) {
      length = 2;
    } else if (in(lead, 0xE0, 0xEF)) {
      length = 3;
      if (lead == 0xE0) second_low = 0xA0;   // overlong below U+0800
      if (lead == 0xED) second_high = 0x9F;  // surrogates
    } else if (in(lead, 0xF0, 0xF4)) {
      length = 4;
      if (lead == 0xF0) second_low = 0x90;   // overlong below U+10000
      if (lead == 0xF4) second_high = 0x8F;  // above U+10FFFF
    } else {
      return false;  // continuation byte, overlong C0/C1, or F5..FF
    }
    if (text.size() - i < length) return false;  // truncated character
    if (!in(static_cast<unsigned char>(text[i + 1]), second_low, second_high)) return false;
    for (size_t k = 2; k < length; ++k) {
      if (!in(static_cast<unsigned char>(text[i + k]), 0x80, 0xBF)) return false;
    }
    i += length;
  }
  return true;
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
