#include "datasets/translation.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <limits>
#include <set>
#include <string>

#include "absl/container/flat_hash_set.h"

namespace datasets {
namespace {

TEST(Calendar, DaysAndDaysOfTheWeekKnownByHand) {
  EXPECT_EQ(DaysFromCivil(1970, 1, 1), 0);
  EXPECT_EQ(DaysFromCivil(2000, 1, 1), 10957);  // 946684800 s / 86400
  EXPECT_EQ(DaysFromCivil(1969, 12, 31), -1);
  // 0 = sunday ... 6 = saturday.
  EXPECT_EQ(DayOfWeek(2000, 1, 1), 6);    // saturday
  EXPECT_EQ(DayOfWeek(2024, 2, 29), 4);   // thursday
  EXPECT_EQ(DayOfWeek(2018, 5, 9), 3);    // wednesday
  EXPECT_EQ(DayOfWeek(1969, 7, 20), 0);   // sunday (the moon landing)
  EXPECT_EQ(DayOfWeek(1950, 1, 1), 0);    // sunday
  EXPECT_EQ(DayOfWeek(2049, 12, 31), 5);  // friday
  EXPECT_EQ(IsoDate(2018, 5, 9), "2018-05-09");
}

TEST(FormatDate, EveryFormatWrittenByHand) {
  const std::vector<std::string> may_9_2018 = {
      "wednesday 9 may 2018", "wed, 9 may 2018", "9 may 2018", "9 may 18",
      "may 9, 2018",          "9th of may 2018", "2018 may 9", "9/5/18",
      "09/05/2018",           "09.05.2018",      "9-5-2018",   "wednesday, may 9, 2018"};
  const std::vector<std::string> september_1_1961 = {"friday 1 september 1961",
                                                     "fri, 1 sep 1961",
                                                     "1 september 1961",
                                                     "1 sep 61",
                                                     "september 1, 1961",
                                                     "1st of september 1961",
                                                     "1961 september 1",
                                                     "1/9/61",
                                                     "01/09/1961",
                                                     "01.09.1961",
                                                     "1-9-1961",
                                                     "friday, september 1, 1961"};
  const std::vector<std::string> december_25_2003 = {"thursday 25 december 2003",
                                                     "thu, 25 dec 2003",
                                                     "25 december 2003",
                                                     "25 dec 03",
                                                     "december 25, 2003",
                                                     "25th of december 2003",
                                                     "2003 december 25",
                                                     "25/12/03",
                                                     "25/12/2003",
                                                     "25.12.2003",
                                                     "25-12-2003",
                                                     "thursday, december 25, 2003"};
  ASSERT_EQ(may_9_2018.size(), static_cast<size_t>(kDateFormats));
  for (int format = 0; format < kDateFormats; ++format) {
    EXPECT_EQ(*FormatDate(2018, 5, 9, format), may_9_2018[format]) << format;
    EXPECT_EQ(*FormatDate(1961, 9, 1, format), september_1_1961[format]) << format;
    EXPECT_EQ(*FormatDate(2003, 12, 25, format), december_25_2003[format]) << format;
  }
  EXPECT_EQ(*FormatDate(2000, 1, 1, 0), "saturday 1 january 2000");
  EXPECT_EQ(*FormatDate(2024, 2, 29, 11), "thursday, february 29, 2024");
  EXPECT_EQ(*FormatDate(2000, 1, 1, 7), "1/1/00");
}

TEST(FormatDate, Ordinals) {
  const std::vector<std::pair<int, std::string>> ordinals = {
      {1, "1st"},   {2, "2nd"},   {3, "3rd"},   {4, "4th"},   {10, "10th"},
      {11, "11th"}, {12, "12th"}, {13, "13th"}, {20, "20th"}, {21, "21st"},
      {22, "22nd"}, {23, "23rd"}, {24, "24th"}, {30, "30th"}, {31, "31st"}};
  for (const auto& [day, ordinal] : ordinals) {
    EXPECT_EQ(*FormatDate(2000, 1, day, 5), ordinal + " of january 2000");
  }
}

TEST(FormatDate, RefusesWhatIsNoDateInRange) {
  EXPECT_EQ(FormatDate(2023, 2, 29, 0).status().message(),
            "format date: 2023-2-29 is no date in 1950..2049");
  EXPECT_FALSE(FormatDate(1949, 12, 31, 0).ok());
  EXPECT_FALSE(FormatDate(2050, 1, 1, 0).ok());
  EXPECT_FALSE(FormatDate(2018, 13, 1, 0).ok());
  EXPECT_FALSE(FormatDate(2018, 4, 31, 0).ok());
  EXPECT_EQ(FormatDate(2018, 5, 9, 12).status().message(),
            "format date: no format 12 (formats are 0..11)");
}

// Every date of the range in every format: in the vocabulary, at most (and once exactly) the
// task's longest, and no string read as two dates (or one date in two formats).
TEST(FormatDate, AllDatesAllFormatsFitTheTaskAndAreDistinct) {
  const TranslationTask task = *FindTranslationTask("dates");
  const CharVocabulary source = *SourceVocabulary("dates");
  const CharVocabulary target = *TargetVocabulary("dates");
  absl::flat_hash_set<std::string> sources;
  size_t longest = 0;
  for (int year = kFirstYear; year <= kLastYear; ++year) {
    for (int month = 1; month <= 12; ++month) {
      for (int day = 1; day <= 31; ++day) {
        if (!FormatDate(year, month, day, 0).ok()) continue;  // no such day in this month
        ASSERT_TRUE(target.Encode(IsoDate(year, month, day)).ok());
        for (int format = 0; format < kDateFormats; ++format) {
          const std::string text = *FormatDate(year, month, day, format);
          ASSERT_TRUE(source.Encode(text).ok()) << text;
          longest = std::max(longest, text.size());
          ASSERT_TRUE(sources.insert(text).second) << text;
        }
      }
    }
  }
  EXPECT_EQ(longest, task.max_source_len);
  EXPECT_EQ(sources.size(), 36525u * kDateFormats);  // 100 years, 25 of them leap
  EXPECT_EQ(task.max_target_len, 10u);
  EXPECT_EQ(*FormatDate(2020, 9, 30, 11), "wednesday, september 30, 2020");
  EXPECT_EQ(std::string("wednesday, september 30, 2020").size(), 29u);
}

TEST(NumberToWords, WrittenByHand) {
  const std::vector<std::pair<int64_t, std::string>> cases = {
      {0, "zero"},
      {7, "seven"},
      {13, "thirteen"},
      {20, "twenty"},
      {21, "twenty one"},
      {40, "forty"},
      {100, "one hundred"},
      {101, "one hundred one"},
      {110, "one hundred ten"},
      {999, "nine hundred ninety nine"},
      {1000, "one thousand"},
      {1001, "one thousand one"},
      {10000, "ten thousand"},
      {20021, "twenty thousand twenty one"},
      {100000, "one hundred thousand"},
      {115000, "one hundred fifteen thousand"},
      {123456, "one hundred twenty three thousand four hundred fifty six"},
      {999999, "nine hundred ninety nine thousand nine hundred ninety nine"},
      {1000000, "one million"},
  };
  for (const auto& [number, words] : cases) EXPECT_EQ(*NumberToWords(number), words) << number;
  EXPECT_EQ(NumberToWords(1000001).status().message(),
            "number to words: 1000001 is outside 0..1000000");
  EXPECT_FALSE(NumberToWords(-1).ok());
}

TEST(NumberToWords, AllNumbersFitTheTask) {
  const TranslationTask task = *FindTranslationTask("numbers");
  const CharVocabulary source = *SourceVocabulary("numbers");
  size_t longest = 0;
  for (int64_t number = 0; number <= 1000000; ++number) {
    const std::string words = *NumberToWords(number);
    ASSERT_TRUE(source.Encode(words).ok()) << words;
    longest = std::max(longest, words.size());
  }
  EXPECT_EQ(longest, task.max_source_len);
  EXPECT_EQ(std::string("three hundred seventy three thousand three hundred seventy three").size(),
            64u);
  EXPECT_EQ(task.max_target_len, 7u);  // "1000000"
}

TEST(GenerateTranslationPairs, UnknownTaskNamesTheChoices) {
  EXPECT_EQ(GenerateTranslationPairs("french", 10, 1).status().message(),
            "unknown translation task \"french\" (tasks: \"dates\", \"numbers\")");
  EXPECT_EQ(GenerateTranslationPairs("dates", 0, 1)->size(), 0u);
}

TEST(GenerateTranslationPairs, ReproducibleFromTheSeed) {
  for (const char* task : {"dates", "numbers"}) {
    const std::vector<TranslationPair> a = *GenerateTranslationPairs(task, 200, 7);
    const std::vector<TranslationPair> b = *GenerateTranslationPairs(task, 200, 7);
    const std::vector<TranslationPair> c = *GenerateTranslationPairs(task, 200, 8);
    ASSERT_EQ(a.size(), 200u);
    size_t same_as_c = 0;
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a[i].source, b[i].source);
      EXPECT_EQ(a[i].target, b[i].target);
      same_as_c += a[i].source == c[i].source;
    }
    EXPECT_LT(same_as_c, 20u) << task;
  }
}

TEST(GenerateTranslationPairs, DatesAreRightAndUseEveryFormat) {
  const std::vector<TranslationPair> pairs = *GenerateTranslationPairs("dates", 3000, 42);
  std::set<int> formats;
  std::set<int> years;
  absl::flat_hash_set<std::string> sources;
  for (const TranslationPair& pair : pairs) {
    int year = 0, month = 0, day = 0;
    ASSERT_EQ(std::sscanf(pair.target.c_str(), "%4d-%2d-%2d", &year, &month, &day), 3);
    ASSERT_EQ(IsoDate(year, month, day), pair.target);
    int found = -1;
    for (int format = 0; format < kDateFormats; ++format) {
      absl::StatusOr<std::string> text = FormatDate(year, month, day, format);
      ASSERT_TRUE(text.ok()) << pair.target;
      if (*text == pair.source) found = format;
    }
    ASSERT_GE(found, 0) << pair.source << " -> " << pair.target;
    formats.insert(found);
    years.insert(year);
    EXPECT_TRUE(sources.insert(pair.source).second) << pair.source;
  }
  EXPECT_EQ(formats.size(), static_cast<size_t>(kDateFormats));
  EXPECT_EQ(*years.begin(), kFirstYear);
  EXPECT_EQ(*years.rbegin(), kLastYear);
}

TEST(GenerateTranslationPairs, NumbersAreRightDistinctAndOfEveryLength) {
  const std::vector<TranslationPair> pairs = *GenerateTranslationPairs("numbers", 3000, 42);
  std::set<size_t> lengths;
  absl::flat_hash_set<std::string> sources;
  size_t single_digits = 0;
  for (const TranslationPair& pair : pairs) {
    const int64_t number = std::stoll(pair.target);
    EXPECT_EQ(std::to_string(number), pair.target);
    EXPECT_EQ(*NumberToWords(number), pair.source);
    lengths.insert(pair.target.size());
    single_digits += pair.target.size() == 1;
    EXPECT_TRUE(sources.insert(pair.source).second) << pair.source;
  }
  for (size_t digits = 1; digits <= 6; ++digits) EXPECT_EQ(lengths.count(digits), 1u) << digits;
  EXPECT_EQ(single_digits, 10u);  // drawn ~500 times: all ten, each once
}

TEST(SplitHeldOut, TestSourcesNeverInTraining) {
  const std::vector<TranslationPair> pairs = {{"a", "1"}, {"b", "2"}, {"a", "1"}, {"c", "3"}};
  const TranslationSplit split = *SplitHeldOut(pairs, 0.5);
  ASSERT_EQ(split.test.size(), 2u);
  EXPECT_EQ(split.test[0].source, "a");
  EXPECT_EQ(split.test[1].source, "c");
  ASSERT_EQ(split.train.size(), 1u);  // the first "a" is dropped: it is a test source
  EXPECT_EQ(split.train[0].source, "b");
  EXPECT_EQ(SplitHeldOut(pairs, 1.5).status().message(),
            "held-out split: the fraction must be in [0, 1], got 1.5");
  EXPECT_FALSE(SplitHeldOut(pairs, std::numeric_limits<double>::quiet_NaN()).ok());

  const std::vector<TranslationPair> generated = *GenerateTranslationPairs("numbers", 1000, 3);
  const TranslationSplit held_out = *SplitHeldOut(generated, 0.1);
  EXPECT_EQ(held_out.test.size(), 100u);
  EXPECT_EQ(held_out.train.size(), 900u);
}

TEST(CharVocabulary, ReservedIndicesThenCharacters) {
  const CharVocabulary vocabulary = *SourceVocabulary("dates");
  // " ,-./0123456789abcdefghijklmnopqrstuvwxyz": ' ' 3, ',' 4, '-' 5, '.' 6, '/' 7,
  // '0'..'9' 8..17, 'a'..'z' 18..43.
  EXPECT_EQ(vocabulary.size(), 44u);
  EXPECT_EQ(*vocabulary.Encode("may 9, 2018"),
            (std::vector<int>{30, 18, 42, 3, 17, 4, 3, 10, 8, 9, 16}));
  EXPECT_EQ(vocabulary.Index('z'), 43);
  EXPECT_EQ(vocabulary.Index('A'), -1);
  EXPECT_EQ(vocabulary.Decode({1, 30, 18, 42, 2, 30, 30}), "may");  // stops at end
  EXPECT_EQ(vocabulary.Decode({30, 0, 18, 99, 42}), "ma\xEF\xBF\xBDy");
  EXPECT_EQ(TargetVocabulary("numbers")->size(), 13u);
  EXPECT_FALSE(SourceVocabulary("french").ok());
}

TEST(CharVocabulary, OutOfVocabularyErrorNamesCharacterPositionAndAllowed) {
  const CharVocabulary vocabulary = *SourceVocabulary("dates");
  EXPECT_EQ(vocabulary.Encode("May 9").status().message(),
            "character 'M' at position 0 of \"May 9\" is not in the vocabulary (allowed: "
            "\" ,-./0123456789abcdefghijklmnopqrstuvwxyz\")");
  EXPECT_EQ(vocabulary.Encode("9 m\xC3\xA4rz").status().message(),
            "character \\xc3 at position 3 of \"9 m\\xc3\\xa4rz\" is not in the vocabulary "
            "(allowed: \" ,-./0123456789abcdefghijklmnopqrstuvwxyz\")");
  EXPECT_EQ(CharVocabulary::Create("aba").status().message(),
            "character vocabulary: character 'a' at position 2 repeats the one at 0");
  EXPECT_EQ(CharVocabulary::Create("a\n").status().message(),
            "character vocabulary: character \\x0a at position 1 is not printable ASCII (space "
            "to '~')");
}

TEST(CharVocabulary, RoundTripsGeneratedPairs) {
  for (const char* task : {"dates", "numbers"}) {
    const CharVocabulary source = *SourceVocabulary(task);
    const CharVocabulary target = *TargetVocabulary(task);
    const std::vector<TranslationPair> pairs = *GenerateTranslationPairs(task, 500, 11);
    for (const TranslationPair& pair : pairs) {
      std::vector<int> indices = *source.Encode(pair.source);
      indices.push_back(CharVocabulary::kEnd);
      indices.push_back(CharVocabulary::kPadding);
      EXPECT_EQ(source.Decode(indices), pair.source);
      EXPECT_EQ(target.Decode(*target.Encode(pair.target)), pair.target);
    }
  }
}

TEST(CharVocabulary, Json) {
  const CharVocabulary vocabulary = *TargetVocabulary("dates");
  EXPECT_EQ(vocabulary.ToJson(),
            R"({"class":"CharVocabulary","padding":0,"start":1,"end":2,"chars":"-0123456789"})");
  const CharVocabulary back = *CharVocabulary::FromJson(vocabulary.ToJson());
  EXPECT_EQ(back.chars(), vocabulary.chars());
  // Quotes and backslashes survive.
  const CharVocabulary odd = *CharVocabulary::Create("\"\\ a");
  EXPECT_EQ(CharVocabulary::FromJson(odd.ToJson())->chars(), "\"\\ a");

  EXPECT_EQ(CharVocabulary::FromJson(
                R"({"class":"CharVocabulary","padding":0,"start":5,"end":2,"chars":"ab"})")
                .status()
                .message(),
            "character vocabulary, key 'start': expected 1 (the reserved indices are padding 0, "
            "start 1, end 2)");
  EXPECT_EQ(CharVocabulary::FromJson(
                R"({"class":"CharVocabulary","padding":0,"start":1,"end":2,"chars":"aa"})")
                .status()
                .message(),
            "character vocabulary, key 'chars': expected character vocabulary: character 'a' at "
            "position 1 repeats the one at 0");
  EXPECT_EQ(CharVocabulary::FromJson("[1, 2").status().message(),
            "character vocabulary, key '(document)': expected a JSON object");
  EXPECT_FALSE(CharVocabulary::FromJson(R"({"padding":0,"start":1,"end":2,"chars":"a"})").ok());
  EXPECT_FALSE(CharVocabulary::FromJson(std::string(100000, '[')).ok());
}

TEST(MakeSeq2SeqArrays, Layout) {
  const CharVocabulary source = *CharVocabulary::Create("ab");  // a 3, b 4
  const CharVocabulary target = *CharVocabulary::Create("12");  // 1 3, 2 4
  const std::vector<TranslationPair> pairs = {{"ab", "1"}, {"b", "22"}};
  // Lengths 0: the longest (2 and 2).
  const Seq2SeqArrays fit = *MakeSeq2SeqArrays(pairs, source, target, 0, 0);
  EXPECT_EQ(fit.encoder_input, (autograd::Array{{3, 4}, {4, 0}}));
  EXPECT_EQ(fit.decoder_input, (autograd::Array{{1, 3, 0}, {1, 4, 4}}));
  EXPECT_EQ(fit.decoder_target, (autograd::Array{{3, 2, 0}, {4, 4, 2}}));

  const Seq2SeqArrays fixed = *MakeSeq2SeqArrays(pairs, source, target, 3, 3);
  EXPECT_EQ(fixed.encoder_input, (autograd::Array{{3, 4, 0}, {4, 0, 0}}));
  EXPECT_EQ(fixed.decoder_input, (autograd::Array{{1, 3, 0, 0}, {1, 4, 4, 0}}));
  EXPECT_EQ(fixed.decoder_target, (autograd::Array{{3, 2, 0, 0}, {4, 4, 2, 0}}));

  EXPECT_EQ(MakeSeq2SeqArrays(pairs, source, target, 1, 3).status().message(),
            "seq2seq arrays, pair 0: the source \"ab\" has 2 characters, more than the source "
            "length 1");
  EXPECT_EQ(MakeSeq2SeqArrays({{"a", "3"}}, source, target, 0, 0).status().message(),
            "seq2seq arrays, pair 0, target: character '3' at position 0 of \"3\" is not in the "
            "vocabulary (allowed: \"12\")");
}

TEST(MakeSeq2SeqArrays, TaskShapesAndDecodeBack) {
  const TranslationTask task = *FindTranslationTask("numbers");
  const CharVocabulary source = *SourceVocabulary("numbers");
  const CharVocabulary target = *TargetVocabulary("numbers");
  const std::vector<TranslationPair> pairs = *GenerateTranslationPairs("numbers", 50, 5);
  const Seq2SeqArrays arrays =
      *MakeSeq2SeqArrays(pairs, source, target, task.max_source_len, task.max_target_len);
  EXPECT_EQ(autograd::ShapeOf(arrays.encoder_input), (autograd::Shape{50, 64}));
  EXPECT_EQ(autograd::ShapeOf(arrays.decoder_input), (autograd::Shape{50, 8}));
  EXPECT_EQ(autograd::ShapeOf(arrays.decoder_target), (autograd::Shape{50, 8}));
  for (size_t i = 0; i < pairs.size(); ++i) {
    std::vector<int> encoder, decoder;
    for (size_t t = 0; t < 64; ++t) encoder.push_back(static_cast<int>(arrays.encoder_input(i, t)));
    for (size_t t = 0; t < 8; ++t) {
      decoder.push_back(static_cast<int>(arrays.decoder_target(i, t)));
    }
    EXPECT_EQ(source.Decode(encoder), pairs[i].source);
    EXPECT_EQ(target.Decode(decoder), pairs[i].target);
  }
}

}  // namespace
}  // namespace datasets
