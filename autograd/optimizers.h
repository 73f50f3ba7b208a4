// Optimizers: update parameters from their accumulated gradients, then clear the gradients.
#ifndef AUTOGRAD_OPTIMIZERS_H_
#define AUTOGRAD_OPTIMIZERS_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "autograd/tensor.h"

namespace autograd {

// The optimizers follow tf.keras 2.11's optimizer_v2 (keras/optimizers/optimizer_v2/*.py, also
// tf.keras.optimizers.legacy.*), not its experimental optimizers (optimizer_experimental/*.py),
// because the model files this library writes hold optimizer_v2's: an optimizer_config with
// "decay" and without "is_legacy_optimizer", which Keras 2.11 reads back as an optimizer_v2
// (keras/optimizers/__init__.py, deserialize), and optimizer_weights named as optimizer_v2 names
// them ("Adam/iter:0", then every weight's slots), which Keras sets into that optimizer by order
// (keras/saving/legacy/hdf5_format.py). So the slot names ("m", "v", "momentum", "rms", "mg",
// "accumulator") and their order, the update formulas (where RMSprop and Adagrad put epsilon)
// and the clipping order are optimizer_v2's.
// One difference: Keras turns an epsilon of 0 into 1e-7 (`epsilon or backend_config.epsilon()`);
// here 0 is used as given.

// What an optimizer carries from one step to the next (Keras' optimizer.weights), so that
// training can stop and resume exactly: the step count and, for each kind of slot ("m", "v",
// "momentum", ...), one array per parameter, shaped as the parameter.
struct OptimizerState {
  int64_t iterations = 0;
  std::vector<std::string> slot_names;
  std::vector<std::vector<Array>> slots;  // slots[kind][parameter]
};

// Keras' gradient clipping, which every optimizer takes (optimizer_v2.py, OptimizerV2.__init__
// and _transform_gradients). Unset (std::nullopt, Keras' None) is off. Applied after the
// gradients are complete (after a data-parallel allreduce), in Keras' order: clipvalue, then
// clipnorm or global_clipnorm.
struct GradientClipping {
  // Each gradient g scaled to an L2 norm of at most this: g * clipnorm / max(|g|, clipnorm)
  // (tf.clip_by_norm).
  std::optional<Real> clipnorm;
  // Each element of each gradient clipped to [-clipvalue, clipvalue] (tf.clip_by_value).
  std::optional<Real> clipvalue;
  // Every gradient scaled by the same factor so that the L2 norm of all of them together is at
  // most this: g * global_clipnorm * min(1 / norm, 1 / global_clipnorm) (tf.clip_by_global_norm;
  // a NaN or infinite norm makes every gradient NaN, as there).
  std::optional<Real> global_clipnorm;

  // Each value set must be finite and > 0 (Keras accepts 0, which zeroes every gradient, or makes
  // it NaN where it is already 0); clipnorm and global_clipnorm cannot both be set (Keras:
  // "Cannot accept both `clipnorm` and `global_clipnorm`"). Errors say "expected (...), got (...)".
  absl::Status Validate() const;
};

// Options are plain structs (Keras' keyword arguments); each has Validate(). An optimizer built
// through its Create(options) returns Validate's error; its constructor is for options known to
// be valid (literals in code) and aborts with that message otherwise. Model files go through
// Create, so a bad optimizer_config is an error, never an abort.
class Optimizer {
 public:
  virtual ~Optimizer() = default;
  // One update of every parameter that has a gradient: the gradients are clipped (clipping()),
  // then applied, then cleared. Parameters without a gradient are left alone and do not count in
  // global_clipnorm's norm (Keras drops None gradients first).
  void Step(const std::vector<Tensor>& parameters);
  // Keras' class name ("Adam", "SGD", "RMSprop", "Adagrad").
  virtual std::string name() const = 0;
  // The hyper-parameters under Keras' config names: clipnorm, clipvalue and global_clipnorm first
  // and only those that are set (optimizer_v2's get_config leaves the others out), then the
  // optimizer's own ("learning_rate", "beta_1", ...); a flag (RMSprop's "centered") is 0 or 1.
  std::vector<std::pair<std::string, double>> Hyperparameters() const;
  // Keras' optimizer.learning_rate, which callbacks may change (ReduceLROnPlateau); the new rate
  // must be finite and >= 0, else an error and nothing changes. Saved with the model as it is.
  virtual Real learning_rate() const = 0;
  absl::Status SetLearningRate(Real learning_rate);
  // The gradient clipping of its options.
  virtual const GradientClipping& clipping() const = 0;
  // The state for `parameters` (slots a parameter has not needed yet hold their initial value:
  // zeros, or Adagrad's initial_accumulator_value).
  virtual OptimizerState GetState(const std::vector<Tensor>& parameters) const = 0;
  // Replaces the state; the slot names, the number of arrays and every shape must match
  // `parameters`, else an error "expected (...), got (...)" and nothing changes.
  virtual absl::Status SetState(const std::vector<Tensor>& parameters,
                                const OptimizerState& state) = 0;

 protected:
  // The update itself, from the clipped gradients of the parameters that have one; clears them.
  virtual void Update(const std::vector<Tensor>& parameters) = 0;
  virtual std::vector<std::pair<std::string, double>> OwnHyperparameters() const = 0;
  virtual void StoreLearningRate(Real learning_rate) = 0;
};

// Plain (optionally momentum) gradient descent, Keras' defaults: learning rate 0.01, momentum 0.
//   velocity = momentum velocity - lr g;  p += velocity  (plain: p -= lr g).
struct SgdOptions {
  Real learning_rate = Real(0.01);
  Real momentum = Real(0);
  GradientClipping clipping;
  // learning_rate finite and >= 0, momentum in [0, 1] (Keras), the clipping.
  absl::Status Validate() const;
};

class Sgd : public Optimizer {
 public:
  explicit Sgd(SgdOptions options = {});
  static absl::StatusOr<std::unique_ptr<Sgd>> Create(SgdOptions options = {});
  std::string name() const override { return "SGD"; }
  Real learning_rate() const override { return options_.learning_rate; }
  const GradientClipping& clipping() const override { return options_.clipping; }
  OptimizerState GetState(const std::vector<Tensor>& parameters) const override;
  absl::Status SetState(const std::vector<Tensor>& parameters,
                        const OptimizerState& state) override;

 protected:
  void Update(const std::vector<Tensor>& parameters) override;
  std::vector<std::pair<std::string, double>> OwnHyperparameters() const override;
  void StoreLearningRate(Real learning_rate) override { options_.learning_rate = learning_rate; }

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
  GradientClipping clipping;
  // learning_rate and epsilon finite and >= 0, the betas in [0, 1), the clipping.
  absl::Status Validate() const;
};

class Adam : public Optimizer {
 public:
  explicit Adam(AdamOptions options = {});
  static absl::StatusOr<std::unique_ptr<Adam>> Create(AdamOptions options = {});
  std::string name() const override { return "Adam"; }
  Real learning_rate() const override { return options_.learning_rate; }
  const GradientClipping& clipping() const override { return options_.clipping; }
  OptimizerState GetState(const std::vector<Tensor>& parameters) const override;
  absl::Status SetState(const std::vector<Tensor>& parameters,
                        const OptimizerState& state) override;
  int64_t iterations() const { return iterations_; }

 protected:
  void Update(const std::vector<Tensor>& parameters) override;
  std::vector<std::pair<std::string, double>> OwnHyperparameters() const override;
  void StoreLearningRate(Real learning_rate) override { options_.learning_rate = learning_rate; }

 private:
  struct Moments {
    Array m, v;
  };
  AdamOptions options_;
  int64_t iterations_ = 0;
  std::unordered_map<const Node*, Moments> moments_;
};

// Keras' RMSprop (optimizer_v2/rmsprop.py), defaults learning rate 0.001, rho 0.9, momentum 0,
// epsilon 1e-7, not centered. Slots, in Keras' order: "rms" (the mean square), "momentum" (only
// with momentum > 0), "mg" (the mean gradient; only when centered). Without momentum (Python):
//   rms = rho rms + (1 - rho) g^2;  [centered: mg = rho mg + (1 - rho) g;  d = rms - mg^2]
//   p -= lr g / (sqrt(d) + epsilon)                        (d = rms when not centered)
// With momentum Keras calls TensorFlow's ResourceApply(Centered)RMSProp, where epsilon moves
// inside the root:
//   rms += (g^2 - rms)(1 - rho);  [centered: mg += (g - mg)(1 - rho);  d = rms - mg^2]
//   momentum_slot = momentum momentum_slot + lr g / sqrt(d + epsilon);  p -= momentum_slot.
// (PyTorch's RMSprop agrees without momentum; with momentum it keeps epsilon outside the root.)
struct RmspropOptions {
  Real learning_rate = Real(0.001);
  Real rho = Real(0.9);
  Real momentum = Real(0);
  Real epsilon = Real(1e-7);
  bool centered = false;
  GradientClipping clipping;
  // learning_rate and epsilon finite and >= 0, rho in [0, 1], momentum in [0, 1] (Keras), the
  // clipping.
  absl::Status Validate() const;
};

class Rmsprop : public Optimizer {
 public:
  explicit Rmsprop(RmspropOptions options = {});
  static absl::StatusOr<std::unique_ptr<Rmsprop>> Create(RmspropOptions options = {});
  std::string name() const override { return "RMSprop"; }
  Real learning_rate() const override { return options_.learning_rate; }
  const GradientClipping& clipping() const override { return options_.clipping; }
  OptimizerState GetState(const std::vector<Tensor>& parameters) const override;
  absl::Status SetState(const std::vector<Tensor>& parameters,
                        const OptimizerState& state) override;

 protected:
  void Update(const std::vector<Tensor>& parameters) override;
  std::vector<std::pair<std::string, double>> OwnHyperparameters() const override;
  void StoreLearningRate(Real learning_rate) override { options_.learning_rate = learning_rate; }

 private:
  struct Slots {
    Array rms, momentum, mg;
  };
  // The slot names this configuration keeps, in Keras' order.
  std::vector<std::string> SlotNames() const;
  RmspropOptions options_;
  int64_t iterations_ = 0;
  std::unordered_map<const Node*, Slots> slots_;
};

// Keras' Adagrad (optimizer_v2/adagrad.py; TensorFlow's ResourceApplyAdagradV2), defaults
// learning rate 0.001, initial_accumulator_value 0.1, epsilon 1e-7. One slot, "accumulator",
// starting at initial_accumulator_value:
//   accumulator += g^2;  p -= lr g / (sqrt(accumulator) + epsilon)
// (PyTorch's Adagrad computes the same, given initial_accumulator_value and eps.)
struct AdagradOptions {
  Real learning_rate = Real(0.001);
  Real initial_accumulator_value = Real(0.1);
  Real epsilon = Real(1e-7);
  GradientClipping clipping;
  // learning_rate, initial_accumulator_value (Keras) and epsilon finite and >= 0, the clipping.
  absl::Status Validate() const;
};

class Adagrad : public Optimizer {
 public:
  explicit Adagrad(AdagradOptions options = {});
  static absl::StatusOr<std::unique_ptr<Adagrad>> Create(AdagradOptions options = {});
  std::string name() const override { return "Adagrad"; }
  Real learning_rate() const override { return options_.learning_rate; }
  const GradientClipping& clipping() const override { return options_.clipping; }
  OptimizerState GetState(const std::vector<Tensor>& parameters) const override;
  absl::Status SetState(const std::vector<Tensor>& parameters,
                        const OptimizerState& state) override;

 protected:
  void Update(const std::vector<Tensor>& parameters) override;
  std::vector<std::pair<std::string, double>> OwnHyperparameters() const override;
  void StoreLearningRate(Real learning_rate) override { options_.learning_rate = learning_rate; }

 private:
  AdagradOptions options_;
  int64_t iterations_ = 0;
  std::unordered_map<const Node*, Array> accumulators_;
};

}  // namespace autograd

#endif  // AUTOGRAD_OPTIMIZERS_H_
