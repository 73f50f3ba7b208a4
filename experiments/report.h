// Output of the experiments: where files go, CSV tables, gnuplot line plots and heatmaps. Every
// file is written whole or not at all (io::AtomicFile). The CSV holds the numbers, so it is written
// first and its failure is an error; the plot is a picture of it, so a missing or failing plotter
// is a warning and the run still succeeds.
#ifndef EXPERIMENTS_REPORT_H_
#define EXPERIMENTS_REPORT_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace experiments {

// Prints "error: <message>" to stderr and returns the exit code 1, for the experiments' mains.
// Data-parallel, ends the whole job instead (SetJobAbort in command_line.h).
int ExitWithError(const absl::Status& status);

// --out_dir when given; else the directory the user ran from (also under `bazel run`, which
// changes into the runfiles tree but says where the user was in BUILD_WORKING_DIRECTORY).
std::string OutputDirectory(const std::string& flag_value);

// --save's checks before a long run: its directory exists (or is made) and is writable, and
// nothing but a regular file is at the path (a device, FIFO or directory is an error naming it).
// OK for an empty path.
absl::Status CheckSavePath(const std::string& save);

struct Series {
  std::string name;
  std::vector<double> values;  // one per epoch
};

// "epoch,<name>,..." then one row per epoch (epochs count from 1).
absl::Status WriteCsv(const std::string& path, const std::vector<Series>& series);

// One panel of a plot: these CSV columns (1 is the epoch, series start at 2) against the epoch.
struct Panel {
  std::string y_label;
  std::vector<size_t> columns;
};

// A PNG of line plots against the epoch, panels side by side, drawn by gnuplot from the CSV at
// csv_path (each line titled by its column header). The PNG is checked to be whole before it
// appears under png_path.
absl::Status PlotCsv(const std::string& csv_path, const std::string& png_path,
                     const std::string& title, const std::vector<Panel>& panels);

// A plot to draw once the numbers are out: PlotOrWarn draws it, prints "Wrote <png>" or a
// warning on stderr, and never fails the run.
struct PendingPlot {
  std::string csv, png, title;
  std::vector<Panel> panels;
};
void PlotOrWarn(const PendingPlot& plot);

// Writes <dir>/<stem>.csv, prints where it went, and returns the plot of the curves (one panel).
absl::StatusOr<PendingPlot> WriteCurves(const std::string& dir, const std::string& stem,
                                        const std::string& title, const std::string& y_label,
                                        const std::vector<Series>& series);

// Writes <dir>/<stem>.csv (loss, accuracy and their val_ variants per epoch), prints where it
// went, and returns the plot: a loss panel and an accuracy panel, train and test in each.
absl::StatusOr<PendingPlot> WriteHistory(const std::string& dir, const std::string& stem,
                                         const std::string& title,
                                         const std::map<std::string, std::vector<double>>& history);

// One heatmap, e.g. a sequence-to-sequence model's attention: values[y][x] in [0, 1] is how
// much output character y_labels[y] (down) drew on input character x_labels[x] (across).
struct Heatmap {
  std::string title;
  std::vector<std::string> x_labels, y_labels;
  std::vector<std::vector<double>> values;  // [y_labels.size()][x_labels.size()]
};

// A PNG of the maps side by side (a near-square grid: 2 x 2 for 3 or 4 maps) on one colour scale
// from 0 (white) to 1, each labelled with its characters, drawn by gnuplot and checked to be whole
// before it appears under png_path. Labels and titles are drawn as given (quotes, backslashes and
// gnuplot's markup characters included; a control character shows as \xnn, and a label of one
// space as U+2423 so that it can be seen). No maps, an empty map, rows of the wrong length or a
// value outside [0, 1] (NaN too) are InvalidArgument errors naming the map, row and column.
absl::Status PlotHeatmaps(const std::string& png_path, const std::string& title,
                          const std::vector<Heatmap>& maps);

// PlotHeatmaps, then "Wrote <png>" on stdout or a warning on stderr; never fails the run.
void PlotHeatmapsOrWarn(const std::string& png_path, const std::string& title,
                        const std::vector<Heatmap>& maps);

}  // namespace experiments

#endif  // EXPERIMENTS_REPORT_H_
