#include "datasets/csv.h"

#include <gtest/gtest.h>

#include <cstdlib>

namespace datasets {
namespace {

TEST(Csv, QuotedCommasDoubledQuotesNewlinesAndNoFinalNewline) {
  const std::string text =
      "id,text,n\n"
      "1,\"hello, world\",2\n"
      "2,\"she said \"\"hi\"\"\",3\r\n"
      "3,\"two\nlines\",4\n"
      "4,,5";
  absl::StatusOr<CsvTable> table = ParseCsv(text, "t.csv");
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(table->header, (std::vector<std::string>{"id", "text", "n"}));
  ASSERT_EQ(table->records.size(), 4u);
  EXPECT_EQ(table->records[0][1], "hello, world");
  EXPECT_EQ(table->records[1][1], "she said \"hi\"");
  EXPECT_EQ(table->records[2][1], "two\nlines");
  EXPECT_EQ(table->records[3][1], "");
  EXPECT_EQ(table->records[3][2], "5");
  // Line numbers count the line break inside the quoted field.
  EXPECT_EQ(table->record_lines, (std::vector<size_t>{2, 3, 4, 6}));
}

TEST(Csv, MalformedRecordsNameTheirLine) {
  absl::StatusOr<CsvTable> short_record = ParseCsv("a,b\n1,2\n3\n", "t.csv");
  ASSERT_FALSE(short_record.ok());
  EXPECT_EQ(short_record.status().message(), "t.csv:3: record has 1 fields, the header has 2");
  absl::StatusOr<CsvTable> open_quote = ParseCsv("a,b\n1,\"oops\n2,3\n", "t.csv");
  ASSERT_FALSE(open_quote.ok());
  EXPECT_EQ(open_quote.status().message(), "t.csv:2: a quoted field opened here is never closed");
  EXPECT_FALSE(ParseCsv("a,b\n\"x\"y,1\n", "t.csv").ok());
}

TEST(Csv, MissingColumnIsNamed) {
  absl::StatusOr<CsvTable> table = ParseCsv("a,b\n1,2\n", "t.csv");
  ASSERT_TRUE(table.ok());
  EXPECT_EQ(*table->Column("b"), 1u);
  EXPECT_EQ(table->Column("text").status().message(),
            "t.csv has no column 'text' (its header: a,b)");
  // A damaged file whose "header" is 50 MB long: the message quotes 200 characters of it.
  const std::string huge(50 << 20, 'h');
  table = ParseCsv(huge + "\n", "big.csv");
  ASSERT_TRUE(table.ok());
  EXPECT_EQ(table->Column("text").status().message(),
            "big.csv has no column 'text' (its header: " + std::string(200, 'h') +
                "... (52428800 bytes))");
}

TEST(Csv, ReadsOnlyRegularFiles) {
  const char* dir = std::getenv("TEST_TMPDIR");
  ASSERT_NE(dir, nullptr);
  EXPECT_EQ(ReadCsv(dir).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReadCsv(std::string(dir) + "/none.csv").status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace datasets
