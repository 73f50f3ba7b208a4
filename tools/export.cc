// A model file as a model for another runtime: ONNX, with batch and time as dynamic axes and
// Keras' masks exact (exporting/onnx.h):
//   bazel run //tools:export -- --model=$PWD/imdb_lstm.h5 --onnx=$PWD/imdb_lstm.onnx
// The file is written whole (a temporary, then renamed) and passes ONNX's checker. Exit codes: 0
// written; 1 the model cannot be read or exported (one line naming the file or the layer and
// what is wrong); 2 a bad command line.
#include <cstdio>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "experiments/command_line.h"
#include "exporting/onnx.h"
#include "saving/model_file.h"

ABSL_FLAG(std::string, model, "", "the model file (model.save's HDF5, from Keras or this library)");
ABSL_FLAG(std::string, onnx, "", "where to write the ONNX model (opset 13)");

int main(int argc, char** argv) {
  experiments::ParseCommandLine(argc, argv,
                                "A model file exported to ONNX: export --model=FILE --onnx=OUT");
  const std::string model_path = absl::GetFlag(FLAGS_model);
  const std::string onnx_path = absl::GetFlag(FLAGS_onnx);
  if (model_path.empty()) {
    return experiments::ExitWithUsageError(absl::InvalidArgumentError(
        "--model is required: a model file (model.save's HDF5), e.g. --model=$PWD/imdb_lstm.h5"));
  }
  if (onnx_path.empty()) {
    return experiments::ExitWithUsageError(absl::InvalidArgumentError(
        "--onnx is required: where to write the ONNX model, e.g. --onnx=$PWD/imdb_lstm.onnx"));
  }
  absl::StatusOr<std::unique_ptr<layers::Model>> model = saving::LoadModel(model_path);
  if (!model.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(model.status().message()).c_str());
    return 1;
  }
  if (absl::Status status = exporting::ExportOnnx(**model, onnx_path); !status.ok()) {
    std::fprintf(stderr, "error: %s: %s\n", onnx_path.c_str(),
                 std::string(status.message()).c_str());
    return 1;
  }
  std::printf("wrote %s\n", onnx_path.c_str());
  return 0;
}
