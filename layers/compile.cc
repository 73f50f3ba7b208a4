#include "layers/compile.h"

#include <algorithm>
#include <iterator>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "autograd/elementwise.h"
#include "autograd/losses.h"
#include "autograd/reductions.h"

namespace layers {
namespace {

// binary_crossentropy on a sigmoid output works from the logits, as tf.keras (autograd/losses.h).
const LossEntry kLosses[] = {
    {"binary_crossentropy", autograd::BinaryCrossentropy, AccuracyKind::kBinary},
    {"categorical_crossentropy", autograd::CategoricalCrossentropy, AccuracyKind::kCategorical},
    {"sparse_categorical_crossentropy", autograd::SparseCategoricalCrossentropy,
     AccuracyKind::kSparseCategorical, /*sparse_targets=*/true},
    {"mse", autograd::MeanSquaredError, AccuracyKind::kBinary},
};

// The metrics, by the names Keras accepts; Keras reports each under the name it was given.
constexpr const char* kAccuracyNames[] = {"acc", "accuracy"};

}  // namespace

absl::StatusOr<LossEntry> FindLoss(const std::string& name) {
  std::vector<std::string> known;
  for (const LossEntry& candidate : kLosses) {
    if (name == candidate.name) return candidate;
    known.push_back(candidate.name);
  }
  return absl::InvalidArgumentError(
      absl::StrFormat("unknown loss '%s' (expected %s)", name, absl::StrJoin(known, ", ")));
}

absl::StatusOr<MetricSettings> FindMetrics(const std::vector<std::string>& metrics) {
  MetricSettings settings;
  for (const std::string& metric : metrics) {
    if (std::find(std::begin(kAccuracyNames), std::end(kAccuracyNames), metric) ==
        std::end(kAccuracyNames)) {
      return absl::InvalidArgumentError(absl::StrFormat("unknown metric '%s' (expected %s)", metric,
                                                        absl::StrJoin(kAccuracyNames, ", ")));
    }
    settings.accuracy = true;
    settings.accuracy_name = metric;
  }
  return settings;
}

AccuracySums Accuracy(AccuracyKind kind, const Array& predictions, const Array& targets,
                      const Array* mask) {
  using autograd::Real;
  const size_t classes = predictions.shape().back();
  const size_t rows = predictions.size() / classes;
  const Real* weights = mask ? mask->data() : nullptr;
  AccuracySums sums;
  const Real* p = predictions.data();
  const Real* y = targets.data();
  const size_t target_step = kind == AccuracyKind::kSparseCategorical ? 1 : classes;
  for (size_t r = 0; r < rows; ++r, p += classes, y += target_step) {
    const double weight = weights != nullptr ? weights[r] : 1.0;
    if (weight == 0) continue;
    double right = 0;
    if (kind == AccuracyKind::kSparseCategorical) {
      right = static_cast<Real>(std::max_element(p, p + classes) - p) == *y;
    } else if (kind == AccuracyKind::kCategorical) {
      right = std::max_element(p, p + classes) - p == std::max_element(y, y + classes) - y;
    } else {
      // Keras' binary_accuracy: the fraction of outputs on the right side of 0.5.
      for (size_t k = 0; k < classes; ++k) right += (p[k] > Real(0.5)) == (y[k] > Real(0.5));
      right /= static_cast<double>(classes);
    }
    sums.correct += weight * right;
    sums.weight += weight;
  }
  return sums;
}

}  // namespace layers
