#include "experiments/report.h"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "experiments/command_line.h"
#include "io/atomic_file.h"

extern char** environ;

namespace experiments {
namespace {

// At most this much of a program's output goes into an error message.
constexpr size_t kMaxQuotedOutput = 600;

// What a wait status means, in words: "exited with code 127", "was killed by signal 9 (Killed)".
std::string DescribeExit(int status) {
  if (WIFEXITED(status)) return absl::StrFormat("exited with code %d", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    return absl::StrFormat("was killed by signal %d (%s)", WTERMSIG(status),
                           strsignal(WTERMSIG(status)));
  }
  return absl::StrFormat("ended with wait status %d", status);
}

// Runs `program` with `input` on its standard input; returns what it printed (stdout and stderr,
// cut to kMaxQuotedOutput) or an error saying how it failed. SIGPIPE is ignored meanwhile: a
// plotter that dies early must not take this process with it.
absl::StatusOr<std::string> RunWithInput(const char* program, const std::string& input) {
  int to_child[2], from_child[2];
  if (pipe(to_child) != 0) return absl::InternalError(absl::StrCat("pipe: ", strerror(errno)));
  if (pipe(from_child) != 0) {
    close(to_child[0]);
    close(to_child[1]);
    return absl::InternalError(absl::StrCat("pipe: ", strerror(errno)));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, to_child[0], 0);
  posix_spawn_file_actions_adddup2(&actions, from_child[1], 1);
  posix_spawn_file_actions_adddup2(&actions, from_child[1], 2);
  for (int fd : {to_child[0], to_child[1], from_child[0], from_child[1]}) {
    posix_spawn_file_actions_addclose(&actions, fd);
  }
  char* argv[] = {const_cast<char*>(program), nullptr};
  pid_t child = 0;
  const int spawned = posix_spawnp(&child, program, &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  close(to_child[0]);
  close(from_child[1]);
  if (spawned != 0) {
    close(to_child[1]);
    close(from_child[0]);
    return absl::NotFoundError(
        absl::StrFormat("cannot start %s: %s (install it with "
                        "tools/setup.sh)",
                        program, strerror(spawned)));
  }
  struct sigaction ignore {
  }, previous{};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &ignore, &previous);
  // The script is far smaller than a pipe's buffer, so writing it all first cannot deadlock.
  for (size_t done = 0; done < input.size();) {
    const ssize_t n = write(to_child[1], input.data() + done, input.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the program is gone; its exit status says why
    done += static_cast<size_t>(n);
  }
  close(to_child[1]);
  std::string output;
  char buffer[4096];
  for (ssize_t n; (n = read(from_child[0], buffer, sizeof(buffer))) != 0;) {
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (output.size() < kMaxQuotedOutput) output.append(buffer, static_cast<size_t>(n));
  }
  close(from_child[0]);
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  sigaction(SIGPIPE, &previous, nullptr);
  if (output.size() > kMaxQuotedOutput) output = output.substr(0, kMaxQuotedOutput) + "...";
  output = std::string(absl::StripAsciiWhitespace(output));
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return output;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
    return absl::NotFoundError(
        absl::StrFormat("%s %s: is it installed (tools/setup.sh)?", program, DescribeExit(status)));
  }
  return absl::InternalError(absl::StrFormat("%s %s%s", program, DescribeExit(status),
                                             output.empty() ? "" : absl::StrCat(": ", output)));
}

}  // namespace

int ExitWithError(const absl::Status& status) {
  CallJobAbort(status);
  std::fprintf(stderr, "error: %s\n", std::string(status.message()).c_str());
  return 1;
}

std::string OutputDirectory(const std::string& flag_value) {
  if (!flag_value.empty()) return flag_value;
  if (const char* from = std::getenv("BUILD_WORKING_DIRECTORY"); from != nullptr && *from) {
    return from;
  }
  return ".";
}

absl::Status WriteCsv(const std::string& path, const std::vector<Series>& series) {
  std::string text = "epoch";
  size_t rows = 0;
  for (const Series& s : series) {
    absl::StrAppend(&text, ",", s.name);
    rows = std::max(rows, s.values.size());
  }
  text += "\n";
  for (size_t row = 0; row < rows; ++row) {
    absl::StrAppend(&text, row + 1);
    for (const Series& s : series) {
      text += ",";
      if (row < s.values.size()) absl::StrAppend(&text, absl::StrFormat("%.6g", s.values[row]));
    }
    text += "\n";
  }
  return io::WriteFileAtomically(path, text);
}

absl::Status PlotCsv(const std::string& csv_path, const std::string& png_path,
                     const std::string& title, const std::vector<Panel>& panels) {
  absl::StatusOr<std::unique_ptr<io::AtomicFile>> png = io::AtomicFile::Create(png_path);
  if (!png.ok()) return png.status();
  const auto quoted = [](const std::string& text) {
    return absl::StrCat("'", absl::StrReplaceAll(text, {{"'", "''"}}), "'");
  };
  std::string script = absl::StrCat(
      "set terminal pngcairo size ", 960 * panels.size(), ",600 enhanced font 'sans,11'\n",
      "set output ", quoted((*png)->temporary_path()), "\n", "set datafile separator ','\n",
      "set multiplot layout 1,", panels.size(), " title ", quoted(title), " noenhanced\n",
      "set xlabel 'epoch'\nset key noenhanced\nset grid\n");
  for (const Panel& panel : panels) {
    absl::StrAppend(&script, "set ylabel ", quoted(panel.y_label), "\nplot ");
    for (size_t i = 0; i < panel.columns.size(); ++i) {
      absl::StrAppend(&script, i == 0 ? "" : ", ", quoted(csv_path), " using 1:", panel.columns[i],
                      " with lines linewidth 1.5 title columnheader(", panel.columns[i], ")");
    }
    absl::StrAppend(&script, "\n");
  }
  absl::StrAppend(&script, "unset multiplot\nunset output\n");
  if (absl::StatusOr<std::string> ran = RunWithInput("gnuplot", script); !ran.ok()) {
    return ran.status();
  }
  // gnuplot's exit status is no proof: a full disk leaves a truncated image and exit code 0.
  return (*png)->Commit(io::CheckPngComplete);
}

void PlotOrWarn(const PendingPlot& plot) {
  if (absl::Status status = PlotCsv(plot.csv, plot.png, plot.title, plot.panels); !status.ok()) {
    std::fflush(stdout);
    std::fprintf(stderr, "warning: no plot %s: %s (the numbers are in %s)\n", plot.png.c_str(),
                 std::string(status.message()).c_str(), plot.csv.c_str());
    return;
  }
  std::printf("Wrote %s\n", plot.png.c_str());
}

absl::StatusOr<PendingPlot> WriteCurves(const std::string& dir, const std::string& stem,
                                        const std::string& title, const std::string& y_label,
                                        const std::vector<Series>& series) {
  PendingPlot plot{absl::StrCat(dir, "/", stem, ".csv"),
                   absl::StrCat(dir, "/", stem, ".png"),
                   title,
                   {{y_label, {}}}};
  if (absl::Status status = WriteCsv(plot.csv, series); !status.ok()) return status;
  std::printf("Wrote %s\n", plot.csv.c_str());
  for (size_t i = 0; i < series.size(); ++i) plot.panels[0].columns.push_back(i + 2);
  return plot;
}

absl::StatusOr<PendingPlot> WriteHistory(
    const std::string& dir, const std::string& stem, const std::string& title,
    const std::map<std::string, std::vector<double>>& history) {
  PendingPlot plot{absl::StrCat(dir, "/", stem, ".csv"),
                   absl::StrCat(dir, "/", stem, ".png"),
                   title,
                   {{"loss", {}}, {"accuracy", {}}}};
  std::vector<Series> series;
  for (const char* key : {"loss", "val_loss", "accuracy", "val_accuracy", "acc", "val_acc"}) {
    auto it = history.find(key);
    if (it == history.end()) continue;
    series.push_back({key, it->second});
    const bool is_loss = std::string(key).find("loss") != std::string::npos;
    plot.panels[is_loss ? 0 : 1].columns.push_back(series.size() + 1);
  }
  if (absl::Status status = WriteCsv(plot.csv, series); !status.ok()) return status;
  std::printf("Wrote %s\n", plot.csv.c_str());
  return plot;
}

}  // namespace experiments
