// The command line of every program here: Abseil flags, checked while they are parsed, before any
// work starts. A bad command line is one line on stderr naming the flag, the value and what is
// allowed, and exit code 2 (the convention for usage errors); nothing is coerced to a default:
//   ERROR: Illegal value '-1' specified for flag 'epochs'; expected an integer in [1, 100000]
#ifndef EXPERIMENTS_COMMAND_LINE_H_
#define EXPERIMENTS_COMMAND_LINE_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"

namespace experiments {

inline constexpr int kUsageErrorExitCode = 2;

// absl::ParseCommandLine with `usage` for --help, except that a command line Abseil rejects (an
// unknown flag, a value it cannot parse or that is out of range) exits with code 2 instead of 1.
// Flagfiles are checked before Abseil reads any (CheckFlagfiles in flagfiles.h: regular files of
// at most 1 MiB, nested at most 8 deep, no cycle); a bad one exits with code 2 naming it:
//   error: --flagfile=/dev/zero: this is a character device: a flagfile must be a regular file of
//   flags, one --name=value per line
// For programs that take flags only: an argument that is not a flag exits with code 2:
//   error: unexpected argument 'foo': this program takes flags only (--name=value); see --help
// Also makes stdout line-buffered, so that progress shows up in logs as it happens.
void ParseCommandLine(int argc, char** argv, const char* usage);

// ParseCommandLine for programs that also take arguments that are not flags (tools/predict's
// texts): returns them (without the program's name), in order, including any after "--".
std::vector<std::string> ParseCommandLineWithArguments(int argc, char** argv, const char* usage);

// Programs that can be one rank of an MPI job call it before ParseCommandLine (linking
// //experiments:parallel does it); any other started by mpirun as one of several processes exits
// from ParseCommandLine with a usage error instead of running several copies side by side.
void AllowMpiJobs();

// An integer flag type that only takes values in [kMin, kMax]; declare a name for each range
// (template commas do not pass through ABSL_FLAG):
//   using Epochs = experiments::IntIn<1, 100000>;
//   ABSL_FLAG(Epochs, epochs, Epochs{3}, "training epochs, 1 to 100000");
template <int64_t kMin, int64_t kMax>
struct IntIn {
  static_assert(kMin <= kMax);
  int64_t value = kMin;
};

template <int64_t kMin, int64_t kMax>
bool AbslParseFlag(absl::string_view text, IntIn<kMin, kMax>* flag, std::string* error) {
  int64_t value = 0;
  if (!absl::SimpleAtoi(text, &value) || value < kMin || value > kMax) {
    *error = absl::StrFormat("expected an integer in [%d, %d]", kMin, kMax);
    return false;
  }
  flag->value = value;
  return true;
}

template <int64_t kMin, int64_t kMax>
std::string AbslUnparseFlag(IntIn<kMin, kMax> flag) {
  return absl::StrCat(flag.value);
}

// Prints "error: <message>" to stderr and returns kUsageErrorExitCode, for main.
int ExitWithUsageError(const absl::Status& status);

// While this process is one rank of an MPI job (experiments/parallel.h), `abort` ends the whole
// job naming the rank; ExitWithUsageError and ExitWithError (report.h) call it instead of
// returning. CallJobAbort does nothing when none is set.
void SetJobAbort(std::function<void(const absl::Status&)> abort);
void CallJobAbort(const absl::Status& status);

}  // namespace experiments

#endif  // EXPERIMENTS_COMMAND_LINE_H_
