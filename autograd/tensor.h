// The tensor handle and the tape: the whole of reverse mode.
//
// A Tensor is a shared handle to a Node holding a value and, once backward has reached it, a
// gradient. Ops (elementwise.h, matmul.h, ...) compute their value and, when any input requires a
// gradient, record a backward closure on the thread's tape. Records are appended in creation order,
// which is already a topological order, so Backward() walks them in reverse: no recursion, however
// long the unrolled graph.
#ifndef AUTOGRAD_TENSOR_H_
#define AUTOGRAD_TENSOR_H_

#include <cstddef>
#include <functional>
#include <initializer_list>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "xtensor/xarray.hpp"

// The scalar type. Models use float32; the gradient checks rebuild the library with double
// (target //autograd:autograd_f64) so finite differences are exact enough to catch small bugs.
#ifndef AUTOGRAD_REAL
#define AUTOGRAD_REAL float
#endif

namespace autograd {

using Real = AUTOGRAD_REAL;
using Array = xt::xarray<Real>;
using Shape = std::vector<size_t>;

// "(2, 3, 4)".
std::string ShapeString(const Shape& shape);
Shape ShapeOf(const Array& array);

struct Node {
  Array value;
  Array grad;  // Meaningful only when has_grad.
  bool requires_grad = false;
  bool has_grad = false;
  // Set on a Sigmoid's output (and kept through Reshape): the node of its input. Binary
  // cross-entropy then works from the logits, exactly and unclipped, as tf.keras does when it
  // finds that its input was made by a sigmoid.
  std::shared_ptr<Node> logits;
};

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(Array value, bool requires_grad = false);
  // The tensor of an existing node (ops use it to reach Node::logits).
  explicit Tensor(std::shared_ptr<Node> node) : node_(std::move(node)) {}

  bool defined() const { return node_ != nullptr; }
  const Array& value() const { return node_->value; }
  Array& mutable_value() { return node_->value; }
  // The accumulated gradient; zeros of the value's shape when backward never reached this tensor.
  Array grad() const;
  bool has_grad() const { return node_->has_grad; }
  bool requires_grad() const { return node_->requires_grad; }
  void ZeroGrad();

  Shape shape() const { return ShapeOf(node_->value); }
  size_t dim() const { return node_->value.dimension(); }
  size_t size(size_t axis) const { return node_->value.shape()[axis]; }
  size_t numel() const { return node_->value.size(); }
  // The single value of a one-element tensor.
  Real item() const;

  const std::shared_ptr<Node>& node() const { return node_; }

 private:
  std::shared_ptr<Node> node_;
};

// Adds `grad` to the tensor's gradient (+= semantics: a tensor used twice gets both
// contributions). The shapes must match exactly; `op` names the caller in the error. The first
// contribution is moved in, not copied.
void AccumulateGrad(const Tensor& tensor, Array grad, const char* op);

// Sums a gradient computed for a broadcast result back to the operand's own shape. The one place
// where broadcasting is undone.
Array ReduceToShape(const Array& grad, const Shape& shape);

// The backward closure of one op: reads its output node (output.grad is d(loss)/d(output);
// output.value lets activations save their output instead of their input) and accumulates into
// its inputs.
using BackwardFn = std::function<void(const Node& output)>;

class Tape {
 public:
  // Appends a record; ops call this through MakeResult.
  void Record(std::shared_ptr<Node> output, BackwardFn backward);
  // Seeds d(loss)/d(loss) = 1 (every element, for a non-scalar `loss`), runs every record in
  // reverse creation order, then clears the tape. Gradients of parameters accumulate; call
  // ZeroGrad (or the optimizer) between steps.
  absl::Status Backward(const Tensor& loss);
  // Drops every record (and so every intermediate value) without running backward.
  void Clear() { records_.clear(); }
  size_t size() const { return records_.size(); }

 private:
  struct Record_ {
    std::shared_ptr<Node> output;
    BackwardFn backward;
  };
  std::vector<Record_> records_;
};

// The tape of the calling thread.
Tape& CurrentTape();

// Whether ops record backward closures. False inside a NoGradGuard (inference: predict records
// nothing).
bool GradEnabled();

class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

// For op implementations: wraps `value` as the op's result and, when gradients are enabled and any
// of `inputs` requires one, records `backward` for it. `backward` is only called when gradients
// are recorded, so it may assume its inputs are alive.
Tensor MakeResult(Array value, std::initializer_list<const Tensor*> inputs, BackwardFn backward);
Tensor MakeResult(Array value, const std::vector<Tensor>& inputs, BackwardFn backward);

// The error of a failed shape check, thrown as ShapeError by ops (they return Tensors so that
// expressions compose); layers and models turn it into an absl::Status.
class ShapeError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

}  // namespace autograd

#endif  // AUTOGRAD_TENSOR_H_
