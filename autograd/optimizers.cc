#include "autograd/optimizers.h"

#include <cmath>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "autograd/vector_math.h"
#include "xtensor/xbuilder.hpp"
#include "xtensor/xmath.hpp"

namespace autograd {
namespace {

// `slots` (one array per parameter for each of `names`) checked against the parameters; an
// error says which slot and parameter differ, "expected (...), got (...)".
absl::Status CheckState(const std::vector<Tensor>& parameters, const OptimizerState& state,
                        const std::vector<std::string>& names, const std::string& optimizer) {
  if (state.iterations < 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: iterations must be >= 0, got %d", optimizer, state.iterations));
  }
  if (state.slot_names != names || state.slots.size() != names.size()) {
    return absl::InvalidArgumentError(absl::StrFormat("%s state: expected slots (%s), got (%s)",
                                                      optimizer, absl::StrJoin(names, ", "),
                                                      absl::StrJoin(state.slot_names, ", ")));
  }
  for (size_t kind = 0; kind < names.size(); ++kind) {
    const std::vector<Array>& arrays = state.slots[kind];
    if (arrays.size() != parameters.size()) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s state, slot '%s': expected (%d arrays, one per weight), got (%d)",
                          optimizer, names[kind], parameters.size(), arrays.size()));
    }
    for (size_t p = 0; p < parameters.size(); ++p) {
      const Shape expected = ShapeOf(parameters[p].value()), got = ShapeOf(arrays[p]);
      if (expected != got) {
        return absl::InvalidArgumentError(
            absl::StrFormat("%s state, slot '%s' of weight %d: expected shape %s, got %s",
                            optimizer, names[kind], p, ShapeString(expected), ShapeString(got)));
      }
    }
  }
  return absl::OkStatus();
}

// The array kept for `node` in `table`, or zeros shaped as its value.
template <typename Table, typename Field>
Array SlotOrZeros(const Table& table, const Node& node, Field field) {
  auto it = table.find(&node);
  if (it == table.end() || (it->second.*field).shape() != node.value.shape()) {
    return xt::zeros<Real>(node.value.shape());
  }
  return it->second.*field;
}

}  // namespace

void Sgd::Step(const std::vector<Tensor>& parameters) {
  ++iterations_;
  for (const Tensor& parameter : parameters) {
    if (!parameter.has_grad()) continue;
    Node& node = *parameter.node();
    if (options_.momentum == Real(0)) {
      node.value -= options_.learning_rate * node.grad;
    } else {
      Array& velocity = velocity_[&node];
      // Shapes, not sizes: a default Array is 0-d with one element.
      if (velocity.shape() != node.value.shape()) velocity = xt::zeros<Real>(node.value.shape());
      velocity = options_.momentum * velocity - options_.learning_rate * node.grad;
      node.value += velocity;
    }
    node.has_grad = false;
  }
}

void Adam::Step(const std::vector<Tensor>& parameters) {
  ++iterations_;
  const double t = static_cast<double>(iterations_);
  const Real lr_t = static_cast<Real>(options_.learning_rate *
                                      std::sqrt(1.0 - std::pow(double{options_.beta2}, t)) /
                                      (1.0 - std::pow(double{options_.beta1}, t)));
  const Real b1 = options_.beta1, b2 = options_.beta2, eps = options_.epsilon;
  for (const Tensor& parameter : parameters) {
    if (!parameter.has_grad()) continue;
    Node& node = *parameter.node();
    Moments& moments = moments_[&node];
    if (moments.m.shape() != node.value.shape()) {  // a default Array is 0-d, size 1
      moments.m = xt::zeros<Real>(node.value.shape());
      moments.v = xt::zeros<Real>(node.value.shape());
    }
    vector_math::AdamUpdate(node.value.data(), moments.m.data(), moments.v.data(), node.grad.data(),
                            node.value.size(), lr_t, b1, b2, eps);
    node.has_grad = false;
  }
}

std::vector<std::pair<std::string, double>> Sgd::Hyperparameters() const {
  return {{"learning_rate", options_.learning_rate}, {"momentum", options_.momentum}};
}

OptimizerState Sgd::GetState(const std::vector<Tensor>& parameters) const {
  OptimizerState state;
  state.iterations = iterations_;
  if (options_.momentum == Real(0)) return state;  // plain SGD keeps nothing
  state.slot_names = {"momentum"};
  state.slots.resize(1);
  for (const Tensor& parameter : parameters) {
    auto it = velocity_.find(parameter.node().get());
    state.slots[0].push_back(it != velocity_.end() &&
                                     it->second.shape() == parameter.value().shape()
                                 ? it->second
                                 : Array(xt::zeros<Real>(parameter.value().shape())));
  }
  return state;
}

absl::Status Sgd::SetState(const std::vector<Tensor>& parameters, const OptimizerState& state) {
  std::vector<std::string> names;
  if (options_.momentum != Real(0)) names = {"momentum"};
  if (absl::Status status = CheckState(parameters, state, names, "SGD"); !status.ok()) {
    return status;
  }
  iterations_ = state.iterations;
  velocity_.clear();
  for (size_t p = 0; p < parameters.size() && !names.empty(); ++p) {
    velocity_[parameters[p].node().get()] = state.slots[0][p];
  }
  return absl::OkStatus();
}

std::vector<std::pair<std::string, double>> Adam::Hyperparameters() const {
  return {{"learning_rate", options_.learning_rate},
          {"beta_1", options_.beta1},
          {"beta_2", options_.beta2},
          {"epsilon", options_.epsilon}};
}

OptimizerState Adam::GetState(const std::vector<Tensor>& parameters) const {
  OptimizerState state;
  state.iterations = iterations_;
  state.slot_names = {"m", "v"};
  state.slots.resize(2);
  for (const Tensor& parameter : parameters) {
    state.slots[0].push_back(SlotOrZeros(moments_, *parameter.node(), &Moments::m));
    state.slots[1].push_back(SlotOrZeros(moments_, *parameter.node(), &Moments::v));
  }
  return state;
}

absl::Status Adam::SetState(const std::vector<Tensor>& parameters, const OptimizerState& state) {
  if (absl::Status status = CheckState(parameters, state, {"m", "v"}, "Adam"); !status.ok()) {
    return status;
  }
  iterations_ = state.iterations;
  moments_.clear();
  for (size_t p = 0; p < parameters.size(); ++p) {
    moments_[parameters[p].node().get()] = {state.slots[0][p], state.slots[1][p]};
  }
  return absl::OkStatus();
}

}  // namespace autograd
