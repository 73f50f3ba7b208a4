#include "saving/model_file.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <hdf5.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "layers/config.h"
#include "layers/convolutional.h"
#include "layers/dense.h"
#include "layers/dropout.h"
#include "layers/embedding.h"
#include "layers/masking.h"
#include "layers/recurrent.h"
#include "layers/sequential.h"

// HDF5 1.10.8 leaks a few of its own allocations when it gives up on a damaged file
// (CorruptedBytesGiveAnErrorOrTheSameModel): not ours to free. Read by LeakSanitizer in the
// sanitizer build; an unused function otherwise. Handles we leave open would not show up here
// anyway: HDF5 frees them when it shuts down at exit.
extern "C" const char* __lsan_default_suppressions() { return "leak:libhdf5_serial.so\n"; }

namespace layers {
namespace {

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir != nullptr ? dir : "/tmp") + "/" + name;
}

using Builder = std::function<void(Sequential& model)>;

// A compiled model of `build`'s layers, trained a little so that the optimizer has state.
std::unique_ptr<Sequential> Trained(const Builder& build, const Array& x, const Array& y,
                                    const std::string& loss = "binary_crossentropy") {
  auto model = std::make_unique<Sequential>(7);
  build(*model);
  EXPECT_TRUE(model->Compile(loss, std::make_unique<autograd::Adam>(), {"acc"}).ok());
  absl::StatusOr<History> history =
      model->Fit(x, y, FitOptions().epochs(2).batch_size(2).verbose(0));
  EXPECT_TRUE(history.ok()) << history.status();
  return model;
}

Array Random(const Shape& shape, double low, double high, uint64_t seed) {
  Rng rng(seed);
  return autograd::RandomUniform(shape, low, high, rng);
}

Array Indices(size_t samples, size_t length, size_t vocabulary) {
  Array x = Array::from_shape({samples, length});
  Rng rng(3);
  for (Real& value : x) value = static_cast<Real>(rng.Below(vocabulary));
  return x;
}

Array Labels(const Shape& shape) {
  Array y = Array::from_shape(shape);
  for (size_t i = 0; i < y.size(); ++i) y.data()[i] = static_cast<Real>(i % 3 == 0);
  return y;
}

// Saves, loads in the same process and checks that the loaded model is the same model: every
// weight, the predictions bit for bit, the summary, the compile arguments and the config.
void ExpectRoundTrip(const std::string& name, const Builder& build, const Array& x,
                     const Array& y) {
  SCOPED_TRACE(name);
  auto model = Trained(build, x, y);
  const std::string path = TempPath(name + ".h5");
  ASSERT_TRUE(saving::SaveModel(*model, path).ok());
  absl::StatusOr<std::unique_ptr<Model>> loaded = saving::LoadModel(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ((*loaded)->Summary(), model->Summary());
  EXPECT_EQ((*loaded)->loss(), "binary_crossentropy");
  EXPECT_EQ((*loaded)->metrics(), std::vector<std::string>{"acc"});
  const std::vector<Array> before = model->GetWeights(), after = (*loaded)->GetWeights();
  ASSERT_EQ(before.size(), after.size());
  for (size_t i = 0; i < before.size(); ++i) EXPECT_EQ(before[i], after[i]) << "weight " << i;
  absl::StatusOr<Array> expected = model->Predict(x), got = (*loaded)->Predict(x);
  ASSERT_TRUE(expected.ok() && got.ok());
  EXPECT_EQ(*expected, *got);
  for (size_t i = 0; i < model->layers().size(); ++i) {
    EXPECT_EQ(LayerToConfig(model->layer(i)).dump(), LayerToConfig((*loaded)->layer(i)).dump());
  }
}

TEST(Saving, RoundTripEveryLayerKind) {
  const Array sequences = Random({6, 5, 3}, -1, 1, 1);
  const Array words = Indices(6, 8, 20);
  ExpectRoundTrip(
      "dense",
      [](Sequential& m) {
        m.Add(Dense(4, "relu"), {3});
        m.Add(Dense(1, "sigmoid"));
      },
      Random({6, 3}, -1, 1, 2), Labels({6, 1}));
  ExpectRoundTrip(
      "time_distributed",
      [](Sequential& m) {
        m.Add(LSTM(LstmOptions(4).return_sequences(true)), {5, 3});
        m.Add(TimeDistributed(Dense(1, "sigmoid")));
      },
      sequences, Labels({6, 5, 1}));
  ExpectRoundTrip(
      "embedding_dropout_lstm",
      [](Sequential& m) {
        m.Add(Embedding(20, 6, 8));
        m.Add(Dropout(0.25));
        m.Add(LSTM(LstmOptions(5).dropout(0.2).recurrent_dropout(0.2)));
        m.Add(Dense(1, "sigmoid"));
      },
      words, Labels({6, 1}));
  ExpectRoundTrip(
      "masked",
      [](Sequential& m) {
        m.Add(Embedding(20, 6, 8, /*mask_zero=*/true));
        m.Add(Bidirectional(GRU(RecurrentOptions(4).return_sequences(true))));
        m.Add(LSTM(3));
        m.Add(Dense(1, "sigmoid"));
      },
      words, Labels({6, 1}));
  ExpectRoundTrip(
      "masking",
      [](Sequential& m) {
        m.Add(Masking(-1.0), {5, 3});
        m.Add(SimpleRNN(4));
        m.Add(Dense(1, "sigmoid"));
      },
      sequences, Labels({6, 1}));
  ExpectRoundTrip(
      "simple_rnn",
      [](Sequential& m) {
        m.Add(SimpleRNN(4), {5, 3});
        m.Add(Dense(1, "sigmoid"));
      },
      sequences, Labels({6, 1}));
  ExpectRoundTrip(
      "gru_reset_before",
      [](Sequential& m) {
        m.Add(GRU(RecurrentOptions(4).reset_after(false).recurrent_activation("hard_sigmoid")),
              {5, 3});
        m.Add(Dense(1, "sigmoid"));
      },
      sequences, Labels({6, 1}));
  ExpectRoundTrip(
      "gru",
      [](Sequential& m) {
        m.Add(GRU(RecurrentOptions(4).go_backwards(true)), {5, 3});
        m.Add(Dense(1, "sigmoid"));
      },
      sequences, Labels({6, 1}));
  for (const char* mode : {"sum", "mul", "ave", "concat"}) {
    ExpectRoundTrip(
        std::string("bidirectional_") + mode,
        [mode](Sequential& m) {
          m.Add(Bidirectional(LSTM(LstmOptions(4).return_sequences(true)), mode), {5, 3});
          m.Add(TimeDistributed(Dense(1, "sigmoid")));
        },
        sequences, Labels({6, 5, 1}));
  }
  ExpectRoundTrip(
      "conv_pool",
      [](Sequential& m) {
        m.Add(Embedding(20, 6, 8));
        m.Add(Conv1D(4, 3, "same", "relu"));
        m.Add(MaxPooling1D(2));
        m.Add(LSTM(3));
        m.Add(Dense(1, "sigmoid"));
      },
      words, Labels({6, 1}));
  ExpectRoundTrip(
      "stacked",
      [](Sequential& m) {
        m.Add(LSTM(LstmOptions(4).return_sequences(true)), {5, 3});
        m.Add(GRU(RecurrentOptions(4).return_sequences(true)));
        m.Add(Bidirectional(SimpleRNN(3), "ave"));
        m.Add(Dense(1, "sigmoid"));
      },
      sequences, Labels({6, 1}));
}

std::vector<std::string> ListDirectory(const std::string& dir) {
  std::vector<std::string> names;
  if (DIR* handle = opendir(dir.c_str())) {
    while (dirent* entry = readdir(handle)) {
      if (std::string(entry->d_name) != "." && std::string(entry->d_name) != "..") {
        names.push_back(entry->d_name);
      }
    }
    closedir(handle);
  }
  return names;
}

void SmallModel(Sequential& m) {
  m.Add(LSTM(LstmOptions(4).return_sequences(true)), {5, 3});
  m.Add(TimeDistributed(Dense(1, "sigmoid")));
}

std::string ReadAll(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

void WriteAll(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// The error of loading `path`, which must fail.
std::string LoadError(const std::string& path) {
  absl::StatusOr<std::unique_ptr<Model>> loaded = saving::LoadModel(path);
  EXPECT_FALSE(loaded.ok());
  return loaded.ok() ? "" : std::string(loaded.status().message());
}

TEST(Saving, BadFilesGiveOneClearError) {
  const Array x = Random({4, 5, 3}, -1, 1, 1);
  auto model = Trained(SmallModel, x, Labels({4, 5, 1}));
  const std::string good = TempPath("good.h5");
  ASSERT_TRUE(saving::SaveModel(*model, good).ok());
  const std::string bytes = ReadAll(good);

  const std::string missing = TempPath("missing.h5");
  EXPECT_EQ(LoadError(missing),
            absl::StrFormat("cannot open model file '%s': No such file or directory", missing));
  EXPECT_EQ(LoadError(TempPath("")),
            absl::StrFormat("'%s': expected (a model file), got (a directory)", TempPath("")));
  const std::string empty = TempPath("empty.h5"), text = TempPath("text.h5");
  WriteAll(empty, "");
  WriteAll(text, "this is not HDF5\n");
  EXPECT_EQ(LoadError(empty),
            absl::StrFormat("'%s': expected (an HDF5 file, as model.save writes), got (0 bytes "
                            "that are not one)",
                            empty));
  EXPECT_NE(LoadError(text).find("got (17 bytes that are not one)"), std::string::npos);
  // Cut anywhere, the file is refused with a message naming it, never a crash.
  const std::string truncated = TempPath("truncated.h5");
  for (size_t length : {size_t{8}, size_t{100}, size_t{1000}, bytes.size() / 3, bytes.size() / 2,
                        bytes.size() - 100, bytes.size() - 1}) {
    SCOPED_TRACE(length);
    WriteAll(truncated, bytes.substr(0, length));
    EXPECT_NE(LoadError(truncated).find("'" + truncated + "'"), std::string::npos);
  }

  // Another architecture: the layer, and what was expected and found.
  Sequential wider(1);
  wider.Add(LSTM(LstmOptions(5).return_sequences(true)), {5, 3});
  wider.Add(TimeDistributed(Dense(1, "sigmoid")));
  absl::Status status = saving::LoadWeights(wider, good);
  EXPECT_EQ(status.message(), absl::StrFormat("'%s': layer 'lstm' (LSTM), weight "
                                              "'lstm/lstm_cell/kernel:0': expected shape (3, 20), "
                                              "got (3, 16)",
                                              good));
  Sequential longer(1);
  SmallModel(longer);
  longer.Add(Dense(2));
  status = saving::LoadWeights(longer, good);
  EXPECT_EQ(status.message(),
            absl::StrFormat("'%s': the layers with weights do not match model 'sequential': "
                            "expected (3: lstm, time_distributed, dense), got (2: lstm, "
                            "time_distributed)",
                            good));
  Sequential other(1);
  other.Add(GRU(RecurrentOptions(4).return_sequences(true)), {5, 3});
  other.Add(TimeDistributed(Dense(1, "sigmoid")));
  status = saving::LoadWeights(other, good);
  EXPECT_NE(status.message().find("expected (2: gru, time_distributed), got (2: lstm, "
                                  "time_distributed)"),
            absl::string_view::npos)
      << status;
  // The same architecture loads, from a model file or a weights file.
  Sequential same(99);
  SmallModel(same);
  ASSERT_TRUE(saving::LoadWeights(same, good).ok());
  EXPECT_EQ(same.GetWeights(), model->GetWeights());
  const std::string weights_only = TempPath("weights.h5");
  ASSERT_TRUE(saving::SaveWeights(*model, weights_only).ok());
  Sequential again(98);
  SmallModel(again);
  ASSERT_TRUE(saving::LoadWeights(again, weights_only).ok());
  EXPECT_EQ(again.GetWeights(), model->GetWeights());
  EXPECT_NE(LoadError(weights_only).find("expected (a model: the attribute model_config)"),
            std::string::npos);
}

TEST(Saving, ConfigsAreReadStrictly) {
  auto error = [](const std::string& json) {
    absl::StatusOr<LayerFromFile> layer = LayerFromConfig(Json::parse(json), "m.h5, layer 0");
    EXPECT_FALSE(layer.ok());
    return layer.ok() ? std::string() : std::string(layer.status().message());
  };
  EXPECT_EQ(error(R"({"class_name": "MultiHeadAttention", "config": {"name": "mha"}})"),
            "m.h5, layer 0: layer 'mha' has class 'MultiHeadAttention', which this library does "
            "not have (expected one of: Dense, TimeDistributed, Embedding, Dropout, Masking, "
            "SimpleRNN, LSTM, GRU, Bidirectional, Conv1D, MaxPooling1D, Concatenate, Add, "
            "Subtract, Multiply, Average, GlobalMaxPooling1D, GlobalAveragePooling1D, "
            "RepeatVector, Activation, Attention, AdditiveAttention)");
  EXPECT_EQ(
      error(R"({"class_name": "Dense", "config": {"name": "d", "units": 2, "kernel_size": 3}})"),
      "m.h5, layer 0: layer 'd' (Dense), config key 'kernel_size': not a key this library "
      "reads (value 3); remove it or use a model this library can build");
  EXPECT_EQ(
      error(R"({"class_name": "LSTM", "config": {"name": "l", "units": 2, "stateful": true}})"),
      "m.h5, layer 0: layer 'l' (LSTM), config key 'stateful': expected (false), got "
      "(true): only Keras' default is implemented");
  EXPECT_EQ(error(R"({"class_name": "Dense", "config": {"name": "d", "units": -2}})"),
            "m.h5, layer 0: layer 'd' (Dense), config key 'units': expected a non-negative "
            "integer, got -2");
  EXPECT_EQ(error(R"({"class_name": "Bidirectional", "config": {"name": "b", "layer":
                   {"class_name": "LSTM", "config": {"name": "l", "units": 2, "unroll": true}}}})"),
            "m.h5, layer 0: layer 'b' (Bidirectional): the wrapped layer: layer 'l' (LSTM), "
            "config key 'unroll': expected "
            "(false), got (true): only Keras' default is implemented");
  // What Keras writes for a layer this library has, loads.
  absl::StatusOr<LayerFromFile> gru = LayerFromConfig(Json::parse(R"({"class_name": "GRU",
      "config": {"name": "gru_3", "trainable": true, "batch_input_shape": [null, 7, 2],
      "dtype": "float32", "return_sequences": true, "return_state": false, "go_backwards": false,
      "stateful": false, "unroll": false, "time_major": false, "units": 8, "activation": "tanh",
      "recurrent_activation": "sigmoid", "use_bias": true,
      "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": null}},
      "recurrent_initializer": {"class_name": "Orthogonal", "config": {"gain": 1.0, "seed": null}},
      "bias_initializer": {"class_name": "Zeros", "config": {}}, "kernel_regularizer": null,
      "recurrent_regularizer": null, "bias_regularizer": null, "activity_regularizer": null,
      "kernel_constraint": null, "recurrent_constraint": null, "bias_constraint": null,
      "dropout": 0.0, "recurrent_dropout": 0.0, "implementation": 2, "reset_after": true}})"),
                                                      "keras");
  ASSERT_TRUE(gru.ok()) << gru.status();
  EXPECT_EQ(gru->name, "gru_3");
  EXPECT_EQ(gru->input_shape, (Shape{7, 2}));
  EXPECT_EQ(gru->layer->type(), "GRU");
}

TEST(Saving, KilledDuringSaveLeavesTheOldFile) {
  // A model of 4.5 million weights (54 MB with Adam's moments): a save takes long enough to be
  // killed in the middle.
  Sequential big(5);
  big.Add(Dense(1500, "relu"), {1500});
  big.Add(Dense(1));
  ASSERT_TRUE(big.Compile("mse", std::make_unique<autograd::Adam>()).ok());
  const std::string dir = TempPath("killed");
  mkdir(dir.c_str(), 0755);
  const std::string path = dir + "/big.h5";
  ASSERT_TRUE(saving::SaveModel(big, path).ok());
  const std::vector<Array> weights = big.GetWeights();
  // The file is built in memory, then written: kill while the bytes are being written until
  // two temporaries are left (a kill may land just after a rename), and check every time.
  int temporaries = 0;
  for (int attempt = 0; attempt < 60 && temporaries < 2; ++attempt) {
    SCOPED_TRACE(attempt);
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      for (;;) (void)saving::SaveModel(big, path);
    }
    // Kill as soon as a temporary shows up: while the bytes are being written.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    const size_t before = ListDirectory(dir).size();
    const auto writing = [&] { return ListDirectory(dir).size() > before; };
    while (!writing() && std::chrono::steady_clock::now() < deadline) usleep(200);
    kill(child, SIGKILL);
    int status = 0;
    waitpid(child, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status));
    absl::StatusOr<std::unique_ptr<Model>> loaded = saving::LoadModel(path);
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    EXPECT_EQ((*loaded)->GetWeights(), weights);
    temporaries = 0;
    for (const std::string& name : ListDirectory(dir)) {
      if (name == "big.h5") continue;
      // Hidden, never under the final name.
      EXPECT_EQ(name.rfind(".big.h5.", 0), 0u) << name;
      ++temporaries;
    }
  }
  EXPECT_GE(temporaries, 2);
}

TEST(Saving, ResumingGivesTheSameWeightsAsNotStopping) {
  // Dropout and shuffling draw from the generator, Adam keeps moments: all must carry over.
  const Array x = Indices(10, 8, 20);
  const Array y = Labels({10, 1});
  auto build = [](Sequential& m) {
    m.Add(Embedding(20, 4, 8));
    m.Add(LSTM(LstmOptions(3).dropout(0.3).recurrent_dropout(0.3)));
    m.Add(Dropout(0.5));
    m.Add(Dense(1, "sigmoid"));
  };
  const FitOptions options = FitOptions().batch_size(3).verbose(0);
  Sequential straight(11);
  build(straight);
  ASSERT_TRUE(
      straight.Compile("binary_crossentropy", std::make_unique<autograd::Adam>(), {"acc"}).ok());
  ASSERT_TRUE(straight.Fit(x, y, FitOptions(options).epochs(5)).ok());

  Sequential first(11);
  build(first);
  ASSERT_TRUE(
      first.Compile("binary_crossentropy", std::make_unique<autograd::Adam>(), {"acc"}).ok());
  ASSERT_TRUE(first.Fit(x, y, FitOptions(options).epochs(2)).ok());
  const std::string path = TempPath("resume.h5");
  ASSERT_TRUE(saving::SaveModel(first, path).ok());
  absl::StatusOr<std::unique_ptr<Model>> resumed = saving::LoadModel(path);
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  EXPECT_EQ((*resumed)->GetTrainingState().epochs, 2);
  ASSERT_TRUE((*resumed)->Fit(x, y, FitOptions(options).epochs(5).initial_epoch(2)).ok());
  EXPECT_EQ((*resumed)->GetWeights(), straight.GetWeights());
  // Without the optimizer's state the result differs: the test can tell.
  Sequential fresh(11);
  build(fresh);
  ASSERT_TRUE(
      fresh.Compile("binary_crossentropy", std::make_unique<autograd::Adam>(), {"acc"}).ok());
  ASSERT_TRUE(saving::LoadWeights(fresh, path).ok());
  ASSERT_TRUE(fresh.SetTrainingState(first.GetTrainingState()).ok());
  ASSERT_TRUE(fresh.Fit(x, y, FitOptions(options).epochs(5).initial_epoch(2)).ok());
  EXPECT_NE(fresh.GetWeights(), straight.GetWeights());
}

// Resumes with each optimizer, gradient clipping included: the same weights as not stopping,
// and the same optimizer (class, hyper-parameters, clipping) after loading.
TEST(Saving, ResumingWithEveryOptimizerAndClippingGivesTheSameWeights) {
  const Array x = Random({10, 3}, -1, 1, 4);
  const Array y = Labels({10, 1});
  auto build = [](Sequential& m) {
    m.Add(Dense(4, "tanh"), {3});
    m.Add(Dropout(0.3));
    m.Add(Dense(1, "sigmoid"));
  };
  // Bounds small enough that every step clips.
  std::vector<std::function<std::unique_ptr<autograd::Optimizer>()>> optimizers = {
      [] {
        autograd::RmspropOptions options{0.01f, 0.8f, /*momentum=*/0.5f, 1e-7f, /*centered=*/true};
        options.clipping.clipnorm = 0.05f;
        return std::make_unique<autograd::Rmsprop>(options);
      },
      [] {
        autograd::RmspropOptions options;
        options.clipping.clipvalue = 0.01f;
        return std::make_unique<autograd::Rmsprop>(options);
      },
      [] {
        autograd::AdagradOptions options{0.1f, 0.2f};
        options.clipping.global_clipnorm = 0.05f;
        return std::make_unique<autograd::Adagrad>(options);
      },
      [] {
        autograd::SgdOptions options{0.1f, 0.9f};
        options.clipping.clipvalue = 0.02f;
        options.clipping.clipnorm = 0.03f;
        return std::make_unique<autograd::Sgd>(options);
      },
      [] {
        autograd::AdamOptions options;
        options.clipping.global_clipnorm = 0.05f;
        return std::make_unique<autograd::Adam>(options);
      },
  };
  const FitOptions options = FitOptions().batch_size(3).verbose(0);
  for (const auto& make : optimizers) {
    SCOPED_TRACE(make()->name());
    Sequential straight(11);
    build(straight);
    ASSERT_TRUE(straight.Compile("binary_crossentropy", make(), {"acc"}).ok());
    ASSERT_TRUE(straight.Fit(x, y, FitOptions(options).epochs(5)).ok());

    Sequential first(11);
    build(first);
    ASSERT_TRUE(first.Compile("binary_crossentropy", make(), {"acc"}).ok());
    ASSERT_TRUE(first.Fit(x, y, FitOptions(options).epochs(2)).ok());
    const std::string path = TempPath("resume_optimizer.h5");
    ASSERT_TRUE(saving::SaveModel(first, path).ok());
    absl::StatusOr<std::unique_ptr<Model>> resumed = saving::LoadModel(path);
    ASSERT_TRUE(resumed.ok()) << resumed.status();
    const autograd::Optimizer& loaded = *(*resumed)->optimizer();
    EXPECT_EQ(loaded.name(), first.optimizer()->name());
    EXPECT_EQ(loaded.Hyperparameters(), first.optimizer()->Hyperparameters());
    ASSERT_TRUE((*resumed)->Fit(x, y, FitOptions(options).epochs(5).initial_epoch(2)).ok());
    EXPECT_EQ((*resumed)->GetWeights(), straight.GetWeights());

    // Without the optimizer's state, or without the clipping, the result differs: the test can
    // tell.
    Sequential fresh(11);
    build(fresh);
    ASSERT_TRUE(fresh.Compile("binary_crossentropy", make(), {"acc"}).ok());
    ASSERT_TRUE(saving::LoadWeights(fresh, path).ok());
    ASSERT_TRUE(fresh.SetTrainingState(first.GetTrainingState()).ok());
    ASSERT_TRUE(fresh.Fit(x, y, FitOptions(options).epochs(5).initial_epoch(2)).ok());
    EXPECT_NE(fresh.GetWeights(), straight.GetWeights());
    Sequential unclipped(11);
    build(unclipped);
    std::unique_ptr<autograd::Optimizer> same = make();
    absl::StatusOr<std::unique_ptr<autograd::Optimizer>> without = [&] {
      Json config = OptimizerToConfig(*same);
      for (const char* key : {"clipnorm", "clipvalue", "global_clipnorm"}) {
        config["config"].erase(key);
      }
      return OptimizerFromConfig(config);
    }();
    ASSERT_TRUE(without.ok()) << without.status();
    ASSERT_TRUE(unclipped.Compile("binary_crossentropy", *std::move(without), {"acc"}).ok());
    ASSERT_TRUE(unclipped.Fit(x, y, FitOptions(options).epochs(5)).ok());
    EXPECT_NE(unclipped.GetWeights(), straight.GetWeights());
  }
}

// Optimizer configs as tf.keras 2.11's optimizer_v2 get_config writes them (rmsprop.py,
// adagrad.py, optimizer_v2.py: name, the clipping keys only when set, then the optimizer's own
// and "decay"), listed here by hand; compared as sets of keys and values (JSON key order does not
// matter).
TEST(Saving, OptimizerConfigsAreKerasAndReadStrictly) {
  const auto unordered = [](const Json& json) { return nlohmann::json::parse(json.dump()); };
  autograd::RmspropOptions rmsprop{0.01f, 0.9f, 0.5f, 1e-7f, /*centered=*/true};
  rmsprop.clipping.clipnorm = 1.5f;
  EXPECT_EQ(unordered(OptimizerToConfig(autograd::Rmsprop(rmsprop))), nlohmann::json::parse(R"(
      {"class_name": "RMSprop", "config": {"name": "RMSprop", "clipnorm": 1.5,
       "learning_rate": 0.01, "decay": 0.0, "rho": 0.9, "momentum": 0.5, "epsilon": 1e-07,
       "centered": true}})"));
  autograd::AdagradOptions adagrad;
  adagrad.clipping.global_clipnorm = 2.0f;
  adagrad.clipping.clipvalue = 0.5f;
  EXPECT_EQ(unordered(OptimizerToConfig(autograd::Adagrad(adagrad))), nlohmann::json::parse(R"(
      {"class_name": "Adagrad", "config": {"name": "Adagrad", "clipvalue": 0.5,
       "global_clipnorm": 2.0, "learning_rate": 0.001, "decay": 0.0,
       "initial_accumulator_value": 0.1, "epsilon": 1e-07}})"));
  EXPECT_EQ(unordered(OptimizerToConfig(autograd::Sgd())), nlohmann::json::parse(R"(
      {"class_name": "SGD", "config": {"name": "SGD", "learning_rate": 0.01, "decay": 0.0,
       "momentum": 0.0, "nesterov": false}})"));

  // What Keras writes loads, clipping included; null (the experimental optimizers' "unset") too.
  absl::StatusOr<std::unique_ptr<autograd::Optimizer>> read = OptimizerFromConfig(Json::parse(R"(
      {"class_name": "RMSprop", "config": {"name": "RMSprop", "clipnorm": 1.5,
       "learning_rate": 0.01, "decay": 0.0, "rho": 0.9, "momentum": 0.5, "epsilon": 1e-07,
       "centered": true, "clipvalue": null}})"));
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ((*read)->Hyperparameters(), autograd::Rmsprop(rmsprop).Hyperparameters());
  read = OptimizerFromConfig(Json::parse(R"({"class_name": "Adagrad", "config": {"name":
      "Adagrad", "global_clipnorm": 2.0, "clipvalue": 0.5, "learning_rate": 0.001, "decay": 0.0,
      "initial_accumulator_value": 0.1, "epsilon": 1e-07}})"));
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ((*read)->Hyperparameters(), autograd::Adagrad(adagrad).Hyperparameters());

  auto error = [](const std::string& json) {
    absl::StatusOr<std::unique_ptr<autograd::Optimizer>> optimizer =
        OptimizerFromConfig(Json::parse(json));
    EXPECT_FALSE(optimizer.ok());
    return optimizer.ok() ? std::string() : std::string(optimizer.status().message());
  };
  EXPECT_EQ(error(R"({"class_name": "SGD", "config": {"learning_rate": 0.01, "momentum": 0.0,
                     "clipnorm": 1.0, "global_clipnorm": 2.0}})"),
            "optimizer 'SGD': expected (at most one of clipnorm and global_clipnorm, as Keras), "
            "got (clipnorm 1 and global_clipnorm 2)");
  EXPECT_EQ(error(R"({"class_name": "Adagrad", "config": {"learning_rate": 0.01,
                     "initial_accumulator_value": 0.1, "epsilon": 1e-7, "clipvalue": -1}})"),
            "optimizer 'Adagrad', config key 'clipvalue': expected a finite number > 0 or null, "
            "got -1");
  EXPECT_EQ(error(R"({"class_name": "RMSprop", "config": {"learning_rate": 0.01, "rho": 0.9,
                     "momentum": 0.0, "epsilon": 1e-7, "centered": false, "nesterov": false}})"),
            "optimizer 'RMSprop', config key 'nesterov': not a key this library reads (value "
            "false); remove it or use a model this library can build");
  EXPECT_EQ(error(R"({"class_name": "RMSprop", "config": {"learning_rate": 0.01, "rho": 0.9,
                     "momentum": 0.0, "epsilon": 1e-7, "centered": 1}})"),
            "optimizer 'RMSprop', config key 'centered': expected true or false, got 1");
  EXPECT_EQ(error(R"({"class_name": "RMSprop", "config": {"learning_rate": 0.01, "rho": 0.9,
                     "momentum": 0.0, "epsilon": 1e-7}})"),
            "optimizer 'RMSprop', config key 'centered': missing");
  EXPECT_EQ(error(R"({"class_name": "RMSprop", "config": {"learning_rate": 0.01, "rho": 0.9,
                     "momentum": 1.5, "epsilon": 1e-7, "centered": false}})"),
            "optimizer 'RMSprop': RMSprop: momentum expected (in [0, 1]), got (1.5)");
  EXPECT_EQ(error(R"({"class_name": "Adagrad", "config": {"learning_rate": 0.01,
                     "initial_accumulator_value": 0.1, "epsilon": 1e-7, "decay": 0.5}})"),
            "optimizer 'Adagrad', config key 'decay': expected (0.0), got (0.5): only Keras' "
            "default is implemented");
  EXPECT_EQ(error(R"({"class_name": "Adadelta", "config": {}})"),
            "optimizer 'Adadelta' is not one this library has (expected one of: Adam, SGD, "
            "RMSprop, Adagrad)");
}

TEST(Saving, CorruptedBytesGiveAnErrorOrTheSameModel) {
  // Every 97th byte of a saved file flipped in turn: each load either fails with a message naming
  // the file, or (a byte HDF5 does not read, e.g. free space) gives back the saved weights.
  const Array x = Random({4, 5, 3}, -1, 1, 1);
  auto model = Trained(SmallModel, x, Labels({4, 5, 1}));
  const std::string good = TempPath("flip_source.h5"), bad = TempPath("flipped.h5");
  ASSERT_TRUE(saving::SaveModel(*model, good).ok());
  const std::string bytes = ReadAll(good);
  int refused = 0, loaded_count = 0;
  for (size_t at = 0; at < bytes.size(); at += 97) {
    std::string flipped = bytes;
    flipped[at] = static_cast<char>(flipped[at] ^ 0x5a);
    WriteAll(bad, flipped);
    absl::StatusOr<std::unique_ptr<Model>> loaded = saving::LoadModel(bad);
    if (loaded.ok()) {
      // A byte HDF5 does not read, or one inside a stored number: the same architecture and at
      // most one weight value changed (a flipped weight loads as that value, as in Keras).
      EXPECT_EQ((*loaded)->Summary(), model->Summary()) << "byte " << at;
      const std::vector<Array> saved = model->GetWeights(), got = (*loaded)->GetWeights();
      ASSERT_EQ(got.size(), saved.size()) << "byte " << at;
      size_t changed = 0;
      for (size_t i = 0; i < saved.size(); ++i) {
        ASSERT_EQ(got[i].shape(), saved[i].shape()) << "byte " << at;
        for (size_t j = 0; j < saved[i].size(); ++j) {
          changed += got[i].data()[j] != saved[i].data()[j];
        }
      }
      EXPECT_LE(changed, 1u) << "byte " << at;
      ++loaded_count;
      continue;
    }
    ++refused;
    EXPECT_NE(loaded.status().message().find(bad), absl::string_view::npos)
        << "byte " << at << ": " << loaded.status();
  }
  EXPECT_GT(refused, 0);
  EXPECT_GT(loaded_count, 0);
}

TEST(Saving, HostileConfigValuesAreQuotedShortly) {
  std::string deep = "1";
  for (int i = 0; i < 100000; ++i) deep = "[" + deep + "]";
  absl::StatusOr<LayerFromFile> layer = LayerFromConfig(
      Json::parse(R"({"class_name": "Dense", "config": {"name": "d", "units": )" + deep + "}}"),
      "m.h5");
  ASSERT_FALSE(layer.ok());
  EXPECT_EQ(layer.status().message(),
            "m.h5: layer 'd' (Dense), config key 'units': expected a non-negative integer, got "
            "[...] (a list of 1)");
}

TEST(Saving, VariableLengthStringsAreRead) {
  // What h5py writes for a Python str or bytes (so Keras' own files): read, and so the text's
  // own problem is the error, quoting it.
  const std::string path = TempPath("vlen.h5");
  const hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  const hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, H5T_VARIABLE);
  const hid_t space = H5Screate(H5S_SCALAR);
  const hid_t attribute = H5Acreate2(file, "model_config", type, space, H5P_DEFAULT, H5P_DEFAULT);
  const char* config = "not JSON, read whole";
  H5Awrite(attribute, type, &config);
  H5Aclose(attribute);
  H5Sclose(space);
  H5Tclose(type);
  H5Fclose(file);
  EXPECT_EQ(LoadError(path),
            absl::StrFormat("'%s': attribute 'model_config': expected (JSON), got (not JSON, read "
                            "whole)",
                            path));
}

// Replaces the string attribute `name` of the object at `object_path` in the file at `path` (a
// hostile edit of a saved file).
void SetStringAttribute(const std::string& path, const char* object_path, const char* name,
                        const std::string& value) {
  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(file, 0);
  const hid_t object = H5Oopen(file, object_path, H5P_DEFAULT);
  ASSERT_GE(object, 0);
  if (H5Aexists(object, name) > 0) H5Adelete(object, name);
  const hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, value.size());
  const hid_t space = H5Screate(H5S_SCALAR);
  const hid_t attribute = H5Acreate2(object, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
  ASSERT_GE(attribute, 0);
  ASSERT_GE(H5Awrite(attribute, type, value.data()), 0);
  H5Aclose(attribute);
  H5Sclose(space);
  H5Tclose(type);
  H5Oclose(object);
  ASSERT_GE(H5Fclose(file), 0);
}

// Replaces the dataset at `dataset_path` with one of `dims` float32 values (or, with `stored`
// false, one that declares them and stores nothing).
void ReplaceDataset(const std::string& path, const std::string& dataset_path,
                    const std::vector<hsize_t>& dims, const std::vector<float>& values,
                    hid_t type = H5T_IEEE_F32LE, bool chunked = false) {
  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(file, 0);
  if (H5Lexists(file, dataset_path.c_str(), H5P_DEFAULT) > 0) {
    H5Ldelete(file, dataset_path.c_str(), H5P_DEFAULT);
  }
  const hid_t space = H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
  // Unwritten, contiguous (allocated late) or chunked, a dataset stores nothing of what it
  // declares, as in a hostile file.
  const hid_t creation = H5Pcreate(H5P_DATASET_CREATE);
  std::vector<hsize_t> chunk(dims.size(), 1);
  if (chunked) H5Pset_chunk(creation, static_cast<int>(chunk.size()), chunk.data());
  const hid_t dataset =
      H5Dcreate2(file, dataset_path.c_str(), type, space, H5P_DEFAULT, creation, H5P_DEFAULT);
  H5Pclose(creation);
  ASSERT_GE(dataset, 0);
  if (!values.empty()) {
    ASSERT_GE(H5Dwrite(dataset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()), 0);
  }
  H5Dclose(dataset);
  H5Sclose(space);
  ASSERT_GE(H5Fclose(file), 0);
}

std::string Nested(int levels) { return std::string(levels, '[') + std::string(levels, ']'); }

TEST(HostileFiles, DeeplyNestedJsonIsRefusedBeforeParsing) {
  // 100,000 levels (200 KB): parsing such a value is fine, copying it overflows the stack.
  const Array x = Random({4, 5, 3}, -1, 1, 1);
  auto model = Trained(SmallModel, x, Labels({4, 5, 1}));
  const std::string path = TempPath("deep.h5");
  for (const char* attribute : {"model_config", "training_config", "preprocessing"}) {
    SCOPED_TRACE(attribute);
    ASSERT_TRUE(saving::SaveModel(*model, path).ok());
    SetStringAttribute(
        path, "/", attribute,
        R"({"class_name": "Sequential", "config": {"layers": )" + Nested(100000) + "}}");
    EXPECT_EQ(LoadError(path),
              absl::StrFormat("'%s': attribute '%s': JSON nested more than 64 levels deep (at "
                              "byte 112): not a configuration this library writes",
                              path, attribute));
  }
}

TEST(HostileFiles, DeclaredSizesAreCheckedAgainstTheStoredData) {
  const Array x = Random({4, 5, 3}, -1, 1, 1);
  auto model = Trained(SmallModel, x, Labels({4, 5, 1}));
  const std::string path = TempPath("declared.h5");
  // training_state/order declaring 2^32 values and storing none (was: std::bad_alloc).
  ASSERT_TRUE(saving::SaveModel(*model, path).ok());
  // Chunked (a chunk index declares what it likes), as Keras never writes: refused.
  ReplaceDataset(path, "/training_state/order", {hsize_t{1} << 32}, {}, H5T_STD_U64LE,
                 /*chunked=*/true);
  EXPECT_EQ(LoadError(path),
            absl::StrFormat("'%s': training_state, weight 'order': expected (a contiguous dataset "
                            "stored in the file, as Keras writes), got (a chunked one)",
                            path));
  // Contiguous, declaring 2^26 indices (512 MB) and storing none.
  ASSERT_TRUE(saving::SaveModel(*model, path).ok());
  ReplaceDataset(path, "/training_state/order", {hsize_t{1} << 26}, {}, H5T_STD_U64LE);
  EXPECT_EQ(LoadError(path),
            absl::StrFormat("'%s': training_state, weight 'order': expected (the 67108864 "
                            "values it declares), got (0 bytes stored): the file is damaged",
                            path));
  // A weight declaring more values than it stores.
  ASSERT_TRUE(saving::SaveModel(*model, path).ok());
  ReplaceDataset(path, "/model_weights/lstm/lstm/lstm_cell/bias:0", {hsize_t{1} << 30}, {});
  EXPECT_EQ(LoadError(path),
            absl::StrFormat("'%s': layer 'lstm', weight 'lstm/lstm_cell/bias:0': expected (the "
                            "1073741824 values it declares), got (0 bytes stored): the file is "
                            "damaged",
                            path));
  // Data in another file (an external file list: here /dev/zero, never opened by the test):
  // refused before anything is read.
  ASSERT_TRUE(saving::SaveModel(*model, path).ok());
  {
    const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    ASSERT_GE(file, 0);
    H5Ldelete(file, "/training_state/order", H5P_DEFAULT);
    const hsize_t dims[1] = {hsize_t{1} << 28};
    const hid_t space = H5Screate_simple(1, dims, nullptr);
    const hid_t creation = H5Pcreate(H5P_DATASET_CREATE);
    ASSERT_GE(H5Pset_external(creation, "/dev/zero", 0, dims[0] * 8), 0);
    const hid_t dataset = H5Dcreate2(file, "/training_state/order", H5T_STD_U64LE, space,
                                     H5P_DEFAULT, creation, H5P_DEFAULT);
    ASSERT_GE(dataset, 0);
    H5Dclose(dataset);
    H5Pclose(creation);
    H5Sclose(space);
    ASSERT_GE(H5Fclose(file), 0);
  }
  EXPECT_EQ(LoadError(path),
            absl::StrFormat("'%s': training_state, weight 'order': expected (a contiguous dataset "
                            "stored in the file, as Keras writes), got (one whose data lies in "
                            "other files)",
                            path));
}

TEST(HostileFiles, AConfigLargerThanTheStoredWeightsIsRefusedAtOnce) {
  // A small file whose config declares LSTM(12000): 2.3 GB of recurrent kernel, minutes of
  // orthogonal initialisation before. Now refused before anything large is allocated.
  Sequential small(1);
  small.Add(LSTM(LstmOptions(12)), {5, 3});
  small.Add(Dense(1, "sigmoid"));
  ASSERT_TRUE(small.Compile("binary_crossentropy", std::make_unique<autograd::Adam>()).ok());
  const std::string path = TempPath("lstm12000.h5");
  ASSERT_TRUE(saving::SaveModel(small, path).ok());
  const std::string config = LayerToConfig(small.layer(0), &small.input_shape()).dump();
  std::string huge =
      R"({"class_name": "Sequential", "config": {"name": "sequential", "layers": [)" + config +
      "," + LayerToConfig(small.layer(1)).dump() + "]}}";
  const size_t units = huge.find("\"units\":12,");
  ASSERT_NE(units, std::string::npos);
  huge.replace(units, std::string("\"units\":12,").size(), "\"units\":12000,");
  SetStringAttribute(path, "/", "model_config", huge);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(LoadError(path),
            absl::StrFormat("'%s': layer 'lstm' (LSTM) on input (None, 5, 3): its weight 'kernel' "
                            "of shape (3, 48000) would hold more values than all the weights "
                            "stored in the file (%d): the file's model_config does not match its "
                            "weights",
                            path, small.CountParams()));
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 5);
}

TEST(HostileFiles, NonFiniteWeightsAndOptimizerStateAreRefused) {
  const Array x = Random({4, 5, 3}, -1, 1, 1);
  auto model = Trained(SmallModel, x, Labels({4, 5, 1}));
  const std::string path = TempPath("nan.h5");
  const float nan = std::nanf(""), inf = INFINITY;
  // dense's kernel is (4, 1) in SmallModel's TimeDistributed(Dense(1)) after LSTM(4).
  struct Case {
    std::string dataset, where;
    float bad;
  };
  const Array kernel = model->layer(1).GetWeights()[0];
  const std::vector<hsize_t> dims(kernel.shape().begin(), kernel.shape().end());
  for (const auto& [dataset, where] : std::vector<std::pair<std::string, std::string>>{
           {"/model_weights/time_distributed/time_distributed/kernel:0",
            "layer 'time_distributed' (TimeDistributed), weight 'time_distributed/kernel:0'"},
           {"/optimizer_weights/Adam/time_distributed/kernel/m:0",
            "optimizer_weights, weight 'Adam/time_distributed/kernel/m:0'"}}) {
    for (const float bad : {nan, inf, -inf}) {
      SCOPED_TRACE(dataset);
      ASSERT_TRUE(saving::SaveModel(*model, path).ok());
      std::vector<float> values(kernel.size(), 0.5f);
      values[2] = bad;
      ReplaceDataset(path, dataset, dims, values);
      EXPECT_EQ(LoadError(path),
                absl::StrFormat("'%s': %s: expected (finite numbers), got (%f at flat index 2): "
                                "the model diverged before it was saved, or the file is damaged",
                                path, where, static_cast<double>(bad)));
    }
  }
}

TEST(HostileFiles, LargeStringsSaveAndLoadUpToTheLimit) {
  // A 100,000-word vocabulary's preprocessing is over 1 MB: what Save writes, LoadModel reads.
  const Array x = Random({4, 5, 3}, -1, 1, 1);
  auto model = Trained(SmallModel, x, Labels({4, 5, 1}));
  std::string words;
  for (int i = 0; i < 300000; ++i) absl::StrAppend(&words, i == 0 ? "" : ",", "\"w", i, "\"");
  const std::string preprocessing = "{\"words\": [" + words + "]}";
  ASSERT_GT(preprocessing.size(), size_t{2} << 20);
  model->set_preprocessing(preprocessing);
  const std::string path = TempPath("large.h5");
  ASSERT_TRUE(saving::SaveModel(*model, path).ok());
  absl::StatusOr<std::unique_ptr<Model>> loaded = saving::LoadModel(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ((*loaded)->preprocessing(), preprocessing);
  // Past the limit, Save refuses and leaves the old file.
  model->set_preprocessing(std::string(saving::kMaxModelFileString + 1, ' '));
  EXPECT_EQ(saving::SaveModel(*model, path).message(),
            absl::StrFormat("cannot save to '%s': attribute preprocessing: 67108865 bytes, more "
                            "than the 67108864 a model file may hold in one string",
                            path));
  loaded = saving::LoadModel(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ((*loaded)->preprocessing(), preprocessing);
}

TEST(HostileFiles, SavingOntoADeviceFifoOrDirectoryIsRefused) {
  // Private nodes in the test's own directory, never the real /dev ones.
  const Array x = Random({4, 5, 3}, -1, 1, 1);
  auto model = Trained(SmallModel, x, Labels({4, 5, 1}));
  const std::string dir = TempPath("nodes");
  mkdir(dir.c_str(), 0700);
  const std::string device = dir + "/null", fifo = dir + "/fifo";
  const bool have_device = mknod(device.c_str(), S_IFCHR | 0600, makedev(1, 3)) == 0;
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  std::vector<std::pair<std::string, std::string>> cases = {{fifo, "a FIFO (named pipe)"},
                                                            {dir, "a directory"}};
  if (have_device) cases.push_back({device, "a character device"});
  for (const auto& [path, kind] : cases) {
    const std::string expected = absl::StrFormat(
        "cannot write '%s': it is %s, and only a regular file may be replaced: "
        "choose a file name",
        path, kind);
    EXPECT_EQ(saving::SaveModel(*model, path).message(), expected);
    EXPECT_EQ(saving::SaveWeights(*model, path).message(), expected);
  }
  struct stat info {};
  if (have_device) {
    ASSERT_EQ(lstat(device.c_str(), &info), 0);
    EXPECT_TRUE(S_ISCHR(info.st_mode));
  }
  ASSERT_EQ(lstat(fifo.c_str(), &info), 0);
  EXPECT_TRUE(S_ISFIFO(info.st_mode));
  EXPECT_EQ(ListDirectory(dir).size(), have_device ? 2u : 1u);
}

}  // namespace
}  // namespace layers
