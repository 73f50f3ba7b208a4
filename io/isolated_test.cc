#include "io/isolated.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace io {
namespace {

TEST(SurvivesInChild, WhatReturnsIsOkWhateverItReturns) {
  EXPECT_TRUE(SurvivesInChild([] { return true; }, 10, "reading 'm.h5'").ok());
  EXPECT_TRUE(SurvivesInChild([] { return false; }, 10, "reading 'm.h5'").ok());
}

TEST(SurvivesInChild, ACrashIsAnErrorAndTheCallerLivesOn) {
  const absl::Status status = SurvivesInChild(
      [] {
        std::raise(SIGSEGV);
        return true;
      },
      10, "reading 'm.h5'");
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  // Plainly SIGSEGV; under AddressSanitizer its handler reports the crash and aborts.
  EXPECT_TRUE(status.message() == "reading 'm.h5' crashed (signal 11, Segmentation fault)" ||
              status.message() == "reading 'm.h5' crashed (signal 6, Aborted)")
      << status;
  // Another way to die: an exit code that is not ours (a sanitizer's report without abort).
  EXPECT_EQ(SurvivesInChild(
                [] {
                  std::_Exit(1);
                  return true;
                },
                10, "x")
                .message(),
            "x crashed (exit code 1)");
}

TEST(SurvivesInChild, AHangIsStoppedAfterTheLimit) {
  const auto start = std::chrono::steady_clock::now();
  const absl::Status status = SurvivesInChild(
      [] {
        for (;;) pause();
        return true;
      },
      0.3, "reading 'm.h5'");
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(status.message(), "reading 'm.h5' did not finish in 0.3 s (it was stopped)");
  EXPECT_GE(seconds, 0.3);
  EXPECT_LT(seconds, 5);
}

TEST(SurvivesInChild, TheChildsOutputIsDiscarded) {
  // What the child writes to its standard output goes nowhere (here stdout is a file).
  const std::string path =
      std::string(std::getenv("TEST_TMPDIR") ? std::getenv("TEST_TMPDIR") : "/tmp") + "/out.txt";
  std::FILE* file = std::fopen(path.c_str(), "w");
  ASSERT_NE(file, nullptr);
  std::fputs("before ", file);
  const int saved = dup(STDOUT_FILENO);
  std::fflush(stdout);
  dup2(fileno(file), STDOUT_FILENO);
  const absl::Status status = SurvivesInChild(
      [&] {
        return write(STDOUT_FILENO, "from the child\n", 15) == 15;
      },
      10, "x");
  std::fflush(stdout);
  dup2(saved, STDOUT_FILENO);
  close(saved);
  std::fputs("after\n", file);
  std::fclose(file);
  EXPECT_TRUE(status.ok());
  std::FILE* in = std::fopen(path.c_str(), "r");
  ASSERT_NE(in, nullptr);
  char text[64] = {};
  const size_t read = std::fread(text, 1, sizeof text - 1, in);
  std::fclose(in);
  EXPECT_EQ(std::string(text, read), "before after\n");
}

}  // namespace
}  // namespace io
