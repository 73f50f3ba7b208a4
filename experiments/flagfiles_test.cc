#include "experiments/flagfiles.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

ABSL_FLAG(std::string, data_dir, "", "a string flag: takes the next argument as its value");
ABSL_FLAG(int, epochs, 1, "an integer flag");
ABSL_FLAG(bool, verbose, false, "a boolean flag: never takes the next argument");

namespace experiments {
namespace {

class Flagfiles : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* base = std::getenv("TEST_TMPDIR");
    std::string pattern = absl::StrCat(base != nullptr ? base : "/tmp", "/flagfiles.XXXXXX");
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }

  // A file in the test's directory holding `text`; returns its path.
  std::string File(const std::string& name, const std::string& text) {
    const std::string path = Path(name);
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
  std::string Path(const std::string& name) const { return absl::StrCat(dir_, "/", name); }

  static std::string Message(const std::vector<std::string>& args) {
    return std::string(CheckFlagfiles(args).message());
  }

  std::string dir_;
};

TEST_F(Flagfiles, GoodOnesPassInEveryForm) {
  const std::string inner = File("inner", "# a comment\n\n  --epochs=3\n");
  const std::string outer = File("outer", absl::StrCat("--flagfile=", inner, "\n--data_dir=x\n"));
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"--flagfile=" + outer},
           {"--flagfile", outer},
           {"-flagfile=" + outer},
           {absl::StrCat("--flagfile=", outer, ",", inner)},
           {"--flagfile="},  // an empty list: no flagfile
           {"--verbose", "--epochs=2", "positional"},
       }) {
    EXPECT_TRUE(CheckFlagfiles(args).ok()) << args[0] << ": " << CheckFlagfiles(args);
  }
  // A file included twice, not in a loop (a diamond), is fine.
  const std::string twice = File("twice", absl::StrCat("--flagfile=", inner, "\n--flagfile=",
                                                       inner, "\n"));
  EXPECT_TRUE(CheckFlagfiles({"--flagfile=" + twice}).ok());
}

TEST_F(Flagfiles, FollowsAbseilsReadingOfValues) {
  const std::string missing = Path("missing");
  // A non-boolean flag without '=' takes the next argument as its value, a flagfile or not.
  EXPECT_TRUE(CheckFlagfiles({"--data_dir", "--flagfile=" + missing}).ok());
  EXPECT_TRUE(CheckFlagfiles({"--epochs", "--flagfile=" + missing}).ok());
  // After "--" everything is positional.
  EXPECT_TRUE(CheckFlagfiles({"--", "--flagfile=" + missing}).ok());
  // A boolean flag does not take it; neither does an unknown flag.
  EXPECT_EQ(Message({"--verbose", "--flagfile=" + missing}),
            absl::StrCat("--flagfile=", missing,
                         ": cannot read it (No such file or directory): pass a file of flags, one "
                         "--name=value per line"));
  EXPECT_FALSE(CheckFlagfiles({"--unknown", "--flagfile", missing}).ok());
  // A flagfile with Windows line ends names "good\r".
  const std::string crlf = File("crlf", absl::StrCat("--flagfile=", Path("good"), "\r\n"));
  EXPECT_EQ(Message({"--flagfile=" + crlf}),
            absl::StrCat("--flagfile=", Path("good"), "\r (line 1 of ", crlf,
                         "): cannot read it (No such file or directory): pass a file of flags, "
                         "one --name=value per line (the name ends in a space or carriage return: "
                         "flagfiles need Unix line ends and no trailing spaces)"));
  // The second file of a comma list, named alone.
  const std::string good = File("good", "--epochs=3\n");
  EXPECT_EQ(Message({absl::StrCat("--flagfile=", good, ",", dir_)}),
            absl::StrCat("--flagfile=", dir_,
                         ": this is a directory: a flagfile must be a regular file of flags, one "
                         "--name=value per line"));
  EXPECT_EQ(Message({absl::StrCat("--flagfile=", good, ",")}),
            absl::StrCat("--flagfile=", good,
                         ",: the list names an empty file (a stray comma?): name each flagfile "
                         "once, separated by commas"));
  // A file with a line that is not a flag is rejected whole by Abseil, which reads nothing it
  // includes: nothing to check here.
  const std::string rejected = File("rejected", absl::StrCat("--flagfile=", missing, "\nword\n"));
  EXPECT_TRUE(CheckFlagfiles({"--flagfile=" + rejected}).ok());
}

TEST_F(Flagfiles, NotRegularFiles) {
  const std::string fifo = Path("fifo");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(Message({"--flagfile=" + fifo}),
            absl::StrCat("--flagfile=", fifo,
                         ": this is a FIFO: a flagfile must be a regular file of flags, one "
                         "--name=value per line"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  // A private /dev/zero (needs root; the shell test covers it too).
  const std::string zero = Path("zero");
  if (mknod(zero.c_str(), S_IFCHR | 0600, makedev(1, 5)) == 0) {
    EXPECT_EQ(Message({"--flagfile=" + zero}),
              absl::StrCat("--flagfile=", zero,
                           ": this is a character device: a flagfile must be a regular file of "
                           "flags, one --name=value per line"));
  } else {
    std::printf("note: no private /dev/zero (mknod: %s); the shell test covers it\n",
                std::strerror(errno));
  }
}

TEST_F(Flagfiles, SizeBounds) {
  const std::string big = File("big", std::string(kMaxFlagfileBytes + 1, '#'));
  EXPECT_EQ(Message({"--flagfile=" + big}),
            absl::StrCat("--flagfile=", big,
                         ": holds 1048577 bytes, more than the 1048576 (1 MiB) a flagfile may "
                         "hold: a flagfile must be a regular file of flags, one --name=value per "
                         "line; is this the right file?"));
  EXPECT_TRUE(CheckFlagfiles({"--flagfile=" + File("full", std::string(kMaxFlagfileBytes, '#'))})
                  .ok());
  // 4 KiB included 2,100 times: 8.6 MB read in all. The limit is passed on the line whose file
  // takes the bytes read (`many` itself, then 4 KiB a line) past 8 MiB.
  const std::string small = File("small", std::string(4096, '#'));
  std::string lines;
  for (int i = 0; i < 2100; ++i) absl::StrAppend(&lines, "--flagfile=", small, "\n");
  const std::string many = File("many", lines);
  const size_t line = (kMaxFlagfileBytesInAll - lines.size()) / 4096 + 1;
  EXPECT_EQ(Message({"--flagfile=" + many}),
            absl::StrCat("--flagfile=", small, " (line ", line, " of ", many,
                         "): the flagfiles of this command line add up to more than 8388608 "
                         "bytes (8 MiB; a file counts each time it is included): include fewer "
                         "or smaller flagfiles"));
}

TEST_F(Flagfiles, CyclesAndDepth) {
  const std::string self = Path("self");
  File("self", absl::StrCat("--epochs=2\n--flagfile=", self, "\n"));
  EXPECT_EQ(Message({"--flagfile=" + self}),
            absl::StrCat("--flagfile=", self, " (line 2 of ", self, "): includes itself: ", self,
                         " -> ", self, ": remove the --flagfile line that closes the loop"));
  const std::string a = Path("a"), b = Path("b");
  File("a", absl::StrCat("--flagfile=", b, "\n"));
  File("b", absl::StrCat("--flagfile=", a, "\n"));
  EXPECT_EQ(Message({"--flagfile=" + a}),
            absl::StrCat("--flagfile=", a, " (line 1 of ", b, "): includes itself: ", a, " -> ", b,
                         " -> ", a, ": remove the --flagfile line that closes the loop"));
  // The same file under another name is the same file.
  File("c", absl::StrCat("--flagfile=", dir_, "/./c\n"));
  EXPECT_FALSE(CheckFlagfiles({"--flagfile=" + Path("c")}).ok());

  // level1 -> level2 -> ... -> levelN -> end
  const auto chain = [&](int levels) {
    File("end", "--epochs=2\n");
    std::string next = Path("end");
    for (int level = levels; level >= 1; --level) {
      next = File(absl::StrCat("level", level), absl::StrCat("--flagfile=", next, "\n"));
    }
    return next;
  };
  EXPECT_TRUE(CheckFlagfiles({"--flagfile=" + chain(kMaxFlagfileDepth - 1)}).ok());
  const std::string deep = chain(kMaxFlagfileDepth);
  std::string expected_chain;
  for (size_t level = 1; level <= kMaxFlagfileDepth; ++level) {
    absl::StrAppend(&expected_chain, Path(absl::StrCat("level", level)), " -> ");
  }
  absl::StrAppend(&expected_chain, Path("end"));
  EXPECT_EQ(Message({"--flagfile=" + deep}),
            absl::StrCat("--flagfile=", Path("end"), " (line 1 of ", Path("level8"),
                         "): flagfiles nest more than 8 deep: ", expected_chain,
                         ": include fewer levels of flagfiles"));
}

TEST_F(Flagfiles, LinesAbseilWouldAbortOn) {
  const std::string dash = File("dash", "--epochs=2\n  -\n");
  EXPECT_EQ(Message({"--flagfile=" + dash}),
            absl::StrCat("--flagfile=", dash,
                         ": line 2 is '-', which is not a flag: remove it (a flagfile holds "
                         "flags, one --name=value per line)"));
}

TEST_F(Flagfiles, FromTheEnvironment) {
  ASSERT_EQ(setenv("FLAGS_flagfile", dir_.c_str(), 1), 0);
  EXPECT_EQ(Message({"--tryfromenv=epochs,flagfile"}),
            absl::StrCat("--flagfile=", dir_,
                         " ($FLAGS_flagfile, --tryfromenv): this is a directory: a flagfile must "
                         "be a regular file of flags, one --name=value per line"));
  EXPECT_FALSE(CheckFlagfiles({"--fromenv", "flagfile"}).ok());
  EXPECT_TRUE(CheckFlagfiles({"--fromenv=epochs"}).ok());
  unsetenv("FLAGS_flagfile");
  EXPECT_TRUE(CheckFlagfiles({"--tryfromenv=flagfile"}).ok());
}

}  // namespace
}  // namespace experiments
