// What turns a raw text into a model's input, kept in the model file (like Keras'
// tokenizer.to_json() next to the pad_sequences arguments), so that the file is all that
// prediction needs. As JSON:
//   {"tokenizer": "imdb" | "airline", "word_index": {"the": 4, "and": 5, ...}, "num_words": 5000,
//    "start_char": 1, "oov_char": 2, "maxlen": 500, "padding": "pre", "truncating": "pre",
//    "labels": ["negative", "positive"]}
// "imdb" splits words as TokenizeReview (datasets/imdb.h), "airline" as PreprocessTweet
// (datasets/airline.h, NLTK stop words dropped). start_char (or null) begins every sequence;
// a word without an index, or with one >= num_words (0: no limit), becomes oov_char, or is
// dropped when oov_char is null (Keras' Tokenizer without oov_token).
#ifndef DATASETS_PREPROCESSING_H_
#define DATASETS_PREPROCESSING_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "datasets/text.h"

namespace datasets {

struct TextPreprocessing {
  std::string tokenizer;           // "imdb" or "airline"
  std::vector<std::string> words;  // words[r] has index first_index + r
  int first_index = 1;
  size_t num_words = 0;
  int start_char = -1;  // -1: none
  int oov_char = -1;    // -1: unknown words are dropped
  size_t maxlen = 0;
  Side padding = Side::kPre, truncating = Side::kPre;
  std::vector<std::string> labels;  // class names by output index
};

std::string ToJson(const TextPreprocessing& preprocessing);
// Errors say which key is missing or wrong.
absl::StatusOr<TextPreprocessing> TextPreprocessingFromJson(const std::string& json);

// One text -> its word indices (before padding). Text that is not UTF-8 is an error.
class TextEncoder {
 public:
  explicit TextEncoder(const TextPreprocessing& preprocessing);
  struct Encoded {
    std::vector<int> indices;
    size_t words = 0;  // words found in the text
    size_t known = 0;  // of which had an index
  };
  absl::StatusOr<Encoded> Encode(std::string_view text) const;
  const TextPreprocessing& preprocessing() const { return preprocessing_; }

 private:
  TextPreprocessing preprocessing_;
  absl::flat_hash_map<std::string, int> index_;
};

}  // namespace datasets

#endif  // DATASETS_PREPROCESSING_H_
