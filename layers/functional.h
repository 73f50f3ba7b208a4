// Keras' Functional API, its symbolic half: Input() makes a symbolic tensor, calling a layer on
// symbolic tensors records a node and gives its outputs, and Model(inputs, outputs)
// (layers/model.h) runs the graph of nodes between them.
//
//   KerasTensor inputs = Input({kVaries});                       // word indices, any length
//   KerasTensor x = Embedding(20000, 128, 0, /*mask_zero=*/true)(inputs);
//   KerasTensors encoder = LSTM(RecurrentOptions(64).return_state(true))(x);
//   KerasTensor outputs = Dense(1, "sigmoid")(encoder[0]);
//
// Errors do not throw: a call that cannot be made (shapes that do not fit, a mask a layer cannot
// take) gives tensors that carry the error, every later call passes it on, and Model reports it
// naming the layer and the shapes.
#ifndef LAYERS_FUNCTIONAL_H_
#define LAYERS_FUNCTIONAL_H_

#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "layers/layer.h"

namespace layers {

struct Node;

// One output of one layer call: its shape (no batch axis; kVaries where the length varies) and
// whether a mask travels with it.
class KerasTensor {
 public:
  KerasTensor() = default;
  KerasTensor(std::shared_ptr<Node> node, size_t index) : node_(std::move(node)), index_(index) {}

  // OkStatus, or the error met while making this tensor (or one it depends on).
  absl::Status status() const;
  const Shape& shape() const;
  bool masked() const;
  const std::shared_ptr<Node>& node() const { return node_; }
  size_t index() const { return index_; }
  // "lstm/0:1": the layer, its call, the output (for messages).
  std::string DebugName() const;
  bool operator==(const KerasTensor& other) const {
    return node_ == other.node_ && index_ == other.index_;
  }

 private:
  std::shared_ptr<Node> node_;
  size_t index_ = 0;
};

// The outputs of one call: usually one, which it converts to; more with return_state
// (output, then the states), taken with [i].
class KerasTensors : public std::vector<KerasTensor> {
 public:
  using std::vector<KerasTensor>::vector;
  // The only output; with several, a tensor carrying an error that says to pick one with [i].
  operator KerasTensor() const;  // NOLINT: Keras' x = Dense(1)(x)
  // Of the only output (or the error of using several as one).
  absl::Status status() const { return KerasTensor(*this).status(); }
  Shape shape() const { return KerasTensor(*this).shape(); }
  bool masked() const { return KerasTensor(*this).masked(); }
};

// Keras' initial_state argument: the state tensors a recurrent layer starts from ({h}, or {h, c}
// for an LSTM; for Bidirectional, the forward layer's then the backward layer's).
struct InitialState {
  std::vector<KerasTensor> tensors;
  InitialState(std::initializer_list<KerasTensor> list) : tensors(list) {}
  explicit InitialState(std::vector<KerasTensor> list) : tensors(std::move(list)) {}
};

// One call of a layer in the graph. A model input is the call of an InputLayer on nothing.
struct Node {
  LayerPtr layer;
  std::vector<KerasTensor> inputs;  // the tensor called on, then any initial state
  size_t state_inputs = 0;          // how many of `inputs` are initial state (at the end)
  std::vector<Shape> output_shapes;
  std::vector<bool> output_masked;
  size_t call_index = 0;  // this call's number among the layer's calls (Keras' node_index)
  absl::Status status;    // not OK: the call could not be made (the outputs carry this)

  Node() = default;
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;
  // Frees the nodes this one alone keeps alive without recursion: a chain of thousands of calls
  // (a deep graph, or a model file's) would otherwise be freed thousands of frames deep.
  ~Node();
};

// Keras' InputLayer: where a model's input enters the graph (it has no weights).
class InputLayer : public Layer {
 public:
  explicit InputLayer(Shape shape) : Layer("InputLayer"), shape_(std::move(shape)) {}
  MaskRule mask_rule() const override { return MaskRule::kPasses; }
  void GetConfig(Json& config) const override;
  const Shape& shape() const { return shape_; }

 private:
  absl::StatusOr<Shape> DoBuild(const Shape& input_shape, Rng& rng) override;
  Tensor DoCall(const Tensor& x, const Array* /*mask*/, const CallContext& /*context*/) override {
    return x;
  }
  Shape shape_;
};

// Keras' Input(shape): a model input of `shape` without the batch axis; kVaries (or 0) for an
// axis whose length changes from batch to batch (Keras' None): Input({kVaries, 8}). `name`
// defaults to Keras' "input_1", "input_2", ... numbering per process.
KerasTensor Input(const Shape& shape, std::string name = "");
// The same with std::nullopt for Keras' None, as Python writes it: Input({std::nullopt, 8}).
KerasTensor Input(std::initializer_list<std::optional<size_t>> shape, std::string name = "");

// Records the call of `layer` on `inputs` (and initial state) and returns its outputs: builds
// the layer when first called (placeholder weights until a model initialises them from its
// generator), and checks the shapes and masks.
KerasTensors CallLayer(const LayerPtr& layer, const std::vector<KerasTensor>& inputs,
                       const std::vector<KerasTensor>& initial_state = {});

}  // namespace layers

#endif  // LAYERS_FUNCTIONAL_H_
