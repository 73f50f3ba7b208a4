#include "experiments/model_files.h"

#include <cstdio>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "experiments/report.h"
#include "io/atomic_file.h"
#include "layers/callbacks.h"
#include "saving/model_checkpoint.h"
#include "saving/model_file.h"

ABSL_FLAG(std::string, save, "",
          "save the model here (Keras' HDF5 layout) after every epoch, with its text "
          "preprocessing: //tools:predict reads it");
ABSL_FLAG(std::string, resume, "",
          "continue training the model saved here (by --save) up to --epochs in all: the "
          "optimizer, the random generator and the shuffle order continue exactly");

namespace experiments {

absl::StatusOr<std::unique_ptr<layers::Model>> NewOrResumedModel(
    const std::function<absl::StatusOr<std::unique_ptr<layers::Model>>()>& make,
    const layers::Shape& input_shape) {
  const std::string resume = absl::GetFlag(FLAGS_resume);
  if (resume.empty()) return make();
  absl::StatusOr<std::unique_ptr<layers::Model>> model = saving::LoadModel(resume);
  if (!model.ok()) return model.status();
  if (!(*model)->compiled()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "--resume=%s: the file has no training_config (saved without compiling), so training "
        "cannot continue",
        resume));
  }
  if ((*model)->input_shape() != input_shape) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "--resume=%s: the model takes inputs %s, the data here are %s (other sizes flags?)", resume,
        layers::KerasShapeString((*model)->input_shape()), layers::KerasShapeString(input_shape)));
  }
  std::printf("Resuming %s after %lld epoch(s)\n", resume.c_str(),
              static_cast<long long>((*model)->GetTrainingState().epochs));
  return model;
}

absl::Status AddModelFiles(layers::Model& model,
                           const datasets::TextPreprocessing& preprocessing,
                           layers::FitOptions& options) {
  options.initial_epoch(static_cast<size_t>(model.GetTrainingState().epochs));
  const std::string save = absl::GetFlag(FLAGS_save);
  if (save.empty()) return absl::OkStatus();
  if (absl::Status status = CheckSavePath(save); !status.ok()) return status;
  std::string json = datasets::ToJson(preprocessing);
  if (json.size() > saving::kMaxModelFileString) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "--save: the text preprocessing (the word index) takes %d bytes, more than the %d a "
        "model file holds: lower --top_words",
        json.size(), saving::kMaxModelFileString));
  }
  model.set_preprocessing(std::move(json));
  std::vector<std::shared_ptr<layers::Callback>> callbacks = options.callbacks();
  callbacks.push_back(std::make_shared<saving::ModelCheckpoint>(save));
  options.callbacks(callbacks);
  return absl::OkStatus();
}

bool NothingLeftToTrain(const layers::Model& model, size_t epochs) {
  const int64_t trained = model.GetTrainingState().epochs;
  if (trained < static_cast<int64_t>(epochs)) return false;
  std::printf(
      "Nothing to train: the model in %s has had %lld epoch(s), and --epochs=%zu asks for no "
      "more (raise --epochs to train on); scoring it as loaded\n",
      absl::GetFlag(FLAGS_resume).c_str(), static_cast<long long>(trained), epochs);
  return true;
}

}  // namespace experiments
