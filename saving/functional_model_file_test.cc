// Model files of graphs (tf.keras 2.11's Functional config): every graph of functional_test.cc
// saved and loaded back (the same summary, weights and predictions, bit for bit; training resumes
// exactly), the file's graph checked against what Keras' source writes (worked out by hand from
// keras/engine/functional.py and node.py at v2.11.0), and hostile edits of the graph refused with
// an error naming the file and the layer.
#include <gtest/gtest.h>
#include <hdf5.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "layers/attention.h"
#include "layers/config.h"
#include "layers/dense.h"
#include "layers/dropout.h"
#include "layers/embedding.h"
#include "layers/functional.h"
#include "layers/masking.h"
#include "layers/merging.h"
#include "layers/model.h"
#include "layers/recurrent.h"
#include "nlohmann/json.hpp"
#include "saving/model_file.h"
#include "xtensor/xbuilder.hpp"

// HDF5 1.10.8 leaks a few of its own allocations on damaged files (see model_file_test.cc).
extern "C" const char* __lsan_default_suppressions() { return "leak:libhdf5_serial.so\n"; }

namespace layers {
namespace {

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir != nullptr ? dir : "/tmp") + "/" + name;
}

LayerPtr Named(LayerPtr layer, const std::string& name) {
  layer->set_name(name);
  return layer;
}

// Word indices [samples, time] in [1, vocabulary) with zero padding in front (random lengths).
Array Words(size_t samples, size_t time, size_t vocabulary, uint64_t seed) {
  Rng rng(seed);
  Array x = xt::zeros<Real>({samples, time});
  for (size_t i = 0; i < samples; ++i) {
    const size_t length = 1 + rng.Below(time);
    for (size_t t = time - length; t < time; ++t) {
      x(i, t) = static_cast<Real>(1 + rng.Below(vocabulary - 1));
    }
  }
  return x;
}

Array Uniform(const Shape& shape, uint64_t seed) {
  Rng rng(seed);
  return autograd::RandomUniform(shape, -1, 1, rng);
}

// The root attribute `name` (a fixed-length string, as the writer stores it).
std::string ReadStringAttribute(const std::string& path, const char* object, const char* name) {
  std::string value;
  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  EXPECT_GE(file, 0) << path;
  const hid_t attribute = H5Aopen_by_name(file, object, name, H5P_DEFAULT, H5P_DEFAULT);
  EXPECT_GE(attribute, 0) << name;
  if (attribute >= 0) {
    const hid_t type = H5Aget_type(attribute);
    value.assign(H5Tget_size(type), '\0');
    EXPECT_GE(H5Aread(attribute, type, value.data()), 0) << name;
    value.resize(value.find_last_not_of('\0') + 1);
    H5Tclose(type);
    H5Aclose(attribute);
  }
  H5Fclose(file);
  return value;
}

// A list of fixed-length strings (layer_names, weight_names); an empty list has no elements.
std::vector<std::string> ReadStringList(const std::string& path, const char* object,
                                        const char* name) {
  std::vector<std::string> values;
  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  const hid_t attribute = H5Aopen_by_name(file, object, name, H5P_DEFAULT, H5P_DEFAULT);
  EXPECT_GE(attribute, 0) << object << " " << name;
  if (attribute >= 0) {
    const hid_t type = H5Aget_type(attribute);
    const hid_t space = H5Aget_space(attribute);
    const hssize_t count = H5Sget_simple_extent_npoints(space);
    const size_t width = H5Tget_size(type);
    std::string buffer(width * static_cast<size_t>(count), '\0');
    if (count > 0) EXPECT_GE(H5Aread(attribute, type, buffer.data()), 0);
    for (hssize_t i = 0; i < count; ++i) {
      std::string value = buffer.substr(i * width, width);
      values.push_back(value.substr(0, value.find('\0')));
    }
    H5Sclose(space);
    H5Tclose(type);
    H5Aclose(attribute);
  }
  H5Fclose(file);
  return values;
}

// Replaces the root attribute `name` with a fixed-length string (a hostile edit of a saved file).
void SetRootAttribute(const std::string& path, const char* name, const std::string& value) {
  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(file, 0);
  if (H5Aexists(file, name) > 0) H5Adelete(file, name);
  const hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, value.size());
  const hid_t space = H5Screate(H5S_SCALAR);
  const hid_t attribute = H5Acreate2(file, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
  ASSERT_GE(attribute, 0);
  ASSERT_GE(H5Awrite(attribute, type, value.data()), 0);
  H5Aclose(attribute);
  H5Sclose(space);
  H5Tclose(type);
  ASSERT_GE(H5Fclose(file), 0);
}

Json ModelConfigOf(const std::string& path) {
  return Json::parse(ReadStringAttribute(path, "/", "model_config"));
}

// The entry of layer `name` in a Functional model_config.
Json Entry(const Json& model_config, const std::string& name) {
  for (const Json& entry : model_config["config"]["layers"]) {
    if (entry.value("name", "") == name) return entry;
  }
  ADD_FAILURE() << "no layer '" << name << "' in the model_config";
  return Json();
}

std::vector<std::string> LayerNames(const Model& model) {
  std::vector<std::string> names;
  for (const LayerPtr& layer : model.layers()) names.push_back(layer->name());
  return names;
}

// Saves `model`, loads it, and checks that the loaded model is the same model: summary, layer
// order, input shapes, every weight, the predictions on `x` bit for bit, and how it was compiled.
std::unique_ptr<Model> ExpectRoundTrip(const Model& model, const std::string& name,
                                       const std::vector<Array>& x) {
  SCOPED_TRACE(name);
  const std::string path = TempPath(name + ".h5");
  const absl::Status saved = saving::SaveModel(model, path);
  EXPECT_TRUE(saved.ok()) << saved;
  absl::StatusOr<std::unique_ptr<Model>> loaded = saving::LoadModel(path);
  EXPECT_TRUE(loaded.ok()) << loaded.status();
  if (!saved.ok() || !loaded.ok()) return nullptr;
  Model& back = **loaded;
  EXPECT_FALSE(back.is_sequential());
  EXPECT_EQ(back.name(), model.name());
  EXPECT_EQ(back.Summary(), model.Summary());
  EXPECT_EQ(LayerNames(back), LayerNames(model));
  EXPECT_EQ(back.input_shapes(), model.input_shapes());
  EXPECT_EQ(back.output_shapes(), model.output_shapes());
  EXPECT_EQ(back.GetWeights(), model.GetWeights());
  // Cast away const: Predict runs the graph (it records nothing).
  absl::StatusOr<std::vector<Array>> expected = const_cast<Model&>(model).Predict(x);
  absl::StatusOr<std::vector<Array>> got = back.Predict(x);
  EXPECT_TRUE(expected.ok() && got.ok());
  if (expected.ok() && got.ok()) EXPECT_EQ(*got, *expected);
  EXPECT_EQ(back.compiled(), model.compiled());
  if (model.compiled() && back.compiled()) {
    EXPECT_EQ(back.losses(), model.losses());
    EXPECT_EQ(back.loss_weights(), model.loss_weights());
    EXPECT_EQ(back.metrics(), model.metrics());
    EXPECT_EQ(OptimizerToConfig(*back.optimizer()).dump(),
              OptimizerToConfig(*model.optimizer()).dump());
    EXPECT_EQ(back.GetTrainingState().rng, model.GetTrainingState().rng);
  }
  return *std::move(loaded);
}

// ---- The graphs of functional_test.cc ----------------------------------------------------------

// IMDB LSTM (with dropout) as a graph, compiled and trained: the loaded model resumes training
// exactly where the saved one goes on (Adam's moments and the generator carried over), and
// without the optimizer's state it would not.
TEST(FunctionalSaving, ImdbLstmRoundTripAndResume) {
  const auto build = [](uint64_t seed) {
    KerasTensor inputs = Input({12}, "words");
    KerasTensor x = Named(Embedding(30, 8, 12), "embedding")(inputs);
    x = Named(LSTM(RecurrentOptions(6).dropout(0.2).recurrent_dropout(0.1)), "lstm")(x);
    KerasTensor outputs = Named(Dense(1, "sigmoid"), "dense")(x);
    auto model = std::make_unique<Model>(std::vector<KerasTensor>{inputs},
                                         std::vector<KerasTensor>{outputs}, seed, "imdb");
    EXPECT_TRUE(model->status().ok()) << model->status();
    EXPECT_TRUE(
        model->Compile("binary_crossentropy", std::make_unique<autograd::Adam>(), {"acc"}).ok());
    return model;
  };
  const Array x = Words(24, 12, 30, 5);
  Array y = Array::from_shape({24, 1});
  for (size_t i = 0; i < 24; ++i) y(i, 0) = static_cast<Real>(static_cast<int>(x(i, 11)) % 2);
  const FitOptions options = FitOptions().batch_size(5).verbose(0);
  auto model = build(11);
  ASSERT_TRUE(model->Fit(x, y, FitOptions(options).epochs(2)).ok());
  std::unique_ptr<Model> loaded = ExpectRoundTrip(*model, "imdb_functional", {x});
  ASSERT_NE(loaded, nullptr);
  EXPECT_EQ(loaded->GetTrainingState().epochs, 2);
  absl::StatusOr<History> going_on =
      model->Fit(x, y, FitOptions(options).epochs(4).initial_epoch(2));
  absl::StatusOr<History> resumed =
      loaded->Fit(x, y, FitOptions(options).epochs(4).initial_epoch(2));
  ASSERT_TRUE(going_on.ok() && resumed.ok());
  EXPECT_EQ(resumed->history, going_on->history);
  EXPECT_EQ(loaded->GetWeights(), model->GetWeights());
  // The same weights without the optimizer's state train to other weights: the test can tell.
  auto fresh = build(11);
  absl::StatusOr<std::unique_ptr<Model>> again = saving::LoadModel(TempPath("imdb_functional.h5"));
  ASSERT_TRUE(again.ok()) << again.status();
  ASSERT_TRUE(saving::LoadWeights(*fresh, TempPath("imdb_functional.h5")).ok());
  ASSERT_TRUE(fresh->SetTrainingState((*again)->GetTrainingState()).ok());
  ASSERT_TRUE(fresh->Fit(x, y, FitOptions(options).epochs(4).initial_epoch(2)).ok());
  EXPECT_NE(fresh->GetWeights(), model->GetWeights());
}

// A Bidirectional GRU under masks, trained with bucketing.
TEST(FunctionalSaving, MaskedBidirectionalGru) {
  KerasTensor inputs = Input({10}, "words");
  KerasTensor x = Named(Embedding(20, 5, 10, /*mask_zero=*/true), "embedding")(inputs);
  x = Named(Bidirectional(GRU(RecurrentOptions(4).dropout(0.1))), "bidirectional")(x);
  Model model({inputs}, {Named(Dense(1, "sigmoid"), "dense")(x)}, /*seed=*/4, "bigru");
  ASSERT_TRUE(model.Compile("binary_crossentropy", std::make_unique<autograd::Adam>()).ok());
  const Array words = Words(18, 10, 20, 6);
  Array y = Array::from_shape({18, 1});
  for (size_t i = 0; i < 18; ++i) y(i, 0) = static_cast<Real>(i % 2);
  ASSERT_TRUE(
      model.Fit(words, y, FitOptions().epochs(2).batch_size(6).verbose(0).bucket_by_length(true))
          .ok());
  ExpectRoundTrip(model, "bigru_functional", {words});
}

// Keras' seq2seq: the encoder's final states start the decoder (return_state, initial_state),
// under masks, with inputs of any length; the inference encoder and decoder are sub-models that
// share its layers.
struct Seq2Seq {
  KerasTensor encoder_words, decoder_words;
  KerasTensors encoder;
  LayerPtr decoder_embedding, decoder_lstm, decoder_dense;
  KerasTensor outputs;
};

Seq2Seq MakeSeq2Seq() {
  Seq2Seq s;
  s.encoder_words = Input({kVaries}, "encoder_words");
  KerasTensor encoded =
      Named(Embedding(15, 6, 0, /*mask_zero=*/true), "encoder_embedding")(s.encoder_words);
  s.encoder = Named(LSTM(RecurrentOptions(5).return_state(true)), "encoder_lstm")(encoded);
  s.decoder_embedding = Named(Embedding(15, 6, 0, /*mask_zero=*/true), "decoder_embedding");
  s.decoder_lstm = Named(LSTM(RecurrentOptions(5).return_sequences(true)), "decoder_lstm");
  s.decoder_dense = Named(Dense(15, "softmax"), "decoder_dense");
  s.decoder_words = Input({kVaries}, "decoder_words");
  KerasTensor sequence = s.decoder_lstm(s.decoder_embedding(s.decoder_words),
                                        InitialState{s.encoder[1], s.encoder[2]});
  s.outputs = s.decoder_dense(sequence);
  return s;
}

TEST(FunctionalSaving, EncoderDecoderAndItsInferenceModels) {
  Seq2Seq s = MakeSeq2Seq();
  Model model({s.encoder_words, s.decoder_words}, {s.outputs}, /*seed=*/3, "seq2seq");
  ASSERT_TRUE(model.status().ok()) << model.status();
  const Array source = Words(12, 7, 15, 1), target = Words(12, 5, 15, 2);
  Array one_hot = xt::zeros<Real>({size_t{12}, size_t{5}, size_t{15}});
  for (size_t i = 0; i < 12; ++i) {
    for (size_t t = 0; t < 5; ++t) one_hot(i, t, static_cast<size_t>(target(i, t))) = 1;
  }
  ASSERT_TRUE(
      model.Compile("categorical_crossentropy", std::make_unique<autograd::Adam>(), {"acc"}).ok());
  ASSERT_TRUE(
      model.Fit({source, target}, {one_hot}, FitOptions().epochs(2).batch_size(4).verbose(0)).ok());
  std::unique_ptr<Model> loaded = ExpectRoundTrip(model, "seq2seq", {source, target});
  ASSERT_NE(loaded, nullptr);
  // Keras' None for the varying time axes; the encoder's states as extra tensors of the
  // decoder LSTM's call (base_rnn.py: [inputs] + initial_state), kwargs {}.
  const Json config = ModelConfigOf(TempPath("seq2seq.h5"));
  EXPECT_EQ(Entry(config, "encoder_words")["config"]["batch_input_shape"],
            Json::parse("[null, null]"));
  EXPECT_EQ(Entry(config, "decoder_embedding")["config"]["batch_input_shape"],
            Json::parse("[null, null]"));
  EXPECT_EQ(Entry(config, "decoder_lstm")["inbound_nodes"],
            Json::parse(R"([[["decoder_embedding", 0, 0, {}], ["encoder_lstm", 0, 1, {}],
                ["encoder_lstm", 0, 2, {}]]])"));
  // Inputs of another length than trained on (the time axes vary).
  const Array longer_source = Words(3, 9, 15, 7), shorter_target = Words(3, 2, 15, 8);
  absl::StatusOr<std::vector<Array>> p = model.Predict({longer_source, shorter_target});
  absl::StatusOr<std::vector<Array>> q = loaded->Predict({longer_source, shorter_target});
  ASSERT_TRUE(p.ok() && q.ok());
  EXPECT_EQ(*p, *q);

  // The inference encoder (its layers' first calls: the file is the same graph).
  Model encoder_model({s.encoder_words}, {s.encoder[1], s.encoder[2]}, 0, "encoder");
  ASSERT_TRUE(encoder_model.status().ok()) << encoder_model.status();
  ExpectRoundTrip(encoder_model, "seq2seq_encoder", {source});

  // The inference decoder: the shared layers' second calls. In the file each is the layer's
  // node 0 (Keras' node_conversion_map), so the loaded model, whose layers have no other calls,
  // shows [0][0] where this one shows [1][0] (as Keras' load shows, too); the rest is the same.
  KerasTensor h = Input({5}, "decoder_h"), c = Input({5}, "decoder_c");
  KerasTensor step =
      s.decoder_dense(s.decoder_lstm(s.decoder_embedding(s.decoder_words), InitialState{h, c}));
  Model decoder_model({s.decoder_words, h, c}, {step}, 0, "decoder");
  ASSERT_TRUE(decoder_model.status().ok()) << decoder_model.status();
  const std::string path = TempPath("seq2seq_decoder.h5");
  ASSERT_TRUE(saving::SaveModel(decoder_model, path).ok());
  const Json lstm = Entry(ModelConfigOf(path), "decoder_lstm");
  EXPECT_EQ(lstm["inbound_nodes"], Json::parse(R"([[["decoder_embedding", 0, 0, {}],
      ["decoder_h", 0, 0, {}], ["decoder_c", 0, 0, {}]]])"));
  absl::StatusOr<std::unique_ptr<Model>> decoder_loaded = saving::LoadModel(path);
  ASSERT_TRUE(decoder_loaded.ok()) << decoder_loaded.status();
  const std::string summary = decoder_model.Summary();
  ASSERT_NE(summary.find("decoder_embedding[1][0]"), std::string::npos) << summary;
  EXPECT_EQ((*decoder_loaded)->Summary(), absl::StrReplaceAll(summary, {{"[1][0]", "[0][0]"}}));
  EXPECT_EQ(LayerNames(**decoder_loaded), LayerNames(decoder_model));
  const Array states_h = Uniform({12, 5}, 4), states_c = Uniform({12, 5}, 5);
  absl::StatusOr<std::vector<Array>> stepped = decoder_model.Predict({target, states_h, states_c});
  absl::StatusOr<std::vector<Array>> stepped_back =
      (*decoder_loaded)->Predict({target, states_h, states_c});
  ASSERT_TRUE(stepped.ok() && stepped_back.ok());
  EXPECT_EQ(*stepped, *stepped_back);
  // Saved again, the loaded decoder gives the same file graph and summary.
  ExpectRoundTrip(**decoder_loaded, "seq2seq_decoder_again", {target, states_h, states_c});
}

// tf.keras 2.11's model.layers order, worked out by hand from _build_map and _map_graph_network
// (keras/engine/functional.py): depths (1 + the deepest node fed) for the seq2seq model are
// decoder_dense 0, decoder_lstm 1, decoder_embedding 2, encoder_lstm 2, encoder_embedding 3,
// decoder_words 3, encoder_words 4; ties go in the order the walk back from the output meets
// the layers (decoder_dense, decoder_lstm, decoder_embedding, decoder_words, encoder_lstm,
// encoder_embedding, encoder_words). The file lists layers, and their weights, in that order.
TEST(FunctionalSaving, LayersInTfKerasOrder) {
  Seq2Seq s = MakeSeq2Seq();
  Model model({s.encoder_words, s.decoder_words}, {s.outputs}, 0, "seq2seq_order");
  ASSERT_TRUE(model.status().ok()) << model.status();
  const std::vector<std::string> keras = {"encoder_words",     "decoder_words", "encoder_embedding",
                                          "decoder_embedding", "encoder_lstm",  "decoder_lstm",
                                          "decoder_dense"};
  EXPECT_EQ(LayerNames(model), keras);
  const std::string path = TempPath("seq2seq_order.h5");
  ASSERT_TRUE(saving::SaveModel(model, path).ok());
  EXPECT_EQ(ReadStringList(path, "/model_weights", "layer_names"), keras);
  // InputLayers have a group with no weights, as in Keras' files.
  EXPECT_EQ(ReadStringList(path, "/model_weights/encoder_words", "weight_names"),
            std::vector<std::string>{});
  EXPECT_EQ(ReadStringList(path, "/model_weights/encoder_lstm", "weight_names"),
            (std::vector<std::string>{"encoder_lstm/lstm_cell/kernel:0",
                                      "encoder_lstm/lstm_cell/recurrent_kernel:0",
                                      "encoder_lstm/lstm_cell/bias:0"}));
  std::vector<std::string> listed;
  const Json model_config = ModelConfigOf(path);
  for (const Json& entry : model_config["config"]["layers"]) {
    listed.push_back(entry.value("name", ""));
  }
  EXPECT_EQ(listed, keras);
  // The inference decoder: decoder_words 3, decoder_embedding, decoder_h and decoder_c 2 (met in
  // that order), decoder_lstm 1, decoder_dense 0: its inputs are not all first.
  KerasTensor h = Input({5}, "decoder_h"), c = Input({5}, "decoder_c");
  KerasTensor step =
      s.decoder_dense(s.decoder_lstm(s.decoder_embedding(s.decoder_words), InitialState{h, c}));
  Model decoder({s.decoder_words, h, c}, {step}, 0, "decoder_order");
  EXPECT_EQ(LayerNames(decoder),
            (std::vector<std::string>{"decoder_words", "decoder_embedding", "decoder_h",
                                      "decoder_c", "decoder_lstm", "decoder_dense"}));
}

// Two inputs, two outputs, one layer called on both, compiled with a loss per output and
// loss_weights: the file's graph as Keras writes it, and training resumes exactly.
Model* TwoInTwoOut(std::unique_ptr<Model>& holder, uint64_t seed) {
  KerasTensor left = Input({4}, "left"), right = Input({4}, "right");
  LayerPtr shared = Named(Dense(3, "tanh"), "shared");
  KerasTensor out_a = Named(Dense(1), "a")(shared(left));
  KerasTensor out_b = Named(Dense(1), "b")(shared(right));
  holder = std::make_unique<Model>(std::vector<KerasTensor>{left, right},
                                   std::vector<KerasTensor>{out_a, out_b}, seed, "two_heads");
  EXPECT_TRUE(holder->status().ok()) << holder->status();
  EXPECT_TRUE(holder
                  ->Compile(std::vector<std::string>{"mse", "mse"},
                            std::make_unique<autograd::Adam>(), {}, {1.0, 0.5})
                  .ok());
  return holder.get();
}

TEST(FunctionalSaving, TwoInputsTwoOutputsSharedLayer) {
  std::unique_ptr<Model> holder;
  Model& model = *TwoInTwoOut(holder, 5);
  const Array x1 = Uniform({10, 4}, 1), x2 = Uniform({10, 4}, 2);
  const Array y1 = Uniform({10, 1}, 3), y2 = Uniform({10, 1}, 4);
  const FitOptions options = FitOptions().batch_size(3).verbose(0);
  ASSERT_TRUE(model.Fit({x1, x2}, {y1, y2}, FitOptions(options).epochs(2)).ok());
  std::unique_ptr<Model> loaded = ExpectRoundTrip(model, "two_heads", {x1, x2});
  ASSERT_NE(loaded, nullptr);
  EXPECT_EQ(loaded->loss_weights(), (std::vector<double>{1.0, 0.5}));
  EXPECT_EQ(loaded->losses(), (std::vector<std::string>{"mse", "mse"}));

  // The graph in the file (node.py: one inbound node per call, [layer, node, tensor, kwargs]).
  const std::string path = TempPath("two_heads.h5");
  const Json config = ModelConfigOf(path);
  EXPECT_EQ(Entry(config, "shared")["inbound_nodes"],
            Json::parse(R"([[["left", 0, 0, {}]], [["right", 0, 0, {}]]])"));
  EXPECT_EQ(Entry(config, "b")["inbound_nodes"], Json::parse(R"([[["shared", 1, 0, {}]]])"));
  EXPECT_EQ(config["config"]["input_layers"], Json::parse(R"([["left", 0, 0], ["right", 0, 0]])"));
  EXPECT_EQ(config["config"]["output_layers"], Json::parse(R"([["a", 0, 0], ["b", 0, 0]])"));
  EXPECT_EQ(Entry(config, "left"), Json::parse(R"({"class_name": "InputLayer", "config":
      {"batch_input_shape": [null, 4], "dtype": "float32", "sparse": false, "ragged": false,
       "name": "left"}, "name": "left", "inbound_nodes": []})"));
  // training_config: one name for a loss every output shares (as Keras writes compile("mse")),
  // and the loss weights.
  Json training = Json::parse(ReadStringAttribute(path, "/", "training_config"));
  EXPECT_EQ(training["loss"], Json("mse"));
  EXPECT_EQ(training["loss_weights"], Json::parse("[1.0, 0.5]"));
  // A list of one loss per output (what Keras writes for compile(loss=[...])) reads the same; a
  // list of another length is refused naming the outputs.
  const std::string edited = TempPath("two_heads_losses.h5");
  ASSERT_TRUE(saving::SaveModel(model, edited).ok());
  training["loss"] = Json::parse(R"(["mse", "mse"])");
  SetRootAttribute(edited, "training_config", training.dump());
  absl::StatusOr<std::unique_ptr<Model>> listed = saving::LoadModel(edited);
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_EQ((*listed)->losses(), (std::vector<std::string>{"mse", "mse"}));
  EXPECT_EQ((*listed)->loss_weights(), (std::vector<double>{1.0, 0.5}));
  training["loss"] = Json::parse(R"(["mse", "mse", "mse"])");
  SetRootAttribute(edited, "training_config", training.dump());
  EXPECT_EQ(saving::LoadModel(edited).status().message(),
            absl::StrFormat("'%s': training_config: compile: model 'two_heads' has 2 outputs (a, "
                            "b), but 3 losses were given: give one, or one per output",
                            edited));

  absl::StatusOr<History> going_on =
      model.Fit({x1, x2}, {y1, y2}, FitOptions(options).epochs(4).initial_epoch(2));
  absl::StatusOr<History> resumed =
      loaded->Fit({x1, x2}, {y1, y2}, FitOptions(options).epochs(4).initial_epoch(2));
  ASSERT_TRUE(going_on.ok() && resumed.ok());
  EXPECT_EQ(resumed->history, going_on->history);
  EXPECT_EQ(loaded->GetWeights(), model.GetWeights());
}

// The summary test's graph: a shared layer feeding a shared head (not compiled).
TEST(FunctionalSaving, SharedLayerAndSharedHead) {
  KerasTensor left = Input({4}, "left"), right = Input({4}, "right");
  LayerPtr shared = Named(Dense(3), "shared");
  LayerPtr head = Named(Dense(1), "head");
  KerasTensor a = shared(left), b = shared(right);
  Model model({left, right}, {head(a), head(b)}, 0, "two");
  ASSERT_TRUE(model.status().ok());
  ExpectRoundTrip(model, "two", {Uniform({3, 4}, 1), Uniform({3, 4}, 2)});
  EXPECT_EQ(ModelConfigOf(TempPath("two.h5"))["config"]["output_layers"],
            Json::parse(R"([["head", 0, 0], ["head", 1, 0]])"));
}

// Bidirectional with return_state and initial_state: the states are extra inbound tensors, and
// the call keeps initial_state and constants as None in its kwargs (bidirectional.py 265-350).
TEST(FunctionalSaving, BidirectionalStates) {
  KerasTensor first = Input({6, 3}, "first"), second = Input({4, 3}, "second");
  KerasTensors encoder =
      Named(Bidirectional(LSTM(RecurrentOptions(2).return_state(true))), "encoder")(first);
  ASSERT_EQ(encoder.size(), 5u);
  KerasTensor decoded =
      Named(Bidirectional(LSTM(RecurrentOptions(2).return_sequences(true))), "decoder")(
          second, InitialState{encoder[1], encoder[2], encoder[3], encoder[4]});
  Model model({first, second}, {decoded, encoder[0]}, 8, "bidirectional_states");
  ASSERT_TRUE(model.status().ok()) << model.status();
  ExpectRoundTrip(model, "bidirectional_states", {Uniform({2, 6, 3}, 1), Uniform({2, 4, 3}, 2)});
  const Json entry = Entry(ModelConfigOf(TempPath("bidirectional_states.h5")), "decoder");
  const Json kwargs = Json::parse(R"({"initial_state": null, "constants": null})");
  Json expected = Json::array({Json::array({"second", 0, 0, kwargs})});
  for (int k = 1; k <= 4; ++k) expected.push_back(Json::array({"encoder", 0, k, kwargs}));
  EXPECT_EQ(entry["inbound_nodes"], Json::array({expected}));
}

// Attention layers in a graph (tf.keras 2.11, keras/layers/attention/base_dense_attention.py and
// keras/engine/node.py serialize): the value's mask from Masking; return_attention_scores and
// use_causal_mask are the call's kwargs on every inbound tensor; the scalar weights "scale" and
// "concat_score_weight" and AdditiveAttention's "scale" [dim] come back as saved.
TEST(FunctionalSaving, AttentionRoundTrip) {
  KerasTensor query = Input({4, 3}, "query"), value = Input({5, 3}, "value");
  KerasTensor masked = Named(Masking(), "padding")(value);
  LayerPtr attention = Named(
      Attention(
          AttentionOptions().use_scale(true).score_mode("concat").return_attention_scores(true)),
      "attention");
  KerasTensors attended = attention({query, masked});
  LayerPtr additive =
      Named(AdditiveAttention(AttentionOptions().use_causal_mask(true)), "additive");
  KerasTensor causal = additive({query, masked, value});
  KerasTensor joined = Named(Concatenate(), "joined")({attended[0], causal});
  Model model({query, value}, {Named(Dense(2), "head")(joined), attended[1]}, 3, "attention_model");
  ASSERT_TRUE(model.status().ok()) << model.status();
  ASSERT_TRUE(attention->SetWeights({Array(Real(0.7)), Array(Real(1.3))}).ok());
  Array values = Uniform({2, 5, 3}, 2);
  for (size_t t = 3; t < 5; ++t) {
    for (size_t f = 0; f < 3; ++f) values(0, t, f) = 0;  // padding, masked by Masking
  }
  ExpectRoundTrip(model, "attention_model", {Uniform({2, 4, 3}, 1), values});
  const Json config = ModelConfigOf(TempPath("attention_model.h5"));
  const Json scores = Json::parse(R"({"return_attention_scores": true})");
  EXPECT_EQ(Entry(config, "attention")["inbound_nodes"],
            Json::array({Json::array(
                {Json::array({"query", 0, 0, scores}), Json::array({"padding", 0, 0, scores})})}));
  const Json causal_kwargs = Json::parse(R"({"use_causal_mask": true})");
  EXPECT_EQ(Entry(config, "additive")["inbound_nodes"],
            Json::array({Json::array({Json::array({"query", 0, 0, causal_kwargs}),
                                      Json::array({"padding", 0, 0, causal_kwargs}),
                                      Json::array({"value", 0, 0, causal_kwargs})})}));
  EXPECT_EQ(Entry(config, "attention")["config"]["score_mode"], "concat");
  EXPECT_EQ(Entry(config, "additive")["config"]["use_scale"], true);
}

TEST(FunctionalSaving, AModelInsideAModelIsRefusedAtSave) {
  KerasTensor inner_in = Input({3}, "inner_in");
  auto inner = std::make_shared<Model>(
      std::vector<KerasTensor>{inner_in},
      std::vector<KerasTensor>{Named(Dense(4, "tanh"), "inner_dense")(inner_in)}, 2, "inner");
  KerasTensor outer_in = Input({3}, "outer_in");
  Model outer({outer_in}, {Named(Dense(1), "outer_dense")(LayerPtr(inner)(outer_in))}, 9, "outer");
  ASSERT_TRUE(outer.status().ok()) << outer.status();
  const std::string path = TempPath("nested.h5");
  EXPECT_EQ(saving::SaveModel(outer, path).message(),
            absl::StrFormat("cannot save to '%s': model 'outer': layer 'inner' is a model inside "
                            "this model, and saving a model nested in another is not "
                            "implemented: save the inner model on its own, or build this model "
                            "from the inner model's layers",
                            path));
}

// ---- Hostile graphs ----------------------------------------------------------------------------

class HostileGraphs : public ::testing::Test {
 protected:
  void SetUp() override {
    TwoInTwoOut(holder_, 1);
    ASSERT_TRUE(saving::SaveModel(*holder_, source_).ok());
    config_ = ModelConfigOf(source_);
  }
  // Writes `config` as the model_config of a copy of the saved file and loads it.
  absl::StatusOr<std::unique_ptr<Model>> Load(const Json& config) {
    EXPECT_TRUE(saving::SaveModel(*holder_, edited_).ok());
    SetRootAttribute(edited_, "model_config", config.dump());
    return saving::LoadModel(edited_);
  }
  std::string Error(const Json& config) {
    absl::StatusOr<std::unique_ptr<Model>> loaded = Load(config);
    EXPECT_FALSE(loaded.ok());
    return loaded.ok() ? "" : std::string(loaded.status().message());
  }
  // Layers in the file: 0 left, 1 right, 2 shared, 3 a, 4 b.
  Json& Layer(Json& config, size_t i) { return config["config"]["layers"][i]; }

  std::unique_ptr<Model> holder_;
  const std::string source_ = TempPath("hostile_source.h5"), edited_ = TempPath("hostile.h5");
  Json config_;
};

TEST_F(HostileGraphs, UnknownLayerNodeOrTensor) {
  Json config = config_;
  Layer(config, 3)["inbound_nodes"][0][0][0] = "nosuch";
  EXPECT_EQ(Error(config), absl::StrFormat("'%s': model_config, layer 3 'a' (Dense), inbound "
                                           "node 0, tensor 0: it names layer 'nosuch', which the "
                                           "model_config does not have",
                                           edited_));
  config = config_;
  Layer(config, 3)["inbound_nodes"][0][0][1] = 2;
  EXPECT_EQ(Error(config), absl::StrFormat("'%s': model_config, layer 3 'a' (Dense), inbound "
                                           "node 0, tensor 0: it names node 2 of layer 'shared', "
                                           "which has 2 (indices from 0)",
                                           edited_));
  config = config_;
  Layer(config, 3)["inbound_nodes"][0][0][2] = 1;
  EXPECT_EQ(Error(config), absl::StrFormat("'%s': model_config, layer 3 'a' (Dense), inbound "
                                           "node 0, tensor 0: it names tensor 1 of node 0 of "
                                           "layer 'shared', which gives 1 (indices from 0)",
                                           edited_));
  config = config_;
  Layer(config, 3)["inbound_nodes"][0][0][1] = -1;
  EXPECT_NE(Error(config).find("layer 3 'a' (Dense), inbound node 0, tensor 0: expected ([layer "
                               "name, node index, tensor index, {}]), got ("),
            std::string::npos);
  config = config_;
  Layer(config, 3)["inbound_nodes"][0][0][3] = Json{{"training", true}};
  EXPECT_EQ(Error(config), absl::StrFormat("'%s': model_config, layer 3 'a' (Dense), inbound "
                                           "node 0, tensor 0: the call's keyword argument "
                                           "'training' (value true) is not one this library "
                                           "reads: expected ({})",
                                           edited_));
  // Two tensors for a layer that takes one.
  config = config_;
  Layer(config, 3)["inbound_nodes"][0].push_back(Json::parse(R"(["left", 0, 0, {}])"));
  EXPECT_NE(Error(config).find("layer 3 'a' (Dense), inbound node 0: layer 'a' (Dense)"),
            std::string::npos)
      << Error(config);
}

TEST_F(HostileGraphs, Cycles) {
  Json config = config_;
  // shared's first call takes a's output, and a is called on shared's first output.
  Layer(config, 2)["inbound_nodes"][0][0][0] = "a";
  EXPECT_EQ(Error(config),
            absl::StrFormat("'%s': model_config (Functional): the inbound nodes of 4 layer calls "
                            "wait on each other in a cycle, and none can be computed: 'shared' "
                            "(node 0), 'shared' (node 1), 'a' (node 0), 'b' (node 0)",
                            edited_));
  config = config_;
  Layer(config, 3)["inbound_nodes"][0][0] = Json::parse(R"(["a", 0, 0, {}])");  // itself
  EXPECT_EQ(Error(config),
            absl::StrFormat("'%s': model_config (Functional): the inbound nodes of 1 layer calls "
                            "wait on each other in a cycle, and none can be computed: 'a' (node "
                            "0)",
                            edited_));
}

TEST_F(HostileGraphs, NamesAndEntries) {
  Json config = config_;
  Layer(config, 4)["name"] = "a";
  Layer(config, 4)["config"]["name"] = "a";
  EXPECT_EQ(Error(config), absl::StrFormat("'%s': model_config, layer 4 'a' (Dense): the name "
                                           "'a' is also the name of layer 3: layer names must be "
                                           "unique",
                                           edited_));
  config = config_;
  Layer(config, 4)["name"] = "c";
  EXPECT_EQ(Error(config), absl::StrFormat("'%s': model_config, layer 4 'c' (Dense): expected "
                                           "(its config's name to be its name), got (config name "
                                           "\"b\")",
                                           edited_));
  config = config_;
  Layer(config, 4).erase("inbound_nodes");
  EXPECT_NE(Error(config).find("model_config, layer 4: expected ({\"class_name\": ..., "
                               "\"config\": {...}, \"name\": \"...\", \"inbound_nodes\": [...]})"),
            std::string::npos);
  config = config_;
  Layer(config, 4)["shared_object_id"] = 3;
  EXPECT_EQ(Error(config), absl::StrFormat("'%s': model_config, layer 4 'b' (Dense): key "
                                           "'shared_object_id' (value 3) is not one this library "
                                           "reads",
                                           edited_));
  config = config_;
  Layer(config, 2)["class_name"] = "Functional";
  EXPECT_EQ(Error(config), absl::StrFormat("'%s': model_config, layer 2 'shared' (Functional): a "
                                           "model nested inside this model is not implemented: "
                                           "build the model from the inner model's layers",
                                           edited_));
  config = config_;
  Layer(config, 0)["inbound_nodes"] = Json::parse(R"([[["right", 0, 0, {}]]])");
  EXPECT_NE(Error(config).find("layer 0 'left' (InputLayer): expected (no inbound nodes: an input "
                               "is called on nothing)"),
            std::string::npos);
  config = config_;
  config["config"]["extra"] = 1;
  EXPECT_EQ(Error(config), absl::StrFormat("'%s': model_config (Functional), config key 'extra': "
                                           "not a key this library reads (value 1); remove it or "
                                           "use a model this library can build",
                                           edited_));
  // A layer no output needs (Keras would keep it aside; it has no place in the weights here).
  config = config_;
  config["config"]["layers"].push_back(Json::parse(R"({"class_name": "Dropout", "config":
      {"name": "extra", "rate": 0.5}, "name": "extra", "inbound_nodes": [[["shared", 0, 0, {}]]]})"));
  EXPECT_EQ(Error(config),
            absl::StrFormat("'%s': model_config, layer 5 'extra' (Dropout): no output of the "
                            "model needs it (the outputs are layers a, b); this library keeps "
                            "only layers between the inputs and the outputs",
                            edited_));
}

TEST_F(HostileGraphs, InputsAndOutputs) {
  Json config = config_;
  config["config"]["input_layers"][0] = Json::parse(R"(["shared", 0, 0])");
  EXPECT_EQ(Error(config), absl::StrFormat("'%s': model_config (Functional), config key "
                                           "'input_layers', tensor 0: expected (an InputLayer), "
                                           "got (layer 'shared' (Dense))",
                                           edited_));
  config = config_;
  config["config"]["output_layers"][1] = Json::parse(R"(["nosuch", 0, 0])");
  EXPECT_EQ(Error(config), absl::StrFormat("'%s': model_config (Functional), config key "
                                           "'output_layers', tensor 1: it names layer 'nosuch', "
                                           "which the model_config does not have",
                                           edited_));
  config = config_;
  config["config"].erase("output_layers");
  EXPECT_EQ(Error(config), absl::StrFormat("'%s': model_config (Functional), config key "
                                           "'output_layers': missing (a list is required)",
                                           edited_));
  config = config_;
  config["config"]["input_layers"].erase(1);
  EXPECT_NE(Error(config).find("the graph is disconnected"), std::string::npos);
  config = config_;
  config["config"]["input_layers"][1] = Json::parse(R"(["left", 0, 0])");
  EXPECT_EQ(Error(config), absl::StrFormat("'%s': model 'two_heads': the input 'left' is listed "
                                           "twice",
                                           edited_));
}

TEST_F(HostileGraphs, AbsurdSizesAreRefusedAtOnce) {
  Json config = config_;
  Layer(config, 0)["config"]["batch_input_shape"] = Json::parse("[null, 4000000000]");
  EXPECT_EQ(Error(config), absl::StrFormat("'%s': model_config, layer 0 'left' (InputLayer), "
                                           "config key 'batch_input_shape': expected ([null, n, "
                                           "...] with 1 to 8 axes, each n null or in [1, "
                                           "16777216]), got ([null,4000000000])",
                                           edited_));
  // A layer far larger than the weights stored: refused before anything large is made (the
  // file stores 15 + 4 + 4 values).
  config = config_;
  Layer(config, 2)["config"]["units"] = 1 << 24;
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(Error(config),
            absl::StrFormat("'%s': model_config, layer 2 'shared' (Dense), inbound node 0: layer "
                            "'shared' (Dense) on input (None, 4): its weight 'kernel' of shape (4, "
                            "16777216) would hold more values than all the weights stored in the "
                            "file (23): the file's model_config does not match its weights",
                            edited_));
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 5);
  config = config_;
  Json& layers = config["config"]["layers"];
  const Json small = Json::parse(R"({"class_name": "Dropout", "config": {"name": "d", "rate":
      0.5}, "name": "d", "inbound_nodes": [[["left", 0, 0, {}]]]})");
  while (layers.size() <= 70000) layers.push_back(small);
  EXPECT_EQ(Error(config), absl::StrFormat("'%s': model_config (Functional), config key "
                                           "'layers': expected (1 to 65536 layers), got (70001)",
                                           edited_));
}

// What Keras reads, this reads too: layers listed after the layers that take their outputs
// (reconstruct_from_config creates every layer before calling any), and class_name "Model" (as
// tf.keras before 2.4 wrote).
TEST_F(HostileGraphs, KerasOrderingsAndOlderNamesLoad) {
  const Array x1 = Uniform({3, 4}, 1), x2 = Uniform({3, 4}, 2);
  absl::StatusOr<std::vector<Array>> expected = holder_->Predict({x1, x2});
  ASSERT_TRUE(expected.ok());
  Json config = config_;
  Json& layers = config["config"]["layers"];
  std::reverse(layers.begin(), layers.end());
  absl::StatusOr<std::unique_ptr<Model>> loaded = Load(config);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ((*loaded)->Summary(), holder_->Summary());
  EXPECT_EQ((*loaded)->Predict({x1, x2}).value(), *expected);
  config = config_;
  config["class_name"] = "Model";
  loaded = Load(config);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ((*loaded)->Predict({x1, x2}).value(), *expected);
}

// A chain of 10,000 layer calls loads (walked without recursion) and predicts as the two layers
// it wraps.
TEST(FunctionalSavingDeep, ALongChainLoads) {
  KerasTensor in = Input({4}, "in");
  Model model({in}, {Named(Dense(2), "dense")(in)}, 3, "deep");
  const std::string path = TempPath("deep.h5");
  ASSERT_TRUE(saving::SaveModel(model, path).ok());
  Json config = ModelConfigOf(path);
  Json& layers = config["config"]["layers"];
  Json dense = layers[1];
  layers.erase(1);
  std::string previous = "in";
  for (int i = 0; i < 10000; ++i) {
    const std::string name = absl::StrCat("dropout_", i);
    layers.push_back(
        Json{{"class_name", "Dropout"},
             {"config", Json{{"name", name}, {"rate", 0.5}}},
             {"name", name},
             {"inbound_nodes",
              Json::array({Json::array({Json::array({previous, 0, 0, Json::object()})})})}});
    previous = name;
  }
  dense["inbound_nodes"][0][0][0] = previous;
  layers.push_back(dense);
  SetRootAttribute(path, "model_config", config.dump());
  absl::StatusOr<std::unique_ptr<Model>> loaded = saving::LoadModel(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ((*loaded)->layers().size(), 10002u);
  const Array x = Uniform({3, 4}, 1);
  EXPECT_EQ((*loaded)->Predict(x).value(), model.Predict(x).value());
}

// The graph of a long chain of calls is freed without recursion (Node's destructor): 300,000
// nested frees would overflow the stack.
TEST(FunctionalSavingDeep, ALongChainIsFreedWithoutRecursion) {
  KerasTensor x = Input({2}, "chain_input");
  for (int i = 0; i < 300000; ++i) x = Dropout(0.1)(x);
  EXPECT_TRUE(x.status().ok()) << x.status();
  x = KerasTensor();  // the whole chain goes here
  EXPECT_FALSE(x.status().ok());
}

}  // namespace
}  // namespace layers
