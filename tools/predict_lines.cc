#include "tools/predict_lines.h"

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

}  // namespace tools
