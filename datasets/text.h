// Keras-style text preprocessing shared by the data sets: pad_sequences and word indices.
#ifndef DATASETS_TEXT_H_
#define DATASETS_TEXT_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "autograd/tensor.h"

namespace datasets {

using Sequences = std::vector<std::vector<int>>;

enum class Side { kPre, kPost };

// Keras' pad_sequences: every sequence cut or padded to `maxlen` (0: the longest sequence's
// length). Padding and truncation happen at the start (kPre, Keras' default) or the end.
// -> [sequences, maxlen], indices stored as Real. A result of more than kMaxPaddedValues values is
// an error that gives the size and the longest sequence (cap the length instead).
inline constexpr size_t kMaxPaddedValues = size_t{1} << 31;  // 8 GiB of float32
absl::StatusOr<autograd::Array> PadSequences(const Sequences& sequences, size_t maxlen = 0,
                                             Side padding = Side::kPre,
                                             Side truncating = Side::kPre, int value = 0);

// Keras' to_categorical: labels in [0, classes) -> one-hot rows [labels, classes]. A label out of
// range is an error naming it.
absl::StatusOr<autograd::Array> ToCategorical(const std::vector<int>& labels, size_t classes);

// scikit-learn's train_test_split by indices: a seeded permutation of [0, count); the first
// ceil(test_size * count) go to the test set, the rest to training (each in permuted order).
struct SplitIndices {
  std::vector<size_t> train, test;
};
// test_size must lie in [0, 1] (NaN is not).
absl::StatusOr<SplitIndices> TrainTestSplit(size_t count, double test_size, uint64_t seed);

// The rows `indices` of a [rows, ...] array, in that order; an index past the last row is an error.
absl::StatusOr<autograd::Array> TakeRows(const autograd::Array& data,
                                         const std::vector<size_t>& indices);

// Whether `text` is well-formed UTF-8 (strict: overlong forms, surrogates and code points above
// U+10FFFF are not).
bool ValidUtf8(std::string_view text);

// Word counts in first-seen order, and the ranking Keras-style tokenizers build from them.
class WordCounter {
 public:
  // Counts one occurrence; returns the word's first-seen id (0, 1, ...).
  int Add(std::string_view word);
  size_t size() const { return words_.size(); }
  const std::string& word(int id) const { return words_[id]; }
  size_t count(int id) const { return counts_[id]; }
  // Ids ordered by descending count; ties keep first-seen order (what Python's stable
  // sorted(counts, key=counts.get, reverse=True) gives on a Counter built in reading order).
  std::vector<int> RankedIds() const;
  // The id of a known word, or -1.
  int Find(std::string_view word) const;

 private:
  std::vector<std::string> words_;
  std::vector<size_t> counts_;
  absl::flat_hash_map<std::string, int> ids_;  // looked up by string_view
};

}  // namespace datasets

#endif  // DATASETS_TEXT_H_
