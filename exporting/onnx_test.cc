// Each model is exported, run in ONNX Runtime (npm's onnxruntime-node, through onnx_run.js) and
// its outputs compared with Predict's. Weights are random (biases included, so that every
// weight's conversion shows); word-index inputs mix post- and pre-padded samples, a gap, a
// sample of length 1 and a fully masked one.
#include "exporting/onnx.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "exporting/onnx_runtime_testing.h"
#include "autograd/elementwise.h"
#include "layers/attention.h"
#include "layers/convolutional.h"
#include "layers/core.h"
#include "layers/dense.h"
#include "layers/dropout.h"
#include "layers/embedding.h"
#include "layers/functional.h"
#include "layers/masking.h"
#include "layers/merging.h"
#include "layers/pooling.h"
#include "layers/recurrent.h"
#include "layers/sequential.h"
#include "nlohmann/json.hpp"

namespace exporting {
namespace {

using layers::Array;
using layers::kVaries;
using layers::LayerPtr;
using layers::RecurrentOptions;

constexpr double kTolerance = 1e-5;
constexpr size_t kVocabulary = 10;

// Word indices, one row per sample: post-padded of lengths 6, 3 and 1, pre-padded of 3 and 1,
// a gap, and every step masked; cut to the first `time` steps.
Array WordIndices(size_t time) {
  const std::vector<std::vector<float>> rows = {
      {3, 5, 2, 7, 1, 4}, {3, 5, 2, 0, 0, 0}, {4, 0, 0, 0, 0, 0}, {0, 0, 0, 6, 2, 9},
      {0, 0, 0, 0, 0, 8}, {2, 0, 3, 0, 0, 5}, {0, 0, 0, 0, 0, 0}};
  Array x = Array::from_shape({rows.size(), time});
  for (size_t i = 0; i < rows.size(); ++i) {
    for (size_t t = 0; t < time; ++t) x(i, t) = rows[i][t];
  }
  return x;
}

// Values uniform in [-1, 1) of `shape`.
Array RandomArray(const layers::Shape& shape, unsigned seed) {
  std::mt19937 generator(seed);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  Array x = Array::from_shape(shape);
  for (auto& v : x) v = uniform(generator);
  return x;
}

void ExpectSameAsPredict(layers::Model& model, const std::vector<Array>& inputs) {
  const std::string path = TestTempDir() + "/model.onnx";
  absl::Status exported = ExportOnnx(model, path);
  ASSERT_TRUE(exported.ok()) << exported;
  absl::StatusOr<double> difference = MaxDifferenceFromPredict(model, path, inputs);
  ASSERT_TRUE(difference.ok()) << difference.status();
  std::printf("max |onnxruntime - predict| = %.3g\n", *difference);
  EXPECT_LE(*difference, kTolerance);
}

// Embedding(mask_zero) -> `middle` -> `top` on WordIndices(6), as Sequential.
void ExpectMaskedSequentialSame(std::vector<LayerPtr> middle, unsigned seed) {
  layers::Sequential model(seed);
  model.Add(layers::Embedding(kVocabulary, 4, 6, /*mask_zero=*/true));
  for (LayerPtr& layer : middle) model.Add(std::move(layer));
  ASSERT_TRUE(model.Build().ok());
  RandomizeWeights(model, seed);
  ExpectSameAsPredict(model, {WordIndices(6)});
}

TEST(OnnxExport, DenseDropoutActivation) {
  layers::Sequential model(1);
  model.Add(layers::Dense(5, "relu"), {4});
  model.Add(layers::Dropout(0.5));
  model.Add(layers::Dense(6, "tanh"));
  model.Add(layers::Activation("sigmoid"));
  model.Add(layers::Dense(3, "softmax"));
  ASSERT_TRUE(model.Build().ok());
  RandomizeWeights(model, 1);
  ExpectSameAsPredict(model, {RandomArray({5, 4}, 2)});
}

TEST(OnnxExport, UnmaskedConvolutionPoolingLstm) {
  for (const char* padding : {"same", "valid"}) {
    SCOPED_TRACE(padding);
    layers::Sequential model(2);
    model.Add(layers::Embedding(kVocabulary, 4, 7));
    // An even kernel: "same" pads one step more at the end than at the start.
    model.Add(layers::Conv1D(5, 4, padding, "relu"));
    model.Add(layers::MaxPooling1D(2));
    model.Add(layers::LSTM(6));
    model.Add(layers::Dense(1, "sigmoid"));
    ASSERT_TRUE(model.Build().ok());
    RandomizeWeights(model, 3);
    Array x = Array::from_shape({3, 7});
    for (size_t k = 0; k < x.size(); ++k) x.data()[k] = float((k * 7 + 3) % kVocabulary);
    ExpectSameAsPredict(model, {x});
  }
}

TEST(OnnxExport, UnmaskedRecurrentLayersOnFeatures) {
  for (bool sequences : {false, true}) {
    layers::Sequential model(3);
    model.Add(layers::SimpleRNN(RecurrentOptions(5).return_sequences(true)), {6, 3});
    model.Add(layers::GRU(RecurrentOptions(4).return_sequences(true).reset_after(false)));
    model.Add(layers::GRU(RecurrentOptions(4).return_sequences(sequences)));
    ASSERT_TRUE(model.Build().ok());
    RandomizeWeights(model, 4);
    ExpectSameAsPredict(model, {RandomArray({4, 6, 3}, 5)});
  }
}

TEST(OnnxExport, MaskedLstmLastOutput) {
  ExpectMaskedSequentialSame({layers::LSTM(6), layers::Dense(2, "softmax")}, 5);
}

TEST(OnnxExport, MaskedLstmSequenceRepeatsPreviousOutput) {
  ExpectMaskedSequentialSame({layers::LSTM(RecurrentOptions(6).return_sequences(true)),
                              layers::TimeDistributed(layers::Dense(2, "sigmoid"))},
                             6);
}

TEST(OnnxExport, MaskedGruBothResets) {
  for (bool reset_after : {true, false}) {
    for (bool sequences : {true, false}) {
      SCOPED_TRACE(absl::StrCat("reset_after ", reset_after, " return_sequences ", sequences));
      ExpectMaskedSequentialSame(
          {layers::GRU(RecurrentOptions(5).reset_after(reset_after).return_sequences(sequences))},
          7);
    }
  }
}

TEST(OnnxExport, MaskedSimpleRnnAndGoBackwards) {
  for (bool sequences : {true, false}) {
    SCOPED_TRACE(absl::StrCat("return_sequences ", sequences));
    ExpectMaskedSequentialSame(
        {layers::SimpleRNN(RecurrentOptions(5).return_sequences(true).go_backwards(true)),
         layers::LSTM(RecurrentOptions(4).go_backwards(true).return_sequences(sequences))},
        8);
  }
}

TEST(OnnxExport, CellActivations) {
  ExpectMaskedSequentialSame(
      {layers::LSTM(
           RecurrentOptions(5).return_sequences(true).activation("relu").recurrent_activation(
               "hard_sigmoid")),
       layers::GRU(RecurrentOptions(4).activation("linear").recurrent_activation("sigmoid"))},
      9);
}

TEST(OnnxExport, MaskedBidirectionalEveryMergeMode) {
  for (const char* merge_mode : {"concat", "sum", "mul", "ave"}) {
    for (bool sequences : {true, false}) {
      SCOPED_TRACE(absl::StrCat(merge_mode, " return_sequences ", sequences));
      ExpectMaskedSequentialSame(
          {layers::Bidirectional(layers::LSTM(RecurrentOptions(4).return_sequences(sequences)),
                                 merge_mode)},
          10);
    }
  }
}

TEST(OnnxExport, MaskedBidirectionalGruThenDense) {
  ExpectMaskedSequentialSame(
      {layers::Bidirectional(layers::GRU(RecurrentOptions(3).return_sequences(true))),
       layers::Dropout(0.2), layers::TimeDistributed(layers::Dense(2))},
      11);
}

TEST(OnnxExport, MaskingLayer) {
  layers::Sequential model(12);
  model.Add(layers::Masking(0.0), {5, 3});
  model.Add(layers::LSTM(RecurrentOptions(4).return_sequences(true)));
  ASSERT_TRUE(model.Build().ok());
  RandomizeWeights(model, 12);
  Array x = RandomArray({3, 5, 3}, 13);
  for (size_t f = 0; f < 3; ++f) {
    x(0, 3, f) = x(0, 4, f) = 0;                    // post-padded
    x(1, 0, f) = 0;                                 // pre-padded
    for (size_t t = 0; t < 5; ++t) x(2, t, f) = 0;  // every step masked
  }
  ExpectSameAsPredict(model, {x});
}

// A Functional graph of any length: two lengths run through one exported file.
TEST(OnnxExport, FunctionalMergesAnyLength) {
  layers::KerasTensor words = layers::Input({kVaries});
  layers::KerasTensor embedded = layers::Embedding(kVocabulary, 4, 0, true)(words);
  layers::KerasTensor a = layers::Bidirectional(
      layers::LSTM(RecurrentOptions(3).return_sequences(true)), "sum")(embedded);
  layers::KerasTensor b = layers::GRU(RecurrentOptions(3).return_sequences(true))(embedded);
  layers::KerasTensor joined = layers::Concatenate()({a, b});
  layers::KerasTensor added = layers::Add()({a, b});
  layers::KerasTensor pooled = layers::GlobalAveragePooling1D()(
      layers::Concatenate()({joined, layers::Multiply()({added, b})}));
  layers::KerasTensor last = layers::LSTM(2)(layers::Average()({a, layers::Subtract()({a, b})}));
  layers::Model model({words}, {pooled, last}, 13);
  ASSERT_TRUE(model.status().ok()) << model.status();
  ASSERT_TRUE(model.Build().ok());
  RandomizeWeights(model, 14);
  for (size_t time : {6, 3}) {
    SCOPED_TRACE(absl::StrCat("time ", time));
    ExpectSameAsPredict(model, {WordIndices(time)});
  }
}

// An encoder's final state starts a decoder (Keras' return_state and initial_state).
TEST(OnnxExport, FunctionalEncoderDecoderStates) {
  layers::KerasTensor source = layers::Input({kVaries});
  layers::KerasTensor target = layers::Input({kVaries, 3});
  layers::KerasTensors encoder = layers::LSTM(RecurrentOptions(4).return_state(true))(
      layers::Embedding(kVocabulary, 3, 0, true)(source));
  layers::KerasTensors decoder = layers::LSTM(RecurrentOptions(4).return_sequences(true))(
      target, layers::InitialState{encoder[1], encoder[2]});
  layers::KerasTensors bidirectional =
      layers::Bidirectional(layers::GRU(RecurrentOptions(2).return_state(true)),
                            "concat")(layers::Embedding(kVocabulary, 3, 0, true)(source));
  layers::KerasTensor repeated = layers::RepeatVector(2)(bidirectional[0]);
  // A masked layer started from a state (not zero: the target's, unmasked): a sample without real
  // steps keeps that state.
  layers::KerasTensors read_target = layers::LSTM(RecurrentOptions(4).return_state(true))(target);
  layers::KerasTensors resumed =
      layers::LSTM(RecurrentOptions(4).return_state(true).return_sequences(true))(
          layers::Embedding(kVocabulary, 3, 0, true)(source),
          layers::InitialState{read_target[1], read_target[2]});
  layers::Model model(
      {source, target},
      {layers::Dense(5, "softmax")(decoder), repeated, bidirectional[1], bidirectional[2],
       layers::GlobalMaxPooling1D()(target), resumed[0], resumed[1], resumed[2]},
      15);
  ASSERT_TRUE(model.status().ok()) << model.status();
  ASSERT_TRUE(model.Build().ok());
  RandomizeWeights(model, 16);
  ExpectSameAsPredict(model, {WordIndices(6), RandomArray({7, 4, 3}, 17)});
}

// Attention as MatMul and Softmax, with the value's mask, the query's, and the causal mask.
TEST(OnnxExport, AttentionLayers) {
  const std::vector<layers::AttentionOptions> all = {
      layers::AttentionOptions(), layers::AttentionOptions().use_scale(true).use_causal_mask(true),
      layers::AttentionOptions().score_mode("concat").use_scale(true),
      layers::AttentionOptions().score_mode("concat").return_attention_scores(true)};
  for (size_t additive = 0; additive < 2; ++additive) {
    for (size_t k = 0; k < all.size(); ++k) {
      if (additive == 1 && all[k].score_mode_ != "dot") continue;
      SCOPED_TRACE(absl::StrCat(additive ? "AdditiveAttention" : "Attention", " options ", k));
      layers::KerasTensor words = layers::Input({kVaries});
      layers::KerasTensor embedded = layers::Embedding(kVocabulary, 4, 0, true)(words);
      layers::KerasTensor value =
          layers::LSTM(RecurrentOptions(4).return_sequences(true))(embedded);
      layers::KerasTensor query = layers::Input({kVaries, 4});
      layers::KerasTensors attended = (additive ? layers::AdditiveAttention(all[k])
                                                : layers::Attention(all[k]))({query, value});
      std::vector<layers::KerasTensor> outputs(attended.begin(), attended.end());
      // The value attending to itself: the query's mask too.
      layers::AttentionOptions self = all[k];
      self.return_attention_scores(false);
      outputs.push_back(layers::GlobalAveragePooling1D()(
          (additive ? layers::AdditiveAttention(self) : layers::Attention(self))({value, value})));
      layers::Model model({words, query}, outputs, 20);
      ASSERT_TRUE(model.status().ok()) << model.status();
      ASSERT_TRUE(model.Build().ok());
      RandomizeWeights(model, 21 + k);
      ExpectSameAsPredict(model, {WordIndices(6), RandomArray({7, 5, 4}, 22)});
    }
  }
}

// A model called as a layer inside another is inlined.
TEST(OnnxExport, ModelInsideModel) {
  layers::KerasTensor words = layers::Input({kVaries});
  layers::KerasTensor encoded =
      layers::Bidirectional(layers::GRU(3))(layers::Embedding(kVocabulary, 4, 0, true)(words));
  auto encoder =
      std::make_shared<layers::Model>(std::vector<layers::KerasTensor>{words},
                                      std::vector<layers::KerasTensor>{encoded}, 23, "encoder");
  layers::KerasTensor outer_words = layers::Input({kVaries});
  layers::KerasTensor scores = layers::Dense(2, "softmax")(layers::LayerPtr(encoder)(outer_words));
  layers::Model model({outer_words}, {scores}, 24);
  ASSERT_TRUE(model.status().ok()) << model.status();
  ASSERT_TRUE(model.Build().ok());
  RandomizeWeights(model, 25);
  ExpectSameAsPredict(model, {WordIndices(5)});
}

// TimeDistributed around layers other than Dense: the steps become the batch.
TEST(OnnxExport, TimeDistributedAnyLayer) {
  layers::Sequential model(26);
  model.Add(layers::TimeDistributed(layers::Conv1D(2, 2, "valid", "tanh")), {5, 4, 2});
  model.Add(layers::TimeDistributed(layers::LSTM(3)));
  model.Add(layers::TimeDistributed(layers::RepeatVector(2)));
  model.Add(layers::TimeDistributed(layers::Dropout(0.5)));
  ASSERT_TRUE(model.Build().ok());
  RandomizeWeights(model, 27);
  ExpectSameAsPredict(model, {RandomArray({3, 5, 4, 2}, 28)});
}

// A layer of the user's own: the export cannot know it.
class DoubleLayer : public layers::Layer {
 public:
  DoubleLayer() : Layer("Double") {}
  void GetConfig(layers::Json& /*config*/) const override {}

 private:
  absl::StatusOr<layers::Shape> DoBuild(const layers::Shape& input_shape,
                                        layers::Rng& /*rng*/) override {
    return input_shape;
  }
  layers::Tensor DoCall(const layers::Tensor& x, const Array* /*mask*/,
                        const layers::CallContext& /*context*/) override {
    return autograd::Add(x, x);
  }
};

TEST(OnnxExport, RefusesWhatOnnxExportLacks) {
  layers::Sequential model(18);
  model.Add(layers::Dense(2), {4, 3});
  model.Add(layers::TimeDistributed(LayerPtr(std::make_shared<DoubleLayer>())));
  ASSERT_TRUE(model.Build().ok()) << model.Build();
  absl::StatusOr<std::string> bytes = OnnxModelBytes(model);
  ASSERT_FALSE(bytes.ok());
  // The inner layer is named after its wrapper.
  EXPECT_NE(bytes.status().message().find("time_distributed"), std::string::npos)
      << bytes.status();
  EXPECT_NE(bytes.status().message().find("(Double) cannot be exported to ONNX"),
            std::string::npos)
      << bytes.status();
}

TEST(OnnxExport, RefusesAnUnbuiltModel) {
  layers::Sequential model(19);
  model.Add(layers::Dense(2), {3});
  absl::StatusOr<std::string> bytes = OnnxModelBytes(model);
  ASSERT_FALSE(bytes.ok());
  EXPECT_NE(bytes.status().message().find("not built"), std::string::npos) << bytes.status();
}

}  // namespace
}  // namespace exporting
