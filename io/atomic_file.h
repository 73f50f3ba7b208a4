// Files that appear whole under their final name or not at all: results, plots and (later) model
// files are written to an exclusively created temporary in the target directory, flushed to disk,
// checked, then renamed over the final name. A temporary is removed when its writer fails, is
// destroyed, or the process gets SIGINT, SIGTERM or SIGHUP.
#ifndef IO_ATOMIC_FILE_H_
#define IO_ATOMIC_FILE_H_

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace io {

class AtomicFile {
 public:
  // Creates "<directory of path>/.<file name>.XXXXXX" with mkstemp (exclusive, unpredictable: a
  // planted file or symlink cannot redirect the write), permissions as a new file of this user's.
  // Refuses a `path` that exists and is not a regular file (CheckReplaceable). Removes the
  // temporaries of `path` that an earlier process left when it was killed while writing (files
  // of that naming pattern, owned by this user, last written before this process started and
  // not locked: a living writer holds a lock on its temporary), and says so on stderr. Writing past the file-size limit (`ulimit -f`) is an error, not SIGXFSZ.
  static absl::StatusOr<std::unique_ptr<AtomicFile>> Create(const std::string& path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  const std::string& path() const { return path_; }
  // Where the bytes go until Commit; another program (gnuplot) may write here too.
  const std::string& temporary_path() const { return temporary_; }

  absl::Status Write(std::string_view bytes);
  // Flushes to disk (fsync), runs `check` on the temporary when given (its error cancels the
  // publication), renames the temporary to path() and flushes the directory entry. On any
  // failure the temporary is removed and the old file under path(), if any, is left as it was.
  absl::Status Commit(const std::function<absl::Status(const std::string& temporary)>& check = {});

 private:
  AtomicFile(std::string path, std::string temporary, int fd, int lock);
  void Discard();

  std::string path_;
  std::string temporary_;
  int fd_;
  int lock_;  // a second descriptor holding a write lock while the temporary exists
  int slot_;  // in the table of temporaries the signal handler removes
};

// OK when a file may be written at `path` by replacing it: nothing is there, or a regular file
// (or a link to one). A directory, device, FIFO or socket there is an error naming what it is:
// as root, a rename would otherwise replace a device node with our file.
absl::Status CheckReplaceable(const std::string& path);

// The whole of `contents` at `path`, through AtomicFile.
absl::Status WriteFileAtomically(const std::string& path, std::string_view contents);

// OK when `path` is a whole PNG image: the 8-byte signature first and the IEND chunk last (what a
// full disk or a killed writer leaves is neither).
absl::Status CheckPngComplete(const std::string& path);

// Makes sure results can be written into `directory` before any long work starts: it exists (it
// is created when only its last part is missing, as mkdir would), is a directory, and a file can
// be created in it. Errors name `flag` (e.g. "--out_dir") and say what to do.
absl::Status PrepareOutputDirectory(const std::string& directory, std::string_view flag);

}  // namespace io

#endif  // IO_ATOMIC_FILE_H_
