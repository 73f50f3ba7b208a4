// --save and --resume, shared by the IMDB and airline experiments: the model is saved after every
// epoch (ModelCheckpoint, with the text preprocessing in the file, so that //tools:predict can use
// it), and a saved model continues where it stopped.
#ifndef EXPERIMENTS_MODEL_FILES_H_
#define EXPERIMENTS_MODEL_FILES_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "datasets/preprocessing.h"
#include "layers/sequential.h"

namespace experiments {

// The model to train: the one saved at --resume (its architecture must take `input_shape`), or
// a new one from `make` (which builds and compiles it). Prints how training resumes.
absl::StatusOr<std::unique_ptr<layers::Model>> NewOrResumedModel(
    const std::function<absl::StatusOr<std::unique_ptr<layers::Model>>()>& make,
    const layers::Shape& input_shape);

// Adds to `options`: initial_epoch from the model's training state, and with --save the
// checkpoint after every epoch (preprocessing saved in the file). --save is checked first: its
// directory must exist and be writable, so that a long run does not fail at its first save.
absl::Status AddModelFiles(layers::Model& model,
                           const datasets::TextPreprocessing& preprocessing,
                           layers::FitOptions& options);

// True, after printing why, when the model (resumed with --resume) has already had `epochs`
// epochs or more: there is nothing to train, and the experiment scores the model as loaded and
// exits 0.
bool NothingLeftToTrain(const layers::Model& model, size_t epochs);

}  // namespace experiments

#endif  // EXPERIMENTS_MODEL_FILES_H_
