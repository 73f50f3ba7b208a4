#include "datasets/text.h"

#include <algorithm>

#include <gtest/gtest.h>

namespace datasets {
namespace {

TEST(PadSequences, KerasDefaultsPadAndTruncateAtTheStart) {
  const Sequences sequences = {{1, 2, 3, 4, 5}, {6, 7}, {}};
  const autograd::Array x = PadSequences(sequences, 3);
  // [[3, 4, 5], [0, 6, 7], [0, 0, 0]]
  EXPECT_EQ(x, (autograd::Array{{3, 4, 5}, {0, 6, 7}, {0, 0, 0}}));
}

TEST(PadSequences, PostPaddingPostTruncationValueAndLongest) {
  const Sequences sequences = {{1, 2, 3, 4, 5}, {6, 7}};
  EXPECT_EQ(PadSequences(sequences, 3, Side::kPost, Side::kPost, -1),
            (autograd::Array{{1, 2, 3}, {6, 7, -1}}));
  EXPECT_EQ(PadSequences(sequences, 3, Side::kPost, Side::kPre),
            (autograd::Array{{3, 4, 5}, {6, 7, 0}}));
  // maxlen 0: the longest sequence.
  EXPECT_EQ(PadSequences(sequences, 0, Side::kPost, Side::kPre),
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
  const SplitIndices split = TrainTestSplit(10, 0.3, 42);
  EXPECT_EQ(split.test.size(), 3u);
  EXPECT_EQ(split.train.size(), 7u);
  std::vector<size_t> all = split.train;
  all.insert(all.end(), split.test.begin(), split.test.end());
  std::sort(all.begin(), all.end());
  for (size_t i = 0; i < 10; ++i) EXPECT_EQ(all[i], i);
  EXPECT_EQ(TrainTestSplit(10, 0.3, 42).test, split.test);
  EXPECT_NE(TrainTestSplit(1000, 0.3, 43).test, TrainTestSplit(1000, 0.3, 42).test);
  // ceil, as scikit-learn: 0.3 * 11541 = 3462.3 -> 3463 test tweets.
  EXPECT_EQ(TrainTestSplit(11541, 0.3, 42).test.size(), 3463u);
}

TEST(TakeRows, PicksRowsInOrder) {
  const autograd::Array data = {{1, 2}, {3, 4}, {5, 6}};
  EXPECT_EQ(TakeRows(data, {2, 0}), (autograd::Array{{5, 6}, {1, 2}}));
}

}  // namespace
}  // namespace datasets
