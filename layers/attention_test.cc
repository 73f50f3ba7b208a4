// Attention and AdditiveAttention: values by hand, masks, dropout, gradients and the errors.
#include "layers/attention.h"

#include <gtest/gtest.h>

#include "autograd/elementwise.h"
#include "autograd/gradcheck.h"
#include "autograd/reductions.h"
#include "layers/config.h"
#include "layers/functional.h"
#include "layers/model.h"
#include "nlohmann/json.hpp"
#include "xtensor/xbuilder.hpp"

namespace layers {
namespace {

constexpr bool kDouble = sizeof(Real) == 8;

Array Values(std::initializer_list<Real> values, Shape shape) {
  Array out = Array::from_shape(shape);
  std::copy(values.begin(), values.end(), out.begin());
  return out;
}

// One sample: 2 query steps, 3 value steps (the key is the value), 2 features; the last value
// step is padding.
const Array kQuery = Values({1, 0.5, -1, 2}, {1, 2, 2});
const Array kValue = Values({0.5, 1, 2, -1, 1, 1}, {1, 3, 2});
const Array kValueMask = Values({1, 1, 0}, {1, 3});

struct Result {
  Array output, distribution;
  std::optional<Array> mask;
};

// Builds `layer` for [query, value], sets its weights, and calls it on kQuery and kValue with
// the given masks (the distribution needs return_attention_scores).
Result Attend(const LayerPtr& layer, const std::vector<Array>& weights, const Array* query_mask,
              const Array* value_mask, bool training = false) {
  Rng rng(3);
  const absl::StatusOr<std::vector<Shape>> shapes = layer->BuildCall({{2, 2}, {3, 2}}, rng);
  EXPECT_TRUE(shapes.ok()) << shapes.status();
  const absl::Status set = layer->SetWeights(weights);
  EXPECT_TRUE(set.ok()) << set;
  std::vector<std::optional<Array>> masks;
  const std::vector<Tensor> out = layer->CallNode(
      {Tensor(kQuery), Tensor(kValue)}, {query_mask, value_mask}, CallContext{training}, masks);
  Result result{out[0].value(), out.size() > 1 ? out[1].value() : Array(), masks[0]};
  return result;
}

void ExpectNear(const Array& got, std::initializer_list<double> expected, const char* what) {
  ASSERT_EQ(got.size(), expected.size()) << what;
  size_t k = 0;
  for (double value : expected) {
    EXPECT_NEAR(got.data()[k], value, 1e-6) << what << " element " << k;
    ++k;
  }
}

// The expected numbers were worked out with /usr/bin/python3 in plain floats (no NumPy), from
// the formulas in attention.h: for each query step i, scores s_ij for the 3 value steps, 1e9
// subtracted from the padded step's, w_i = softmax(s_i), output_i = sum_j w_ij value_j. E.g. dot:
// s_0 = (1*0.5 + 0.5*1, 1*2 + 0.5*-1) = (1, 1.5), w_0 = (e^1, e^1.5) / (e^1 + e^1.5) =
// (0.377540669, 0.622459331), output_0 = 0.3775 * (0.5, 1) + 0.6225 * (2, -1).
TEST(Attention, DotValuesByHand) {
  const Result dot =
      Attend(Attention(AttentionOptions().return_attention_scores(true)), {}, nullptr, &kValueMask);
  ExpectNear(dot.output, {1.433689, -0.244918662, 0.506105207, 0.991859725}, "dot");
  ExpectNear(dot.distribution, {0.377540669, 0.622459331, 0, 0.995929862, 0.00407013772, 0},
             "dot distribution");
  EXPECT_EQ(dot.output.shape(), (std::vector<size_t>{1, 2, 2}));
  EXPECT_EQ(dot.distribution.shape(), (std::vector<size_t>{1, 2, 3}));
  // use_scale: the scores times "scale" (set to 2 here; Keras starts it at 1).
  const Result scaled =
      Attend(Attention(AttentionOptions().use_scale(true)), {Array(Real(2))}, nullptr, &kValueMask);
  ExpectNear(scaled.output, {1.59658787, -0.462117157, 0.500025052, 0.999966597}, "dot scale 2");
}

// concat: s_ij = concat_score_weight * sum_d tanh(scale * (q_id + k_jd)); weights set to
// concat_score_weight 1.5, and scale 0.5 with use_scale.
TEST(Attention, ConcatValuesByHand) {
  const Result concat = Attend(Attention(AttentionOptions().score_mode("concat")),
                               {Array(Real(1.5))}, nullptr, &kValueMask);
  ExpectNear(concat.output, {0.692455987, 0.743392017, 1.72307485, -0.630766464}, "concat");
  const Result scaled = Attend(Attention(AttentionOptions().score_mode("concat").use_scale(true)),
                               {Array(Real(0.5)), Array(Real(1.5))}, nullptr, &kValueMask);
  ExpectNear(scaled.output, {0.928935275, 0.4280863, 1.39659191, -0.195455885}, "concat scale 0.5");
}

// s_ij = sum_d scale_d * tanh(q_id + k_jd), with scale set to (0.5, -1).
TEST(AdditiveAttention, ValuesByHand) {
  const Result additive =
      Attend(AdditiveAttention(AttentionOptions().return_attention_scores(true)),
             {Values({0.5, -1}, {2})}, nullptr, &kValueMask);
  ExpectNear(additive.output, {1.70617347, -0.608231298, 1.54937555, -0.399167396}, "additive");
  ExpectNear(additive.distribution, {0.195884351, 0.804115649, 0, 0.300416302, 0.699583698, 0},
             "additive distribution");
}

TEST(Attention, WeightsAsKeras) {
  Rng rng(1);
  LayerPtr both = Attention(AttentionOptions().use_scale(true).score_mode("concat"));
  both->set_name("attention");
  ASSERT_TRUE(both->BuildCall({{2, 4}, {3, 4}}, rng).ok());
  EXPECT_EQ(both->KerasWeightNames(),
            (std::vector<std::string>{"attention/scale:0", "attention/concat_score_weight:0"}));
  for (const Array& weight : both->GetWeights()) {
    EXPECT_EQ(weight.dimension(), 0u);
    EXPECT_EQ(weight(), 1);  // Keras' "ones"
  }
  EXPECT_EQ(Attention()->BuildCall({{2, 4}, {3, 4}}, rng).ok(), true);
  LayerPtr plain = Attention();
  ASSERT_TRUE(plain->BuildCall({{2, 4}, {3, 4}}, rng).ok());
  EXPECT_TRUE(plain->weights().empty());
  // AdditiveAttention: "scale" of the value's features, glorot_uniform: |x| <= sqrt(6 / 8).
  LayerPtr additive = AdditiveAttention();
  ASSERT_TRUE(additive->BuildCall({{2, 4}, {3, 4}}, rng).ok());
  ASSERT_EQ(additive->weights().size(), 1u);
  EXPECT_EQ(additive->weights()[0].name, "scale");
  const Array scale = additive->GetWeights()[0];
  EXPECT_EQ(scale.shape(), (std::vector<size_t>{4}));
  for (Real x : scale) EXPECT_LE(std::abs(x), std::sqrt(6.0 / 8));
  LayerPtr unscaled = AdditiveAttention(AttentionOptions().use_scale(false));
  ASSERT_TRUE(unscaled->BuildCall({{2, 4}, {3, 4}}, rng).ok());
  EXPECT_TRUE(unscaled->weights().empty());
}

// The query's mask zeroes the output at padded query steps and is the output's mask.
TEST(Attention, QueryMaskZeroesOutputsAndIsTheOutputMask) {
  const Array query_mask = Values({1, 0}, {1, 2});
  const Result result = Attend(Attention(), {}, &query_mask, &kValueMask);
  ExpectNear(result.output, {1.433689, -0.244918662, 0, 0}, "query-masked dot");
  ASSERT_TRUE(result.mask.has_value());
  EXPECT_EQ(*result.mask, query_mask);
  EXPECT_FALSE(Attend(Attention(), {}, nullptr, &kValueMask).mask.has_value());
  // In a graph: the output is masked exactly when the query is.
  KerasTensor query = Input({2, 2}), value = Input({3, 2});
  KerasTensors attended =
      Attention(AttentionOptions().return_attention_scores(true))({query, value});
  ASSERT_TRUE(attended[0].status().ok()) << attended[0].status();
  EXPECT_FALSE(attended[0].masked());
  EXPECT_FALSE(attended[1].masked());
}

// Query step i attends to value steps j <= i only: step 0 sees value step 0 alone (its output is
// that value), step 1 the first two (as the value mask above gave).
TEST(Attention, CausalMask) {
  const Result result =
      Attend(Attention(AttentionOptions().use_causal_mask(true).return_attention_scores(true)), {},
             nullptr, nullptr);
  ExpectNear(result.output, {0.5, 1, 0.506105207, 0.991859725}, "causal dot");
  ExpectNear(result.distribution, {1, 0, 0, 0.995929862, 0.00407013772, 0}, "causal distribution");
}

// A key given apart from the value: the scores come from the key, the output from the value.
TEST(Attention, KeyApartFromValue) {
  LayerPtr two = Attention(), three = Attention();
  Rng rng(0);
  ASSERT_TRUE(two->BuildCall({{2, 2}, {3, 2}}, rng).ok());
  ASSERT_TRUE(three->BuildCall({{2, 2}, {3, 1}, {3, 2}}, rng).ok());
  EXPECT_EQ(three->output_shape(), (Shape{2, 1}));
  std::vector<std::optional<Array>> masks;
  const Array column = Values({1, 2, 3}, {1, 3, 1});
  const Array with_key = three
                             ->CallNode({Tensor(kQuery), Tensor(column), Tensor(kValue)},
                                        {nullptr, nullptr, nullptr}, CallContext{}, masks)[0]
                             .value();
  // The same distribution as [query, value] with value = kValue, applied to (1, 2, 3).
  LayerPtr scores = Attention(AttentionOptions().return_attention_scores(true));
  ASSERT_TRUE(scores->BuildCall({{2, 2}, {3, 2}}, rng).ok());
  const Array distribution =
      scores
          ->CallNode({Tensor(kQuery), Tensor(kValue)}, {nullptr, nullptr}, CallContext{}, masks)[1]
          .value();
  for (size_t i = 0; i < 2; ++i) {
    const double expected =
        distribution(0, i, 0) * 1 + distribution(0, i, 1) * 2 + distribution(0, i, 2) * 3;
    EXPECT_NEAR(with_key(0, i, 0), expected, 1e-6) << "query step " << i;
  }
}

// Dropout on the distribution in training only: each weight is dropped or scaled by 1 / (1 - rate).
TEST(Attention, DropoutInTrainingOnly) {
  const AttentionOptions options = AttentionOptions().dropout(0.5).return_attention_scores(true);
  const Result inference = Attend(Attention(options), {}, nullptr, &kValueMask, /*training=*/false);
  ExpectNear(inference.output, {1.433689, -0.244918662, 0.506105207, 0.991859725}, "inference");
  const Result training = Attend(Attention(options), {}, nullptr, &kValueMask, /*training=*/true);
  const Array plain = inference.distribution;
  size_t dropped = 0;
  for (size_t k = 0; k < plain.size(); ++k) {
    const Real got = training.distribution.data()[k];
    if (got == 0) {
      ++dropped;
    } else {
      EXPECT_NEAR(got, 2 * plain.data()[k], 1e-6) << "element " << k;
    }
  }
  EXPECT_GT(dropped, 2u);  // the two padded steps, and some of the others
  EXPECT_NE(training.output, inference.output);
}

autograd::GradcheckOptions Options() {
  autograd::GradcheckOptions options;
  if (!kDouble) options.step = 1e-2, options.abs_tolerance = 2e-2, options.rel_tolerance = 2e-2;
  return options;
}

Tensor Random(Shape shape, uint64_t seed) {
  Rng rng(seed);
  return Tensor(autograd::RandomUniform(shape, -1, 1, rng), /*requires_grad=*/true);
}

// The outputs (and the distribution) of every variant wrt the query, value, key and weights,
// with a value mask, a query mask and the causal mask.
TEST(AttentionGradients, MatchFiniteDifferences) {
  const std::vector<std::pair<std::string, AttentionOptions>> variants = {
      {"Attention dot", AttentionOptions()},
      {"Attention dot scale", AttentionOptions().use_scale(true)},
      {"Attention concat", AttentionOptions().score_mode("concat")},
      {"Attention concat scale causal",
       AttentionOptions().score_mode("concat").use_scale(true).use_causal_mask(true)},
      {"AdditiveAttention", AttentionOptions()},
      {"AdditiveAttention unscaled causal",
       AttentionOptions().use_scale(false).use_causal_mask(true)},
  };
  const Array query_mask = Values({1, 1, 1, 1, 0, 1}, {2, 3});
  const Array value_mask = Values({1, 1, 0, 1, 1, 1, 1, 0}, {2, 4});
  for (const auto& [what, options] : variants) {
    SCOPED_TRACE(what);
    LayerPtr layer =
        what.rfind("Additive", 0) == 0
            ? AdditiveAttention(AttentionOptions(options).return_attention_scores(true))
            : Attention(AttentionOptions(options).return_attention_scores(true));
    Rng rng(5);
    ASSERT_TRUE(layer->BuildCall({{3, 2}, {4, 2}, {4, 2}}, rng).ok());
    // Weights away from their starting ones, so that a missing factor shows.
    std::vector<Tensor> inputs = {Random({2, 3, 2}, 1), Random({2, 4, 2}, 2), Random({2, 4, 2}, 3)};
    uint64_t seed = 10;
    for (const Weight& weight : layer->weights()) {
      Tensor(weight.tensor).mutable_value() = Random(weight.tensor.shape(), ++seed).value() + 1;
      inputs.push_back(weight.tensor);
    }
    const absl::Status status = autograd::Gradcheck(
        [&](const std::vector<Tensor>& in) {
          std::vector<std::optional<Array>> masks;
          const std::vector<Tensor> out = layer->CallNode(
              {in[0], in[1], in[2]}, {&query_mask, &value_mask}, CallContext{}, masks);
          return autograd::Add(autograd::Sum(out[0]), autograd::Sum(out[1]));
        },
        inputs, Options());
    EXPECT_TRUE(status.ok()) << status;
  }
}

std::string ErrorOf(const LayerPtr& layer, const std::vector<KerasTensor>& inputs) {
  return std::string(KerasTensor(layer(inputs)[0]).status().message());
}

LayerPtr Named(LayerPtr layer, const std::string& name) {
  layer->set_name(name);
  return layer;
}

TEST(Attention, ErrorsNameTheLayerAndShapes) {
  KerasTensor query = Input({2, 4}), value = Input({3, 4}), narrow = Input({3, 2});
  KerasTensor short_key = Input({5, 4});
  EXPECT_EQ(ErrorOf(Named(Attention(), "att"), {query}),
            "layer 'att' (Attention): it is called on a list of 2 or 3 tensors, [query, value] "
            "or [query, value, key], got 1");
  EXPECT_EQ(ErrorOf(Named(Attention(), "att4"), {query, value, value, value}),
            "layer 'att4' (Attention): it is called on a list of 2 or 3 tensors, [query, value] "
            "or [query, value, key], got 4");
  EXPECT_EQ(ErrorOf(Named(Attention(), "att2"), {query, narrow}),
            "layer 'att2' (Attention) on inputs [(None, 2, 4), (None, 3, 2)]: the query and the "
            "key must have the same feature size, got query (None, 2, 4) and value (the key) "
            "(None, 3, 2)");
  EXPECT_EQ(ErrorOf(Named(AdditiveAttention(), "add"), {query, value, short_key}),
            "layer 'add' (AdditiveAttention) on inputs [(None, 2, 4), (None, 3, 4), (None, 5, "
            "4)]: the value and the key must have the same number of steps, got value (None, 3, "
            "4) and key (None, 5, 4)");
  EXPECT_EQ(ErrorOf(Named(AdditiveAttention(), "add2"), {query, narrow, value}),
            "layer 'add2' (AdditiveAttention) on inputs [(None, 2, 4), (None, 3, 2), (None, 3, "
            "4)]: with use_scale the value's feature size must be the key's (its scale has the "
            "value's), got 2 and 4");
  EXPECT_EQ(
      ErrorOf(Named(Attention(AttentionOptions().score_mode("general")), "g"), {query, value}),
      "layer 'g' (Attention) on inputs [(None, 2, 4), (None, 3, 4)]: score_mode must be "
      "\"dot\" or \"concat\", got \"general\"");
  EXPECT_EQ(ErrorOf(Named(Attention(AttentionOptions().dropout(1)), "d"), {query, value}),
            "layer 'd' (Attention) on inputs [(None, 2, 4), (None, 3, 4)]: dropout must be in "
            "[0, 1), got 1");
  EXPECT_EQ(ErrorOf(Named(Attention(), "flat"), {Input({4}), value}),
            "layer 'flat' (Attention) on inputs [(None, 4), (None, 3, 4)]: every input must be a "
            "sequence (None, steps, features) with a known feature size, got [(None, 4), (None, "
            "3, 4)]");
  // Batch sizes are known only when called: a ShapeError naming the layer and the shapes.
  LayerPtr layer = Named(Attention(), "batches");
  Rng rng(0);
  ASSERT_TRUE(layer->BuildCall({{2, 2}, {3, 2}}, rng).ok());
  std::vector<std::optional<Array>> masks;
  try {
    layer->CallNode({Tensor(kQuery), Tensor(xt::zeros<Real>({2, 3, 2}))}, {nullptr, nullptr},
                    CallContext{}, masks);
    FAIL() << "expected a ShapeError";
  } catch (const autograd::ShapeError& error) {
    EXPECT_STREQ(error.what(),
                 "layer 'batches' (Attention) on inputs [(1, 2, 2), (2, 3, 2)]: the batch sizes "
                 "differ");
  }
  // Through a model: an error status naming the layer.
  KerasTensor q = Input({2, 2}), v = Input({3, 2});
  Model model({q, v}, {Named(Attention(), "in_model")({q, v})});
  ASSERT_TRUE(model.status().ok()) << model.status();
  const auto predicted = model.Predict({kQuery, Array(xt::zeros<Real>({2, 3, 2}))});
  EXPECT_FALSE(predicted.ok());
}

TEST(Attention, ConfigAndCallArguments) {
  LayerPtr layer = Attention(
      AttentionOptions().use_scale(true).score_mode("concat").dropout(0.25).use_causal_mask(true));
  Json config;
  layer->GetConfig(config);
  EXPECT_EQ(config.dump(), R"({"dropout":0.25,"use_scale":true,"score_mode":"concat"})");
  const auto* attention = dynamic_cast<const BaseDenseAttentionLayer*>(layer.get());
  EXPECT_EQ(attention->CallArguments().dump(), R"({"use_causal_mask":true})");
  Json additive;
  AdditiveAttention()->GetConfig(additive);
  EXPECT_EQ(additive.dump(), R"({"dropout":0.0,"use_scale":true})");
  // Keras before 2.10 wrote "causal" in the config; 2.11 still reads it.
  const Json entry = Json::parse(
      R"({"class_name": "AdditiveAttention", "config": {"name": "a", "trainable": true,
          "dtype": "float32", "dropout": 0.0, "use_scale": false, "causal": true}})");
  absl::StatusOr<LayerFromFile> read = LayerFromConfig(entry, "test");
  ASSERT_TRUE(read.ok()) << read.status();
  const auto* back = dynamic_cast<const BaseDenseAttentionLayer*>(read->layer.get());
  ASSERT_NE(back, nullptr);
  EXPECT_TRUE(back->options().use_causal_mask_);
  EXPECT_FALSE(*back->options().use_scale_);
  auto* settable = dynamic_cast<BaseDenseAttentionLayer*>(read->layer.get());
  EXPECT_EQ(settable->SetCallArguments(Json{{"training", true}}).message(),
            "the call's keyword argument 'training' (value true) is not one this library reads: "
            "expected ({}, or return_attention_scores and use_causal_mask true or false)");
}

}  // namespace
}  // namespace layers
