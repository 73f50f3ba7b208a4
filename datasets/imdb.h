// The IMDB Large Movie Review Dataset from its raw text, prepared as Keras'
// imdb.load_data(num_words=...) prepares its pre-tokenised copy.
//
// Layout read: <dir>/{train,test}/{pos,neg}/*.txt, one review per file; pos = 1, neg = 0.
// Files are read in the order of their numeric ids (0_9.txt, 1_7.txt, ...), train/neg before
// train/pos.
//
// Tokenizer rule (TokenizeReview): HTML line breaks "<br />" become spaces; ASCII letters are
// lowercased; a word is a maximal run of letters, digits and apostrophes with leading and trailing
// apostrophes removed (so "don't" is one word and 'quoted' loses its quotes). Bytes of multi-byte
// UTF-8 characters count as letters (they are kept, not lowercased). Everything else separates
// words.
//
// Word indices (as Keras): words ranked by frequency over the training reviews only, ties by
// first appearance in reading order; the most frequent word gets 1 + index_from. 0 is padding,
// 1 (start_char) begins every review, 2 (oov_char) replaces every word whose index would be
// >= num_words and every test word never seen in training.
//
// A file that cannot be read, or that is not valid UTF-8, is an error naming it (reviews are never
// silently dropped). A missing or empty folder is an error naming it and the fetch command.
#ifndef DATASETS_IMDB_H_
#define DATASETS_IMDB_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "datasets/text.h"

namespace datasets {

std::vector<std::string> TokenizeReview(std::string_view text);

struct ImdbOptions {
  size_t num_words = 0;  // 0: keep every word
  int index_from = 3;
  int start_char = 1;
  int oov_char = 2;
  uint64_t seed = 113;  // shuffles each split, as Keras does
};

struct LabelledSequences {
  Sequences sequences;
  std::vector<int> labels;
};

struct ImdbData {
  LabelledSequences train, test;
  size_t vocabulary_size = 0;  // distinct words in the training reviews
  // The words that have an index below num_words, by rank: words[r] has index r + 1 + index_from.
  std::vector<std::string> words;
  double seconds = 0;  // time spent loading
};

absl::StatusOr<ImdbData> LoadImdb(const std::string& dir, const ImdbOptions& options);

// The data directory the experiments use by default: $SEQLEARN_DATA_DIR, else the workspace's
// data/ under `bazel run`, else ./data.
std::string DefaultDataDirectory();

}  // namespace datasets

#endif  // DATASETS_IMDB_H_
