#include "datasets/text.h"

#include <algorithm>
#include <numeric>

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
