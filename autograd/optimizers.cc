#include "autograd/optimizers.h"

#include <cmath>

#include "xtensor/xbuilder.hpp"
#include "xtensor/xmath.hpp"

namespace autograd {

void Sgd::Step(const std::vector<Tensor>& parameters) {
  for (const Tensor& parameter : parameters) {
    if (!parameter.has_grad()) continue;
    Node& node = *parameter.node();
    if (options_.momentum == Real(0)) {
      node.value -= options_.learning_rate * node.grad;
    } else {
      Array& velocity = velocity_[&node];
      if (velocity.size() != node.value.size()) velocity = xt::zeros<Real>(node.value.shape());
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
    if (moments.m.size() != node.value.size()) {
      moments.m = xt::zeros<Real>(node.value.shape());
      moments.v = xt::zeros<Real>(node.value.shape());
    }
    // One pass over raw buffers: this runs for every parameter at every step.
    Real* p = node.value.data();
    Real* m = moments.m.data();
    Real* v = moments.v.data();
    const Real* g = node.grad.data();
    for (size_t k = 0, n = node.value.size(); k < n; ++k) {
      m[k] = b1 * m[k] + (Real(1) - b1) * g[k];
      v[k] = b2 * v[k] + (Real(1) - b2) * g[k] * g[k];
      p[k] -= lr_t * m[k] / (std::sqrt(v[k]) + eps);
    }
    node.has_grad = false;
  }
}

}  // namespace autograd
