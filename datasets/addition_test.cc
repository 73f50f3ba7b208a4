#include "datasets/addition.h"

#include <algorithm>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace datasets {
namespace {

TEST(AdditionTest, QuestionsArePaddedThenReversed) {
  // Keras' example: "535+61" -> "596"; MAXLEN = 3 + 1 + 3 = 7.
  EXPECT_EQ(AdditionQuestion(535, 61, 3, false), "535+61 ");
  EXPECT_EQ(AdditionQuestion(535, 61, 3, true), " 16+535");
  // Keras' comment: '12+345  ' becomes '  543+21' (its MAXLEN was 8 then; 7 now).
  EXPECT_EQ(AdditionQuestion(12, 345, 3, true), " 543+21");
  EXPECT_EQ(AdditionQuestion(999, 999, 3, true), "999+999");
  EXPECT_EQ(AdditionQuestion(0, 7, 3, false), "0+7    ");
  EXPECT_EQ(AdditionQuestion(0, 7, 3, true), "    7+0");
  EXPECT_EQ(AdditionQuestion(5, 5, 1, true), "5+5");
}

TEST(AdditionTest, AnswersArePaddedToDigitsPlusOne) {
  EXPECT_EQ(AdditionAnswer(535, 61, 3), "596 ");
  EXPECT_EQ(AdditionAnswer(999, 999, 3), "1998");
  EXPECT_EQ(AdditionAnswer(0, 0, 3), "0   ");
  EXPECT_EQ(AdditionAnswer(2, 3, 1), "5 ");
  EXPECT_EQ(AdditionAnswer(5, 5, 1), "10");
}

TEST(AdditionTest, MaxQuestionsCountsUnorderedPairs) {
  EXPECT_EQ(MaxAdditionQuestions(1), 55u);  // 10 * 11 / 2
  EXPECT_EQ(MaxAdditionQuestions(2), 5050u);
  EXPECT_EQ(MaxAdditionQuestions(3), 500500u);
}

// "a+b" read back from a question: the text must be the reversed query, padded.
std::pair<int, int> ParseQuestion(std::string question, bool reverse, size_t digits) {
  EXPECT_EQ(question.size(), 2 * digits + 1) << '"' << question << '"';
  if (reverse) std::reverse(question.begin(), question.end());
  const size_t end = question.find(' ');
  const std::string sum = question.substr(0, end);
  if (end != std::string::npos) {
    EXPECT_EQ(question.find_first_not_of(' ', end), std::string::npos)
        << "spaces pad only the end of \"" << question << '"';
  }
  const size_t plus = sum.find('+');
  EXPECT_NE(plus, std::string::npos) << sum;
  EXPECT_GE(plus, 1u) << sum;
  EXPECT_LE(plus, digits) << sum;
  EXPECT_GE(sum.size() - plus - 1, 1u) << sum;
  EXPECT_LE(sum.size() - plus - 1, digits) << sum;
  return {std::stoi(sum.substr(0, plus)), std::stoi(sum.substr(plus + 1))};
}

TEST(AdditionTest, OneDigitGivesEveryUnorderedPairOnce) {
  // 55 questions of one-digit numbers: each {a, b} with 0 <= a <= b <= 9 exactly once.
  autograd::Rng rng(3);
  absl::StatusOr<AdditionData> data = GenerateAdditions(55, 1, false, rng);
  ASSERT_TRUE(data.ok()) << data.status();
  ASSERT_EQ(data->questions.size(), 55u);
  ASSERT_EQ(data->answers.size(), 55u);
  std::set<std::pair<int, int>> pairs;
  for (size_t i = 0; i < 55; ++i) {
    auto [a, b] = ParseQuestion(data->questions[i], false, 1);
    pairs.insert({std::min(a, b), std::max(a, b)});
    const int sum = a + b;
    EXPECT_EQ(data->answers[i], sum < 10 ? std::string(1, static_cast<char>('0' + sum)) + " "
                                         : "1" + std::string(1, static_cast<char>('0' + sum - 10)))
        << data->questions[i];
  }
  EXPECT_EQ(pairs.size(), 55u);
  EXPECT_EQ(*pairs.begin(), std::make_pair(0, 0));
  EXPECT_EQ(*pairs.rbegin(), std::make_pair(9, 9));
}

TEST(AdditionTest, ThreeDigitQuestionsAreReversedAnsweredAndDistinct) {
  autograd::Rng rng(11);
  absl::StatusOr<AdditionData> data = GenerateAdditions(3000, 3, true, rng);
  ASSERT_TRUE(data.ok()) << data.status();
  ASSERT_EQ(data->questions.size(), 3000u);
  std::set<std::pair<int, int>> pairs;
  bool short_number = false, long_number = false;
  for (size_t i = 0; i < data->questions.size(); ++i) {
    auto [a, b] = ParseQuestion(data->questions[i], true, 3);
    EXPECT_TRUE(pairs.insert({std::min(a, b), std::max(a, b)}).second)
        << "asked twice: " << data->questions[i];
    std::string answer = std::to_string(a + b);
    while (answer.size() < 4) answer += ' ';
    EXPECT_EQ(data->answers[i], answer) << data->questions[i];
    short_number = short_number || a < 10 || b < 10;
    long_number = long_number || a >= 100 || b >= 100;
    // A reversed question starts with its padding, if any, and ends with a's first digit.
    EXPECT_EQ(data->questions[i].back(), std::to_string(a)[0]);
  }
  EXPECT_TRUE(short_number);
  EXPECT_TRUE(long_number);
}

TEST(AdditionTest, SameSeedSameQuestions) {
  autograd::Rng first(5), second(5), other(6);
  absl::StatusOr<AdditionData> a = GenerateAdditions(100, 3, true, first);
  absl::StatusOr<AdditionData> b = GenerateAdditions(100, 3, true, second);
  absl::StatusOr<AdditionData> c = GenerateAdditions(100, 3, true, other);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(a->questions, b->questions);
  EXPECT_EQ(a->answers, b->answers);
  EXPECT_NE(a->questions, c->questions);
}

TEST(AdditionTest, RefusesWhatCannotBeGenerated) {
  autograd::Rng rng(1);
  absl::StatusOr<AdditionData> too_many = GenerateAdditions(56, 1, true, rng);
  ASSERT_FALSE(too_many.ok());
  EXPECT_EQ(too_many.status().message(),
            "GenerateAdditions: numbers of at most 1 digit(s) make only 55 distinct questions, "
            "and 56 were asked for");
  EXPECT_FALSE(GenerateAdditions(1, 0, true, rng).ok());
  EXPECT_FALSE(GenerateAdditions(1, 10, true, rng).ok());
}

TEST(AdditionTest, SplitHoldsOutTheLastTenthOfAShuffle) {
  AdditionData data;
  for (int i = 0; i < 25; ++i) {
    data.questions.push_back("q" + std::to_string(i));
    data.answers.push_back("a" + std::to_string(i));
  }
  autograd::Rng rng(2);
  AdditionSplit split = ShuffleAndSplit(data, rng);
  // 25 - 25 // 10 = 23 to train on, 2 held out.
  ASSERT_EQ(split.train.questions.size(), 23u);
  ASSERT_EQ(split.train.answers.size(), 23u);
  ASSERT_EQ(split.validation.questions.size(), 2u);
  ASSERT_EQ(split.validation.answers.size(), 2u);
  std::set<std::string> seen;
  std::vector<std::string> order;
  for (const AdditionData* part : {&split.train, &split.validation}) {
    for (size_t i = 0; i < part->questions.size(); ++i) {
      // Each question keeps its answer.
      EXPECT_EQ(part->questions[i].substr(1), part->answers[i].substr(1));
      seen.insert(part->questions[i]);
      order.push_back(part->questions[i]);
    }
  }
  EXPECT_EQ(seen.size(), 25u);
  EXPECT_NE(order, data.questions) << "not shuffled";

  // 9 samples hold out 9 // 10 = 0; 10 hold out 1.
  data.questions.resize(10);
  data.answers.resize(10);
  EXPECT_EQ(ShuffleAndSplit(data, rng).validation.questions.size(), 1u);
  data.questions.resize(9);
  data.answers.resize(9);
  EXPECT_EQ(ShuffleAndSplit(data, rng).validation.questions.size(), 0u);
}

TEST(AdditionTest, EncodesInCharacterTableOrder) {
  // sorted("0123456789+ "): ' ' 0, '+' 1, '0' 2, ..., '9' 11.
  absl::StatusOr<autograd::Array> x = EncodeAdditionChars({" +0", "987"}, 3);
  ASSERT_TRUE(x.ok()) << x.status();
  ASSERT_EQ(x->shape(), (std::vector<size_t>{2, 3, 12}));
  EXPECT_EQ((*x)(0, 0, 0), 1);
  EXPECT_EQ((*x)(0, 1, 1), 1);
  EXPECT_EQ((*x)(0, 2, 2), 1);
  EXPECT_EQ((*x)(1, 0, 11), 1);
  EXPECT_EQ((*x)(1, 1, 10), 1);
  EXPECT_EQ((*x)(1, 2, 9), 1);
  float total = 0;
  for (float value : *x) total += value;
  EXPECT_EQ(total, 6);

  absl::StatusOr<autograd::Array> short_text = EncodeAdditionChars({"12"}, 3);
  ASSERT_FALSE(short_text.ok());
  EXPECT_EQ(short_text.status().message(),
            "EncodeAdditionChars: expected 3 characters, got 2 in \"12\"");
  absl::StatusOr<autograd::Array> minus = EncodeAdditionChars({"1-2"}, 3);
  ASSERT_FALSE(minus.ok());
  EXPECT_EQ(minus.status().message(),
            "EncodeAdditionChars: \"1-2\" holds '-', which is not one of \" +0123456789\"");
}

TEST(AdditionTest, DecodesTheArgMaxFirstOnTies) {
  autograd::Array p = autograd::Array::from_shape({2, 2, 12});
  p.fill(0.01f);
  p(1, 0, 5) = 0.9f;  // '3'
  p(1, 1, 1) = 0.5f;  // '+' and '5' tie: the first wins
  p(1, 1, 7) = 0.5f;
  EXPECT_EQ(DecodeAdditionChars(p, 1), "3+");
  EXPECT_EQ(DecodeAdditionChars(p, 0), "  ");  // all equal: index 0, the space
}

TEST(AdditionTest, ScoresCharactersAndWholeAnswers) {
  absl::StatusOr<autograd::Array> targets = EncodeAdditionChars({"596 ", "1998", "0   "}, 4);
  absl::StatusOr<autograd::Array> guesses = EncodeAdditionChars({"596 ", "1098", "1   "}, 4);
  ASSERT_TRUE(targets.ok() && guesses.ok());
  absl::StatusOr<AdditionScores> scores = ScoreAdditions(*guesses, *targets);
  ASSERT_TRUE(scores.ok()) << scores.status();
  // 12 characters, 2 wrong; 1 answer of 3 right.
  EXPECT_DOUBLE_EQ(scores->characters, 10.0 / 12.0);
  EXPECT_DOUBLE_EQ(scores->answers, 1.0 / 3.0);

  absl::StatusOr<autograd::Array> two = EncodeAdditionChars({"596 ", "1998"}, 4);
  ASSERT_TRUE(two.ok());
  absl::StatusOr<AdditionScores> mismatch = ScoreAdditions(*two, *targets);
  ASSERT_FALSE(mismatch.ok());
  EXPECT_EQ(mismatch.status().message(),
            "ScoreAdditions: expected targets of the predictions' shape (2, 4, 12), got (3, 4, "
            "12)");
}

}  // namespace
}  // namespace datasets
