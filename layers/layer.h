// The Layer interface, with Keras' vocabulary: a layer is built from its input shape (weights are
// created then), called on a batch with a `training` flag, and reports its output shape and
// parameter count. Shapes here leave out the batch axis, as Keras prints them after "None".
#ifndef LAYERS_LAYER_H_
#define LAYERS_LAYER_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "autograd/quantized.h"
#include "autograd/random.h"
#include "autograd/tensor.h"
#include "nlohmann/json_fwd.hpp"

namespace layers {

using autograd::Array;
using autograd::Real;
using autograd::Rng;
using autograd::Shape;
using autograd::Tensor;
using Json = nlohmann::ordered_json;

// A trainable array with its Keras name ("kernel", "recurrent_kernel", "bias", ...).
struct Weight {
  std::string name;
  Tensor tensor;
};

class ConfigReader;  // layers/config.h

// What a call knows besides its inputs: Keras' training flag and, in data-parallel training,
// which rows of the global batch this batch is, passed down explicitly to every layer.
struct CallContext {
  bool training = false;
  // This batch is rows [first_row, first_row + batch) of a global batch of `global_rows` (0: the
  // batch is the whole batch). Dropout draws the global batch's mask and keeps these rows, so
  // every sample gets the mask it gets in one process (layers/data_parallel.h).
  size_t global_rows = 0;
  size_t first_row = 0;
  // int8 inference (Model::set_int8_inference): where set, LSTM, GRU, SimpleRNN and Dense
  // multiply by their weights' int8 forms, made here at first use (autograd/quantized.h).
  autograd::QuantizedWeights* int8 = nullptr;
};
class KerasTensor;   // layers/functional.h: a symbolic tensor of the Functional API
class KerasTensors;  // the outputs of one layer call
struct InitialState;

class Layer {
 public:
  // `type` is the Keras class name ("LSTM", "Dense"), shown by summary().
  explicit Layer(std::string type) : type_(std::move(type)) {}
  virtual ~Layer() = default;
  Layer(const Layer&) = delete;
  Layer& operator=(const Layer&) = delete;

  // Checks the arguments against `input_shape` (no batch axis) and creates the weights. Errors
  // name the layer and the shapes; on error the layer stays unbuilt.
  absl::Status Build(const Shape& input_shape, Rng& rng);
  bool built() const { return built_; }

  // Keras 3's call(inputs, training, mask): x [batch, input_shape...] with its mask (null: none;
  // [batch, time], 1 where a step is real, 0 where it is padding) -> [batch, output_shape...].
  // Call only once built.
  Tensor Call(const Tensor& x, const Array* mask, const CallContext& context) {
    return DoCall(x, mask, context);
  }
  Tensor Call(const Tensor& x, bool training) { return DoCall(x, nullptr, CallContext{training}); }
  Tensor CallMasked(const Tensor& x, const Array* mask, bool training) {
    return DoCall(x, mask, CallContext{training});
  }

  // Keras' masking, declared once by mask_rule(); the rest follows from it.
  enum class MaskRule {
    kRefuses,  // a mask may not reach it (Keras' supports_masking false): Conv1D, MaxPooling1D
    kPasses,   // the input's mask passes on unchanged: Dense, Dropout, TimeDistributed
    kEnds,     // it takes a mask and gives none: a recurrent layer without return_sequences
    kMakes,    // it makes a mask from its input's values (MakeMask): Embedding(mask_zero), Masking
  };
  virtual MaskRule mask_rule() const { return MaskRule::kRefuses; }
  // Whether a mask may reach this layer; building a graph where one does fails, naming the layer.
  bool supports_masking() const { return mask_rule() != MaskRule::kRefuses; }
  // Whether this layer's output carries a mask, given whether its input does.
  bool OutputMasked(bool input_masked) const;
  // The output's mask for input x whose mask is `mask` (null: none); none exactly when
  // OutputMasked(mask != null) is false.
  std::optional<Array> ComputeMask(const Array& x, const Array* mask) const;

  // The Functional API: the layer called on several tensors (Keras' call(inputs, mask=...)).
  // Shapes leave out the batch axis and hold 0 for an axis whose length varies (Keras' None).
  // The defaults take one input and give one output, through Build, OutputMasked, ComputeMask
  // and CallMasked; layers of several inputs (merges, a recurrent layer's initial state) or
  // outputs (return_state) override all three.
  // Builds as Build does (once: a later call must bring the same shapes) and returns the output
  // shapes; errors name the layer and the shapes.
  absl::StatusOr<std::vector<Shape>> BuildCall(const std::vector<Shape>& input_shapes, Rng& rng);
  // Whether each output carries a mask, given which inputs do; an error names what cannot take
  // a mask (by default: a mask reaching a layer without supports_masking()).
  virtual absl::StatusOr<std::vector<bool>> OutputsMasked(const std::vector<bool>& masked) const;
  // inputs[i] with masks[i] (null: none) -> the outputs; `output_masks` gets one entry per output.
  virtual std::vector<Tensor> CallNode(const std::vector<Tensor>& inputs,
                                       const std::vector<const Array*>& masks,
                                       const CallContext& context,
                                       std::vector<std::optional<Array>>& output_masks);
  // The input shapes of the layer's first call (Build's), which a re-initialisation repeats.
  const std::vector<Shape>& call_input_shapes() const { return call_input_shapes_; }
  // Whether the weights hold their initial values from a model's generator (or a file's), not
  // the placeholders a symbolic call creates before any model owns the layer.
  bool initialized() const { return initialized_; }
  // Builds the layer again for its first call's shapes with `rng`, replacing placeholder
  // weights with initial values drawn from it (a Functional model does this, in graph order,
  // so that a seed gives the weights Sequential gives). `owner` keeps the generator alive for
  // layers that draw when called (dropout), also in sub-models that outlive the model.
  absl::Status Initialize(std::shared_ptr<Rng> owner);

  // The input shape a first layer implies without being told (Embedding's input_length), or {}.
  virtual Shape implied_input_shape() const { return {}; }
  const Shape& input_shape() const { return input_shape_; }
  const Shape& output_shape() const { return output_shape_; }
  // Every output's shape (several with return_state).
  const std::vector<Shape>& output_shapes() const { return output_shapes_; }
  // Every trainable weight, in Keras order (a wrapper lists its inner layers' weights).
  virtual std::vector<Weight> weights() const { return weights_; }
  size_t CountParams() const;

  // The names Keras gives the weights in its files, in weights() order: "dense/kernel:0",
  // "lstm/lstm_cell/recurrent_kernel:0", "bidirectional/forward_lstm/lstm_cell/bias:0".
  virtual std::vector<std::string> KerasWeightNames() const;
  // Adds this layer's own Keras config keys ("units", "activation", ...) to `config`; the
  // class's static FromConfig (registered in layers/config.cc) reads them back.
  virtual void GetConfig(Json& config) const = 0;

  // Keras' get_weights() / set_weights(): the arrays in weights() order. set_weights checks the
  // count and every shape.
  std::vector<Array> GetWeights() const;
  absl::Status SetWeights(const std::vector<Array>& values);

  const std::string& type() const { return type_; }
  // How many symbolic calls made nodes of this layer (Keras' inbound nodes): a shared layer has
  // one per call.
  size_t call_count() const { return call_count_; }
  void count_call() { ++call_count_; }
  const std::string& name() const { return name_; }
  void set_name(std::string name) { name_ = std::move(name); }

 protected:
  // The layer's computation (Call). Only layers whose mask_rule() is not kRefuses get masks.
  virtual Tensor DoCall(const Tensor& x, const Array* mask, const CallContext& context) = 0;
  // kMakes: the mask of input x ([batch, time]).
  virtual Array MakeMask(const Array& x) const;
  // Validates arguments and input shape, creates weights with AddWeight, returns the output
  // shape. Errors need not name the layer: Build prefixes it.
  virtual absl::StatusOr<Shape> DoBuild(const Shape& input_shape, Rng& rng) = 0;
  // BuildCall's work for several inputs; by default exactly one, given to DoBuild.
  virtual absl::StatusOr<std::vector<Shape>> DoBuildCall(const std::vector<Shape>& input_shapes,
                                                         Rng& rng);
  // Creates the weight `name` of `shape` with the value `initialize()` returns (called only when
  // needed: not while a WeightsFromFile guard is alive, whose file provides the values).
  Tensor AddWeight(std::string name, const Shape& shape,
                   const std::function<Array()>& initialize);
  // The model's generator, for layers that draw random numbers when called (dropout). Set by
  // Build; it outlives the layer (the model owns both).
  Rng& rng() { return *rng_; }

 private:
  std::string type_;
  std::string name_;
  bool built_ = false;
  Shape input_shape_, output_shape_;
  std::vector<Shape> output_shapes_;
  std::vector<Weight> weights_;
  Rng* rng_ = nullptr;
  std::shared_ptr<Rng> rng_owner_;
  std::vector<Shape> call_input_shapes_;
  bool initialized_ = false;
  size_t call_count_ = 0;
};

// While alive on this thread, layers built here get zeros as placeholder weights (a symbolic
// call before a model owns the layer; Layer::Initialize replaces them).
class PlaceholderWeights {
 public:
  PlaceholderWeights();
  ~PlaceholderWeights();
  PlaceholderWeights(const PlaceholderWeights&) = delete;
  PlaceholderWeights& operator=(const PlaceholderWeights&) = delete;
  static bool Active();

 private:
  bool outer_;
};

// While alive on this thread, the layers built here get their weights from a file (LoadModel):
// AddWeight initialises nothing (zeros, which the stored values then replace) and refuses, with
// an error naming the layer from Build, to create more values in all than the file stores. So a
// config declaring LSTM(12000) beside small stored weights fails before anything large is
// allocated or initialised, whatever sizes the config declares.
class WeightsFromFile {
 public:
  explicit WeightsFromFile(size_t stored_values);
  ~WeightsFromFile();
  WeightsFromFile(const WeightsFromFile&) = delete;
  WeightsFromFile& operator=(const WeightsFromFile&) = delete;

  // The guard of this thread, or null.
  static WeightsFromFile* Current();
  // Takes `values` from what is left; false (nothing taken) when fewer are left.
  bool Take(size_t values);
  // Gives back what placeholder weights took, when a layer is built again for good.
  void Refund(size_t values) { left_ += values; }
  size_t stored_values() const { return stored_values_; }

 private:
  size_t stored_values_;
  size_t left_;
  WeightsFromFile* previous_;
};

// An inverted-dropout mask of `shape` (batch axis first): each element is 0 with probability
// `rate`, else 1 / (1 - rate), so the expected value is unchanged. With a context's global batch,
// the rows are this batch's rows of the global batch's mask.
Array DropoutMask(const Shape& shape, double rate, Rng& rng, const CallContext& context = {});

// A layer, shared by the models and the graph nodes that use it; calling it on symbolic tensors
// records a node of the Functional API (layers/functional.h): `Dense(1)(x)`,
// `LSTM(RecurrentOptions(8).return_state(true))(x)[1]`, `lstm(x, InitialState{h, c})`.
class LayerPtr : public std::shared_ptr<Layer> {
 public:
  LayerPtr() = default;
  LayerPtr(std::nullptr_t) {}  // NOLINT: as shared_ptr
  template <typename T>
  LayerPtr(std::unique_ptr<T> layer) : std::shared_ptr<Layer>(std::move(layer)) {}  // NOLINT
  template <typename T>
  LayerPtr(std::shared_ptr<T> layer) : std::shared_ptr<Layer>(std::move(layer)) {}  // NOLINT

  KerasTensors operator()(const KerasTensor& input) const;
  KerasTensors operator()(const std::vector<KerasTensor>& inputs) const;
  // A recurrent layer (or Bidirectional) started from the given state (Keras' initial_state).
  KerasTensors operator()(const KerasTensor& input, const InitialState& initial_state) const;
};

// Keras' default name for a layer type: "TimeDistributed" -> "time_distributed", "LSTM" -> "lstm",
// "SimpleRNN" -> "simple_rnn", "Conv1D" -> "conv1d".
std::string KerasBaseName(const std::string& type);

// An axis whose length varies from batch to batch (Keras' None): the time axis of Input({kVaries,
// 8}), or of an Embedding without input_length.
inline constexpr size_t kVaries = 0;

// "(None, 10, 1)": a shape as Keras prints it, with the batch axis (and None where it varies).
std::string KerasShapeString(const Shape& shape);

// Layer sizes (units, filters, dimensions) must lie in [1, kMaxLayerSize], and no weight may hold
// more than kMaxWeightValues values: larger ones, and negative numbers passed through size_t, are
// errors naming the layer, not a std::bad_alloc.
inline constexpr size_t kMaxLayerSize = size_t{1} << 24;
inline constexpr size_t kMaxWeightValues = size_t{1} << 31;
// "units must be in [1, 16777216], got -1".
absl::Status CheckSize(const char* what, size_t value);
absl::Status CheckWeightShape(const char* weight, const Shape& shape);

// Keras' activations by name: "linear" (or ""), "sigmoid", "tanh", "relu", "softmax".
absl::Status CheckActivation(const std::string& name);
Tensor Activate(const std::string& name, const Tensor& x);

}  // namespace layers

#endif  // LAYERS_LAYER_H_
