#include "datasets/translation.h"

#include <algorithm>
#include <cmath>
#include <tuple>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "autograd/random.h"
#include "io/json_nesting.h"
#include "nlohmann/json.hpp"

namespace datasets {
namespace {

using Json = nlohmann::ordered_json;

constexpr const char* kMonths[] = {"january",   "february", "march",    "april",
                                   "may",       "june",     "july",     "august",
                                   "september", "october",  "november", "december"};
constexpr const char* kWeekdays[] = {"sunday",   "monday", "tuesday", "wednesday",
                                     "thursday", "friday", "saturday"};
constexpr const char* kOnes[] = {"zero",    "one",     "two",       "three",    "four",
                                 "five",    "six",     "seven",     "eight",    "nine",
                                 "ten",     "eleven",  "twelve",    "thirteen", "fourteen",
                                 "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"};
constexpr const char* kTens[] = {"",      "",      "twenty",  "thirty", "forty",
                                 "fifty", "sixty", "seventy", "eighty", "ninety"};

constexpr int64_t kMillion = 1000000;

bool LeapYear(int year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

int DaysInMonth(int year, int month) {
  constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && LeapYear(year) ? 29 : kDays[month - 1];
}

struct CivilDate {
  int year, month, day;
};

// The inverse of DaysFromCivil (Howard Hinnant's civil_from_days).
CivilDate CivilFromDays(int64_t days) {
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const int64_t day_of_era = days - era * 146097;
  const int64_t year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  const int64_t day_of_year =
      day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const int64_t month_index = (5 * day_of_year + 2) / 153;  // 0 = march
  const int day = static_cast<int>(day_of_year - (153 * month_index + 2) / 5 + 1);
  const int month = static_cast<int>(month_index < 10 ? month_index + 3 : month_index - 9);
  const int year = static_cast<int>(year_of_era + era * 400 + (month <= 2 ? 1 : 0));
  return {year, month, day};
}

// "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "23rd", "31st".
std::string Ordinal(int day) {
  const char* suffix = "th";
  if (day % 100 < 11 || day % 100 > 13) {
    if (day % 10 == 1) suffix = "st";
    if (day % 10 == 2) suffix = "nd";
    if (day % 10 == 3) suffix = "rd";
  }
  return absl::StrCat(day, suffix);
}

// 1..999 in words.
std::string BelowThousand(int64_t n) {
  std::string words;
  if (n >= 100) {
    words = absl::StrCat(kOnes[n / 100], " hundred");
    n %= 100;
    if (n == 0) return words;
    words += " ";
  }
  if (n < 20) return words + kOnes[n];
  words += kTens[n / 10];
  if (n % 10 != 0) absl::StrAppend(&words, " ", kOnes[n % 10]);
  return words;
}

// 'q' for a printable character, else \xNN.
std::string DescribeChar(char c) {
  const auto byte = static_cast<unsigned char>(c);
  if (byte >= 0x20 && byte < 0x7f) return absl::StrCat("'", std::string(1, c), "'");
  return absl::StrFormat("\\x%02x", byte);
}

// C-style escapes with hex (absl::string_view is not std::string_view in Debian's Abseil).
std::string Escaped(std::string_view text) {
  return absl::CHexEscape(absl::string_view(text.data(), text.size()));
}

// A draw of one source and its target.
TranslationPair DrawDate(autograd::Rng& rng) {
  static const int64_t first = DaysFromCivil(kFirstYear, 1, 1);
  static const int64_t days = DaysFromCivil(kLastYear, 12, 31) - first + 1;
  const CivilDate date = CivilFromDays(first + static_cast<int64_t>(rng.Below(days)));
  const int format = static_cast<int>(rng.Below(kDateFormats));
  return {*FormatDate(date.year, date.month, date.day, format),
          IsoDate(date.year, date.month, date.day)};
}

TranslationPair DrawNumber(autograd::Rng& rng) {
  int64_t number = kMillion;
  if (rng.Below(1000) != 0) {
    const int digits = 1 + static_cast<int>(rng.Below(6));
    int64_t low = 1;
    for (int d = 1; d < digits; ++d) low *= 10;
    number = digits == 1 ? static_cast<int64_t>(rng.Below(10))
                         : low + static_cast<int64_t>(rng.Below(9 * low));
  }
  return {*NumberToWords(number), absl::StrCat(number)};
}

}  // namespace

const std::vector<TranslationTask>& TranslationTasks() {
  static const std::vector<TranslationTask>* tasks = new std::vector<TranslationTask>{
      // "wednesday, september 30, 2020": 29 characters.
      {"dates", " ,-./0123456789abcdefghijklmnopqrstuvwxyz", "-0123456789", 29, 10},
      // "three hundred seventy three thousand three hundred seventy three": 64 characters.
      {"numbers", " abcdefghijklmnopqrstuvwxyz", "0123456789", 64, 7},
  };
  return *tasks;
}

absl::StatusOr<TranslationTask> FindTranslationTask(std::string_view name) {
  std::vector<std::string> names;
  for (const TranslationTask& task : TranslationTasks()) {
    if (task.name == name) return task;
    names.push_back(absl::StrCat("\"", task.name, "\""));
  }
  return absl::InvalidArgumentError(absl::StrFormat("unknown translation task \"%s\" (tasks: %s)",
                                                    Escaped(name), absl::StrJoin(names, ", ")));
}

absl::StatusOr<std::vector<TranslationPair>> GenerateTranslationPairs(const std::string& task,
                                                                      size_t count, uint64_t seed) {
  absl::StatusOr<TranslationTask> found = FindTranslationTask(task);
  if (!found.ok()) return found.status();
  TranslationPair (*draw)(autograd::Rng&) = task == "dates" ? DrawDate : DrawNumber;
  autograd::Rng rng(seed);
  std::vector<TranslationPair> pairs;
  pairs.reserve(count);
  absl::flat_hash_set<std::string> seen;
  const size_t max_draws = 50 * count + 10000;
  size_t draws = 0;
  while (pairs.size() < count) {
    if (draws == max_draws) {
      return absl::ResourceExhaustedError(absl::StrFormat(
          "translation task \"%s\": only %d distinct sources in %d draws, %d asked for: ask for "
          "fewer",
          task, pairs.size(), draws, count));
    }
    ++draws;
    TranslationPair pair = draw(rng);
    if (seen.insert(pair.source).second) pairs.push_back(std::move(pair));
  }
  return pairs;
}

absl::StatusOr<TranslationSplit> SplitHeldOut(const std::vector<TranslationPair>& pairs,
                                              double fraction) {
  if (!(fraction >= 0 && fraction <= 1)) {  // also false for NaN
    return absl::InvalidArgumentError(
        absl::StrFormat("held-out split: the fraction must be in [0, 1], got %g", fraction));
  }
  const size_t tests = std::min(
      pairs.size(), static_cast<size_t>(std::ceil(fraction * static_cast<double>(pairs.size()))));
  const size_t first_test = pairs.size() - tests;
  TranslationSplit split;
  split.test.assign(pairs.begin() + first_test, pairs.end());
  absl::flat_hash_set<std::string_view> test_sources;
  for (const TranslationPair& pair : split.test) test_sources.insert(pair.source);
  for (size_t i = 0; i < first_test; ++i) {
    if (!test_sources.contains(pairs[i].source)) split.train.push_back(pairs[i]);
  }
  return split;
}

int64_t DaysFromCivil(int year, int month, int day) {
  // Howard Hinnant's days_from_civil: years start in march, so february's leap day comes last.
  const int64_t y = static_cast<int64_t>(year) - (month <= 2 ? 1 : 0);
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t year_of_era = y - era * 400;
  const int64_t day_of_year = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
  const int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + day_of_era - 719468;
}

int DayOfWeek(int year, int month, int day) {
  // 1970-01-01 was a thursday (4).
  const int64_t days = DaysFromCivil(year, month, day);
  return static_cast<int>(((days + 4) % 7 + 7) % 7);
}

std::string IsoDate(int year, int month, int day) {
  return absl::StrFormat("%04d-%02d-%02d", year, month, day);
}

absl::StatusOr<std::string> FormatDate(int year, int month, int day, int format) {
  if (year < kFirstYear || year > kLastYear || month < 1 || month > 12 || day < 1 ||
      day > DaysInMonth(year, month)) {
    return absl::InvalidArgumentError(absl::StrFormat("format date: %d-%d-%d is no date in %d..%d",
                                                      year, month, day, kFirstYear, kLastYear));
  }
  const std::string weekday = kWeekdays[DayOfWeek(year, month, day)];
  const std::string wkd = weekday.substr(0, 3);
  const std::string name = kMonths[month - 1];
  const std::string mon = name.substr(0, 3);
  const int yy = year % 100;
  switch (format) {
    case 0:
      return absl::StrFormat("%s %d %s %d", weekday, day, name, year);
    case 1:
      return absl::StrFormat("%s, %d %s %d", wkd, day, mon, year);
    case 2:
      return absl::StrFormat("%d %s %d", day, name, year);
    case 3:
      return absl::StrFormat("%d %s %02d", day, mon, yy);
    case 4:
      return absl::StrFormat("%s %d, %d", name, day, year);
    case 5:
      return absl::StrFormat("%s of %s %d", Ordinal(day), name, year);
    case 6:
      return absl::StrFormat("%d %s %d", year, name, day);
    case 7:
      return absl::StrFormat("%d/%d/%02d", day, month, yy);
    case 8:
      return absl::StrFormat("%02d/%02d/%d", day, month, year);
    case 9:
      return absl::StrFormat("%02d.%02d.%d", day, month, year);
    case 10:
      return absl::StrFormat("%d-%d-%d", day, month, year);
    case 11:
      return absl::StrFormat("%s, %s %d, %d", weekday, name, day, year);
  }
  return absl::InvalidArgumentError(
      absl::StrFormat("format date: no format %d (formats are 0..%d)", format, kDateFormats - 1));
}

absl::StatusOr<std::string> NumberToWords(int64_t number) {
  if (number < 0 || number > kMillion) {
    return absl::InvalidArgumentError(
        absl::StrFormat("number to words: %d is outside 0..1000000", number));
  }
  if (number == kMillion) return std::string("one million");
  if (number == 0) return std::string("zero");
  std::string words;
  if (number >= 1000) {
    words = absl::StrCat(BelowThousand(number / 1000), " thousand");
    number %= 1000;
    if (number == 0) return words;
    words += " ";
  }
  return words + BelowThousand(number);
}

absl::StatusOr<CharVocabulary> CharVocabulary::Create(std::string_view chars) {
  CharVocabulary vocabulary;
  for (size_t i = 0; i < chars.size(); ++i) {
    const char c = chars[i];
    if (c < 0x20 || c > 0x7e) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "character vocabulary: character %s at position %d is not printable ASCII (space to "
          "'~')",
          DescribeChar(c), i));
    }
    if (vocabulary.Index(c) >= 0) {
      return absl::InvalidArgumentError(
          absl::StrFormat("character vocabulary: character %s at position %d repeats the one at %d",
                          DescribeChar(c), i, vocabulary.Index(c) - kFirstChar));
    }
    vocabulary.index_[static_cast<unsigned char>(c)] = kFirstChar + static_cast<int>(i);
  }
  vocabulary.chars_ = std::string(chars);
  return vocabulary;
}

std::string CharVocabulary::ToJson() const {
  Json json = Json::object();
  json["class"] = "CharVocabulary";
  json["padding"] = kPadding;
  json["start"] = kStart;
  json["end"] = kEnd;
  json["chars"] = chars_;
  return json.dump();
}

absl::StatusOr<CharVocabulary> CharVocabulary::FromJson(std::string_view text) {
  if (absl::Status status = io::CheckJsonNesting(text); !status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("character vocabulary: ", status.message()));
  }
  const Json json = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  const auto bad = [](const char* key, const std::string& expected) {
    return absl::InvalidArgumentError(
        absl::StrFormat("character vocabulary, key '%s': expected %s", key, expected));
  };
  if (!json.is_object()) return bad("(document)", "a JSON object");
  if (json.value("class", Json()) != "CharVocabulary") return bad("class", "\"CharVocabulary\"");
  for (const auto& [key, index] :
       {std::pair<const char*, int>{"padding", kPadding}, {"start", kStart}, {"end", kEnd}}) {
    const Json value = json.value(key, Json());
    if (!value.is_number_integer() || value.get<int64_t>() != index) {
      return bad(key,
                 absl::StrFormat("%d (the reserved indices are padding 0, start 1, end 2)", index));
    }
  }
  const Json chars = json.value("chars", Json());
  if (!chars.is_string()) return bad("chars", "a string of the characters in index order");
  absl::StatusOr<CharVocabulary> vocabulary = Create(chars.get<std::string>());
  if (!vocabulary.ok()) return bad("chars", std::string(vocabulary.status().message()));
  return vocabulary;
}

absl::StatusOr<std::vector<int>> CharVocabulary::Encode(std::string_view text) const {
  std::vector<int> indices;
  indices.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const int index = Index(text[i]);
    if (index < 0) {
      constexpr size_t kShown = 80;
      const std::string shown = text.size() <= kShown
                                    ? Escaped(text)
                                    : absl::StrCat(Escaped(text.substr(0, kShown)), "...");
      return absl::InvalidArgumentError(absl::StrFormat(
          "character %s at position %d of \"%s\" is not in the vocabulary (allowed: \"%s\")",
          DescribeChar(text[i]), i, shown, Escaped(chars_)));
    }
    indices.push_back(index);
  }
  return indices;
}

std::string CharVocabulary::Decode(const std::vector<int>& indices) const {
  std::string text;
  for (int index : indices) {
    if (index == kEnd) break;
    if (index == kPadding || index == kStart) continue;
    if (index < kFirstChar || static_cast<size_t>(index) >= size()) {
      text += "\xEF\xBF\xBD";  // U+FFFD REPLACEMENT CHARACTER
      continue;
    }
    text += chars_[static_cast<size_t>(index - kFirstChar)];
  }
  return text;
}

absl::StatusOr<CharVocabulary> SourceVocabulary(std::string_view task) {
  absl::StatusOr<TranslationTask> found = FindTranslationTask(task);
  if (!found.ok()) return found.status();
  return CharVocabulary::Create(found->source_chars);
}

absl::StatusOr<CharVocabulary> TargetVocabulary(std::string_view task) {
  absl::StatusOr<TranslationTask> found = FindTranslationTask(task);
  if (!found.ok()) return found.status();
  return CharVocabulary::Create(found->target_chars);
}

absl::StatusOr<Seq2SeqArrays> MakeSeq2SeqArrays(const std::vector<TranslationPair>& pairs,
                                                const CharVocabulary& source_vocab,
                                                const CharVocabulary& target_vocab,
                                                size_t source_len, size_t target_len) {
  std::vector<std::vector<int>> sources, targets;
  sources.reserve(pairs.size());
  targets.reserve(pairs.size());
  size_t longest_source = 0, longest_target = 0;
  for (size_t i = 0; i < pairs.size(); ++i) {
    absl::StatusOr<std::vector<int>> source = source_vocab.Encode(pairs[i].source);
    if (!source.ok()) {
      return absl::InvalidArgumentError(
          absl::StrFormat("seq2seq arrays, pair %d, source: %s", i, source.status().message()));
    }
    absl::StatusOr<std::vector<int>> target = target_vocab.Encode(pairs[i].target);
    if (!target.ok()) {
      return absl::InvalidArgumentError(
          absl::StrFormat("seq2seq arrays, pair %d, target: %s", i, target.status().message()));
    }
    longest_source = std::max(longest_source, source->size());
    longest_target = std::max(longest_target, target->size());
    sources.push_back(*std::move(source));
    targets.push_back(*std::move(target));
  }
  if (source_len == 0) source_len = longest_source;
  if (target_len == 0) target_len = longest_target;
  for (size_t i = 0; i < pairs.size(); ++i) {
    for (const auto& [side, text, length, limit] :
         {std::tuple<const char*, const std::string*, size_t, size_t>{
              "source", &pairs[i].source, sources[i].size(), source_len},
          {"target", &pairs[i].target, targets[i].size(), target_len}}) {
      if (length > limit) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "seq2seq arrays, pair %d: the %s \"%s\" has %d characters, more than the %s length %d",
            i, side, Escaped(*text), length, side, limit));
      }
    }
  }
  const size_t n = pairs.size();
  Seq2SeqArrays arrays{autograd::Array::from_shape({n, source_len}),
                       autograd::Array::from_shape({n, target_len + 1}),
                       autograd::Array::from_shape({n, target_len + 1})};
  for (autograd::Array* array :
       {&arrays.encoder_input, &arrays.decoder_input, &arrays.decoder_target}) {
    std::fill(array->begin(), array->end(), static_cast<autograd::Real>(CharVocabulary::kPadding));
  }
  for (size_t i = 0; i < n; ++i) {
    for (size_t t = 0; t < sources[i].size(); ++t) {
      arrays.encoder_input(i, t) = static_cast<autograd::Real>(sources[i][t]);
    }
    arrays.decoder_input(i, 0) = static_cast<autograd::Real>(CharVocabulary::kStart);
    for (size_t t = 0; t < targets[i].size(); ++t) {
      arrays.decoder_input(i, t + 1) = static_cast<autograd::Real>(targets[i][t]);
      arrays.decoder_target(i, t) = static_cast<autograd::Real>(targets[i][t]);
    }
    arrays.decoder_target(i, targets[i].size()) = static_cast<autograd::Real>(CharVocabulary::kEnd);
  }
  return arrays;
}

}  // namespace datasets
