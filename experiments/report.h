// Output of the experiments: where files go, CSV tables and gnuplot line plots. Files are
// written to a temporary name and renamed, so a failed run never leaves half a file.
#ifndef EXPERIMENTS_REPORT_H_
#define EXPERIMENTS_REPORT_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace experiments {

// --out_dir when given; else the directory the user ran from (also under `bazel run`, which
// changes into the runfiles tree but says where the user was in BUILD_WORKING_DIRECTORY).
std::string OutputDirectory(const std::string& flag_value);

struct Series {
  std::string name;
  std::vector<double> values;  // one per epoch
};

// "epoch,<name>,..." then one row per epoch (epochs count from 1).
absl::Status WriteCsv(const std::string& path, const std::vector<Series>& series);

// A PNG line plot of `series` against the epoch, drawn by gnuplot from the CSV at csv_path.
absl::Status PlotCsv(const std::string& csv_path, const std::string& png_path,
                     const std::string& title, const std::string& y_label, size_t series_count);

// Writes <dir>/<stem>.csv and <dir>/<stem>.png and prints where they went.
absl::Status WriteCurves(const std::string& dir, const std::string& stem, const std::string& title,
                         const std::string& y_label, const std::vector<Series>& series);

}  // namespace experiments

#endif  // EXPERIMENTS_REPORT_H_
