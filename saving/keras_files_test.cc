// Model files that tf.keras 2.4-2.15 write, loaded. The files are written here, by
// saving/write_keras_files.py with Debian's h5py, in tf.keras' own layout
// (keras/saving/legacy/hdf5_format.py: variable-length strings at the root, the configs of every
// layer with all their default keys, a trained model's training_config and optimizer weights in
// the legacy and the 2.11 naming). The expected predictions and optimizer state come from the
// same script, computed with numpy from the layers' equations: nothing here is derived from
// seqlearn's own writer.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "layers/model.h"
#include "nlohmann/json.hpp"
#include "saving/model_file.h"

// HDF5 1.10.8 leaks a few of its own allocations when it gives up on a damaged file
// (EveryFlippedByteLoadsOrFailsCleanly): not ours to free.
extern "C" const char* __lsan_default_suppressions() { return "leak:libhdf5_serial.so\n"; }

namespace saving {
namespace {

using layers::Array;
using layers::Model;
using layers::Real;
using layers::Shape;
using Json = nlohmann::json;

// The directory the script wrote into, and what it computed.
struct Written {
  std::string dir;
  Json expected;
};

const Written& Files() {
  static const Written* written = [] {
    auto* result = new Written;
    const char* tmp = std::getenv("TEST_TMPDIR");
    result->dir = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/keras_files");
    mkdir(result->dir.c_str(), 0700);
    const std::string command =
        absl::StrCat("/usr/bin/python3 saving/write_keras_files.py '", result->dir, "'");
    if (std::system(command.c_str()) != 0) {
      ADD_FAILURE() << command << " failed: is python3-h5py installed (tools/setup.sh)?";
      return result;
    }
    std::ifstream in(result->dir + "/expected.json");
    result->expected = Json::parse(in, nullptr, /*allow_exceptions=*/false);
    return result;
  }();
  return *written;
}

std::string PathOf(const std::string& name) { return Files().dir + "/" + name + ".h5"; }

// A nested JSON list of numbers as an array of its shape.
Array ArrayFromJson(const Json& value) {
  Shape shape;
  for (const Json* level = &value; level->is_array(); level = &(*level)[0]) {
    shape.push_back(level->size());
  }
  std::vector<Real> flat;
  std::vector<const Json*> stack = {&value};
  // Depth first, left to right: row-major order.
  while (!stack.empty()) {
    const Json* top = stack.back();
    stack.pop_back();
    if (top->is_array()) {
      for (auto it = top->rbegin(); it != top->rend(); ++it) stack.push_back(&*it);
    } else {
      flat.push_back(top->get<Real>());
    }
  }
  Array array = Array::from_shape(shape);
  std::copy(flat.begin(), flat.end(), array.begin());
  return array;
}

void ExpectNear(const Array& got, const Array& expected, double tolerance) {
  ASSERT_EQ(got.shape(), expected.shape());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_NEAR(got.data()[i], expected.data()[i], tolerance) << "at flat index " << i;
  }
}

std::unique_ptr<Model> Load(const std::string& name) {
  absl::StatusOr<std::unique_ptr<Model>> model = LoadModel(PathOf(name));
  EXPECT_TRUE(model.ok()) << model.status();
  return model.ok() ? *std::move(model) : nullptr;
}

// The loaded optimizer's iterations and slots equal what the script stored.
void ExpectOptimizerState(const Model& model, const Json& expected) {
  const autograd::OptimizerState state = model.optimizer()->GetState(model.Parameters());
  EXPECT_EQ(state.iterations, expected["iterations"].get<int64_t>());
  std::vector<std::string> names;
  for (const auto& item : expected["slots"].items()) names.push_back(item.key());
  std::vector<std::string> got_names = state.slot_names;
  std::sort(names.begin(), names.end());
  std::sort(got_names.begin(), got_names.end());
  ASSERT_EQ(got_names, names);
  for (size_t kind = 0; kind < state.slot_names.size(); ++kind) {
    const Json& values = expected["slots"][state.slot_names[kind]];
    ASSERT_EQ(state.slots[kind].size(), values.size());
    for (size_t p = 0; p < values.size(); ++p) {
      const Array& got = state.slots[kind][p];
      ASSERT_EQ(got.size(), values[p].size()) << state.slot_names[kind] << " " << p;
      for (size_t i = 0; i < got.size(); ++i) {
        EXPECT_FLOAT_EQ(got.data()[i], values[p][i].get<float>())
            << state.slot_names[kind] << " of parameter " << p << " at " << i;
      }
    }
  }
}

TEST(KerasFiles, TrainedSequentialOfAnyLengthFromTfKeras211) {
  const Json& expected = Files().expected["trained_sequential_2_11"];
  std::unique_ptr<Model> model = Load("trained_sequential_2_11");
  ASSERT_NE(model, nullptr);
  absl::StatusOr<Array> y = model->Predict(ArrayFromJson(expected["x"]));
  ASSERT_TRUE(y.ok()) << y.status();
  ExpectNear(*y, ArrayFromJson(expected["y"]), 1e-5);
  EXPECT_EQ(model->loss(), "binary_crossentropy");
  EXPECT_EQ(model->metrics(), std::vector<std::string>{"accuracy"});
  EXPECT_EQ(model->optimizer()->name(), "Adam");
  ExpectOptimizerState(*model, expected);
}

TEST(KerasFiles, JsonStoredAsPythonStrLoadsTheSame) {
  const Json& expected = Files().expected["json_as_str"];
  std::unique_ptr<Model> model = Load("json_as_str");
  ASSERT_NE(model, nullptr);
  absl::StatusOr<Array> y = model->Predict(ArrayFromJson(expected["x"]));
  ASSERT_TRUE(y.ok()) << y.status();
  ExpectNear(*y, ArrayFromJson(expected["y"]), 1e-5);
}

TEST(KerasFiles, FunctionalWithNullAxesAndCustomRmspropFromTfKeras213) {
  const Json& expected = Files().expected["functional_2_13"];
  std::unique_ptr<Model> model = Load("functional_2_13");
  ASSERT_NE(model, nullptr);
  for (const auto& item : expected["lengths"].items()) {
    SCOPED_TRACE(absl::StrCat("length ", item.key()));
    absl::StatusOr<Array> y = model->Predict(ArrayFromJson(item.value()["x"]));
    ASSERT_TRUE(y.ok()) << y.status();
    ExpectNear(*y, ArrayFromJson(item.value()["y"]), 1e-5);
  }
  EXPECT_EQ(model->loss(), "categorical_crossentropy");
  EXPECT_EQ(model->metrics(), std::vector<std::string>{"accuracy"});
  EXPECT_EQ(model->optimizer()->name(), "RMSprop");
  ExpectOptimizerState(*model, expected);
}

TEST(KerasFiles, LegacyOptimizerFromTfKeras24) {
  const Json& expected = Files().expected["legacy_sequential_2_4"];
  std::unique_ptr<Model> model = Load("legacy_sequential_2_4");
  ASSERT_NE(model, nullptr);
  absl::StatusOr<Array> y = model->Predict(ArrayFromJson(expected["x"]));
  ASSERT_TRUE(y.ok()) << y.status();
  ExpectNear(*y, ArrayFromJson(expected["y"]), 1e-5);
  ExpectOptimizerState(*model, expected);
}

TEST(KerasFiles, SgdWithoutMomentumFromTfKeras211) {
  const Json& expected = Files().expected["tiny_dense_2_11"];
  std::unique_ptr<Model> model = Load("tiny_dense_2_11");
  ASSERT_NE(model, nullptr);
  absl::StatusOr<Array> y = model->Predict(ArrayFromJson(expected["x"]));
  ASSERT_TRUE(y.ok()) << y.status();
  ExpectNear(*y, ArrayFromJson(expected["y"]), 1e-5);
  EXPECT_EQ(model->optimizer()->name(), "SGD");
  ExpectOptimizerState(*model, expected);
}

// Every other layer this library has, with every default key of its tf.keras 2.11 get_config, as
// tf.keras writes them in Sequential and Functional models (uncompiled: no training_config).
TEST(KerasFiles, ConvPoolingTimeDistributedActivationRepeatVectorFromTfKeras211) {
  const Json& expected = Files().expected["sequential_pooling_2_11"];
  std::unique_ptr<Model> model = Load("sequential_pooling_2_11");
  ASSERT_NE(model, nullptr);
  absl::StatusOr<Array> y = model->Predict(ArrayFromJson(expected["x"]));
  ASSERT_TRUE(y.ok()) << y.status();
  ExpectNear(*y, ArrayFromJson(expected["y"]), 1e-5);
}

// The same model with a time axis of any length (None) predicts the same on those 7 steps.
TEST(KerasFiles, ConvAndMaxPoolingOfAnyLengthFromTfKeras211) {
  const Json& expected = Files().expected["sequential_pooling_2_11"];
  std::unique_ptr<Model> model = Load("sequential_pooling_any_length_2_11");
  ASSERT_NE(model, nullptr);
  absl::StatusOr<Array> y = model->Predict(ArrayFromJson(expected["x"]));
  ASSERT_TRUE(y.ok()) << y.status();
  ExpectNear(*y, ArrayFromJson(expected["y"]), 1e-5);
  // One step is shorter than the kernel: an error naming the layer, not a crash.
  absl::StatusOr<Array> short_input = model->Predict(Array(xt::zeros<Real>({1, 1, 2})));
  ASSERT_FALSE(short_input.ok());
  EXPECT_NE(short_input.status().message().find("conv1d"), std::string::npos)
      << short_input.status();
}

TEST(KerasFiles, MaskingIntoGlobalAveragePoolingFromTfKeras215) {
  const Json& expected = Files().expected["masking_2_15"];
  std::unique_ptr<Model> model = Load("masking_2_15");
  ASSERT_NE(model, nullptr);
  absl::StatusOr<Array> y = model->Predict(ArrayFromJson(expected["x"]));
  ASSERT_TRUE(y.ok()) << y.status();
  ExpectNear(*y, ArrayFromJson(expected["y"]), 1e-5);
}

TEST(KerasFiles, AttentionAndMergingLayersOfTwoInputsFromTfKeras211) {
  const Json& expected = Files().expected["functional_attention_2_11"];
  std::unique_ptr<Model> model = Load("functional_attention_2_11");
  ASSERT_NE(model, nullptr);
  ASSERT_FALSE(expected.empty());
  for (const auto& item : expected.items()) {
    SCOPED_TRACE(absl::StrCat("query and value lengths ", item.key()));
    absl::StatusOr<std::vector<Array>> y = model->Predict(
        {ArrayFromJson(item.value()["query"]), ArrayFromJson(item.value()["value"])});
    ASSERT_TRUE(y.ok()) << y.status();
    ASSERT_EQ(y->size(), 1u);
    ExpectNear((*y)[0], ArrayFromJson(item.value()["y"]), 1e-5);
  }
}

// What this library does not implement, or a damaged file, is an error naming it, never a
// different model.
TEST(KerasFiles, WhatIsNotImplementedOrDamagedIsNamed) {
  const struct {
    const char* file;
    std::vector<std::string> named;
  } cases[] = {
      {"unknown_layer_class", {"layer 'layer_normalization'", "class 'LayerNormalization'"}},
      {"regularizer", {"layer 'lstm' (LSTM)", "'kernel_regularizer'"}},
      {"use_ema", {"optimizer 'Adam'", "'use_ema'"}},
      // A damaged global heap, where HDF5 1.10.8 would read out of bounds or allocate what a
      // flipped length says: refused before HDF5 reads it.
      {"heap_object_overrun",
       {"the file is damaged: its global heap at byte 2048 declares an object of 1099511627776 "
        "bytes"}},
      {"heap_reference_length",
       {"the file is damaged: a variable-length value at byte",
        "declares 268435462 bytes, and "
        "the global heap object it names holds 6"}},
  };
  for (const auto& c : cases) {
    absl::StatusOr<std::unique_ptr<Model>> model = LoadModel(PathOf(c.file));
    ASSERT_FALSE(model.ok()) << c.file;
    const std::string message(model.status().message());
    EXPECT_NE(message.find(PathOf(c.file)), std::string::npos) << message;
    for (const std::string& name : c.named) {
      EXPECT_NE(message.find(name), std::string::npos) << "'" << name << "' in: " << message;
    }
  }
}

// Every byte of a Keras-written file flipped in turn (all 8 bits): the file loads (and predicts
// finite numbers of the right shape) or fails with an error naming it; never a crash or a hang.
// The bytes from `first` in steps of 4: four tests, so that the test's shards (gtest hands out
// tests round-robin) share the 11,640 loads.
void FlipEveryFourthByte(size_t first) {
  const std::string original = PathOf("compiled_dense_2_11");
  std::ifstream in(original, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_FALSE(bytes.empty());
  const Array x = ArrayFromJson(Files().expected["tiny_dense_2_11"]["x"]);
  const std::string damaged = absl::StrCat(Files().dir, "/flipped_", first, ".h5");
  size_t loaded = 0, flipped = 0;
  for (size_t i = first; i < bytes.size(); i += 4, ++flipped) {
    std::string copy = bytes;
    copy[i] = static_cast<char>(copy[i] ^ 0xFF);
    {
      std::ofstream out(damaged, std::ios::binary | std::ios::trunc);
      out << copy;
    }
    absl::StatusOr<std::unique_ptr<Model>> model = LoadModel(damaged);
    if (!model.ok()) {
      EXPECT_NE(model.status().message().find(damaged), std::string::npos)
          << "byte " << i << ": " << model.status();
      continue;
    }
    ++loaded;
    absl::StatusOr<Array> y = (*model)->Predict(x);
    ASSERT_TRUE(y.ok()) << "byte " << i << ": " << y.status();
    ASSERT_EQ(y->shape(), (Shape{x.shape()[0], 1})) << "byte " << i;
    for (Real value : *y) ASSERT_TRUE(std::isfinite(value)) << "byte " << i;
  }
  // Much of an HDF5 file is padding and free space: flips there change nothing.
  EXPECT_GT(loaded, 0u);
  std::cout << flipped << " of " << bytes.size() << " bytes flipped one at a time: " << loaded
            << " files loaded, " << flipped - loaded << " refused\n";
}

TEST(KerasFiles, EveryFlippedByteLoadsOrFailsCleanly0) { FlipEveryFourthByte(0); }
TEST(KerasFiles, EveryFlippedByteLoadsOrFailsCleanly1) { FlipEveryFourthByte(1); }
TEST(KerasFiles, EveryFlippedByteLoadsOrFailsCleanly2) { FlipEveryFourthByte(2); }
TEST(KerasFiles, EveryFlippedByteLoadsOrFailsCleanly3) { FlipEveryFourthByte(3); }

}  // namespace
}  // namespace saving
