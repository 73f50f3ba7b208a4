// The addition problems of Keras' example "Sequence to sequence learning for performing number
// addition" (keras-io examples/nlp/addition_rnn.py): a question "535+61" padded with spaces to
// MAXLEN = DIGITS + 1 + DIGITS characters and, with REVERSE, read backwards (" 16+535"); its answer
// "596" padded with spaces to DIGITS + 1 characters ("596 "). Characters are one-hot in the order
// of Keras' CharacterTable, which sorts "0123456789+ ": " +0123456789".
#ifndef DATASETS_ADDITION_H_
#define DATASETS_ADDITION_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "autograd/random.h"
#include "autograd/tensor.h"

namespace datasets {

// CharacterTable("0123456789+ ").chars: sorted, so a character's one-hot index is its position.
inline constexpr std::string_view kAdditionChars = " +0123456789";

// The largest DIGITS supported: answers stay below 2 * 10^9.
inline constexpr size_t kMaxAdditionDigits = 9;

struct AdditionData {
  std::vector<std::string> questions;  // as the model reads them: padded, reversed with REVERSE
  std::vector<std::string> answers;    // padded with spaces to digits + 1
};

// Keras' query for a + b: "a+b" padded with spaces to 2 * digits + 1, reversed when `reverse`.
std::string AdditionQuestion(uint64_t a, uint64_t b, size_t digits, bool reverse);
// Keras' ans: str(a + b) padded with spaces to digits + 1.
std::string AdditionAnswer(uint64_t a, uint64_t b, size_t digits);

// How many distinct questions there are with numbers of at most `digits` digits: the unordered
// pairs {a, b} (a == b allowed) of N = 10^digits numbers, N (N + 1) / 2.
uint64_t MaxAdditionQuestions(size_t digits);

// Keras' generator: each number is int() of 1 to `digits` random digits (the count uniform, then
// each digit uniform; leading zeros vanish, so 7 can come from "7", "07" or "007"); a pair whose
// sorted (a, b) was drawn before is skipped, until `count` questions. Errors: digits outside 1 to
// kMaxAdditionDigits, count above MaxAdditionQuestions(digits) (the loop could not end).
absl::StatusOr<AdditionData> GenerateAdditions(size_t count, size_t digits, bool reverse,
                                               autograd::Rng& rng);

// Keras' shuffle and split: the samples in a random order (np.random.shuffle of the indices; a
// Fisher-Yates shuffle from `rng` here), then the last count / 10 (rounded down) held out for
// validation and the rest to train on.
struct AdditionSplit {
  AdditionData train, validation;
};
AdditionSplit ShuffleAndSplit(AdditionData data, autograd::Rng& rng);

// CharacterTable.encode of each text: [texts, length, 12], one 1 per row. Errors: a text that is
// not `length` characters long or holds a character outside kAdditionChars (named with its text).
absl::StatusOr<autograd::Array> EncodeAdditionChars(const std::vector<std::string>& texts,
                                                    size_t length);

// CharacterTable.decode of sample `sample` of `probabilities` [samples, length, 12]: the
// character of each row's arg max (the first on ties, as numpy's argmax). Precondition:
// `probabilities` is [samples, length, 12] and sample < samples, checked in every build (a
// violation prints the shape and aborts).
std::string DecodeAdditionChars(const autograd::Array& probabilities, size_t sample);

// Predictions scored against one-hot targets, both [samples, length, 12]: the fraction of
// characters whose arg max agrees (Keras' categorical accuracy over every step), and the fraction
// of samples whose characters all agree (the whole answer right).
struct AdditionScores {
  double characters = 0;
  double answers = 0;
};
absl::StatusOr<AdditionScores> ScoreAdditions(const autograd::Array& predictions,
                                              const autograd::Array& targets);

}  // namespace datasets

#endif  // DATASETS_ADDITION_H_
