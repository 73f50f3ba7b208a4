#include "layers/progress.h"

#include <unistd.h>

#include <algorithm>

#include "absl/strings/str_format.h"

namespace layers {

bool IsTerminal(std::FILE* out) { return isatty(fileno(out)) == 1; }

ProgressBar::ProgressBar(size_t total, bool interactive, std::FILE* out)
    : total_(total),
      interactive_(interactive),
      out_(out),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

double ProgressBar::ElapsedSeconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

std::string ProgressBar::Bar(size_t done) const {
  constexpr size_t kWidth = 30;
  const size_t filled = total_ == 0 ? kWidth : done * kWidth / total_;
  std::string bar(filled, '=');
  if (filled < kWidth) {
    bar += '>';
    bar += std::string(kWidth - filled - 1, '.');
  }
  const int digits = static_cast<int>(std::to_string(total_).size());
  return absl::StrFormat("%*d/%d [%s]", digits, done, total_, bar);
}

bool ProgressBar::Due(size_t done) const {
  if (out_ == nullptr || done >= total_) return false;  // Finish prints the last line
  if (interactive_) {
    // Redrawing costs a write: at most ten times a second.
    return std::chrono::steady_clock::now() - last_draw_ >= std::chrono::milliseconds(100);
  }
  // A log gets a plain line at every tenth of the epoch.
  return done * 10 / std::max<size_t>(total_, 1) > lines_;
}

void ProgressBar::Update(size_t done, const std::string& values) {
  if (!Due(done)) return;
  last_draw_ = std::chrono::steady_clock::now();
  ++lines_;
  const double elapsed = ElapsedSeconds();
  const double eta = done == 0 ? 0 : elapsed * static_cast<double>(total_ - done) / done;
  if (interactive_) {
    std::fprintf(out_, "\r%s - ETA: %.0fs - %s\033[K", Bar(done).c_str(), eta, values.c_str());
  } else {
    const int digits = static_cast<int>(std::to_string(total_).size());
    std::fprintf(out_, "%*zu/%zu - ETA: %.0fs - %s\n", digits, done, total_, eta, values.c_str());
  }
  std::fflush(out_);
}

void ProgressBar::Finish(const std::string& values, size_t steps) {
  if (out_ == nullptr) return;
  const double elapsed = ElapsedSeconds();
  const double per_step_ms = steps == 0 ? 0 : 1000.0 * elapsed / steps;
  std::fprintf(out_, "%s%s - %.0fs %.0fms/step - %s%s\n", interactive_ ? "\r" : "",
               Bar(total_).c_str(), elapsed, per_step_ms, values.c_str(),
               interactive_ ? "\033[K" : "");
  std::fflush(out_);
}

}  // namespace layers
