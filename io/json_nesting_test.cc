#include "io/json_nesting.h"

#include <gtest/gtest.h>

#include <string>

namespace io {
namespace {

std::string Nested(int levels) { return std::string(levels, '[') + std::string(levels, ']'); }

TEST(JsonNesting, CountsArraysAndObjectsToTheLimit) {
  EXPECT_TRUE(CheckJsonNesting(Nested(3), 3).ok());
  EXPECT_FALSE(CheckJsonNesting(Nested(4), 3).ok());
  EXPECT_TRUE(CheckJsonNesting(R"({"a": [{"b": 1}], "c": {"d": [1, 2]}})", 3).ok());
  EXPECT_FALSE(CheckJsonNesting(R"({"a": [{"b": [1]}]})", 3).ok());
  // Siblings do not add up: depth falls back when a value closes.
  EXPECT_TRUE(CheckJsonNesting("[[1],[2],[3],[4],[5]]", 2).ok());
}

TEST(JsonNesting, BracketsInStringsDoNotCount) {
  EXPECT_TRUE(CheckJsonNesting(R"(["[[[[[[", "{{{{\"[[[["])", 1).ok());
  // An escaped backslash ends the escape: the quote after it closes the string.
  EXPECT_FALSE(CheckJsonNesting(R"(["\\", [[1]]])", 2).ok());
}

TEST(JsonNesting, TheErrorSaysWhereAndWhy) {
  const absl::Status status = CheckJsonNesting(R"({"a": [[)", 2);
  EXPECT_EQ(status.message(),
            "JSON nested more than 2 levels deep (at byte 7): not a configuration this library "
            "writes");
}

TEST(JsonNesting, AHundredThousandLevelsAreRefusedQuickly) {
  EXPECT_FALSE(CheckJsonNesting(Nested(100000)).ok());
  EXPECT_TRUE(CheckJsonNesting(Nested(kMaxJsonNesting)).ok());
}

}  // namespace
}  // namespace io
