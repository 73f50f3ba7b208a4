#include "experiments/report.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>

namespace experiments {
namespace {

std::string TestDirectory() {
  const char* dir = std::getenv("TEST_TMPDIR");
  return dir != nullptr ? dir : "/tmp";
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The PNG signature first and the IEND chunk last (its 4-byte type, then its 4-byte CRC).
void ExpectWholePng(const std::string& path) {
  const std::string png = ReadFile(path);
  ASSERT_GT(png.size(), 8u + 12u) << path;
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_EQ(png.substr(png.size() - 8, 4), "IEND");
}

Heatmap ThreeByFour() {
  return {"three by four",
          {"a", "b", "c", "d"},
          {"x", "y", "z"},
          {{1, 0, 0, 0}, {0, 0.5, 0.5, 0}, {0, 0, 0.25, 0.75}}};
}

TEST(PlotHeatmaps, WritesAWholePng) {
  const std::string png = TestDirectory() + "/heatmap.png";
  ASSERT_TRUE(PlotHeatmaps(png, "one map", {ThreeByFour()}).ok());
  ExpectWholePng(png);
}

// Quotes, backslashes, gnuplot markup and a control character in labels and titles: an
// unescaped quote would end gnuplot's string early and the script would fail.
TEST(PlotHeatmaps, OddLabelsDoNotBreakTheScript) {
  Heatmap odd = ThreeByFour();
  odd.title = "it's a \\ \"map\" {_^@&~}";
  odd.x_labels = {"'", "\\", "\"", " "};
  odd.y_labels = {"''", "_", "\n"};
  const std::string png = TestDirectory() + "/odd.png";
  // Four maps: a 2 x 2 grid.
  const absl::Status status =
      PlotHeatmaps(png, "quote ' backslash \\ end", {odd, ThreeByFour(), odd, ThreeByFour()});
  ASSERT_TRUE(status.ok()) << status;
  ExpectWholePng(png);
}

TEST(PlotHeatmaps, LargeMapsScriptLongerThanAPipe) {
  // 200 x 200 values: a script of about 200 KB, more than a pipe holds.
  Heatmap big;
  big.title = "big";
  for (int i = 0; i < 200; ++i) {
    big.x_labels.push_back(std::string(1, static_cast<char>('a' + i % 26)));
    big.y_labels.push_back(std::string(1, static_cast<char>('0' + i % 10)));
  }
  big.values.assign(200, std::vector<double>(200, 0.0));
  for (int i = 0; i < 200; ++i) big.values[i][i] = 1 / 3.0;
  const std::string png = TestDirectory() + "/big.png";
  const absl::Status status = PlotHeatmaps(png, "big", {big});
  ASSERT_TRUE(status.ok()) << status;
  ExpectWholePng(png);
}

TEST(PlotHeatmaps, BadMapsAreErrorsAndWriteNothing) {
  const std::string png = TestDirectory() + "/bad.png";
  EXPECT_EQ(PlotHeatmaps(png, "t", {}).message(), "heatmaps: no maps to plot");
  Heatmap ragged = ThreeByFour();
  ragged.values[1].pop_back();
  EXPECT_EQ(PlotHeatmaps(png, "t", {ThreeByFour(), ragged}).message(),
            "heatmap 1 (\"three by four\"), row 1: expected 4 values (one per x label), got 3");
  Heatmap rows = ThreeByFour();
  rows.values.pop_back();
  EXPECT_EQ(PlotHeatmaps(png, "t", {rows}).message(),
            "heatmap 0 (\"three by four\"): expected 3 rows of values (one per y label), got 2");
  Heatmap out_of_range = ThreeByFour();
  out_of_range.values[2][3] = 1.5;
  EXPECT_EQ(PlotHeatmaps(png, "t", {out_of_range}).message(),
            "heatmap 0 (\"three by four\"), row 2, column 3: value 1.5 is outside [0, 1]");
  Heatmap not_a_number = ThreeByFour();
  not_a_number.values[0][0] = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(PlotHeatmaps(png, "t", {not_a_number}).code(), absl::StatusCode::kInvalidArgument);
  Heatmap empty;
  EXPECT_EQ(PlotHeatmaps(png, "t", {empty}).message(),
            "heatmap 0 (\"\"): has 0 x labels and 0 y labels; a map needs at least one of each");
  EXPECT_TRUE(ReadFile(png).empty());                                      // nothing was written
  EXPECT_FALSE(PlotHeatmaps(TestDirectory(), "t", {ThreeByFour()}).ok());  // a directory
}

// PlotCsv quotes as PlotHeatmaps does.
TEST(PlotCsv, QuotesInTitlesAndLabels) {
  const std::string csv = TestDirectory() + "/curves.csv";
  ASSERT_TRUE(WriteCsv(csv, {{"loss", {1.0, 0.5, 0.25}}, {"val_loss", {1.1, 0.7, 0.6}}}).ok());
  const std::string png = TestDirectory() + "/curves.png";
  const absl::Status status =
      PlotCsv(csv, png, "it's ''quoted'' \\ \"twice\"", {{"loss ''", {2, 3}}});
  ASSERT_TRUE(status.ok()) << status;
  ExpectWholePng(png);
}

}  // namespace
}  // namespace experiments
