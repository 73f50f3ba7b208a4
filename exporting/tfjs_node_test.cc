// Models exported by ExportTfjs, loaded by TensorFlow.js 4.22 in node (tfjs_predict.js, an
// implementation independent of ours), predict what Predict does to 1e-5: every layer TensorFlow.js
// can express, masked where it can be, on inputs of several lengths, pre- and post-padded, with a
// sample of length 1 and one fully masked. Weights are random (every one, biases included).
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "autograd/random.h"
#include "exporting/testing.h"
#include "exporting/tfjs.h"
#include "gtest/gtest.h"
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

namespace exporting {
namespace {

using autograd::Rng;
using layers::Array;
using layers::Json;
using layers::KerasTensor;
using layers::KerasTensors;
using layers::kVaries;
using layers::LayerPtr;
using layers::Model;
using layers::Real;
using layers::RecurrentOptions;
using layers::Sequential;
using layers::Shape;

constexpr double kTolerance = 1e-5;
constexpr size_t kVocabulary = 10;

// Word indices [7 samples, time] in [1, kVocabulary), 0 padding: a full row, length 3 pre- and
// post-padded, length 1 pre- and post-padded, a fully masked row, and length time - 2.
Array Words(size_t time, uint64_t seed) {
  Rng rng(seed);
  const auto word = [&] { return static_cast<Real>(1 + rng.Below(kVocabulary - 1)); };
  Array x = xt::zeros<Real>({size_t{7}, time});
  const size_t three = std::min<size_t>(3, time), most = time > 2 ? time - 2 : 1;
  for (size_t t = 0; t < time; ++t) x(0, t) = word();
  for (size_t t = time - three; t < time; ++t) x(1, t) = word();
  for (size_t t = 0; t < three; ++t) x(2, t) = word();
  x(3, time - 1) = word();
  x(4, 0) = word();
  for (size_t t = time - most; t < time; ++t) x(6, t) = word();
  return x;
}

// Features [7 samples, time, features] in [-1, 1), zero vectors where Words(time, seed) pads
// (what Masking masks).
Array PaddedFeatures(size_t time, size_t features, uint64_t seed) {
  const Array words = Words(time, seed);
  Rng rng(seed + 1);
  Array x = autograd::RandomUniform({7, time, features}, -1, 1, rng);
  for (size_t i = 0; i < 7; ++i) {
    for (size_t t = 0; t < time; ++t) {
      if (words(i, t) == 0) {
        for (size_t f = 0; f < features; ++f) x(i, t, f) = 0;
      }
    }
  }
  return x;
}

Json ArrayJson(const Array& value) {
  Json shape = Json::array(), data = Json::array();
  for (size_t extent : value.shape()) shape.push_back(extent);
  for (size_t i = 0; i < value.size(); ++i) data.push_back(static_cast<double>(value.data()[i]));
  return Json{{"shape", shape}, {"data", data}};
}

// Exports `model`, has TensorFlow.js predict each batch of inputs (one array per model input),
// and expects every output within kTolerance of Predict's. Prints the largest difference.
void ExpectTfjsPredictsAsPredict(Model& model, const std::vector<std::vector<Array>>& batches) {
  const std::string directory = TestTempDir();
  const absl::Status exported = ExportTfjs(model, directory + "/model");
  ASSERT_TRUE(exported.ok()) << exported;
  Json inputs = Json::array();
  for (const std::vector<Array>& batch : batches) {
    Json arrays = Json::array();
    for (const Array& x : batch) arrays.push_back(ArrayJson(x));
    inputs.push_back(std::move(arrays));
  }
  std::ofstream(directory + "/inputs.json") << inputs.dump();

  const std::string runfiles = std::getenv("TEST_SRCDIR");
  const std::string command =
      absl::StrCat("NODE_PATH='", runfiles, "/npm/node_modules' node '", runfiles,
                   "/seqlearn/exporting/tfjs_predict.js' '", directory, "' 2>&1");
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string log;
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof(buffer), pipe)) log.append(buffer, n);
  const int exit_status = pclose(pipe);
  ASSERT_TRUE(WIFEXITED(exit_status) && WEXITSTATUS(exit_status) == 0) << command << "\n" << log;

  std::ifstream file(directory + "/outputs.json");
  std::stringstream text;
  text << file.rdbuf();
  const Json outputs = Json::parse(text.str());
  ASSERT_FALSE(outputs.is_object() && outputs.contains("error"))
      << "TensorFlow.js: " << outputs["error"].get<std::string>();
  ASSERT_EQ(outputs.size(), batches.size());

  double largest = 0;
  for (size_t b = 0; b < batches.size(); ++b) {
    absl::StatusOr<std::vector<Array>> expected = model.Predict(batches[b], /*batch_size=*/4);
    ASSERT_TRUE(expected.ok()) << expected.status();
    ASSERT_EQ(outputs[b].size(), expected->size()) << "batch " << b;
    for (size_t o = 0; o < expected->size(); ++o) {
      const Array& ours = (*expected)[o];
      const Json& theirs = outputs[b][o];
      EXPECT_EQ(theirs["shape"], ArrayJson(ours)["shape"]) << "batch " << b << ", output " << o;
      ASSERT_EQ(theirs["data"].size(), ours.size()) << "batch " << b << ", output " << o;
      for (size_t i = 0; i < ours.size(); ++i) {
        // JSON has no NaN: JSON.stringify writes null. Both NaN (0 / 0 in both) count as equal.
        const double their = theirs["data"][i].is_number() ? theirs["data"][i].get<double>() : NAN;
        const double our = static_cast<double>(ours.data()[i]);
        const double difference = std::isnan(their) && std::isnan(our)   ? 0
                                  : std::isnan(their) || std::isnan(our) ? INFINITY
                                                                         : std::abs(their - our);
        largest = std::max(largest, difference);
        EXPECT_LE(difference, kTolerance)
            << "batch " << b << ", output " << o << ", flat index " << i << ": TensorFlow.js "
            << theirs["data"][i] << ", Predict " << ours.data()[i];
      }
    }
  }
  std::cout << "max |TensorFlow.js - Predict| = " << largest << "\n";
}

// A Sequential model on Words(time) of the given layers, built, with random weights.
std::unique_ptr<Sequential> SequentialOf(size_t time, std::vector<LayerPtr> layers, uint64_t seed) {
  auto model = std::make_unique<Sequential>(seed);
  for (LayerPtr& layer : layers) model->Add(std::move(layer));
  EXPECT_TRUE(model->Build().ok()) << model->Build();
  RandomizeWeights(*model, seed + 100);
  return model;
}

TEST(TfjsNode, MaskedLstmSequencesThroughTimeDistributedDense) {
  auto model = SequentialOf(7,
                            {layers::Embedding(kVocabulary, 4, 7, /*mask_zero=*/true),
                             layers::LSTM(RecurrentOptions(5).return_sequences(true)),
                             layers::TimeDistributed(layers::Dense(3, "softmax"))},
                            1);
  ExpectTfjsPredictsAsPredict(*model, {{Words(7, 11)}});
}

TEST(TfjsNode, MaskedSimpleRnnBackwardsAndLastOutput) {
  auto model = SequentialOf(
      7,
      {layers::Embedding(kVocabulary, 4, 7, /*mask_zero=*/true),
       layers::SimpleRNN(RecurrentOptions(5).return_sequences(true).go_backwards(true)),
       layers::SimpleRNN(RecurrentOptions(3).activation("relu")), layers::Dense(2, "sigmoid")},
      2);
  ExpectTfjsPredictsAsPredict(*model, {{Words(7, 12)}});
}

TEST(TfjsNode, MaskedGruResetBefore) {
  auto model = SequentialOf(
      7,
      {layers::Embedding(kVocabulary, 4, 7, /*mask_zero=*/true),
       layers::GRU(RecurrentOptions(5).reset_after(false).return_sequences(true)),
       layers::GRU(RecurrentOptions(4).reset_after(false).recurrent_activation("hard_sigmoid")),
       layers::Dense(1)},
      3);
  ExpectTfjsPredictsAsPredict(*model, {{Words(7, 13)}});
}

TEST(TfjsNode, MaskedBidirectionalLastOutputInEveryMergeMode) {
  for (const char* merge_mode : {"sum", "mul", "ave", "concat"}) {
    SCOPED_TRACE(merge_mode);
    auto model = SequentialOf(
        7,
        {layers::Embedding(kVocabulary, 4, 7, /*mask_zero=*/true),
         layers::Bidirectional(layers::LSTM(5), merge_mode), layers::Dense(2, "softmax")},
        4);
    ExpectTfjsPredictsAsPredict(*model, {{Words(7, 14)}});
  }
}

TEST(TfjsNode, BidirectionalSequencesInEveryMergeMode) {
  for (const char* merge_mode : {"sum", "mul", "ave", "concat"}) {
    SCOPED_TRACE(merge_mode);
    auto model = SequentialOf(
        7,
        {layers::Embedding(kVocabulary, 4, 7),
         layers::Bidirectional(layers::LSTM(RecurrentOptions(5).return_sequences(true)),
                               merge_mode),
         layers::Bidirectional(
             layers::GRU(RecurrentOptions(3).reset_after(false).return_sequences(true)),
             merge_mode),
         layers::TimeDistributed(layers::Dense(1, "sigmoid"))},
        5);
    ExpectTfjsPredictsAsPredict(*model, {{Words(7, 15)}});
  }
}

TEST(TfjsNode, ConvolutionPoolingDropout) {
  auto model =
      SequentialOf(8,
                   {layers::Embedding(kVocabulary, 4, 8), layers::Conv1D(6, 3, "same", "relu"),
                    layers::MaxPooling1D(2), layers::Dropout(0.3), layers::Conv1D(5, 2, "valid"),
                    layers::LSTM(4), layers::Dropout(0.5), layers::Dense(1, "sigmoid")},
                   6);
  ExpectTfjsPredictsAsPredict(*model, {{Words(8, 16)}});
}

TEST(TfjsNode, MaskingLayerWithDropout) {
  auto model = std::make_unique<Sequential>(7);
  model->Add(layers::Masking(), {7, 3});
  model->Add(layers::Dropout(0.2));
  model->Add(layers::LSTM(RecurrentOptions(4).return_sequences(true)));
  model->Add(layers::GlobalMaxPooling1D());
  model->Add(layers::Dense(2));
  ASSERT_TRUE(model->Build().ok());
  RandomizeWeights(*model, 107);
  ExpectTfjsPredictsAsPredict(*model, {{PaddedFeatures(7, 3, 17)}});
}

// A graph of any input length: two branches of the masked embedding merged, two outputs.
TEST(TfjsNode, FunctionalGraphOfSeveralLengths) {
  KerasTensor words = layers::Input({kVaries}, "words");
  KerasTensor embedded = layers::Embedding(kVocabulary, 4, kVaries, /*mask_zero=*/true)(words);
  KerasTensor lstm = layers::LSTM(RecurrentOptions(4).return_sequences(true))(embedded);
  KerasTensor gru =
      layers::GRU(RecurrentOptions(3).reset_after(false).return_sequences(true))(embedded);
  KerasTensor merged = layers::Concatenate()({lstm, gru});
  KerasTensor summary = layers::LSTM(3)(merged);
  KerasTensor classes = layers::Dense(2, "softmax")(summary);
  // Dense on the sequence, not TimeDistributed: our Predict cannot run TimeDistributed where the
  // length varies (it reshapes to time 0).
  KerasTensor steps = layers::Dense(1, "tanh")(merged);
  Model model({words}, {classes, steps}, /*seed=*/8, "two_heads");
  ASSERT_TRUE(model.Build().ok()) << model.Build();
  RandomizeWeights(model, 108);
  ExpectTfjsPredictsAsPredict(model, {{Words(7, 18)}, {Words(3, 19)}, {Words(1, 20)}});
}

// Encoder-decoder (unmasked): the encoder's final state starts the decoder; two inputs of any
// length.
TEST(TfjsNode, FunctionalEncoderStatesStartTheDecoder) {
  KerasTensor source = layers::Input({kVaries, 3}, "source");
  KerasTensor target = layers::Input({kVaries, 2}, "target");
  KerasTensors encoder = layers::LSTM(RecurrentOptions(4).return_state(true))(source);
  KerasTensor decoded = layers::LSTM(RecurrentOptions(4).return_sequences(true))(
      target, layers::InitialState{encoder[1], encoder[2]});
  KerasTensor output = layers::Dense(3, "softmax")(decoded);
  Model model({source, target}, {output}, /*seed=*/9, "seq2seq");
  ASSERT_TRUE(model.Build().ok()) << model.Build();
  RandomizeWeights(model, 109);
  Rng rng(21);
  ExpectTfjsPredictsAsPredict(model, {{autograd::RandomUniform({5, 6, 3}, -1, 1, rng),
                                       autograd::RandomUniform({5, 4, 2}, -1, 1, rng)},
                                      {autograd::RandomUniform({2, 1, 3}, -1, 1, rng),
                                       autograd::RandomUniform({2, 3, 2}, -1, 1, rng)}});
}

// An encoder's final states (return_state, the output unused) start a decoder: a Bidirectional
// one's joined, and a plain LSTM's. (With a mask on the encoder's input TensorFlow.js' states
// differ, by 0.06 here, and the export refuses: tfjs_test.)
std::unique_ptr<Model> Seq2seq(bool bidirectional, bool mask_zero) {
  KerasTensor words = layers::Input({kVaries}, "words");
  KerasTensor target = layers::Input({kVaries, 2}, "target");
  KerasTensor embedded = layers::Embedding(kVocabulary, 4, kVaries, mask_zero)(words);
  std::vector<KerasTensor> states;
  if (bidirectional) {
    KerasTensors encoder =
        layers::Bidirectional(layers::LSTM(RecurrentOptions(3).return_state(true)))(embedded);
    states = {layers::Concatenate()({encoder[1], encoder[3]}),
              layers::Concatenate()({encoder[2], encoder[4]})};
  } else {
    KerasTensors encoder = layers::LSTM(RecurrentOptions(6).return_state(true))(embedded);
    states = {encoder[1], encoder[2]};
  }
  KerasTensor decoded = layers::LSTM(RecurrentOptions(6).return_sequences(true))(
      target, layers::InitialState(states));
  KerasTensor output = layers::Dense(3, "softmax")(decoded);
  return std::make_unique<Model>(std::vector<KerasTensor>{words, target},
                                 std::vector<KerasTensor>{output}, /*seed=*/11, "encoder_decoder");
}

TEST(TfjsNode, EncoderStatesStartTheDecoder) {
  for (bool bidirectional : {false, true}) {
    for (bool mask_zero : {false}) {
      SCOPED_TRACE(absl::StrCat("bidirectional ", bidirectional, ", mask_zero ", mask_zero));
      std::unique_ptr<Model> model = Seq2seq(bidirectional, mask_zero);
      ASSERT_TRUE(model->Build().ok()) << model->Build();
      RandomizeWeights(*model, 111);
      Rng rng(23);
      ExpectTfjsPredictsAsPredict(*model,
                                  {{Words(7, 24), autograd::RandomUniform({7, 4, 2}, -1, 1, rng)},
                                   {Words(2, 25), autograd::RandomUniform({7, 1, 2}, -1, 1, rng)}});
    }
  }
}

// The merging layers, RepeatVector, Activation and the global poolings, unmasked.
TEST(TfjsNode, FunctionalMergingLayers) {
  KerasTensor source = layers::Input({kVaries, 3}, "source");
  KerasTensor sequence = layers::LSTM(RecurrentOptions(4).return_sequences(true))(source);
  KerasTensor average = layers::GlobalAveragePooling1D()(sequence);
  KerasTensor maximum = layers::GlobalMaxPooling1D()(sequence);
  KerasTensor last = layers::LSTM(4)(source);
  KerasTensor sum = layers::Add()({average, maximum, last});
  KerasTensor product = layers::Multiply()({average, maximum});
  KerasTensor mean = layers::Average()({sum, product});
  KerasTensor repeated = layers::RepeatVector(2)(layers::Activation("tanh")(mean));
  KerasTensor output = layers::SimpleRNN(3)(repeated);
  Model model({source}, {output}, /*seed=*/10, "merging");
  ASSERT_TRUE(model.Build().ok()) << model.Build();
  RandomizeWeights(model, 110);
  Rng rng(22);
  ExpectTfjsPredictsAsPredict(model, {{autograd::RandomUniform({5, 6, 3}, -1, 1, rng)},
                                      {autograd::RandomUniform({2, 1, 3}, -1, 1, rng)}});
}

}  // namespace
}  // namespace exporting
