// An independent check of the layer configs this library writes into model files: for every layer
// class registered in layers/config.cc, the keys under "config" (and the nested configs) are
// compared with the keys tf.keras 2.11 writes for that class, listed here by hand. Nothing below is
// derived from this library's writer or reader: a key that both drop is a failure here.
//
// The listing comes from keras-team/keras at tag v2.11.0 (commit
// e6784e4302c7b8cd116b74a784f4b78d60e83c26), the Keras that TensorFlow 2.11 ships:
//   keras/engine/base_layer.py         Layer.get_config (781-806): name, trainable, dtype, and
//                                      batch_input_shape when the layer has _batch_input_shape
//                                      (set from input_shape / batch_input_shape, 442-453)
//   keras/mixed_precision/policy.py    serialize (498-504): the default policy is the string
//                                      "float32"
//   keras/layers/core/dense.py         Dense.get_config (273-301)
//   keras/layers/core/embedding.py     Embedding.__init__ (from 114; 126-130: input_shape is always
//                                      set, (input_length,) or (None,), so batch_input_shape is
//                                      always written), get_config (218-238)
//   keras/layers/core/masking.py       Masking.get_config (88-91)
//   keras/layers/regularization/dropout.py  Dropout.get_config (128-135)
//   keras/layers/rnn/base_rnn.py       RNN.get_config (947-963): return_sequences, return_state,
//                                      go_backwards, stateful, unroll, time_major (num_constants
//                                      and zero_output_for_mask only when set; "cell" is deleted
//                                      by the subclasses)
//   keras/layers/rnn/lstm.py           LSTM.__init__ (from 496; implementation defaults to 2, 526),
//                                      LSTM.get_config (849-886)
//   keras/layers/rnn/gru.py            GRU.__init__ (from 523; reset_after=True, implementation 2),
//                                      GRU.get_config (766-801)
//   keras/layers/rnn/simple_rnn.py     SimpleRNN.__init__ (from 341), get_config (470-498)
//   keras/layers/rnn/rnn_utils.py      config_for_enable_caching_device (175-195): nothing at the
//                                      default
//   keras/layers/rnn/base_wrapper.py   Wrapper.get_config (60-63): "layer"
//   keras/layers/rnn/time_distributed.py  TimeDistributed: no get_config of its own
//   keras/layers/rnn/bidirectional.py  Bidirectional.__init__ (109-180), get_config (486-494):
//                                      "merge_mode" (num_constants, backward_layer only when set);
//                                      "layer" is the layer as passed in (not the forward copy)
//   keras/layers/convolutional/base_conv.py  Conv.__init__ (normalize_tuple: tuples), get_config
//                                      (359-385); keras/layers/convolutional/conv1d.py defaults
//                                      (136-175)
//   keras/layers/pooling/base_pooling1d.py  Pooling1D.__init__ (strides None -> pool_size, 62-63),
//                                      get_config (101-109); max_pooling1d.py defaults (107-123)
//   keras/layers/pooling/base_global_pooling1d.py  GlobalPooling1D.__init__ (data_format
//                                      "channels_last", keepdims False; 28-32), get_config
//                                      (50-53); global_max_pooling1d.py and
//                                      global_average_pooling1d.py add no keys
//   keras/layers/reshaping/repeat_vector.py  RepeatVector.get_config (66-69): "n"
//   keras/layers/core/activation.py    Activation.get_config (64-67): "activation", the name
//                                      activations.serialize gives (activations.py 490-)
//   keras/layers/attention/base_dense_attention.py  BaseDenseAttention.__init__ (66-77: dropout
//                                      0.0; a "causal" kwarg is popped, deprecated, not written),
//                                      get_config (235-240): "dropout"
//   keras/layers/attention/attention.py  Attention.__init__ (136-144: use_scale False,
//                                      score_mode "dot"), get_config (201-204)
//   keras/layers/attention/additive_attention.py  AdditiveAttention.__init__ (135-137:
//                                      use_scale True), get_config (175-178)
//   keras/initializers/initializers_v2.py  Initializer.get_config {} (88-94, so Zeros),
//                                      RandomUniform (minval -0.05, maxval 0.05, seed; 276-351),
//                                      Orthogonal (gain 1.0, seed; 678-773), GlorotUniform (seed;
//                                      843-879);
//                                      keras/initializers/__init__.py "uniform" -> RandomUniform
//   keras/saving/legacy/serialization.py  serialize_keras_object / _class_and_config (245-352):
//                                      {"class_name", "config"}
//   keras/engine/sequential.py         Sequential.add (200-223: an InputLayer named
//                                      <first layer>_input is created from the first layer's
//                                      batch_input_shape), get_config (451-464: super().layers,
//                                      InputLayer included); keras/engine/input_layer.py
//                                      InputLayer.get_config (270-281)
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>
#include <hdf5.h>

#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "layers/attention.h"
#include "layers/config.h"
#include "layers/convolutional.h"
#include "layers/core.h"
#include "layers/dense.h"
#include "layers/dropout.h"
#include "layers/embedding.h"
#include "layers/functional.h"
#include "layers/masking.h"
#include "layers/merging.h"
#include "layers/model.h"
#include "layers/pooling.h"
#include "layers/recurrent.h"
#include "layers/sequential.h"
#include "nlohmann/json.hpp"
#include "saving/model_file.h"

namespace layers {
namespace {

using Keys = std::set<std::string>;

// ---------------------------------------------------------------------------------------------
// The hand listing: tf.keras 2.11's config keys per class (see the file comment for the sources).

// Layer.get_config in engine/base_layer.py; batch_input_shape comes on top when the layer was
// given an input shape (the first layer of a Sequential, and every Embedding).
const Keys kBaseKeys = {"name", "trainable", "dtype"};

// RNN.get_config in rnn/base_rnn.py, less "cell" (deleted by LSTM, GRU and SimpleRNN).
const std::vector<std::string> kRnnKeys = {"return_sequences", "return_state", "go_backwards",
                                           "stateful",         "unroll",       "time_major"};

// The keys SimpleRNN.get_config, LSTM.get_config and GRU.get_config all write.
const std::vector<std::string> kRnnCellKeys = {
    "units",
    "activation",
    "use_bias",
    "kernel_initializer",
    "recurrent_initializer",
    "bias_initializer",
    "kernel_regularizer",
    "recurrent_regularizer",
    "bias_regularizer",
    "activity_regularizer",
    "kernel_constraint",
    "recurrent_constraint",
    "bias_constraint",
    "dropout",
    "recurrent_dropout",
};

Keys Join(std::initializer_list<std::vector<std::string>> parts) {
  Keys keys;
  for (const auto& part : parts) keys.insert(part.begin(), part.end());
  return keys;
}

// The keys each class adds to Layer.get_config.
const std::map<std::string, Keys>& KerasOwnKeys() {
  static const auto* keys = new std::map<std::string, Keys>{
      // core/dense.py
      {"Dense",
       {"units", "activation", "use_bias", "kernel_initializer", "bias_initializer",
        "kernel_regularizer", "bias_regularizer", "activity_regularizer", "kernel_constraint",
        "bias_constraint"}},
      // core/embedding.py
      {"Embedding",
       {"input_dim", "output_dim", "embeddings_initializer", "embeddings_regularizer",
        "activity_regularizer", "embeddings_constraint", "mask_zero", "input_length"}},
      // core/masking.py
      {"Masking", {"mask_value"}},
      // regularization/dropout.py
      {"Dropout", {"rate", "noise_shape", "seed"}},
      // rnn/simple_rnn.py
      {"SimpleRNN", Join({kRnnKeys, kRnnCellKeys})},
      // rnn/lstm.py
      {"LSTM", Join({kRnnKeys,
                     kRnnCellKeys,
                     {"recurrent_activation", "unit_forget_bias", "implementation"}})},
      // rnn/gru.py
      {"GRU",
       Join({kRnnKeys, kRnnCellKeys, {"recurrent_activation", "implementation", "reset_after"}})},
      // rnn/base_wrapper.py + rnn/bidirectional.py
      {"Bidirectional", {"layer", "merge_mode"}},
      // rnn/base_wrapper.py (time_distributed.py adds none)
      {"TimeDistributed", {"layer"}},
      // convolutional/base_conv.py
      {"Conv1D",
       {"filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate", "groups",
        "activation", "use_bias", "kernel_initializer", "bias_initializer", "kernel_regularizer",
        "bias_regularizer", "activity_regularizer", "kernel_constraint", "bias_constraint"}},
      // pooling/base_pooling1d.py
      {"MaxPooling1D", {"strides", "pool_size", "padding", "data_format"}},
      // merging/concatenate.py; merging/add.py, subtract.py, multiply.py, average.py (base_merge.py
      // adds no keys to Layer's)
      {"Concatenate", {"axis"}},
      {"Add", {}},
      {"Subtract", {}},
      {"Multiply", {}},
      {"Average", {}},
      // pooling/base_global_pooling1d.py
      {"GlobalMaxPooling1D", {"data_format", "keepdims"}},
      {"GlobalAveragePooling1D", {"data_format", "keepdims"}},
      // reshaping/repeat_vector.py
      {"RepeatVector", {"n"}},
      // core/activation.py
      {"Activation", {"activation"}},
      // attention/base_dense_attention.py + attention/attention.py, additive_attention.py
      {"Attention", {"dropout", "use_scale", "score_mode"}},
      {"AdditiveAttention", {"dropout", "use_scale"}},
  };
  return *keys;
}

// Classes whose __init__ always sets input_shape, so that batch_input_shape is always written.
bool AlwaysHasBatchInputShape(const std::string& class_name) { return class_name == "Embedding"; }

// Keras' initializer configs as serialize_keras_object writes them, literally.
const char* const kGlorotUniform = R"({"class_name": "GlorotUniform", "config": {"seed": null}})";
const char* const kZeros = R"({"class_name": "Zeros", "config": {}})";
const char* const kOrthogonal =
    R"({"class_name": "Orthogonal", "config": {"gain": 1.0, "seed": null}})";
const char* const kEmbeddingUniform =
    R"({"class_name": "RandomUniform", "config": {"minval": -0.05, "maxval": 0.05, "seed": null}})";

// ---------------------------------------------------------------------------------------------
// Checks.

std::string Show(const Keys& keys) { return "{" + absl::StrJoin(keys, ", ") + "}"; }

Keys KeysOf(const Json& object) {
  Keys keys;
  if (!object.is_object()) return keys;
  for (const auto& item : object.items()) keys.insert(item.key());
  return keys;
}

// Keys in `a` and not in `b`.
Keys Minus(const Keys& a, const Keys& b) {
  Keys result;
  for (const std::string& key : a) {
    if (b.count(key) == 0) result.insert(key);
  }
  return result;
}

// Order-insensitive JSON (Keras' dicts have no order a reader may rely on).
nlohmann::json Plain(const Json& value) { return nlohmann::json::parse(value.dump()); }

// `config[key]` equals the JSON literal `keras` (as written in Keras' source).
void ExpectValue(const Json& config, const std::string& key, const std::string& keras) {
  if (!config.is_object() || !config.contains(key)) {
    ADD_FAILURE() << "no key '" << key << "' (tf.keras 2.11 writes " << keras << ")";
    return;
  }
  EXPECT_EQ(Plain(config[key]), nlohmann::json::parse(keras))
      << "key '" << key << "': got " << config[key].dump() << ", tf.keras 2.11 writes " << keras;
}

void ExpectNull(const Json& config, std::initializer_list<const char*> keys) {
  for (const char* key : keys) ExpectValue(config, key, "null");
}

// The default values that Keras' source gives each class, where this library has only those (or
// the layer was built with the defaults: the models below are).
void ExpectKerasDefaults(const std::string& class_name, const Json& config) {
  ExpectValue(config, "trainable", "true");
  ExpectValue(config, "dtype", "\"float32\"");
  if (class_name == "Dense" || class_name == "Conv1D") {
    ExpectValue(config, "use_bias", "true");
    ExpectValue(config, "kernel_initializer", kGlorotUniform);
    ExpectValue(config, "bias_initializer", kZeros);
    ExpectNull(config, {"kernel_regularizer", "bias_regularizer", "activity_regularizer",
                        "kernel_constraint", "bias_constraint"});
  }
  if (class_name == "Conv1D") {
    ExpectValue(config, "strides", "[1]");
    ExpectValue(config, "dilation_rate", "[1]");
    ExpectValue(config, "groups", "1");
    ExpectValue(config, "data_format", "\"channels_last\"");
    // kernel_size is a tuple (normalize_tuple): a list of one.
    EXPECT_TRUE(config.contains("kernel_size") && config["kernel_size"].is_array() &&
                config["kernel_size"].size() == 1)
        << "kernel_size: " << config.value("kernel_size", Json()).dump();
  }
  if (class_name == "MaxPooling1D") {
    ExpectValue(config, "padding", "\"valid\"");
    ExpectValue(config, "data_format", "\"channels_last\"");
    // strides=None becomes pool_size; both tuples.
    EXPECT_TRUE(config.contains("pool_size") && config["pool_size"].is_array() &&
                config["pool_size"].size() == 1)
        << "pool_size: " << config.value("pool_size", Json()).dump();
    EXPECT_EQ(config.value("strides", Json()), config.value("pool_size", Json()))
        << "strides must default to pool_size";
  }
  if (class_name == "GlobalMaxPooling1D" || class_name == "GlobalAveragePooling1D") {
    ExpectValue(config, "data_format", "\"channels_last\"");
    ExpectValue(config, "keepdims", "false");
  }
  if (class_name == "Embedding") {
    ExpectValue(config, "embeddings_initializer", kEmbeddingUniform);
    ExpectNull(config, {"embeddings_regularizer", "activity_regularizer", "embeddings_constraint"});
  }
  if (class_name == "Dropout") ExpectNull(config, {"noise_shape", "seed"});
  if (class_name == "Attention" || class_name == "AdditiveAttention") {
    ExpectValue(config, "dropout", "0.0");
    ExpectValue(config, "use_scale", class_name == "Attention" ? "false" : "true");
  }
  if (class_name == "Attention") ExpectValue(config, "score_mode", "\"dot\"");
  if (class_name == "LSTM" || class_name == "GRU" || class_name == "SimpleRNN") {
    ExpectValue(config, "return_state", "false");
    ExpectValue(config, "stateful", "false");
    ExpectValue(config, "unroll", "false");
    ExpectValue(config, "time_major", "false");
    ExpectValue(config, "activation", "\"tanh\"");
    ExpectValue(config, "use_bias", "true");
    ExpectValue(config, "kernel_initializer", kGlorotUniform);
    ExpectValue(config, "recurrent_initializer", kOrthogonal);
    ExpectValue(config, "bias_initializer", kZeros);
    ExpectNull(config, {"kernel_regularizer", "recurrent_regularizer", "bias_regularizer",
                        "activity_regularizer", "kernel_constraint", "recurrent_constraint",
                        "bias_constraint"});
    ExpectValue(config, "dropout", "0.0");
    ExpectValue(config, "recurrent_dropout", "0.0");
  }
  if (class_name == "LSTM" || class_name == "GRU") {
    ExpectValue(config, "recurrent_activation", "\"sigmoid\"");
    ExpectValue(config, "implementation", "2");
  }
  if (class_name == "LSTM") ExpectValue(config, "unit_forget_bias", "true");
  if (class_name == "GRU") ExpectValue(config, "reset_after", "true");
}

// One entry of model_config's "layers" (or a wrapper's "layer"): {"class_name", "config"} with
// exactly tf.keras 2.11's keys. `batch_input_shape`: the input shape Keras would record for this
// layer (the model's first layer), or null. `values`: check Keras' default values too (off only
// to test the key check alone).
void ExpectKerasLayer(const Json& entry, const Shape* batch_input_shape, bool inner,
                      std::set<std::string>* seen, bool values = true) {
  ASSERT_TRUE(entry.is_object()) << entry.dump();
  EXPECT_EQ(KeysOf(entry), (Keys{"class_name", "config"})) << entry.dump();
  ASSERT_TRUE(entry.contains("class_name") && entry["class_name"].is_string()) << entry.dump();
  const std::string class_name = entry["class_name"].get<std::string>();
  SCOPED_TRACE((inner ? "wrapped layer " : "layer ") + class_name);
  if (seen != nullptr) seen->insert(class_name);
  const auto own = KerasOwnKeys().find(class_name);
  ASSERT_NE(own, KerasOwnKeys().end()) << "'" << class_name << "' is not a tf.keras 2.11 class "
                                       << "listed here";
  ASSERT_TRUE(entry.contains("config") && entry["config"].is_object()) << entry.dump();
  const Json& config = entry["config"];

  Keys expected = kBaseKeys;
  expected.insert(own->second.begin(), own->second.end());
  if (batch_input_shape != nullptr || AlwaysHasBatchInputShape(class_name)) {
    expected.insert("batch_input_shape");
  }
  const Keys got = KeysOf(config);
  EXPECT_EQ(got, expected) << "written but not by tf.keras 2.11: " << Show(Minus(got, expected))
                           << "; written by tf.keras 2.11 but missing: "
                           << Show(Minus(expected, got)) << "\nconfig: " << config.dump();

  EXPECT_TRUE(config.value("name", Json()).is_string()) << config.dump();
  if (values && batch_input_shape != nullptr) {
    Json shape = Json::array({nullptr});
    for (size_t extent : *batch_input_shape) shape.push_back(extent);
    EXPECT_EQ(config.value("batch_input_shape", Json()), shape);
  }
  if (values) ExpectKerasDefaults(class_name, config);

  if (class_name == "Bidirectional" || class_name == "TimeDistributed") {
    ASSERT_TRUE(config.contains("layer")) << config.dump();
    // The wrapped layer is serialized as the layer it was given: no batch_input_shape.
    ExpectKerasLayer(config["layer"], nullptr, /*inner=*/true, seen, values);
  }
  if (values && class_name == "Bidirectional") {
    const Json& layer = config.value("layer", Json::object());
    const std::string inner_class = layer.value("class_name", "");
    EXPECT_TRUE(inner_class == "LSTM" || inner_class == "GRU" || inner_class == "SimpleRNN")
        << inner_class;
    // The layer as passed in (bidirectional.py keeps self.layer, not the go_backwards copy).
    if (layer.contains("config") && layer["config"].is_object()) {
      ExpectValue(layer["config"], "go_backwards", "false");
    }
  }
}

// Every layer of `model`, as the writer writes it into model_config.
void ExpectKerasModel(const Model& model, std::set<std::string>* seen) {
  for (size_t i = 0; i < model.layers().size(); ++i) {
    SCOPED_TRACE("model layer " + std::to_string(i));
    const bool first = i == 0;
    const Json entry = LayerToConfig(*model.layers()[i], first ? &model.input_shape() : nullptr);
    ExpectKerasLayer(entry, first ? &model.input_shape() : nullptr, /*inner=*/false, seen);
  }
}

// The class names registered in layers/config.cc, as LayerFromConfig lists them when refusing an
// unknown class: the test fails when a class is registered that it does not cover.
std::set<std::string> RegisteredClasses() {
  const Json entry = Json::parse(R"({"class_name": "NoSuchLayerClass", "config": {}})");
  absl::StatusOr<LayerFromFile> refused = LayerFromConfig(entry, "probe");
  EXPECT_FALSE(refused.ok());
  const std::string message(refused.status().message());
  const std::string marker = "expected one of: ";
  const size_t begin = message.find(marker);
  EXPECT_NE(begin, std::string::npos) << message;
  if (begin == std::string::npos) return {};
  const size_t end = message.find(')', begin);
  std::set<std::string> names;
  for (absl::string_view name :
       absl::StrSplit(message.substr(begin + marker.size(), end - begin - marker.size()), ", ")) {
    names.insert(std::string(name));
  }
  return names;
}

// ---------------------------------------------------------------------------------------------
// Models that together use every class (each wrapper both first and later, each recurrent class
// both alone and wrapped), all with Keras' defaults where the library has a choice.

std::unique_ptr<Sequential> Compiled(const std::function<void(Sequential&)>& build) {
  auto model = std::make_unique<Sequential>(7);
  build(*model);
  const absl::Status status =
      model->Compile("binary_crossentropy", std::make_unique<autograd::Adam>(), {"acc"});
  EXPECT_TRUE(status.ok()) << status;
  return model;
}

// Graphs with every merging layer and both attention layers (they take several inputs: no
// Sequential model has them).
std::vector<std::unique_ptr<Model>> MergingModels() {
  std::vector<std::unique_ptr<Model>> models;
  KerasTensor a = Input({5, 3}), b = Input({5, 3});
  KerasTensor sum = Add()({a, b}), difference = Subtract()({a, b});
  KerasTensor product = Multiply()({sum, difference}), mean = Average()({a, b, product});
  KerasTensor joined = Concatenate()({mean, a});
  models.push_back(std::make_unique<Model>(std::vector<KerasTensor>{a, b},
                                           std::vector<KerasTensor>{Dense(1)(joined)}));
  EXPECT_TRUE(models.back()->status().ok()) << models.back()->status();
  // The attention layers take several inputs too.
  KerasTensor query = Input({4, 3}), value = Input({5, 3});
  KerasTensor luong = Attention()({query, value}), bahdanau = AdditiveAttention()({query, value});
  models.push_back(std::make_unique<Model>(
      std::vector<KerasTensor>{query, value},
      std::vector<KerasTensor>{Dense(1)(Concatenate()({luong, bahdanau}))}));
  EXPECT_TRUE(models.back()->status().ok()) << models.back()->status();
  return models;
}

std::vector<std::unique_ptr<Sequential>> EveryLayerKind() {
  std::vector<std::unique_ptr<Sequential>> models;
  // Embedding (first) -> Dropout -> Bidirectional(LSTM) -> TimeDistributed(Dense) -> GRU ->
  // SimpleRNN -> Dense.
  models.push_back(Compiled([](Sequential& m) {
    m.Add(Embedding(20, 6, 8, /*mask_zero=*/true));
    m.Add(Dropout(0.25));
    m.Add(Bidirectional(LSTM(LstmOptions(4).return_sequences(true))));
    m.Add(TimeDistributed(Dense(3, "relu")));
    m.Add(GRU(RecurrentOptions(4).return_sequences(true)));
    m.Add(SimpleRNN(3));
    m.Add(Dense(1, "sigmoid"));
  }));
  // Masking (first) -> Bidirectional(SimpleRNN) -> Bidirectional(GRU) -> Dense.
  models.push_back(Compiled([](Sequential& m) {
    m.Add(Masking(), {6, 3});
    m.Add(Bidirectional(SimpleRNN(RecurrentOptions(3).return_sequences(true)), "ave"));
    m.Add(Bidirectional(GRU(3), "sum"));
    m.Add(Dense(1, "sigmoid"));
  }));
  // Conv1D (first) -> MaxPooling1D -> LSTM -> Dropout -> Dense.
  models.push_back(Compiled([](Sequential& m) {
    m.Add(Conv1D(4, 3, "same", "relu"), {10, 3});
    m.Add(MaxPooling1D(2));
    m.Add(LSTM(4));
    m.Add(Dropout(0.5));
    m.Add(Dense(1, "sigmoid"));
  }));
  // Embedding (masked) -> GlobalAveragePooling1D (ends the mask) -> Dense -> RepeatVector ->
  // LSTM -> Activation -> GlobalMaxPooling1D -> Dense.
  models.push_back(Compiled([](Sequential& m) {
    m.Add(Embedding(20, 6, 8, /*mask_zero=*/true));
    m.Add(GlobalAveragePooling1D());
    m.Add(Dense(4, "relu"));
    m.Add(RepeatVector(3));
    m.Add(LSTM(LstmOptions(4).return_sequences(true)));
    m.Add(Activation("tanh"));
    m.Add(GlobalMaxPooling1D());
    m.Add(Dense(1, "sigmoid"));
  }));
  // Activation first (batch_input_shape on it).
  models.push_back(Compiled([](Sequential& m) {
    m.Add(Activation("relu"), {5, 3});
    m.Add(GlobalAveragePooling1D());
    m.Add(Dense(1, "sigmoid"));
  }));
  // Wrappers and recurrent layers as the first layer (batch_input_shape on the wrapper).
  models.push_back(Compiled([](Sequential& m) {
    m.Add(Bidirectional(LSTM(2)), {5, 3});
    m.Add(Dense(1, "sigmoid"));
  }));
  models.push_back(Compiled([](Sequential& m) {
    m.Add(TimeDistributed(Dense(2)), {5, 3});
    m.Add(SimpleRNN(2));
    m.Add(Dense(1, "sigmoid"));
  }));
  models.push_back(Compiled([](Sequential& m) {
    m.Add(GRU(3), {5, 3});
    m.Add(Dense(1, "sigmoid"));
  }));
  models.push_back(Compiled([](Sequential& m) {
    m.Add(LSTM(3), {5, 3});
    m.Add(Dense(1, "sigmoid"));
  }));
  models.push_back(Compiled([](Sequential& m) {
    m.Add(SimpleRNN(3), {5, 3});
    m.Add(Dense(1, "sigmoid"));
  }));
  // Dense first; Embedding without input_length (Keras' input_length=None, input_shape=(8,)).
  models.push_back(Compiled([](Sequential& m) {
    m.Add(Dense(4, "relu"), {3});
    m.Add(Dense(1, "sigmoid"));
  }));
  models.push_back(Compiled([](Sequential& m) {
    m.Add(Embedding(20, 4, 0), {8});
    m.Add(GRU(2));
    m.Add(Dense(1, "sigmoid"));
  }));
  return models;
}

// "Embedding, Dropout, Bidirectional(LSTM), ...": a short trace of a model's layers.
std::string Describe(const Sequential& model) {
  std::vector<std::string> names;
  for (const LayerPtr& layer : model.layers()) {
    const Json entry = LayerToConfig(*layer);
    std::string name = layer->type();
    if (entry["config"].contains("layer")) {
      name += "(" + entry["config"]["layer"].value("class_name", "") + ")";
    }
    names.push_back(name);
  }
  return "model [" + absl::StrJoin(names, ", ") + "]";
}

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir != nullptr ? dir : "/tmp") + "/" + name;
}

// The root attribute `name` of an HDF5 file, a fixed-length string (as the writer stores it).
std::string ReadStringAttribute(const std::string& path, const char* name) {
  std::string value;
  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  EXPECT_GE(file, 0) << path;
  if (file < 0) return value;
  const hid_t attribute = H5Aopen(file, name, H5P_DEFAULT);
  EXPECT_GE(attribute, 0) << name;
  if (attribute >= 0) {
    const hid_t type = H5Aget_type(attribute);
    EXPECT_EQ(H5Tis_variable_str(type), 0) << name;
    const size_t size = H5Tget_size(type);
    value.assign(size, '\0');
    EXPECT_GE(H5Aread(attribute, type, value.data()), 0) << name;
    value.resize(value.find_last_not_of('\0') + 1);
    H5Tclose(type);
    H5Aclose(attribute);
  }
  H5Fclose(file);
  return value;
}

// ---------------------------------------------------------------------------------------------

TEST(ConfigKeys, EveryRegisteredClassIsListedAndCovered) {
  const std::set<std::string> registered = RegisteredClasses();
  EXPECT_EQ(registered.size(), 22u) << absl::StrJoin(registered, ", ");
  for (const std::string& name : registered) {
    EXPECT_EQ(KerasOwnKeys().count(name), 1u) << name << " has no tf.keras 2.11 listing here";
  }
  // The classes the models below use, wrapped ones included (their keys are checked by the
  // other tests).
  std::set<std::string> seen;
  for (const auto& model : EveryLayerKind()) {
    for (const LayerPtr& layer : model->layers()) {
      Json entry = LayerToConfig(*layer);
      seen.insert(entry.value("class_name", ""));
      while (entry["config"].contains("layer")) {
        entry = Json(entry["config"]["layer"]);
        seen.insert(entry.value("class_name", ""));
      }
    }
  }
  for (const auto& model : MergingModels()) {
    for (const LayerPtr& layer : model->layers()) {
      if (layer->type() != "InputLayer") seen.insert(LayerToConfig(*layer).value("class_name", ""));
    }
  }
  EXPECT_EQ(seen, registered) << "covered: " << absl::StrJoin(seen, ", ");
}

TEST(ConfigKeys, MergingLayersWriteTfKeras211Keys) {
  for (const auto& model : MergingModels()) {
    for (const LayerPtr& layer : model->layers()) {
      if (layer->type() == "InputLayer") continue;
      SCOPED_TRACE(layer->name());
      ExpectKerasLayer(LayerToConfig(*layer), nullptr, /*inner=*/false, nullptr);
    }
  }
}

TEST(ConfigKeys, EveryLayerWritesTfKeras211Keys) {
  for (const auto& model : EveryLayerKind()) {
    SCOPED_TRACE(Describe(*model));
    ExpectKerasModel(*model, nullptr);
  }
}

TEST(ConfigKeys, ValuesGivenAtConstructionAreWritten) {
  // (No mask here: Conv1D takes none.)
  auto model = Compiled([](Sequential& m) {
    m.Add(Embedding(20, 6, 8, /*mask_zero=*/false));
    m.Add(Bidirectional(LSTM(LstmOptions(4).return_sequences(true)), "sum"));
    m.Add(Conv1D(5, 3, "same", "relu"));
    m.Add(MaxPooling1D(2));
    m.Add(GRU(3));
    m.Add(Dense(1, "sigmoid"));
  });
  const Json embedding = LayerToConfig(*model->layers()[0], &model->input_shape())["config"];
  ExpectValue(embedding, "input_dim", "20");
  ExpectValue(embedding, "output_dim", "6");
  ExpectValue(embedding, "input_length", "8");
  ExpectValue(embedding, "mask_zero", "false");
  ExpectValue(embedding, "batch_input_shape", "[null, 8]");
  const Json bidirectional = LayerToConfig(*model->layers()[1])["config"];
  ExpectValue(bidirectional, "merge_mode", "\"sum\"");
  ASSERT_TRUE(bidirectional.contains("layer"));
  EXPECT_EQ(bidirectional["layer"].value("class_name", ""), "LSTM");
  ExpectValue(bidirectional["layer"]["config"], "units", "4");
  ExpectValue(bidirectional["layer"]["config"], "return_sequences", "true");
  const Json conv = LayerToConfig(*model->layers()[2])["config"];
  ExpectValue(conv, "filters", "5");
  ExpectValue(conv, "kernel_size", "[3]");
  ExpectValue(conv, "padding", "\"same\"");
  ExpectValue(conv, "activation", "\"relu\"");
  const Json pool = LayerToConfig(*model->layers()[3])["config"];
  ExpectValue(pool, "pool_size", "[2]");
  ExpectValue(pool, "strides", "[2]");
  const Json gru = LayerToConfig(*model->layers()[4])["config"];
  ExpectValue(gru, "units", "3");
  ExpectValue(gru, "return_sequences", "false");
  const Json dense = LayerToConfig(*model->layers()[5])["config"];
  ExpectValue(dense, "units", "1");
  ExpectValue(dense, "activation", "\"sigmoid\"");
  // Keras' Dense(activation=None) writes "linear"; Masking's mask_value defaults to 0.0; Dropout
  // writes its rate.
  auto other = Compiled([](Sequential& m) {
    m.Add(Masking(), {4, 2});
    m.Add(Dropout(0.25));
    m.Add(TimeDistributed(Dense(1)));
  });
  ExpectValue(LayerToConfig(*other->layers()[0], &other->input_shape())["config"], "mask_value",
              "0.0");
  ExpectValue(LayerToConfig(*other->layers()[1])["config"], "rate", "0.25");
  const Json td = LayerToConfig(*other->layers()[2])["config"];
  ASSERT_TRUE(td.contains("layer"));
  ExpectValue(td["layer"]["config"], "activation", "\"linear\"");
  // Activation's name, the global poolings' keepdims, RepeatVector's n.
  auto pooled = Compiled([](Sequential& m) {
    m.Add(Activation("softmax"), {4, 2});
    m.Add(GlobalMaxPooling1D(/*keepdims=*/true));
    m.Add(GlobalAveragePooling1D(/*keepdims=*/true));
    m.Add(GlobalMaxPooling1D());
    m.Add(RepeatVector(5));
    m.Add(Dense(1, "sigmoid"));
  });
  ExpectValue(LayerToConfig(*pooled->layers()[0], &pooled->input_shape())["config"], "activation",
              "\"softmax\"");
  ExpectValue(LayerToConfig(*pooled->layers()[1])["config"], "keepdims", "true");
  ExpectValue(LayerToConfig(*pooled->layers()[2])["config"], "keepdims", "true");
  ExpectValue(LayerToConfig(*pooled->layers()[3])["config"], "keepdims", "false");
  ExpectValue(LayerToConfig(*pooled->layers()[4])["config"], "n", "5");
}

// The check itself: a key dropped from a layer's config, or from a wrapped layer's, or one added,
// is a failure naming it.
TEST(ConfigKeys, TheCheckCatchesDroppedAndExtraKeys) {
  auto model = Compiled([](Sequential& m) {
    m.Add(Dense(4, "relu"), {3});
    m.Add(Dense(1, "sigmoid"));
  });
  auto wrapper = Compiled([](Sequential& m) {
    m.Add(Bidirectional(GRU(2)), {5, 3});
    m.Add(Dense(1, "sigmoid"));
  });
  // EXPECT_NONFATAL_FAILURE's statement sees no local variables.
  static Shape shape, wrapper_shape;
  static Json dropped, added, inner_dropped;
  shape = model->input_shape();
  wrapper_shape = wrapper->input_shape();
  dropped = LayerToConfig(*model->layers()[0], &shape);
  dropped["config"].erase("bias_constraint");
  EXPECT_NONFATAL_FAILURE(ExpectKerasLayer(dropped, &shape, false, nullptr, false),
                          "missing: {bias_constraint}");
  added = LayerToConfig(*model->layers()[1]);
  added["config"]["not_a_keras_key"] = 1;
  EXPECT_NONFATAL_FAILURE(ExpectKerasLayer(added, nullptr, false, nullptr, false),
                          "written but not by tf.keras 2.11: {not_a_keras_key}");
  inner_dropped = LayerToConfig(*wrapper->layers()[0], &wrapper_shape);
  inner_dropped["config"]["layer"]["config"].erase("reset_after");
  EXPECT_NONFATAL_FAILURE(ExpectKerasLayer(inner_dropped, &wrapper_shape, false, nullptr, false),
                          "missing: {reset_after}");
}

// keras/layers/core/embedding.py, Embedding.__init__ (v2.11.0, 126-130): input_shape is set
// whatever the layer's position, so Layer.get_config writes batch_input_shape for every Embedding,
// not only the model's first layer.
TEST(ConfigKeys, EmbeddingAfterTheFirstLayerStillWritesBatchInputShape) {
  auto model = Compiled([](Sequential& m) {
    m.Add(Dropout(0.1), {8});
    m.Add(Embedding(20, 6, 8));
    m.Add(LSTM(3));
    m.Add(Dense(1, "sigmoid"));
  });
  ExpectKerasModel(*model, nullptr);
  ExpectValue(LayerToConfig(*model->layers()[1])["config"], "batch_input_shape", "[null, 8]");
}

// Save and load: the file's model_config, and the loaded model's configs, are checked against the
// listing (not against what the writer wrote).
TEST(ConfigKeys, SavedAndLoadedModelsKeepTfKeras211Keys) {
  int index = 0;
  for (const auto& model : EveryLayerKind()) {
    SCOPED_TRACE(Describe(*model));
    const std::string path = TempPath("config_keys_" + std::to_string(index++) + ".h5");
    const absl::Status saved = saving::SaveModel(*model, path);
    ASSERT_TRUE(saved.ok()) << saved;

    // What the file holds: model_config's layers, each checked as Keras writes it.
    const std::string text = ReadStringAttribute(path, "model_config");
    const Json model_config = Json::parse(text, nullptr, /*allow_exceptions=*/false);
    ASSERT_FALSE(model_config.is_discarded()) << text.substr(0, 200);
    EXPECT_EQ(model_config.value("class_name", ""), "Sequential");
    ASSERT_TRUE(model_config.contains("config") && model_config["config"].is_object());
    const Json layers = model_config["config"].value("layers", Json::array());
    std::vector<const Json*> entries;  // the layers, less a leading InputLayer if any
    for (const Json& entry : layers) {
      if (entries.empty() && entry.value("class_name", "") == "InputLayer") continue;
      entries.push_back(&entry);
    }
    ASSERT_EQ(entries.size(), model->layers().size());
    for (size_t i = 0; i < entries.size(); ++i) {
      SCOPED_TRACE("file layer " + std::to_string(i));
      ExpectKerasLayer(*entries[i], i == 0 ? &model->input_shape() : nullptr, false, nullptr);
    }

    // What the loaded model writes again.
    absl::StatusOr<std::unique_ptr<Model>> loaded = saving::LoadModel(path);
    if (!loaded.ok()) {
      ADD_FAILURE() << "the saved model does not load: " << loaded.status();
      continue;
    }
    ASSERT_EQ((*loaded)->layers().size(), model->layers().size());
    EXPECT_EQ((*loaded)->input_shape(), model->input_shape());
    ExpectKerasModel(**loaded, nullptr);
  }
}

// keras/engine/sequential.py (v2.11.0): Sequential.add creates an InputLayer named
// "<first layer>_input" from the first layer's batch_input_shape (200-223), and get_config lists
// super().layers, which include it (451-464). InputLayer.get_config (input_layer.py 270-281)
// writes batch_input_shape, dtype, sparse, ragged, name.
TEST(ConfigKeys, SavedModelConfigStartsWithAnInputLayerAsTfKeras211) {
  auto model = Compiled([](Sequential& m) {
    m.Add(Dense(4, "relu"), {3});
    m.Add(Dense(1, "sigmoid"));
  });
  const std::string path = TempPath("config_keys_input_layer.h5");
  ASSERT_TRUE(saving::SaveModel(*model, path).ok());
  const Json model_config = Json::parse(ReadStringAttribute(path, "model_config"), nullptr, false);
  ASSERT_FALSE(model_config.is_discarded());
  EXPECT_EQ(KeysOf(model_config), (Keys{"class_name", "config"}));
  // Sequential.get_config: name and layers (build_input_shape only without an input shape).
  EXPECT_EQ(KeysOf(model_config.value("config", Json::object())), (Keys{"name", "layers"}));
  const Json layers = model_config.value("config", Json::object()).value("layers", Json::array());
  ASSERT_EQ(layers.size(), 3u) << "tf.keras 2.11 writes InputLayer, dense, dense_1: "
                               << layers.dump().substr(0, 300);
  EXPECT_EQ(layers[0].value("class_name", ""), "InputLayer");
  const Json input = layers[0].value("config", Json::object());
  EXPECT_EQ(KeysOf(input), (Keys{"batch_input_shape", "dtype", "sparse", "ragged", "name"}));
  ExpectValue(input, "batch_input_shape", "[null, 3]");
  ExpectValue(input, "dtype", "\"float32\"");
  ExpectValue(input, "sparse", "false");
  ExpectValue(input, "ragged", "false");
  ExpectValue(input, "name", "\"dense_input\"");
}

// keras/saving/legacy/saving_utils.py model_metadata (161-177): model_config is the class name
// and model.get_config(); for a graph that is Functional.get_config (keras/engine/functional.py
// 779-782): Model.get_config (engine/training.py 3060-3093, nothing when saving to HDF5) plus
// get_network_config (1524-1606): name, layers, input_layers, output_layers. Each layer entry
// is serialize_keras_object's {class_name, config} with "name" and "inbound_nodes" added; an
// InputLayer's config (engine/input_layer.py 270-281) has batch_input_shape, dtype, sparse,
// ragged and name. Inside get_network_config's SharedObjectSavingScope
// (saving/legacy/serialization.py 147-271) every object serialized through get_config is numbered
// in turn, and "shared_object_id" is added to its config only when it is serialized again: a
// recurrent layer's three initializers, which its get_config serializes and then its cell's
// again (rnn/lstm.py 849-887 with 338-372 and 798-799; rnn/gru.py; rnn/base_rnn.py 947-963).
// For the model below, in tf.keras' layer order (words, seq, embedding, lstm, bidirectional,
// dense, dense_1; depths 3, 2, 2, 1, 1, 0, 0), the numbers are: words 0, seq 1; embedding's
// initializer 2, embedding 3; lstm's kernel, recurrent and bias initializers 4, 5, 6, its cell 7,
// lstm 8; inside bidirectional the GRU's initializers 9, 10, 11, its cell 12, the GRU 13, then
// bidirectional 14; dense 15-17, dense_1 18-20. So only 4, 5, 6 and 9, 10, 11 are written.
TEST(ConfigKeys, FunctionalModelConfigHasTfKeras211Keys) {
  KerasTensor seq = Input({5, 3}, "seq"), words = Input({7}, "words");
  LayerPtr lstm = LSTM(4), embedding = Embedding(10, 3, 7), bidirectional = Bidirectional(GRU(2));
  LayerPtr dense = Dense(1, "sigmoid"), dense_1 = Dense(1);
  lstm->set_name("lstm");
  embedding->set_name("embedding");
  bidirectional->set_name("bidirectional");
  dense->set_name("dense");
  dense_1->set_name("dense_1");
  Model model({seq, words}, {dense(lstm(seq)), dense_1(bidirectional(embedding(words)))}, 1,
              "graph");
  ASSERT_TRUE(model.status().ok()) << model.status();
  ASSERT_TRUE(model.Compile("mse", std::make_unique<autograd::Adam>()).ok());
  const std::string path = TempPath("config_keys_functional.h5");
  ASSERT_TRUE(saving::SaveModel(model, path).ok());
  const Json model_config = Json::parse(ReadStringAttribute(path, "model_config"), nullptr, false);
  ASSERT_FALSE(model_config.is_discarded());
  EXPECT_EQ(KeysOf(model_config), (Keys{"class_name", "config"}));
  EXPECT_EQ(model_config.value("class_name", ""), "Functional");
  const Json config = model_config.value("config", Json::object());
  EXPECT_EQ(KeysOf(config), (Keys{"name", "layers", "input_layers", "output_layers"}));
  ExpectValue(config, "name", "\"graph\"");
  ExpectValue(config, "input_layers", R"([["seq", 0, 0], ["words", 0, 0]])");
  ExpectValue(config, "output_layers", R"([["dense", 0, 0], ["dense_1", 0, 0]])");
  const Json layers = config.value("layers", Json::array());
  std::vector<std::string> names;
  for (const Json& entry : layers) names.push_back(entry.value("name", ""));
  EXPECT_EQ(names, (std::vector<std::string>{"words", "seq", "embedding", "lstm", "bidirectional",
                                             "dense", "dense_1"}));
  // The initializers that carry an id, by where they are: everything else carries none.
  const std::map<std::string, int> kExpectedIds = {
      {"lstm/kernel_initializer", 4},
      {"lstm/recurrent_initializer", 5},
      {"lstm/bias_initializer", 6},
      {"bidirectional/layer/kernel_initializer", 9},
      {"bidirectional/layer/recurrent_initializer", 10},
      {"bidirectional/layer/bias_initializer", 11}};
  std::map<std::string, int> ids;
  for (const Json& entry : layers) {
    const std::string name = entry.value("name", "");
    SCOPED_TRACE("layer " + name);
    EXPECT_EQ(KeysOf(entry), (Keys{"class_name", "config", "name", "inbound_nodes"}));
    Json plain = entry;
    plain.erase("name");
    plain.erase("inbound_nodes");
    // Take the ids out (checked below), then check the layer's keys as every other test does.
    for (Json* layer_config :
         {&plain["config"],
          plain["config"].contains("layer") ? &plain["config"]["layer"]["config"] : nullptr}) {
      if (layer_config == nullptr) continue;
      const std::string where = layer_config == &plain["config"] ? name : name + "/layer";
      for (auto& item : layer_config->items()) {
        if (!item.value().is_object() || !item.value().contains("shared_object_id")) continue;
        EXPECT_EQ(KeysOf(item.value()), (Keys{"class_name", "config", "shared_object_id"}));
        ids[where + "/" + item.key()] = item.value()["shared_object_id"].get<int>();
        item.value().erase("shared_object_id");
      }
    }
    if (entry.value("class_name", "") == "InputLayer") {
      EXPECT_EQ(KeysOf(entry["config"]),
                (Keys{"batch_input_shape", "dtype", "sparse", "ragged", "name"}));
      ExpectValue(entry["config"], "batch_input_shape",
                  name == "seq" ? "[null, 5, 3]" : "[null, 7]");
      EXPECT_EQ(entry["inbound_nodes"], Json::array());
      continue;
    }
    ExpectKerasLayer(plain, nullptr, /*inner=*/false, nullptr);
    EXPECT_EQ(entry["inbound_nodes"].size(), 1u);
  }
  EXPECT_EQ(ids, kExpectedIds);
}

}  // namespace
}  // namespace layers
