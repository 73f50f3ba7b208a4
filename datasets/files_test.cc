#include "datasets/files.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

namespace datasets {
namespace {

std::string TempDir() {
  const char* dir = std::getenv("TEST_TMPDIR");
  return dir != nullptr ? dir : "/tmp";
}

TEST(ReadRegularFile, ReadsBytesAndRefusesWhatIsNotAFile) {
  const std::string path = TempDir() + "/bytes.bin";
  std::ofstream(path, std::ios::binary) << std::string("a\0b\n", 4);
  EXPECT_EQ(*ReadRegularFile(path), std::string("a\0b\n", 4));

  EXPECT_EQ(ReadRegularFile(TempDir() + "/missing").status().message(),
            TempDir() + "/missing does not exist");
  EXPECT_EQ(ReadRegularFile(TempDir()).status().message(),
            TempDir() + " is not a regular file (a directory, FIFO or device cannot be data)");
  // A FIFO with no writer: a blocking open would wait forever.
  const std::string fifo = TempDir() + "/fifo";
  unlink(fifo.c_str());
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_EQ(ReadRegularFile(fifo).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReadRegularFile("/dev/null").status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(Excerpt, BoundsWhatAMessageQuotes) {
  EXPECT_EQ(Excerpt("short"), "short");
  EXPECT_EQ(Excerpt("tab\there\n"), "tab\\there\\n");
  const std::string header(50 << 20, 'x');  // a 50 MB "header"
  const std::string quoted = Excerpt(header, 10);
  EXPECT_EQ(quoted, "xxxxxxxxxx... (52428800 bytes)");
}

}  // namespace
}  // namespace datasets
