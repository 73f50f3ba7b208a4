#include "datasets/airline.h"

#include <cctype>
#include <chrono>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_format.h"
#include "datasets/csv.h"
#include "datasets/files.h"
#include "datasets/stopwords.h"

namespace datasets {

const std::vector<std::string>& EnglishStopWords() {
  static const std::vector<std::string> words(std::begin(kNltkEnglishStopWords),
                                              std::end(kNltkEnglishStopWords));
  return words;
}

std::vector<std::string> PreprocessTweet(std::string_view text) {
  static const absl::flat_hash_set<std::string> stop(EnglishStopWords().begin(),
                                                     EnglishStopWords().end());
  std::vector<std::string> words;
  std::string word;
  const auto flush = [&] {
    if (!word.empty() && !stop.contains(word)) words.push_back(word);
    word.clear();
  };
  for (const char c : text) {
    const unsigned char byte = static_cast<unsigned char>(c);
    // Only ASCII letters and digits survive; everything else (UTF-8 included) separates words.
    if (byte < 0x80 && std::isalnum(byte)) {
      word += static_cast<char>(std::tolower(byte));
    } else {
      flush();
    }
  }
  flush();
  return words;
}

absl::StatusOr<AirlineData> LoadAirlineTweets(const std::string& path) {
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<CsvTable> table = ReadCsv(path);
  if (!table.ok()) {
    return absl::Status(table.status().code(),
                        absl::StrFormat("%s. Fetch it with: bazel run //tools:fetch_data -- "
                                        "--from ../shared/data tweets (or pass --data_dir)",
                                        table.status().message()));
  }
  absl::StatusOr<size_t> sentiment_column = table->Column("airline_sentiment");
  if (!sentiment_column.ok()) return sentiment_column.status();
  absl::StatusOr<size_t> text_column = table->Column("text");
  if (!text_column.ok()) return text_column.status();

  AirlineData data;
  std::vector<std::vector<std::string>> tweets;
  for (size_t r = 0; r < table->records.size(); ++r) {
    const std::string& sentiment = table->records[r][*sentiment_column];
    if (sentiment == "neutral") {
      ++data.neutral_dropped;
      continue;
    }
    if (sentiment != "negative" && sentiment != "positive") {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s:%d: airline_sentiment is '%s', expected negative, neutral or positive", path,
          table->record_lines[r], Excerpt(sentiment)));
    }
    data.labels.push_back(sentiment == "positive" ? 1 : 0);
    data.lines.push_back(table->record_lines[r]);
    tweets.push_back(PreprocessTweet(table->records[r][*text_column]));
  }
  if (data.labels.empty()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s holds no negative or positive tweet (%d records, %d neutral, dropped as in the "
        "book): there is nothing to train on; check that this is the Kaggle file",
        path, table->records.size(), data.neutral_dropped));
  }
  WordCounter counter;
  for (const auto& words : tweets) {
    for (const std::string& word : words) counter.Add(word);
  }
  const std::vector<int> ranked = counter.RankedIds();
  std::vector<int> index(counter.size());
  for (size_t rank = 0; rank < ranked.size(); ++rank) {
    index[ranked[rank]] = static_cast<int>(rank) + 1;
    data.words.push_back(counter.word(ranked[rank]));
  }
  for (const auto& words : tweets) {
    std::vector<int> sequence;
    for (const std::string& word : words) sequence.push_back(index[counter.Find(word)]);
    data.max_length = std::max(data.max_length, sequence.size());
    data.sequences.push_back(std::move(sequence));
  }
  // Padding to length 0 would leave the model nothing to read (and a shapeless input).
  if (data.max_length == 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: after cleaning (punctuation and NLTK's English stop words removed, as in the book) "
        "every one of its %d negative and positive tweets is empty: there are no words left to "
        "train on; check that this is the Kaggle file",
        path, data.labels.size()));
  }
  data.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return data;
}

}  // namespace datasets
