#include "layers/callbacks.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "io/atomic_file.h"
#include "layers/model.h"

namespace layers {
namespace {

bool Improved(bool increases, double current, double best, double min_delta) {
  return increases ? current - min_delta > best : current + min_delta < best;
}

// The shortest text that reads back as `value` (Python's repr, which Keras' CSVLogger writes).
std::string Shortest(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char buffer[32];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, result.ptr);
}

// `value` as Python 3 prints a float (repr: the shortest digits that read back as it, in fixed
// notation for exponents from -4 to 15, else as 1e-05), as Keras' messages show numbers.
std::string PythonFloat(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  if (value == 0) return std::signbit(value) ? "-0.0" : "0.0";
  char buffer[64];
  const auto result =
      std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::scientific);
  const std::string text(buffer, result.ptr);  // "-1.2345e-05"
  const size_t e = text.find('e');
  const bool negative = text[0] == '-';
  std::string digits = text.substr(negative ? 1 : 0, e - (negative ? 1 : 0));
  digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
  const int exponent = std::stoi(text.substr(e + 1));
  std::string out = negative ? "-" : "";
  if (exponent < -4 || exponent >= 16) {
    out += digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    out += absl::StrFormat("e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
  } else if (exponent < 0) {
    out += "0." + std::string(static_cast<size_t>(-exponent - 1), '0') + digits;
  } else if (static_cast<size_t>(exponent) + 1 >= digits.size()) {
    out += digits + std::string(static_cast<size_t>(exponent) + 1 - digits.size(), '0') + ".0";
  } else {
    out += digits.substr(0, exponent + 1) + "." + digits.substr(exponent + 1);
  }
  return out;
}

}  // namespace

bool MonitorIncreases(const std::string& monitor) { return absl::StrContains(monitor, "acc"); }

absl::StatusOr<double> Monitored(const std::string& callback, const std::string& monitor,
                                 const EpochLogs& logs) {
  auto it = logs.find(monitor);
  if (it != logs.end()) return it->second;
  std::string available;
  for (const auto& [key, value] : logs)
    absl::StrAppend(&available, available.empty() ? "" : ", ", key);
  return absl::InvalidArgumentError(absl::StrFormat(
      "%s monitors '%s', which this fit does not report (it reports: %s; val_ values need "
      "validation data)",
      callback, monitor, available));
}

EarlyStopping::EarlyStopping(std::string monitor, size_t patience, bool restore_best_weights,
                             double min_delta)
    : monitor_(std::move(monitor)),
      patience_(patience),
      restore_best_weights_(restore_best_weights),
      min_delta_(std::fabs(min_delta)) {}

absl::Status EarlyStopping::OnTrainBegin(Model& /*model*/) {
  wait_ = stopped_epoch_ = best_epoch_ = 0;
  best_ = MonitorIncreases(monitor_) ? -INFINITY : INFINITY;
  best_weights_.clear();
  return absl::OkStatus();
}

absl::Status EarlyStopping::OnEpochEnd(Model& model, size_t epoch, const EpochLogs& logs,
                                       bool& stop) {
  absl::StatusOr<double> current = Monitored("EarlyStopping", monitor_, logs);
  if (!current.ok()) return current.status();
  if (restore_best_weights_ && best_weights_.empty()) best_weights_ = model.GetWeights();
  ++wait_;
  if (Improved(MonitorIncreases(monitor_), *current, best_, min_delta_)) {
    best_ = *current;
    best_epoch_ = epoch;
    if (restore_best_weights_) best_weights_ = model.GetWeights();
    wait_ = 0;
  }
  if (wait_ >= patience_ && epoch > 0) {
    stopped_epoch_ = epoch;
    stop = true;
    if (restore_best_weights_ && !best_weights_.empty()) {
      size_t next = 0;
      for (const LayerPtr& layer : model.layers()) {
        const size_t count = layer->weights().size();
        std::vector<Array> values(best_weights_.begin() + next,
                                  best_weights_.begin() + next + count);
        next += count;
        if (absl::Status status = layer->SetWeights(values); !status.ok()) return status;
      }
    }
  }
  return absl::OkStatus();
}

CSVLogger::CSVLogger(std::string path, char separator, bool append)
    : path_(std::move(path)), separator_(separator), append_(append) {}

absl::Status CSVLogger::OnTrainBegin(Model& /*model*/) {
  contents_.clear();
  keys_.clear();
  if (!append_) return absl::OkStatus();
  std::ifstream file(path_, std::ios::binary);
  if (!file) return absl::OkStatus();  // nothing to append to yet
  std::ostringstream text;
  text << file.rdbuf();
  contents_ = text.str();
  if (!contents_.empty() && contents_.back() != '\n') contents_ += '\n';
  return absl::OkStatus();
}

absl::Status CSVLogger::OnEpochEnd(Model& /*model*/, size_t epoch, const EpochLogs& logs,
                                   bool& /*stop*/) {
  if (keys_.empty()) {
    for (const auto& [key, value] : logs) keys_.push_back(key);  // std::map: sorted
    if (contents_.empty()) {
      std::string header = "epoch";
      for (const std::string& key : keys_)
        absl::StrAppend(&header, std::string(1, separator_), key);
      contents_ = header + "\n";
    }
  }
  std::string row = std::to_string(epoch);
  for (const std::string& key : keys_) {
    auto it = logs.find(key);
    absl::StrAppend(&row, std::string(1, separator_), it == logs.end() ? "" : Shortest(it->second));
  }
  contents_ += row + "\n";
  if (absl::Status status = io::WriteFileAtomically(path_, contents_); !status.ok()) {
    return absl::Status(status.code(), absl::StrCat("CSVLogger: ", status.message()));
  }
  return absl::OkStatus();
}

ReduceLROnPlateau::ReduceLROnPlateau(ReduceLROnPlateauOptions options)
    : options_(std::move(options)) {
  const std::string& mode = options_.mode();
  if (mode != "auto" && mode != "min" && mode != "max") {
    invalid_ = absl::InvalidArgumentError(absl::StrFormat(
        "ReduceLROnPlateau: mode expected (\"auto\", \"min\" or \"max\"), got (\"%s\")", mode));
  } else if (!(options_.factor() >= 0 && options_.factor() < 1)) {
    invalid_ = absl::InvalidArgumentError(absl::StrFormat(
        "ReduceLROnPlateau: factor expected (in [0, 1): new_lr = lr * factor), got (%g)",
        options_.factor()));
  } else if (!(std::isfinite(options_.min_lr()) && options_.min_lr() >= 0)) {
    invalid_ = absl::InvalidArgumentError(absl::StrFormat(
        "ReduceLROnPlateau: min_lr expected (a finite number >= 0), got (%g)", options_.min_lr()));
  } else if (!std::isfinite(options_.min_delta())) {
    invalid_ = absl::InvalidArgumentError(absl::StrFormat(
        "ReduceLROnPlateau: min_delta expected (a finite number), got (%g)", options_.min_delta()));
  }
  Reset();
}

void ReduceLROnPlateau::Reset() {
  increases_ = options_.mode() == "max" ||
               (options_.mode() == "auto" && MonitorIncreases(options_.monitor()));
  best_ = increases_ ? -INFINITY : INFINITY;
  wait_ = cooldown_counter_ = 0;
}

absl::Status ReduceLROnPlateau::OnTrainBegin(Model& model) {
  if (!invalid_.ok()) return invalid_;
  if (model.optimizer() == nullptr) {
    return absl::FailedPreconditionError(
        "ReduceLROnPlateau: the model has no optimizer: compile it first");
  }
  Reset();
  return absl::OkStatus();
}

absl::Status ReduceLROnPlateau::OnEpochEnd(Model& model, size_t epoch, const EpochLogs& logs,
                                           bool& /*stop*/) {
  if (!invalid_.ok()) return invalid_;
  autograd::Optimizer* optimizer = model.optimizer();
  if (optimizer == nullptr) {
    return absl::FailedPreconditionError(
        "ReduceLROnPlateau: the model has no optimizer: compile it first");
  }
  absl::StatusOr<double> current = Monitored("ReduceLROnPlateau", options_.monitor(), logs);
  if (!current.ok()) return current.status();
  if (cooldown_counter_ > 0) {
    --cooldown_counter_;
    wait_ = 0;
  }
  // Keras' monitor_op: np.less(current, best - min_delta), or np.greater(current, best +
  // min_delta) in max mode (min_delta as given, not its absolute value).
  const bool improved = increases_ ? *current > best_ + options_.min_delta()
                                   : *current < best_ - options_.min_delta();
  if (improved) {
    best_ = *current;
    wait_ = 0;
  } else if (cooldown_counter_ == 0) {
    ++wait_;
    if (wait_ >= options_.patience()) {
      // Keras: old_lr is float32; old_lr * factor and max(..., min_lr) in float64, printed so,
      // then stored as float32.
      const float old_lr = static_cast<float>(optimizer->learning_rate());
      if (old_lr > static_cast<float>(options_.min_lr())) {
        const double new_lr =
            std::max(static_cast<double>(old_lr) * options_.factor(), options_.min_lr());
        if (absl::Status status = optimizer->SetLearningRate(static_cast<Real>(new_lr));
            !status.ok()) {
          return status;
        }
        if (options_.verbose() > 0 && model.is_chief()) {
          std::printf("\nEpoch %zu: ReduceLROnPlateau reducing learning rate to %s.\n", epoch + 1,
                      PythonFloat(new_lr).c_str());
          std::fflush(stdout);
        }
        cooldown_counter_ = options_.cooldown();
        wait_ = 0;
      }
    }
  }
  return absl::OkStatus();
}

void CallbackList::SetParams(const FitParams& params) {
  for (const std::shared_ptr<Callback>& callback : callbacks_) callback->SetParams(params);
}

absl::Status CallbackList::OnTrainBegin(Model& model) {
  for (const std::shared_ptr<Callback>& callback : callbacks_) {
    if (absl::Status status = callback->OnTrainBegin(model); !status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::Status CallbackList::OnEpochBegin(Model& model, size_t epoch) {
  for (const std::shared_ptr<Callback>& callback : callbacks_) {
    if (absl::Status status = callback->OnEpochBegin(model, epoch); !status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::Status CallbackList::BeforeUpdate(Model& model, size_t batch, double loss) {
  for (const std::shared_ptr<Callback>& callback : callbacks_) {
    if (absl::Status status = callback->BeforeUpdate(model, batch, loss); !status.ok()) {
      return status;
    }
  }
  return absl::OkStatus();
}

absl::Status CallbackList::OnTrainBatchEnd(Model& model, const BatchEnd& batch) {
  for (const std::shared_ptr<Callback>& callback : callbacks_) {
    if (absl::Status status = callback->OnTrainBatchEnd(model, batch); !status.ok()) {
      return status;
    }
  }
  return absl::OkStatus();
}

absl::Status CallbackList::OnEpochEnd(Model& model, size_t epoch, const EpochLogs& logs,
                                      bool& stop) {
  for (const std::shared_ptr<Callback>& callback : callbacks_) {
    if (absl::Status status = callback->OnEpochEnd(model, epoch, logs, stop); !status.ok()) {
      return absl::Status(status.code(),
                          absl::StrFormat("fit: after epoch %zu: %s", epoch + 1, status.message()));
    }
  }
  return absl::OkStatus();
}

absl::Status CallbackList::OnTrainEnd(Model& model) {
  for (const std::shared_ptr<Callback>& callback : callbacks_) {
    if (absl::Status status = callback->OnTrainEnd(model); !status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::Status CallbackList::Failed(Model& model, absl::Status error) {
  for (const std::shared_ptr<Callback>& callback : callbacks_) callback->OnTrainError(model, error);
  return error;
}

absl::Status History::OnTrainBegin(Model& /*model*/) {
  epoch.clear();
  return absl::OkStatus();
}

absl::Status History::OnEpochEnd(Model& /*model*/, size_t epoch_index, const EpochLogs& logs,
                                 bool& /*stop*/) {
  epoch.push_back(epoch_index);
  for (const auto& [key, value] : logs) history[key].push_back(value);
  return absl::OkStatus();
}

absl::Status TerminateOnNaN::BeforeUpdate(Model& /*model*/, size_t /*batch*/, double loss) {
  if (std::isfinite(loss)) return absl::OkStatus();
  return absl::OutOfRangeError(absl::StrFormat(
      "the loss became %g, so training stopped (TerminateOnNaN) before this batch's update; the "
      "weights are finite: try a smaller learning rate, or look for extreme values in the data",
      loss));
}

std::string FormatLogs(const EpochLogs& values, const std::vector<std::string>& keys) {
  std::string out;
  for (const std::string& key : keys) {
    auto it = values.find(key);
    if (it == values.end()) continue;
    absl::StrAppend(&out, out.empty() ? "" : " - ", absl::StrFormat("%s: %.4f", key, it->second));
  }
  return out;
}

ProgbarLogger::ProgbarLogger(int verbose, bool terminal) : verbose_(verbose), terminal_(terminal) {}

void ProgbarLogger::SetParams(const FitParams& params) { params_ = params; }

absl::Status ProgbarLogger::OnEpochBegin(Model& /*model*/, size_t epoch) {
  if (verbose_ > 0) std::printf("Epoch %zu/%zu\n", epoch + 1, params_.epochs);
  // Verbose 2 draws nothing during the epoch but times it.
  bar_.emplace(params_.samples, terminal_, verbose_ == 1 ? stdout : nullptr);
  steps_ = 0;
  return absl::OkStatus();
}

absl::Status ProgbarLogger::OnTrainBatchEnd(Model& /*model*/, const BatchEnd& batch) {
  ++steps_;
  if (bar_->Due(batch.samples_seen)) {
    bar_->Update(batch.samples_seen, FormatLogs(batch.logs(), params_.keys));
  }
  return absl::OkStatus();
}

absl::Status ProgbarLogger::OnEpochEnd(Model& /*model*/, size_t /*epoch*/, const EpochLogs& logs,
                                       bool& /*stop*/) {
  if (verbose_ == 2) {
    std::printf(" - %.0fs - %s\n", bar_->ElapsedSeconds(), FormatLogs(logs, params_.keys).c_str());
  } else if (verbose_ == 1) {
    bar_->Finish(FormatLogs(logs, params_.keys), steps_);
  }
  bar_.reset();  // the line is ended
  return absl::OkStatus();
}

void ProgbarLogger::OnTrainError(Model& /*model*/, const absl::Status& /*error*/) {
  if (verbose_ > 0 && bar_) std::printf("\n");  // end the progress line
}

}  // namespace layers
