// Keras' callbacks: what the training loop does on the side. Fit (layers/trainer.cc) runs a
// CallbackList of Keras 2's order: the progress bar first, then FitOptions().callbacks({...})
// (EarlyStopping, CSVLogger, ReduceLROnPlateau, saving::ModelCheckpoint, ...) and
// TerminateOnNaN, then History, which Fit returns. Each follows Keras 2's semantics, stated on the class.
#ifndef LAYERS_CALLBACKS_H_
#define LAYERS_CALLBACKS_H_

#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "layers/layer.h"
#include "layers/options.h"
#include "layers/progress.h"

namespace layers {

class Model;  // layers/model.h

// One epoch's results: "loss", "acc" (or "accuracy"), "val_loss", "val_acc", as in History.
using EpochLogs = std::map<std::string, double>;

// What Fit tells every callback before training (Keras' set_params): the epochs, the samples of
// an epoch (every rank's), and the logs' keys in Keras' order.
struct FitParams {
  size_t epochs = 0;
  size_t samples = 0;
  std::vector<std::string> keys;
};

// A finished training batch (Keras' on_train_batch_end): its index in the epoch from 0, the
// epoch's samples so far (every rank's), and the epoch's running logs, computed only when asked
// (formatting them every batch would cost the small models a few percent).
struct BatchEnd {
  size_t batch = 0;
  size_t samples_seen = 0;
  std::function<EpochLogs()> logs;
};

class Callback {
 public:
  virtual ~Callback() = default;
  virtual void SetParams(const FitParams& /*params*/) {}
  virtual absl::Status OnTrainBegin(Model& /*model*/) { return absl::OkStatus(); }
  virtual absl::Status OnEpochBegin(Model& /*model*/, size_t /*epoch*/) { return absl::OkStatus(); }
  // After a batch's gradients are known (summed over the ranks when data-parallel) and before
  // the optimizer applies them: an error ends Fit, and this batch's update never happens.
  virtual absl::Status BeforeUpdate(Model& /*model*/, size_t /*batch*/, double /*loss*/) {
    return absl::OkStatus();
  }
  virtual absl::Status OnTrainBatchEnd(Model& /*model*/, const BatchEnd& /*batch*/) {
    return absl::OkStatus();
  }
  // `epoch` counts from 0. Setting `stop` ends training after this epoch (Keras'
  // model.stop_training). An error ends Fit with it.
  virtual absl::Status OnEpochEnd(Model& /*model*/, size_t /*epoch*/, const EpochLogs& /*logs*/,
                                  bool& /*stop*/) {
    return absl::OkStatus();
  }
  virtual absl::Status OnTrainEnd(Model& /*model*/) { return absl::OkStatus(); }
  // Training ended early with `error` (a bad batch, a failed callback): a progress line ends.
  virtual void OnTrainError(Model& /*model*/, const absl::Status& /*error*/) {}
  // Whether it writes files: data-parallel, such callbacks run on rank 0 only.
  virtual bool writes_files() const { return false; }
};

// Keras' CallbackList: each hook called on every callback in order; the first error is returned
// (OnEpochEnd's prefixed with the epoch) and the callbacks after it are not called.
class CallbackList {
 public:
  explicit CallbackList(std::vector<std::shared_ptr<Callback>> callbacks = {})
      : callbacks_(std::move(callbacks)) {}
  void Append(std::shared_ptr<Callback> callback) { callbacks_.push_back(std::move(callback)); }
  void SetParams(const FitParams& params);
  absl::Status OnTrainBegin(Model& model);
  absl::Status OnEpochBegin(Model& model, size_t epoch);
  absl::Status BeforeUpdate(Model& model, size_t batch, double loss);
  absl::Status OnTrainBatchEnd(Model& model, const BatchEnd& batch);
  absl::Status OnEpochEnd(Model& model, size_t epoch, const EpochLogs& logs, bool& stop);
  absl::Status OnTrainEnd(Model& model);
  // Tells every callback, then returns `error` (for `return callbacks.Failed(model, status);`).
  absl::Status Failed(Model& model, absl::Status error);

 private:
  std::vector<std::shared_ptr<Callback>> callbacks_;
};

// Keras' History, which Fit returns: `history` maps each log key to its value per epoch.
class History : public Callback {
 public:
  absl::Status OnTrainBegin(Model& model) override;
  absl::Status OnEpochEnd(Model& model, size_t epoch, const EpochLogs& logs, bool& stop) override;
  // Keras' History.history: "loss", the compiled metric under the name it was given ("acc" or
  // "accuracy"), and "val_" variants, one value per epoch. With several outputs also each
  // output's "<layer>_loss" and "<layer>_acc", as tf.keras 2.
  std::map<std::string, std::vector<double>> history;
  // The epochs trained, from 0 (Keras' History.epoch).
  std::vector<size_t> epoch;
};

// Keras' TerminateOnNaN, stricter: a batch whose loss is NaN or infinite ends Fit with an error
// before its update (Keras applies the update, then stops), so the weights stay finite.
class TerminateOnNaN : public Callback {
 public:
  absl::Status BeforeUpdate(Model& model, size_t batch, double loss) override;
};

// Keras' ProgbarLogger, printing to standard output: verbose 1 "Epoch 1/3", then a bar redrawn on
// a terminal (a plain line every tenth of the epoch otherwise) ending in "250/250 [======] - 4s
// 15ms/step - loss: 0.6931 - acc: 0.5000"; verbose 2 one line per epoch, " - 4s - loss: ...".
class ProgbarLogger : public Callback {
 public:
  explicit ProgbarLogger(int verbose, bool terminal = IsTerminal(stdout));
  void SetParams(const FitParams& params) override;
  absl::Status OnEpochBegin(Model& model, size_t epoch) override;
  absl::Status OnTrainBatchEnd(Model& model, const BatchEnd& batch) override;
  absl::Status OnEpochEnd(Model& model, size_t epoch, const EpochLogs& logs, bool& stop) override;
  void OnTrainError(Model& model, const absl::Status& error) override;

 private:
  int verbose_;
  bool terminal_;
  FitParams params_;
  std::optional<ProgressBar> bar_;
  size_t steps_ = 0;
};

// "loss: 0.6931 - acc: 0.5000": `values` in the order of `keys`, as Keras' progress bar.
std::string FormatLogs(const EpochLogs& values, const std::vector<std::string>& keys);

// Whether `monitor` improves upward: Keras' mode "auto" is "max" for names containing "acc".
bool MonitorIncreases(const std::string& monitor);

// The value of `monitor` in an epoch's logs, or an error naming `callback` and listing the keys
// the logs hold (the monitoring callbacks', saving::ModelCheckpoint's too).
absl::StatusOr<double> Monitored(const std::string& callback, const std::string& monitor,
                                 const EpochLogs& logs);

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
