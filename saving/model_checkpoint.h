// Keras' ModelCheckpoint callback, which writes model files (saving/model_file.h); the other
// callbacks are layers/callbacks.h's.
#ifndef SAVING_MODEL_CHECKPOINT_H_
#define SAVING_MODEL_CHECKPOINT_H_

#include <string>

#include "absl/status/status.h"
#include "layers/callbacks.h"
#include "layers/model.h"

namespace saving {

// Keras' ModelCheckpoint(filepath, monitor, save_best_only): saves the model (SaveModel) after
// every epoch, or with save_best_only only when `monitor` beat its best so far. `{epoch}` or
// `{epoch:02d}` in the path become the epoch's number from 1. A monitor missing from the logs is
// an error (Keras warns and skips: a checkpoint that never saves is worth knowing about).
class ModelCheckpoint : public layers::Callback {
 public:
  ModelCheckpoint(std::string path, std::string monitor = "val_loss", bool save_best_only = false);
  absl::Status OnEpochEnd(layers::Model& model, size_t epoch, const layers::EpochLogs& logs,
                          bool& stop) override;
  bool writes_files() const override { return true; }

 private:
  std::string path_, monitor_;
  bool save_best_only_;
  double best_;
};

}  // namespace saving

#endif  // SAVING_MODEL_CHECKPOINT_H_
