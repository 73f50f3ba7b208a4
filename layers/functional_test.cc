// The Functional API: graphs of layer calls, against Sequential, against the layers run by hand,
// and its errors.
#include "layers/functional.h"

#include <gtest/gtest.h>

#include "autograd/random.h"
#include "layers/dense.h"
#include "layers/embedding.h"
#include "layers/model.h"
#include "layers/recurrent.h"
#include "layers/sequential.h"
#include "xtensor/xview.hpp"

namespace layers {
namespace {

// Word indices [samples, time] in [1, vocabulary), each row cut to a random length with zero
// padding in front (as Keras' pad_sequences), and labels from the first word's parity.
struct Reviews {
  Array x, y;
};
Reviews MakeReviews(size_t samples, size_t time, size_t vocabulary, uint64_t seed) {
  Rng rng(seed);
  Reviews data{xt::zeros<Real>({samples, time}), xt::zeros<Real>({samples, size_t{1}})};
  for (size_t i = 0; i < samples; ++i) {
    const size_t length = 1 + rng.Below(time);
    for (size_t t = time - length; t < time; ++t) {
      data.x(i, t) = static_cast<Real>(1 + rng.Below(vocabulary - 1));
    }
    data.y(i, 0) = static_cast<Real>(static_cast<int>(data.x(i, time - 1)) % 2);
  }
  return data;
}

Array Column(std::vector<Real> values) {
  Array column = Array::from_shape({values.size(), size_t{1}});
  std::copy(values.begin(), values.end(), column.begin());
  return column;
}

void ExpectSameWeights(const std::vector<Array>& a, const std::vector<Array>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t k = 0; k < a.size(); ++k) {
    ASSERT_EQ(a[k].shape(), b[k].shape()) << "weight " << k;
    EXPECT_TRUE(std::equal(a[k].begin(), a[k].end(), b[k].begin())) << "weight " << k;
  }
}

// The same network as Sequential and as Model(inputs, outputs) trains to the same weights, bit
// for bit, with one seed: the IMDB LSTM of the tutorial (dropout included, to show the layers
// draw from the model's generator in both).
TEST(Functional, ImdbLstmTrainsAsSequentialBitForBit) {
  const Reviews data = MakeReviews(40, 12, 30, 5);
  Sequential sequential(/*seed=*/11);
  sequential.Add(Embedding(30, 8, 12));
  sequential.Add(LSTM(RecurrentOptions(6).dropout(0.2).recurrent_dropout(0.1)));
  sequential.Add(Dense(1, "sigmoid"));
  ASSERT_TRUE(sequential.Compile("binary_crossentropy", std::make_unique<autograd::Adam>(), {"acc"})
                  .ok());

  KerasTensor inputs = Input({12});
  KerasTensor x = Embedding(30, 8, 12)(inputs);
  x = LSTM(RecurrentOptions(6).dropout(0.2).recurrent_dropout(0.1))(x);
  KerasTensor outputs = Dense(1, "sigmoid")(x);
  Model functional({inputs}, {outputs}, /*seed=*/11);
  ASSERT_TRUE(functional.status().ok()) << functional.status();
  ASSERT_TRUE(functional.Compile("binary_crossentropy", std::make_unique<autograd::Adam>(), {"acc"})
                  .ok());

  ExpectSameWeights(sequential.GetWeights(), functional.GetWeights());
  // Both draw their initial weights as layers built one after the other from one generator.
  {
    Rng rng(11);
    LayerPtr embedding = Embedding(30, 8, 12), lstm = LSTM(6), dense = Dense(1, "sigmoid");
    ASSERT_TRUE(embedding->Build({12}, rng).ok());
    ASSERT_TRUE(lstm->Build({12, 8}, rng).ok());
    ASSERT_TRUE(dense->Build({6}, rng).ok());
    std::vector<Array> by_hand;
    for (const LayerPtr& layer : {embedding, lstm, dense}) {
      for (Array& value : layer->GetWeights()) by_hand.push_back(std::move(value));
    }
    ExpectSameWeights(functional.GetWeights(), by_hand);
  }
  const FitOptions options = FitOptions().epochs(3).batch_size(8).verbose(0);
  absl::StatusOr<History> a = sequential.Fit(data.x, data.y, options);
  absl::StatusOr<History> b = functional.Fit(data.x, data.y, options);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(a->history, b->history);
  ExpectSameWeights(sequential.GetWeights(), functional.GetWeights());
  EXPECT_NE(a->history.at("loss")[0], a->history.at("loss")[2]);  // it did train
}

// A Bidirectional GRU under masks (Embedding(mask_zero)), with bucketing: as Sequential.
TEST(Functional, MaskedBidirectionalGruTrainsAsSequentialBitForBit) {
  const Reviews data = MakeReviews(30, 10, 20, 6);
  Sequential sequential(/*seed=*/4);
  sequential.Add(Embedding(20, 5, 10, /*mask_zero=*/true));
  sequential.Add(Bidirectional(GRU(RecurrentOptions(4).dropout(0.1))));
  sequential.Add(Dense(1, "sigmoid"));
  ASSERT_TRUE(sequential.Compile("binary_crossentropy", std::make_unique<autograd::Adam>()).ok());

  KerasTensor inputs = Input({10});
  KerasTensor x = Embedding(20, 5, 10, /*mask_zero=*/true)(inputs);
  EXPECT_TRUE(x.masked());
  x = Bidirectional(GRU(RecurrentOptions(4).dropout(0.1)))(x);
  EXPECT_FALSE(x.masked());  // consumed
  Model functional({inputs}, {Dense(1, "sigmoid")(x)}, /*seed=*/4);
  ASSERT_TRUE(functional.Compile("binary_crossentropy", std::make_unique<autograd::Adam>()).ok());

  const FitOptions options =
      FitOptions().epochs(2).batch_size(6).verbose(0).bucket_by_length(true);
  ASSERT_TRUE(sequential.Fit(data.x, data.y, options).ok());
  ASSERT_TRUE(functional.Fit(data.x, data.y, options).ok());
  ExpectSameWeights(sequential.GetWeights(), functional.GetWeights());
  absl::StatusOr<Array> p = sequential.Predict(data.x);
  absl::StatusOr<Array> q = functional.Predict(data.x);
  ASSERT_TRUE(p.ok() && q.ok());
  EXPECT_EQ(*p, *q);
}

// Keras' seq2seq: an encoder's final states start a decoder, under masks, with inputs of any
// length; the inference encoder and decoder are sub-models sharing the layers. The trained
// model's output equals the encoder run alone and its states fed to the decoder's layers by hand.
TEST(Functional, EncoderStatesStartTheDecoder) {
  KerasTensor encoder_inputs = Input({kVaries});
  KerasTensor encoded = Embedding(15, 6, 0, /*mask_zero=*/true)(encoder_inputs);
  KerasTensors encoder = LSTM(RecurrentOptions(5).return_state(true))(encoded);
  ASSERT_EQ(encoder.size(), 3u);
  EXPECT_EQ(encoder[1].shape(), Shape{5});
  LayerPtr decoder_embedding = Embedding(15, 6, 0, /*mask_zero=*/true);
  LayerPtr decoder_lstm = LSTM(RecurrentOptions(5).return_sequences(true));
  LayerPtr decoder_dense = Dense(15, "softmax");
  KerasTensor decoder_inputs = Input({kVaries});
  KerasTensor decoded = decoder_embedding(decoder_inputs);
  KerasTensor sequence = decoder_lstm(decoded, InitialState{encoder[1], encoder[2]});
  EXPECT_TRUE(sequence.masked());
  EXPECT_EQ(sequence.shape(), (Shape{kVaries, 5}));
  KerasTensor outputs = decoder_dense(sequence);
  Model model({encoder_inputs, decoder_inputs}, {outputs}, /*seed=*/3);
  ASSERT_TRUE(model.status().ok()) << model.status();

  // Train a little (targets: the next decoder word, one-hot; padding masked out of the loss).
  const Reviews source = MakeReviews(16, 7, 15, 1), target = MakeReviews(16, 5, 15, 2);
  Array one_hot = xt::zeros<Real>({size_t{16}, size_t{5}, size_t{15}});
  for (size_t i = 0; i < 16; ++i) {
    for (size_t t = 0; t < 5; ++t) one_hot(i, t, static_cast<size_t>(target.x(i, t))) = 1;
  }
  ASSERT_TRUE(
      model.Compile("categorical_crossentropy", std::make_unique<autograd::Adam>(), {"acc"}).ok());
  absl::StatusOr<History> history =
      model.Fit({source.x, target.x}, {one_hot}, FitOptions().epochs(2).batch_size(4).verbose(0));
  ASSERT_TRUE(history.ok()) << history.status();

  // The inference encoder: a sub-model sharing the trained layers.
  Model encoder_model({encoder_inputs}, {encoder[1], encoder[2]});
  ASSERT_TRUE(encoder_model.status().ok()) << encoder_model.status();
  absl::StatusOr<std::vector<Array>> states = encoder_model.Predict(std::vector<Array>{source.x});
  ASSERT_TRUE(states.ok()) << states.status();
  ASSERT_EQ(states->size(), 2u);

  // The decoder by hand: its layers called directly with the encoder's states.
  autograd::NoGradGuard no_grad;
  const Tensor words(target.x);
  std::optional<Array> mask = decoder_embedding->ComputeMask(target.x, nullptr);
  ASSERT_TRUE(mask.has_value());
  const Tensor embedded = decoder_embedding->CallMasked(words, nullptr, false);
  auto* lstm = dynamic_cast<RecurrentLayer*>(decoder_lstm.get());
  ASSERT_NE(lstm, nullptr);
  const std::vector<Tensor> run = lstm->CallWithState(
      embedded, &*mask, {Tensor((*states)[0]), Tensor((*states)[1])}, false);
  const Array by_hand = decoder_dense->CallMasked(run[0], &*mask, false).value();

  absl::StatusOr<std::vector<Array>> predicted = model.Predict({source.x, target.x});
  ASSERT_TRUE(predicted.ok()) << predicted.status();
  ASSERT_EQ((*predicted)[0].shape(), by_hand.shape());
  for (size_t k = 0; k < by_hand.size(); ++k) {
    EXPECT_FLOAT_EQ((*predicted)[0].data()[k], by_hand.data()[k]) << "element " << k;
  }

  // The inference decoder: states as inputs, sharing the decoder's layers.
  KerasTensor h = Input({5}), c = Input({5});
  KerasTensor step = decoder_dense(decoder_lstm(decoder_embedding(decoder_inputs), InitialState{h, c}));
  Model decoder_model({decoder_inputs, h, c}, {step});
  ASSERT_TRUE(decoder_model.status().ok()) << decoder_model.status();
  absl::StatusOr<std::vector<Array>> stepped =
      decoder_model.Predict({target.x, (*states)[0], (*states)[1]});
  ASSERT_TRUE(stepped.ok()) << stepped.status();
  for (size_t k = 0; k < by_hand.size(); ++k) {
    EXPECT_FLOAT_EQ((*stepped)[0].data()[k], by_hand.data()[k]) << "element " << k;
  }
}

// A model called as a layer inside another gives what it gives alone, and its weights are the
// outer model's.
TEST(Functional, ModelInsideAModel) {
  KerasTensor inner_in = Input({3});
  auto inner = std::make_shared<Model>(std::vector<KerasTensor>{inner_in},
                                       std::vector<KerasTensor>{Dense(4, "tanh")(inner_in)},
                                       /*seed=*/2, "inner");
  ASSERT_TRUE(inner->status().ok());
  KerasTensor outer_in = Input({3});
  KerasTensor y = LayerPtr(inner)(outer_in);
  KerasTensor z = Dense(1)(y);
  Model outer({outer_in}, {z}, /*seed=*/9);
  ASSERT_TRUE(outer.status().ok()) << outer.status();
  EXPECT_EQ(outer.CountParams(), 3u * 4 + 4 + 4 + 1);
  const Array x = {{1.0f, 2.0f, 3.0f}, {-1.0f, 0.5f, 2.0f}};
  absl::StatusOr<Array> alone = inner->Predict(x);
  absl::StatusOr<Array> whole = outer.Predict(x);
  ASSERT_TRUE(alone.ok() && whole.ok());
  const std::vector<Array> last = outer.layers().back()->GetWeights();
  for (size_t i = 0; i < 2; ++i) {
    double expected = last[1](0);
    for (size_t k = 0; k < 4; ++k) expected += (*alone)(i, k) * last[0](k, 0);
    EXPECT_NEAR((*whole)(i, 0), expected, 1e-5);
  }
}

// As Keras' input specs: a layer built for a varying axis takes any length there (a decoder
// trained on whole sequences, then called one step at a time), and keeps its output shapes for
// any length; an axis built with a fixed length takes only that length.
TEST(Functional, AnAxisBuiltAsVaryingTakesAnyLength) {
  LayerPtr lstm = LSTM(RecurrentOptions(4).return_sequences(true));
  KerasTensor sequence = Input({kVaries, 3}), step = Input({1, 3});
  EXPECT_EQ(lstm(sequence).shape(), (Shape{kVaries, 4}));
  KerasTensor stepped = lstm(step);
  ASSERT_TRUE(stepped.status().ok()) << stepped.status();
  EXPECT_EQ(stepped.shape(), (Shape{kVaries, 4}));
  LayerPtr fixed = LSTM(RecurrentOptions(4).return_sequences(true));
  fixed->set_name("fixed");
  EXPECT_TRUE(fixed(Input({5, 3})).status().ok());
  EXPECT_EQ(std::string(fixed(Input({1, 3})).status().message()),
            "layer 'fixed' (LSTM) was built for input (None, 5, 3) and cannot take (None, 1, 3)");
  EXPECT_FALSE(lstm(Input({1, 2})).status().ok());  // the features are fixed
}

// Graph-building errors name the layer and the shapes.
TEST(Functional, ErrorsNameTheLayerAndShapes) {
  KerasTensor a = Input({5, 3}, "a"), b = Input({5, 4}, "b");
  LayerPtr shared = LSTM(2);
  shared->set_name("shared_lstm");
  KerasTensor first = shared(a);
  EXPECT_TRUE(first.status().ok());
  KerasTensor second = shared(b);  // weights built for 3 features
  EXPECT_EQ(std::string(second.status().message()),
            "layer 'shared_lstm' (LSTM) was built for input (None, 5, 3) and cannot take "
            "(None, 5, 4)");
  Model bad({a, b}, {Dense(1)(second)});
  EXPECT_EQ(bad.status().message(), "model 'model': " + std::string(second.status().message()));
  EXPECT_FALSE(bad.Compile("mse", std::make_unique<autograd::Sgd>()).ok());

  // An output that needs an input the model was not given.
  KerasTensor c = Input({5, 3}, "c");
  Model disconnected({a}, {Dense(1)(shared(c))});
  EXPECT_NE(disconnected.status().message().find(
                "the graph is disconnected: output dense"),
            std::string::npos)
      << disconnected.status();
  EXPECT_NE(disconnected.status().message().find("needs the input 'c' (None, 5, 3)"),
            std::string::npos)
      << disconnected.status();

  // An input no output needs.
  Model unused({a, c}, {Dense(1)(first)});
  EXPECT_NE(unused.status().message().find("no output needs the input 'c' (None, 5, 3)"),
            std::string::npos)
      << unused.status();

  // Several outputs used as one.
  KerasTensor states = LSTM(RecurrentOptions(2).return_state(true))(a);
  EXPECT_NE(states.status().message().find("gives 3 tensors"), std::string::npos)
      << states.status();

  // A mask reaching a layer that cannot take one.
  KerasTensor words = Input({6});
  KerasTensor masked = Embedding(10, 4, 6, /*mask_zero=*/true)(words);
  LayerPtr dense_time = TimeDistributed(Dense(2));
  KerasTensor fine = dense_time(masked);  // TimeDistributed passes masks on
  EXPECT_TRUE(fine.status().ok()) << fine.status();
}

// Two inputs, two outputs, one layer called on both: the shared layer's gradient is the sum of
// what each call contributes, and each output's loss is reported beside the weighted total.
TEST(Functional, TwoInputsTwoOutputsSharedLayer) {
  KerasTensor left = Input({4}, "left"), right = Input({4}, "right");
  LayerPtr shared = Dense(3, "tanh");
  shared->set_name("shared");
  LayerPtr head_a = Dense(1), head_b = Dense(1);
  head_a->set_name("a");
  head_b->set_name("b");
  KerasTensor out_a = head_a(shared(left)), out_b = head_b(shared(right));
  Model model({left, right}, {out_a, out_b}, /*seed=*/5);
  ASSERT_TRUE(model.status().ok()) << model.status();
  EXPECT_EQ(model.layers().size(), 5u);  // left, right, shared, a, b
  ASSERT_TRUE(model.Compile("mse", std::make_unique<autograd::Sgd>(), {}, {1.0, 0.5}).ok());
  const Array x1 = {{1.0f, 0.0f, -1.0f, 2.0f}, {0.5f, 0.5f, 0.5f, 0.5f}};
  const Array x2 = {{0.0f, 1.0f, 2.0f, -1.0f}, {1.0f, -1.0f, 1.0f, -1.0f}};
  const Array y1 = Column({1, 0}), y2 = Column({-1, 2});
  absl::StatusOr<Scores> scores = model.Evaluate({x1, x2}, {y1, y2});
  ASSERT_TRUE(scores.ok()) << scores.status();
  ASSERT_EQ(scores->outputs.size(), 2u);
  EXPECT_NEAR(scores->loss, scores->outputs[0].loss + 0.5 * scores->outputs[1].loss, 1e-5);

  // The outputs' losses by hand from the predictions.
  absl::StatusOr<std::vector<Array>> p = model.Predict({x1, x2});
  ASSERT_TRUE(p.ok());
  double mse_a = 0, mse_b = 0;
  for (size_t i = 0; i < 2; ++i) {
    mse_a += std::pow((*p)[0](i, 0) - y1(i, 0), 2) / 2;
    mse_b += std::pow((*p)[1](i, 0) - y2(i, 0), 2) / 2;
  }
  EXPECT_NEAR(scores->outputs[0].loss, mse_a, 1e-5);
  EXPECT_NEAR(scores->outputs[1].loss, mse_b, 1e-5);

  absl::StatusOr<History> history =
      model.Fit({x1, x2}, {y1, y2}, FitOptions().epochs(1).batch_size(2).verbose(0));
  ASSERT_TRUE(history.ok()) << history.status();
  std::vector<std::string> keys;
  for (const auto& [key, values] : history->history) keys.push_back(key);
  EXPECT_EQ(keys, (std::vector<std::string>{"a_loss", "b_loss", "loss"}));
}

TEST(Functional, SummaryHasConnections) {
  KerasTensor left = Input({4}, "left"), right = Input({4}, "right");
  LayerPtr shared = Dense(3);
  shared->set_name("shared");
  KerasTensor a = shared(left), b = shared(right);
  LayerPtr head = Dense(1);
  head->set_name("head");
  Model model({left, right}, {head(a), head(b)}, 0, "two");
  // tf.keras 2.3's print_summary for this graph: columns end at 32, 53, 65 and 98.
  const std::string rule(98, '_'), double_rule(98, '=');
  const std::string expected =
      "Model: \"two\"\n" + rule + "\n" +
      "Layer (type)                    Output Shape         Param #     Connected to                     \n" +
      double_rule + "\n" +
      "left (InputLayer)               [(None, 4)]          0                                            \n" +
      rule + "\n" +
      "right (InputLayer)              [(None, 4)]          0                                            \n" +
      rule + "\n" +
      "shared (Dense)                  (None, 3)            15          left[0][0]                       \n" +
      "                                                                 right[0][0]                      \n" +
      rule + "\n" +
      "head (Dense)                    (None, 1)            4           shared[0][0]                     \n" +
      "                                                                 shared[1][0]                     \n" +
      double_rule + "\n" +
      "Total params: 19\nTrainable params: 19\nNon-trainable params: 0\n" + rule + "\n";
  EXPECT_EQ(model.Summary(), expected);
}

}  // namespace
}  // namespace layers

namespace layers {
namespace {

// Keras' None written as Python does: std::nullopt is the varying axis (kVaries), printed None.
TEST(Functional, InputTakesNulloptForAVaryingAxis) {
  const KerasTensor by_nullopt = Input({std::nullopt, 8});
  EXPECT_EQ(by_nullopt.shape(), (Shape{kVaries, 8}));
  EXPECT_EQ(KerasShapeString(by_nullopt.shape()), "(None, None, 8)");  // the batch axis first
  EXPECT_EQ(Input({100}).shape(), Shape{100});
  EXPECT_EQ(Input({kVaries, 3}).shape(), (Shape{kVaries, 3}));
  // A model on it takes batches of any length.
  Model model({by_nullopt}, {Dense(1)(by_nullopt)}, /*seed=*/1);
  ASSERT_TRUE(model.status().ok()) << model.status();
  for (size_t time : {2, 5}) {
    absl::StatusOr<Array> out = model.Predict(Array(xt::zeros<Real>(Shape{3, time, 8})), 3);
    ASSERT_TRUE(out.ok()) << out.status();
    EXPECT_EQ(autograd::ShapeOf(*out), (Shape{3, time, 1}));
  }
}

}  // namespace
}  // namespace layers
