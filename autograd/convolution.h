// One-dimensional convolution and max pooling over sequences [batch, time, channels].
#ifndef AUTOGRAD_CONVOLUTION_H_
#define AUTOGRAD_CONVOLUTION_H_

#include "autograd/tensor.h"

namespace autograd {

enum class Padding { kValid, kSame };

// Keras Conv1D without bias, stride 1:
//   x: [batch, time, in_channels], kernel: [kernel_size, in_channels, filters]
//   -> [batch, out_time, filters], out_time = time (kSame; zero padding of (k - 1) / 2 before
//      and the rest after, as Keras/TensorFlow) or time - k + 1 (kValid).
// out[b, t, f] = sum_{j, c} x[b, t + j - pad_before, c] * kernel[j, c, f].
// kernel_size GEMMs over the zero-padded input each way (see convolution.cc), no im2col copy.
Tensor Conv1D(const Tensor& x, const Tensor& kernel, Padding padding);
// The same plus a bias [filters] on every output step and, with `relu`, max(0, .) after it: one op,
// one pass over the output each way, instead of three ops (Keras Conv1D with use_bias and an
// activation).
Tensor Conv1D(const Tensor& x, const Tensor& kernel, const Tensor& bias, Padding padding,
              bool relu);

// Keras MaxPooling1D with strides = pool_size, padding "valid":
//   x: [batch, time, channels] -> [batch, time / pool_size (rounded down), channels].
// The gradient goes to the first maximum of each window.
Tensor MaxPool1D(const Tensor& x, size_t pool_size);

}  // namespace autograd

#endif  // AUTOGRAD_CONVOLUTION_H_
