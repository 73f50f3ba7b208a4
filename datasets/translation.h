// Synthetic character-level translation pairs for sequence-to-sequence experiments, drawn
// in-process from a seed (no files, no downloads), and the character vocabularies and padded
// index arrays an encoder-decoder model trains on.
//
// Tasks (all text lowercase ASCII):
//   "dates":   a date from 1950-01-01 to 2049-12-31 in one of kDateFormats human formats ->
//              its ISO form. "wednesday 9 may 2018", "9/5/18", "9th of may 2018" -> "2018-05-09".
//              Numeric forms are all day first (European), so no two formats read one string
//              as two dates; two-digit years mean 1950-2049 ("61" is 1961, "18" is 2018).
//   "numbers": an integer 0..1,000,000 in English words -> its digits. "one hundred twenty three
//              thousand four hundred fifty six" -> "123456". No "and", no hyphens.
#ifndef DATASETS_TRANSLATION_H_
#define DATASETS_TRANSLATION_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "autograd/tensor.h"

namespace datasets {

struct TranslationPair {
  std::string source, target;
};

// What a task can produce, fixed by the task (not read from data, so that a saved model knows
// it): the characters each side may hold and each side's longest text over every value the task
// can draw (the test checks both exhaustively).
struct TranslationTask {
  std::string name;
  std::string source_chars, target_chars;
  size_t max_source_len = 0, max_target_len = 0;
};
// "dates", then "numbers".
const std::vector<TranslationTask>& TranslationTasks();
// An unknown name is an InvalidArgument error naming it and the tasks there are.
absl::StatusOr<TranslationTask> FindTranslationTask(std::string_view name);

// `count` pairs of `task`, the same for the same seed (autograd::Rng: std::mt19937_64 with the
// distributions written out). Sources are distinct: a draw whose source was already drawn is
// drawn again.
//   dates:   the day uniform over 1950..2049, the format uniform over the kDateFormats.
//   numbers: 1,000,000 with probability 1/1000; else a digit count uniform in 1..6, then a
//            number of that many digits uniformly (0..9 for one digit), so short inputs are as
//            common as long ones. Once every value of a length is drawn, draws of that length
//            are redrawn, so large counts lean to the long numbers.
// An error when `count` distinct sources are not found within 50 * count + 10000 draws (the
// tasks hold about 438,000 and 1,000,001 distinct sources; ask for well under that).
absl::StatusOr<std::vector<TranslationPair>> GenerateTranslationPairs(const std::string& task,
                                                                      size_t count, uint64_t seed);

// A held-out split: the last ceil(fraction * size) pairs are the test set; the others, less any
// whose source also appears in the test set, are the training set, so that no test source was
// seen in training whatever list is given (GenerateTranslationPairs' sources are already
// distinct and randomly ordered, so nothing is dropped there). fraction in [0, 1].
struct TranslationSplit {
  std::vector<TranslationPair> train, test;
};
absl::StatusOr<TranslationSplit> SplitHeldOut(const std::vector<TranslationPair>& pairs,
                                              double fraction);

// The building blocks of the tasks, for tests and demonstrations.
inline constexpr int kDateFormats = 12;
inline constexpr int kFirstYear = 1950, kLastYear = 2049;
// Days since 1970-01-01 of a proleptic Gregorian date (negative before).
int64_t DaysFromCivil(int year, int month, int day);
// 0 = sunday ... 6 = saturday.
int DayOfWeek(int year, int month, int day);
// "2018-05-09".
std::string IsoDate(int year, int month, int day);
// The date in format 0..kDateFormats-1, e.g. for 2018-05-09:
//   0 "wednesday 9 may 2018"     4 "may 9, 2018"       8 "09/05/2018"
//   1 "wed, 9 may 2018"          5 "9th of may 2018"   9 "09.05.2018"
//   2 "9 may 2018"               6 "2018 may 9"       10 "9-5-2018"
//   3 "9 may 18"                 7 "9/5/18"           11 "wednesday, may 9, 2018"
// Formats 1 and 3 cut the month to 3 letters (1961-09-01: "fri, 1 sep 1961", "1 sep 61").
// An invalid date, a year outside 1950..2049 or an unknown format is an error.
absl::StatusOr<std::string> FormatDate(int year, int month, int day, int format);
// 0..1,000,000 in words: "zero", "twenty one", "one hundred ten", "one million". Out of range is
// an error.
absl::StatusOr<std::string> NumberToWords(int64_t number);

// Characters <-> indices, with reserved indices first: 0 padding, 1 start, 2 end, then the
// characters in the order given (the first character is 3).
class CharVocabulary {
 public:
  static constexpr int kPadding = 0, kStart = 1, kEnd = 2, kFirstChar = 3;

  // `chars`: distinct printable ASCII characters (space to '~'); anything else is an error.
  static absl::StatusOr<CharVocabulary> Create(std::string_view chars);
  // {"class": "CharVocabulary", "padding": 0, "start": 1, "end": 2, "chars": "..."}: small enough
  // to keep in a model file's preprocessing string.
  std::string ToJson() const;
  // Errors say which key is missing or wrong (also reserved indices other than 0, 1, 2).
  static absl::StatusOr<CharVocabulary> FromJson(std::string_view json);

  // The characters' indices, without start or end. A character outside the vocabulary is an
  // InvalidArgument error naming it ('q' when printable, else \xnn), its position and the
  // characters allowed.
  absl::StatusOr<std::vector<int>> Encode(std::string_view text) const;
  // The text of `indices` up to the first end: padding and start are skipped; an index that is
  // no character shows as U+FFFD (which no vocabulary holds).
  std::string Decode(const std::vector<int>& indices) const;
  // The index of `c`, or -1.
  int Index(char c) const { return index_[static_cast<unsigned char>(c)]; }

  // Reserved indices plus characters: the number of classes a decoder predicts.
  size_t size() const { return kFirstChar + chars_.size(); }
  const std::string& chars() const { return chars_; }

 private:
  CharVocabulary() { index_.fill(-1); }
  std::string chars_;
  std::array<int, 256> index_;
};

// The task's source or target vocabulary (its TranslationTask's characters).
absl::StatusOr<CharVocabulary> SourceVocabulary(std::string_view task);
absl::StatusOr<CharVocabulary> TargetVocabulary(std::string_view task);

// What an encoder-decoder trained with teacher forcing reads and predicts; indices stored as Real.
// With n pairs, S = source_len and T = target_len:
//   encoder_input  [n, S]:     the source's characters, then padding (0).
//   decoder_input  [n, T + 1]: start, the target's characters, then padding (0).
//   decoder_target [n, T + 1]: the target's characters, end, then padding (0): decoder_input
//                  shifted one step left. Padding is 0 rather than end so that a loss or
//                  metric can mask the steps after end out; a model trained without a mask
//                  learns to predict padding there, which Decode never reaches (it stops at end).
struct Seq2SeqArrays {
  autograd::Array encoder_input, decoder_input, decoder_target;
};
// source_len or target_len 0: the longest source or target among `pairs` (give the task's
// max_source_len and max_target_len instead for shapes that do not depend on the data). A text
// longer than its length, or with a character outside its vocabulary, is an error naming the pair.
absl::StatusOr<Seq2SeqArrays> MakeSeq2SeqArrays(const std::vector<TranslationPair>& pairs,
                                                const CharVocabulary& source_vocab,
                                                const CharVocabulary& target_vocab,
                                                size_t source_len, size_t target_len);

}  // namespace datasets

#endif  // DATASETS_TRANSLATION_H_
