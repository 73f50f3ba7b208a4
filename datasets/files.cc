#include "datasets/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace datasets {

absl::StatusOr<std::string> ReadRegularFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    const std::string reason = std::strerror(errno);
    if (errno == ENOENT) {
      return absl::NotFoundError(absl::StrFormat("%s does not exist", path));
    }
    return absl::UnavailableError(absl::StrFormat("cannot read %s: %s", path, reason));
  }
  struct stat info {};
  if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    ::close(fd);
    return absl::FailedPreconditionError(absl::StrFormat(
        "%s is not a regular file (a directory, FIFO or device cannot be data)", path));
  }
  std::string contents(static_cast<size_t>(info.st_size), '\0');
  size_t done = 0;
  while (done < contents.size()) {
    const ssize_t got = ::read(fd, contents.data() + done, contents.size() - done);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    done += static_cast<size_t>(got);
  }
  const std::string reason = std::strerror(errno);
  ::close(fd);
  if (done != contents.size()) {
    return absl::UnavailableError(absl::StrFormat("error reading %s after %d of %d bytes: %s", path,
                                                  done, contents.size(), reason));
  }
  return contents;
}

std::string Excerpt(std::string_view text, size_t max_chars) {
  if (text.size() <= max_chars)
    return absl::CHexEscape(absl::string_view(text.data(), text.size()));
  return absl::StrCat(absl::CHexEscape(absl::string_view(text.data(), max_chars)), "... (",
                      text.size(), " bytes)");
}

}  // namespace datasets
