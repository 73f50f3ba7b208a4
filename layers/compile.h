// What Model::Compile looks up by name: Keras' losses and metrics, each in one table.
#ifndef LAYERS_COMPILE_H_
#define LAYERS_COMPILE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "autograd/tensor.h"

namespace layers {

using autograd::Array;
using autograd::Tensor;

// Keras' accuracy for a loss: categorical_accuracy (arg max of prediction and target agree) or
// binary_accuracy (every output thresholded at 0.5).
// sparse_categorical_accuracy: the arg max of the prediction is the target's class index.
enum class AccuracyKind { kBinary, kCategorical, kSparseCategorical };

// A loss under its Keras name, with the accuracy Keras' "acc" means beside it. `loss` takes the
// output, the targets and the mask that reaches the output (null: none; autograd/losses.h).
struct LossEntry {
  std::string name;
  Tensor (*loss)(const Tensor& output, const Array& targets, const Array* weights) = nullptr;
  AccuracyKind accuracy = AccuracyKind::kBinary;
  // The targets are class indices: the output's shape without its last axis (or that axis 1).
  bool sparse_targets = false;
};

// "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy", "mse"; an
// error lists them otherwise.
absl::StatusOr<LossEntry> FindLoss(const std::string& name);

// The compiled metrics: accuracy or none, under the name it was given ("acc" or "accuracy").
struct MetricSettings {
  bool accuracy = false;
  std::string accuracy_name;
};
absl::StatusOr<MetricSettings> FindMetrics(const std::vector<std::string>& metrics);


// Accuracy of one output's batch: the sum of each row's correctness times its weight (the mask's
// value, 1 without), and the sum of the weights. Keras' accuracies are per row (the last axis).
struct AccuracySums {
  double correct = 0, weight = 0;
};
AccuracySums Accuracy(AccuracyKind kind, const Array& predictions, const Array& targets,
                      const Array* mask);

}  // namespace layers

#endif  // LAYERS_COMPILE_H_
