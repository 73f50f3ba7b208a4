#include "datasets/text.h"

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

}  // namespace
}  // namespace datasets
