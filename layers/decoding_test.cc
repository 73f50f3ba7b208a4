// Greedy decoding and beam search against teacher forcing and against enumerating every
// sequence; the errors.
#include "layers/decoding.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "layers/attention.h"
#include "layers/data_adapter.h"
#include "layers/dense.h"
#include "layers/embedding.h"
#include "layers/merging.h"
#include "layers/recurrent.h"

namespace layers {
namespace {

constexpr size_t kSourceTokens = 5, kTokens = 3, kUnits = 6;
constexpr size_t kStart = 1, kEnd = 2;

// Keras' seq2seq with Luong attention over the encoder's outputs, and the three models cut from
// it: the teacher-forced one, the inference encoder ([h, c, encoder outputs]) and the decoder
// step ([token, h, c, encoder outputs] -> [probabilities, h, c]). Token inputs are indices, or
// one-hot rows as in Keras' lstm_seq2seq.
struct Seq2Seq {
  std::unique_ptr<Model> trained, encoder, step;

  explicit Seq2Seq(bool one_hot, uint64_t seed) {
    KerasTensor source = Input({kVaries});
    KerasTensors encoded = LSTM(RecurrentOptions(kUnits).return_sequences(true).return_state(true))(
        Embedding(kSourceTokens, 4, 0)(source));
    LayerPtr embedding = Embedding(kTokens, 4, 0);
    LayerPtr lstm = LSTM(RecurrentOptions(kUnits).return_sequences(true).return_state(true));
    LayerPtr attention = Attention(), concatenate = Concatenate(),
             dense = Dense(kTokens, "softmax");
    const auto decode = [&](const KerasTensor& token, const KerasTensor& h, const KerasTensor& c,
                            const KerasTensor& encoder_outputs) {
      KerasTensors run = lstm(one_hot ? token : embedding(token), InitialState{h, c});
      EXPECT_EQ(run.size(), 3u) << run[0].status();
      if (run.size() != 3) return KerasTensors{run[0], run[0], run[0]};
      KerasTensor context = attention({run[0], encoder_outputs});
      return KerasTensors{dense(concatenate({context, run[0]})), run[1], run[2]};
    };
    KerasTensor tokens = one_hot ? Input({kVaries, kTokens}) : Input({kVaries});
    trained = std::make_unique<Model>(
        std::vector<KerasTensor>{source, tokens},
        std::vector<KerasTensor>{decode(tokens, encoded[1], encoded[2], encoded[0])[0]}, seed);
    encoder = std::make_unique<Model>(std::vector<KerasTensor>{source},
                                      std::vector<KerasTensor>{encoded[1], encoded[2], encoded[0]});
    KerasTensor token = one_hot ? Input({1, kTokens}) : Input({1});
    KerasTensor h = Input({kUnits}), c = Input({kUnits}),
                encoder_outputs = Input({kVaries, kUnits});
    KerasTensors stepped = decode(token, h, c, encoder_outputs);
    step = std::make_unique<Model>(std::vector<KerasTensor>{token, h, c, encoder_outputs},
                                   std::vector<KerasTensor>(stepped.begin(), stepped.end()));
    EXPECT_TRUE(trained->Build().ok() && encoder->Build().ok() && step->Build().ok());
    // Sharper distributions than the initial ones, so that the best sequence stands out.
    std::vector<Array> weights = dense->GetWeights();
    weights[0] *= 6;
    EXPECT_TRUE(dense->SetWeights(weights).ok());
  }
};

Array Sources() {
  return Array{{1, 2, 3, 4, 0, 1}, {4, 4, 3, 2, 1, 0}, {0, 1, 1, 2, 2, 3}, {3, 1, 4, 1, 0, 2}};
}

std::vector<Array> Start(Seq2Seq& model, const Array& sources) {
  absl::StatusOr<std::vector<Array>> start = model.encoder->Predict(std::vector<Array>{sources});
  EXPECT_TRUE(start.ok()) << start.status();
  return *start;
}

Array OneHot(const Array& tokens) {
  Array out = xt::zeros<Real>({tokens.shape()[0], tokens.shape()[1], kTokens});
  for (size_t i = 0; i < tokens.shape()[0]; ++i) {
    for (size_t t = 0; t < tokens.shape()[1]; ++t) out(i, t, static_cast<size_t>(tokens(i, t))) = 1;
  }
  return out;
}

// Decoding step by step gives the teacher-forced model's distributions on the same tokens.
void ExpectStepsMatchTeacherForcing(bool one_hot) {
  Seq2Seq model(one_hot, /*seed=*/5);
  const Array sources = Sources();
  const Array tokens = {{1, 0, 0, 2, 1}, {1, 2, 1, 1, 0}, {1, 1, 1, 1, 1}, {1, 0, 2, 0, 2}};
  absl::StatusOr<std::vector<Array>> forced =
      model.trained->Predict({sources, one_hot ? OneHot(tokens) : tokens});
  ASSERT_TRUE(forced.ok()) << forced.status();
  absl::StatusOr<Decoder> decoder = Decoder::Create(*model.step);
  ASSERT_TRUE(decoder.ok()) << decoder.status();
  EXPECT_EQ(decoder->states(), 2u);
  EXPECT_EQ(decoder->constants(), 1u);
  absl::StatusOr<Array> stepped = decoder->Distributions(Start(model, sources), tokens);
  ASSERT_TRUE(stepped.ok()) << stepped.status();
  ASSERT_EQ(stepped->shape(), (*forced)[0].shape());
  for (size_t k = 0; k < stepped->size(); ++k) {
    EXPECT_NEAR(stepped->data()[k], (*forced)[0].data()[k], 1e-6) << "element " << k;
  }
}

TEST(Decoding, StepByStepMatchesTeacherForcing) { ExpectStepsMatchTeacherForcing(false); }
TEST(Decoding, StepByStepMatchesTeacherForcingOneHot) { ExpectStepsMatchTeacherForcing(true); }

// The models cut from the trained one decode as the hand-built ones (Keras' listing).
TEST(Decoding, CutModelsDecodeAsTheHandBuiltOnes) {
  for (bool one_hot : {false, true}) {
    Seq2Seq model(one_hot, /*seed=*/5);
    absl::StatusOr<DecodingModels> cut = CutDecodingModels(*model.trained);
    ASSERT_TRUE(cut.ok()) << cut.status();
    absl::StatusOr<Decoder> by_hand = Decoder::Create(*model.step);
    absl::StatusOr<Decoder> decoder = Decoder::Create(*cut->step);
    ASSERT_TRUE(decoder.ok() && by_hand.ok()) << decoder.status();
    EXPECT_EQ(decoder->states(), 2u);
    EXPECT_EQ(decoder->constants(), 1u);
    const Array sources = Sources();
    absl::StatusOr<std::vector<Array>> start = cut->encoder->Predict(std::vector<Array>{sources});
    ASSERT_TRUE(start.ok()) << start.status();
    const Array tokens = {{1, 0, 0, 2}, {1, 2, 1, 1}, {1, 1, 1, 1}, {1, 0, 2, 0}};
    absl::StatusOr<Array> p = decoder->Distributions(*start, tokens);
    absl::StatusOr<Array> q = by_hand->Distributions(Start(model, sources), tokens);
    ASSERT_TRUE(p.ok() && q.ok()) << p.status() << q.status();
    ASSERT_EQ(p->shape(), q->shape());
    for (size_t k = 0; k < p->size(); ++k) EXPECT_EQ(p->data()[k], q->data()[k]) << k;
  }
}

TEST(Decoding, CutRefusesWhatCannotDecodeStepByStep) {
  const auto refusal = [](const Model& model) {
    absl::StatusOr<DecodingModels> cut = CutDecodingModels(model);
    return cut.ok() ? std::string("cut") : std::string(cut.status().message());
  };
  KerasTensor source = Input({kVaries}), tokens = Input({kVaries});
  KerasTensors encoded = LSTM(RecurrentOptions(4).return_sequences(true).return_state(true))(
      Embedding(5, 3, 0)(source));
  // A decoder LSTM started from zeros.
  KerasTensor zeros = LSTM(RecurrentOptions(4).return_sequences(true))(Embedding(5, 3, 0)(tokens));
  Model from_zeros({source, tokens}, {Dense(5, "softmax")(Attention()({zeros, encoded[0]}))});
  EXPECT_NE(refusal(from_zeros).find("in the decoder starts from zeros"), std::string::npos)
      << refusal(from_zeros);
  // Without return_state.
  LayerPtr no_state = LSTM(RecurrentOptions(4).return_sequences(true));
  no_state->set_name("no_state");
  Model stateless({source, tokens},
                  {Dense(5, "softmax")(
                      no_state(Embedding(5, 3, 0)(tokens), InitialState{encoded[1], encoded[2]}))});
  EXPECT_NE(refusal(stateless).find("layer 'no_state' (LSTM) in the decoder does not return its "
                                    "state: set return_state"),
            std::string::npos)
      << refusal(stateless);
  // A classifier is no seq2seq model.
  KerasTensor x = Input({8});
  Model classifier({x}, {Dense(1, "sigmoid")(x)});
  EXPECT_NE(refusal(classifier).find("it has 1 inputs and 1 outputs, not 2 and 1"),
            std::string::npos);
}

TEST(Decoding, BeamWidthOneIsGreedy) {
  Seq2Seq model(false, /*seed=*/11);
  const std::vector<Array> start = Start(model, Sources());
  absl::StatusOr<Decoder> decoder = Decoder::Create(*model.step);
  ASSERT_TRUE(decoder.ok()) << decoder.status();
  for (size_t batch_size : {0, 1, 3}) {
    const DecodeOptions options = DecodeOptions().max_length(6).batch_size(batch_size);
    absl::StatusOr<std::vector<Hypothesis>> greedy = decoder->Greedy(start, options);
    absl::StatusOr<std::vector<std::vector<Hypothesis>>> beam =
        decoder->BeamSearch(start, DecodeOptions(options).beam_width(1));
    ASSERT_TRUE(greedy.ok() && beam.ok()) << greedy.status() << beam.status();
    ASSERT_EQ(greedy->size(), 4u);
    ASSERT_EQ(beam->size(), 4u);
    for (size_t i = 0; i < 4; ++i) {
      ASSERT_EQ((*beam)[i].size(), 1u);
      EXPECT_EQ((*greedy)[i].tokens, (*beam)[i][0].tokens) << "input " << i;
      EXPECT_EQ((*greedy)[i].ended, (*beam)[i][0].ended) << "input " << i;
      EXPECT_NEAR((*greedy)[i].log_probability, (*beam)[i][0].log_probability, 1e-9);
    }
  }
}

// Every sequence of at most `max_length` tokens: ended by the end token, or max_length long
// without it; with its log probability from teacher forcing.
std::vector<Hypothesis> Enumerate(const Decoder& decoder, const std::vector<Array>& start,
                                  size_t max_length, double length_penalty) {
  std::vector<Hypothesis> all;
  std::function<void(std::vector<size_t>)> grow = [&](std::vector<size_t> prefix) {
    for (size_t token = 0; token < kTokens; ++token) {
      Hypothesis h;
      h.tokens = prefix;
      h.ended = token == kEnd;
      if (!h.ended) h.tokens.push_back(token);
      if (h.ended || h.tokens.size() == max_length) {
        Array fed = Array::from_shape({1, h.tokens.size() + (h.ended ? 1 : 0)});
        fed(0, 0) = kStart;
        for (size_t t = 1; t < fed.shape()[1]; ++t) fed(0, t) = h.tokens[t - 1];
        absl::StatusOr<Array> p = decoder.Distributions(start, fed);
        EXPECT_TRUE(p.ok()) << p.status();
        for (size_t t = 0; t < fed.shape()[1]; ++t) {
          const size_t next = t < h.tokens.size() ? h.tokens[t] : kEnd;
          h.log_probability += std::log(static_cast<double>((*p)(0, t, next)));
        }
        const double length = static_cast<double>(h.tokens.size() + (h.ended ? 1 : 0));
        h.score = h.log_probability / std::pow(length, length_penalty);
        all.push_back(h);
      } else {
        grow(h.tokens);
      }
    }
  };
  grow({});
  return all;
}

TEST(Decoding, WideBeamFindsTheBestOfAllSequences) {
  Seq2Seq model(false, /*seed=*/7);
  const Array sources = Sources();
  const std::vector<Array> start = Start(model, sources);
  absl::StatusOr<Decoder> decoder = Decoder::Create(*model.step);
  ASSERT_TRUE(decoder.ok()) << decoder.status();
  constexpr size_t kMaxLength = 3;
  // Ended at 1, 2 or 3 tokens, or 3 tokens without the end: 1 + 2 + 4 + 8.
  constexpr size_t kCandidates = 15;
  for (double penalty : {0.0, 1.0}) {
    absl::StatusOr<std::vector<std::vector<Hypothesis>>> beams = decoder->BeamSearch(
        start,
        DecodeOptions().max_length(kMaxLength).beam_width(kCandidates).length_penalty(penalty));
    ASSERT_TRUE(beams.ok()) << beams.status();
    for (size_t i = 0; i < sources.shape()[0]; ++i) {
      const std::vector<Array> one = GatherRows(start, {i}, 0, 1);
      std::vector<Hypothesis> all = Enumerate(*decoder, one, kMaxLength, penalty);
      ASSERT_EQ(all.size(), kCandidates);
      const Hypothesis& best = *std::max_element(
          all.begin(), all.end(),
          [](const Hypothesis& a, const Hypothesis& b) { return a.score < b.score; });
      const std::vector<Hypothesis>& found = (*beams)[i];
      ASSERT_FALSE(found.empty());
      EXPECT_EQ(found[0].tokens, best.tokens) << "input " << i << ", penalty " << penalty;
      EXPECT_EQ(found[0].ended, best.ended) << "input " << i;
      EXPECT_NEAR(found[0].score, best.score, 1e-5) << "input " << i;
      // Without a penalty the search may stop early; with one it keeps every sequence.
      if (penalty > 0) {
        EXPECT_EQ(found.size(), kCandidates) << "input " << i;
      }
      for (size_t k = 1; k < found.size(); ++k) EXPECT_LE(found[k].score, found[k - 1].score);
    }
  }
}

// Without a length penalty the search stops once no partial sequence can beat the finished ones.
// A model trained to answer "0 0 0 0 <end>" makes short, improbable sequences finish first; the
// search must go on past them, and stopping changes nothing against a search that never stops
// (a length penalty too small to reorder anything turns the stop off).
TEST(Decoding, StoppingEarlyChangesNothing) {
  Seq2Seq model(false, /*seed=*/1);
  const Array sources = Sources();
  const Array fed =
      xt::zeros<Real>({size_t{4}, size_t{5}}) + Array{{static_cast<Real>(kStart), 0, 0, 0, 0}};
  Array targets = xt::zeros<Real>({size_t{4}, size_t{5}, kTokens});
  for (size_t i = 0; i < 4; ++i) {
    for (size_t t = 0; t < 5; ++t) targets(i, t, t < 4 ? 0 : kEnd) = 1;
  }
  ASSERT_TRUE(model.trained
                  ->Compile("categorical_crossentropy",
                            std::make_unique<autograd::Adam>(autograd::AdamOptions{0.02}))
                  .ok());
  ASSERT_TRUE(
      model.trained
          ->Fit({sources, fed}, {targets}, FitOptions().epochs(150).batch_size(4).verbose(0))
          .ok());
  const std::vector<Array> start = Start(model, sources);
  absl::StatusOr<Decoder> decoder = Decoder::Create(*model.step);
  ASSERT_TRUE(decoder.ok()) << decoder.status();
  const DecodeOptions options = DecodeOptions().max_length(8).beam_width(2);
  absl::StatusOr<std::vector<std::vector<Hypothesis>>> stopping =
      decoder->BeamSearch(start, options);
  absl::StatusOr<std::vector<std::vector<Hypothesis>>> full =
      decoder->BeamSearch(start, DecodeOptions(options).length_penalty(1e-12));
  ASSERT_TRUE(stopping.ok() && full.ok());
  for (size_t i = 0; i < 4; ++i) {
    ASSERT_EQ((*stopping)[i].size(), 2u) << "input " << i;
    EXPECT_EQ((*stopping)[i][0].tokens, (std::vector<size_t>{0, 0, 0, 0})) << "input " << i;
    EXPECT_TRUE((*stopping)[i][0].ended);
    ASSERT_EQ((*full)[i].size(), 2u) << "input " << i;
    for (size_t k = 0; k < 2; ++k) {
      EXPECT_EQ((*stopping)[i][k].tokens, (*full)[i][k].tokens) << "input " << i << " #" << k;
    }
  }
}

TEST(Decoding, BadInputIsAClearError) {
  Seq2Seq model(false, /*seed=*/5);
  const std::vector<Array> start = Start(model, Sources());
  absl::StatusOr<Decoder> decoder = Decoder::Create(*model.step);
  ASSERT_TRUE(decoder.ok()) << decoder.status();
  const auto error = [&](const DecodeOptions& options) {
    absl::StatusOr<std::vector<std::vector<Hypothesis>>> beams =
        decoder->BeamSearch(start, options);
    return beams.ok() ? std::string("no error") : std::string(beams.status().message());
  };
  EXPECT_NE(error(DecodeOptions()).find("max_length is 0; it must be at least 1"),
            std::string::npos);
  EXPECT_NE(error(DecodeOptions().max_length(3).beam_width(0)).find("beam_width is 0"),
            std::string::npos);
  EXPECT_NE(error(DecodeOptions().max_length(3).end_token(3)).find("end_token is 3, but model"),
            std::string::npos);
  EXPECT_NE(error(DecodeOptions().max_length(3).length_penalty(NAN)).find("length_penalty"),
            std::string::npos);
  absl::StatusOr<std::vector<Hypothesis>> few =
      decoder->Greedy({start[0], start[1]}, DecodeOptions().max_length(3));
  ASSERT_FALSE(few.ok());
  EXPECT_NE(few.status().message().find("takes 2 states and 1 constants"), std::string::npos)
      << few.status();

  // Models that are not a decoder step.
  KerasTensor x = Input({8});
  Model classifier({x}, {Dense(1, "sigmoid")(x)});
  absl::StatusOr<Decoder> not_decoder = Decoder::Create(classifier);
  ASSERT_FALSE(not_decoder.ok());
  EXPECT_NE(not_decoder.status().message().find("is not a decoder step"), std::string::npos)
      << not_decoder.status();
  KerasTensor token = Input({1}), h = Input({4});
  KerasTensors run =
      GRU(RecurrentOptions(4).return_state(true))(Embedding(3, 2, 0)(token), InitialState{h});
  Model mismatched({token, h}, {Dense(3, "softmax")(run[0]), Dense(5)(run[1])});
  absl::StatusOr<Decoder> wrong_state = Decoder::Create(mismatched);
  ASSERT_FALSE(wrong_state.ok());
  EXPECT_NE(wrong_state.status().message().find(
                "state 1 goes out as (None, 5) but comes in as (None, 4)"),
            std::string::npos)
      << wrong_state.status();

  // Logits instead of probabilities: refused at the first step.
  Model logits({token, h}, {Dense(3)(run[0]), run[1]});
  absl::StatusOr<Decoder> linear = Decoder::Create(logits);
  ASSERT_TRUE(linear.ok()) << linear.status();
  absl::StatusOr<std::vector<Hypothesis>> greedy =
      linear->Greedy({xt::zeros<Real>({size_t{2}, size_t{4}})}, DecodeOptions().max_length(2));
  ASSERT_FALSE(greedy.ok());
  EXPECT_NE(greedy.status().message().find("at step 1, model"), std::string::npos)
      << greedy.status();
  EXPECT_NE(greedy.status().message().find("must be a softmax over the tokens"), std::string::npos);
}

}  // namespace
}  // namespace layers
