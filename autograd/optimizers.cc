#include "autograd/optimizers.h"

#include <cmath>

#include "autograd/vector_math.h"
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
    vector_math::AdamUpdate(node.value.data(), moments.m.data(), moments.v.data(),
                            node.grad.data(), node.value.size(), lr_t, b1, b2, eps);
    node.has_grad = false;
  }
}

}  // namespace autograd
