// A small model saved, resumed and printed in separate processes, for model_file_processes_test.sh:
//   model_file_main fit EPOCHS OUT.h5             train from scratch, save
//   model_file_main resume IN.h5 EPOCHS OUT.h5    load, train up to EPOCHS in all, save
//   model_file_main print IN.h5                   every weight, bit for bit (hex floats)
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/numbers.h"
#include "layers/dense.h"
#include "layers/dropout.h"
#include "layers/embedding.h"
#include "layers/recurrent.h"
#include "layers/sequential.h"
#include "saving/model_file.h"

namespace {

using layers::Array;
using layers::Real;

// Dropout and recurrent dropout draw from the generator, and shuffling too: a resumed run only
// matches if all of that state travels in the file.
std::unique_ptr<layers::Sequential> NewModel() {
  auto model = std::make_unique<layers::Sequential>(21);
  model->Add(layers::Embedding(30, 4, 6));
  model->Add(layers::Bidirectional(layers::LSTM(layers::LstmOptions(3).dropout(0.2))));
  model->Add(layers::Dropout(0.5));
  model->Add(layers::Dense(1, "sigmoid"));
  absl::Status status =
      model->Compile("binary_crossentropy", std::make_unique<autograd::Adam>(), {"acc"});
  if (!status.ok()) {
    std::fprintf(stderr, "%s\n", std::string(status.message()).c_str());
    std::exit(1);
  }
  return model;
}

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "model_file_main: %s\n", std::string(status.message()).c_str());
  return 1;
}

int Train(layers::Model& model, size_t epochs, const std::string& out) {
  Array x = Array::from_shape({12, 6}), y = Array::from_shape({12, 1});
  layers::Rng data(4);
  for (Real& value : x) value = static_cast<Real>(data.Below(30));
  for (size_t i = 0; i < 12; ++i) y(i, 0) = static_cast<Real>(x(i, 0) < 15);
  const size_t done = static_cast<size_t>(model.GetTrainingState().epochs);
  absl::StatusOr<layers::History> history = model.Fit(
      x, y, layers::FitOptions().epochs(epochs).initial_epoch(done).batch_size(5).verbose(0));
  if (!history.ok()) return Fail(history.status());
  if (absl::Status status = saving::SaveModel(model, out); !status.ok()) return Fail(status);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  size_t epochs = 0;
  if (mode == "fit" && argc == 4 && absl::SimpleAtoi(argv[2], &epochs)) {
    return Train(*NewModel(), epochs, argv[3]);
  }
  if ((mode == "resume" || mode == "print") && argc >= 3) {
    absl::StatusOr<std::unique_ptr<layers::Model>> model = saving::LoadModel(argv[2]);
    if (!model.ok()) return Fail(model.status());
    if (mode == "resume" && argc == 5 && absl::SimpleAtoi(argv[3], &epochs)) {
      return Train(**model, epochs, argv[4]);
    }
    if (mode == "print" && argc == 3) {
      for (const Array& weight : (*model)->GetWeights()) {
        for (Real value : weight) std::printf("%a\n", static_cast<double>(value));
      }
      return 0;
    }
  }
  std::fprintf(stderr,
               "usage: model_file_main fit EPOCHS OUT.h5 | resume IN.h5 EPOCHS OUT.h5 | print "
               "IN.h5\n");
  return 2;
}
