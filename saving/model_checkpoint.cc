#include "saving/model_checkpoint.h"

#include <cmath>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "saving/model_file.h"

namespace saving {
namespace {

// "{epoch}" and "{epoch:02d}" in `path` replaced by `epoch` (from 1), as Keras' filepath.format.
std::string FormatEpoch(const std::string& path, size_t epoch) {
  std::string out;
  for (size_t i = 0; i < path.size();) {
    if (path.compare(i, 6, "{epoch") == 0) {
      const size_t close = path.find('}', i);
      if (close != std::string::npos) {
        const std::string spec = path.substr(i + 6, close - i - 6);  // "" or ":02d"
        int width = 0;
        if (spec.empty() || (spec.size() >= 3 && spec[0] == ':' && spec.back() == 'd' &&
                             absl::SimpleAtoi(spec.substr(1, spec.size() - 2), &width) &&
                             width >= 0 && width <= 20)) {
          const bool zero = spec.size() >= 3 && spec[1] == '0';
          out +=
              zero ? absl::StrFormat("%0*d", width, epoch) : absl::StrFormat("%*d", width, epoch);
          i = close + 1;
          continue;
        }
      }
    }
    out += path[i++];
  }
  return out;
}

}  // namespace

ModelCheckpoint::ModelCheckpoint(std::string path, std::string monitor, bool save_best_only)
    : path_(std::move(path)), monitor_(std::move(monitor)), save_best_only_(save_best_only) {
  best_ = layers::MonitorIncreases(monitor_) ? -INFINITY : INFINITY;
}

absl::Status ModelCheckpoint::OnEpochEnd(layers::Model& model, size_t epoch,
                                         const layers::EpochLogs& logs, bool& /*stop*/) {
  if (save_best_only_) {
    absl::StatusOr<double> current = layers::Monitored("ModelCheckpoint", monitor_, logs);
    if (!current.ok()) return current.status();
    // An improvement: strictly above (a monitor that increases) or below the best so far.
    const bool improved = layers::MonitorIncreases(monitor_) ? *current > best_ : *current < best_;
    if (!improved) return absl::OkStatus();
    best_ = *current;
  }
  return SaveModel(model, FormatEpoch(path_, epoch + 1));
}

}  // namespace saving
