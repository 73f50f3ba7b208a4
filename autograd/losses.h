// Softmax and the losses, with Keras' semantics: cross-entropies and the mean squared error.
#ifndef AUTOGRAD_LOSSES_H_
#define AUTOGRAD_LOSSES_H_

#include "autograd/tensor.h"

namespace autograd {

// weights (optional, every loss below): one weight per loss term, of the predictions' shape
// without the last axis ([batch, time] for sequences): Keras' sample_weight, through which a mask
// reaches the loss. Each term is multiplied by its weight and the divisor stays the number of
// terms, masked ones included, as tf.keras 2's SUM_OVER_BATCH_SIZE reduction does
// (losses_utils.compute_weighted_loss). binary_crossentropy's terms are the means over the last
// axis, so every element of a row takes the row's weight.

// Keras' epsilon: probabilities are clipped to [kEpsilon, 1 - kEpsilon] before taking logs.
inline constexpr Real kEpsilon = static_cast<Real>(1e-7);

// exp(x) / sum(exp(x)) along `axis` (default: the last); same shape as x.
Tensor Softmax(const Tensor& x, int axis = -1);

// Keras' binary_crossentropy, averaged over every element: predictions p (any shape) and targets
// y (same shape, values in [0, 1]) -> scalar mean of -(y log p' + (1 - y) log(1 - p')), where
// p' = clip(p, eps, 1 - eps). Where clipping is active the gradient is zero, as in Keras. When a
// Sigmoid made the predictions (possibly reshaped), this is SigmoidBinaryCrossentropy of its
// input, as tf.keras does.
Tensor BinaryCrossentropy(const Tensor& predictions, const Array& targets,
                          const Array* weights = nullptr);

// binary_crossentropy of sigmoid(logits), computed from the logits: exact and unclipped, the mean
// of max(z, 0) - z y + log(1 + exp(-|z|)); the gradient is (sigmoid(z) - y) / count, so a confident
// wrong prediction still gets a gradient (the clipped form gives it none).
Tensor SigmoidBinaryCrossentropy(const Tensor& logits, const Array& targets,
                                 const Array* weights = nullptr);

// Keras' categorical_crossentropy: predictions [..., classes] (rows are renormalised to sum to 1,
// then clipped), one-hot targets of the same shape -> scalar mean over rows of
// -sum(y log p') along the last axis.
Tensor CategoricalCrossentropy(const Tensor& predictions, const Array& targets,
                               const Array* weights = nullptr);

// Keras' sparse_categorical_crossentropy: predictions [..., classes] and integer class targets
// with one axis fewer ([...]; Keras' [..., 1] is accepted too) -> scalar mean over rows of
// -log(p'[y] / sum(p')), p' = clip(p, eps, 1 - eps): keras.backend's non-logits path (clip, log,
// then sparse_softmax_cross_entropy_with_logits), so rows are renormalised after clipping. Where
// clipping is active the gradient is zero. (Keras 2.11 works from the logits when a softmax made
// the predictions; like CategoricalCrossentropy here, this uses the probabilities: the same
// numbers while every probability is above 1e-7.) A target that is not a whole number in
// [0, classes) throws std::out_of_range naming it and its position (Keras casts 1.5 to 1, and
// TensorFlow refuses a class out of range).
Tensor SparseCategoricalCrossentropy(const Tensor& predictions, const Array& targets,
                                     const Array* weights = nullptr);

// Keras' mean_squared_error ("mse"): predictions and targets of the same shape -> scalar mean of
// (p - y)^2 over every element; with weights each row's squares (the last axis) take its weight,
// the divisor staying the count of all elements.
Tensor MeanSquaredError(const Tensor& predictions, const Array& targets,
                        const Array* weights = nullptr);

}  // namespace autograd

#endif  // AUTOGRAD_LOSSES_H_
