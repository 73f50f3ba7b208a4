// Masking with Keras' semantics: the layers that make masks, the property that proves the
// recurrent layers exact (a padded, masked batch gives each sequence what it gives alone), the
// skipped steps, the masked loss, and bucketing by length.
#include "layers/masking.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "autograd/elementwise.h"
#include "autograd/optimizers.h"
#include "autograd/random.h"
#include "autograd/reductions.h"
#include "gtest/gtest.h"
#include "layers/config.h"
#include "layers/convolutional.h"
#include "layers/dense.h"
#include "layers/dropout.h"
#include "layers/embedding.h"
#include "layers/recurrent.h"
#include "layers/sequential.h"
#include "xtensor/xview.hpp"

namespace layers {
namespace {

using autograd::CurrentTape;

TEST(Masking, MasksStepsWhoseEveryFeatureIsTheMaskValue) {
  // Steps: (1, 2), (0, 0), (3, 0) | (0, 0), (0, 0), (0, 5).
  const Array x = xt::xtensor<Real, 3>{{{1, 2}, {0, 0}, {3, 0}}, {{0, 0}, {0, 0}, {0, 5}}};
  MaskingLayer masking(0.0);
  Rng rng(1);
  ASSERT_TRUE(masking.Build({3, 2}, rng).ok());
  const Array mask = *masking.ComputeMask(x, nullptr);
  EXPECT_EQ(mask, (Array(xt::xtensor<Real, 2>{{1, 0, 1}, {0, 0, 1}})));
  EXPECT_EQ(masking.Call(Tensor(x), false).value(), x);  // masked steps are zeros already

  // With mask_value -1, a step of -1s is masked and its output zeroed; zeros are data.
  const Array y = xt::xtensor<Real, 3>{{{-1, -1}, {0, 0}, {-1, 4}}};
  MaskingLayer minus_one(-1.0);
  ASSERT_TRUE(minus_one.Build({3, 2}, rng).ok());
  EXPECT_EQ(*minus_one.ComputeMask(y, nullptr), (Array(xt::xtensor<Real, 2>{{0, 1, 1}})));
  EXPECT_EQ(minus_one.Call(Tensor(y), false).value(),
            (Array(xt::xtensor<Real, 3>{{{0, 0}, {0, 0}, {-1, 4}}})));

  MaskingLayer bad(std::nan(""));
  EXPECT_EQ(
      bad.Build({3, 2}, rng).message(),
      "layer '' (Masking) on input (None, 3, 2): mask_value must be a finite number, got nan");
}

TEST(Masking, EmbeddingWithMaskZeroMasksIndexZero) {
  EmbeddingLayer embedding(10, 4, 3, /*mask_zero=*/true);
  Rng rng(2);
  ASSERT_TRUE(embedding.Build({3}, rng).ok());
  const Array words = xt::xtensor<Real, 2>{{0, 0, 7}, {3, 0, 9}};
  EXPECT_EQ(*embedding.ComputeMask(words, nullptr),
            (Array(xt::xtensor<Real, 2>{{0, 0, 1}, {1, 0, 1}})));
  EmbeddingLayer plain(10, 4, 3, /*mask_zero=*/false);
  ASSERT_TRUE(plain.Build({3}, rng).ok());
  EXPECT_FALSE(plain.ComputeMask(words, nullptr).has_value());

  // model_config records mask_zero, and reads it back.
  Json config = LayerToConfig(embedding);
  EXPECT_EQ(config["config"]["mask_zero"], true);
  absl::StatusOr<LayerFromFile> read = LayerFromConfig(config, "test");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_TRUE(static_cast<const EmbeddingLayer&>(*read->layer).mask_zero());
}

TEST(Masking, LayersThatCannotTakeAMaskFailAtCompileNamingThemselves) {
  Sequential conv(1);
  conv.Add(Embedding(20, 4, 8, /*mask_zero=*/true));
  conv.Add(Conv1D(2, 3));
  EXPECT_EQ(conv.Compile("mse", std::make_unique<autograd::Adam>()).message(),
            "layer 'conv1d' (Conv1D) does not support masking, but the mask made by layer "
            "'embedding' (Embedding) reaches it: turn the mask off (mask_zero=false, no Masking), "
            "or consume it first with a recurrent layer without return_sequences");
  // The mask passes through Dropout and a return_sequences LSTM to the pooling layer.
  Sequential pool(1);
  pool.Add(Masking(0.0), {8, 3});
  pool.Add(Dropout(0.5));
  LstmOptions sequences(4);
  pool.Add(LSTM(sequences.return_sequences(true)));
  pool.Add(MaxPooling1D(2));
  const absl::Status status = pool.Compile("mse", std::make_unique<autograd::Adam>());
  EXPECT_NE(status.message().find("layer 'max_pooling1d' (MaxPooling1D) does not support "
                                  "masking, but the mask made by layer 'masking' (Masking)"),
            std::string::npos)
      << status;
  // A recurrent layer without return_sequences consumes the mask; what follows needs none.
  Sequential consumed(1);
  consumed.Add(Embedding(20, 4, 8, /*mask_zero=*/true));
  consumed.Add(LSTM(3));
  consumed.Add(Dense(1, "sigmoid"));
  EXPECT_TRUE(consumed.Compile("binary_crossentropy", std::make_unique<autograd::Adam>()).ok());
  // Without a mask, Conv1D is fine after Embedding.
  Sequential unmasked(1);
  unmasked.Add(Embedding(20, 4, 8));
  unmasked.Add(Conv1D(2, 3));
  EXPECT_TRUE(unmasked.Compile("mse", std::make_unique<autograd::Adam>()).ok());
}

// ---- The property: padded and masked == each sequence alone ----

constexpr size_t kTime = 5, kFeatures = 2, kUnits = 3;
// Real lengths of the batch: length 1 and the full length among them.
const std::vector<size_t> kLengths = {1, kTime, 3, 2, 4};

enum class Wrapper { kForward, kBackwards, kSum, kMul, kAve, kConcat };

std::string WrapperName(Wrapper wrapper) {
  switch (wrapper) {
    case Wrapper::kForward:
      return "forward";
    case Wrapper::kBackwards:
      return "go_backwards";
    case Wrapper::kSum:
      return "Bidirectional sum";
    case Wrapper::kMul:
      return "Bidirectional mul";
    case Wrapper::kAve:
      return "Bidirectional ave";
    case Wrapper::kConcat:
      return "Bidirectional concat";
  }
  return "";
}

LayerPtr MakeLayer(const std::string& kind, Wrapper wrapper, bool return_sequences,
                   bool skip_masked_steps = true) {
  RecurrentOptions options(kUnits);
  options.return_sequences(return_sequences)
      .go_backwards(wrapper == Wrapper::kBackwards)
      .skip_masked_steps(skip_masked_steps);
  if (kind == "GRU reset_before") options.reset_after(false);
  LayerPtr layer = kind == "LSTM"              ? LSTM(options)
                   : kind.rfind("GRU", 0) == 0 ? GRU(options)
                                               : SimpleRNN(options);
  switch (wrapper) {
    case Wrapper::kSum:
      return Bidirectional(std::move(layer), "sum");
    case Wrapper::kMul:
      return Bidirectional(std::move(layer), "mul");
    case Wrapper::kAve:
      return Bidirectional(std::move(layer), "ave");
    case Wrapper::kConcat:
      return Bidirectional(std::move(layer), "concat");
    default:
      return layer;
  }
}

// Within 1e-6 of the reference, relative to the reference's scale (at least 1).
void ExpectClose(const Array& actual, const Array& expected, const std::string& what) {
  ASSERT_EQ(autograd::ShapeOf(actual), autograd::ShapeOf(expected)) << what;
  const Real scale = std::max<Real>(1, xt::amax(xt::abs(expected))());
  for (size_t k = 0; k < actual.size(); ++k) {
    ASSERT_NEAR(actual.data()[k], expected.data()[k], 1e-6 * scale) << what << ", element " << k;
  }
}

// Where real step k of a sequence of n real steps lands in the output of a layer that returns
// sequences: processing order for go_backwards, forward time otherwise.
size_t OutputStep(size_t k, size_t n, bool go_backwards) { return go_backwards ? n - 1 - k : k; }

TEST(MaskingProperty, PaddedBatchEqualsEachSequenceAlone) {
  const size_t batch = kLengths.size();
  Rng data_rng(7);
  // Padding holds random values, not zeros: only the mask may keep them out.
  const Array values = autograd::RandomUniform({batch, kTime, kFeatures}, -1, 1, data_rng);
  for (const std::string kind : {"LSTM", "GRU", "GRU reset_before", "SimpleRNN"}) {
    for (Wrapper wrapper : {Wrapper::kForward, Wrapper::kBackwards, Wrapper::kSum, Wrapper::kMul,
                            Wrapper::kAve, Wrapper::kConcat}) {
      for (bool return_sequences : {true, false}) {
        for (bool pre_padding : {true, false}) {
          SCOPED_TRACE(testing::Message()
                       << kind << ", " << WrapperName(wrapper) << ", return_sequences "
                       << return_sequences << ", " << (pre_padding ? "pre" : "post") << "-padding");
          const bool go_backwards = wrapper == Wrapper::kBackwards;
          const bool bidirectional = wrapper != Wrapper::kForward && !go_backwards;
          LayerPtr layer = MakeLayer(kind, wrapper, return_sequences);
          Rng rng(11);
          ASSERT_TRUE(layer->Build({kTime, kFeatures}, rng).ok());
          const size_t out_units = layer->output_shape().back();
          // The input step of real step k of sample b.
          const auto input_step = [&](size_t b, size_t k) {
            return pre_padding ? kTime - kLengths[b] + k : k;
          };
          Array mask = xt::zeros<Real>({batch, kTime});
          for (size_t b = 0; b < batch; ++b) {
            for (size_t k = 0; k < kLengths[b]; ++k) mask(b, input_step(b, k)) = 1;
          }
          // The loss weighs the outputs at real steps (or the last output) by fixed random values.
          Rng weight_rng(13);
          const Array loss_weights =
              return_sequences
                  ? Array(autograd::RandomUniform({batch, kTime, out_units}, -1, 1, weight_rng))
                  : Array(autograd::RandomUniform({batch, out_units}, -1, 1, weight_rng));
          Array padded_weights = xt::zeros<Real>(loss_weights.shape());
          if (return_sequences) {
            for (size_t b = 0; b < batch; ++b) {
              for (size_t k = 0; k < kLengths[b]; ++k) {
                const size_t step = go_backwards ? kTime - 1 - input_step(b, k) : input_step(b, k);
                xt::view(padded_weights, b, step) = xt::view(loss_weights, b, step);
              }
            }
          } else {
            padded_weights = loss_weights;
          }

          CurrentTape().Clear();
          for (Weight weight : layer->weights()) weight.tensor.ZeroGrad();
          const Tensor x(values, /*requires_grad=*/true);
          const Tensor out = layer->CallMasked(x, &mask, /*training=*/false);
          ASSERT_TRUE(CurrentTape()
                          .Backward(autograd::Sum(autograd::Mul(out, Tensor(padded_weights))))
                          .ok());
          const Array batch_dx = x.grad();
          std::vector<Array> batch_grads;
          for (Weight weight : layer->weights()) {
            batch_grads.push_back(weight.tensor.grad());
            weight.tensor.ZeroGrad();
          }

          for (size_t b = 0; b < batch; ++b) {
            const size_t n = kLengths[b];
            SCOPED_TRACE(testing::Message() << "sample " << b << " of length " << n);
            Array alone_values = Array::from_shape({size_t{1}, n, kFeatures});
            for (size_t k = 0; k < n; ++k) {
              xt::view(alone_values, 0, k) = xt::view(values, b, input_step(b, k));
            }
            Array alone_weights;
            if (return_sequences) {
              alone_weights = Array::from_shape({size_t{1}, n, out_units});
              for (size_t k = 0; k < n; ++k) {
                const size_t step = go_backwards ? kTime - 1 - input_step(b, k) : input_step(b, k);
                xt::view(alone_weights, 0, OutputStep(k, n, go_backwards)) =
                    xt::view(loss_weights, b, step);
              }
            } else {
              alone_weights = xt::view(loss_weights, xt::range(b, b + 1));
            }
            CurrentTape().Clear();
            const Tensor alone_x(alone_values, /*requires_grad=*/true);
            const Tensor alone = layer->Call(alone_x, /*training=*/false);
            ASSERT_TRUE(CurrentTape()
                            .Backward(autograd::Sum(autograd::Mul(alone, Tensor(alone_weights))))
                            .ok());
            // Outputs at real steps, or the last output.
            if (return_sequences) {
              for (size_t k = 0; k < n; ++k) {
                const size_t step = go_backwards ? kTime - 1 - input_step(b, k) : input_step(b, k);
                ExpectClose(xt::view(out.value(), b, step),
                            xt::view(alone.value(), 0, OutputStep(k, n, go_backwards)),
                            absl::StrFormat("output at real step %d", k));
              }
              // Padded steps: zeros inside Bidirectional; otherwise the previous output (zeros
              // before the first real step).
              for (size_t step = 0; step < kTime; ++step) {
                const size_t t = go_backwards ? kTime - 1 - step : step;
                if (mask(b, t) != 0) continue;
                const Array padded = xt::view(out.value(), b, step);
                if (bidirectional || step == 0) {
                  EXPECT_EQ(padded, Array(xt::zeros<Real>({out_units}))) << "padded step " << step;
                } else {
                  EXPECT_EQ(padded, Array(xt::view(out.value(), b, step - 1)))
                      << "padded step " << step;
                }
              }
            } else {
              ExpectClose(xt::view(out.value(), b), xt::view(alone.value(), 0), "last output");
            }
            // Gradients: real input steps as alone, padded ones exactly zero.
            for (size_t t = 0; t < kTime; ++t) {
              const Array dx_t = xt::view(batch_dx, b, t);
              if (mask(b, t) == 0) {
                EXPECT_EQ(dx_t, Array(xt::zeros<Real>({kFeatures}))) << "padded step " << t;
              }
            }
            for (size_t k = 0; k < n; ++k) {
              ExpectClose(xt::view(batch_dx, b, input_step(b, k)), xt::view(alone_x.grad(), 0, k),
                          absl::StrFormat("gradient of real input step %d", k));
            }
          }
          // The weights' gradients of the batch are the sums of the samples' (accumulated above).
          const std::vector<Weight> weights = layer->weights();
          for (size_t i = 0; i < weights.size(); ++i) {
            ExpectClose(batch_grads[i], weights[i].tensor.grad(), "gradient of " + weights[i].name);
          }
        }
      }
    }
  }
}

// Skipping the steps where every sample is masked changes no number: outputs and gradients of
// the same batch, with and without skipping, every kind and direction.
TEST(MaskingProperty, SkippingAllMaskedStepsChangesNothing) {
  const size_t batch = 3, time = 7;
  Rng data_rng(17);
  const Array values = autograd::RandomUniform({batch, time, kFeatures}, -1, 1, data_rng);
  // Pre-padding (2 leading steps masked everywhere), then post-padding (1 trailing), then a hole.
  const std::vector<Array> masks = {
      xt::xtensor<Real, 2>{{0, 0, 1, 1, 1, 1, 1}, {0, 0, 0, 0, 1, 1, 1}, {0, 0, 0, 1, 1, 1, 1}},
      xt::xtensor<Real, 2>{{1, 1, 1, 0, 0, 0, 0}, {1, 0, 0, 0, 0, 0, 0}, {1, 1, 1, 1, 1, 1, 0}},
      xt::xtensor<Real, 2>{{0, 1, 0, 1, 1, 0, 0}, {0, 1, 1, 0, 0, 0, 0}, {0, 0, 0, 0, 0, 0, 0}}};
  for (const std::string kind : {"LSTM", "GRU", "GRU reset_before", "SimpleRNN"}) {
    for (Wrapper wrapper : {Wrapper::kForward, Wrapper::kBackwards, Wrapper::kConcat}) {
      for (bool return_sequences : {true, false}) {
        for (size_t m = 0; m < masks.size(); ++m) {
          SCOPED_TRACE(testing::Message()
                       << kind << ", " << WrapperName(wrapper) << ", return_sequences "
                       << return_sequences << ", mask " << m);
          std::vector<Array> outputs, input_grads;
          std::vector<std::vector<Array>> weight_grads;
          for (bool skip : {true, false}) {
            LayerPtr layer = MakeLayer(kind, wrapper, return_sequences, skip);
            Rng rng(19);
            ASSERT_TRUE(layer->Build({time, kFeatures}, rng).ok());
            CurrentTape().Clear();
            const Tensor x(values, /*requires_grad=*/true);
            const Tensor out = layer->CallMasked(x, &masks[m], /*training=*/false);
            Rng weight_rng(23);
            const Tensor loss_weights(autograd::RandomUniform(out.shape(), -1, 1, weight_rng));
            ASSERT_TRUE(
                CurrentTape().Backward(autograd::Sum(autograd::Mul(out, loss_weights))).ok());
            outputs.push_back(out.value());
            input_grads.push_back(x.grad());
            weight_grads.emplace_back();
            for (const Weight& weight : layer->weights()) {
              weight_grads.back().push_back(weight.tensor.grad());
            }
          }
          EXPECT_EQ(outputs[0], outputs[1]);
          ExpectClose(input_grads[0], input_grads[1], "input gradient");
          for (size_t i = 0; i < weight_grads[0].size(); ++i) {
            ExpectClose(weight_grads[0][i], weight_grads[1][i], "weight gradient");
          }
        }
      }
    }
  }
}

// ---- The loss and the metrics under a mask ----

// Masking -> TimeDistributed(Dense(1, activation)): sample 0 has steps 1 and 3 masked, sample 1
// step 0.
constexpr size_t kLossTime = 4;
Array LossInputs() {
  return xt::xtensor<Real, 3>{{{0.5, -1}, {0, 0}, {2, 1}, {0, 0}},
                              {{0, 0}, {1, 1}, {-0.5, 0.25}, {3, -2}}};
}
const Array kLossMask = xt::xtensor<Real, 2>{{1, 0, 1, 0}, {0, 1, 1, 1}};

std::unique_ptr<Sequential> TimeDistributedModel(const std::string& activation,
                                                 const std::string& loss) {
  auto model = std::make_unique<Sequential>(5);
  model->Add(Masking(0.0), {kLossTime, 2});
  model->Add(TimeDistributed(Dense(1, activation)));
  EXPECT_TRUE(
      model
          ->Compile(loss, std::make_unique<autograd::Sgd>(autograd::SgdOptions{Real(0.1)}), {"acc"})
          .ok());
  return model;
}

TEST(MaskedLoss, MaskedStepsCountOnlyInTheDivisorAsTfKeras2) {
  const Array x = LossInputs();
  const Array y = xt::xtensor<Real, 3>{{{1}, {0}, {0}, {1}}, {{1}, {1}, {0}, {1}}};
  for (const auto& [activation, loss] :
       {std::pair<std::string, std::string>{"linear", "mse"}, {"sigmoid", "binary_crossentropy"}}) {
    SCOPED_TRACE(loss);
    std::unique_ptr<Sequential> model = TimeDistributedModel(activation, loss);
    const Array p = *model->Predict(x);
    // By hand: sum over real steps of the step's loss, divided by all 8 steps; accuracy over the
    // 5 real steps.
    double total = 0, correct = 0;
    for (size_t b = 0; b < 2; ++b) {
      for (size_t t = 0; t < kLossTime; ++t) {
        const double q = p(b, t, 0), target = y(b, t, 0);
        const double term = loss == "mse"
                                ? (q - target) * (q - target)
                                : -(target * std::log(q) + (1 - target) * std::log(1 - q));
        total += kLossMask(b, t) * term;
        correct += kLossMask(b, t) * ((q > 0.5) == (target > 0.5));
      }
    }
    absl::StatusOr<Scores> scores = model->Evaluate(x, y);
    ASSERT_TRUE(scores.ok()) << scores.status();
    EXPECT_NEAR(scores->loss, total / 8, 1e-6);
    EXPECT_NEAR(scores->accuracy, correct / 5, 1e-12);
    EXPECT_EQ(scores->accuracy_weight, 5);
  }
}

TEST(MaskedLoss, TargetsAtMaskedStepsDoNotReachTheWeights) {
  const Array x = LossInputs();
  const Array y = xt::xtensor<Real, 3>{{{1}, {0}, {0}, {1}}, {{1}, {1}, {0}, {1}}};
  Array y_masked_changed = y, y_real_changed = y;
  y_masked_changed(0, 1, 0) = 7;  // masked steps
  y_masked_changed(1, 0, 0) = -3;
  y_real_changed(0, 2, 0) = 7;  // a real step
  std::vector<std::vector<Array>> weights;
  for (const Array* targets : std::vector<const Array*>{&y, &y_masked_changed, &y_real_changed}) {
    std::unique_ptr<Sequential> model = TimeDistributedModel("linear", "mse");
    ASSERT_TRUE(model->TrainOnBatch(x, *targets).ok());
    weights.push_back(model->GetWeights());
  }
  EXPECT_EQ(weights[0], weights[1]);
  EXPECT_NE(weights[0], weights[2]);
}

// ---- Bucketing by length ----

// IMDB-like data: word indices with pre-padding, lengths 1 to 12 of 12.
struct Reviews {
  Array x, y;
};
Reviews MakeReviews(size_t samples) {
  Rng rng(29);
  Reviews data{xt::zeros<Real>({samples, size_t{12}}), xt::zeros<Real>({samples, size_t{1}})};
  for (size_t i = 0; i < samples; ++i) {
    const size_t length = 1 + rng.Below(12);
    for (size_t t = 12 - length; t < 12; ++t) data.x(i, t) = static_cast<Real>(1 + rng.Below(19));
    data.y(i, 0) = data.x(i, 11) > 10;
  }
  return data;
}

std::unique_ptr<Sequential> ReviewModel() {
  auto model = std::make_unique<Sequential>(31);
  model->Add(Embedding(20, 4, 12, /*mask_zero=*/true));
  model->Add(Bidirectional(GRU(3)));
  model->Add(Dense(1, "sigmoid"));
  EXPECT_TRUE(
      model->Compile("binary_crossentropy", std::make_unique<autograd::Adam>(), {"acc"}).ok());
  return model;
}

TEST(BucketByLength, PredictAndEvaluateGiveTheSameNumbersInTheOrderOfX) {
  const Reviews data = MakeReviews(50);
  std::unique_ptr<Sequential> model = ReviewModel();
  const Array plain = *model->Predict(data.x, 8);
  const Array bucketed = *model->Predict(data.x, 8, /*bucket_by_length=*/true);
  ExpectClose(bucketed, plain, "predictions");
  const Scores plain_scores = *model->Evaluate(data.x, data.y, 8);
  const Scores bucketed_scores = *model->Evaluate(data.x, data.y, 8, /*bucket_by_length=*/true);
  EXPECT_NEAR(bucketed_scores.loss, plain_scores.loss, 1e-6);
  EXPECT_EQ(bucketed_scores.accuracy, plain_scores.accuracy);
}

TEST(BucketByLength, FitIsReproducibleAndLearns) {
  const Reviews data = MakeReviews(200);
  std::vector<std::vector<Array>> weights;
  std::vector<double> losses;
  for (int run = 0; run < 2; ++run) {
    std::unique_ptr<Sequential> model = ReviewModel();
    absl::StatusOr<History> history = model->Fit(
        data.x, data.y, FitOptions().epochs(4).batch_size(16).verbose(0).bucket_by_length(true));
    ASSERT_TRUE(history.ok()) << history.status();
    weights.push_back(model->GetWeights());
    losses = history->history.at("loss");
  }
  EXPECT_EQ(weights[0], weights[1]);
  EXPECT_LT(losses.back(), losses.front());
  // Another seed gives other batches, so other weights.
  std::unique_ptr<Sequential> other = ReviewModel();
  other->rng() = Rng(32);
  ASSERT_TRUE(other
                  ->Fit(data.x, data.y,
                        FitOptions().epochs(4).batch_size(16).verbose(0).bucket_by_length(true))
                  .ok());
  EXPECT_NE(other->GetWeights(), weights[0]);
}

TEST(BucketByLength, NeedsAMaskFromTheFirstLayer) {
  const Reviews data = MakeReviews(20);
  Sequential model(1);
  model.Add(Embedding(20, 4, 12));
  model.Add(LSTM(3));
  model.Add(Dense(1, "sigmoid"));
  ASSERT_TRUE(model.Compile("binary_crossentropy", std::make_unique<autograd::Adam>()).ok());
  absl::StatusOr<History> history =
      model.Fit(data.x, data.y, FitOptions().verbose(0).bucket_by_length(true));
  EXPECT_EQ(history.status().message(),
            "fit: bucket_by_length needs the lengths of the samples, from a mask made by the first "
            "layer: use Embedding(..., mask_zero=true) or Masking first, or turn bucketing off");
}

TEST(BucketByLength, BatchesOfOnlyPaddingTrainAndScore) {
  // Every review empty: every step masked, so the LSTM outputs zeros and only Dense's bias learns.
  const Array x = xt::zeros<Real>({6, 12});
  const Array y = xt::xtensor<Real, 2>{{1}, {1}, {1}, {1}, {0}, {1}};
  std::unique_ptr<Sequential> model = ReviewModel();
  const std::vector<Array> before = model->GetWeights();
  absl::StatusOr<History> history =
      model->Fit(x, y, FitOptions().epochs(2).batch_size(4).verbose(0).bucket_by_length(true));
  ASSERT_TRUE(history.ok()) << history.status();
  EXPECT_TRUE(std::isfinite(history->history.at("loss").back()));
  const std::vector<Array> after = model->GetWeights();
  EXPECT_EQ(after[0], before[0]);  // the embeddings of index 0 got no gradient
  EXPECT_NE(after.back(), before.back());
  absl::StatusOr<Array> p = model->Predict(x, 4, /*bucket_by_length=*/true);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ((*p)(0, 0), (*p)(5, 0));  // the same constant for every review
}

}  // namespace
}  // namespace layers
