#include "io/atomic_file.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

namespace io {
namespace {

std::string FreshDirectory() {
  std::string dir = std::string(std::getenv("TEST_TMPDIR") ? std::getenv("TEST_TMPDIR") : "/tmp") +
                    "/atomic.XXXXXX";
  EXPECT_NE(mkdtemp(dir.data()), nullptr);
  return dir;
}

std::set<std::string> Entries(const std::string& dir) {
  std::set<std::string> names;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* entry = readdir(d)) {
      const std::string name = entry->d_name;
      if (name != "." && name != "..") names.insert(name);
    }
    closedir(d);
  }
  return names;
}

std::string Read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(AtomicFile, WritesWholeFileAndLeavesNoTemporary) {
  const std::string dir = FreshDirectory();
  ASSERT_TRUE(WriteFileAtomically(dir + "/a.csv", "epoch,loss\n1,0.5\n").ok());
  EXPECT_EQ(Read(dir + "/a.csv"), "epoch,loss\n1,0.5\n");
  ASSERT_TRUE(WriteFileAtomically(dir + "/a.csv", "replaced\n").ok());
  EXPECT_EQ(Read(dir + "/a.csv"), "replaced\n");
  EXPECT_EQ(Entries(dir), std::set<std::string>{"a.csv"});
  struct stat info {};
  ASSERT_EQ(stat((dir + "/a.csv").c_str(), &info), 0);
  const mode_t mask = umask(0);
  umask(mask);
  EXPECT_EQ(info.st_mode & 0777, 0666 & ~mask);  // not mkstemp's private 0600
}

TEST(AtomicFile, PlantedSymlinkAtAPredictableNameIsNotFollowed) {
  const std::string dir = FreshDirectory();
  ASSERT_TRUE(WriteFileAtomically(dir + "/victim", "precious").ok());
  // The names an older version used: <name>.tmp<pid>, and a guess at ours.
  for (const std::string& planted :
       {dir + "/out.csv.tmp" + std::to_string(getpid()), dir + "/.out.csv.XXXXXX"}) {
    ASSERT_EQ(symlink((dir + "/victim").c_str(), planted.c_str()), 0);
  }
  ASSERT_TRUE(WriteFileAtomically(dir + "/out.csv", "results").ok());
  EXPECT_EQ(Read(dir + "/victim"), "precious");
  EXPECT_EQ(Read(dir + "/out.csv"), "results");
}

TEST(AtomicFile, FailedWriteKeepsTheOldFileAndRemovesTheTemporary) {
  const std::string dir = FreshDirectory();
  ASSERT_TRUE(WriteFileAtomically(dir + "/r.csv", "old").ok());
  // A file size limit fails the write as a full disk would (EFBIG instead of ENOSPC).
  std::signal(SIGXFSZ, SIG_IGN);
  rlimit old_limit{};
  getrlimit(RLIMIT_FSIZE, &old_limit);
  rlimit small = old_limit;
  small.rlim_cur = 4096;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
  const absl::Status status = WriteFileAtomically(dir + "/r.csv", std::string(100000, 'x'));
  setrlimit(RLIMIT_FSIZE, &old_limit);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(status.message().find("writing '" + dir + "/r.csv' failed: File too large"),
            std::string::npos)
      << status.message();
  EXPECT_EQ(Read(dir + "/r.csv"), "old");
  EXPECT_EQ(Entries(dir), std::set<std::string>{"r.csv"});
}

TEST(AtomicFile, FailedCheckOrNoCommitPublishesNothing) {
  const std::string dir = FreshDirectory();
  {
    absl::StatusOr<std::unique_ptr<AtomicFile>> file = AtomicFile::Create(dir + "/p.png");
    ASSERT_TRUE(file.ok());
    ASSERT_TRUE((*file)->Write("\x89PNG\r\n\x1a\n truncated").ok());
    const absl::Status status = (*file)->Commit(CheckPngComplete);
    EXPECT_EQ(status.message(),
              "'" + dir +
                  "/p.png' was not written: the image is incomplete (18 bytes, no PNG signature "
                  "or end chunk): was the disk full?");
  }
  {
    absl::StatusOr<std::unique_ptr<AtomicFile>> file = AtomicFile::Create(dir + "/q.csv");
    ASSERT_TRUE(file.ok());
    ASSERT_TRUE((*file)->Write("abandoned").ok());
    EXPECT_EQ(Entries(dir).size(), 1u);  // the temporary
  }
  EXPECT_TRUE(Entries(dir).empty());
}

TEST(AtomicFile, TemporaryRemovedOnSigterm) {
  const std::string dir = FreshDirectory();
  const pid_t child = fork();
  if (child == 0) {
    absl::StatusOr<std::unique_ptr<AtomicFile>> file = AtomicFile::Create(dir + "/big.csv");
    if (!file.ok() || !(*file)->Write("half of it").ok()) _exit(3);
    raise(SIGTERM);
    _exit(4);  // not reached
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGTERM);
  EXPECT_TRUE(Entries(dir).empty());
}

TEST(AtomicFile, DirectoryWhereAFileBelongs) {
  const std::string dir = FreshDirectory();
  EXPECT_EQ(WriteFileAtomically(dir, "x").message(),
            "cannot write '" + dir + "': it names a directory, not a file");
  EXPECT_EQ(WriteFileAtomically(dir + "/", "x").message(),
            "cannot write '" + dir + "/': it names a directory, not a file");
  EXPECT_NE(WriteFileAtomically(dir + "/missing/x.csv", "x")
                .message()
                .find("cannot create a file in '" + dir + "/missing' to write"),
            std::string::npos);
}

TEST(CheckPngComplete, SignatureAndEndChunk) {
  const std::string dir = FreshDirectory();
  // Signature, a header chunk's bytes (content is not checked) and IEND with its published CRC.
  const std::string signature = "\x89PNG\r\n\x1a\n";
  const std::string end("\0\0\0\0IEND\xae\x42\x60\x82", 12);
  ASSERT_TRUE(WriteFileAtomically(dir + "/whole.png", signature + "IHDR...." + end).ok());
  EXPECT_TRUE(CheckPngComplete(dir + "/whole.png").ok());
  ASSERT_TRUE(
      WriteFileAtomically(dir + "/cut.png", signature + "IHDR...." + end.substr(0, 11)).ok());
  EXPECT_EQ(CheckPngComplete(dir + "/cut.png").code(), absl::StatusCode::kDataLoss);
  ASSERT_TRUE(WriteFileAtomically(dir + "/empty.png", "").ok());
  EXPECT_FALSE(CheckPngComplete(dir + "/empty.png").ok());
  EXPECT_FALSE(CheckPngComplete(dir).ok());
}

TEST(PrepareOutputDirectory, CreatesTheLastPartOnly) {
  const std::string dir = FreshDirectory();
  EXPECT_TRUE(PrepareOutputDirectory(dir, "--out_dir").ok());
  EXPECT_TRUE(PrepareOutputDirectory(dir + "/new", "--out_dir").ok());
  struct stat info {};
  EXPECT_EQ(stat((dir + "/new").c_str(), &info), 0);
  EXPECT_TRUE(S_ISDIR(info.st_mode));
  EXPECT_EQ(PrepareOutputDirectory(dir + "/a/b", "--out_dir").message(),
            "--out_dir=" + dir +
                "/a/b: the directory does not exist and cannot be created (No such file or "
                "directory): create its parent first or choose another directory");
  ASSERT_TRUE(WriteFileAtomically(dir + "/file", "x").ok());
  EXPECT_EQ(
      PrepareOutputDirectory(dir + "/file", "--out_dir").message(),
      "--out_dir=" + dir + "/file: this is not a directory: choose a directory for the results");
  EXPECT_EQ(Entries(dir), (std::set<std::string>{"file", "new"}));  // the probe is gone
}

}  // namespace
}  // namespace io
