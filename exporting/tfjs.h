// Export to TensorFlow.js' layers format, as tfjs-converter's keras_h5_conversion writes it
// (tensorflowjs_converter --input_format keras): a directory holding
//
//   model.json             {"format": "layers-model", "generatedBy", "convertedBy",
//                           "modelTopology": {"keras_version", "backend", "model_config": the
//                           Keras config that model files hold (saving::ModelConfig)},
//                           "weightsManifest": [{"paths": ["group1-shard1of1.bin", ...],
//                           "weights": [{"name": "lstm/lstm_cell/kernel", "shape", "dtype":
//                           "float32"}, ...]}]}
//   group1-shard<i>of<n>.bin  every weight's values, little-endian float32, in manifest order
//                           (model.layers() order, each layer's Keras weight order), one byte
//                           stream cut into shards of at most kTfjsShardBytes (a weight may
//                           span two shards)
//
// tf.loadLayersModel reads it in a browser or in node and predicts as Predict does (the tests
// prove it to 1e-5 with @tensorflow/tfjs 4.22). Where TensorFlow.js 4.22 lacks what the model
// uses, the export refuses and names the layer and the feature (CheckTfjsExpressible).
#ifndef EXPORTING_TFJS_H_
#define EXPORTING_TFJS_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "layers/model.h"

namespace exporting {

// The converter's default shard size (write_weights.py): 4 MiB, the largest file all major
// browsers cache.
inline constexpr size_t kTfjsShardBytes = size_t{4} << 20;

// OK when TensorFlow.js 4.22 computes what this (built) model computes; otherwise an
// UnimplementedError naming the first layer that it cannot express and why, e.g. GRU with
// reset_after=true, Attention, Subtract, Bidirectional with return_sequences on a masked input.
absl::Status CheckTfjsExpressible(const layers::Model& model);

// Writes `model` (built; CheckTfjsExpressible first) to `directory` in TensorFlow.js' layers
// format. The directory appears whole or not at all: the files are written into a temporary
// sibling directory, which then takes `directory`'s place in one rename. An existing `directory`
// is replaced only when it is empty or holds nothing but an earlier export's files (model.json and
// group*-shard*of*.bin); any other content is an error, so that a mistyped path never loses
// files. The parent directory must exist. Data-parallel: only rank 0 writes; other ranks check the
// model and return OkStatus.
absl::Status ExportTfjs(const layers::Model& model, const std::string& directory);

}  // namespace exporting

#endif  // EXPORTING_TFJS_H_
