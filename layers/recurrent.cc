#include "layers/recurrent.h"

#include <tuple>

#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"
#include "autograd/elementwise.h"
#include "autograd/recurrent.h"
#include "autograd/shape_ops.h"
#include "layers/config.h"
#include "xtensor/xbuilder.hpp"
#include "xtensor/xview.hpp"

namespace layers {
namespace {

// The time axis may vary (kVaries: Keras' None); the features must be known.
absl::Status CheckSequenceInput(const Shape& input_shape) {
  if (input_shape.size() != 2 || input_shape[1] == 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("expected input of shape [time, features] with both positive, got %s",
                        KerasShapeString(input_shape)));
  }
  return absl::OkStatus();
}

// The state inputs of a call (initial_state): each [units].
absl::Status CheckStateInputs(const std::vector<Shape>& states, size_t expected, size_t units) {
  if (states.empty()) return absl::OkStatus();
  if (states.size() != expected) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "initial_state: expected %d tensors, got %d", expected, states.size()));
  }
  for (const Shape& state : states) {
    if (state != Shape{units}) {
      return absl::InvalidArgumentError(
          absl::StrFormat("initial_state: expected tensors of shape (None, %d), got %s", units,
                          KerasShapeString(state)));
    }
  }
  return absl::OkStatus();
}

// [batch, time, units] in processing order -> the last step [batch, units].
Tensor LastStep(const Tensor& sequence) {
  const size_t batch = sequence.size(0), time = sequence.size(1), units = sequence.size(2);
  return autograd::Reshape(autograd::Slice(sequence, 1, time - 1, time), {batch, units});
}

}  // namespace

absl::StatusOr<Shape> RecurrentLayer::DoBuild(const Shape& input_shape, Rng& rng) {
  const size_t units = options_.units();
  if (absl::Status status = CheckSize("units", units); !status.ok()) return status;
  for (const auto& [key, name, activation] :
       {std::tuple<const char*, std::string, autograd::Activation*>{
            "activation", options_.activation(), &activations_.activation},
        {"recurrent_activation", options_.recurrent_activation(),
         &activations_.recurrent_activation}}) {
    // Keras writes "linear" for None.
    if (!autograd::ParseActivation(name.empty() ? "linear" : name, *activation)) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s '%s' is not one of the recurrent activations: tanh, sigmoid, "
                          "hard_sigmoid, relu, linear",
                          key, name));
    }
  }
  if (options_.recurrent_initializer() != "orthogonal" &&
      options_.recurrent_initializer() != "zeros") {
    return absl::InvalidArgumentError(
        absl::StrFormat("unknown recurrent_initializer '%s' (expected orthogonal or zeros)",
                        options_.recurrent_initializer()));
  }
  for (double rate : {options_.dropout(), options_.recurrent_dropout()}) {
    if (!(rate >= 0 && rate < 1)) {
      return absl::InvalidArgumentError(
          absl::StrFormat("dropout and recurrent_dropout must be in [0, 1), got %g", rate));
    }
  }
  // The recurrent kernel is the largest weight: (units, gates * units) with up to 4 gates.
  if (absl::Status status = CheckWeightShape("recurrent kernel (4 gates)", {4, units, units});
      !status.ok()) {
    return status;
  }
  if (absl::Status status = CheckSequenceInput(input_shape); !status.ok()) return status;
  CreateWeights(input_shape[1], rng);
  if (options_.return_sequences()) return Shape{input_shape[0], units};
  return Shape{units};
}

absl::StatusOr<std::vector<Shape>> RecurrentLayer::DoBuildCall(
    const std::vector<Shape>& input_shapes, Rng& rng) {
  if (input_shapes.empty()) return absl::InvalidArgumentError("it needs an input");
  absl::StatusOr<Shape> output = DoBuild(input_shapes[0], rng);
  if (!output.ok()) return output.status();
  if (absl::Status status =
          CheckStateInputs({input_shapes.begin() + 1, input_shapes.end()}, state_size(),
                           options_.units());
      !status.ok()) {
    return status;
  }
  std::vector<Shape> outputs = {*std::move(output)};
  if (options_.return_state()) outputs.resize(1 + state_size(), Shape{options_.units()});
  return outputs;
}

absl::StatusOr<std::vector<bool>> RecurrentLayer::OutputsMasked(
    const std::vector<bool>& masked) const {
  // Only the sequence's mask counts (Keras ignores masks on the initial state).
  std::vector<bool> out = {OutputMasked(!masked.empty() && masked[0])};
  if (options_.return_state()) out.resize(1 + state_size(), false);
  return out;
}

std::vector<Tensor> RecurrentLayer::CallNode(const std::vector<Tensor>& inputs,
                                             const std::vector<const Array*>& masks,
                                             const CallContext& context,
                                             std::vector<std::optional<Array>>& output_masks) {
  output_masks.assign(1, ComputeMask(inputs[0].value(), masks[0]));
  const std::vector<Tensor> state(inputs.begin() + 1, inputs.end());
  std::vector<Tensor> outputs = Run(inputs[0], masks[0], state, context, options_.return_state());
  output_masks.resize(outputs.size());
  return outputs;
}

Array RecurrentLayer::RecurrentInitial(size_t columns, Rng& rng) const {
  if (options_.recurrent_initializer() == "zeros") {
    return xt::zeros<Real>({options_.units(), columns});
  }
  return autograd::Orthogonal(options_.units(), columns, rng);
}

Tensor RecurrentLayer::DoCall(const Tensor& x, const Array* mask, const CallContext& context) {
  return Run(x, mask, {}, context, /*return_state=*/false).front();
}

std::vector<Tensor> RecurrentLayer::CallWithState(const Tensor& x, const Array* mask,
                                                  const std::vector<Tensor>& initial_state,
                                                  const CallContext& context) {
  return Run(x, mask, initial_state, context, /*return_state=*/true);
}

namespace {

// 1 from a sample's first real step on, in processing order, else 0: [batch, steps, 1].
Array SeenRealStep(const Array& step_mask, bool go_backwards) {
  const size_t batch = step_mask.shape()[0], steps = step_mask.shape()[1];
  Array seen = xt::zeros<Real>({batch, steps, size_t{1}});
  for (size_t b = 0; b < batch; ++b) {
    bool any = false;
    for (size_t step = 0; step < steps; ++step) {
      any = any || step_mask(b, go_backwards ? steps - 1 - step : step) != 0;
      seen(b, step, 0) = any;
    }
  }
  return seen;
}

}  // namespace

std::vector<Tensor> RecurrentLayer::Run(const Tensor& x, const Array* mask,
                                        const std::vector<Tensor>& initial_state,
                                        const CallContext& context, bool return_state) {
  const bool training = context.training;
  const size_t batch = x.size(0), time = x.size(1), units = options_.units();
  std::vector<Tensor> state = initial_state;
  if (state.empty()) state.assign(state_size(), Tensor(xt::zeros<Real>({batch, units})));
  if (state.size() != state_size()) {
    throw autograd::ShapeError(absl::StrFormat("initial_state: expected %d tensors (%s), got %d",
                                               state_size(), state_size() == 2 ? "h and c" : "h",
                                               state.size()));
  }
  for (const Tensor& part : state) {
    if (part.shape() != Shape{batch, units}) {
      throw autograd::ShapeError(absl::StrFormat("initial_state: expected shape %s, got %s",
                                                 autograd::ShapeString({batch, units}),
                                                 autograd::ShapeString(part.shape())));
    }
  }
  Tensor inputs = x;
  if (training && options_.dropout() > 0) {
    // One mask per sequence, broadcast over the time axis.
    inputs = autograd::Mul(
        x, Tensor(DropoutMask({batch, 1, x.size(2)}, options_.dropout(), rng(), context)));
  }
  // One recurrent mask per sequence, the same at every step (Keras' recurrent_dropout).
  Array recurrent_mask;
  const bool recurrent_dropout = training && options_.recurrent_dropout() > 0;
  if (recurrent_dropout) {
    recurrent_mask = DropoutMask({batch, units}, options_.recurrent_dropout(), rng(), context);
  }
  const Array* recurrent = recurrent_dropout ? &recurrent_mask : nullptr;
  if (mask != nullptr && autograd::ShapeOf(*mask) != Shape{batch, time}) {
    throw autograd::ShapeError(absl::StrFormat("mask expected shape %s, got %s",
                                               autograd::ShapeString({batch, time}),
                                               autograd::ShapeString(autograd::ShapeOf(*mask))));
  }
  // Input steps [first, last) hold every real step of the batch; the others are no-ops.
  size_t first = 0, last = time;
  if (mask != nullptr && options_.skip_masked_steps()) {
    const auto any_real = [&](size_t t) {
      for (size_t b = 0; b < batch; ++b) {
        if ((*mask)(b, t) != 0) return true;
      }
      return false;
    };
    while (first < time && !any_real(first)) ++first;
    while (last > first && !any_real(last - 1)) --last;
  }
  const Shape output_shape =
      options_.return_sequences() ? Shape{batch, time, units} : Shape{batch, units};
  if (first == last) {  // no real step at all: zeros out, the state as it came
    std::vector<Tensor> result = {Tensor(xt::zeros<Real>(output_shape))};
    if (return_state) result.insert(result.end(), state.begin(), state.end());
    return result;
  }
  Array step_mask;
  if (mask != nullptr) step_mask = xt::view(*mask, xt::all(), xt::range(first, last));
  const bool trimmed = first > 0 || last < time;
  const size_t steps = last - first;
  // GRU without reset_after has its own op, which multiplies in floating point.
  const bool int8 = context.int8 != nullptr && !autograd::GradEnabled();
  Tensor run = Sequence(
      trimmed ? autograd::Slice(inputs, 1, first, last) : inputs, state,
      autograd::SequenceOptions()
          .go_backwards(options_.go_backwards())
          .recurrent_mask(recurrent)
          .step_mask(mask != nullptr ? &step_mask : nullptr)
          .zero_output_for_mask(zero_output_for_mask_)
          .activations(activations_)
          .append_state(return_state)
          .int8_kernel(int8 ? &context.int8->Get(kernel_.value()) : nullptr)
          .int8_recurrent_kernel(int8 ? &context.int8->Get(recurrent_kernel_.value()) : nullptr));
  std::vector<Tensor> final_state;
  if (return_state) {
    for (size_t k = 0; k < state_size(); ++k) {
      final_state.push_back(
          autograd::Reshape(autograd::Slice(run, 1, steps + k, steps + k + 1), {batch, units}));
    }
    run = autograd::Slice(run, 1, 0, steps);
  }
  if (mask != nullptr && !initial_state.empty() && !zero_output_for_mask_) {
    // The op outputs the carried state before the first real step; Keras outputs zeros there.
    run = autograd::Mul(run, Tensor(SeenRealStep(step_mask, options_.go_backwards())));
  }
  Tensor output;
  if (!options_.return_sequences()) {
    output = LastStep(run);
  } else if (!trimmed) {
    output = run;
  } else {
    // The skipped steps in processing order: those before the first real one output zeros
    // (Keras' initial previous output); those after the last one repeat the last output (or
    // zeros).
    const size_t before = options_.go_backwards() ? time - last : first;
    const size_t after = time - before - steps;
    std::vector<Tensor> parts;
    if (before > 0) parts.push_back(Tensor(xt::zeros<Real>({batch, before, units})));
    parts.push_back(run);
    if (after > 0) {
      if (zero_output_for_mask_) {
        parts.push_back(Tensor(xt::zeros<Real>({batch, after, units})));
      } else {
        const Tensor last_output = autograd::Reshape(LastStep(run), {batch, 1, units});
        parts.push_back(
            autograd::Mul(last_output, Tensor(xt::ones<Real>({size_t{1}, after, size_t{1}}))));
      }
    }
    output = autograd::Concat(parts, 1);
  }
  std::vector<Tensor> result = {output};
  result.insert(result.end(), final_state.begin(), final_state.end());
  return result;
}

void LstmLayer::CreateWeights(size_t input_dim, Rng& rng) {
  const size_t units = options_.units();
  kernel_ = AddWeight("kernel", {input_dim, 4 * units}, [&] {
    return autograd::GlorotUniform({input_dim, 4 * units}, input_dim, 4 * units, rng);
  });
  recurrent_kernel_ = AddWeight("recurrent_kernel", {units, 4 * units},
                                [&] { return RecurrentInitial(4 * units, rng); });
  bias_ = AddWeight("bias", {4 * units}, [&] {
    Array bias = xt::zeros<Real>({4 * units});
    if (options_.unit_forget_bias()) xt::view(bias, xt::range(units, 2 * units)) = Real(1);
    return bias;
  });
}

Tensor LstmLayer::Sequence(const Tensor& x, const std::vector<Tensor>& state,
                           const autograd::SequenceOptions& options) {
  return autograd::LstmSequence(x, state[0], state[1], kernel_, recurrent_kernel_, bias_, options);
}

void SimpleRnnLayer::CreateWeights(size_t input_dim, Rng& rng) {
  const size_t units = options_.units();
  kernel_ = AddWeight("kernel", {input_dim, units}, [&] {
    return autograd::GlorotUniform({input_dim, units}, input_dim, units, rng);
  });
  recurrent_kernel_ =
      AddWeight("recurrent_kernel", {units, units}, [&] { return RecurrentInitial(units, rng); });
  bias_ = AddWeight("bias", {units}, [&] { return Array(xt::zeros<Real>({units})); });
}

Tensor SimpleRnnLayer::Sequence(const Tensor& x, const std::vector<Tensor>& state,
                                const autograd::SequenceOptions& options) {
  return autograd::SimpleRnnSequence(x, state[0], kernel_, recurrent_kernel_, bias_, options);
}

void GruLayer::CreateWeights(size_t input_dim, Rng& rng) {
  const size_t units = options_.units();
  kernel_ = AddWeight("kernel", {input_dim, 3 * units}, [&] {
    return autograd::GlorotUniform({input_dim, 3 * units}, input_dim, 3 * units, rng);
  });
  recurrent_kernel_ = AddWeight("recurrent_kernel", {units, 3 * units},
                                [&] { return RecurrentInitial(3 * units, rng); });
  const Shape bias_shape =
      options_.reset_after() ? Shape{size_t{2}, 3 * units} : Shape{3 * units};
  bias_ = AddWeight("bias", bias_shape, [&] { return Array(xt::zeros<Real>(bias_shape)); });
}

Tensor GruLayer::Sequence(const Tensor& x, const std::vector<Tensor>& state,
                          const autograd::SequenceOptions& options) {
  if (!options_.reset_after()) {
    return autograd::GruResetBeforeSequence(x, state[0], kernel_, recurrent_kernel_, bias_,
                                            options);
  }
  return autograd::GruSequence(x, state[0], kernel_, recurrent_kernel_, bias_, options);
}

namespace {
RecurrentOptions Reversed(const RecurrentOptions& options) {
  RecurrentOptions reversed = options;
  reversed.go_backwards(!options.go_backwards());
  return reversed;
}
}  // namespace

std::unique_ptr<RecurrentLayer> LstmLayer::MakeReversedCopy() const {
  return std::make_unique<LstmLayer>(Reversed(options_));
}
std::unique_ptr<RecurrentLayer> SimpleRnnLayer::MakeReversedCopy() const {
  return std::make_unique<SimpleRnnLayer>(Reversed(options_));
}
std::unique_ptr<RecurrentLayer> GruLayer::MakeReversedCopy() const {
  return std::make_unique<GruLayer>(Reversed(options_));
}

absl::StatusOr<Shape> BidirectionalLayer::DoBuild(const Shape& input_shape, Rng& rng) {
  if (merge_mode_ != "sum" && merge_mode_ != "mul" && merge_mode_ != "ave" &&
      merge_mode_ != "concat") {
    return absl::InvalidArgumentError(
        absl::StrFormat("unknown merge_mode '%s' (expected sum, mul, ave or concat)", merge_mode_));
  }
  if (forward_ == nullptr) {  // first build: take the wrapped layer as the forward copy
    if (dynamic_cast<RecurrentLayer*>(layer_.get()) == nullptr) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "Bidirectional wraps a recurrent layer (LSTM, GRU, SimpleRNN), got %s", layer_->type()));
    }
    forward_ = std::dynamic_pointer_cast<RecurrentLayer>(layer_);
    layer_.reset();
    backward_ = forward_->MakeReversedCopy();
  }
  const std::string inner = KerasBaseName(forward_->type());
  forward_->set_name(absl::StrFormat("forward_%s", inner));
  backward_->set_name(absl::StrFormat("backward_%s", inner));
  // Keras: with return_sequences both directions output zeros at masked steps.
  for (RecurrentLayer* layer : {forward_.get(), backward_.get()}) {
    layer->set_zero_output_for_mask(layer->return_sequences());
  }
  if (absl::Status status = forward_->Build(input_shape, rng); !status.ok()) return status;
  if (absl::Status status = backward_->Build(input_shape, rng); !status.ok()) return status;
  Shape output = forward_->output_shape();
  if (merge_mode_ == "concat") output.back() *= 2;
  return output;
}

Layer::MaskRule BidirectionalLayer::mask_rule() const {
  return inner() != nullptr && inner()->return_sequences() ? MaskRule::kPasses : MaskRule::kEnds;
}

const RecurrentLayer* BidirectionalLayer::inner() const {
  if (forward_ != nullptr) return forward_.get();
  return dynamic_cast<const RecurrentLayer*>(layer_.get());
}

absl::StatusOr<std::vector<Shape>> BidirectionalLayer::DoBuildCall(
    const std::vector<Shape>& input_shapes, Rng& rng) {
  if (input_shapes.empty()) return absl::InvalidArgumentError("it needs an input");
  absl::StatusOr<Shape> output = DoBuild(input_shapes[0], rng);
  if (!output.ok()) return output.status();
  const size_t states = forward_->state_size(), units = forward_->options().units();
  if (absl::Status status = CheckStateInputs({input_shapes.begin() + 1, input_shapes.end()},
                                             2 * states, units);
      !status.ok()) {
    return status;
  }
  std::vector<Shape> outputs = {*std::move(output)};
  if (forward_->options().return_state()) outputs.resize(1 + 2 * states, Shape{units});
  return outputs;
}

absl::StatusOr<std::vector<bool>> BidirectionalLayer::OutputsMasked(
    const std::vector<bool>& masked) const {
  std::vector<bool> out = {OutputMasked(!masked.empty() && masked[0])};
  if (inner() != nullptr && inner()->options().return_state()) {
    out.resize(1 + 2 * inner()->state_size(), false);
  }
  return out;
}

std::vector<Tensor> BidirectionalLayer::CallNode(const std::vector<Tensor>& inputs,
                                                 const std::vector<const Array*>& masks,
                                                 const CallContext& context,
                                                 std::vector<std::optional<Array>>& output_masks) {
  output_masks.assign(1, ComputeMask(inputs[0].value(), masks[0]));
  const std::vector<Tensor> state(inputs.begin() + 1, inputs.end());
  if (!forward_->options().return_state() && state.empty()) {
    return {DoCall(inputs[0], masks[0], context)};
  }
  std::vector<Tensor> outputs = CallWithState(inputs[0], masks[0], state, context);
  if (!forward_->options().return_state()) outputs.resize(1);
  output_masks.resize(outputs.size());
  return outputs;
}

Tensor BidirectionalLayer::DoCall(const Tensor& x, const Array* mask, const CallContext& context) {
  return Merge(forward_->Call(x, mask, context), backward_->Call(x, mask, context));
}

std::vector<Tensor> BidirectionalLayer::CallWithState(const Tensor& x, const Array* mask,
                                                      const std::vector<Tensor>& initial_state,
                                                      const CallContext& context) {
  const size_t states = forward_->state_size();
  if (!initial_state.empty() && initial_state.size() != 2 * states) {
    throw autograd::ShapeError(absl::StrFormat(
        "initial_state: expected %d tensors (the forward layer's state, then the backward "
        "layer's), got %d",
        2 * states, initial_state.size()));
  }
  const auto half = [&](size_t k) {
    if (initial_state.empty()) return std::vector<Tensor>();
    return std::vector<Tensor>(initial_state.begin() + k * states,
                               initial_state.begin() + (k + 1) * states);
  };
  std::vector<Tensor> forward = forward_->CallWithState(x, mask, half(0), context);
  std::vector<Tensor> backward = backward_->CallWithState(x, mask, half(1), context);
  std::vector<Tensor> result = {Merge(forward[0], backward[0])};
  result.insert(result.end(), forward.begin() + 1, forward.end());
  result.insert(result.end(), backward.begin() + 1, backward.end());
  return result;
}

Tensor BidirectionalLayer::Merge(const Tensor& forward, Tensor backward) const {
  // The backward layer returns its sequence in processing order: put it back in forward time.
  if (forward_->return_sequences()) backward = autograd::Reverse(backward, 1);
  if (merge_mode_ == "sum") return autograd::Add(forward, backward);
  if (merge_mode_ == "mul") return autograd::Mul(forward, backward);
  if (merge_mode_ == "ave") return autograd::Scale(autograd::Add(forward, backward), Real(0.5));
  return autograd::Concat({forward, backward}, -1);
}

std::vector<Weight> BidirectionalLayer::weights() const {
  std::vector<Weight> all;
  for (const RecurrentLayer* layer : {forward_.get(), backward_.get()}) {
    if (layer == nullptr) continue;
    for (Weight weight : layer->weights()) {
      weight.name = absl::StrFormat("%s/%s", layer->name(), weight.name);
      all.push_back(std::move(weight));
    }
  }
  return all;
}

std::vector<std::string> RecurrentLayer::KerasWeightNames() const {
  // Keras 2 keeps the weights in a cell named after the layer's class: "lstm/lstm_cell/kernel:0".
  const std::string cell = KerasBaseName(type()) + "_cell";
  std::vector<std::string> names;
  for (const Weight& weight : weights()) {
    names.push_back(absl::StrFormat("%s/%s/%s:0", name(), cell, weight.name));
  }
  return names;
}

// Keras' keys for LSTM, GRU and SimpleRNN, in Keras' order, with the class's own ones
// (unit_forget_bias, reset_after, implementation) where Keras puts them.
void RecurrentLayer::GetConfig(Json& config) const {
  config["return_sequences"] = options_.return_sequences();
  config["return_state"] = options_.return_state();
  config["go_backwards"] = options_.go_backwards();
  config["stateful"] = false;
  config["unroll"] = false;
  config["time_major"] = false;
  config["units"] = options_.units();
  config["activation"] = options_.activation();
  if (type() != "SimpleRNN") config["recurrent_activation"] = options_.recurrent_activation();
  config["use_bias"] = true;
  config["kernel_initializer"] = InitializerConfig("GlorotUniform");
  config["recurrent_initializer"] =
      InitializerConfig(options_.recurrent_initializer() == "zeros" ? "Zeros" : "Orthogonal");
  config["bias_initializer"] = InitializerConfig("Zeros");
  if (type() == "LSTM") config["unit_forget_bias"] = options_.unit_forget_bias();
  SetNull(config,
          {"kernel_regularizer", "recurrent_regularizer", "bias_regularizer",
           "activity_regularizer", "kernel_constraint", "recurrent_constraint", "bias_constraint"});
  config["dropout"] = options_.dropout();
  config["recurrent_dropout"] = options_.recurrent_dropout();
  if (type() != "SimpleRNN") config["implementation"] = 2;
  if (type() == "GRU") config["reset_after"] = options_.reset_after();
}

namespace {

// The keys every recurrent class shares; `type` is the Keras class.
RecurrentOptions ReadRecurrentOptions(ConfigReader& config, const std::string& type) {
  RecurrentOptions options(config.Size("units"));
  options.return_sequences(config.Bool("return_sequences", false));
  options.go_backwards(config.Bool("go_backwards", false));
  options.return_state(config.Bool("return_state", false));
  for (const char* key : {"stateful", "unroll", "time_major"}) config.Only(key, false);
  options.activation(config.String("activation", "tanh"));
  if (type != "SimpleRNN") {
    options.recurrent_activation(config.String("recurrent_activation", "sigmoid"));
  }
  config.Only("use_bias", true);
  config.Ignore("kernel_initializer");
  config.Ignore("recurrent_initializer");
  config.Ignore("bias_initializer");
  config.OnlyNull({"kernel_regularizer", "recurrent_regularizer", "bias_regularizer",
                   "activity_regularizer", "kernel_constraint", "recurrent_constraint",
                   "bias_constraint"});
  options.dropout(config.Number("dropout", 0.0));
  options.recurrent_dropout(config.Number("recurrent_dropout", 0.0));
  // Keras' implementation 1 and 2 compute the same function; only the kernels differ.
  if (type != "SimpleRNN") config.Ignore("implementation");
  return options;
}

}  // namespace

absl::StatusOr<LayerPtr> LstmLayer::FromConfig(ConfigReader& config) {
  RecurrentOptions options = ReadRecurrentOptions(config, "LSTM");
  options.unit_forget_bias(config.Bool("unit_forget_bias", true));
  return LSTM(options);
}

absl::StatusOr<LayerPtr> SimpleRnnLayer::FromConfig(ConfigReader& config) {
  return SimpleRNN(ReadRecurrentOptions(config, "SimpleRNN"));
}

absl::StatusOr<LayerPtr> GruLayer::FromConfig(ConfigReader& config) {
  RecurrentOptions options = ReadRecurrentOptions(config, "GRU");
  options.reset_after(config.Bool("reset_after", true));
  return GRU(options);
}

std::vector<std::string> BidirectionalLayer::KerasWeightNames() const {
  std::vector<std::string> names;
  for (const RecurrentLayer* layer : {forward_.get(), backward_.get()}) {
    if (layer == nullptr) continue;
    for (const std::string& inner : layer->KerasWeightNames()) {
      names.push_back(absl::StrFormat("%s/%s", name(), inner));
    }
  }
  return names;
}

void BidirectionalLayer::GetConfig(Json& config) const {
  const Layer& inner = forward_ != nullptr ? *forward_ : *layer_;
  Json layer = LayerToConfig(inner);
  layer["config"]["name"] = KerasBaseName(inner.type());  // the wrapped layer's own name
  config["layer"] = layer;
  config["merge_mode"] = merge_mode_;
}

absl::StatusOr<LayerPtr> BidirectionalLayer::FromConfig(ConfigReader& config) {
  const Json& inner = config.Object("layer");
  const std::string merge_mode = config.String("merge_mode", "concat");
  if (!config.ok()) return absl::InvalidArgumentError("no wrapped layer");
  absl::StatusOr<LayerFromFile> layer = LayerFromConfig(inner, "the wrapped layer");
  if (!layer.ok()) return layer.status();
  return Bidirectional(std::move(layer->layer), merge_mode);
}

LayerPtr LSTM(RecurrentOptions options) { return std::make_unique<LstmLayer>(std::move(options)); }
LayerPtr LSTM(size_t units) { return LSTM(RecurrentOptions(units)); }
LayerPtr SimpleRNN(RecurrentOptions options) {
  return std::make_unique<SimpleRnnLayer>(std::move(options));
}
LayerPtr SimpleRNN(size_t units) { return SimpleRNN(RecurrentOptions(units)); }
LayerPtr GRU(RecurrentOptions options) { return std::make_unique<GruLayer>(std::move(options)); }
LayerPtr GRU(size_t units) { return GRU(RecurrentOptions(units)); }
LayerPtr Bidirectional(LayerPtr layer, std::string merge_mode) {
  return std::make_unique<BidirectionalLayer>(std::move(layer), std::move(merge_mode));
}

}  // namespace layers
