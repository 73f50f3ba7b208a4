#include "layers/saving.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>

#include "layers/config.h"
#include "layers/convolutional.h"
#include "layers/dense.h"
#include "layers/dropout.h"
#include "layers/embedding.h"
#include "layers/recurrent.h"

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
  ASSERT_TRUE(model->Save(path).ok());
  absl::StatusOr<std::unique_ptr<Sequential>> loaded = LoadModel(path);
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
      "simple_rnn",
      [](Sequential& m) {
        m.Add(SimpleRNN(4), {5, 3});
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

}  // namespace
}  // namespace layers
