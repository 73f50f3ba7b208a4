// For tests: runs an exported ONNX model in ONNX Runtime (npm's onnxruntime-node, through
// onnx_run.js and node) and compares it with the model's Predict. Needs the runfiles of
// //exporting:onnx_runtime_testing (node_modules and the script) and TEST_SRCDIR.
#ifndef EXPORTING_ONNX_RUNTIME_TESTING_H_
#define EXPORTING_ONNX_RUNTIME_TESTING_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "exporting/testing.h"
#include "layers/model.h"

namespace exporting {

// The outputs of the ONNX model at `onnx_path` in ONNX Runtime on `inputs` (one per input of
// `model`, named after its input layers), in the model's output order. Errors carry what node
// printed.
absl::StatusOr<std::vector<layers::Array>> RunInOnnxRuntime(
    const layers::Model& model, const std::string& onnx_path,
    const std::vector<layers::Array>& inputs);

// The largest |ONNX Runtime - Predict| over every element of every output (0 where both are NaN,
// infinite where only one is); an error when the shapes or output counts differ.
absl::StatusOr<double> MaxDifferenceFromPredict(layers::Model& model, const std::string& onnx_path,
                                                const std::vector<layers::Array>& inputs);

}  // namespace exporting

#endif  // EXPORTING_ONNX_RUNTIME_TESTING_H_
