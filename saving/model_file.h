// Model files in tf.keras 2.x's HDF5 layout (model.save(path, save_format="h5"), keras-team/keras
// saving/legacy/hdf5_format.py), written and read through HDF5's C API. A file holds:
//
//   /                      attributes keras_version, backend, model_config (JSON: the Sequential
//                          or Functional config and every layer's Keras config; a Functional's
//                          layers with their inbound_nodes, input_layers and output_layers, as
//                          tf.keras 2.11's get_network_config writes them: saving/model_file.cc),
//                          training_config (JSON: loss, metrics, loss_weights, optimizer_config;
//                          when compiled), preprocessing (JSON; when set: what turns raw text
//                          into the model's input, see Model::preprocessing)
//   /model_weights         attributes layer_names (model.layers' order; a Functional's
//                          InputLayers included, with no weights), backend, keras_version
//     /<layer>             attribute weight_names; one float32 dataset per weight under its Keras
//                          name: /model_weights/lstm/lstm/lstm_cell/kernel:0
//   /optimizer_weights     attribute weight_names: <Optimizer>/iter:0 (int64 scalar), then each
//                          slot of each weight: Adam/lstm/lstm_cell/kernel/m:0, ..., then /v:0
//   /training_state        ours (Keras ignores it), for resuming bit for bit: attributes rng (the
//                          generator's state: dropout masks and shuffles to come) and epochs
//                          (trained so far), dataset order (uint64: the sample order the next
//                          shuffle starts from)
//
// Strings are fixed-length (numpy bytes, which Keras decodes); the file uses HDF5's 1.8 format.
// Errors name the file, and where it applies the layer, and say "expected (...), got (...)".
// HDF5's own error printing is switched off; its innermost message ends ours.
//
// Files that tf.keras 2.4-2.15 write load too (saving/keras_files_test.cc writes them as Keras
// does): their variable-length strings (h5py's str and bytes; read behind ReadInChildFirst, with
// the global heap checked first: saving/hdf5.cc), name lists split into layer_names0, ...; a
// Sequential whose InputLayer has null axes (an Embedding without input_length: loaded as the
// same chain in a graph model); a training_config with loss objects and metric objects
// (MeanMetricWrapper), the optimizers of tf.keras 2.11+ ("Custom>Adam" from 2.12) with their keys
// at the values that mean optimizer_v2's behaviour, and their optimizer_weights named
// "iteration", "<slot>/<weight>".
//
// The generic HDF5 reading and writing is saving/hdf5.h's; //layers itself does not link HDF5.
#ifndef SAVING_MODEL_FILE_H_
#define SAVING_MODEL_FILE_H_

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "layers/config.h"
#include "layers/model.h"

namespace saving {

// What model files say wrote them (attributes keras_version and backend).
inline constexpr char kKerasVersion[] = "2.11.0";
inline constexpr char kBackend[] = "tensorflow";

// The model_config attribute, as tf.keras 2.11 writes it: {"class_name": "Sequential" or
// "Functional", "config": {...}}. The model must be built; a model nested in another is an error.
// Also the topology of TensorFlow.js' layers format (exporting/tfjs.h).
absl::StatusOr<layers::Json> ModelConfig(const layers::Model& model);

// The longest string a model file holds (the text preprocessing, with its word index, is the
// long one): SaveModel refuses longer ones, LoadModel reads any up to this size.
inline constexpr size_t kMaxModelFileString = size_t{64} << 20;

// Keras' model.save(path, save_format="h5"): the architecture, the weights, the compile settings
// with the optimizer's state, the training state and the preprocessing. The model must be built
// (an error otherwise). Data-parallel: only rank 0 writes; other ranks return OkStatus. The file
// replaces `path` only once whole and readable.
absl::Status SaveModel(const layers::Model& model, const std::string& path);

// Keras' model.save_weights(path) (HDF5): the weights' layout at the root of the file. Rank 0
// only, as SaveModel.
absl::Status SaveWeights(const layers::Model& model, const std::string& path);

// Keras' model.load_weights(path): the weights of a weights file, or of a model file, into
// `model` (built first when it is not), matched by the layers that have weights (count, names,
// order) and every shape; nothing is set unless all of it is right.
absl::Status LoadWeights(layers::Model& model, const std::string& path);

// Keras' keras.models.load_model: rebuilds the architecture from model_config (Sequential, or
// Functional: class name "Functional", or "Model" as older Keras wrote), sets the weights and,
// when the file has a training_config, compiles with the same losses, metrics and optimizer,
// whose state (and the training state) it restores. Unknown layer classes and config keys, and a
// graph that does not hold together (a tensor of a layer or call the file does not have, a cycle,
// a layer no output needs), are errors naming the file and the layer. A model nested inside a
// Functional model is refused, at SaveModel and here.
absl::StatusOr<std::unique_ptr<layers::Model>> LoadModel(const std::string& path);

}  // namespace saving

#endif  // SAVING_MODEL_FILE_H_
