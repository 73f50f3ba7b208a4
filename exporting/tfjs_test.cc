// ExportTfjs's files, read back here by hand: model.json as tfjs-converter writes it, the shards'
// little-endian float32 bytes, 4 MiB sharding, the directory replaced whole; and the refusals of
// what TensorFlow.js 4.22 cannot run. (That TensorFlow.js predicts the same from the files is
// tfjs_node_test's.)
#include "exporting/tfjs.h"

#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "exporting/testing.h"
#include "gtest/gtest.h"
#include "layers/attention.h"
#include "layers/config.h"
#include "layers/dense.h"
#include "layers/embedding.h"
#include "layers/functional.h"
#include "layers/merging.h"
#include "layers/model.h"
#include "layers/pooling.h"
#include "layers/recurrent.h"
#include "layers/sequential.h"

namespace exporting {
namespace {

using layers::Array;
using layers::Json;
using layers::KerasTensor;
using layers::KerasTensors;
using layers::kVaries;
using layers::LayerPtr;
using layers::Model;
using layers::RecurrentOptions;
using layers::Sequential;

// Whether `status`'s message holds `text` (the message is shown when it does not).
::testing::AssertionResult Mentions(const absl::Status& status, const std::string& text) {
  if (std::string(status.message()).find(text) != std::string::npos) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "'" << text << "' not in: " << status;
}

std::set<std::string> Names(const std::string& directory) {
  std::set<std::string> names;
  if (DIR* dir = opendir(directory.c_str())) {
    while (const dirent* entry = readdir(dir)) {
      if (std::strcmp(entry->d_name, ".") != 0 && std::strcmp(entry->d_name, "..") != 0) {
        names.insert(entry->d_name);
      }
    }
    closedir(dir);
  }
  return names;
}

std::string ReadFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::stringstream bytes;
  bytes << file.rdbuf();
  return bytes.str();
}

// Little-endian float32 values, decoded byte by byte.
std::vector<float> DecodeFloat32(const std::string& bytes) {
  std::vector<float> values(bytes.size() / 4);
  for (size_t i = 0; i < values.size(); ++i) {
    uint32_t bits = 0;
    for (int b = 3; b >= 0; --b) bits = (bits << 8) | static_cast<uint8_t>(bytes[4 * i + b]);
    std::memcpy(&values[i], &bits, sizeof(bits));
  }
  return values;
}

std::vector<float> FlatWeights(const Model& model) {
  std::vector<float> values;
  for (const Array& weight : model.GetWeights()) {
    for (size_t i = 0; i < weight.size(); ++i) values.push_back(weight.data()[i]);
  }
  return values;
}

std::unique_ptr<Sequential> Built(std::vector<LayerPtr> layers, uint64_t seed = 1) {
  auto model = std::make_unique<Sequential>(seed);
  for (LayerPtr& layer : layers) model->Add(std::move(layer));
  EXPECT_TRUE(model->Build().ok()) << model->Build();
  return model;
}

std::unique_ptr<Sequential> SmallModel() {
  return Built({layers::Embedding(10, 4, 7, /*mask_zero=*/true), layers::LSTM(5),
                layers::Dense(2, "softmax")});
}

// 20,000 x 60 embeddings and a Dense: 1,200,062 floats, 4,800,248 bytes, over two shards.
std::unique_ptr<Sequential> LargeModel() {
  return Built({layers::Embedding(20000, 60, 3), layers::LSTM(1)}, 2);
}

TEST(Tfjs, ModelJsonIsTheConvertersLayout) {
  const std::string directory = TestTempDir() + "/small";
  ASSERT_TRUE(ExportTfjs(*SmallModel(), directory).ok());
  const Json model = Json::parse(ReadFile(directory + "/model.json"));
  std::vector<std::string> keys;
  for (const auto& item : model.items()) keys.push_back(item.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"format", "generatedBy", "convertedBy", "modelTopology",
                                            "weightsManifest"}));
  EXPECT_EQ(model["format"], "layers-model");
  EXPECT_EQ(model["generatedBy"], "keras v2.11.0");
  EXPECT_EQ(model["modelTopology"]["keras_version"], "2.11.0");
  EXPECT_EQ(model["modelTopology"]["backend"], "tensorflow");
  const Json& config = model["modelTopology"]["model_config"];
  EXPECT_EQ(config["class_name"], "Sequential");
  ASSERT_EQ(config["config"]["layers"].size(), 4u);  // InputLayer, Embedding, LSTM, Dense
  EXPECT_EQ(config["config"]["layers"][2]["class_name"], "LSTM");
  EXPECT_EQ(config["config"]["layers"][2]["config"]["units"], 5);

  // Keras' weight names without the ":0" output slot, as the converter writes them.
  const Json expected = Json::parse(R"([{"paths": ["group1-shard1of1.bin"], "weights": [
      {"name": "embedding/embeddings", "shape": [10, 4], "dtype": "float32"},
      {"name": "lstm/lstm_cell/kernel", "shape": [4, 20], "dtype": "float32"},
      {"name": "lstm/lstm_cell/recurrent_kernel", "shape": [5, 20], "dtype": "float32"},
      {"name": "lstm/lstm_cell/bias", "shape": [20], "dtype": "float32"},
      {"name": "dense/kernel", "shape": [5, 2], "dtype": "float32"},
      {"name": "dense/bias", "shape": [2], "dtype": "float32"}]}])");
  EXPECT_EQ(model["weightsManifest"], expected);
  EXPECT_EQ(Names(directory), (std::set<std::string>{"model.json", "group1-shard1of1.bin"}));
}

TEST(Tfjs, ShardHoldsTheWeightsAsLittleEndianFloat32InManifestOrder) {
  auto model = SmallModel();
  const std::string directory = TestTempDir() + "/small";
  ASSERT_TRUE(ExportTfjs(*model, directory).ok());
  const std::string bytes = ReadFile(directory + "/group1-shard1of1.bin");
  // 10*4 + 4*20 + 5*20 + 20 + 5*2 + 2 values.
  ASSERT_EQ(bytes.size(), 4u * (40 + 80 + 100 + 20 + 10 + 2));
  EXPECT_EQ(DecodeFloat32(bytes), FlatWeights(*model));
}

TEST(Tfjs, LargeWeightsAreCutIntoShardsOfFourMebibytes) {
  auto model = LargeModel();
  const std::string directory = TestTempDir() + "/large";
  ASSERT_TRUE(ExportTfjs(*model, directory).ok());
  const Json model_json = Json::parse(ReadFile(directory + "/model.json"));
  EXPECT_EQ(model_json["weightsManifest"][0]["paths"],
            Json::parse(R"(["group1-shard1of2.bin", "group1-shard2of2.bin"])"));
  const std::string first = ReadFile(directory + "/group1-shard1of2.bin");
  const std::string second = ReadFile(directory + "/group1-shard2of2.bin");
  EXPECT_EQ(first.size(), size_t{4} << 20);
  EXPECT_EQ(first.size() + second.size(), 4u * (20000 * 60 + 60 * 4 + 1 * 4 + 4));
  EXPECT_EQ(DecodeFloat32(first + second), FlatWeights(*model));
}

TEST(Tfjs, AnEarlierExportIsReplacedWhole) {
  const std::string parent = TestTempDir();
  const std::string directory = parent + "/model";
  ASSERT_TRUE(ExportTfjs(*LargeModel(), directory).ok());
  auto small = SmallModel();
  ASSERT_TRUE(ExportTfjs(*small, directory + "/").ok());
  // The large export's two shards are gone with it; no temporary is left beside.
  EXPECT_EQ(Names(directory), (std::set<std::string>{"model.json", "group1-shard1of1.bin"}));
  EXPECT_EQ(DecodeFloat32(ReadFile(directory + "/group1-shard1of1.bin")), FlatWeights(*small));
  EXPECT_EQ(Names(parent), std::set<std::string>{"model"});
}

TEST(Tfjs, AnEmptyDirectoryIsFilled) {
  const std::string directory = TestTempDir();
  ASSERT_TRUE(ExportTfjs(*SmallModel(), directory).ok());
  EXPECT_EQ(Names(directory), (std::set<std::string>{"model.json", "group1-shard1of1.bin"}));
}

TEST(Tfjs, ADirectoryWithOtherFilesIsLeftAlone) {
  const std::string directory = TestTempDir();
  std::ofstream(directory + "/notes.txt") << "mine";
  const absl::Status status = ExportTfjs(*SmallModel(), directory);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  EXPECT_TRUE(Mentions(status, "notes.txt"));
  EXPECT_EQ(Names(directory), std::set<std::string>{"notes.txt"});
  EXPECT_EQ(ReadFile(directory + "/notes.txt"), "mine");
}

TEST(Tfjs, AFileInThePlaceIsLeftAlone) {
  const std::string parent = TestTempDir();
  std::ofstream(parent + "/model") << "mine";
  const absl::Status status = ExportTfjs(*SmallModel(), parent + "/model");
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  EXPECT_TRUE(Mentions(status, "not a directory"));
  EXPECT_EQ(ReadFile(parent + "/model"), "mine");
  EXPECT_EQ(Names(parent), std::set<std::string>{"model"});
}

TEST(Tfjs, AMissingParentIsAnError) {
  const std::string parent = TestTempDir();
  const absl::Status status = ExportTfjs(*SmallModel(), parent + "/absent/model");
  EXPECT_FALSE(status.ok());
  EXPECT_TRUE(Mentions(status, "absent"));
  EXPECT_TRUE(Names(parent).empty());
}

TEST(Tfjs, AModelNotBuiltIsRefused) {
  Sequential model;
  model.Add(layers::Dense(2), {3});
  const absl::Status status = ExportTfjs(model, TestTempDir() + "/model");
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  EXPECT_TRUE(Mentions(status, "not built"));
}

// Refused: the status is Unimplemented, names the layer and the feature, and nothing is written.
void ExpectRefused(const Model& model, const std::string& layer, const std::string& feature) {
  const std::string parent = TestTempDir();
  const absl::Status status = ExportTfjs(model, parent + "/model");
  EXPECT_EQ(status.code(), absl::StatusCode::kUnimplemented) << status;
  EXPECT_TRUE(Mentions(status, absl::StrCat("layer '", layer, "'")));
  EXPECT_TRUE(Mentions(status, feature));
  EXPECT_TRUE(Names(parent).empty());
}

TEST(TfjsRefuses, GruWithResetAfter) {
  ExpectRefused(*Built({layers::Embedding(10, 4, 7), layers::GRU(3)}), "gru", "reset_after=true");
  ExpectRefused(*Built({layers::Embedding(10, 4, 7), layers::Bidirectional(layers::GRU(3))}),
                "bidirectional", "reset_after=true");
  // reset_after=false is exported.
  EXPECT_TRUE(CheckTfjsExpressible(*Built({layers::Embedding(10, 4, 7),
                                           layers::GRU(RecurrentOptions(3).reset_after(false))}))
                  .ok());
}

TEST(TfjsRefuses, LayersTensorFlowJsLacks) {
  KerasTensor query = layers::Input({kVaries, 4}), value = layers::Input({kVaries, 4});
  KerasTensor attended = layers::Attention()({query, value});
  Model attention({query, value}, {attended}, 1, "attention_model");
  ASSERT_TRUE(attention.Build().ok());
  ExpectRefused(attention, "attention", "no Attention layer");

  KerasTensor additive = layers::AdditiveAttention()({query, value});
  Model bahdanau({query, value}, {additive}, 1, "bahdanau");
  ASSERT_TRUE(bahdanau.Build().ok());
  ExpectRefused(bahdanau, "additive_attention", "no AdditiveAttention layer");

  KerasTensor a = layers::Input({3}), b = layers::Input({3});
  Model subtract({a, b}, {layers::Subtract()({a, b})}, 1, "difference");
  ASSERT_TRUE(subtract.Build().ok());
  ExpectRefused(subtract, "subtract", "no Subtract layer");
}

TEST(TfjsRefuses, BidirectionalSequencesOnAMaskedInput) {
  const auto bidirectional = [](bool mask_zero) {
    return Built({layers::Embedding(10, 4, 7, mask_zero),
                  layers::Bidirectional(layers::LSTM(RecurrentOptions(3).return_sequences(true)))});
  };
  ExpectRefused(*bidirectional(true), "bidirectional", "zero_output_for_mask");
  EXPECT_TRUE(CheckTfjsExpressible(*bidirectional(false)).ok());
}

TEST(TfjsRefuses, GlobalAveragePoolingOnAMaskedInput) {
  const auto pooled = [](bool mask_zero) {
    return Built({layers::Embedding(10, 4, 7, mask_zero), layers::GlobalAveragePooling1D()});
  };
  ExpectRefused(*pooled(true), "global_average_pooling1d", "averages the real steps only");
  EXPECT_TRUE(CheckTfjsExpressible(*pooled(false)).ok());
}

TEST(TfjsRefuses, ElementwiseMergeOfMaskedInputs) {
  for (bool mask_zero : {true, false}) {
    KerasTensor words = layers::Input({kVaries});
    KerasTensor embedded = layers::Embedding(10, 4, kVaries, mask_zero)(words);
    KerasTensor forward = layers::LSTM(RecurrentOptions(3).return_sequences(true))(embedded);
    KerasTensor backward =
        layers::LSTM(RecurrentOptions(3).return_sequences(true).go_backwards(true))(embedded);
    Model model({words}, {layers::Add()({forward, backward})}, 1, "merged");
    ASSERT_TRUE(model.Build().ok());
    if (mask_zero) {
      ExpectRefused(model, "add", "Merge.computeMask");
    } else {
      EXPECT_TRUE(CheckTfjsExpressible(model).ok());
    }
  }
}

TEST(TfjsRefuses, InitialStateWithAMaskedInput) {
  for (bool mask_zero : {true, false}) {
    KerasTensor source = layers::Input({kVaries, 3}), target = layers::Input({kVaries});
    KerasTensors encoder = layers::LSTM(RecurrentOptions(4).return_state(true))(source);
    KerasTensor embedded = layers::Embedding(10, 3, kVaries, mask_zero)(target);
    LayerPtr decoder = layers::LSTM(RecurrentOptions(4).return_sequences(true));
    decoder->set_name("decoder");
    KerasTensor decoded = decoder(embedded, layers::InitialState{encoder[1], encoder[2]});
    Model model({source, target}, {decoded}, 1, "seq2seq");
    ASSERT_TRUE(model.Build().ok());
    if (mask_zero) {
      ExpectRefused(model, "decoder", "initial_state with a masked input");
    } else {
      EXPECT_TRUE(CheckTfjsExpressible(model).ok());
    }
  }
}

// TensorFlow.js 4.22 fails at predict ("Cannot read properties of undefined (reading
// 'backend')") when the output and a state of one return_state call are both used.
TEST(TfjsRefuses, ReturnStateOutputUsedWithItsState) {
  for (bool output_used : {true, false}) {
    KerasTensor source = layers::Input({kVaries, 3});
    LayerPtr encoder_layer = layers::LSTM(RecurrentOptions(4).return_state(true));
    encoder_layer->set_name("encoder");
    KerasTensors encoder = encoder_layer(source);
    std::vector<KerasTensor> outputs = {layers::Dense(2)(encoder[1])};
    if (output_used) outputs.push_back(layers::Dense(2)(encoder[0]));
    Model model({source}, outputs, 1, "states");
    ASSERT_TRUE(model.Build().ok());
    if (output_used) {
      ExpectRefused(model, "encoder", "return_state");
    } else {
      EXPECT_TRUE(CheckTfjsExpressible(model).ok());
    }
  }
}

TEST(TfjsRefuses, ReturnStateOnAMaskedInput) {
  for (bool bidirectional : {false, true}) {
    for (bool mask_zero : {true, false}) {
      KerasTensor words = layers::Input({kVaries});
      KerasTensor embedded = layers::Embedding(10, 4, kVaries, mask_zero)(words);
      LayerPtr encoder_layer = layers::LSTM(RecurrentOptions(3).return_state(true));
      if (bidirectional) encoder_layer = layers::Bidirectional(encoder_layer);
      encoder_layer->set_name("encoder");
      KerasTensors encoder = encoder_layer(embedded);
      Model model({words}, {layers::Dense(2)(encoder[1])}, 1, "states");
      ASSERT_TRUE(model.Build().ok()) << model.Build();
      if (mask_zero) {
        ExpectRefused(model, "encoder", "return_state on a masked input");
      } else {
        EXPECT_TRUE(CheckTfjsExpressible(model).ok());
      }
    }
  }
}

TEST(TfjsRefuses, AModelInsideAModel) {
  KerasTensor inner_input = layers::Input({3});
  LayerPtr inner =
      std::make_shared<Model>(std::vector<KerasTensor>{inner_input},
                              std::vector<KerasTensor>{layers::Dense(2)(inner_input)}, 1, "inner");
  KerasTensor outer_input = layers::Input({3});
  Model outer({outer_input}, {layers::Dense(1)(inner(outer_input))}, 1, "outer");
  ASSERT_TRUE(outer.Build().ok()) << outer.Build();
  ExpectRefused(outer, "inner", "a model nested inside this model");
}

}  // namespace
}  // namespace exporting
