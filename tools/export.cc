// A model file as a model for another runtime: ONNX, with batch and time as dynamic axes and
// Keras' masks exact (exporting/onnx.h), and TensorFlow.js' layers format (exporting/tfjs.h):
//   bazel run //tools:export -- --model=$PWD/imdb_lstm.h5 --onnx=$PWD/imdb_lstm.onnx
//   bazel run //tools:export -- --model=$PWD/imdb_lstm.h5 --tfjs=$PWD/imdb_lstm_tfjs
// Each output is written whole (a temporary, then renamed); the ONNX file passes ONNX's checker.
// With both flags, both exports are checked before either is written, so a model one target
// cannot express leaves nothing behind. Exit codes: 0 written; 1 the model cannot be read or
// exported (one line naming the file or the layer, the target and what is wrong); 2 a bad
// command line.
#include <cstdio>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "experiments/command_line.h"
#include "exporting/onnx.h"
#include "exporting/tfjs.h"
#include "saving/model_file.h"

ABSL_FLAG(std::string, model, "", "the model file (model.save's HDF5, from Keras or this library)");
ABSL_FLAG(std::string, onnx, "", "where to write the ONNX model (opset 13)");
ABSL_FLAG(std::string, tfjs, "",
          "the directory to write the TensorFlow.js layers model to (model.json and weight "
          "shards)");

int main(int argc, char** argv) {
  experiments::ParseCommandLine(
      argc, argv,
      "A model file exported to ONNX or TensorFlow.js: export --model=FILE "
      "[--onnx=OUT.onnx] [--tfjs=DIR]");
  const std::string model_path = absl::GetFlag(FLAGS_model);
  const std::string onnx_path = absl::GetFlag(FLAGS_onnx);
  const std::string tfjs_path = absl::GetFlag(FLAGS_tfjs);
  if (model_path.empty()) {
    return experiments::ExitWithUsageError(absl::InvalidArgumentError(
        "--model is required: a model file (model.save's HDF5), e.g. --model=$PWD/imdb_lstm.h5"));
  }
  if (onnx_path.empty() && tfjs_path.empty()) {
    return experiments::ExitWithUsageError(absl::InvalidArgumentError(
        "--onnx or --tfjs is required: where to write the ONNX model (e.g. "
        "--onnx=$PWD/imdb_lstm.onnx) or the TensorFlow.js directory (e.g. "
        "--tfjs=$PWD/imdb_lstm_tfjs)"));
  }
  absl::StatusOr<std::unique_ptr<layers::Model>> model = saving::LoadModel(model_path);
  if (!model.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(model.status().message()).c_str());
    return 1;
  }
  const auto fail = [](const std::string& output, const absl::Status& status) {
    std::fprintf(stderr, "error: %s: %s\n", output.c_str(), std::string(status.message()).c_str());
    return 1;
  };
  // Both targets checked first: a refusal by either writes nothing.
  if (!onnx_path.empty()) {
    if (absl::StatusOr<std::string> bytes = exporting::OnnxModelBytes(**model); !bytes.ok()) {
      return fail(onnx_path, bytes.status());
    }
  }
  if (!tfjs_path.empty()) {
    if (absl::Status status = exporting::CheckTfjsExpressible(**model); !status.ok()) {
      return fail(tfjs_path, status);
    }
  }
  if (!onnx_path.empty()) {
    if (absl::Status status = exporting::ExportOnnx(**model, onnx_path); !status.ok()) {
      return fail(onnx_path, status);
    }
    std::printf("wrote %s\n", onnx_path.c_str());
  }
  if (!tfjs_path.empty()) {
    if (absl::Status status = exporting::ExportTfjs(**model, tfjs_path); !status.ok()) {
      return fail(tfjs_path, status);
    }
    std::printf("wrote %s\n", tfjs_path.c_str());
  }
  return 0;
}
