#include "tools/predict_lines.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_format.h"

namespace tools {

// Tabs and line ends in a text would break the TSV: shown as spaces; a NUL byte (scored as a
// separator) as \0, so the echo shows all that was scored; cut to 60 bytes.
std::string Shown(const std::string& text) {
  std::string out;
  for (const char c : text.substr(0, 60)) {
    if (c == '\t' || c == '\n' || c == '\r') {
      out += ' ';
    } else if (c == '\0') {
      out += "\\0";
    } else {
      out += c;
    }
  }
  return text.size() > 60 ? out + "..." : out;
}

bool ReadLine(std::FILE* in, size_t limit, Text& line) {
  line.text.clear();
  line.error.clear();
  size_t length = 0;
  int c = 0;
  while ((c = std::fgetc(in)) != EOF && c != '\n') {
    if (++length <= limit) line.text += static_cast<char>(c);
  }
  if (c == EOF && length == 0) return false;
  if (!line.text.empty() && line.text.back() == '\r') line.text.pop_back();
  if (length > limit) {
    line.error = absl::StrFormat("line of %d bytes, longer than --max_line_bytes=%d: not scored",
                                 length, limit);
    line.text.clear();
  }
  return true;
}

Output FlushOutput(const char* what, std::string& error) {
  if (std::fflush(stdout) == 0 && !std::ferror(stdout)) return Output::kOk;
  const int code = errno;
  if (code == EPIPE) return Output::kClosed;
  error = absl::StrFormat("writing %s to standard output failed: %s", what, std::strerror(code));
  return Output::kFailed;
}

int ExitAfterFlush(const char* what) {
  std::string error;
  if (FlushOutput(what, error) != Output::kFailed) return 0;
  std::fprintf(stderr, "error: %s\n", error.c_str());
  return 1;
}

absl::Status CheckStandardInput() {
  struct stat input {};
  if (fstat(STDIN_FILENO, &input) != 0 || S_ISDIR(input.st_mode)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "standard input is %s: give the texts as arguments, or one per line on standard input",
        errno == EBADF           ? "closed"
        : S_ISDIR(input.st_mode) ? "a directory"
                                 : "unreadable"));
  }
  return absl::OkStatus();
}

int RunOverStandardInput(size_t batch_size, size_t limit, const char* what,
                         const std::function<absl::Status(std::vector<Text>&)>& run,
                         size_t& lines) {
  const auto failed = [](int code, const std::string& message) {
    std::fflush(stdout);
    std::fprintf(stderr, "error: %s\n", message.c_str());
    return code;
  };
  std::string output_error;
  const auto flushed = [&]() -> int {
    switch (FlushOutput(what, output_error)) {
      case Output::kOk:
        return -1;
      case Output::kClosed:
        return 0;
      case Output::kFailed:
        return failed(1, output_error);
    }
    return 1;
  };
  lines = 0;
  std::vector<Text> batch;
  Text line;
  bool more = true;
  while (more) {
    more = ReadLine(stdin, limit, line);
    if (!more && std::ferror(stdin)) {
      const int code = errno;
      return failed(2, absl::StrFormat("reading standard input failed after %d lines: %s",
                                       lines + batch.size(), std::strerror(code)));
    }
    if (more) batch.push_back(line);
    if (batch.size() == batch_size || (!more && !batch.empty())) {
      if (absl::Status status = run(batch); !status.ok()) {
        return failed(2, std::string(status.message()));
      }
      lines += batch.size();
      batch.clear();
      if (const int code = flushed(); code >= 0) return code;
    }
  }
  const int code = flushed();
  return code >= 0 ? code : 0;
}

}  // namespace tools
