#include "experiments/report.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"

namespace experiments {
namespace {

std::string TemporaryName(const std::string& path) {
  return absl::StrCat(path, ".tmp", getpid());
}

absl::Status Publish(const std::string& temporary, const std::string& path) {
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    std::remove(temporary.c_str());
    return absl::InternalError(absl::StrFormat("cannot write %s (rename from %s failed)", path,
                                               temporary));
  }
  return absl::OkStatus();
}

}  // namespace

int ExitWithError(const absl::Status& status) {
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
  const std::string temporary = TemporaryName(path);
  {
    std::ofstream out(temporary);
    if (!out) {
      return absl::PermissionDeniedError(absl::StrFormat(
          "cannot create %s: check that the directory exists and is writable (--out_dir)", path));
    }
    out << "epoch";
    size_t rows = 0;
    for (const Series& s : series) {
      out << "," << s.name;
      rows = std::max(rows, s.values.size());
    }
    out << "\n";
    for (size_t row = 0; row < rows; ++row) {
      out << row + 1;
      for (const Series& s : series) {
        out << ",";
        if (row < s.values.size()) out << absl::StrFormat("%.6g", s.values[row]);
      }
      out << "\n";
    }
    if (!out.flush()) {
      std::remove(temporary.c_str());
      return absl::InternalError(absl::StrFormat("writing %s failed (disk full?)", path));
    }
  }
  return Publish(temporary, path);
}

absl::Status PlotCsv(const std::string& csv_path, const std::string& png_path,
                     const std::string& title, const std::vector<Panel>& panels) {
  const std::string temporary = TemporaryName(png_path);
  const auto quoted = [](const std::string& text) {
    return absl::StrCat("'", absl::StrReplaceAll(text, {{"'", "''"}}), "'");
  };
  std::string script = absl::StrCat(
      "set terminal pngcairo size ", 960 * panels.size(), ",600 enhanced font 'sans,11'\n",
      "set output ", quoted(temporary), "\n",
      "set datafile separator ','\n",
      "set multiplot layout 1,", panels.size(), " title ", quoted(title), " noenhanced\n",
      "set xlabel 'epoch'\nset key noenhanced\nset grid\n");
  for (const Panel& panel : panels) {
    absl::StrAppend(&script, "set ylabel ", quoted(panel.y_label), "\nplot ");
    for (size_t i = 0; i < panel.columns.size(); ++i) {
      absl::StrAppend(&script, i == 0 ? "" : ", ", quoted(csv_path), " using 1:",
                      panel.columns[i], " with lines linewidth 1.5 title columnheader(",
                      panel.columns[i], ")");
    }
    absl::StrAppend(&script, "\n");
  }
  absl::StrAppend(&script, "unset multiplot\n");
  std::FILE* gnuplot = popen("gnuplot 2>&1", "w");
  if (gnuplot == nullptr) {
    return absl::UnavailableError("cannot start gnuplot: install it with tools/setup.sh");
  }
  std::fputs(script.c_str(), gnuplot);
  const int status = pclose(gnuplot);
  if (status != 0) {
    std::remove(temporary.c_str());
    return absl::InternalError(absl::StrFormat(
        "gnuplot failed (status %d) drawing %s; is gnuplot installed (tools/setup.sh)?", status,
        png_path));
  }
  return Publish(temporary, png_path);
}

absl::Status WriteCurves(const std::string& dir, const std::string& stem, const std::string& title,
                         const std::string& y_label, const std::vector<Series>& series) {
  const std::string csv = absl::StrCat(dir, "/", stem, ".csv");
  const std::string png = absl::StrCat(dir, "/", stem, ".png");
  if (absl::Status status = WriteCsv(csv, series); !status.ok()) return status;
  Panel panel{y_label, {}};
  for (size_t i = 0; i < series.size(); ++i) panel.columns.push_back(i + 2);
  if (absl::Status status = PlotCsv(csv, png, title, {panel}); !status.ok()) return status;
  std::printf("Wrote %s\nWrote %s\n", csv.c_str(), png.c_str());
  return absl::OkStatus();
}

absl::Status WriteHistory(const std::string& dir, const std::string& stem,
                          const std::string& title,
                          const std::map<std::string, std::vector<double>>& history) {
  std::vector<Series> series;
  std::vector<Panel> panels = {{"loss", {}}, {"accuracy", {}}};
  for (const char* key : {"loss", "val_loss", "accuracy", "val_accuracy", "acc", "val_acc"}) {
    auto it = history.find(key);
    if (it == history.end()) continue;
    series.push_back({key, it->second});
    const bool is_loss = std::string(key).find("loss") != std::string::npos;
    panels[is_loss ? 0 : 1].columns.push_back(series.size() + 1);
  }
  const std::string csv = absl::StrCat(dir, "/", stem, ".csv");
  const std::string png = absl::StrCat(dir, "/", stem, ".png");
  if (absl::Status status = WriteCsv(csv, series); !status.ok()) return status;
  if (absl::Status status = PlotCsv(csv, png, title, panels); !status.ok()) return status;
  std::printf("Wrote %s\nWrote %s\n", csv.c_str(), png.c_str());
  return absl::OkStatus();
}

}  // namespace experiments
