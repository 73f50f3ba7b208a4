#include "io/atomic_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <ctime>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <vector>

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
            "cannot write '" + dir +
                "': it is a directory, and only a regular file may be replaced: choose a file "
                "name");
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

namespace io {
namespace {

// Run as root, a rename replaces a device node: only regular files may be replaced. The nodes
// are private copies made here (the same numbers as /dev/null), never the real ones.
TEST(AtomicFile, OnlyARegularFileIsReplaced) {
  const std::string dir = FreshDirectory();
  const std::string device = dir + "/null", fifo = dir + "/fifo", socket_path = dir + "/socket";
  const bool have_device = mknod(device.c_str(), S_IFCHR | 0600, makedev(1, 3)) == 0;
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  const int listener = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::snprintf(address.sun_path, sizeof address.sun_path, "%s", socket_path.c_str());
  const bool have_socket =
      socket_path.size() < sizeof address.sun_path &&
      bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  struct Case {
    std::string path, kind;
  };
  std::vector<Case> cases = {{fifo, "a FIFO (named pipe)"}, {dir, "a directory"}};
  if (have_device) cases.push_back({device, "a character device"});
  if (have_socket) cases.push_back({socket_path, "a socket"});
  // A link to a device is judged by what it leads to.
  if (have_device) {
    ASSERT_EQ(symlink(device.c_str(), (dir + "/link").c_str()), 0);
    cases.push_back({dir + "/link", "a character device"});
  }
  for (const Case& c : cases) {
    SCOPED_TRACE(c.path);
    const std::string expected = "cannot write '" + c.path + "': it is " + c.kind +
                                 ", and only a regular file may be replaced: choose a file name";
    EXPECT_EQ(CheckReplaceable(c.path).message(), expected);
    EXPECT_EQ(WriteFileAtomically(c.path, "x").message(), expected);
  }
  close(listener);
  struct stat info {};
  if (have_device) {
    ASSERT_EQ(lstat(device.c_str(), &info), 0);
    EXPECT_TRUE(S_ISCHR(info.st_mode));
  }
  ASSERT_EQ(lstat(fifo.c_str(), &info), 0);
  EXPECT_TRUE(S_ISFIFO(info.st_mode));
  // Nothing was left beside them.
  for (const std::string& name : Entries(dir)) EXPECT_NE(name[0], '.') << name;
  EXPECT_TRUE(CheckReplaceable(dir + "/new.csv").ok());
}

// Past `ulimit -f` the write fails with EFBIG (SIGXFSZ would kill the process and leave the
// temporary): one error, no temporary, the old file intact.
TEST(AtomicFile, FileSizeLimitIsAnErrorNotASignal) {
  const std::string dir = FreshDirectory();
  ASSERT_TRUE(WriteFileAtomically(dir + "/m.h5", "old").ok());
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    rlimit limit{4096, 4096};
    setrlimit(RLIMIT_FSIZE, &limit);
    const absl::Status status = WriteFileAtomically(dir + "/m.h5", std::string(10000, 'x'));
    const bool expected =
        status.message() ==
        "writing '" + dir +
            "/m.h5' failed: File too large (the file-size limit of this process, ulimit -f, is "
            "reached); nothing was written under that name";
    _exit(expected ? 0 : 3);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(Entries(dir), std::set<std::string>{"m.h5"});
  EXPECT_EQ(Read(dir + "/m.h5"), "old");
}

// A save killed with SIGKILL leaves its temporary; the next save of that name removes it, but
// not a newer one (another process may be writing it), nor another file's, nor other names.
TEST(AtomicFile, StaleTemporariesOfAKilledSaveAreRemoved) {
  const std::string dir = FreshDirectory();
  const auto plant = [&](const std::string& name, time_t age_seconds) {
    const std::string path = dir + "/" + name;
    std::ofstream(path) << "half";
    const timespec now{time(nullptr) - age_seconds, 0};
    const timespec times[2] = {now, now};
    EXPECT_EQ(utimensat(AT_FDCWD, path.c_str(), times, 0), 0);
  };
  plant(".m.h5.Ab3dE9", 3600);     // stale: removed
  plant(".m.h5.zzzzzz", 60);       // stale: removed
  plant(".m.h5.Qr7tY1", -3600);    // newer than this process: kept
  plant(".other.h5.Ab3dE9", 3600);  // another file's: kept
  plant(".m.h5.toolong7", 3600);   // not our pattern: kept
  plant("m.h5.Ab3dE9", 3600);      // not hidden: kept
  plant(".m.h5.L0cked", 3600);     // old, but its writer lives and holds the lock: kept
  const int held = open((dir + "/.m.h5.L0cked").c_str(), O_RDWR);
  ASSERT_GE(held, 0);
  struct flock lock {};
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  ASSERT_EQ(fcntl(held, F_OFD_SETLK, &lock), 0);
  ASSERT_TRUE(WriteFileAtomically(dir + "/m.h5", "new").ok());
  EXPECT_EQ(Entries(dir), (std::set<std::string>{"m.h5", ".m.h5.Qr7tY1", ".other.h5.Ab3dE9",
                                                 ".m.h5.toolong7", "m.h5.Ab3dE9",
                                                 ".m.h5.L0cked"}));
  close(held);
}

}  // namespace
}  // namespace io
