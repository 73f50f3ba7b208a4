// predict's and decode's input lines, echoed texts and output checks, apart so that a fuzz target
// can reach them (fuzz/predict_lines_fuzz.cc).
#ifndef TOOLS_PREDICT_LINES_H_
#define TOOLS_PREDICT_LINES_H_

#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace tools {

// One input line to score.
struct Text {
  std::string text;
  std::string error;  // why it cannot be scored, or ""
};

// One line of `in` (up to '\n', which is dropped, as is a '\r' before it). At most `limit` bytes
// are kept: a longer line gets an error instead of its text. False at the end of input (or on a
// read error: check ferror).
bool ReadLine(std::FILE* in, size_t limit, Text& line);

// The text as echoed in the TSV: tabs and line ends as spaces, NUL bytes (scored as separators)
// as \0, cut to 60 bytes with "..." after.
std::string Shown(const std::string& text);

// Standard output's health after a batch: OK; a closed pipe (`| head -1`), which ends the run
// quietly and successfully, as grep and cut do; or an error (a full disk, /dev/full), described
// in `error`. Call with SIGPIPE ignored.
enum class Output { kOk, kClosed, kFailed };
Output FlushOutput(const char* what, std::string& error);
// The exit code after the last output: 0, also when the reader closed standard output; 1 when
// writing `what` failed (said on stderr).
int ExitAfterFlush(const char* what);

// Standard input as the source of texts: an error when it is closed or a directory. Check it
// before any file is opened: a closed descriptor 0 would be reused by the next one.
absl::Status CheckStandardInput();

// The lines of standard input (each at most `limit` bytes), `batch_size` at a time, each batch
// passed to `run`, which prints a line per text; standard output is flushed after each batch (it
// must be fully buffered, and SIGPIPE ignored). Returns the exit code: 0 at the end of input, or
// when the reader closed standard output; 1 when writing `what` failed; 2 on a read error or an
// error from `run`. Errors are printed on stderr. `lines` counts the lines done.
int RunOverStandardInput(size_t batch_size, size_t limit, const char* what,
                         const std::function<absl::Status(std::vector<Text>&)>& run, size_t& lines);

}  // namespace tools

#endif  // TOOLS_PREDICT_LINES_H_
