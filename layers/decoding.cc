#include "layers/decoding.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <string>
#include <unordered_map>
#include <utility>

#include "absl/strings/str_format.h"
#include "layers/attention.h"
#include "layers/convolutional.h"
#include "layers/data_adapter.h"
#include "layers/pooling.h"
#include "layers/recurrent.h"

namespace layers {
namespace {

// Inputs [begin, end) of every array (each [inputs, ...]).
std::vector<Array> Rows(const std::vector<Array>& arrays, const std::vector<size_t>& rows) {
  return GatherRows(arrays, rows, 0, rows.size());
}

std::vector<size_t> Range(size_t begin, size_t end) {
  std::vector<size_t> out(end - begin);
  std::iota(out.begin(), out.end(), begin);
  return out;
}

// The inputs decoded together: [0, chunk), [chunk, 2 chunk), ...
std::vector<std::pair<size_t, size_t>> Chunks(size_t inputs, size_t batch_size) {
  const size_t chunk = batch_size == 0 ? std::max<size_t>(inputs, 1) : batch_size;
  std::vector<std::pair<size_t, size_t>> out;
  for (size_t begin = 0; begin < inputs; begin += chunk) {
    out.emplace_back(begin, std::min(inputs, begin + chunk));
  }
  return out;
}

double Score(double log_probability, size_t length, double length_penalty) {
  return length_penalty == 0
             ? log_probability
             : log_probability / std::pow(static_cast<double>(length), length_penalty);
}

// Best score first; equal scores keep the order they were found in.
void SortHypotheses(std::vector<Hypothesis>& hypotheses) {
  std::stable_sort(hypotheses.begin(), hypotheses.end(),
                   [](const Hypothesis& a, const Hypothesis& b) { return a.score > b.score; });
}

}  // namespace

absl::StatusOr<Decoder> Decoder::Create(Model& step_model) {
  const std::string name = step_model.name();
  if (absl::Status status = step_model.Build(); !status.ok()) return status;
  const std::vector<Shape>& in = step_model.input_shapes();
  const std::vector<Shape>& out = step_model.output_shapes();
  const std::string expected =
      "a step model takes [token, states..., constants...] and gives [probabilities, "
      "states...]: the token as Input({1}) of indices or Input({1, V}) of one-hot rows, the "
      "probabilities [1, V] or [V]";
  const auto not_a_decoder = [&](const std::string& why) {
    return absl::InvalidArgumentError(
        absl::StrFormat("decoder: model '%s' is not a decoder step: %s; %s", name, why, expected));
  };
  if (out.empty() || in.empty()) return not_a_decoder("it has no inputs or no outputs");
  const Shape& probabilities = out[0];
  const bool steps_axis =
      probabilities.size() == 2 && (probabilities[0] == 1 || probabilities[0] == kVaries);
  if (!(probabilities.size() == 1 || steps_axis) || probabilities.back() == kVaries) {
    return not_a_decoder(
        absl::StrFormat("its first output has shape %s", KerasShapeString(probabilities)));
  }
  const size_t vocabulary = probabilities.back();
  if (vocabulary < 2) {
    return not_a_decoder(absl::StrFormat(
        "its first output has shape %s: a distribution needs at least 2 tokens (the end token "
        "and one more)",
        KerasShapeString(probabilities)));
  }
  const Shape& token = in[0];
  const bool one_step = !token.empty() && (token[0] == 1 || token[0] == kVaries);
  const bool indices = one_step && token.size() == 1;
  const bool one_hot = one_step && token.size() == 2 && token[1] == vocabulary;
  if (!indices && !one_hot) {
    return not_a_decoder(absl::StrFormat(
        "its first input has shape %s, which is neither one token index (None, 1) nor one "
        "one-hot row (None, 1, %d) of its %d-token output",
        KerasShapeString(token), vocabulary, vocabulary));
  }
  const size_t states = out.size() - 1;
  if (in.size() < 1 + states) {
    return not_a_decoder(absl::StrFormat(
        "it gives %d states after the probabilities but takes only %d inputs after the token",
        states, in.size() - 1));
  }
  if (in.size() == 1) {
    return not_a_decoder(
        "it takes only the token: a decoder starts from states or constants (an encoder's), "
        "which also say how many sequences to decode");
  }
  for (size_t s = 1; s <= states; ++s) {
    if (in[s] != out[s]) {
      return not_a_decoder(absl::StrFormat(
          "state %d goes out as %s but comes in as %s (input %d): output %d must feed input %d "
          "at the next step",
          s, KerasShapeString(out[s]), KerasShapeString(in[s]), s, s, s));
    }
  }
  return Decoder(step_model, vocabulary, states, one_hot);
}

absl::Status Decoder::CheckStart(const std::vector<Array>& start, const char* method) const {
  if (start.size() != states_ + constants_) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: model '%s' takes %d states and %d constants after the token, but %d arrays were "
        "given to start from",
        method, model_->name(), states_, constants_, start.size()));
  }
  for (size_t k = 0; k < start.size(); ++k) {
    if (start[k].dimension() < 1 || start[k].shape()[0] != start[0].shape()[0]) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: the arrays to start from must each have one row per input, but array %d has "
          "shape %s and array 0 %s",
          method, k, autograd::ShapeString(autograd::ShapeOf(start[k])),
          autograd::ShapeString(autograd::ShapeOf(start[0]))));
    }
  }
  return absl::OkStatus();
}

absl::Status Decoder::CheckOptions(const DecodeOptions& options) const {
  if (options.max_length() == 0) {
    return absl::InvalidArgumentError(
        "decode: max_length is 0; it must be at least 1 (the most tokens generated per "
        "sequence, the end token included)");
  }
  if (options.beam_width() == 0) {
    return absl::InvalidArgumentError(
        "decode: beam_width is 0; it must be at least 1 (1 is greedy decoding)");
  }
  for (const auto& [what, token] :
       {std::pair<const char*, size_t>{"start_token", options.start_token()},
        {"end_token", options.end_token()}}) {
    if (token >= vocabulary_) {
      return absl::InvalidArgumentError(
          absl::StrFormat("decode: %s is %d, but model '%s' has %d tokens (0 to %d)", what, token,
                          model_->name(), vocabulary_, vocabulary_ - 1));
    }
  }
  if (!std::isfinite(options.length_penalty()) || options.length_penalty() < 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("decode: length_penalty is %g; it must be a finite number >= 0 (0: none)",
                        options.length_penalty()));
  }
  return absl::OkStatus();
}

absl::StatusOr<Array> Decoder::Step(const std::vector<size_t>& tokens, std::vector<Array>& inputs,
                                    size_t step, const char* method) const {
  const size_t rows = tokens.size();
  std::vector<Array> x;
  x.reserve(1 + inputs.size());
  if (one_hot_) {
    x.push_back(Array::from_shape({rows, 1, vocabulary_}));
    x[0].fill(0);
    for (size_t r = 0; r < rows; ++r) x[0].data()[r * vocabulary_ + tokens[r]] = 1;
  } else {
    x.push_back(Array::from_shape({rows, 1}));
    std::copy(tokens.begin(), tokens.end(), x[0].begin());
  }
  for (Array& input : inputs) x.push_back(std::move(input));
  absl::StatusOr<std::vector<Array>> outputs = model_->Predict(x, std::max<size_t>(rows, 1));
  for (size_t k = 0; k < inputs.size(); ++k) inputs[k] = std::move(x[1 + k]);
  if (!outputs.ok()) return outputs.status();
  for (size_t s = 0; s < states_; ++s) inputs[s] = std::move((*outputs)[1 + s]);
  Array probabilities = std::move((*outputs)[0]);
  probabilities.reshape({rows, vocabulary_});
  for (size_t r = 0; r < rows; ++r) {
    const Real* p = probabilities.data() + r * vocabulary_;
    double sum = 0;
    bool valid = true;
    for (size_t v = 0; v < vocabulary_; ++v) {
      valid = valid && p[v] >= 0 && std::isfinite(p[v]);
      sum += p[v];
    }
    if (!valid || std::abs(sum - 1) > 1e-3) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: at step %d, model '%s' gave row %d values that are not a distribution (sum %g%s): "
          "its first output must be a softmax over the tokens",
          method, step + 1, model_->name(), r, sum, valid ? "" : ", negative or not finite"));
    }
  }
  return probabilities;
}

absl::StatusOr<std::vector<Hypothesis>> Decoder::Greedy(const std::vector<Array>& start,
                                                        const DecodeOptions& options) const {
  if (absl::Status status = CheckOptions(options); !status.ok()) return status;
  if (absl::Status status = CheckStart(start, "greedy decoding"); !status.ok()) return status;
  const size_t total = start[0].shape()[0];
  std::vector<Hypothesis> results(total);
  for (const auto& [begin, end] : Chunks(total, options.batch_size())) {
    std::vector<size_t> decoding = Range(begin, end);  // which input each row decodes
    std::vector<Array> inputs = Rows(start, decoding);
    std::vector<size_t> tokens(decoding.size(), options.start_token());
    for (size_t step = 0; step < options.max_length() && !decoding.empty(); ++step) {
      absl::StatusOr<Array> p = Step(tokens, inputs, step, "greedy decoding");
      if (!p.ok()) return p.status();
      std::vector<size_t> still;  // rows that go on
      for (size_t r = 0; r < decoding.size(); ++r) {
        const Real* row = p->data() + r * vocabulary_;
        const size_t best = std::max_element(row, row + vocabulary_) - row;
        Hypothesis& h = results[decoding[r]];
        h.log_probability += std::log(static_cast<double>(row[best]));
        if (best == options.end_token()) {
          h.ended = true;
        } else {
          h.tokens.push_back(best);
          if (step + 1 < options.max_length()) still.push_back(r);
        }
        tokens[r] = best;
      }
      if (still.size() < decoding.size()) {
        inputs = Rows(inputs, still);
        std::vector<size_t> next_decoding, next_tokens;
        for (size_t r : still) {
          next_decoding.push_back(decoding[r]);
          next_tokens.push_back(tokens[r]);
        }
        decoding = std::move(next_decoding);
        tokens = std::move(next_tokens);
      }
    }
  }
  for (Hypothesis& h : results) {
    h.score =
        Score(h.log_probability, h.tokens.size() + (h.ended ? 1 : 0), options.length_penalty());
  }
  return results;
}

absl::StatusOr<std::vector<std::vector<Hypothesis>>> Decoder::BeamSearch(
    const std::vector<Array>& start, const DecodeOptions& options) const {
  if (absl::Status status = CheckOptions(options); !status.ok()) return status;
  if (absl::Status status = CheckStart(start, "beam search"); !status.ok()) return status;
  return Search(start, options, "beam search");
}

absl::StatusOr<std::vector<std::vector<Hypothesis>>> Decoder::Search(
    const std::vector<Array>& start, const DecodeOptions& options, const char* method) const {
  const size_t total = start[0].shape()[0];
  const size_t width = options.beam_width();
  const bool bounded = options.length_penalty() == 0;  // log P only falls as a sequence grows
  std::vector<std::vector<Hypothesis>> finished(total);
  // A partial sequence: the input it decodes, its tokens so far and their log probability.
  struct Beam {
    size_t input;
    std::vector<size_t> tokens;
    double log_probability;
  };
  for (const auto& [begin, end] : Chunks(total, options.batch_size())) {
    std::vector<Beam> beams;  // grouped by input, in input order; row r of the arrays is beam r
    for (size_t i = begin; i < end; ++i) beams.push_back(Beam{i, {}, 0.0});
    std::vector<Array> inputs = Rows(start, Range(begin, end));
    for (size_t step = 0; step < options.max_length() && !beams.empty(); ++step) {
      std::vector<size_t> tokens;
      for (const Beam& beam : beams) {
        tokens.push_back(beam.tokens.empty() ? options.start_token() : beam.tokens.back());
      }
      absl::StatusOr<Array> p = Step(tokens, inputs, step, method);
      if (!p.ok()) return p.status();
      std::vector<Beam> next;
      std::vector<size_t> next_rows;  // the row each next beam continues
      for (size_t first = 0; first < beams.size();) {
        const size_t input = beams[first].input;
        size_t last = first;
        while (last < beams.size() && beams[last].input == input) ++last;
        // Candidates (row, token), ranked by log P; ties by row, then token (so that width 1
        // takes the first largest probability, as greedy decoding).
        struct Candidate {
          double log_probability;
          size_t row, token;
        };
        std::vector<Candidate> candidates;
        candidates.reserve((last - first) * vocabulary_);
        for (size_t r = first; r < last; ++r) {
          for (size_t v = 0; v < vocabulary_; ++v) {
            candidates.push_back(
                Candidate{beams[r].log_probability +
                              std::log(static_cast<double>(p->data()[r * vocabulary_ + v])),
                          r, v});
          }
        }
        const size_t keep = std::min(width, candidates.size());
        std::partial_sort(candidates.begin(), candidates.begin() + keep, candidates.end(),
                          [](const Candidate& a, const Candidate& b) {
                            if (a.log_probability != b.log_probability) {
                              return a.log_probability > b.log_probability;
                            }
                            return a.row != b.row ? a.row < b.row : a.token < b.token;
                          });
        const size_t next_first = next.size();
        for (size_t c = 0; c < keep; ++c) {
          const Candidate& candidate = candidates[c];
          std::vector<size_t> tokens_so_far = beams[candidate.row].tokens;
          const bool ends = candidate.token == options.end_token();
          if (!ends) tokens_so_far.push_back(candidate.token);
          if (ends || step + 1 == options.max_length()) {
            const size_t length = tokens_so_far.size() + (ends ? 1 : 0);
            finished[input].push_back(Hypothesis{
                std::move(tokens_so_far), candidate.log_probability,
                Score(candidate.log_probability, length, options.length_penalty()), ends});
          } else {
            next.push_back(Beam{input, std::move(tokens_so_far), candidate.log_probability});
            next_rows.push_back(candidate.row);
          }
        }
        // Done when `width` finished sequences all score at least as well as the best partial
        // one (candidates come sorted, so that is next[next_first]).
        std::vector<Hypothesis>& done = finished[input];
        if (bounded && done.size() >= width && next.size() > next_first) {
          SortHypotheses(done);
          if (done[width - 1].score >= next[next_first].log_probability) {
            next.resize(next_first);
            next_rows.resize(next_first);
          }
        }
        first = last;
      }
      beams = std::move(next);
      inputs = Rows(inputs, next_rows);
    }
  }
  for (std::vector<Hypothesis>& done : finished) {
    SortHypotheses(done);
    if (done.size() > width) done.resize(width);
  }
  return finished;
}

absl::StatusOr<Array> Decoder::Distributions(const std::vector<Array>& start,
                                             const Array& tokens) const {
  const char* method = "decoding step by step";
  if (absl::Status status = CheckStart(start, method); !status.ok()) return status;
  const size_t inputs_count = start[0].shape()[0];
  if (tokens.dimension() != 2 || tokens.shape()[0] != inputs_count) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: tokens must be [inputs, steps] with %d rows, got shape %s", method,
                        inputs_count, autograd::ShapeString(autograd::ShapeOf(tokens))));
  }
  const size_t steps = tokens.shape()[1];
  Array out = Array::from_shape({inputs_count, steps, vocabulary_});
  std::vector<Array> inputs = start;
  std::vector<size_t> step_tokens(inputs_count);
  for (size_t t = 0; t < steps; ++t) {
    for (size_t i = 0; i < inputs_count; ++i) {
      const Real token = tokens(i, t);
      if (!(token >= 0 && token < vocabulary_ && token == std::floor(token))) {
        return absl::InvalidArgumentError(
            absl::StrFormat("%s: token [%d, %d] is %g; tokens must be whole numbers in [0, %d)",
                            method, i, t, static_cast<double>(token), vocabulary_));
      }
      step_tokens[i] = static_cast<size_t>(token);
    }
    absl::StatusOr<Array> p = Step(step_tokens, inputs, t, method);
    if (!p.ok()) return p.status();
    for (size_t i = 0; i < inputs_count; ++i) {
      std::memcpy(out.data() + (i * steps + t) * vocabulary_, p->data() + i * vocabulary_,
                  vocabulary_ * sizeof(Real));
    }
  }
  return out;
}

absl::StatusOr<DecodingModels> CutDecodingModels(const Model& trained) {
  const auto refused = [&](const std::string& why) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "cannot decode with model '%s': %s; a seq2seq model for decoding takes [source, decoder "
        "tokens] and gives the next token's distribution, its decoder's recurrent layers "
        "started from the encoder's states (initial_state) and returning theirs (return_state)",
        trained.name(), why));
  };
  if (!trained.status().ok()) return trained.status();
  if (trained.inputs().size() != 2 || trained.outputs().size() != 1) {
    return refused(absl::StrFormat("it has %d inputs and %d outputs, not 2 and 1",
                                   trained.inputs().size(), trained.outputs().size()));
  }
  const Node* decoder_input = trained.inputs()[1].node().get();
  const Shape& token_shape = trained.inputs()[1].shape();
  if (token_shape.empty() || token_shape.size() > 2) {
    return refused(
        absl::StrFormat("its decoder tokens have shape %s, neither (None, steps) of "
                        "indices nor (None, steps, tokens) one-hot",
                        KerasShapeString(token_shape)));
  }
  // The decoder: every call that depends on the decoder tokens, in run order.
  std::unordered_map<const Node*, bool> in_decoder = {{decoder_input, true}};
  std::vector<const Node*> decoder;
  for (const std::shared_ptr<Node>& node : trained.nodes()) {
    bool depends = false;
    for (const KerasTensor& input : node->inputs)
      depends = depends || in_decoder[input.node().get()];
    if (depends && node.get() != decoder_input) {
      in_decoder[node.get()] = true;
      decoder.push_back(node.get());
    }
  }
  const KerasTensor& output = trained.outputs()[0];
  if (!in_decoder[output.node().get()]) {
    return refused("its output does not depend on the decoder tokens");
  }
  // What the decoder reads from the encoder: states (initial_state) and constants.
  std::vector<KerasTensor> states, constants;
  const auto crossing = [&](const KerasTensor& tensor) { return !in_decoder[tensor.node().get()]; };
  for (const Node* node : decoder) {
    const Layer& layer = *node->layer;
    const std::string named = absl::StrFormat("layer '%s' (%s)", layer.name(), layer.type());
    if (dynamic_cast<const BidirectionalLayer*>(&layer) != nullptr ||
        dynamic_cast<const Conv1DLayer*>(&layer) != nullptr ||
        dynamic_cast<const MaxPooling1DLayer*>(&layer) != nullptr ||
        dynamic_cast<const GlobalPooling1DLayer*>(&layer) != nullptr) {
      return refused(named +
                     " in the decoder reads later tokens, so it cannot run one token at "
                     "a time");
    }
    if (dynamic_cast<const BaseDenseAttentionLayer*>(&layer) != nullptr &&
        node->inputs.size() >= 2 && !crossing(node->inputs[1])) {
      return refused(named +
                     " attends over the decoder's own steps (self-attention), which "
                     "one token at a time cannot do");
    }
    const size_t first_state = node->inputs.size() - node->state_inputs;
    if (dynamic_cast<const RecurrentLayer*>(&layer) != nullptr) {
      if (node->state_inputs == 0) {
        return refused(named +
                       " in the decoder starts from zeros: pass the encoder's states "
                       "as its initial_state");
      }
      if (node->output_shapes.size() != 1 + node->state_inputs) {
        return refused(named + " in the decoder does not return its state: set return_state");
      }
      for (size_t k = 0; k < node->state_inputs; ++k) {
        if (!crossing(node->inputs[first_state + k])) {
          return refused(named + "'s initial state comes from the decoder, not the encoder");
        }
        states.push_back(node->inputs[first_state + k]);
      }
    }
    for (size_t k = 0; k < first_state; ++k) {
      const KerasTensor& input = node->inputs[k];
      if (crossing(input) &&
          std::find(constants.begin(), constants.end(), input) == constants.end()) {
        constants.push_back(input);
      }
    }
  }
  if (states.empty()) return refused("its decoder has no recurrent layer started from a state");

  // The step model: the decoder's calls again on one token, the states and the constants.
  Shape one_token = token_shape;
  one_token[0] = 1;
  std::vector<KerasTensor> step_inputs = {Input(one_token)};
  std::unordered_map<const Node*, std::vector<KerasTensor>> replayed;
  std::vector<std::pair<KerasTensor, KerasTensor>> replaced;  // trained tensor -> step input
  for (const std::vector<KerasTensor>* group : {&states, &constants}) {
    for (const KerasTensor& tensor : *group) {
      step_inputs.push_back(Input(tensor.shape()));
      replaced.emplace_back(tensor, step_inputs.back());
    }
  }
  const auto mapped = [&](const KerasTensor& tensor) -> KerasTensor {
    if (tensor.node().get() == decoder_input) return step_inputs[0];
    if (auto it = replayed.find(tensor.node().get()); it != replayed.end()) {
      return it->second[tensor.index()];
    }
    for (const auto& [from, to] : replaced) {
      if (from == tensor) return to;
    }
    return tensor;  // not reached: every input is the decoder's or crosses from the encoder
  };
  std::vector<KerasTensor> step_outputs = {KerasTensor()};
  for (const Node* node : decoder) {
    const size_t first_state = node->inputs.size() - node->state_inputs;
    std::vector<KerasTensor> inputs, initial_state;
    for (size_t k = 0; k < node->inputs.size(); ++k) {
      (k < first_state ? inputs : initial_state).push_back(mapped(node->inputs[k]));
    }
    KerasTensors outputs = CallLayer(node->layer, inputs, initial_state);
    if (absl::Status status = outputs.empty() ? absl::OkStatus() : outputs[0].status();
        !status.ok()) {
      return status;
    }
    if (node->state_inputs > 0) {
      for (size_t k = 1; k < outputs.size(); ++k) step_outputs.push_back(outputs[k]);
    }
    replayed[node] = std::vector<KerasTensor>(outputs.begin(), outputs.end());
  }
  step_outputs[0] = mapped(output);
  DecodingModels models;
  std::vector<KerasTensor> encoder_outputs = states;
  encoder_outputs.insert(encoder_outputs.end(), constants.begin(), constants.end());
  models.encoder = std::make_unique<Model>(std::vector<KerasTensor>{trained.inputs()[0]},
                                           encoder_outputs, 0, trained.name() + "_encoder");
  models.step = std::make_unique<Model>(step_inputs, step_outputs, 0, trained.name() + "_step");
  for (const Model* model : {models.encoder.get(), models.step.get()}) {
    if (!model->status().ok()) return model->status();
  }
  return models;
}

}  // namespace layers
