#include "io/atomic_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <csignal>
#include <cstring>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace io {
namespace {

// The temporaries alive now, for the signal handler (which may only read atomics and call
// async-signal-safe functions such as unlink).
constexpr int kSlots = 64;
std::array<std::atomic<const char*>, kSlots> temporaries{};

void RemoveTemporariesAndDie(int signal) {
  for (std::atomic<const char*>& slot : temporaries) {
    if (const char* name = slot.load(); name != nullptr) unlink(name);
  }
  std::signal(signal, SIG_DFL);
  std::raise(signal);
}

// Installed once, and only over the default action: a program that handles or ignores these
// signals itself keeps its choice. SIGXFSZ (a write past the file-size limit, `ulimit -f`) would
// kill the process and leave the temporary; ignored, the write fails with EFBIG instead, which
// Write reports as any other failed write.
void InstallSignalCleanup() {
  static std::once_flag once;
  std::call_once(once, [] {
    for (int signal : {SIGINT, SIGTERM, SIGHUP, SIGXFSZ}) {
      struct sigaction current {};
      if (sigaction(signal, nullptr, &current) != 0 || current.sa_handler != SIG_DFL) continue;
      struct sigaction cleanup {};
      cleanup.sa_handler = signal == SIGXFSZ ? SIG_IGN : RemoveTemporariesAndDie;
      sigemptyset(&cleanup.sa_mask);
      sigaction(signal, &cleanup, nullptr);
    }
  });
}

// When this process started (close enough: when this library was loaded). A temporary of ours
// older than that was left by an earlier process that died while writing (SIGKILL, power loss).
const timespec kProcessStart = [] {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  return now;
}();

bool OlderThanThisProcess(const struct stat& info) {
  return info.st_mtim.tv_sec < kProcessStart.tv_sec ||
         (info.st_mtim.tv_sec == kProcessStart.tv_sec &&
          info.st_mtim.tv_nsec < kProcessStart.tv_nsec);
}

// A write lock on the whole file, held by its open file description (Linux's OFD locks: not
// released when some other descriptor of the file closes, and independent of the flock() that
// HDF5 takes when it opens the file).
bool LockWhole(int fd, bool wait) {
  struct flock lock {};
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  return fcntl(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &lock) == 0;
}

// mkstemp's names for `name`: ".<name>." and six letters or digits.
bool IsTemporaryOf(const std::string& entry, const std::string& name) {
  const std::string prefix = absl::StrCat(".", name, ".");
  if (entry.size() != prefix.size() + 6 || entry.compare(0, prefix.size(), prefix) != 0) {
    return false;
  }
  for (size_t i = prefix.size(); i < entry.size(); ++i) {
    if (!std::isalnum(static_cast<unsigned char>(entry[i]))) return false;
  }
  return true;
}

// Removes the regular files in `directory` named as our temporaries for `name` and older than
// this process: what a killed save left behind. Says so on stderr, once per file.
void RemoveStaleTemporaries(const std::string& directory, const std::string& name) {
  DIR* dir = opendir(directory.c_str());
  if (dir == nullptr) return;
  while (const dirent* entry = readdir(dir)) {
    if (!IsTemporaryOf(entry->d_name, name)) continue;
    const std::string path = absl::StrCat(directory, "/", entry->d_name);
    struct stat info {};
    if (lstat(path.c_str(), &info) != 0 || !S_ISREG(info.st_mode) || info.st_uid != geteuid() ||
        !OlderThanThisProcess(info)) {
      continue;
    }
    // A living writer holds a lock on its temporary until it is renamed or removed.
    const int fd = open(path.c_str(), O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) continue;
    const bool abandoned = LockWhole(fd, /*wait=*/false);
    if (abandoned && unlink(path.c_str()) == 0) {
      std::fprintf(stderr,
                   "note: removed '%s', a temporary left by an earlier save of '%s' that did not "
                   "finish (the process was killed)\n",
                   path.c_str(), name.c_str());
    }
    close(fd);
  }
  closedir(dir);
}

// What sits at `info`, in words, for errors.
const char* KindOfFile(const struct stat& info) {
  if (S_ISDIR(info.st_mode)) return "a directory";
  if (S_ISCHR(info.st_mode)) return "a character device";
  if (S_ISBLK(info.st_mode)) return "a block device";
  if (S_ISFIFO(info.st_mode)) return "a FIFO (named pipe)";
  if (S_ISSOCK(info.st_mode)) return "a socket";
  return "not a regular file";
}

int Register(const char* name) {
  for (int slot = 0; slot < kSlots; ++slot) {
    const char* empty = nullptr;
    if (temporaries[slot].compare_exchange_strong(empty, name)) return slot;
  }
  return -1;  // more than kSlots files open at once: still whole, only not removed on a signal
}

std::string ErrnoText() { return std::strerror(errno); }

}  // namespace

absl::StatusOr<std::unique_ptr<AtomicFile>> AtomicFile::Create(const std::string& path) {
  const size_t slash = path.rfind('/');
  const std::string directory = slash == std::string::npos ? "."
                                : slash == 0               ? "/"
                                                           : path.substr(0, slash);
  const std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  if (absl::Status status = CheckReplaceable(path); !status.ok()) return status;
  std::string temporary = absl::StrCat(directory, "/.", name, ".XXXXXX");
  InstallSignalCleanup();
  RemoveStaleTemporaries(directory, name);
  const int fd = mkstemp(temporary.data());
  if (fd < 0) {
    return absl::PermissionDeniedError(absl::StrFormat(
        "cannot create a file in '%s' to write '%s': %s (check that the directory exists and "
        "is writable)",
        directory, path, ErrnoText()));
  }
  // mkstemp makes the file private (0600); a result file gets the usual 0666 less the umask.
  const mode_t umask_bits = umask(0);
  umask(umask_bits);
  fchmod(fd, 0666 & ~umask_bits);
  // Held until the temporary is renamed or removed: another process's clean-up of stale
  // temporaries leaves a locked one alone, however old its last write.
  const int lock = open(temporary.c_str(), O_RDWR | O_CLOEXEC);
  if (lock >= 0) LockWhole(lock, /*wait=*/true);
  return std::unique_ptr<AtomicFile>(new AtomicFile(path, std::move(temporary), fd, lock));
}

AtomicFile::AtomicFile(std::string path, std::string temporary, int fd, int lock)
    : path_(std::move(path)), temporary_(std::move(temporary)), fd_(fd), lock_(lock) {
  slot_ = Register(temporary_.c_str());
}

AtomicFile::~AtomicFile() { Discard(); }

void AtomicFile::Discard() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  if (!temporary_.empty()) unlink(temporary_.c_str());
  if (lock_ >= 0) close(lock_);
  lock_ = -1;
  if (slot_ >= 0) temporaries[slot_].store(nullptr);
  slot_ = -1;
  temporary_.clear();
}

absl::Status AtomicFile::Write(std::string_view bytes) {
  if (fd_ < 0) {
    return absl::FailedPreconditionError(absl::StrFormat("'%s' was already closed", path_));
  }
  while (!bytes.empty()) {
    const ssize_t written = write(fd_, bytes.data(), bytes.size());
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) {
      const bool too_large = written < 0 && errno == EFBIG;
      const std::string reason = written < 0 ? ErrnoText() : "nothing written";
      Discard();
      return absl::ResourceExhaustedError(absl::StrFormat(
          "writing '%s' failed: %s (%s); nothing was written under that name", path_, reason,
          too_large ? "the file-size limit of this process, ulimit -f, is reached"
                    : "is the disk full?"));
    }
    bytes.remove_prefix(static_cast<size_t>(written));
  }
  return absl::OkStatus();
}

absl::Status AtomicFile::Commit(
    const std::function<absl::Status(const std::string& temporary)>& check) {
  if (fd_ < 0) {
    return absl::FailedPreconditionError(absl::StrFormat("'%s' was already closed", path_));
  }
  const auto fail = [&](const std::string& what) {
    Discard();
    return absl::ResourceExhaustedError(absl::StrFormat(
        "writing '%s' failed: %s; nothing was written under that name", path_, what));
  };
  if (fsync(fd_) != 0) return fail(absl::StrCat("fsync: ", ErrnoText(), " (is the disk full?)"));
  if (close(fd_) != 0) {
    fd_ = -1;
    return fail(absl::StrCat("close: ", ErrnoText()));
  }
  fd_ = -1;
  if (check) {
    if (absl::Status status = check(temporary_); !status.ok()) {
      Discard();
      return absl::Status(status.code(),
                          absl::StrFormat("'%s' was not written: %s", path_, status.message()));
    }
  }
  if (std::rename(temporary_.c_str(), path_.c_str()) != 0) return fail(ErrnoText());
  if (slot_ >= 0) temporaries[slot_].store(nullptr);
  slot_ = -1;
  temporary_.clear();
  if (lock_ >= 0) close(lock_);
  lock_ = -1;
  // The rename itself reaches the disk only with its directory.
  const size_t slash = path_.rfind('/');
  const std::string directory = slash == std::string::npos ? "."
                                : slash == 0               ? "/"
                                                           : path_.substr(0, slash);
  if (const int dir = open(directory.c_str(), O_RDONLY | O_DIRECTORY); dir >= 0) {
    fsync(dir);
    close(dir);
  }
  return absl::OkStatus();
}

absl::Status CheckReplaceable(const std::string& path) {
  const size_t slash = path.rfind('/');
  const std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  if (name.empty() || name == "." || name == "..") {
    return absl::InvalidArgumentError(
        absl::StrFormat("cannot write '%s': it names a directory, not a file", path));
  }
  // stat follows a symbolic link: what matters is what the write would replace.
  struct stat info {};
  if (stat(path.c_str(), &info) == 0 && !S_ISREG(info.st_mode)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "cannot write '%s': it is %s, and only a regular file may be replaced: choose a file "
        "name",
        path, KindOfFile(info)));
  }
  return absl::OkStatus();
}

absl::Status WriteFileAtomically(const std::string& path, std::string_view contents) {
  absl::StatusOr<std::unique_ptr<AtomicFile>> file = AtomicFile::Create(path);
  if (!file.ok()) return file.status();
  if (absl::Status status = (*file)->Write(contents); !status.ok()) return status;
  return (*file)->Commit();
}

absl::Status CheckPngComplete(const std::string& path) {
  static constexpr unsigned char kSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  // The last chunk: length 0, type IEND, CRC ae 42 60 82.
  static constexpr unsigned char kEnd[12] = {0,   0,   0,    0,    'I',  'E',
                                             'N', 'D', 0xae, 0x42, 0x60, 0x82};
  const int fd = open(path.c_str(), O_RDONLY | O_NONBLOCK);
  if (fd < 0)
    return absl::NotFoundError(absl::StrFormat("no image at '%s': %s", path, ErrnoText()));
  unsigned char head[8] = {}, tail[12] = {};
  struct stat info {};
  const bool whole = fstat(fd, &info) == 0 && S_ISREG(info.st_mode) &&
                     info.st_size >= static_cast<off_t>(sizeof(head) + sizeof(tail)) &&
                     pread(fd, head, sizeof(head), 0) == sizeof(head) &&
                     pread(fd, tail, sizeof(tail), info.st_size - sizeof(tail)) == sizeof(tail) &&
                     std::memcmp(head, kSignature, sizeof(head)) == 0 &&
                     std::memcmp(tail, kEnd, sizeof(tail)) == 0;
  close(fd);
  if (!whole) {
    return absl::DataLossError(absl::StrFormat(
        "the image is incomplete (%d bytes, no PNG signature or end chunk): was the disk full?",
        static_cast<long long>(info.st_size)));
  }
  return absl::OkStatus();
}

absl::Status PrepareOutputDirectory(const std::string& directory, std::string_view flag) {
  struct stat info {};
  if (stat(directory.c_str(), &info) != 0) {
    if (errno != ENOENT || mkdir(directory.c_str(), 0777) != 0) {
      return absl::NotFoundError(absl::StrFormat(
          "%s=%s: the directory does not exist and cannot be created (%s): create its parent "
          "first or choose another directory",
          flag, directory, ErrnoText()));
    }
  } else if (!S_ISDIR(info.st_mode)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s=%s: this is not a directory: choose a directory for the results", flag, directory));
  }
  // access() is not enough (root, read-only mounts): try to create a file.
  std::string probe = absl::StrCat(directory, "/.write_test.XXXXXX");
  const int fd = mkstemp(probe.data());
  if (fd < 0) {
    return absl::PermissionDeniedError(
        absl::StrFormat("%s=%s: cannot create files there (%s): choose a writable directory", flag,
                        directory, ErrnoText()));
  }
  close(fd);
  unlink(probe.c_str());
  return absl::OkStatus();
}

}  // namespace io
