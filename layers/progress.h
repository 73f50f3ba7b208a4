// Keras-style training progress: a bar on a terminal, plain lines otherwise.
#ifndef LAYERS_PROGRESS_H_
#define LAYERS_PROGRESS_H_

#include <chrono>
#include <cstdio>
#include <string>

namespace layers {

class ProgressBar {
 public:
  // `total` samples; `interactive` redraws one line with '\r' (a terminal), else prints a plain
  // line at every tenth of the way.
  // A null `out` prints nothing (verbose 0 or 2) but still keeps time.
  ProgressBar(size_t total, bool interactive, std::FILE* out = stdout);
  // `done` samples so far; `values` like "loss: 0.4120 - acc: 0.8120".
  void Update(size_t done, const std::string& values);
  // Ends the line: "25000/25000 [======] - 41s 2ms/step - loss: ... ".
  void Finish(const std::string& values, size_t steps);
  double ElapsedSeconds() const;
  // Whether Update would print now: callers skip formatting their values otherwise.
  bool Due(size_t done) const;

 private:
  std::string Bar(size_t done) const;
  size_t total_;
  bool interactive_;
  std::FILE* out_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
  size_t lines_ = 0;
};

// Whether `out` is a terminal.
bool IsTerminal(std::FILE* out);

}  // namespace layers

#endif  // LAYERS_PROGRESS_H_
