#include "io/isolated.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_format.h"

namespace io {
namespace {

// Whether AddressSanitizer is compiled in (gcc defines the macro, clang answers __has_feature).
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

}  // namespace

absl::Status SurvivesInChild(const std::function<bool()>& work, double seconds,
                             const std::string& what) {
  // Exit codes of a child that returned from `work`; anything else is a crash (a sanitizer's
  // report exits with its own code).
  constexpr int kReturnedTrue = 0, kReturnedFalse = 3;
  std::fflush(nullptr);  // what the caller buffered is out before the child's copy is made
  const pid_t child = fork();
  if (child < 0) return absl::OkStatus();
  if (child == 0) {
    if (const int null = open("/dev/null", O_WRONLY); null >= 0) {
      dup2(null, STDOUT_FILENO);
      if (!kSanitized) dup2(null, STDERR_FILENO);
    }
    _exit(work() ? kReturnedTrue : kReturnedFalse);
  }
  const auto start = std::chrono::steady_clock::now();
  int status = 0;
  for (useconds_t pause = 100;; pause = std::min<useconds_t>(2 * pause, 20000)) {
    const pid_t done = waitpid(child, &status, WNOHANG);
    if (done == child) break;
    if (done < 0 && errno != EINTR) return absl::OkStatus();
    if (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() >
        seconds) {
      kill(child, SIGKILL);
      waitpid(child, &status, 0);
      return absl::DataLossError(
          absl::StrFormat("%s did not finish in %g s (it was stopped)", what, seconds));
    }
    usleep(pause);
  }
  if (WIFEXITED(status) &&
      (WEXITSTATUS(status) == kReturnedTrue || WEXITSTATUS(status) == kReturnedFalse)) {
    return absl::OkStatus();
  }
  return absl::DataLossError(absl::StrFormat(
      "%s crashed (%s)", what,
      WIFSIGNALED(status)
          ? absl::StrFormat("signal %d, %s", WTERMSIG(status), strsignal(WTERMSIG(status)))
          : absl::StrFormat("exit code %d", WEXITSTATUS(status))));
}

}  // namespace io
