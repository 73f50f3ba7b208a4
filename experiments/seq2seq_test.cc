#include "experiments/seq2seq.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>

#include "absl/strings/str_replace.h"

namespace experiments {
namespace {

TEST(Seq2SeqPreprocessing, RoundTripsThroughJson) {
  absl::StatusOr<Seq2SeqPreprocessing> dates = Seq2SeqPreprocessing::ForTask("dates");
  ASSERT_TRUE(dates.ok()) << dates.status();
  absl::StatusOr<Seq2SeqPreprocessing> read = Seq2SeqPreprocessing::FromJson(dates->ToJson());
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->task, "dates");
  EXPECT_EQ(read->source_length, 29u);
  EXPECT_EQ(read->target_length, 10u);
  EXPECT_EQ(read->source.chars(), dates->source.chars());
  EXPECT_EQ(read->target.chars(), dates->target.chars());
}

// A file claiming long texts made //tools:decode one-hot encode each line to that length (85 MB
// a line at 100,000 characters, 22 GB for a batch of 256 lines).
TEST(Seq2SeqPreprocessing, RefusesLengthsNoModelNeeds) {
  absl::StatusOr<Seq2SeqPreprocessing> dates = Seq2SeqPreprocessing::ForTask("dates");
  ASSERT_TRUE(dates.ok()) << dates.status();
  const std::string json = dates->ToJson();
  ASSERT_NE(json.find("\"source_length\":29"), std::string::npos) << json;
  ASSERT_NE(json.find("\"target_length\":10"), std::string::npos) << json;
  for (const auto& [from, to] :
       {std::pair<std::string, std::string>{"\"source_length\":29", "\"source_length\":100000"},
        {"\"source_length\":29", "\"source_length\":1001"},
        {"\"target_length\":10", "\"target_length\":100000"}}) {
    absl::StatusOr<Seq2SeqPreprocessing> read =
        Seq2SeqPreprocessing::FromJson(absl::StrReplaceAll(json, {{from, to}}));
    ASSERT_FALSE(read.ok()) << to;
    EXPECT_NE(read.status().message().find("must be a whole number in [1, 1000]"),
              std::string::npos)
        << read.status();
  }
  absl::StatusOr<Seq2SeqPreprocessing> longest = Seq2SeqPreprocessing::FromJson(
      absl::StrReplaceAll(json, {{"\"source_length\":29", "\"source_length\":1000"}}));
  EXPECT_TRUE(longest.ok()) << longest.status();
}

}  // namespace
}  // namespace experiments
