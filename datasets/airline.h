// Twitter US Airline Sentiment (Tweets.csv), prepared as the book chapter "Building Recurrent
// Neural Networks" does:
//   text.lower(); re.sub('[^0-9a-zA-Z]+', ' ', text); split; drop NLTK's English stop words;
//   word indices from 1 by descending frequency (ties in first-seen order);
//   pad with 0 at the end to the longest tweet.
// The task is binary: neutral tweets are dropped, negative = 0, positive = 1.
#ifndef DATASETS_AIRLINE_H_
#define DATASETS_AIRLINE_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "datasets/text.h"

namespace datasets {

// NLTK's English stop-word list (179 words, shipped as nltk_english_stopwords.txt).
const std::vector<std::string>& EnglishStopWords();

// The book's preprocess(): the words that remain of one tweet.
std::vector<std::string> PreprocessTweet(std::string_view text);

struct AirlineData {
  Sequences sequences;             // word indices from 1, in file order
  std::vector<int> labels;         // negative 0, positive 1
  std::vector<size_t> lines;       // the line of the file each tweet starts on
  std::vector<std::string> words;  // words[i - 1] has index i
  size_t max_length = 0;           // the longest tweet, in words
  size_t neutral_dropped = 0;
  double seconds = 0;
};

// Reads `path` (columns airline_sentiment and text). Errors name the file and the line or the
// missing column; a sentiment other than negative, neutral or positive is an error too, and so is
// a file without a negative or positive tweet, or one whose tweets all clean to no words.
absl::StatusOr<AirlineData> LoadAirlineTweets(const std::string& path);

}  // namespace datasets

#endif  // DATASETS_AIRLINE_H_
