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

// Keras' ModelCheckpoint(filepath, monitor, save_best_only): saves the model (Model::Save)
// after every epoch, or with save_best_only only when `monitor` beat its best so far. `{epoch}`
// or `{epoch:02d}` in the path become the epoch's number from 1. A monitor missing from the logs
// is an error (Keras warns and skips: a checkpoint that never saves is worth knowing about).
class ModelCheckpoint : public Callback {
 public:
  ModelCheckpoint(std::string path, std::string monitor = "val_loss", bool save_best_only = false);
  absl::Status OnEpochEnd(Model& model, size_t epoch, const EpochLogs& logs,
                          bool& stop) override;
  bool writes_files() const override { return true; }

 private:
  std::string path_, monitor_;
  bool save_best_only_;
  double best_;
};

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

}  // namespace layers

#endif  // LAYERS_CALLBACKS_H_
