// Optimizers: update parameters from their accumulated gradients, then clear the gradients.
#ifndef AUTOGRAD_OPTIMIZERS_H_
#define AUTOGRAD_OPTIMIZERS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "autograd/tensor.h"

namespace autograd {

// What an optimizer carries from one step to the next (Keras' optimizer.weights), so that
// training can stop and resume exactly: the step count and, for each kind of slot ("m", "v",
// "momentum"), one array per parameter, shaped as the parameter.
struct OptimizerState {
  int64_t iterations = 0;
  std::vector<std::string> slot_names;
  std::vector<std::vector<Array>> slots;  // slots[kind][parameter]
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  // One update of every parameter that has a gradient; gradients are zeroed afterwards.
  virtual void Step(const std::vector<Tensor>& parameters) = 0;
  // Keras' class name ("Adam", "SGD").
  virtual std::string name() const = 0;
  // The hyper-parameters under Keras' config names ("learning_rate", "beta_1", ...).
  virtual std::vector<std::pair<std::string, double>> Hyperparameters() const = 0;
  // The state for `parameters` (slots a parameter has not needed yet are zeros).
  virtual OptimizerState GetState(const std::vector<Tensor>& parameters) const = 0;
  // Replaces the state; the slot names, the number of arrays and every shape must match
  // `parameters`, else an error "expected (...), got (...)" and nothing changes.
  virtual absl::Status SetState(const std::vector<Tensor>& parameters,
                                const OptimizerState& state) = 0;
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
  std::vector<std::pair<std::string, double>> Hyperparameters() const override;
  OptimizerState GetState(const std::vector<Tensor>& parameters) const override;
  absl::Status SetState(const std::vector<Tensor>& parameters,
                        const OptimizerState& state) override;

 private:
  SgdOptions options_;
  int64_t iterations_ = 0;
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
  std::vector<std::pair<std::string, double>> Hyperparameters() const override;
  OptimizerState GetState(const std::vector<Tensor>& parameters) const override;
  absl::Status SetState(const std::vector<Tensor>& parameters,
                        const OptimizerState& state) override;
  int64_t iterations() const { return iterations_; }

 private:
  struct Moments {
    Array m, v;
  };
  AdamOptions options_;
  int64_t iterations_ = 0;
  std::unordered_map<const Node*, Moments> moments_;
};

}  // namespace autograd

#endif  // AUTOGRAD_OPTIMIZERS_H_
