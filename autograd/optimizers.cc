#include "autograd/optimizers.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "autograd/vector_math.h"
#include "xtensor/xbuilder.hpp"
#include "xtensor/xmath.hpp"
#include "xtensor/xoperation.hpp"

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

// A hyper-parameter that must be finite and >= 0: an error naming it otherwise.
absl::Status CheckNonNegative(const char* optimizer, const char* key, Real value) {
  if (std::isfinite(value) && value >= 0) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrFormat("%s: %s expected (a finite number >= 0), got (%g)", optimizer, key, value));
}

// A hyper-parameter that must lie in [low, high] (or [low, high) with `open_high`).
absl::Status CheckRange(const char* optimizer, const char* key, Real value, double low, double high,
                        bool open_high = false) {
  if (value >= low && (open_high ? value < high : value <= high)) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrFormat("%s: %s expected (in [%g, %g%s), got (%g)",
                                                    optimizer, key, low, high,
                                                    open_high ? ")" : "]", value));
}

// The first error of `statuses`, or OK.
absl::Status FirstError(std::initializer_list<absl::Status> statuses) {
  for (const absl::Status& status : statuses) {
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

// Constructors take options known to be valid; invalid ones end the program with the reason
// (Create returns it instead).
template <typename Options>
const Options& RequireValid(const Options& options, const char* optimizer) {
  if (absl::Status status = options.Validate(); !status.ok()) {
    std::fprintf(stderr,
                 "autograd::%s: invalid options: %s (construct it with %s::Create(options) to get "
                 "this as an error instead)\n",
                 optimizer, std::string(status.message()).c_str(), optimizer);
    std::abort();
  }
  return options;
}

template <typename Optimizer, typename Options>
absl::StatusOr<std::unique_ptr<Optimizer>> CreateChecked(const Options& options) {
  if (absl::Status status = options.Validate(); !status.ok()) return status;
  return std::make_unique<Optimizer>(options);
}

// Keras' optimizer_v2 _transform_gradients: clipvalue, then clipnorm, then global_clipnorm, on
// the gradients there are (a parameter without one is not counted). The arithmetic is
// TensorFlow's: clip_by_value, clip_by_norm (g * c / max(norm, c)) and clip_by_global_norm
// (g * c min(1 / norm, 1 / c), NaN everywhere when the norm is not finite); norms are summed in
// double.
void ClipGradients(const std::vector<Tensor>& parameters, const GradientClipping& clipping) {
  std::vector<Node*> nodes;
  for (const Tensor& parameter : parameters) {
    if (parameter.has_grad()) nodes.push_back(parameter.node().get());
  }
  const auto squared_norm = [](const Array& g) {
    double sum = 0;
    for (const Real value : g) sum += static_cast<double>(value) * value;
    return sum;
  };
  if (clipping.clipvalue) {
    const Real c = *clipping.clipvalue;
    for (Node* node : nodes) node->grad = xt::clip(node->grad, -c, c);
  }
  if (clipping.clipnorm) {
    const Real c = *clipping.clipnorm;
    for (Node* node : nodes) {
      const Real norm = static_cast<Real>(std::sqrt(squared_norm(node->grad)));
      const Real divisor = std::max(norm, c);  // NaN when the norm is (as TensorFlow's maximum)
      node->grad = node->grad * c / divisor;
    }
  }
  if (clipping.global_clipnorm) {
    const Real c = *clipping.global_clipnorm;
    double sum = 0;
    for (Node* node : nodes) sum += squared_norm(node->grad);
    const Real norm = static_cast<Real>(std::sqrt(sum));
    const Real scale = c * std::min(Real(1) / norm, Real(1) / c) + (norm - norm);
    for (Node* node : nodes) node->grad *= scale;
  }
}

}  // namespace

absl::Status GradientClipping::Validate() const {
  const std::pair<const char*, const std::optional<Real>*> values[] = {
      {"clipnorm", &clipnorm}, {"clipvalue", &clipvalue}, {"global_clipnorm", &global_clipnorm}};
  for (const auto& [key, value] : values) {
    if (value->has_value() && !(std::isfinite(**value) && **value > 0)) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s expected (a finite number > 0, or unset), got (%g)", key, **value));
    }
  }
  if (clipnorm && global_clipnorm) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "expected (at most one of clipnorm and global_clipnorm, as Keras), got (clipnorm %g and "
        "global_clipnorm %g)",
        *clipnorm, *global_clipnorm));
  }
  return absl::OkStatus();
}

void Optimizer::Step(const std::vector<Tensor>& parameters) {
  ClipGradients(parameters, clipping());
  Update(parameters);
}

std::vector<std::pair<std::string, double>> Optimizer::Hyperparameters() const {
  std::vector<std::pair<std::string, double>> result;
  const GradientClipping& clip = clipping();
  if (clip.clipnorm) result.emplace_back("clipnorm", *clip.clipnorm);
  if (clip.clipvalue) result.emplace_back("clipvalue", *clip.clipvalue);
  if (clip.global_clipnorm) result.emplace_back("global_clipnorm", *clip.global_clipnorm);
  for (auto& entry : OwnHyperparameters()) result.push_back(std::move(entry));
  return result;
}

absl::Status Optimizer::SetLearningRate(Real learning_rate) {
  if (absl::Status status = CheckNonNegative(name().c_str(), "learning_rate", learning_rate);
      !status.ok()) {
    return status;
  }
  StoreLearningRate(learning_rate);
  return absl::OkStatus();
}

absl::Status SgdOptions::Validate() const {
  const char* sgd = "SGD";
  return FirstError({CheckNonNegative(sgd, "learning_rate", learning_rate),
                     CheckRange(sgd, "momentum", momentum, 0, 1), clipping.Validate()});
}

absl::Status AdamOptions::Validate() const {
  const char* adam = "Adam";
  return FirstError({CheckNonNegative(adam, "learning_rate", learning_rate),
                     CheckRange(adam, "beta_1", beta1, 0, 1, /*open_high=*/true),
                     CheckRange(adam, "beta_2", beta2, 0, 1, /*open_high=*/true),
                     CheckNonNegative(adam, "epsilon", epsilon), clipping.Validate()});
}

absl::Status RmspropOptions::Validate() const {
  const char* rmsprop = "RMSprop";
  return FirstError({CheckNonNegative(rmsprop, "learning_rate", learning_rate),
                     CheckRange(rmsprop, "rho", rho, 0, 1),
                     CheckRange(rmsprop, "momentum", momentum, 0, 1),
                     CheckNonNegative(rmsprop, "epsilon", epsilon), clipping.Validate()});
}

absl::Status AdagradOptions::Validate() const {
  const char* adagrad = "Adagrad";
  return FirstError(
      {CheckNonNegative(adagrad, "learning_rate", learning_rate),
       CheckNonNegative(adagrad, "initial_accumulator_value", initial_accumulator_value),
       CheckNonNegative(adagrad, "epsilon", epsilon), clipping.Validate()});
}

Sgd::Sgd(SgdOptions options) : options_(RequireValid(options, "Sgd")) {}
Adam::Adam(AdamOptions options) : options_(RequireValid(options, "Adam")) {}
Rmsprop::Rmsprop(RmspropOptions options) : options_(RequireValid(options, "Rmsprop")) {}
Adagrad::Adagrad(AdagradOptions options) : options_(RequireValid(options, "Adagrad")) {}

absl::StatusOr<std::unique_ptr<Sgd>> Sgd::Create(SgdOptions options) {
  return CreateChecked<Sgd>(options);
}
absl::StatusOr<std::unique_ptr<Adam>> Adam::Create(AdamOptions options) {
  return CreateChecked<Adam>(options);
}
absl::StatusOr<std::unique_ptr<Rmsprop>> Rmsprop::Create(RmspropOptions options) {
  return CreateChecked<Rmsprop>(options);
}
absl::StatusOr<std::unique_ptr<Adagrad>> Adagrad::Create(AdagradOptions options) {
  return CreateChecked<Adagrad>(options);
}

void Sgd::Update(const std::vector<Tensor>& parameters) {
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

void Adam::Update(const std::vector<Tensor>& parameters) {
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

std::vector<std::pair<std::string, double>> Sgd::OwnHyperparameters() const {
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

std::vector<std::pair<std::string, double>> Adam::OwnHyperparameters() const {
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

void Rmsprop::Update(const std::vector<Tensor>& parameters) {
  ++iterations_;
  const Real lr = options_.learning_rate, rho = options_.rho, eps = options_.epsilon;
  const Real momentum = options_.momentum;
  const bool centered = options_.centered;
  for (const Tensor& parameter : parameters) {
    if (!parameter.has_grad()) continue;
    Node& node = *parameter.node();
    Slots& slots = slots_[&node];
    if (slots.rms.shape() != node.value.shape()) {  // a default Array is 0-d, size 1
      slots.rms = xt::zeros<Real>(node.value.shape());
      if (momentum > 0) slots.momentum = xt::zeros<Real>(node.value.shape());
      if (centered) slots.mg = xt::zeros<Real>(node.value.shape());
    }
    Real* p = node.value.data();
    const Real* g = node.grad.data();
    Real* rms = slots.rms.data();
    Real* mg = centered ? slots.mg.data() : nullptr;
    const size_t n = node.value.size();
    if (momentum > 0) {
      // TensorFlow's ApplyRMSProp / ApplyCenteredRMSProp kernels (training_ops.cc).
      Real* mom = slots.momentum.data();
      for (size_t k = 0; k < n; ++k) {
        rms[k] += (g[k] * g[k] - rms[k]) * (Real(1) - rho);
        Real denominator = rms[k] + eps;
        if (centered) {
          mg[k] += (g[k] - mg[k]) * (Real(1) - rho);
          denominator = (rms[k] - mg[k] * mg[k]) + eps;
        }
        mom[k] = mom[k] * momentum + (g[k] * lr) / std::sqrt(denominator);
        p[k] -= mom[k];
      }
    } else {
      // Keras' own Python (rmsprop.py, _resource_apply_dense without momentum).
      for (size_t k = 0; k < n; ++k) {
        rms[k] = rho * rms[k] + (Real(1) - rho) * (g[k] * g[k]);
        Real denominator = rms[k];
        if (centered) {
          mg[k] = rho * mg[k] + (Real(1) - rho) * g[k];
          denominator = rms[k] - mg[k] * mg[k];
        }
        p[k] = p[k] - lr * g[k] / (std::sqrt(denominator) + eps);
      }
    }
    node.has_grad = false;
  }
}

std::vector<std::pair<std::string, double>> Rmsprop::OwnHyperparameters() const {
  return {{"learning_rate", options_.learning_rate},
          {"rho", options_.rho},
          {"momentum", options_.momentum},
          {"epsilon", options_.epsilon},
          {"centered", options_.centered ? 1.0 : 0.0}};
}

std::vector<std::string> Rmsprop::SlotNames() const {
  std::vector<std::string> names = {"rms"};
  if (options_.momentum > 0) names.push_back("momentum");
  if (options_.centered) names.push_back("mg");
  return names;
}

OptimizerState Rmsprop::GetState(const std::vector<Tensor>& parameters) const {
  OptimizerState state;
  state.iterations = iterations_;
  state.slot_names = SlotNames();
  state.slots.resize(state.slot_names.size());
  for (const Tensor& parameter : parameters) {
    size_t kind = 0;
    state.slots[kind++].push_back(SlotOrZeros(slots_, *parameter.node(), &Slots::rms));
    if (options_.momentum > 0) {
      state.slots[kind++].push_back(SlotOrZeros(slots_, *parameter.node(), &Slots::momentum));
    }
    if (options_.centered) {
      state.slots[kind++].push_back(SlotOrZeros(slots_, *parameter.node(), &Slots::mg));
    }
  }
  return state;
}

absl::Status Rmsprop::SetState(const std::vector<Tensor>& parameters, const OptimizerState& state) {
  const std::vector<std::string> names = SlotNames();
  if (absl::Status status = CheckState(parameters, state, names, "RMSprop"); !status.ok()) {
    return status;
  }
  iterations_ = state.iterations;
  slots_.clear();
  for (size_t p = 0; p < parameters.size(); ++p) {
    Slots& slots = slots_[parameters[p].node().get()];
    size_t kind = 0;
    slots.rms = state.slots[kind++][p];
    if (options_.momentum > 0) slots.momentum = state.slots[kind++][p];
    if (options_.centered) slots.mg = state.slots[kind++][p];
  }
  return absl::OkStatus();
}

void Adagrad::Update(const std::vector<Tensor>& parameters) {
  ++iterations_;
  const Real lr = options_.learning_rate, eps = options_.epsilon;
  for (const Tensor& parameter : parameters) {
    if (!parameter.has_grad()) continue;
    Node& node = *parameter.node();
    Array& accumulator = accumulators_[&node];
    if (accumulator.shape() != node.value.shape()) {  // a default Array is 0-d, size 1
      accumulator = xt::full_like(node.value, options_.initial_accumulator_value);
    }
    // TensorFlow's ApplyAdagradV2 kernel (training_ops.cc).
    Real* p = node.value.data();
    Real* acc = accumulator.data();
    const Real* g = node.grad.data();
    for (size_t k = 0, n = node.value.size(); k < n; ++k) {
      acc[k] += g[k] * g[k];
      p[k] -= g[k] * lr / (std::sqrt(acc[k]) + eps);
    }
    node.has_grad = false;
  }
}

std::vector<std::pair<std::string, double>> Adagrad::OwnHyperparameters() const {
  return {{"learning_rate", options_.learning_rate},
          {"initial_accumulator_value", options_.initial_accumulator_value},
          {"epsilon", options_.epsilon}};
}

OptimizerState Adagrad::GetState(const std::vector<Tensor>& parameters) const {
  OptimizerState state;
  state.iterations = iterations_;
  state.slot_names = {"accumulator"};
  state.slots.resize(1);
  for (const Tensor& parameter : parameters) {
    auto it = accumulators_.find(parameter.node().get());
    state.slots[0].push_back(
        it != accumulators_.end() && it->second.shape() == parameter.value().shape()
            ? it->second
            : Array(xt::full_like(parameter.value(), options_.initial_accumulator_value)));
  }
  return state;
}

absl::Status Adagrad::SetState(const std::vector<Tensor>& parameters, const OptimizerState& state) {
  if (absl::Status status = CheckState(parameters, state, {"accumulator"}, "Adagrad");
      !status.ok()) {
    return status;
  }
  iterations_ = state.iterations;
  accumulators_.clear();
  for (size_t p = 0; p < parameters.size(); ++p) {
    accumulators_[parameters[p].node().get()] = state.slots[0][p];
  }
  return absl::OkStatus();
}

}  // namespace autograd
