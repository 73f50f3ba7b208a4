#include "autograd/convolution.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "absl/strings/str_format.h"
#include "autograd/blas.h"
#include "xtensor/xbuilder.hpp"

namespace autograd {
namespace {

// The convolution runs on x padded with zeros in time: [batch, padded_time, channels], where
// padded_time = out_time + kernel_size - 1. Row r of the padded input and row r of an output
// laid out with the same padded stride are then related by a constant shift: output row r takes
// rows r + j (j < kernel_size) of the input. So the whole convolution is kernel_size GEMMs over
// all rows at once, each adding (input shifted by j) @ kernel[j]; output rows past out_time in
// each sequence mix two sequences and are dropped. No unfolded [rows, kernel_size * channels]
// copy of the input (im2col) is made, and the result is exact (nothing added, then taken away).
// Elementwise passes over more values than this are split over the compute threads.
constexpr size_t kParallelElements = 1 << 16;

struct ConvGeometry {
  size_t batch, time, channels, kernel_size, filters, out_time, pad_before, padded_time;
  size_t PaddedRows() const { return batch * padded_time; }
  // Rows of the padded output that the shifted GEMMs compute (the last sequence needs no more).
  size_t ComputedRows() const { return PaddedRows() - (kernel_size - 1); }
};

// x [batch, time, channels] -> [batch, padded_time, channels] with zeros around each sequence.
Array PadInTime(const Real* x, const ConvGeometry& g) {
  Array padded = Array::from_shape({g.batch, g.padded_time, g.channels});
  const size_t row = g.channels, after = g.padded_time - g.pad_before - g.time;
#pragma omp parallel for if (g.batch * g.time * row > kParallelElements)
  for (size_t b = 0; b < g.batch; ++b) {
    Real* out = padded.data() + b * g.padded_time * row;
    std::memset(out, 0, g.pad_before * row * sizeof(Real));
    std::memcpy(out + g.pad_before * row, x + b * g.time * row, g.time * row * sizeof(Real));
    std::memset(out + (g.pad_before + g.time) * row, 0, after * row * sizeof(Real));
  }
  return padded;
}

// Per sequence, rows [first, first + count) of a [batch, from_time, width] buffer to rows
// [0, count) of a [batch, to_time, width] one (the rest of each destination sequence untouched).
void CopySequenceRows(const Real* from, size_t from_time, size_t first, size_t count, Real* to,
                      size_t to_time, size_t batch, size_t width) {
#pragma omp parallel for if (batch * count * width > kParallelElements)
  for (size_t b = 0; b < batch; ++b) {
    std::memcpy(to + b * to_time * width, from + (b * from_time + first) * width,
                count * width * sizeof(Real));
  }
}

// Conv1D with an optional bias and ReLU, all in one op: the bias and the activation are applied in
// the pass that compacts the output, and backward masks the gradient in one pass too.
Tensor Conv1DImpl(const Tensor& x, const Tensor& kernel, const Tensor* bias, Padding padding,
                  bool relu) {
  if (x.dim() != 3 || kernel.dim() != 3 || kernel.size(1) != x.size(2)) {
    throw ShapeError(absl::StrFormat(
        "Conv1D: expected x [batch, time, channels] and kernel [kernel_size, channels, filters], "
        "got %s and %s",
        ShapeString(x.shape()), ShapeString(kernel.shape())));
  }
  ConvGeometry g{x.size(0), x.size(1), x.size(2), kernel.size(0), kernel.size(2), 0, 0, 0};
  if (bias != nullptr && bias->shape() != Shape{g.filters}) {
    throw ShapeError(absl::StrFormat("Conv1D: bias expected shape %s, got %s",
                                     ShapeString({g.filters}), ShapeString(bias->shape())));
  }
  if (g.kernel_size == 0) throw ShapeError("Conv1D: kernel_size must be positive");
  if (padding == Padding::kSame) {
    g.out_time = g.time;
    g.pad_before = (g.kernel_size - 1) / 2;
  } else {
    if (g.kernel_size > g.time) {
      throw ShapeError(absl::StrFormat("Conv1D: kernel size %d is longer than the %d steps of %s",
                                       g.kernel_size, g.time, ShapeString(x.shape())));
    }
    g.out_time = g.time - g.kernel_size + 1;
  }
  g.padded_time = g.out_time + g.kernel_size - 1;
  const size_t C = g.channels, F = g.filters, computed = g.batch == 0 ? 0 : g.ComputedRows();
  auto padded = std::make_shared<Array>(PadInTime(x.value().data(), g));
  // The first GEMM writes every computed row; only the k - 1 rows past them need zeros.
  Array padded_out = Array::from_shape({g.PaddedRows(), F});
  std::fill(padded_out.data() + computed * F, padded_out.data() + padded_out.size(), Real(0));
  for (size_t j = 0; j < g.kernel_size; ++j) {
    blas::Gemm(false, false, computed, F, C, Real(1), padded->data() + j * C, C,
               kernel.value().data() + j * C * F, F, j == 0 ? Real(0) : Real(1), padded_out.data(),
               F);
  }
  // Compact the kept rows, adding the bias and applying the ReLU in the same pass.
  Array out = Array::from_shape({g.batch, g.out_time, F});
  const Real* b = bias != nullptr ? bias->value().data() : nullptr;
#pragma omp parallel for if (g.batch * g.out_time * F > kParallelElements)
  for (size_t s = 0; s < g.batch; ++s) {
    for (size_t t = 0; t < g.out_time; ++t) {
      const Real* from = padded_out.data() + (s * g.padded_time + t) * F;
      Real* y = out.data() + (s * g.out_time + t) * F;
      for (size_t f = 0; f < F; ++f) {
        const Real value = from[f] + (b != nullptr ? b[f] : Real(0));
        y[f] = relu && value < Real(0) ? Real(0) : value;
      }
    }
  }
  std::vector<Tensor> inputs = {x, kernel};
  if (bias != nullptr) inputs.push_back(*bias);
  return MakeResult(std::move(out), inputs, [inputs, g, padded, relu](const Node& out) {
    const Tensor &x = inputs[0], &kernel = inputs[1];
    const size_t C = g.channels, F = g.filters, computed = g.batch == 0 ? 0 : g.ComputedRows();
    // d loss / d (pre-activation), laid out with the padded stride (zeros in the dropped rows),
    // masked by the ReLU, with the bias gradient summed in the same pass.
    Array d_padded = Array::from_shape({g.PaddedRows(), F});
    Array bias_grad = xt::zeros<Real>({F});
#pragma omp parallel if (g.batch * g.out_time * F > kParallelElements)
    {
      std::vector<Real> sums(F, Real(0));
#pragma omp for
      for (size_t s = 0; s < g.batch; ++s) {
        for (size_t t = 0; t < g.padded_time; ++t) {
          Real* d = d_padded.data() + (s * g.padded_time + t) * F;
          if (t >= g.out_time) {
            std::fill(d, d + F, Real(0));
            continue;
          }
          const Real* y = out.value.data() + (s * g.out_time + t) * F;
          const Real* dy = out.grad.data() + (s * g.out_time + t) * F;
          for (size_t f = 0; f < F; ++f) {
            d[f] = !relu || y[f] > Real(0) ? dy[f] : Real(0);
            sums[f] += d[f];
          }
        }
      }
#pragma omp critical
      for (size_t f = 0; f < F; ++f) bias_grad.data()[f] += sums[f];
    }
    if (inputs.size() > 2) AccumulateGrad(inputs[2], std::move(bias_grad), "Conv1D");
    if (kernel.requires_grad()) {
      // d kernel[j] = (input shifted by j)^T @ d_padded.
      Array grad = Array::from_shape(kernel.value().shape());
      for (size_t j = 0; j < g.kernel_size; ++j) {
        blas::Gemm(true, false, C, F, computed, Real(1), padded->data() + j * C, C, d_padded.data(),
                   F, Real(0), grad.data() + j * C * F, F);
      }
      AccumulateGrad(kernel, std::move(grad), "Conv1D");
    }
    if (x.requires_grad()) {
      // d (input shifted by j) += d_padded @ kernel[j]^T, then the padding is cropped away.
      // The first GEMM writes rows [0, computed); the rest start from zero.
      Array d_input = Array::from_shape({g.batch, g.padded_time, C});
      std::fill(d_input.data() + computed * C, d_input.data() + d_input.size(), Real(0));
      for (size_t j = 0; j < g.kernel_size; ++j) {
        blas::Gemm(false, true, computed, C, F, Real(1), d_padded.data(), F,
                   kernel.value().data() + j * C * F, F, j == 0 ? Real(0) : Real(1),
                   d_input.data() + j * C, C);
      }
      Array grad = Array::from_shape(x.value().shape());
      CopySequenceRows(d_input.data(), g.padded_time, g.pad_before, g.time, grad.data(), g.time,
                       g.batch, C);
      AccumulateGrad(x, std::move(grad), "Conv1D");
    }
  });
}

}  // namespace

Tensor Conv1D(const Tensor& x, const Tensor& kernel, Padding padding) {
  return Conv1DImpl(x, kernel, nullptr, padding, false);
}

Tensor Conv1D(const Tensor& x, const Tensor& kernel, const Tensor& bias, Padding padding,
              bool relu) {
  return Conv1DImpl(x, kernel, &bias, padding, relu);
}

Tensor MaxPool1D(const Tensor& x, size_t pool_size) {
  if (x.dim() != 3 || pool_size == 0 || pool_size > x.size(1)) {
    throw ShapeError(absl::StrFormat(
        "MaxPool1D: cannot pool %s (expected [batch, time, channels]) with pool size %d",
        ShapeString(x.shape()), pool_size));
  }
  const size_t batch = x.size(0), time = x.size(1), channels = x.size(2);
  const size_t out_time = time / pool_size;
  Array out = Array::from_shape({batch, out_time, channels});
  // For each output element, the position of the maximum within its window (first on ties).
  auto winners = std::make_shared<std::vector<uint32_t>>(out.size());
  const Real* in = x.value().data();
#pragma omp parallel for if (out.size() > kParallelElements)
  for (size_t b = 0; b < batch; ++b) {
    for (size_t t = 0; t < out_time; ++t) {
      const Real* __restrict window = in + (b * time + t * pool_size) * channels;
      Real* __restrict pooled = out.data() + (b * out_time + t) * channels;
      uint32_t* __restrict won = winners->data() + (b * out_time + t) * channels;
      for (size_t c = 0; c < channels; ++c) {
        pooled[c] = window[c];
        won[c] = 0;
      }
      for (size_t j = 1; j < pool_size; ++j) {
        const Real* __restrict candidate = window + j * channels;
        for (size_t c = 0; c < channels; ++c) {
          if (candidate[c] > pooled[c]) {
            pooled[c] = candidate[c];
            won[c] = static_cast<uint32_t>(j);
          }
        }
      }
    }
  }
  return MakeResult(std::move(out), {&x}, [x, winners, pool_size](const Node& out) {
    const size_t batch = x.size(0), time = x.size(1), channels = x.size(2);
    const size_t out_time = time / pool_size;
    // Every input element is written once: its window's gradient if it won, zero otherwise
    // (and zero for the steps past the last whole window).
    Array grad = Array::from_shape(x.value().shape());
#pragma omp parallel for if (grad.size() > kParallelElements)
    for (size_t b = 0; b < batch; ++b) {
      Real* g = grad.data() + b * time * channels;
      for (size_t t = 0; t < out_time; ++t) {
        const uint32_t* __restrict won = winners->data() + (b * out_time + t) * channels;
        const Real* __restrict dy = out.grad.data() + (b * out_time + t) * channels;
        for (size_t j = 0; j < pool_size; ++j) {
          Real* __restrict row = g + (t * pool_size + j) * channels;
          for (size_t c = 0; c < channels; ++c) row[c] = won[c] == j ? dy[c] : Real(0);
        }
      }
      std::fill(g + out_time * pool_size * channels, g + time * channels, Real(0));
    }
    AccumulateGrad(x, std::move(grad), "MaxPool1D");
  });
}

}  // namespace autograd
