#include "saving/model_file.h"

#include <hdf5.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "io/json_nesting.h"
#include "layers/attention.h"
#include "layers/config.h"
#include "layers/functional.h"
#include "layers/recurrent.h"
#include "layers/sequential.h"
#include "saving/hdf5.h"

namespace saving {
namespace {

// What the Keras layout takes from //layers and from saving/hdf5.h.
using hdf5::CreateGroup;
using hdf5::Failed;
using hdf5::Hid;
using hdf5::WriteDataset;
using hdf5::WriteInt64;
using hdf5::WriteStringList;
using layers::Array;
using layers::BaseDenseAttentionLayer;
using layers::BatchInputShape;
using layers::BidirectionalLayer;
using layers::CallLayer;
using layers::ConfigReader;
using layers::Input;
using layers::InputLayer;
using layers::Json;
using layers::KerasTensor;
using layers::KerasTensors;
using layers::kMaxLayerSize;
using layers::kVaries;
using layers::Layer;
using layers::LayerFromConfig;
using layers::LayerFromFile;
using layers::LayerPtr;
using layers::LayerToConfig;
using layers::Model;
using layers::Node;
using layers::OptimizerFromConfig;
using layers::OptimizerToConfig;
using layers::Quote;
using layers::Real;
using layers::RecurrentLayer;
using layers::Sequential;
using layers::Shape;
using layers::Tensor;
using layers::Weight;
using layers::WeightsFromFile;

// The most layer calls (nodes) a model file's graph may hold, and tensors one call may take: far
// above any real model, and what keeps a hostile config from making us build without bound.
constexpr size_t kMaxGraphNodes = size_t{1} << 16;
constexpr size_t kMaxNodeTensors = 1024;

// The floating type of Array in memory, and in the file (float32 as Keras, unless Real is double).
hid_t MemoryRealType() {
  return std::is_same<Real, double>::value ? H5T_NATIVE_DOUBLE : H5T_NATIVE_FLOAT;
}
hid_t FileRealType() { return std::is_same<Real, double>::value ? H5T_IEEE_F64LE : H5T_IEEE_F32LE; }

// A scalar fixed-length string (numpy's bytes, which Keras' loader decodes as UTF-8), of at most
// kMaxModelFileString bytes.
absl::Status WriteString(hid_t object, const char* name, const std::string& value) {
  if (value.size() > kMaxModelFileString) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "attribute %s: %d bytes, more than the %d a model file may hold in one string", name,
        value.size(), kMaxModelFileString));
  }
  return hdf5::WriteString(object, name, value);
}

absl::Status WriteArray(hid_t group, const std::string& path, const Array& value) {
  std::vector<hsize_t> dims(value.shape().begin(), value.shape().end());
  return WriteDataset(group, path, FileRealType(), MemoryRealType(), dims, value.data());
}

// Keras' save_weights_to_hdf5_group: layer_names, then a group per layer with weight_names and
// the datasets.
absl::Status WriteWeights(hid_t group, const Model& model) {
  std::vector<std::string> layer_names;
  for (const LayerPtr& layer : model.layers()) layer_names.push_back(layer->name());
  if (absl::Status status = WriteStringList(group, "layer_names", layer_names); !status.ok()) {
    return status;
  }
  if (absl::Status status = WriteString(group, "backend", kBackend); !status.ok()) return status;
  if (absl::Status status = WriteString(group, "keras_version", kKerasVersion); !status.ok()) {
    return status;
  }
  for (const LayerPtr& layer : model.layers()) {
    Hid layer_group = CreateGroup(group, layer->name().c_str());
    if (!layer_group.ok()) return Failed(absl::StrCat("group ", layer->name()));
    const std::vector<std::string> names = layer->KerasWeightNames();
    if (absl::Status status = WriteStringList(layer_group.get(), "weight_names", names);
        !status.ok()) {
      return status;
    }
    const std::vector<Array> values = layer->GetWeights();
    for (size_t i = 0; i < names.size(); ++i) {
      if (absl::Status status = WriteArray(layer_group.get(), names[i], values[i]); !status.ok()) {
        return status;
      }
    }
  }
  return absl::OkStatus();
}

// "lstm/lstm_cell/kernel:0" -> "lstm/lstm_cell/kernel".
std::string WithoutSuffix(const std::string& name) {
  return name.size() > 2 && name.compare(name.size() - 2, 2, ":0") == 0
             ? name.substr(0, name.size() - 2)
             : name;
}

// Keras' optimizer weight names: "Adam/iter:0", then "Adam/<weight>/<slot>:0" for each slot kind
// and each weight.
std::vector<std::string> OptimizerWeightNames(const Model& model,
                                              const autograd::OptimizerState& state) {
  const std::string optimizer = model.optimizer()->name();
  std::vector<std::string> names = {optimizer + "/iter:0"};
  std::vector<std::string> weights;
  for (const LayerPtr& layer : model.layers()) {
    for (const std::string& name : layer->KerasWeightNames()) weights.push_back(name);
  }
  for (const std::string& slot : state.slot_names) {
    for (const std::string& weight : weights) {
      names.push_back(absl::StrFormat("%s/%s/%s:0", optimizer, WithoutSuffix(weight), slot));
    }
  }
  return names;
}

Json TrainingConfig(const Model& model) {
  Json metrics = Json::array();
  for (const std::string& metric : model.metrics()) metrics.push_back(metric);
  Json config = Json::object();
  // Keras writes the losses and loss_weights as compile was given them: one name for every
  // output, or one per output; loss_weights null when not given (every output weighs 1).
  const std::vector<std::string> losses = model.losses();
  bool one_loss = true, unweighted = true;
  for (const std::string& loss : losses) one_loss &= loss == losses.front();
  for (double weight : model.loss_weights()) unweighted &= weight == 1.0;
  config["loss"] = one_loss ? Json(model.loss()) : Json(losses);
  config["metrics"] = metrics;
  config["weighted_metrics"] = nullptr;
  config["loss_weights"] = unweighted ? Json(nullptr) : Json(model.loss_weights());
  config["optimizer_config"] = OptimizerToConfig(*model.optimizer());
  return config;
}

absl::StatusOr<Json> FunctionalConfig(const Model& model);

}  // namespace

absl::StatusOr<Json> ModelConfig(const Model& model) {
  if (!model.is_sequential()) return FunctionalConfig(model);
  Json layers = Json::array();
  // tf.keras 2's Sequential lists the InputLayer it creates from the first layer's input shape.
  Json batch_input_shape = Json::array({nullptr});
  for (size_t extent : model.input_shape()) batch_input_shape.push_back(extent);
  layers.push_back(Json{{"class_name", "InputLayer"},
                        {"config", Json{{"batch_input_shape", batch_input_shape},
                                        {"dtype", "float32"},
                                        {"sparse", false},
                                        {"ragged", false},
                                        {"name", model.layers()[0]->name() + "_input"}}}});
  for (size_t i = 0; i < model.layers().size(); ++i) {
    layers.push_back(LayerToConfig(*model.layers()[i], i == 0 ? &model.input_shape() : nullptr));
  }
  return Json{{"class_name", "Sequential"},
              {"config", Json{{"name", model.name()}, {"layers", layers}}}};
}

namespace {

absl::Status WriteModel(hid_t file, const Model& model, const Model::TrainingState& state) {
  absl::StatusOr<Json> model_config = ModelConfig(model);
  if (!model_config.ok()) return model_config.status();
  for (const auto& [name, value] :
       {std::pair<const char*, std::string>{"keras_version", kKerasVersion},
        {"backend", kBackend},
        {"model_config", model_config->dump()}}) {
    if (absl::Status status = WriteString(file, name, value); !status.ok()) return status;
  }
  if (model.compiled()) {
    if (absl::Status status = WriteString(file, "training_config", TrainingConfig(model).dump());
        !status.ok()) {
      return status;
    }
  }
  if (!model.preprocessing().empty()) {
    if (absl::Status status = WriteString(file, "preprocessing", model.preprocessing());
        !status.ok()) {
      return status;
    }
  }
  Hid weights = CreateGroup(file, "model_weights");
  if (!weights.ok()) return Failed("group model_weights");
  if (absl::Status status = WriteWeights(weights.get(), model); !status.ok()) return status;

  if (model.compiled()) {
    const std::vector<Tensor> parameters = model.Parameters();
    const autograd::OptimizerState optimizer = model.optimizer()->GetState(parameters);
    const std::vector<std::string> names = OptimizerWeightNames(model, optimizer);
    Hid group = CreateGroup(file, "optimizer_weights");
    if (!group.ok()) return Failed("group optimizer_weights");
    if (absl::Status status = WriteStringList(group.get(), "weight_names", names); !status.ok()) {
      return status;
    }
    if (absl::Status status = WriteDataset(group.get(), names[0], H5T_STD_I64LE, H5T_NATIVE_INT64,
                                           {}, &optimizer.iterations);
        !status.ok()) {
      return status;
    }
    size_t next = 1;
    for (const std::vector<Array>& slot : optimizer.slots) {
      for (const Array& value : slot) {
        if (absl::Status status = WriteArray(group.get(), names[next++], value); !status.ok()) {
          return status;
        }
      }
    }
  }

  Hid training = CreateGroup(file, "training_state");
  if (!training.ok()) return Failed("group training_state");
  if (absl::Status status = WriteString(training.get(), "rng", state.rng); !status.ok()) {
    return status;
  }
  if (absl::Status status = WriteInt64(training.get(), "epochs", state.epochs); !status.ok()) {
    return status;
  }
  return WriteDataset(training.get(), "order", H5T_STD_U64LE, H5T_NATIVE_UINT64,
                      {state.order.size()}, state.order.data());
}

// The model file's reader: hdf5::Reader with the arrays and JSON attributes of the Keras layout.
class Reader : public hdf5::Reader {
 public:
  explicit Reader(std::string path) : hdf5::Reader(std::move(path), kMaxModelFileString) {}

  // Weights and optimizer state: floating-point and finite (a NaN loaded is a NaN predicted).
  absl::StatusOr<Array> ReadArray(hid_t group, const std::string& where, const std::string& path,
                                  const Shape& expected) const {
    Array value = Array::from_shape(expected);
    if (absl::Status status =
            Dataset(group, where, path, expected, H5T_FLOAT, MemoryRealType(), value.data());
        !status.ok()) {
      return status;
    }
    for (size_t i = 0; i < value.size(); ++i) {
      if (!std::isfinite(value.data()[i])) {
        return Error(absl::StrFormat(
            "%s, weight '%s': expected (finite numbers), got (%f at flat index %d): the model "
            "diverged before it was saved, or the file is damaged",
            where, path, static_cast<double>(value.data()[i]), i));
      }
    }
    return value;
  }

  absl::StatusOr<Json> JsonAttribute(hid_t object, const char* name) const {
    absl::StatusOr<std::string> text = String(object, "root", name);
    if (!text.ok()) return text.status();
    if (absl::Status status = io::CheckJsonNesting(*text); !status.ok()) {
      return Error(absl::StrFormat("attribute '%s': %s", name, status.message()));
    }
    Json parsed = Json::parse(*text, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_discarded()) {
      return Error(
          absl::StrFormat("attribute '%s': expected (JSON), got (%s)", name, text->substr(0, 60)));
    }
    return parsed;
  }
};

// The number of weight values stored under `group` (Keras' layout), each dataset checked to hold
// what it declares: the most a model rebuilt from the file's config may create.
absl::StatusOr<size_t> StoredWeightValues(const Reader& reader, hid_t group) {
  absl::StatusOr<std::vector<std::string>> layer_names =
      reader.ChunkedStringList(group, "model weights", "layer_names");
  if (!layer_names.ok()) return layer_names.status();
  size_t total = 0;
  for (const std::string& name : *layer_names) {
    Hid layer_group = reader.OpenGroup(group, name.c_str());
    if (!layer_group.ok()) {
      return reader.Error(absl::StrFormat(
          "layer '%s' is listed in layer_names: expected (its group), got (nothing)", name));
    }
    const std::string where = absl::StrFormat("layer '%s'", name);
    absl::StatusOr<std::vector<std::string>> weights =
        reader.ChunkedStringList(layer_group.get(), where, "weight_names");
    if (!weights.ok()) return weights.status();
    for (const std::string& weight : *weights) {
      absl::StatusOr<size_t> values = reader.StoredValues(layer_group.get(), where, weight);
      if (!values.ok()) return values.status();
      total += *values;
    }
  }
  // A dataset listed twice (or linked under two names) is stored once: every value takes at
  // least a byte of the file.
  return std::min(total, reader.file_bytes());
}

// Reads the weights of every layer of `model` from `group` (Keras' layout), checking the layers
// with weights (count, names, order) and every shape; sets nothing unless all of it is right.
absl::Status ReadWeights(const Reader& reader, hid_t group, Model& model) {
  absl::StatusOr<std::vector<std::string>> file_layers =
      reader.ChunkedStringList(group, "model weights", "layer_names");
  if (!file_layers.ok()) return file_layers.status();
  // As Keras: only layers that have weights are matched.
  std::vector<std::string> file_names;
  std::vector<std::vector<std::string>> file_weights;
  for (const std::string& name : *file_layers) {
    Hid layer_group = reader.OpenGroup(group, name.c_str());
    if (!layer_group.ok()) {
      return reader.Error(absl::StrFormat(
          "layer '%s' is listed in layer_names: expected (its group), got (nothing)", name));
    }
    absl::StatusOr<std::vector<std::string>> weights = reader.ChunkedStringList(
        layer_group.get(), absl::StrFormat("layer '%s'", name), "weight_names");
    if (!weights.ok()) return weights.status();
    if (weights->empty()) continue;
    file_names.push_back(name);
    file_weights.push_back(*weights);
  }
  std::vector<Layer*> layers;
  std::vector<std::string> names;
  for (const LayerPtr& layer : model.layers()) {
    if (layer->weights().empty()) continue;
    layers.push_back(layer.get());
    names.push_back(layer->name());
  }
  if (names != file_names) {
    return reader.Error(absl::StrFormat(
        "the layers with weights do not match model '%s': expected (%d: %s), got (%d: %s)",
        model.name(), names.size(), absl::StrJoin(names, ", "), file_names.size(),
        absl::StrJoin(file_names, ", ")));
  }
  std::vector<std::vector<Array>> values(layers.size());
  for (size_t i = 0; i < layers.size(); ++i) {
    const std::string where = absl::StrFormat("layer '%s' (%s)", names[i], layers[i]->type());
    const std::vector<Weight> weights = layers[i]->weights();
    if (file_weights[i].size() != weights.size()) {
      return reader.Error(absl::StrFormat("%s: expected (%d weights), got (%d: %s)", where,
                                          weights.size(), file_weights[i].size(),
                                          absl::StrJoin(file_weights[i], ", ")));
    }
    Hid layer_group = reader.OpenGroup(group, names[i].c_str());
    for (size_t w = 0; w < weights.size(); ++w) {
      absl::StatusOr<Array> value =
          reader.ReadArray(layer_group.get(), where, file_weights[i][w], weights[w].tensor.shape());
      if (!value.ok()) return value.status();
      values[i].push_back(*std::move(value));
    }
  }
  for (size_t i = 0; i < layers.size(); ++i) {
    if (absl::Status status = layers[i]->SetWeights(values[i]); !status.ok()) return status;
  }
  return absl::OkStatus();
}

// The slot names tf.keras 2.11+'s optimizers give their variables (the build methods of
// keras/optimizers/{adam,sgd,rmsprop,adagrad}.py), and this library's names for them
// (optimizer_v2's, autograd::OptimizerState::slot_names).
const char* SlotNameHere(const std::string& optimizer, const std::string& slot) {
  static const auto* names = new std::map<std::pair<std::string, std::string>, const char*>{
      {{"Adam", "m"}, "m"},
      {{"Adam", "v"}, "v"},
      {{"SGD", "m"}, "momentum"},
      {{"RMSprop", "velocity"}, "rms"},
      {{"RMSprop", "momentum"}, "momentum"},
      {{"RMSprop", "average_gradient"}, "mg"},
      {{"Adagrad", "accumulator"}, "accumulator"},
  };
  auto it = names->find({optimizer, slot});
  return it == names->end() ? nullptr : it->second;
}

// The optimizer_weights of tf.keras 2.11+'s optimizers (keras/optimizers/optimizer.py): the
// iteration counter first, then one variable per slot and weight named "<slot>/<weight>:0"
// (add_variable_from_reference, under the optimizer's name scope when one was open), in the order
// build() made them: Adam interleaves m and v weight by weight, RMSprop lists every velocity,
// then every momentum, then every average gradient. Keras itself matches them by order; here each
// is placed by its name, and every slot of every weight must be there once. Keras' SGD keeps
// momentum variables even without momentum; they stay zero, and SGD here keeps none.
absl::Status ReadKeras211Optimizer(const Reader& reader, hid_t group,
                                   const std::vector<std::string>& names,
                                   const std::vector<Tensor>& parameters,
                                   autograd::OptimizerState& state, Model& model) {
  const std::string optimizer = model.optimizer()->name();
  std::map<std::string, size_t> weight_index;
  for (const LayerPtr& layer : model.layers()) {
    for (const std::string& name : layer->KerasWeightNames()) {
      weight_index.emplace(WithoutSuffix(name), weight_index.size());
    }
  }
  if (absl::Status status = reader.Dataset(group, "optimizer_weights", names[0], {}, H5T_INTEGER,
                                           H5T_NATIVE_INT64, &state.iterations);
      !status.ok()) {
    return status;
  }
  std::vector<std::vector<bool>> filled(state.slots.size());
  for (size_t kind = 0; kind < state.slots.size(); ++kind) {
    filled[kind].assign(state.slots[kind].size(), false);
  }
  for (size_t n = 1; n < names.size(); ++n) {
    // The leftmost "<slot>/<weight>" split that names a slot and a weight of this model: a
    // name scope before the slot is skipped.
    const std::vector<std::string> parts = absl::StrSplit(WithoutSuffix(names[n]), '/');
    std::optional<size_t> kind, weight;
    bool unused_slot = false;
    for (size_t k = 0; k + 1 < parts.size() && !kind && !unused_slot; ++k) {
      auto it = weight_index.find(absl::StrJoin(parts.begin() + k + 1, parts.end(), "/"));
      const char* slot = SlotNameHere(optimizer, parts[k]);
      if (it == weight_index.end() || slot == nullptr) continue;
      auto found = std::find(state.slot_names.begin(), state.slot_names.end(), slot);
      if (found == state.slot_names.end()) {
        unused_slot = optimizer == "SGD";  // momentum variables of an SGD without momentum
        if (!unused_slot) break;
        continue;
      }
      kind = found - state.slot_names.begin();
      weight = it->second;
    }
    if (unused_slot) continue;
    if (!kind || *weight >= state.slots[*kind].size() || filled[*kind][*weight]) {
      return reader.Error(absl::StrFormat(
          "optimizer_weights, weight '%s': expected (\"<slot>/<weight>:0\" once for each slot of "
          "%s (%s) and each weight of the model), got (%s)",
          names[n], optimizer, absl::StrJoin(state.slot_names, ", "),
          kind ? "a second one for that slot and weight" : "a name that is not one of them"));
    }
    Array& value = state.slots[*kind][*weight];
    absl::StatusOr<Array> read =
        reader.ReadArray(group, "optimizer_weights", names[n], autograd::ShapeOf(value));
    if (!read.ok()) return read.status();
    value = *std::move(read);
    filled[*kind][*weight] = true;
  }
  for (size_t kind = 0; kind < filled.size(); ++kind) {
    for (size_t p = 0; p < filled[kind].size(); ++p) {
      if (filled[kind][p]) continue;
      std::string weight;
      for (const auto& [name, index] : weight_index) {
        if (index == p) weight = name;
      }
      return reader.Error(absl::StrFormat(
          "optimizer_weights: expected (slot '%s' of weight '%s', as %s keeps it), got (nothing)",
          state.slot_names[kind], weight, optimizer));
    }
  }
  if (absl::Status status = model.optimizer()->SetState(parameters, state); !status.ok()) {
    return reader.Error(std::string(status.message()));
  }
  return absl::OkStatus();
}

absl::Status ReadOptimizer(const Reader& reader, Model& model) {
  Hid group = reader.OpenGroup(reader.file(), "optimizer_weights");
  if (!group.ok()) return absl::OkStatus();  // saved without its optimizer: it starts afresh
  const std::vector<Tensor> parameters = model.Parameters();
  autograd::OptimizerState state = model.optimizer()->GetState(parameters);  // the expected form
  const std::vector<std::string> expected = OptimizerWeightNames(model, state);
  absl::StatusOr<std::vector<std::string>> names =
      reader.ChunkedStringList(group.get(), "optimizer_weights", "weight_names");
  if (!names.ok()) return names.status();
  if (!names->empty() && absl::EndsWith(WithoutSuffix(names->front()), "iteration")) {
    return ReadKeras211Optimizer(reader, group.get(), *names, parameters, state, model);
  }
  // optimizer_v2's layout (our own files; tf.keras' legacy optimizers): as Keras, matched by
  // order; the count tells another optimizer or model apart.
  if (names->size() != expected.size()) {
    return reader.Error(absl::StrFormat(
        "optimizer_weights: expected (%d arrays for %s: %s, ...), got (%d: %s)", expected.size(),
        model.optimizer()->name(), expected[0], names->size(),
        absl::StrJoin(names->begin(), names->begin() + std::min<size_t>(names->size(), 3), ", ")));
  }
  if (absl::Status status = reader.Dataset(group.get(), "optimizer_weights", (*names)[0], {},
                                           H5T_INTEGER, H5T_NATIVE_INT64, &state.iterations);
      !status.ok()) {
    return status;
  }
  size_t next = 1;
  for (std::vector<Array>& slot : state.slots) {
    for (Array& value : slot) {
      absl::StatusOr<Array> read = reader.ReadArray(group.get(), "optimizer_weights",
                                                    (*names)[next++], autograd::ShapeOf(value));
      if (!read.ok()) return read.status();
      value = *std::move(read);
    }
  }
  if (absl::Status status = model.optimizer()->SetState(parameters, state); !status.ok()) {
    return reader.Error(std::string(status.message()));
  }
  return absl::OkStatus();
}

absl::Status ReadTrainingState(const Reader& reader, Model& model) {
  Hid group = reader.OpenGroup(reader.file(), "training_state");
  if (!group.ok()) return absl::OkStatus();  // a file from Keras
  Model::TrainingState state;
  absl::StatusOr<std::string> rng = reader.String(group.get(), "training_state", "rng");
  if (!rng.ok()) return rng.status();
  state.rng = *rng;
  absl::StatusOr<int64_t> epochs = reader.Int64(group.get(), "training_state", "epochs");
  if (!epochs.ok()) return epochs.status();
  state.epochs = *epochs;
  absl::StatusOr<size_t> count = reader.StoredValues(group.get(), "training_state", "order");
  if (!count.ok()) return count.status();
  if (*count > reader.file_bytes() / sizeof(uint64_t)) {
    return reader.Error(
        "training_state, weight 'order': expected (at most one index per 8 bytes "
        "of the file), got (more): the file is damaged");
  }
  state.order.resize(*count);
  if (absl::Status status = reader.Dataset(group.get(), "training_state", "order", {*count},
                                           H5T_INTEGER, H5T_NATIVE_UINT64, state.order.data());
      !status.ok()) {
    return status;
  }
  if (absl::Status status = model.SetTrainingState(state); !status.ok()) {
    return reader.Error(std::string(status.message()));
  }
  return absl::OkStatus();
}

// A loss as tf.keras' training_config holds it: the name given to compile, or a loss object
// serialized as {"class_name", "config"} (keras/losses.py: LossFunctionWrapper.get_config, the
// reduction, name and the function's keyword arguments). Only the keyword values that mean
// Keras' plain loss are implemented.
absl::StatusOr<std::string> LossFromConfig(const Json& loss, const std::string& where) {
  if (loss.is_string()) return loss.get<std::string>();
  struct LossClass {
    const char* class_name;
    const char* name;  // the name compile takes here
  };
  constexpr LossClass kLossClasses[] = {
      {"BinaryCrossentropy", "binary_crossentropy"},
      {"CategoricalCrossentropy", "categorical_crossentropy"},
      {"SparseCategoricalCrossentropy", "sparse_categorical_crossentropy"},
      {"MeanSquaredError", "mse"},
  };
  const std::string class_name = loss.is_object() && loss.value("class_name", Json()).is_string()
                                     ? loss["class_name"].get<std::string>()
                                     : "";
  for (const LossClass& known : kLossClasses) {
    if (class_name != known.class_name) continue;
    const Json loss_config = loss.value("config", Json::object());  // outlives the reader
    ConfigReader config(loss_config, absl::StrFormat("%s, loss '%s'", where, class_name));
    config.String("name", "");
    // "auto" is sum_over_batch_size outside a distribution strategy: the mean over the batch.
    const std::string reduction = config.String("reduction", "auto");
    if (reduction != "auto" && reduction != "sum_over_batch_size") {
      config.Fail("reduction",
                  absl::StrFormat("expected (\"auto\" or \"sum_over_batch_size\"), got (\"%s\"): "
                                  "only the mean over the batch is implemented",
                                  reduction));
    }
    config.Only("from_logits", false);
    config.Only("label_smoothing", 0);
    config.Only("axis", -1);
    config.Only("ignore_class", nullptr);
    if (absl::Status status = config.Finish(); !status.ok()) return status;
    return std::string(known.name);
  }
  std::vector<std::string> known;
  for (const LossClass& loss_class : kLossClasses) known.push_back(loss_class.class_name);
  return absl::UnimplementedError(
      absl::StrFormat("%s: expected (a loss name, or a loss object of class %s), got (%s)", where,
                      absl::StrJoin(known, ", "), Quote(loss)));
}

// A metric as tf.keras' training_config holds it: the name given to compile (before training),
// or, once fit has built the metrics (saving_utils.model_metadata saves compiled_metrics._metrics,
// user_metrics=False), the metric object: compile's "accuracy" becomes a MeanMetricWrapper
// {"name": "accuracy", "dtype": "float32", "fn": "binary_accuracy"} whose fn Keras chose from
// the loss (keras/engine/compile_utils.py _get_metric_object). This library's accuracy chooses
// the same way, so the name stands for it; a metric class object (BinaryAccuracy, ...) with its
// default threshold is the same metric. Returns the name compile takes.
absl::StatusOr<std::string> MetricFromConfig(const Json& metric, const std::string& where) {
  if (metric.is_string()) return metric.get<std::string>();
  const std::string class_name =
      metric.is_object() && metric.value("class_name", Json()).is_string()
          ? metric["class_name"].get<std::string>()
          : "";
  const bool wrapper = class_name == "MeanMetricWrapper";
  if (!wrapper && class_name != "BinaryAccuracy" && class_name != "CategoricalAccuracy" &&
      class_name != "SparseCategoricalAccuracy") {
    return absl::UnimplementedError(absl::StrFormat(
        "%s: expected (a metric name, a MeanMetricWrapper or an accuracy metric object), got "
        "(%s)",
        where, Quote(metric)));
  }
  const Json metric_config = metric.value("config", Json::object());  // outlives the reader
  ConfigReader config(metric_config, absl::StrFormat("%s, metric '%s'", where, class_name));
  config.String("name", "");
  config.Only("dtype", "float32");
  if (wrapper) {
    const std::string fn = config.String("fn", "");
    if (fn != "binary_accuracy" && fn != "categorical_accuracy" &&
        fn != "sparse_categorical_accuracy") {
      config.Fail("fn", absl::StrFormat("expected (binary_accuracy, categorical_accuracy or "
                                        "sparse_categorical_accuracy), got (\"%s\")",
                                        fn));
    }
  }
  if (class_name == "BinaryAccuracy") config.Only("threshold", 0.5);
  if (absl::Status status = config.Finish(); !status.ok()) return status;
  return std::string("accuracy");
}

// Keras' training_config -> Compile.
absl::Status CompileFromConfig(const Reader& reader, const Json& training, Model& model) {
  const std::string where = absl::StrFormat("'%s': training_config", reader.path());
  ConfigReader config(training, where);
  // One loss for every output, or a list of one per output (several outputs).
  std::vector<std::string> losses;
  const Json& loss = training.is_object() && training.contains("loss") ? training["loss"] : Json();
  config.Ignore("loss");
  if (loss.size() > kMaxGraphNodes) {
    config.Fail("loss", absl::StrFormat("expected (at most %d losses), got (%d)", kMaxGraphNodes,
                                        loss.size()));
  }
  for (const Json& one : loss.is_array() ? loss : Json::array({loss})) {
    if (!config.ok()) break;
    absl::StatusOr<std::string> name = LossFromConfig(one, where + ", config key 'loss'");
    if (!name.ok()) return name.status();
    losses.push_back(*std::move(name));
  }
  // Null (every output weighs 1) or one number per output.
  std::vector<double> loss_weights;
  const Json& weights =
      training.is_object() && training.contains("loss_weights") ? training["loss_weights"] : Json();
  if (weights.is_array()) {
    config.Ignore("loss_weights");
    for (const Json& weight : weights) {
      if (!weight.is_number() || weights.size() > kMaxGraphNodes) {
        config.Fail("loss_weights",
                    absl::StrFormat("expected (null, or a list of one number per output), got (%s)",
                                    Quote(weights)));
        break;
      }
      loss_weights.push_back(weight.get<double>());
    }
  }
  // Keras writes ["acc"], or one list per output ([["acc"]], [[...], [...]]); this library's
  // metrics apply to every output, so the outputs' lists must agree.
  std::vector<std::string> metrics;
  const Json& listed =
      training.is_object() && training.contains("metrics") ? training["metrics"] : Json::array();
  config.Ignore("metrics");
  const bool per_output = listed.is_array() && !listed.empty() && listed[0].is_array();
  const Json outputs = per_output ? listed : Json::array({listed});
  if (!listed.is_null() && (!listed.is_array() || outputs.size() > kMaxGraphNodes)) {
    config.Fail("metrics",
                absl::StrFormat("expected (a list of metrics), got (%s)", Quote(listed)));
  }
  for (size_t output = 0; config.ok() && listed.is_array() && output < outputs.size(); ++output) {
    const Json& list = outputs[output];
    std::vector<std::string> names;
    if (!list.is_array() || list.size() > kMaxGraphNodes) {
      config.Fail("metrics", absl::StrFormat("expected (a list of metrics per output), got (%s)",
                                             Quote(list)));
      break;
    }
    for (const Json& metric : list) {
      absl::StatusOr<std::string> name = MetricFromConfig(
          metric, absl::StrFormat("%s, config key 'metrics', output %d", where, output));
      if (!name.ok()) return name.status();
      names.push_back(*std::move(name));
    }
    if (output > 0 && names != metrics) {
      config.Fail("metrics", absl::StrFormat(
                                 "output %d has metrics (%s), output 0 has (%s): this library "
                                 "computes the same metrics for every output",
                                 output, absl::StrJoin(names, ", "), absl::StrJoin(metrics, ", ")));
      break;
    }
    metrics = std::move(names);
  }
  // Keras' weighted_metrics, null when not given to compile (or its empty lists once built).
  const Json& weighted = training.is_object() && training.contains("weighted_metrics")
                             ? training["weighted_metrics"]
                             : Json();
  bool no_weighted = true;
  if (weighted.is_array()) {
    for (const Json& list : weighted) no_weighted &= list.is_array() && list.empty();
  }
  if (weighted.is_array() && no_weighted) {
    config.Ignore("weighted_metrics");
  } else {
    config.OnlyNull({"weighted_metrics"});
  }
  config.OnlyNull({"sample_weight_mode"});
  if (!weights.is_array()) config.OnlyNull({"loss_weights"});
  const Json& optimizer_config = config.Object("optimizer_config");
  if (absl::Status status = config.Finish(); !status.ok()) return status;
  absl::StatusOr<std::unique_ptr<autograd::Optimizer>> optimizer =
      OptimizerFromConfig(optimizer_config);
  if (!optimizer.ok())
    return reader.Error("training_config: " + std::string(optimizer.status().message()));
  const absl::Status status =
      losses.size() == 1 ? model.Compile(losses[0], *std::move(optimizer), metrics, loss_weights)
                         : model.Compile(losses, *std::move(optimizer), metrics, loss_weights);
  if (!status.ok()) {
    return reader.Error("training_config: " + std::string(status.message()));
  }
  return absl::OkStatus();
}

// An InputLayer's batch_input_shape (defined with the Functional models below).
absl::StatusOr<Shape> InputShape(const Json& shape);

// Model_config -> the layers of a new Sequential.
absl::StatusOr<std::unique_ptr<Model>> FunctionalFromConfig(const Reader& reader,
                                                            const Json& model_config);

absl::StatusOr<std::unique_ptr<Model>> ModelFromConfig(const Reader& reader,
                                                       const Json& model_config) {
  if (model_config.is_object() && (model_config.value("class_name", Json()) == "Functional" ||
                                   model_config.value("class_name", Json()) == "Model")) {
    return FunctionalFromConfig(reader, model_config);
  }
  if (!model_config.is_object() || model_config.value("class_name", Json()) != "Sequential" ||
      !model_config.contains("config") || !model_config["config"].is_object()) {
    return reader.Error(absl::StrFormat(
        "model_config: expected ({\"class_name\": \"Sequential\", \"config\": {...}}), got (%s)",
        Quote(model_config)));
  }
  const Json& config = model_config["config"];
  const Json name = config.value("name", Json("sequential"));
  const Json layers = config.value("layers", Json());
  if (!name.is_string() || !layers.is_array() || layers.empty()) {
    return reader.Error("model_config: expected (a name and a non-empty list of layers), got (" +
                        Quote(config) + ")");
  }
  auto model = std::make_unique<Sequential>(/*seed=*/0, name.get<std::string>());
  Shape input_shape;
  std::string input_name;
  for (size_t i = 0; i < layers.size(); ++i) {
    const std::string where = absl::StrFormat("'%s': model_config, layer %d", reader.path(), i);
    if (layers[i].is_object() && layers[i].value("class_name", Json()) == "InputLayer") {
      // tf.keras 2.4+ writes the input shape as a layer of its own; null where the length varies
      // (an Embedding without input_length).
      const Json& input_config = layers[i].contains("config") && layers[i]["config"].is_object()
                                     ? layers[i]["config"]
                                     : Json::object();
      absl::StatusOr<Shape> parsed = InputShape(input_config.value("batch_input_shape", Json()));
      if (!parsed.ok()) {
        return absl::InvalidArgumentError(absl::StrFormat("%s (InputLayer), batch_input_shape: %s",
                                                          where, parsed.status().message()));
      }
      input_shape = *parsed;
      input_name = input_config.value("name", Json("")).is_string()
                       ? input_config.value("name", Json("")).get<std::string>()
                       : "";
      continue;
    }
    absl::StatusOr<LayerFromFile> layer = LayerFromConfig(layers[i], where);
    if (!layer.ok()) return layer.status();
    if (!layer->input_shape.empty() && model->layers().empty() && input_shape.empty()) {
      input_shape = layer->input_shape;
    }
    model->Add(std::move(layer->layer), model->layers().empty() ? input_shape : Shape{});
    if (!layer->name.empty()) model->layer(model->layers().size() - 1).set_name(layer->name);
  }
  if (std::find(input_shape.begin(), input_shape.end(), kVaries) == input_shape.end()) {
    return std::unique_ptr<Model>(std::move(model));
  }
  // A Sequential here needs every input length known (Sequential::Build); Keras' Sequential of
  // any length (an Embedding without input_length) is the same chain of calls as a graph.
  if (input_name.empty()) input_name = model->layers()[0]->name() + "_input";
  const KerasTensor input = Input(input_shape, input_name);
  KerasTensor x = input;
  for (const LayerPtr& layer : model->layers()) {
    KerasTensors outputs = CallLayer(layer, {x}, {});
    if (absl::Status status = outputs.front().status(); !status.ok()) {
      return absl::Status(status.code(),
                          absl::StrFormat("'%s': model_config, layer '%s': %s", reader.path(),
                                          layer->name(), status.message()));
    }
    if (outputs.size() != 1) {
      return reader.Error(absl::StrFormat(
          "model_config, layer '%s': expected (one output, as a Sequential's layers give), got "
          "(%d)",
          layer->name(), outputs.size()));
    }
    x = outputs.front();
  }
  auto graph = std::make_unique<Model>(std::vector<KerasTensor>{input}, std::vector<KerasTensor>{x},
                                       /*seed=*/0, model->name());
  if (!graph->status().ok()) {
    return absl::Status(graph->status().code(),
                        absl::StrFormat("'%s': %s", reader.path(), graph->status().message()));
  }
  return std::unique_ptr<Model>(std::move(graph));
}

// ---- Functional models: tf.keras 2.11's graph config ------------------------------------------
//
// From keras-team/keras at tag v2.11.0:
//   keras/engine/functional.py  get_network_config (1524-1606): config {name, layers,
//       input_layers, output_layers}; each layer entry is serialize_keras_object(layer) plus
//       "name" and "inbound_nodes", its calls that belong to this model; an InputLayer's own node
//       (is_input) is left out, so its inbound_nodes is []. A node's index in the file is its
//       position among the layer's calls that belong to this model (node_conversion_map), so a
//       layer shared with another model is numbered from 0 in each file.
//       reconstruct_from_config (1286-1521): creates every layer first, then calls each layer on
//       its inbound nodes, a layer's nodes in order, as soon as their inputs exist (so an entry
//       may name a layer listed after it).
//   keras/engine/node.py  Node.serialize (184-258): each tensor the layer was called on is
//       [layer, node_index, tensor_index, kwargs]; kwargs are the call's other arguments.
//   keras/engine/base_layer.py  _functional_construction_call (2460-2556): a mask and a training
//       flag passed by the framework are removed before the node is made: kwargs are {}.
//   keras/layers/rnn/base_rnn.py  RNN.__call__ (550-620): Keras tensors given as initial_state
//       are called on as [inputs] + initial_state: extra inbound tensors of the node, kwargs {}.
//   keras/layers/rnn/bidirectional.py  Bidirectional.__call__ (265-350): the same list, with
//       kwargs {"initial_state": None, "constants": None} left in the call.
//   keras/layers/attention/base_dense_attention.py  BaseDenseAttention.call: the arguments
//       return_attention_scores and use_causal_mask, when passed, are the kwargs of every tensor
//       of the node (this library writes those set to true; it reads both, and a layer's nodes
//       must agree, as they are options of the layer here).
//   keras/engine/input_layer.py  InputLayer.get_config (270-281): batch_input_shape (None where
//       the length varies), dtype, sparse, ragged, name.
//   keras/saving/legacy/serialization.py  SharedObjectSavingScope and SharedObjectConfig
//       (147-242), serialize_keras_class_and_config (245-271): inside get_network_config's
//       scope every object serialized with get_config (a layer, a recurrent layer's cell, an
//       initializer) is numbered 0, 1, 2, ... in the order it is serialized, and the number is
//       written as "shared_object_id" (after class_name and config) only when the same object is
//       serialized a second time. Sequential.get_config (keras/engine/sequential.py 451-464)
//       opens no scope: Sequential files have none.

// Keras' shared_object_id numbering for one layer entry (see above), in the order tf.keras
// 2.11's get_config methods serialize: a wrapper's layer (rnn/base_wrapper.py 60-63), then the
// wrapper; a recurrent layer's kernel, recurrent and bias initializers (rnn/lstm.py 849-887,
// rnn/gru.py 766-804, rnn/simple_rnn.py 470-503), then its cell, whose get_config
// (lstm.py 338-372, ...) serializes the same three initializer objects again (LSTM's
// kernel_initializer is its cell's, lstm.py 798-799): so those three carry the key; then the
// layer. Dense and Conv1D serialize kernel then bias initializer (core/dense.py 273-301,
// convolutional/base_conv.py 359-385), Embedding its embeddings_initializer
// (core/embedding.py 218-238), each once: no key. Activations (functions, serialized by name),
// None regularizers and the float32 dtype policy take no number.
void NumberSharedObjects(Json& entry, int64_t& next_id) {
  const std::string class_name = entry.value("class_name", "");
  Json& config = entry["config"];
  if (class_name == "TimeDistributed" || class_name == "Bidirectional") {
    NumberSharedObjects(config["layer"], next_id);
  } else if (class_name == "LSTM" || class_name == "GRU" || class_name == "SimpleRNN") {
    for (const char* key : {"kernel_initializer", "recurrent_initializer", "bias_initializer"}) {
      config[key]["shared_object_id"] = next_id++;
    }
    ++next_id;  // the cell
  } else if (class_name == "Dense" || class_name == "Conv1D") {
    next_id += 2;  // kernel and bias initializers
  } else if (class_name == "Embedding") {
    next_id += 1;  // embeddings_initializer
  }
  ++next_id;  // the layer
}

absl::StatusOr<Json> FunctionalConfig(const Model& model) {
  // Each layer's calls in this model, in call order: a node's index in the file is its position.
  std::unordered_map<const Layer*, std::vector<const Node*>> calls;
  for (const std::shared_ptr<Node>& node : model.nodes()) {
    calls[node->layer.get()].push_back(node.get());
  }
  std::unordered_map<const Node*, size_t> file_index;
  for (auto& [layer, nodes] : calls) {
    std::sort(nodes.begin(), nodes.end(),
              [](const Node* a, const Node* b) { return a->call_index < b->call_index; });
    for (size_t i = 0; i < nodes.size(); ++i) file_index[nodes[i]] = i;
  }
  const auto reference = [&](const KerasTensor& tensor) {
    return Json::array(
        {tensor.node()->layer->name(), file_index.at(tensor.node().get()), tensor.index()});
  };
  Json layers = Json::array();
  int64_t next_id = 0;
  for (const LayerPtr& layer : model.layers()) {
    if (dynamic_cast<const Model*>(layer.get()) != nullptr) {
      return absl::UnimplementedError(absl::StrFormat(
          "model '%s': layer '%s' is a model inside this model, and saving a model nested in "
          "another is not implemented: save the inner model on its own, or build this model "
          "from the inner model's layers",
          model.name(), layer->name()));
    }
    const bool input = dynamic_cast<const InputLayer*>(layer.get()) != nullptr;
    Json entry;
    if (input) {
      Json config = Json::object();
      layer->GetConfig(config);
      config["name"] = layer->name();
      entry = Json{{"class_name", "InputLayer"}, {"config", config}};
    } else {
      entry = LayerToConfig(*layer);
    }
    NumberSharedObjects(entry, next_id);
    entry["name"] = layer->name();
    Json inbound = Json::array();
    for (const Node* node : input ? std::vector<const Node*>() : calls.at(layer.get())) {
      const auto* attention = dynamic_cast<const BaseDenseAttentionLayer*>(layer.get());
      const Json kwargs = node->state_inputs > 0 && layer->type() == "Bidirectional"
                              ? Json{{"initial_state", nullptr}, {"constants", nullptr}}
                          : attention != nullptr ? attention->CallArguments()
                                                 : Json::object();
      Json tensors = Json::array();
      for (const KerasTensor& tensor : node->inputs) {
        Json data = reference(tensor);
        data.push_back(kwargs);
        tensors.push_back(std::move(data));
      }
      inbound.push_back(std::move(tensors));
    }
    entry["inbound_nodes"] = std::move(inbound);
    layers.push_back(std::move(entry));
  }
  Json inputs = Json::array(), outputs = Json::array();
  for (const KerasTensor& tensor : model.inputs()) inputs.push_back(reference(tensor));
  for (const KerasTensor& tensor : model.outputs()) outputs.push_back(reference(tensor));
  return Json{{"class_name", "Functional"},
              {"config", Json{{"name", model.name()},
                              {"layers", std::move(layers)},
                              {"input_layers", std::move(inputs)},
                              {"output_layers", std::move(outputs)}}}};
}

// An InputLayer's batch_input_shape: [null, n or null, ...], null where the length varies.
absl::StatusOr<Shape> InputShape(const Json& shape) {
  Shape result;
  bool valid = shape.is_array() && shape.size() >= 2 && shape.size() <= 9 && shape[0].is_null();
  for (size_t i = 1; valid && i < shape.size(); ++i) {
    if (shape[i].is_null()) {
      result.push_back(kVaries);
      continue;
    }
    valid = shape[i].is_number_integer() && shape[i].get<int64_t>() > 0 &&
            shape[i].get<uint64_t>() <= kMaxLayerSize;
    if (valid) result.push_back(shape[i].get<size_t>());
  }
  if (!valid) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "expected ([null, n, ...] with 1 to 8 axes, each n null or in [1, %d]), got (%s)",
        kMaxLayerSize, Quote(shape)));
  }
  return result;
}

// One tensor reference [layer, node_index, tensor_index(, kwargs)] of a model file's graph.
struct TensorReference {
  std::string layer;
  size_t node = 0, tensor = 0;
  Json arguments = Json::object();  // the call's keyword arguments, where the layer reads them
};

// `what` names the reference in errors; `kwargs` whether a fourth element may follow (inbound
// nodes: yes; input_layers and output_layers: no), and which of its keys may be there (null);
// `layer_kwargs`: the layer reads them itself (attention), so they are kept, unchecked.
absl::StatusOr<TensorReference> ParseReference(const Json& data, const std::string& what,
                                               bool kwargs, bool state_kwargs,
                                               bool layer_kwargs = false) {
  const bool shaped = data.is_array() && (data.size() == 3 || (kwargs && data.size() == 4)) &&
                      data[0].is_string() && data[1].is_number_integer() &&
                      data[1].get<int64_t>() >= 0 && data[2].is_number_integer() &&
                      data[2].get<int64_t>() >= 0;
  if (!shaped) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: expected ([layer name, node index, tensor index%s]), got (%s)", what,
                        kwargs ? ", {}" : "", Quote(data)));
  }
  if (data.size() == 4) {
    const Json& arguments = data[3];
    if (!arguments.is_object()) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: expected (the call's keyword arguments: {}), got (%s)", what, Quote(arguments)));
    }
    if (layer_kwargs) {
      return TensorReference{data[0].get<std::string>(), data[1].get<size_t>(),
                             data[2].get<size_t>(), arguments};
    }
    for (const auto& [key, value] : arguments.items()) {
      // Bidirectional.__call__ leaves these two, None, in the call (see above).
      if (state_kwargs && (key == "initial_state" || key == "constants") && value.is_null()) {
        continue;
      }
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: the call's keyword argument '%s' (value %s) is not one this library reads: "
          "expected ({}%s)",
          what, key, Quote(value), state_kwargs ? ", or initial_state and constants null" : ""));
    }
  }
  return TensorReference{data[0].get<std::string>(), data[1].get<size_t>(), data[2].get<size_t>()};
}

// Keras' reconstruct_from_config: a Functional model_config -> the graph, built as the file's
// weights allow (the caller holds the WeightsFromFile guard: layers are built here, on their
// first call).
absl::StatusOr<std::unique_ptr<Model>> FunctionalFromConfig(const Reader& reader,
                                                            const Json& model_config) {
  const std::string model_where = absl::StrFormat("'%s': model_config (%s)", reader.path(),
                                                  model_config["class_name"].get<std::string>());
  for (const auto& [key, value] : model_config.items()) {
    if (key != "class_name" && key != "config") {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: key '%s' (value %s) is not one this library reads", model_where, key, Quote(value)));
    }
  }
  const Json empty_object = Json::object(), empty_array = Json::array();
  const Json& config = model_config.contains("config") ? model_config["config"] : empty_object;
  ConfigReader top(config, model_where);
  const std::string name = top.String("name", "model");
  for (const char* key : {"layers", "input_layers", "output_layers"}) {
    top.Ignore(key);
    if (top.ok() && (!config.contains(key) || !config[key].is_array())) {
      top.Fail(key, config.contains(key) ? "expected a list, got " + Quote(config[key])
                                         : "missing (a list is required)");
    }
  }
  if (absl::Status status = top.Finish(); !status.ok()) return status;
  const Json& entries = config["layers"];
  if (entries.empty() || entries.size() > kMaxGraphNodes) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s, config key 'layers': expected (1 to %d layers), got (%d)", model_where,
                        kMaxGraphNodes, entries.size()));
  }

  // First every layer, with its inbound nodes parsed (as Keras: an entry may name a layer that
  // comes later in the list).
  struct FileLayer {
    std::string where;  // "'m.h5': model_config, layer 2 'dense' (Dense)"
    LayerPtr layer;
    bool input = false;
    bool takes_state = false;  // a recurrent layer or Bidirectional: extra tensors are its state
    std::vector<std::vector<TensorReference>> nodes;
    std::vector<KerasTensors> outputs;  // per node, once called
  };
  std::vector<FileLayer> layers(entries.size());
  std::map<std::string, size_t> by_name;
  size_t total_nodes = 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    const Json& entry = entries[i];
    const std::string where = absl::StrFormat("'%s': model_config, layer %d", reader.path(), i);
    if (!entry.is_object() || !entry.contains("class_name") || !entry["class_name"].is_string() ||
        !entry.contains("config") || !entry["config"].is_object() || !entry.contains("name") ||
        !entry["name"].is_string() || entry["name"].get<std::string>().empty() ||
        !entry.contains("inbound_nodes") || !entry["inbound_nodes"].is_array()) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: expected ({\"class_name\": ..., \"config\": {...}, \"name\": \"...\", "
          "\"inbound_nodes\": [...]}), got (%s)",
          where, Quote(entry)));
    }
    const std::string class_name = entry["class_name"].get<std::string>();
    const std::string layer_name = entry["name"].get<std::string>();
    FileLayer& file_layer = layers[i];
    file_layer.where = absl::StrFormat("%s '%s' (%s)", where, layer_name, class_name);
    for (const auto& [key, value] : entry.items()) {
      if (key != "class_name" && key != "config" && key != "name" && key != "inbound_nodes") {
        return absl::InvalidArgumentError(
            absl::StrFormat("%s: key '%s' (value %s) is not one this library reads",
                            file_layer.where, key, Quote(value)));
      }
    }
    const Json& layer_config = entry["config"];
    if (layer_config.value("name", Json(layer_name)) != Json(layer_name)) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s: expected (its config's name to be its name), got (config name %s)",
                          file_layer.where, Quote(layer_config["name"])));
    }
    if (!by_name.emplace(layer_name, i).second) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: the name '%s' is also the name of layer %d: layer names must be unique",
          file_layer.where, layer_name, by_name[layer_name]));
    }
    if (class_name == "Functional" || class_name == "Model" || class_name == "Sequential") {
      return absl::UnimplementedError(absl::StrFormat(
          "%s: a model nested inside this model is not implemented: build the model from the "
          "inner model's layers",
          file_layer.where));
    }
    const Json& inbound = entry["inbound_nodes"];
    if (class_name == "InputLayer") {
      ConfigReader input_config(layer_config, file_layer.where);
      input_config.String("name", layer_name);
      input_config.Ignore("batch_input_shape");
      input_config.Only("dtype", "float32");
      input_config.Only("sparse", false);
      input_config.Only("ragged", false);
      absl::StatusOr<Shape> shape = InputShape(layer_config.value("batch_input_shape", Json()));
      if (!shape.ok()) {
        input_config.Fail("batch_input_shape", std::string(shape.status().message()));
      }
      if (absl::Status status = input_config.Finish(); !status.ok()) return status;
      if (!inbound.empty()) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "%s: expected (no inbound nodes: an input is called on nothing), got (%s)",
            file_layer.where, Quote(inbound)));
      }
      KerasTensor tensor = Input(*shape, layer_name);
      if (absl::Status status = tensor.status(); !status.ok()) {
        return absl::InvalidArgumentError(
            absl::StrFormat("%s: %s", file_layer.where, status.message()));
      }
      file_layer.layer = tensor.node()->layer;
      file_layer.input = true;
      file_layer.outputs.push_back(KerasTensors{tensor});
      total_nodes += 1;
      continue;
    }
    absl::StatusOr<LayerFromFile> made = LayerFromConfig(entry, where);
    if (!made.ok()) return made.status();
    file_layer.layer = made->layer;
    file_layer.layer->set_name(layer_name);
    file_layer.takes_state = dynamic_cast<const RecurrentLayer*>(made->layer.get()) != nullptr ||
                             dynamic_cast<const BidirectionalLayer*>(made->layer.get()) != nullptr;
    total_nodes += inbound.size();
    if (total_nodes > kMaxGraphNodes) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: the layers' inbound nodes add up to more than the %d layer calls this library "
          "reads",
          file_layer.where, kMaxGraphNodes));
    }
    if (inbound.empty()) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: expected (at least one inbound node: the tensors it is called on), got (none)",
          file_layer.where));
    }
    auto* attention = dynamic_cast<BaseDenseAttentionLayer*>(made->layer.get());
    std::optional<Json> layer_arguments;  // the first node's (attention)
    for (size_t k = 0; k < inbound.size(); ++k) {
      const Json& node = inbound[k];
      if (!node.is_array() || node.empty() || node.size() > kMaxNodeTensors) {
        return absl::InvalidArgumentError(
            absl::StrFormat("%s, inbound node %d: expected (a list of 1 to %d tensors), got (%s)",
                            file_layer.where, k, kMaxNodeTensors, Quote(node)));
      }
      std::vector<TensorReference> references;
      for (size_t t = 0; t < node.size(); ++t) {
        const std::string what =
            absl::StrFormat("%s, inbound node %d, tensor %d", file_layer.where, k, t);
        absl::StatusOr<TensorReference> reference =
            ParseReference(node[t], what, /*kwargs=*/true,
                           /*state_kwargs=*/class_name == "Bidirectional",
                           /*layer_kwargs=*/attention != nullptr);
        if (!reference.ok()) return reference.status();
        if (attention != nullptr) {
          // Options of the layer here: every call must bring the same (absent means false).
          Json arguments = Json::object();
          for (const auto& [key, value] : reference->arguments.items()) {
            if (value != Json(false)) arguments[key] = value;
          }
          if (layer_arguments && arguments != *layer_arguments) {
            return absl::UnimplementedError(absl::StrFormat(
                "%s: the call's keyword arguments %s differ from its first call's %s: this "
                "library keeps them as options of the layer, the same for every call",
                what, Quote(arguments), Quote(*layer_arguments)));
          }
          layer_arguments = arguments;
          if (absl::Status status = attention->SetCallArguments(reference->arguments);
              !status.ok()) {
            return absl::InvalidArgumentError(absl::StrFormat("%s: %s", what, status.message()));
          }
        }
        references.push_back(*std::move(reference));
      }
      file_layer.nodes.push_back(std::move(references));
    }
  }

  // Every reference must name a layer of the file and one of its nodes.
  const auto resolve = [&](const TensorReference& reference,
                           const std::string& what) -> absl::StatusOr<size_t> {
    auto it = by_name.find(reference.layer);
    if (it == by_name.end()) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: it names layer '%s', which the model_config does not have", what, reference.layer));
    }
    const FileLayer& from = layers[it->second];
    const size_t count = from.input ? 1 : from.nodes.size();
    if (reference.node >= count) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s: it names node %d of layer '%s', which has %d (indices from 0)", what,
                          reference.node, reference.layer, count));
    }
    return it->second;
  };
  // The nodes in an order where each comes after the nodes it takes tensors from and after the
  // layer's earlier nodes (Keras keeps each layer's node order): Kahn's algorithm, so a cycle
  // is found without recursion.
  std::vector<std::vector<size_t>> first_node(layers.size());  // (layer, node) -> one number
  std::vector<std::pair<size_t, size_t>> node_of;
  for (size_t i = 0; i < layers.size(); ++i) {
    for (size_t k = 0; k < layers[i].nodes.size(); ++k) {
      first_node[i].push_back(node_of.size());
      node_of.emplace_back(i, k);
    }
  }
  std::vector<size_t> waiting(node_of.size(), 0);
  std::vector<std::vector<size_t>> unblocks(node_of.size());
  std::vector<std::vector<size_t>> sources(node_of.size());  // the referenced file layers
  for (size_t n = 0; n < node_of.size(); ++n) {
    const auto [i, k] = node_of[n];
    if (k > 0) {
      ++waiting[n];
      unblocks[first_node[i][k - 1]].push_back(n);
    }
    for (size_t t = 0; t < layers[i].nodes[k].size(); ++t) {
      const TensorReference& reference = layers[i].nodes[k][t];
      absl::StatusOr<size_t> from = resolve(
          reference, absl::StrFormat("%s, inbound node %d, tensor %d", layers[i].where, k, t));
      if (!from.ok()) return from.status();
      sources[n].push_back(*from);
      if (layers[*from].input) continue;
      ++waiting[n];
      unblocks[first_node[*from][reference.node]].push_back(n);
    }
  }
  std::deque<size_t> ready;
  for (size_t n = 0; n < node_of.size(); ++n) {
    if (waiting[n] == 0) ready.push_back(n);
  }
  size_t called = 0;
  while (!ready.empty()) {
    const size_t n = ready.front();
    ready.pop_front();
    const auto [i, k] = node_of[n];
    FileLayer& file_layer = layers[i];
    std::vector<KerasTensor> tensors;
    for (size_t t = 0; t < file_layer.nodes[k].size(); ++t) {
      const TensorReference& reference = file_layer.nodes[k][t];
      const KerasTensors& from = layers[sources[n][t]].outputs[reference.node];
      if (reference.tensor >= from.size()) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "%s, inbound node %d, tensor %d: it names tensor %d of node %d of layer '%s', which "
            "gives %d (indices from 0)",
            file_layer.where, k, t, reference.tensor, reference.node, reference.layer,
            from.size()));
      }
      tensors.push_back(from[reference.tensor]);
    }
    const std::vector<KerasTensor> state =
        file_layer.takes_state ? std::vector<KerasTensor>(tensors.begin() + 1, tensors.end())
                               : std::vector<KerasTensor>();
    if (file_layer.takes_state) tensors.resize(1);
    KerasTensors outputs = CallLayer(file_layer.layer, tensors, state);
    if (absl::Status status = outputs.front().status(); !status.ok()) {
      return absl::Status(status.code(), absl::StrFormat("%s, inbound node %d: %s",
                                                         file_layer.where, k, status.message()));
    }
    file_layer.outputs.push_back(std::move(outputs));
    ++called;
    for (size_t next : unblocks[n]) {
      if (--waiting[next] == 0) ready.push_back(next);
    }
  }
  if (called != node_of.size()) {
    std::vector<std::string> stuck;
    for (size_t n = 0; n < node_of.size() && stuck.size() < 5; ++n) {
      if (waiting[n] > 0) {
        stuck.push_back(absl::StrFormat("'%s' (node %d)", layers[node_of[n].first].layer->name(),
                                        node_of[n].second));
      }
    }
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: the inbound nodes of %d layer calls wait on each other in a cycle, and none can be "
        "computed: %s%s",
        model_where, node_of.size() - called, absl::StrJoin(stuck, ", "),
        node_of.size() - called > stuck.size() ? ", ..." : ""));
  }

  // The model's inputs (InputLayers) and outputs.
  std::vector<KerasTensor> inputs, outputs;
  for (const char* key : {"input_layers", "output_layers"}) {
    const bool input = std::string(key) == "input_layers";
    // A single reference [name, 0, 0] is also how some versions write one input or output.
    Json list = config[key];
    if (!list.empty() && list[0].is_string()) list = Json::array({list});
    if (list.empty() || list.size() > kMaxGraphNodes) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s, config key '%s': expected (1 to %d tensors), got (%d)", model_where,
                          key, kMaxGraphNodes, list.size()));
    }
    for (size_t t = 0; t < list.size(); ++t) {
      const std::string what =
          absl::StrFormat("%s, config key '%s', tensor %d", model_where, key, t);
      absl::StatusOr<TensorReference> reference = ParseReference(list[t], what, false, false);
      if (!reference.ok()) return reference.status();
      absl::StatusOr<size_t> from = resolve(*reference, what);
      if (!from.ok()) return from.status();
      if (input && !layers[*from].input) {
        return absl::InvalidArgumentError(
            absl::StrFormat("%s: expected (an InputLayer), got (layer '%s' (%s))", what,
                            reference->layer, layers[*from].layer->type()));
      }
      const KerasTensors& given = layers[*from].outputs[reference->node];
      if (reference->tensor >= given.size()) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "%s: it names tensor %d of node %d of layer '%s', which gives %d (indices from 0)",
            what, reference->tensor, reference->node, reference->layer, given.size()));
      }
      (input ? inputs : outputs).push_back(given[reference->tensor]);
    }
  }
  auto model = std::make_unique<Model>(inputs, outputs, /*seed=*/0, name);
  if (!model->status().ok()) {
    return absl::Status(model->status().code(),
                        absl::StrFormat("'%s': %s", reader.path(), model->status().message()));
  }
  // Keras keeps layers that no output needs (connect_ancillary_layers); they would have no place
  // in this model's weights.
  std::set<const Layer*> used;
  for (const LayerPtr& layer : model->layers()) used.insert(layer.get());
  for (const FileLayer& file_layer : layers) {
    if (used.count(file_layer.layer.get()) == 0) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: no output of the model needs it (the outputs are layers %s); this library keeps "
          "only layers between the inputs and the outputs",
          file_layer.where, absl::StrJoin(model->OutputNames(), ", ")));
    }
  }
  return std::unique_ptr<Model>(std::move(model));
}

}  // namespace

absl::Status SaveModel(const Model& model, const std::string& path) {
  if (!model.built()) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "cannot save model '%s' to '%s': it has no weights yet (compile or build it first)",
        model.name(), path));
  }
  if (!model.is_chief()) return absl::OkStatus();  // rank 0 writes for the whole job
  const Model::TrainingState state = model.GetTrainingState();
  return hdf5::WriteFile(path, [&](hid_t file) { return WriteModel(file, model, state); });
}

absl::Status SaveWeights(const Model& model, const std::string& path) {
  if (!model.built()) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "cannot save the weights of model '%s' to '%s': it has none yet (compile or build it "
        "first)",
        model.name(), path));
  }
  if (!model.is_chief()) return absl::OkStatus();
  // Keras' save_weights: the weights' layout at the root of the file.
  return hdf5::WriteFile(path, [&](hid_t file) { return WriteWeights(file, model); });
}

namespace {

absl::Status ReadWeightsFile(const std::string& path, Model& model) {
  Reader reader(path);
  if (absl::Status status = reader.Open(); !status.ok()) return status;
  // A weights file has layer_names at its root; a model file under model_weights.
  if (reader.HasAttribute(reader.file(), "layer_names") ||
      reader.HasAttribute(reader.file(), "layer_names0")) {
    return ReadWeights(reader, reader.file(), model);
  }
  Hid group = reader.OpenGroup(reader.file(), "model_weights");
  if (!group.ok()) {
    return reader.Error(
        "expected (weights: layer_names at the root, or a group model_weights), got (neither)");
  }
  return ReadWeights(reader, group.get(), model);
}

absl::StatusOr<std::unique_ptr<Model>> ReadModelFile(const std::string& path) {
  Reader reader(path);
  if (absl::Status status = reader.Open(); !status.ok()) return status;
  if (!reader.HasAttribute(reader.file(), "model_config")) {
    return reader.Error(
        "expected (a model: the attribute model_config), got (no model_config: a weights file? "
        "build the model and use LoadWeights)");
  }
  absl::StatusOr<Json> model_config = reader.JsonAttribute(reader.file(), "model_config");
  if (!model_config.ok()) return model_config.status();
  Hid weights = reader.OpenGroup(reader.file(), "model_weights");
  if (!weights.ok()) return reader.Error("expected (a group model_weights), got (none)");
  absl::StatusOr<size_t> stored = StoredWeightValues(reader, weights.get());
  if (!stored.ok()) return stored.status();
  absl::StatusOr<std::unique_ptr<Model>> model;
  {
    // The layers are built (weights created) no larger than the file's weights and without
    // random initialisation: the stored values replace them below. A Functional model's layers
    // are built as its graph is made from the config, a Sequential's by Build.
    WeightsFromFile from_file(*stored);
    model = ModelFromConfig(reader, *model_config);
    if (!model.ok()) return model.status();
    if (absl::Status status = (*model)->Build(); !status.ok()) {
      return reader.Error(std::string(status.message()));
    }
  }
  Model& loaded = **model;
  if (reader.HasAttribute(reader.file(), "training_config")) {
    absl::StatusOr<Json> training = reader.JsonAttribute(reader.file(), "training_config");
    if (!training.ok()) return training.status();
    if (absl::Status status = CompileFromConfig(reader, *training, loaded); !status.ok()) {
      return status;
    }
  }
  if (absl::Status status = ReadWeights(reader, weights.get(), loaded); !status.ok()) {
    return status;
  }
  if (loaded.compiled()) {
    if (absl::Status status = ReadOptimizer(reader, loaded); !status.ok()) return status;
  }
  if (absl::Status status = ReadTrainingState(reader, loaded); !status.ok()) return status;
  if (reader.HasAttribute(reader.file(), "preprocessing")) {
    // Checked as JSON here, kept as written (its reader, datasets/preprocessing.h, checks keys).
    absl::StatusOr<Json> preprocessing = reader.JsonAttribute(reader.file(), "preprocessing");
    if (!preprocessing.ok()) return preprocessing.status();
    absl::StatusOr<std::string> text = reader.String(reader.file(), "root", "preprocessing");
    if (!text.ok()) return text.status();
    loaded.set_preprocessing(*text);
  }
  return model;
}

}  // namespace

absl::Status LoadWeights(Model& model, const std::string& path) {
  if (!model.built()) {
    if (absl::Status status = model.Build(); !status.ok()) return status;
  }
  if (absl::Status status =
          hdf5::ReadInChildFirst(path, [&] { return ReadWeightsFile(path, model); });
      !status.ok()) {
    return status;
  }
  return ReadWeightsFile(path, model);
}

absl::StatusOr<std::unique_ptr<Model>> LoadModel(const std::string& path) {
  if (absl::Status status =
          hdf5::ReadInChildFirst(path, [&] { return ReadModelFile(path).status(); });
      !status.ok()) {
    return status;
  }
  return ReadModelFile(path);
}

}  // namespace saving
