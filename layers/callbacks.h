// Keras' callbacks: hooks that Model::Fit calls around training, given in
// FitOptions().callbacks({...}). Each follows Keras 2's semantics, stated on the class.
#ifndef LAYERS_CALLBACKS_H_
#define LAYERS_CALLBACKS_H_

#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "layers/model.h"
#include "layers/options.h"

namespace layers {

// One epoch's results: "loss", "acc" (or "accuracy"), "val_loss", "val_acc", as in History.
using EpochLogs = std::map<std::string, double>;

class Callback {
 public:
  virtual ~Callback() = default;
  virtual absl::Status OnTrainBegin(Model& /*model*/) { return absl::OkStatus(); }
  // `epoch` counts from 0. Setting `stop` ends training after this epoch (Keras'
  // model.stop_training). An error ends Fit with it.
  virtual absl::Status OnEpochEnd(Model& model, size_t epoch, const EpochLogs& logs,
                                  bool& stop) = 0;
  virtual absl::Status OnTrainEnd(Model& /*model*/) { return absl::OkStatus(); }
  // Whether it writes files: data-parallel, such callbacks run on rank 0 only.
  virtual bool writes_files() const { return false; }
};

// Whether `monitor` improves upward: Keras' mode "auto" is "max" for names containing "acc".
bool MonitorIncreases(const std::string& monitor);

// Keras 2's EarlyStopping(monitor, patience, restore_best_weights, min_delta): stops when
// `monitor` has not improved by more than min_delta for `patience` epochs. With
// restore_best_weights the weights of the best epoch are put back when it stops (as Keras 2,
// only then: a run that completes keeps its last weights). stopped_epoch() is the 0-based epoch
// it stopped after (0 if it did not); best_epoch() the best one.
class EarlyStopping : public Callback {
 public:
  EarlyStopping(std::string monitor = "val_loss", size_t patience = 0,
                bool restore_best_weights = false, double min_delta = 0);
  absl::Status OnTrainBegin(Model& model) override;
  absl::Status OnEpochEnd(Model& model, size_t epoch, const EpochLogs& logs,
                          bool& stop) override;
  size_t stopped_epoch() const { return stopped_epoch_; }
  size_t best_epoch() const { return best_epoch_; }
  double best() const { return best_; }

 private:
  std::string monitor_;
  size_t patience_;
  bool restore_best_weights_;
  double min_delta_;
  size_t wait_ = 0, stopped_epoch_ = 0, best_epoch_ = 0;
  double best_ = 0;
  std::vector<Array> best_weights_;
};

// Keras' CSVLogger(filename, separator, append): one row per epoch, "epoch" (from 0) then the
// logs' keys in sorted order, values written in their shortest exact form. The file is rewritten
// whole after every epoch (never half a row). With append, rows already in the file are kept.
class CSVLogger : public Callback {
 public:
  explicit CSVLogger(std::string path, char separator = ',', bool append = false);
  absl::Status OnTrainBegin(Model& model) override;
  absl::Status OnEpochEnd(Model& model, size_t epoch, const EpochLogs& logs,
                          bool& stop) override;
  bool writes_files() const override { return true; }

 private:
  std::string path_;
  char separator_;
  bool append_;
  std::string contents_;
  std::vector<std::string> keys_;
};

// Keras 2.11's ReduceLROnPlateau (keras/callbacks.py), with its defaults: monitor "val_loss",
// factor 0.1, patience 10, verbose 0, mode "auto" ("max" for a monitor containing "acc", else
// "min"), min_delta 1e-4, cooldown 0, min_lr 0. After each epoch: while cooling down (cooldown
// epochs after a reduction) the wait is reset; an improvement on the best by more than min_delta
// becomes the best and resets the wait; otherwise, when not cooling down, the wait grows, and at
// `patience` the learning rate (Optimizer::learning_rate) becomes max(lr * factor, min_lr), if lr
// is above min_lr, followed by `cooldown` epochs of rest. With verbose > 0 it prints Keras'
// message to standard output (on rank 0 only when data-parallel): "\nEpoch 5: ReduceLROnPlateau
// reducing learning rate to 0.00010000000474974513." (the new rate as Python prints it).
// Differences from Keras, each an error at OnTrainBegin (or OnEpochEnd) rather than a warning: a
// monitor missing from the logs, a mode other than auto/min/max, a factor outside [0, 1) (Keras
// refuses only factor >= 1), a min_lr that is negative or not finite, a model without an
// optimizer. Keras also adds "lr" to the epoch's logs; the logs are read-only here, so History
// and CSVLogger do not get it.
struct ReduceLROnPlateauOptions {
  LAYERS_ARG(std::string, monitor, "val_loss");
  LAYERS_ARG(double, factor, 0.1);
  LAYERS_ARG(size_t, patience, 10);
  LAYERS_ARG(int, verbose, 0);
  LAYERS_ARG(std::string, mode, "auto");
  LAYERS_ARG(double, min_delta, 1e-4);
  LAYERS_ARG(size_t, cooldown, 0);
  LAYERS_ARG(double, min_lr, 0);
};

class ReduceLROnPlateau : public Callback {
 public:
  explicit ReduceLROnPlateau(ReduceLROnPlateauOptions options = {});
  absl::Status OnTrainBegin(Model& model) override;
  absl::Status OnEpochEnd(Model& model, size_t epoch, const EpochLogs& logs, bool& stop) override;
  double best() const { return best_; }
  size_t wait() const { return wait_; }
  size_t cooldown_counter() const { return cooldown_counter_; }

 private:
  // Keras' _reset: the direction from the mode, the best at its worst, the counters at 0.
  void Reset();
  ReduceLROnPlateauOptions options_;
  absl::Status invalid_;  // the options' problem, returned by OnTrainBegin and OnEpochEnd
  bool increases_ = false;
  double best_ = 0;
  size_t wait_ = 0, cooldown_counter_ = 0;
};

}  // namespace layers

#endif  // LAYERS_CALLBACKS_H_
