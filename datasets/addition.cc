#include "datasets/addition.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace datasets {
namespace {

constexpr size_t kChars = kAdditionChars.size();

uint64_t PowerOfTen(size_t digits) {
  uint64_t power = 1;
  for (size_t i = 0; i < digits; ++i) power *= 10;
  return power;
}

// Keras' f(): int("".join(np.random.choice(list("0123456789")) for i in
// range(np.random.randint(1, DIGITS + 1)))).
uint64_t RandomNumber(size_t digits, autograd::Rng& rng) {
  const uint64_t length = 1 + rng.Below(digits);
  uint64_t number = 0;
  for (uint64_t i = 0; i < length; ++i) number = 10 * number + rng.Below(10);
  return number;
}

// The index of the largest of the `kChars` values at `row` (the first of equal ones).
size_t ArgMax(const autograd::Real* row) {
  return static_cast<size_t>(std::max_element(row, row + kChars) - row);
}

absl::Status CheckScoresShape(const autograd::Array& array, const char* what) {
  if (array.dimension() != 3 || array.shape()[2] != kChars) {
    return absl::InvalidArgumentError(
        absl::StrFormat("ScoreAdditions: expected %s of shape (samples, length, %d), got %s", what,
                        kChars, autograd::ShapeString(autograd::ShapeOf(array))));
  }
  return absl::OkStatus();
}

}  // namespace

std::string AdditionQuestion(uint64_t a, uint64_t b, size_t digits, bool reverse) {
  std::string query = absl::StrCat(a, "+", b);
  query.resize(std::max(query.size(), 2 * digits + 1), ' ');
  if (reverse) std::reverse(query.begin(), query.end());
  return query;
}

std::string AdditionAnswer(uint64_t a, uint64_t b, size_t digits) {
  std::string answer = absl::StrCat(a + b);
  answer.resize(std::max(answer.size(), digits + 1), ' ');
  return answer;
}

uint64_t MaxAdditionQuestions(size_t digits) {
  const uint64_t n = PowerOfTen(digits);
  return n * (n + 1) / 2;
}

absl::StatusOr<AdditionData> GenerateAdditions(size_t count, size_t digits, bool reverse,
                                               autograd::Rng& rng) {
  if (digits < 1 || digits > kMaxAdditionDigits) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "GenerateAdditions: digits must be 1 to %d, got %d", kMaxAdditionDigits, digits));
  }
  if (count > MaxAdditionQuestions(digits)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "GenerateAdditions: numbers of at most %d digit(s) make only %d distinct questions, "
        "and %d were asked for",
        digits, MaxAdditionQuestions(digits), count));
  }
  AdditionData data;
  data.questions.reserve(count);
  data.answers.reserve(count);
  absl::flat_hash_set<std::pair<uint64_t, uint64_t>> seen;
  seen.reserve(count);
  while (data.questions.size() < count) {
    const uint64_t a = RandomNumber(digits, rng);
    const uint64_t b = RandomNumber(digits, rng);
    // Keras skips a question seen before, and b+a after a+b (hence the sorting).
    if (!seen.insert(std::minmax(a, b)).second) continue;
    data.questions.push_back(AdditionQuestion(a, b, digits, reverse));
    data.answers.push_back(AdditionAnswer(a, b, digits));
  }
  return data;
}

AdditionSplit ShuffleAndSplit(AdditionData data, autograd::Rng& rng) {
  const size_t n = data.questions.size();
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  for (size_t i = n; i > 1; --i) std::swap(order[i - 1], order[rng.Below(i)]);
  const size_t split_at = n - n / 10;
  AdditionSplit split;
  for (size_t i = 0; i < n; ++i) {
    AdditionData& part = i < split_at ? split.train : split.validation;
    part.questions.push_back(std::move(data.questions[order[i]]));
    part.answers.push_back(std::move(data.answers[order[i]]));
  }
  return split;
}

absl::StatusOr<autograd::Array> EncodeAdditionChars(const std::vector<std::string>& texts,
                                                    size_t length) {
  autograd::Array x = autograd::Array::from_shape({texts.size(), length, kChars});
  x.fill(0);
  for (size_t i = 0; i < texts.size(); ++i) {
    if (texts[i].size() != length) {
      return absl::InvalidArgumentError(
          absl::StrFormat("EncodeAdditionChars: expected %d characters, got %d in \"%s\"", length,
                          texts[i].size(), texts[i]));
    }
    for (size_t t = 0; t < length; ++t) {
      const size_t index = kAdditionChars.find(texts[i][t]);
      if (index == std::string_view::npos) {
        return absl::InvalidArgumentError(
            absl::StrFormat("EncodeAdditionChars: \"%s\" holds '%c', which is not one of \"%s\"",
                            texts[i], texts[i][t], kAdditionChars));
      }
      x(i, t, index) = 1;
    }
  }
  return x;
}

std::string DecodeAdditionChars(const autograd::Array& probabilities, size_t sample) {
  if (probabilities.dimension() != 3 || probabilities.shape()[2] != kChars ||
      sample >= probabilities.shape()[0]) {
    std::fprintf(stderr,
                 "DecodeAdditionChars: expected a sample below the first axis of (samples, "
                 "length, %zu), got sample %zu of %s\n",
                 kChars, sample, autograd::ShapeString(autograd::ShapeOf(probabilities)).c_str());
    std::abort();
  }
  const size_t length = probabilities.shape()[1];
  const autograd::Real* rows = probabilities.data() + sample * length * kChars;
  std::string text(length, ' ');
  for (size_t t = 0; t < length; ++t) text[t] = kAdditionChars[ArgMax(rows + t * kChars)];
  return text;
}

absl::StatusOr<AdditionScores> ScoreAdditions(const autograd::Array& predictions,
                                              const autograd::Array& targets) {
  if (absl::Status status = CheckScoresShape(predictions, "predictions"); !status.ok()) {
    return status;
  }
  if (absl::Status status = CheckScoresShape(targets, "targets"); !status.ok()) return status;
  if (predictions.shape() != targets.shape()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("ScoreAdditions: expected targets of the predictions' shape %s, got %s",
                        autograd::ShapeString(autograd::ShapeOf(predictions)),
                        autograd::ShapeString(autograd::ShapeOf(targets))));
  }
  const size_t samples = predictions.shape()[0], length = predictions.shape()[1];
  if (samples == 0 || length == 0) {
    return absl::InvalidArgumentError("ScoreAdditions: no characters to score");
  }
  size_t characters_right = 0, answers_right = 0;
  for (size_t i = 0; i < samples; ++i) {
    size_t right = 0;
    for (size_t t = 0; t < length; ++t) {
      const size_t offset = (i * length + t) * kChars;
      if (ArgMax(predictions.data() + offset) == ArgMax(targets.data() + offset)) ++right;
    }
    characters_right += right;
    if (right == length) ++answers_right;
  }
  AdditionScores scores;
  scores.characters = static_cast<double>(characters_right) / static_cast<double>(samples * length);
  scores.answers = static_cast<double>(answers_right) / static_cast<double>(samples);
  return scores;
}

}  // namespace datasets
