// Optimizers: update parameters from their accumulated gradients, then clear the gradients.
#ifndef AUTOGRAD_OPTIMIZERS_H_
#define AUTOGRAD_OPTIMIZERS_H_

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "autograd/tensor.h"

namespace autograd {

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  // One update of every parameter that has a gradient; gradients are zeroed afterwards.
  virtual void Step(const std::vector<Tensor>& parameters) = 0;
  virtual std::string name() const = 0;
};

// Plain (optionally momentum) gradient descent, Keras' defaults: learning rate 0.01, momentum 0.
struct SgdOptions {
  Real learning_rate = Real(0.01);
  Real momentum = Real(0);
};

class Sgd : public Optimizer {
 public:
  explicit Sgd(SgdOptions options = {}) : options_(options) {}
  void Step(const std::vector<Tensor>& parameters) override;
  std::string name() const override { return "SGD"; }

 private:
  SgdOptions options_;
  std::unordered_map<const Node*, Array> velocity_;
};

// Keras' Adam defaults and update:
//   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
//   lr_t = lr sqrt(1 - b2^t) / (1 - b1^t);  p -= lr_t m / (sqrt(v) + epsilon).
struct AdamOptions {
  Real learning_rate = Real(0.001);
  Real beta1 = Real(0.9);
  Real beta2 = Real(0.999);
  Real epsilon = Real(1e-7);
};

class Adam : public Optimizer {
 public:
  explicit Adam(AdamOptions options = {}) : options_(options) {}
  void Step(const std::vector<Tensor>& parameters) override;
  std::string name() const override { return "Adam"; }
  long iterations() const { return iterations_; }

 private:
  struct Moments {
    Array m, v;
  };
  AdamOptions options_;
  long iterations_ = 0;
  std::unordered_map<const Node*, Moments> moments_;
};

}  // namespace autograd

#endif  // AUTOGRAD_OPTIMIZERS_H_
