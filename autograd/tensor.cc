#include "autograd/tensor.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "xtensor/xbuilder.hpp"
#include "xtensor/xreducer.hpp"

namespace autograd {

std::string ShapeString(const Shape& shape) {
  return absl::StrCat("(", absl::StrJoin(shape, ", "), ")");
}

Shape ShapeOf(const Array& array) { return Shape(array.shape().begin(), array.shape().end()); }

Tensor::Tensor(Array value, bool requires_grad) : node_(std::make_shared<Node>()) {
  node_->value = std::move(value);
  node_->requires_grad = requires_grad;
}

Array Tensor::grad() const {
  if (node_->has_grad) return node_->grad;
  return xt::zeros<Real>(node_->value.shape());
}

void Tensor::ZeroGrad() {
  node_->has_grad = false;
  node_->grad = Array();
}

Real Tensor::item() const {
  if (numel() != 1) {
    throw ShapeError(
        absl::StrFormat("item() needs a one-element tensor, got shape %s", ShapeString(shape())));
  }
  return *node_->value.data();
}

void AccumulateGrad(const Tensor& tensor, Array grad, const char* op) {
  Node& node = *tensor.node();
  if (!node.requires_grad) return;
  if (!std::equal(grad.shape().begin(), grad.shape().end(), node.value.shape().begin(),
                  node.value.shape().end())) {
    throw ShapeError(absl::StrFormat("%s backward: gradient shape expected %s, got %s", op,
                                     ShapeString(ShapeOf(node.value)), ShapeString(ShapeOf(grad))));
  }
  if (node.has_grad) {
    Real* __restrict sum = node.grad.data();
    const Real* __restrict add = grad.data();
    for (size_t k = 0, n = grad.size(); k < n; ++k) sum[k] += add[k];
  } else {
    node.grad = std::move(grad);
    node.has_grad = true;
  }
}

Array ReduceToShape(const Array& grad, const Shape& shape) {
  const Shape grad_shape = ShapeOf(grad);
  if (grad_shape == shape) return grad;
  if (shape.size() > grad_shape.size()) {
    throw ShapeError(absl::StrFormat("cannot reduce a gradient of shape %s to shape %s",
                                     ShapeString(grad_shape), ShapeString(shape)));
  }
  // Leading axes the operand did not have, then axes it had with extent 1.
  const size_t lead = grad_shape.size() - shape.size();
  if (std::equal(shape.begin(), shape.end(), grad_shape.begin() + lead)) {
    // Only leading axes go (a bias broadcast over every row): sum the rows.
    size_t width = 1;
    for (size_t extent : shape) width *= extent;
    Array reduced = xt::zeros<Real>(shape);
    const size_t rows = width == 0 ? 0 : grad.size() / width;
    for (size_t r = 0; r < rows; ++r) {
      const Real* __restrict row = grad.data() + r * width;
      Real* __restrict sum = reduced.data();
      for (size_t k = 0; k < width; ++k) sum[k] += row[k];
    }
    return reduced;
  }
  std::vector<size_t> axes;
  for (size_t axis = 0; axis < grad_shape.size(); ++axis) {
    if (axis < lead) {
      axes.push_back(axis);
    } else if (shape[axis - lead] == 1 && grad_shape[axis] != 1) {
      axes.push_back(axis);
    } else if (shape[axis - lead] != grad_shape[axis]) {
      throw ShapeError(absl::StrFormat("cannot reduce a gradient of shape %s to shape %s",
                                       ShapeString(grad_shape), ShapeString(shape)));
    }
  }
  Array reduced = xt::sum(grad, axes, xt::evaluation_strategy::immediate);
  reduced.reshape(shape);
  return reduced;
}

void Tape::Record(std::shared_ptr<Node> output, BackwardFn backward) {
  records_.push_back({std::move(output), std::move(backward)});
}

absl::Status Tape::Backward(const Tensor& loss) {
  if (!loss.defined() || !loss.requires_grad()) {
    records_.clear();
    return absl::FailedPreconditionError(
        "Backward: the loss does not depend on any tensor that requires a gradient");
  }
  AccumulateGrad(loss, xt::ones<Real>(loss.value().shape()), "Backward");
  // Records go out of scope one by one as the walk passes them, freeing intermediates early.
  std::vector<Record_> records = std::move(records_);
  records_.clear();
  for (auto it = records.rbegin(); it != records.rend(); ++it) {
    if (it->output->has_grad) it->backward(*it->output);
    *it = Record_();
  }
  return absl::OkStatus();
}

namespace {
thread_local Tape current_tape;
thread_local bool grad_enabled = true;
}  // namespace

Tape& CurrentTape() { return current_tape; }
bool GradEnabled() { return grad_enabled; }

NoGradGuard::NoGradGuard() : previous_(grad_enabled) { grad_enabled = false; }
NoGradGuard::~NoGradGuard() { grad_enabled = previous_; }

namespace {
Tensor RecordIf(bool needs_grad, Array value, BackwardFn backward) {
  Tensor result(std::move(value), needs_grad);
  if (needs_grad) current_tape.Record(result.node(), std::move(backward));
  return result;
}
}  // namespace

Tensor MakeResult(Array value, std::initializer_list<const Tensor*> inputs, BackwardFn backward) {
  bool needs_grad = false;
  if (grad_enabled) {
    for (const Tensor* input : inputs) needs_grad = needs_grad || input->requires_grad();
  }
  return RecordIf(needs_grad, std::move(value), std::move(backward));
}

Tensor MakeResult(Array value, const std::vector<Tensor>& inputs, BackwardFn backward) {
  bool needs_grad = false;
  if (grad_enabled) {
    for (const Tensor& input : inputs) needs_grad = needs_grad || input.requires_grad();
  }
  return RecordIf(needs_grad, std::move(value), std::move(backward));
}

}  // namespace autograd
