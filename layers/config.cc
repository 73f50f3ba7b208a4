#include "layers/config.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "layers/attention.h"
#include "layers/convolutional.h"
#include "layers/core.h"
#include "layers/dense.h"
#include "layers/dropout.h"
#include "layers/embedding.h"
#include "layers/masking.h"
#include "layers/merging.h"
#include "layers/pooling.h"
#include "layers/recurrent.h"

namespace layers {

std::string Quote(const Json& value) {
  // dump() recurses: a hostile file's deeply nested value must not reach it whole.
  if (value.is_array()) {
    for (const Json& element : value) {
      if (element.is_structured()) return absl::StrFormat("[...] (a list of %d)", value.size());
    }
  }
  if (value.is_object()) {
    for (const auto& item : value.items()) {
      if (item.value().is_structured()) return absl::StrFormat("{...} (%d keys)", value.size());
    }
  }
  std::string text = value.dump();
  if (text.size() > 80) text = text.substr(0, 77) + "...";
  return text;
}

namespace {

// Every layer class a model file may name, and how to rebuild it: the one registry.
struct LayerClass {
  const char* name;
  absl::StatusOr<LayerPtr> (*from_config)(ConfigReader& config);
};
constexpr LayerClass kLayerClasses[] = {
    {"Dense", DenseLayer::FromConfig},
    {"TimeDistributed", TimeDistributedLayer::FromConfig},
    {"Embedding", EmbeddingLayer::FromConfig},
    {"Dropout", DropoutLayer::FromConfig},
    {"Masking", MaskingLayer::FromConfig},
    {"SimpleRNN", SimpleRnnLayer::FromConfig},
    {"LSTM", LstmLayer::FromConfig},
    {"GRU", GruLayer::FromConfig},
    {"Bidirectional", BidirectionalLayer::FromConfig},
    {"Conv1D", Conv1DLayer::FromConfig},
    {"MaxPooling1D", MaxPooling1DLayer::FromConfig},
    {"Concatenate", ConcatenateLayer::FromConfig},
    {"Add", ElementwiseMergeLayer::FromConfig<kAdd>},
    {"Subtract", ElementwiseMergeLayer::FromConfig<kSubtract>},
    {"Multiply", ElementwiseMergeLayer::FromConfig<kMultiply>},
    {"Average", ElementwiseMergeLayer::FromConfig<kAverage>},
    {"GlobalMaxPooling1D", GlobalMaxPooling1DLayer::FromConfig},
    {"GlobalAveragePooling1D", GlobalAveragePooling1DLayer::FromConfig},
    {"RepeatVector", RepeatVectorLayer::FromConfig},
    {"Activation", ActivationLayer::FromConfig},
    {"Attention", AttentionLayer::FromConfig},
    {"AdditiveAttention", AdditiveAttentionLayer::FromConfig},
};

// The optimizers, with Keras' config keys (optimizer_v2's get_config: see autograd/optimizers.h
// for why optimizer_v2); keys that only Keras implements must hold the value that means "off".
// The clipping keys (clipnorm, clipvalue, global_clipnorm) belong to every optimizer: written
// only when set, as optimizer_v2 does; read when absent or null (the experimental optimizers
// write null) as unset.
struct OptimizerClass {
  const char* name;
  std::vector<const char*> numbers;  // hyper-parameters, in Keras' order
  std::vector<const char*> flags;    // true/false ones (0 or 1 in Hyperparameters()), after them
  Json off;                          // keys accepted only with these values
  // From the numbers, then the flags as 0 or 1; an error from the options' Validate().
  absl::StatusOr<std::unique_ptr<autograd::Optimizer>> (*make)(
      const std::vector<double>& values, const autograd::GradientClipping& clipping);
};

// An optimizer's Create result as the registry's type.
template <typename T>
absl::StatusOr<std::unique_ptr<autograd::Optimizer>> Upcast(
    absl::StatusOr<std::unique_ptr<T>> made) {
  if (!made.ok()) return made.status();
  return std::unique_ptr<autograd::Optimizer>(*std::move(made));
}

const std::vector<OptimizerClass>& OptimizerClasses() {
  using Made = absl::StatusOr<std::unique_ptr<autograd::Optimizer>>;
  static const auto* classes = new std::vector<OptimizerClass>{
      {"Adam",
       {"learning_rate", "beta_1", "beta_2", "epsilon"},
       {},
       {{"decay", 0.0}, {"amsgrad", false}},
       [](const std::vector<double>& n, const autograd::GradientClipping& clipping) -> Made {
         autograd::AdamOptions options;
         options.learning_rate = static_cast<Real>(n[0]);
         options.beta1 = static_cast<Real>(n[1]);
         options.beta2 = static_cast<Real>(n[2]);
         options.epsilon = static_cast<Real>(n[3]);
         options.clipping = clipping;
         return Upcast(autograd::Adam::Create(options));
       }},
      {"SGD",
       {"learning_rate", "momentum"},
       {},
       {{"decay", 0.0}, {"nesterov", false}},
       [](const std::vector<double>& n, const autograd::GradientClipping& clipping) -> Made {
         autograd::SgdOptions options;
         options.learning_rate = static_cast<Real>(n[0]);
         options.momentum = static_cast<Real>(n[1]);
         options.clipping = clipping;
         return Upcast(autograd::Sgd::Create(options));
       }},
      {"RMSprop",
       {"learning_rate", "rho", "momentum", "epsilon"},
       {"centered"},
       {{"decay", 0.0}},
       [](const std::vector<double>& n, const autograd::GradientClipping& clipping) -> Made {
         autograd::RmspropOptions options;
         options.learning_rate = static_cast<Real>(n[0]);
         options.rho = static_cast<Real>(n[1]);
         options.momentum = static_cast<Real>(n[2]);
         options.epsilon = static_cast<Real>(n[3]);
         options.centered = n[4] != 0;
         options.clipping = clipping;
         return Upcast(autograd::Rmsprop::Create(options));
       }},
      {"Adagrad",
       {"learning_rate", "initial_accumulator_value", "epsilon"},
       {},
       {{"decay", 0.0}},
       [](const std::vector<double>& n, const autograd::GradientClipping& clipping) -> Made {
         autograd::AdagradOptions options;
         options.learning_rate = static_cast<Real>(n[0]);
         options.initial_accumulator_value = static_cast<Real>(n[1]);
         options.epsilon = static_cast<Real>(n[2]);
         options.clipping = clipping;
         return Upcast(autograd::Adagrad::Create(options));
       }},
  };
  return *classes;
}

// A hyper-parameter as Keras writes it: float32 values as the shortest decimal that reads back
// as that float (0.001, not 0.0010000000474974513).
Json Float32(double value) {
  char text[32];
  const auto end = std::to_chars(text, text + sizeof text, static_cast<float>(value)).ptr;
  return std::strtod(std::string(text, end).c_str(), nullptr);
}

}  // namespace

ConfigReader::ConfigReader(const Json& config, std::string layer)
    : config_(config), layer_(std::move(layer)) {
  if (!config_.is_object()) Fail("config", "expected an object, got " + Quote(config_));
}

void ConfigReader::Fail(const std::string& key, const std::string& problem) {
  if (!status_.ok()) return;
  status_ =
      absl::InvalidArgumentError(absl::StrFormat("%s, config key '%s': %s", layer_, key, problem));
}

const Json* ConfigReader::Find(const char* key) {
  read_.insert(key);
  if (!config_.is_object()) return nullptr;
  auto it = config_.find(key);
  return it == config_.end() ? nullptr : &*it;
}

bool ConfigReader::IsNull(const char* key) {
  const Json* value = Find(key);
  return value != nullptr && value->is_null();
}

size_t ConfigReader::Size(const char* key) {
  if (Find(key) == nullptr) {
    Fail(key, "missing (a positive integer is required)");
    return 1;
  }
  return Size(key, 1);
}

size_t ConfigReader::Size(const char* key, size_t default_value) {
  const Json* value = Find(key);
  if (value == nullptr) return default_value;
  if (!value->is_number_integer() || value->get<int64_t>() < 0) {
    Fail(key, "expected a non-negative integer, got " + Quote(*value));
    return default_value;
  }
  return value->get<size_t>();
}

size_t ConfigReader::SizeOrSingleton(const char* key) {
  const Json* value = Find(key);
  if (value != nullptr && value->is_array()) {
    if (value->size() != 1 || !(*value)[0].is_number_integer() || (*value)[0].get<int64_t>() < 0) {
      Fail(key, "expected one non-negative integer or a list of one, got " + Quote(*value));
      return 1;
    }
    return (*value)[0].get<size_t>();
  }
  return Size(key);
}

bool ConfigReader::Bool(const char* key, bool default_value) {
  const Json* value = Find(key);
  if (value == nullptr) return default_value;
  if (!value->is_boolean()) {
    Fail(key, "expected true or false, got " + Quote(*value));
    return default_value;
  }
  return value->get<bool>();
}

double ConfigReader::Number(const char* key, double default_value) {
  const Json* value = Find(key);
  if (value == nullptr) return default_value;
  if (!value->is_number()) {
    Fail(key, "expected a number, got " + Quote(*value));
    return default_value;
  }
  return value->get<double>();
}

std::string ConfigReader::String(const char* key, const std::string& default_value) {
  const Json* value = Find(key);
  if (value == nullptr) return default_value;
  if (!value->is_string()) {
    Fail(key, "expected a string, got " + Quote(*value));
    return default_value;
  }
  return value->get<std::string>();
}

const Json& ConfigReader::Object(const char* key) {
  static const Json* empty = new Json(Json::object());
  const Json* value = Find(key);
  if (value == nullptr || !value->is_object()) {
    Fail(key, value == nullptr ? "missing" : "expected an object, got " + Quote(*value));
    return *empty;
  }
  return *value;
}

void ConfigReader::Only(const char* key, const Json& supported) {
  const Json* value = Find(key);
  if (value == nullptr || *value == supported) return;
  // 0 and 0.0 are the same setting.
  if (value->is_number() && supported.is_number() &&
      value->get<double>() == supported.get<double>()) {
    return;
  }
  Fail(key, absl::StrFormat("expected (%s), got (%s): only Keras' default is implemented",
                            Quote(supported), Quote(*value)));
}

void ConfigReader::OnlyNull(std::initializer_list<const char*> keys) {
  for (const char* key : keys) Only(key, nullptr);
}

void ConfigReader::Ignore(const char* key) { read_.insert(key); }

absl::Status ConfigReader::Finish() {
  if (!status_.ok() || !config_.is_object()) return status_;
  for (const auto& [key, value] : config_.items()) {
    if (read_.count(key) == 0) {
      Fail(key, absl::StrFormat("not a key this library reads (value %s); remove it or use a "
                                "model this library can build",
                                Quote(value)));
      break;
    }
  }
  return status_;
}

Json InitializerConfig(const char* class_name) {
  Json config = Json::object();
  if (std::string(class_name) == "Orthogonal") config["gain"] = 1.0;
  if (std::string(class_name) != "Zeros") config["seed"] = nullptr;
  return Json{{"class_name", class_name}, {"config", config}};
}

void SetNull(Json& config, std::initializer_list<const char*> keys) {
  for (const char* key : keys) config[key] = nullptr;
}

absl::StatusOr<Shape> BatchInputShape(const Json& shape) {
  Shape result;
  bool valid = shape.is_array() && shape.size() >= 2 && shape[0].is_null();
  for (size_t i = 1; valid && i < shape.size(); ++i) {
    valid = shape[i].is_number_integer() && shape[i].get<int64_t>() > 0 &&
            shape[i].get<uint64_t>() <= kMaxLayerSize;
    if (valid) result.push_back(shape[i].get<size_t>());
  }
  if (!valid) {
    return absl::InvalidArgumentError(
        absl::StrFormat("expected ([null, n, ...] with every n in [1, %d]), got (%s)",
                        kMaxLayerSize, Quote(shape)));
  }
  return result;
}

void SetKernelLayerKeys(Json& config) {
  config["use_bias"] = true;
  config["kernel_initializer"] = InitializerConfig("GlorotUniform");
  config["bias_initializer"] = InitializerConfig("Zeros");
  SetNull(config, {"kernel_regularizer", "bias_regularizer", "activity_regularizer",
                   "kernel_constraint", "bias_constraint"});
}

void ReadKernelLayerKeys(ConfigReader& config) {
  config.Only("use_bias", true);
  config.Ignore("kernel_initializer");
  config.Ignore("bias_initializer");
  config.OnlyNull({"kernel_regularizer", "bias_regularizer", "activity_regularizer",
                   "kernel_constraint", "bias_constraint"});
}

Json LayerToConfig(const Layer& layer, const Shape* batch_input_shape) {
  Json config = Json::object();
  config["name"] = layer.name();
  config["trainable"] = true;
  if (batch_input_shape != nullptr) {
    Json shape = Json::array({nullptr});
    for (size_t extent : *batch_input_shape) shape.push_back(extent);
    config["batch_input_shape"] = shape;
  }
  config["dtype"] = "float32";
  layer.GetConfig(config);
  return Json{{"class_name", layer.type()}, {"config", config}};
}

absl::StatusOr<LayerFromFile> LayerFromConfig(const Json& entry, const std::string& where) {
  if (!entry.is_object() || !entry.contains("class_name") || !entry["class_name"].is_string() ||
      !entry.contains("config")) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: expected ({\"class_name\": ..., \"config\": {...}}), got (%s)", where, Quote(entry)));
  }
  const std::string class_name = entry["class_name"].get<std::string>();
  const LayerClass* layer_class = nullptr;
  std::vector<std::string> known;
  for (const LayerClass& candidate : kLayerClasses) {
    if (class_name == candidate.name) layer_class = &candidate;
    known.push_back(candidate.name);
  }
  const Json& config = entry["config"];
  const std::string name =
      config.is_object() && config.contains("name") && config["name"].is_string()
          ? config["name"].get<std::string>()
          : "";
  if (layer_class == nullptr) {
    return absl::UnimplementedError(absl::StrFormat(
        "%s: layer '%s' has class '%s', which this library does not have (expected one of: %s)",
        where, name, class_name, absl::StrJoin(known, ", ")));
  }
  ConfigReader reader(config, absl::StrFormat("%s: layer '%s' (%s)", where, name, class_name));
  LayerFromFile result;
  result.name = reader.String("name", "");
  reader.Only("trainable", true);
  reader.Only("dtype", "float32");
  reader.Ignore("batch_input_shape");
  // Keras writes [null, null] for an Embedding of any length (input_length=None): no shape.
  const auto unknown_length = [](const Json& shape) {
    if (!shape.is_array()) return false;
    for (size_t i = 1; i < shape.size(); ++i) {
      if (shape[i].is_null()) return true;
    }
    return false;
  };
  if (config.is_object() && config.contains("batch_input_shape") &&
      !unknown_length(config["batch_input_shape"])) {
    absl::StatusOr<Shape> shape = BatchInputShape(config["batch_input_shape"]);
    if (shape.ok()) {
      result.input_shape = *shape;
    } else {
      reader.Fail("batch_input_shape", std::string(shape.status().message()));
    }
  }
  absl::StatusOr<LayerPtr> layer = layer_class->from_config(reader);
  if (absl::Status status = reader.Finish(); !status.ok()) return status;
  if (!layer.ok()) {  // a wrapped layer's error
    return absl::Status(layer.status().code(),
                        absl::StrFormat("%s: layer '%s' (%s): %s", where, name, class_name,
                                        layer.status().message()));
  }
  result.layer = *std::move(layer);
  return result;
}

Json OptimizerToConfig(const autograd::Optimizer& optimizer) {
  const OptimizerClass* optimizer_class = nullptr;
  for (const OptimizerClass& candidate : OptimizerClasses()) {
    if (optimizer.name() == candidate.name) optimizer_class = &candidate;
  }
  const auto is_flag = [&](const std::string& key) {
    if (optimizer_class == nullptr) return false;
    for (const char* flag : optimizer_class->flags) {
      if (key == flag) return true;
    }
    return false;
  };
  Json config = Json::object();
  config["name"] = optimizer.name();
  for (const auto& [key, value] : optimizer.Hyperparameters()) {
    config[key] = is_flag(key) ? Json(value != 0) : Float32(value);
  }
  if (optimizer_class != nullptr) {
    for (const auto& [key, value] : optimizer_class->off.items()) config[key] = value;
  }
  return Json{{"class_name", optimizer.name()}, {"config", config}};
}

absl::StatusOr<std::unique_ptr<autograd::Optimizer>> OptimizerFromConfig(const Json& entry) {
  if (!entry.is_object() || !entry.contains("class_name") || !entry["class_name"].is_string()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "optimizer_config: expected ({\"class_name\": ..., \"config\": {...}}), got (%s)",
        Quote(entry)));
  }
  std::string class_name = entry["class_name"].get<std::string>();
  // tf.keras 2.12+ registers its optimizers in the package "Custom" (register_keras_serializable
  // in keras/optimizers/adam.py, ...), and get_registered_name then writes "Custom>Adam".
  if (absl::StartsWith(class_name, "Custom>")) class_name = class_name.substr(7);
  std::vector<std::string> known;
  for (const OptimizerClass& optimizer_class : OptimizerClasses()) {
    known.push_back(optimizer_class.name);
    if (class_name != optimizer_class.name) continue;
    const Json config = entry.contains("config") ? entry["config"] : Json::object();
    const std::string where = absl::StrFormat("optimizer '%s'", class_name);
    ConfigReader reader(config, where);
    reader.String("name", class_name);
    std::vector<double> values;
    for (const char* key : optimizer_class.numbers) {
      if (!config.is_object() || !config.contains(key)) {
        reader.Fail(key, "missing");
        break;
      }
      const double value = reader.Number(key, 0);
      if (!std::isfinite(value) || value < 0) {
        reader.Fail(key, absl::StrFormat("expected a finite number >= 0, got %g", value));
      }
      values.push_back(value);
    }
    for (const char* key : optimizer_class.flags) {
      if (!config.is_object() || !config.contains(key)) {
        reader.Fail(key, "missing");
        break;
      }
      values.push_back(reader.Bool(key, false) ? 1 : 0);
    }
    autograd::GradientClipping clipping;
    const std::pair<const char*, std::optional<Real>*> clip_keys[] = {
        {"clipnorm", &clipping.clipnorm},
        {"clipvalue", &clipping.clipvalue},
        {"global_clipnorm", &clipping.global_clipnorm}};
    for (const auto& [key, slot] : clip_keys) {
      if (!config.is_object() || !config.contains(key) || reader.IsNull(key)) continue;
      const double value = reader.Number(key, 0);
      if (!std::isfinite(value) || value <= 0) {
        reader.Fail(key, absl::StrFormat("expected a finite number > 0 or null, got %g", value));
      }
      *slot = static_cast<Real>(value);
    }
    for (const auto& [key, value] : optimizer_class.off.items()) reader.Only(key.c_str(), value);
    // The keys of tf.keras 2.11+'s optimizers (keras/optimizers/optimizer.py get_config), each
    // at the value that means what optimizer_v2 does: no weight decay, no moving average of the
    // weights (so its momentum and frequency change nothing). jit_compile only chooses how
    // TensorFlow runs the step; is_legacy_optimizer tells which optimizer wrote the file.
    if (!reader.IsNull("weight_decay")) reader.Only("weight_decay", 0);
    reader.Only("use_ema", false);
    reader.Number("ema_momentum", 0.99);
    if (!reader.IsNull("ema_overwrite_frequency")) reader.Size("ema_overwrite_frequency", 0);
    reader.Bool("jit_compile", false);
    reader.Bool("is_legacy_optimizer", false);
    if (absl::Status status = reader.Finish(); !status.ok()) return status;
    absl::StatusOr<std::unique_ptr<autograd::Optimizer>> made =
        optimizer_class.make(values, clipping);
    if (!made.ok()) {
      return absl::Status(made.status().code(), absl::StrCat(where, ": ", made.status().message()));
    }
    return made;
  }
  return absl::UnimplementedError(
      absl::StrFormat("optimizer '%s' is not one this library has (expected one of: %s)",
                      class_name, absl::StrJoin(known, ", ")));
}

}  // namespace layers
