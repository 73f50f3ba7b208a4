// The real Tweets.csv against the book's figures. Needs the data (it fails, never skips, when
// the file is missing), so it is not part of `bazel test //...`: CI fetches ../shared/data and
// runs it, and so can you:
//   bazel run //tools:fetch_data -- --from ../shared/data tweets
//   bazel test //datasets:airline_real_data_test
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "datasets/airline.h"

namespace datasets {
namespace {

namespace fs = std::filesystem;

// The real file, when it is there: the project's data/ (tools/fetch_data.sh) or ../shared/data.
std::string FindRealTweets() {
  std::error_code error;
  // README.md in the runfiles is a link to the workspace's own file.
  const fs::path workspace = fs::canonical("README.md", error).parent_path();
  if (error) return "";
  for (const fs::path& candidate : {workspace / "data" / "Tweets.csv",
                                    workspace.parent_path() / "shared" / "data" / "Tweets.csv"}) {
    if (fs::exists(candidate)) return candidate.string();
  }
  return "";
}

TEST(RealTweets, VocabularyAndLongestTweetMatchTheBook) {
  const std::string path = FindRealTweets();
  ASSERT_FALSE(path.empty())
      << "Tweets.csv not found in the project's data/ or ../shared/data: fetch it with "
         "bazel run //tools:fetch_data -- --from ../shared/data tweets";
  absl::StatusOr<AirlineData> data = LoadAirlineTweets(path);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->labels.size(), 11541u);
  EXPECT_EQ(std::count(data->labels.begin(), data->labels.end(), 0), 9178);
  // The book's Embedding(input_dim=12533, ..., input_length=26).
  EXPECT_EQ(data->words.size(), 12532u);
  EXPECT_EQ(data->max_length, 26u);
}

}  // namespace
}  // namespace datasets
