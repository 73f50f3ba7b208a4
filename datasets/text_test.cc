#include "datasets/text.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace datasets {
namespace {

TEST(PadSequences, KerasDefaultsPadAndTruncateAtTheStart) {
  const Sequences sequences = {{1, 2, 3, 4, 5}, {6, 7}, {}};
  const autograd::Array x = *PadSequences(sequences, 3);
  // [[3, 4, 5], [0, 6, 7], [0, 0, 0]]
  EXPECT_EQ(x, (autograd::Array{{3, 4, 5}, {0, 6, 7}, {0, 0, 0}}));
}

TEST(PadSequences, PostPaddingPostTruncationValueAndLongest) {
  const Sequences sequences = {{1, 2, 3, 4, 5}, {6, 7}};
  EXPECT_EQ(*PadSequences(sequences, 3, Side::kPost, Side::kPost, -1),
            (autograd::Array{{1, 2, 3}, {6, 7, -1}}));
  EXPECT_EQ(*PadSequences(sequences, 3, Side::kPost, Side::kPre),
            (autograd::Array{{3, 4, 5}, {6, 7, 0}}));
  // maxlen 0: the longest sequence.
  EXPECT_EQ(*PadSequences(sequences, 0, Side::kPost, Side::kPre),
            (autograd::Array{{1, 2, 3, 4, 5}, {6, 7, 0, 0, 0}}));
}

TEST(WordCounter, RanksByCountThenFirstSeen) {
  WordCounter counter;
  for (const char* word : {"b", "a", "c", "a", "c", "d"}) counter.Add(word);
  // counts: b 1, a 2, c 2, d 1 -> a, c (tie: a first seen), b, d (tie: b first seen)
  std::vector<std::string> ranked;
  for (int id : counter.RankedIds()) ranked.push_back(counter.word(id));
  EXPECT_EQ(ranked, (std::vector<std::string>{"a", "c", "b", "d"}));
  EXPECT_EQ(counter.Find("zzz"), -1);
  EXPECT_EQ(counter.count(counter.Find("c")), 2u);
}

TEST(ToCategorical, OneHotRowsAndRangeCheck) {
  absl::StatusOr<autograd::Array> one_hot = ToCategorical({2, 4}, 5);
  ASSERT_TRUE(one_hot.ok());
  EXPECT_EQ(*one_hot, (autograd::Array{{0, 0, 1, 0, 0}, {0, 0, 0, 0, 1}}));
  EXPECT_EQ(ToCategorical({5}, 5).status().message(),
            "to_categorical: label 5 (row 0) is outside [0, 5)");
}

TEST(TrainTestSplit, DisjointCoverSizedAndSeeded) {
  const SplitIndices split = *TrainTestSplit(10, 0.3, 42);
  EXPECT_EQ(split.test.size(), 3u);
  EXPECT_EQ(split.train.size(), 7u);
  std::vector<size_t> all = split.train;
  all.insert(all.end(), split.test.begin(), split.test.end());
  std::sort(all.begin(), all.end());
  for (size_t i = 0; i < 10; ++i) EXPECT_EQ(all[i], i);
  EXPECT_EQ(TrainTestSplit(10, 0.3, 42)->test, split.test);
  EXPECT_NE(TrainTestSplit(1000, 0.3, 43)->test, TrainTestSplit(1000, 0.3, 42)->test);
  // ceil, as scikit-learn: 0.3 * 11541 = 3462.3 -> 3463 test tweets.
  EXPECT_EQ(TrainTestSplit(11541, 0.3, 42)->test.size(), 3463u);
}

TEST(TakeRows, PicksRowsInOrder) {
  const autograd::Array data = {{1, 2}, {3, 4}, {5, 6}};
  EXPECT_EQ(*TakeRows(data, {2, 0}), (autograd::Array{{5, 6}, {1, 2}}));
}

TEST(TakeRows, IndexPastTheEndIsAnError) {
  const autograd::Array data = {{1, 2}, {3, 4}};
  const absl::StatusOr<autograd::Array> rows = TakeRows(data, {1, 2});
  ASSERT_FALSE(rows.ok());
  EXPECT_EQ(rows.status().message(), "take_rows: index 2 (position 1) is past the last of 2 rows");
}

TEST(TrainTestSplit, TestSizeOutsideZeroOneOrNaNIsAnError) {
  for (const double bad : {-0.1, 1.5, std::nan("")}) {
    const absl::StatusOr<SplitIndices> split = TrainTestSplit(10, bad, 1);
    ASSERT_FALSE(split.ok()) << bad;
    EXPECT_NE(split.status().message().find("test_size must be in [0, 1]"), std::string::npos);
  }
  EXPECT_EQ(TrainTestSplit(10, 0, 1)->test.size(), 0u);
  EXPECT_EQ(TrainTestSplit(10, 1, 1)->train.size(), 0u);
}

// rows * maxlen overflowed unchecked and then wrote out of bounds.
TEST(PadSequences, ResultTooLargeIsAnErrorNotAnOverflow) {
  const Sequences sequences(3, std::vector<int>{1, 2});
  const absl::StatusOr<autograd::Array> padded =
      PadSequences(sequences, std::numeric_limits<size_t>::max() / 2 + 1);
  ASSERT_FALSE(padded.ok());
  EXPECT_NE(padded.status().message().find("cap the length"), std::string::npos)
      << padded.status().message();
  EXPECT_NE(padded.status().message().find("the longest sequence has 2"), std::string::npos);
}

// Table 3-7 of the Unicode Standard, and the forms the old check let through.
TEST(ValidUtf8, AcceptsWellFormedRejectsOverlongSurrogatesAndBeyondU10FFFF) {
  for (const char* good : {"plain", "caf\xc3\xa9", "\xe0\xa0\x80", "\xed\x9f\xbf",
                           "\xf0\x90\x80\x80", "\xf4\x8f\xbf\xbf", ""}) {
    EXPECT_TRUE(ValidUtf8(good)) << good;
  }
  for (const char* bad : {"\xc0\xaf",          // overlong '/'
                          "\xc1\xbf",          // overlong
                          "\xe0\x80\xaf",      // overlong 3-byte
                          "\xed\xa0\x80",      // surrogate U+D800
                          "\xf0\x80\x80\xaf",  // overlong 4-byte
                          "\xf4\x90\x80\x80",  // U+110000
                          "\xf5\x80\x80\x80",  // lead byte past F4
                          "\x80",              // lone continuation
                          "\xe2\x82",          // truncated
                          "caf\xc3"}) {
    EXPECT_FALSE(ValidUtf8(bad)) << bad;
  }
}

}  // namespace
}  // namespace datasets
