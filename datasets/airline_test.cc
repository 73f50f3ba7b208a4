#include "datasets/airline.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace datasets {
namespace {

namespace fs = std::filesystem;

TEST(PreprocessTweet, TheBooksRule) {
  // Lowercase, runs of non-alphanumerics become one space, stop words go ("i", "the", "to",
  // "t" from "can't"... and "can").
  EXPECT_EQ(PreprocessTweet("@united I can't get to the GATE!!! Flight #UA123 :("),
            (std::vector<std::string>{"united", "get", "gate", "flight", "ua123"}));
  EXPECT_EQ(PreprocessTweet("caf\xc3\xa9 ok"), (std::vector<std::string>{"caf", "ok"}));
  EXPECT_EQ(EnglishStopWords().size(), 179u);
}

class TinyTweets : public ::testing::Test {
 protected:
  std::string Write(const std::string& text) {
    const fs::path path = fs::path(std::getenv("TEST_TMPDIR")) / "Tweets.csv";
    std::ofstream(path) << text;
    return path.string();
  }
};

TEST_F(TinyTweets, BinaryTaskIndicesByFrequencyThenFirstSeenAndPostPadding) {
  const std::string path = Write(
      "tweet_id,airline_sentiment,text\n"
      "1,negative,\"delayed, late; delayed\"\n"
      "2,neutral,\"what is the gate\"\n"
      "3,positive,\"great crew, great \"\"service\"\"\"\n"
      "4,negative,\"bags\nlost\"\n"
      "5,positive,crew");
  absl::StatusOr<AirlineData> data = LoadAirlineTweets(path);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->neutral_dropped, 1u);
  EXPECT_EQ(data->labels, (std::vector<int>{0, 1, 0, 1}));
  // Counts: delayed 2, late 1, great 2, crew 2, service 1, bags 1, lost 1. Ties keep first-seen
  // order: delayed, great, crew (2 each), then late, service, bags, lost.
  EXPECT_EQ(data->words, (std::vector<std::string>{"delayed", "great", "crew", "late", "service",
                                                   "bags", "lost"}));
  EXPECT_EQ(data->sequences, (Sequences{{1, 4, 1}, {2, 3, 2, 5}, {6, 7}, {3}}));
  EXPECT_EQ(data->max_length, 4u);
  EXPECT_EQ(data->lines, (std::vector<size_t>{2, 4, 5, 7}));
  const autograd::Array x = *PadSequences(data->sequences, data->max_length, Side::kPost);
  EXPECT_EQ(x, (autograd::Array{{1, 4, 1, 0}, {2, 3, 2, 5}, {6, 7, 0, 0}, {3, 0, 0, 0}}));
}

TEST_F(TinyTweets, ErrorsNameTheFileLineAndColumn) {
  absl::StatusOr<AirlineData> missing = LoadAirlineTweets(Write("tweet_id,text\n1,hi\n"));
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("no column 'airline_sentiment'"), std::string::npos);
  absl::StatusOr<AirlineData> bad = LoadAirlineTweets(Write("airline_sentiment,text\nangry,hi\n"));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("Tweets.csv:2: airline_sentiment is 'angry'"),
            std::string::npos);
  const std::string neutral = Write("airline_sentiment,text\nneutral,hi\nneutral,gate\n");
  EXPECT_EQ(LoadAirlineTweets(neutral).status().message(),
            neutral +
                " holds no negative or positive tweet (2 records, 2 neutral, dropped as in the "
                "book): there is nothing to train on; check that this is the Kaggle file");
  // Tweets of nothing but stop words and punctuation: no word survives the cleaning.
  const std::string stop_words =
      Write("airline_sentiment,text\nnegative,\"I was, and you are!\"\npositive,@ the ...\n"
            "neutral,gate\n");
  EXPECT_EQ(LoadAirlineTweets(stop_words).status().message(),
            stop_words +
                ": after cleaning (punctuation and NLTK's English stop words removed, as in the "
                "book) every one of its 2 negative and positive tweets is empty: there are no "
                "words left to train on; check that this is the Kaggle file");
  EXPECT_NE(LoadAirlineTweets(Write("airline_sentiment,text\n")).status().message().find(
                "no negative or positive tweet (0 records"),
            std::string::npos);
  const std::string long_value(1 << 20, 'z');
  absl::StatusOr<AirlineData> huge =
      LoadAirlineTweets(Write("airline_sentiment,text\n" + long_value + ",hi\n"));
  EXPECT_LT(huge.status().message().size(), 500u) << "a 1 MB field quoted in full";
  absl::StatusOr<AirlineData> absent = LoadAirlineTweets("/nonexistent/Tweets.csv");
  ASSERT_FALSE(absent.ok());
  EXPECT_NE(absent.status().message().find("bazel run //tools:fetch_data"), std::string::npos);
}

}  // namespace
}  // namespace datasets
