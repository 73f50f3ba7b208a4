// Keras configs, the one registry of what a model file may name: every layer gives its config
// (Layer::GetConfig) and is rebuilt from one by the FromConfig function registered for its Keras
// class name; optimizers are looked up here too. Reading is strict: a key this library does not
// read, or a value it does not implement, is an error naming the layer and the key, never a
// silently different model.
#ifndef LAYERS_CONFIG_H_
#define LAYERS_CONFIG_H_

#include <initializer_list>
#include <memory>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "autograd/optimizers.h"
#include "layers/layer.h"
#include "nlohmann/json.hpp"

namespace layers {

// Keys keep their order, as in the JSON Keras writes.
using Json = nlohmann::ordered_json;

// A JSON value for a message: short, and safe on hostile input (deep nesting is not expanded).
std::string Quote(const Json& value);

// Reads one layer's config key by key. The first problem is kept and returned by Finish, which
// also refuses any key left unread.
class ConfigReader {
 public:
  // `layer` names the layer in errors: "layer 'lstm' (LSTM)".
  ConfigReader(const Json& config, std::string layer);

  // A non-negative integer (required, or `default_value` when absent).
  size_t Size(const char* key);
  size_t Size(const char* key, size_t default_value);
  // An integer, or a list of one integer (Keras' kernel_size, pool_size, strides).
  size_t SizeOrSingleton(const char* key);
  bool Bool(const char* key, bool default_value);
  double Number(const char* key, double default_value);
  std::string String(const char* key, const std::string& default_value);
  // The object under `key` (a wrapped layer's {"class_name", "config"}); required.
  const Json& Object(const char* key);
  // A key whose only implemented value is `supported` (Keras' default): absent or equal is fine.
  void Only(const char* key, const Json& supported);
  // Keys that must be null or absent (regularizers and constraints, which are not implemented).
  void OnlyNull(std::initializer_list<const char*> keys);
  // A key that does not change the loaded model: initializers only choose starting values, and
  // the file's weights replace them.
  void Ignore(const char* key);
  // Whether `key` is there and null (Keras' None, e.g. Embedding's input_length of any length).
  bool IsNull(const char* key);
  // Records an error (the first one wins).
  void Fail(const std::string& key, const std::string& problem);
  bool ok() const { return status_.ok(); }
  absl::Status Finish();

 private:
  const Json* Find(const char* key);
  const Json& config_;
  std::string layer_;
  std::set<std::string> read_;
  absl::Status status_;
};

// A layer as Keras writes it in model_config: {"class_name": ..., "config": {"name", "trainable",
// "dtype", the layer's own keys}}; the model's first layer also carries "batch_input_shape".
Json LayerToConfig(const Layer& layer, const Shape* batch_input_shape = nullptr);

struct LayerFromFile {
  LayerPtr layer;
  std::string name;
  Shape input_shape;  // from batch_input_shape (batch axis dropped), or {}
};
// Keras' batch_input_shape [null, n, ...] -> {n, ...}; each n must lie in [1, kMaxLayerSize].
absl::StatusOr<Shape> BatchInputShape(const Json& shape);

// `where` begins errors (e.g. "model.h5: model_config, layer 2").
absl::StatusOr<LayerFromFile> LayerFromConfig(const Json& entry, const std::string& where);

// {"class_name": "Adam", "config": {"name": "Adam", "learning_rate": ..., ...}}.
Json OptimizerToConfig(const autograd::Optimizer& optimizer);
absl::StatusOr<std::unique_ptr<autograd::Optimizer>> OptimizerFromConfig(const Json& entry);

// Keras' initializer configs, written for readers that expect them.
Json InitializerConfig(const char* class_name);
// Sets each key to null: the regularizers and constraints Keras writes.
void SetNull(Json& config, std::initializer_list<const char*> keys);
// The keys Dense and Conv1D share after their own: use_bias (true), the kernel and bias
// initializers, the regularizers and constraints (null, the only value implemented).
void SetKernelLayerKeys(Json& config);
void ReadKernelLayerKeys(ConfigReader& config);

}  // namespace layers

#endif  // LAYERS_CONFIG_H_
