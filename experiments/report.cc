#include "experiments/report.h"

#include <fcntl.h>
#include <poll.h>
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
  // Writes the input and reads the output as each pipe allows: gnuplot goes on after an error,
  // so a long script with many errors could fill the output pipe while this process waits to
  // write the rest, and each would wait for the other for ever.
  fcntl(to_child[1], F_SETFL, fcntl(to_child[1], F_GETFL) | O_NONBLOCK);
  std::string output;
  size_t done = 0;
  bool writing = true, reading = true;
  if (input.empty()) {
    close(to_child[1]);
    writing = false;
  }
  char buffer[4096];
  while (writing || reading) {
    pollfd fds[2];
    nfds_t count = 0;
    int read_slot = -1, write_slot = -1;
    if (reading) {
      fds[count] = {from_child[0], POLLIN, 0};
      read_slot = static_cast<int>(count++);
    }
    if (writing) {
      fds[count] = {to_child[1], POLLOUT, 0};
      write_slot = static_cast<int>(count++);
    }
    if (poll(fds, count, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (write_slot >= 0 && fds[write_slot].revents != 0) {
      const ssize_t n = write(to_child[1], input.data() + done, input.size() - done);
      if (n > 0) done += static_cast<size_t>(n);
      // On EPIPE the program is gone; its exit status says why.
      if (done == input.size() || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        close(to_child[1]);
        writing = false;
      }
    }
    if (read_slot >= 0 && fds[read_slot].revents != 0) {
      const ssize_t n = read(from_child[0], buffer, sizeof(buffer));
      if (n > 0 && output.size() < kMaxQuotedOutput) output.append(buffer, static_cast<size_t>(n));
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) reading = false;
    }
  }
  if (writing) close(to_child[1]);
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

// A gnuplot double-quoted string reading as `text`: a backslash and a double quote are escaped
// with a backslash, and a control character, which would end the command, becomes the visible
// text \xnn. (Not single quotes, whose doubled-quote escape gnuplot 5.4 misreads when two come
// in a row: the label '' written as six quotes is a syntax error.)
std::string GnuplotQuoted(const std::string& text) {
  std::string quoted = "\"";
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '\\' || c == '"') {
      quoted += '\\';
      quoted += c;
    } else if (byte < 0x20 || byte == 0x7f) {
      absl::StrAppend(&quoted, absl::StrFormat("\\\\x%02x", byte));
    } else {
      quoted += c;
    }
  }
  return quoted + "\"";
}

}  // namespace

absl::Status CheckSavePath(const std::string& save) {
  if (save.empty()) return absl::OkStatus();
  const size_t slash = save.rfind('/');
  const std::string dir =
      slash == std::string::npos ? "." : save.substr(0, std::max<size_t>(slash, 1));
  if (absl::Status status = io::PrepareOutputDirectory(dir, "--save"); !status.ok()) return status;
  // Refused now rather than after the first epoch: a device, FIFO or directory at --save.
  if (absl::Status status = io::CheckReplaceable(save); !status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--save: ", status.message()));
  }
  return absl::OkStatus();
}

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
  std::string script = absl::StrCat(
      "set terminal pngcairo size ", 960 * panels.size(), ",600 enhanced font 'sans,11'\n",
      "set output ", GnuplotQuoted((*png)->temporary_path()), "\n", "set datafile separator ','\n",
      "set multiplot layout 1,", panels.size(), " title ", GnuplotQuoted(title), " noenhanced\n",
      "set xlabel 'epoch'\nset key noenhanced\nset grid\n");
  for (const Panel& panel : panels) {
    absl::StrAppend(&script, "set ylabel ", GnuplotQuoted(panel.y_label), "\nplot ");
    for (size_t i = 0; i < panel.columns.size(); ++i) {
      absl::StrAppend(&script, i == 0 ? "" : ", ", GnuplotQuoted(csv_path),
                      " using 1:", panel.columns[i],
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

namespace {

// ("a" 0, "b" 1, ...): tics at the cells' centres, labelled with the characters.
std::string TicLabels(const std::vector<std::string>& labels) {
  std::string tics = "(";
  for (size_t i = 0; i < labels.size(); ++i) {
    // U+2423 OPEN BOX: a space would leave its tic unlabelled.
    const std::string shown = labels[i] == " " ? "\xE2\x90\xA3" : labels[i];
    absl::StrAppend(&tics, i == 0 ? "" : ", ", GnuplotQuoted(shown), " ", i);
  }
  return tics + ")";
}

absl::Status CheckHeatmap(const Heatmap& map, size_t number) {
  const std::string name = absl::StrFormat("heatmap %d (\"%s\")", number, map.title);
  if (map.x_labels.empty() || map.y_labels.empty()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: has %d x labels and %d y labels; a map needs at least one of each",
                        name, map.x_labels.size(), map.y_labels.size()));
  }
  if (map.values.size() != map.y_labels.size()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: expected %d rows of values (one per y label), got %d", name,
                        map.y_labels.size(), map.values.size()));
  }
  for (size_t y = 0; y < map.values.size(); ++y) {
    if (map.values[y].size() != map.x_labels.size()) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s, row %d: expected %d values (one per x label), got %d", name, y,
                          map.x_labels.size(), map.values[y].size()));
    }
    for (size_t x = 0; x < map.values[y].size(); ++x) {
      const double value = map.values[y][x];
      if (!(value >= 0 && value <= 1)) {  // also true for NaN
        return absl::InvalidArgumentError(absl::StrFormat(
            "%s, row %d, column %d: value %g is outside [0, 1]", name, y, x, value));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status PlotHeatmaps(const std::string& png_path, const std::string& title,
                          const std::vector<Heatmap>& maps) {
  if (maps.empty()) return absl::InvalidArgumentError("heatmaps: no maps to plot");
  size_t widest = 0, tallest = 0;
  for (size_t i = 0; i < maps.size(); ++i) {
    if (absl::Status status = CheckHeatmap(maps[i], i); !status.ok()) return status;
    widest = std::max(widest, maps[i].x_labels.size());
    tallest = std::max(tallest, maps[i].y_labels.size());
  }
  // A near-square grid of panels, each sized for the largest map: 16 pixels a character.
  size_t columns = 1;
  while (columns * columns < maps.size()) ++columns;
  const size_t rows = (maps.size() + columns - 1) / columns;
  const size_t panel_width = std::max<size_t>(360, 170 + 16 * widest);
  const size_t panel_height = std::max<size_t>(300, 120 + 16 * tallest);
  const size_t width = columns * panel_width, height = rows * panel_height + 40;
  constexpr size_t kMaxPixels = 16384;  // each way; cairo's own limit is 32767
  if (width > kMaxPixels || height > kMaxPixels) {
    return absl::InvalidArgumentError(
        absl::StrFormat("heatmaps: the image would be %d x %d pixels, more than %d either way: "
                        "plot fewer or smaller maps",
                        width, height, kMaxPixels));
  }
  absl::StatusOr<std::unique_ptr<io::AtomicFile>> png = io::AtomicFile::Create(png_path);
  if (!png.ok()) return png.status();
  // noenhanced: labels are characters, not gnuplot markup ('_' and '^' are not sub/superscripts).
  std::string script = absl::StrCat("set terminal pngcairo size ", width, ",", height,
                                    " noenhanced font 'sans,10'\n", "set output ",
                                    GnuplotQuoted((*png)->temporary_path()), "\n");
  for (size_t i = 0; i < maps.size(); ++i) {
    absl::StrAppend(&script, "$map", i, " << EOD\n");
    for (const std::vector<double>& row : maps[i].values) {
      for (size_t x = 0; x < row.size(); ++x) {
        absl::StrAppend(&script, x == 0 ? "" : " ", absl::StrFormat("%.4g", row[x]));
      }
      absl::StrAppend(&script, "\n");
    }
    absl::StrAppend(&script, "EOD\n");
  }
  absl::StrAppend(&script, "set multiplot layout ", rows, ",", columns, " title ",
                  GnuplotQuoted(title), "\n",
                  "set palette defined (0 '#ffffff', 1 '#08306b')\nset cbrange [0:1]\n",
                  "unset key\nset tics scale 0\nset xtics out nomirror\n");
  for (size_t i = 0; i < maps.size(); ++i) {
    const Heatmap& map = maps[i];
    // Row 0 at the top: the output is read downwards.
    absl::StrAppend(&script, "set title ", GnuplotQuoted(map.title), "\n",
                    "set xrange [-0.5:", map.x_labels.size() - 0.5, "]\n", "set yrange [",
                    map.y_labels.size() - 0.5, ":-0.5]\n", "set xtics ", TicLabels(map.x_labels),
                    "\n", "set ytics ", TicLabels(map.y_labels), "\n", "plot $map", i,
                    " matrix with image\n");
  }
  absl::StrAppend(&script, "unset multiplot\nunset output\n");
  if (absl::StatusOr<std::string> ran = RunWithInput("gnuplot", script); !ran.ok()) {
    return ran.status();
  }
  return (*png)->Commit(io::CheckPngComplete);
}

void PlotHeatmapsOrWarn(const std::string& png_path, const std::string& title,
                        const std::vector<Heatmap>& maps) {
  if (absl::Status status = PlotHeatmaps(png_path, title, maps); !status.ok()) {
    std::fflush(stdout);
    std::fprintf(stderr, "warning: no heatmaps %s: %s\n", png_path.c_str(),
                 std::string(status.message()).c_str());
    return;
  }
  std::printf("Wrote %s\n", png_path.c_str());
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
