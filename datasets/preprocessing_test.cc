#include "datasets/preprocessing.h"

#include <gtest/gtest.h>

namespace datasets {
namespace {

TextPreprocessing Imdb() {
  TextPreprocessing p;
  p.tokenizer = "imdb";
  p.words = {"the", "movie", "great"};  // indices 4, 5, 6
  p.first_index = 4;
  p.num_words = 6;  // "great" (6) is past the vocabulary
  p.start_char = 1;
  p.oov_char = 2;
  p.maxlen = 5;
  p.labels = {"negative", "positive"};
  return p;
}

TEST(TextPreprocessing, EncodesAsTheImdbLoaderDoes) {
  TextEncoder encoder(Imdb());
  absl::StatusOr<TextEncoder::Encoded> encoded = encoder.Encode("The movie was GREAT<br />the end");
  ASSERT_TRUE(encoded.ok());
  // start, the, movie, was (unknown), great (>= num_words), the, end (unknown)
  EXPECT_EQ(encoded->indices, (std::vector<int>{1, 4, 5, 2, 2, 4, 2}));
  EXPECT_EQ(encoded->words, 6u);
  EXPECT_EQ(encoded->known, 3u);
  EXPECT_EQ(encoder.Encode("caf\xc3").status().message(), "not valid UTF-8 text");
}

TEST(TextPreprocessing, AirlineDropsStopWordsAndUnknownWords) {
  TextPreprocessing p;
  p.tokenizer = "airline";
  p.words = {"flight", "delayed"};
  p.maxlen = 4;
  p.padding = Side::kPost;
  p.labels = {"negative", "positive"};
  absl::StatusOr<TextEncoder::Encoded> encoded =
      TextEncoder(p).Encode("@united my flight was DELAYED again!!");
  ASSERT_TRUE(encoded.ok());
  // "my" and "was" are stop words; "united" and "again" are not known: dropped (no oov_char).
  EXPECT_EQ(encoded->indices, (std::vector<int>{1, 2}));
}

TEST(TextPreprocessing, JsonRoundTripAndErrors) {
  const TextPreprocessing p = Imdb();
  const std::string json = ToJson(p);
  EXPECT_NE(json.find(R"("word_index":{"the":4,"movie":5,"great":6})"), std::string::npos) << json;
  absl::StatusOr<TextPreprocessing> back = TextPreprocessingFromJson(json);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->words, p.words);
  EXPECT_EQ(back->first_index, 4);
  EXPECT_EQ(back->num_words, 6u);
  EXPECT_EQ(back->oov_char, 2);
  EXPECT_EQ(back->maxlen, 5u);
  EXPECT_EQ(back->labels, p.labels);
  EXPECT_EQ(TextPreprocessingFromJson("[1]").status().message(),
            "preprocessing, key '(document)': expected (a JSON object)");
  std::string gap = json;
  gap.replace(gap.find("\"movie\":5"), 9, "\"movie\":9");
  EXPECT_EQ(TextPreprocessingFromJson(gap).status().message(),
            "preprocessing, key 'word_index': expected (consecutive indices in rank order)");
}

}  // namespace
}  // namespace datasets
