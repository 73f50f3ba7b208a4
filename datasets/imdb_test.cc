#include "datasets/imdb.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

namespace datasets {
namespace {

namespace fs = std::filesystem;

TEST(TokenizeReview, RuleOfTheHeader) {
  EXPECT_EQ(
      TokenizeReview("Great film!<br /><br />I didn't like 'it' -- 10/10, A+"),
      (std::vector<std::string>{"great", "film", "i", "didn't", "like", "it", "10", "10", "a"}));
  EXPECT_EQ(TokenizeReview("Caf\xc3\xa9 noir"), (std::vector<std::string>{"caf\xc3\xa9", "noir"}));
  EXPECT_TRUE(TokenizeReview(" ''' -- ").empty());
}

// A tiny data set in the original layout, written by the test.
class TinyImdb : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(std::getenv("TEST_TMPDIR")) / "tiny_imdb";
    fs::remove_all(dir_);
    Write("train/pos/0_9.txt", "good good movie");
    Write("train/pos/1_8.txt", "good plot<br />good");
    Write("train/neg/0_1.txt", "bad movie bad bad");
    Write("train/neg/1_2.txt", "plot");
    Write("test/pos/0_10.txt", "good unseen");
    Write("test/neg/0_3.txt", "bad plot movie");
  }
  void Write(const std::string& name, const std::string& text) {
    fs::create_directories((dir_ / name).parent_path());
    std::ofstream(dir_ / name) << text;
  }
  fs::path dir_;
};

TEST_F(TinyImdb, WordIndicesStartOutOfVocabularyAndPadding) {
  // Training counts: good 4, bad 3, movie 2, plot 2 (movie seen first). Ranks 1..4 -> indices
  // good 4, bad 5, movie 6, plot 7 with index_from 3.
  ImdbOptions options;
  options.num_words = 7;  // indices >= 7 (plot) become 2
  absl::StatusOr<ImdbData> data = LoadImdb(dir_.string(), options);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->vocabulary_size, 4u);
  ASSERT_EQ(data->train.sequences.size(), 4u);
  ASSERT_EQ(data->test.sequences.size(), 2u);
  // Shuffled: find each review by its content.
  std::map<std::vector<int>, int> train;
  for (size_t i = 0; i < 4; ++i) train[data->train.sequences[i]] = data->train.labels[i];
  EXPECT_EQ(train.at({1, 4, 4, 6}), 1);     // good good movie
  EXPECT_EQ(train.at({1, 4, 2, 4}), 1);     // good plot good: plot is out of vocabulary
  EXPECT_EQ(train.at({1, 5, 6, 5, 5}), 0);  // bad movie bad bad
  EXPECT_EQ(train.at({1, 2}), 0);           // plot
  std::map<std::vector<int>, int> test;
  for (size_t i = 0; i < 2; ++i) test[data->test.sequences[i]] = data->test.labels[i];
  EXPECT_EQ(test.at({1, 4, 2}), 1);  // good unseen: unseen in training -> 2
  EXPECT_EQ(test.at({1, 5, 2, 6}), 0);

  // All words kept when num_words is 0.
  absl::StatusOr<ImdbData> all = LoadImdb(dir_.string(), ImdbOptions());
  ASSERT_TRUE(all.ok());
  bool found = false;
  for (const auto& sequence : all->train.sequences)
    found = found || sequence == std::vector<int>{1, 7};
  EXPECT_TRUE(found);

  // Padded and truncated as the experiments do.
  const autograd::Array x = *PadSequences(data->train.sequences, 3);
  EXPECT_EQ(x.shape()[1], 3u);
}

TEST_F(TinyImdb, SameSeedSameOrder) {
  absl::StatusOr<ImdbData> a = LoadImdb(dir_.string(), ImdbOptions());
  absl::StatusOr<ImdbData> b = LoadImdb(dir_.string(), ImdbOptions());
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->train.sequences, b->train.sequences);
}

TEST_F(TinyImdb, MissingAndPartialDirectoriesSayWhatIsMissing) {
  absl::StatusOr<ImdbData> missing = LoadImdb((dir_ / "nowhere").string(), ImdbOptions());
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("missing folder"), std::string::npos);
  EXPECT_NE(missing.status().message().find("bazel run //tools:fetch_data"), std::string::npos);

  fs::remove_all(dir_ / "test" / "neg");
  absl::StatusOr<ImdbData> partial = LoadImdb(dir_.string(), ImdbOptions());
  ASSERT_FALSE(partial.ok());
  EXPECT_NE(partial.status().message().find((dir_ / "test" / "neg").string()), std::string::npos)
      << partial.status().message();
}

TEST_F(TinyImdb, UndecodableFileIsNamed) {
  Write("train/pos/2_7.txt", "bad byte \xff here");
  absl::StatusOr<ImdbData> data = LoadImdb(dir_.string(), ImdbOptions());
  ASSERT_FALSE(data.ok());
  EXPECT_NE(data.status().message().find("2_7.txt is not valid UTF-8"), std::string::npos)
      << data.status().message();
}

// Only regular files are reviews: a directory named *.txt is an error naming it (it aborted the
// run with std::length_error), and a FIFO named *.txt is one too, at once (it blocked forever).
TEST_F(TinyImdb, DirectoryNamedLikeAReviewIsNamed) {
  fs::create_directories(dir_ / "train/pos/5_9.txt");
  absl::StatusOr<ImdbData> data = LoadImdb(dir_.string(), ImdbOptions());
  ASSERT_FALSE(data.ok());
  EXPECT_NE(data.status().message().find("5_9.txt is not a regular file"), std::string::npos)
      << data.status().message();
}

TEST_F(TinyImdb, FifoNamedLikeAReviewIsNamedWithoutBlocking) {
  const fs::path fifo = dir_ / "test/neg/7_2.txt";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  absl::StatusOr<ImdbData> data = LoadImdb(dir_.string(), ImdbOptions());
  ASSERT_FALSE(data.ok());
  EXPECT_NE(data.status().message().find("7_2.txt is not a regular file"), std::string::npos)
      << data.status().message();
}

}  // namespace
}  // namespace datasets
