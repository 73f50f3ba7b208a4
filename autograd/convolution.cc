#include "autograd/convolution.h"

#include <cstring>
#include <memory>
#include <vector>

#include "absl/strings/str_format.h"
#include "autograd/blas.h"
#include "xtensor/xbuilder.hpp"

namespace autograd {
namespace {

struct ConvGeometry {
  size_t batch, time, channels, kernel_size, filters, out_time, pad_before;
};

// Unfolds x into rows of windows: [batch * out_time, kernel_size * channels], zeros outside x.
Array Unfold(const Real* x, const ConvGeometry& g) {
  const size_t window = g.kernel_size * g.channels;
  Array columns = xt::zeros<Real>({g.batch * g.out_time, window});
  for (size_t b = 0; b < g.batch; ++b) {
    for (size_t t = 0; t < g.out_time; ++t) {
      Real* row = columns.data() + (b * g.out_time + t) * window;
      for (size_t j = 0; j < g.kernel_size; ++j) {
        const long source = static_cast<long>(t + j) - static_cast<long>(g.pad_before);
        if (source < 0 || source >= static_cast<long>(g.time)) continue;
        std::memcpy(row + j * g.channels, x + (b * g.time + source) * g.channels,
                    g.channels * sizeof(Real));
      }
    }
  }
  return columns;
}

// The adjoint of Unfold: adds each window row back onto the positions it came from.
void FoldAdd(const Array& columns, const ConvGeometry& g, Real* x_grad) {
  const size_t window = g.kernel_size * g.channels;
  for (size_t b = 0; b < g.batch; ++b) {
    for (size_t t = 0; t < g.out_time; ++t) {
      const Real* row = columns.data() + (b * g.out_time + t) * window;
      for (size_t j = 0; j < g.kernel_size; ++j) {
        const long source = static_cast<long>(t + j) - static_cast<long>(g.pad_before);
        if (source < 0 || source >= static_cast<long>(g.time)) continue;
        Real* target = x_grad + (b * g.time + source) * g.channels;
        for (size_t c = 0; c < g.channels; ++c) target[c] += row[j * g.channels + c];
      }
    }
  }
}

}  // namespace

Tensor Conv1D(const Tensor& x, const Tensor& kernel, Padding padding) {
  if (x.dim() != 3 || kernel.dim() != 3 || kernel.size(1) != x.size(2)) {
    throw ShapeError(absl::StrFormat(
        "Conv1D: expected x [batch, time, channels] and kernel [kernel_size, channels, filters], "
        "got %s and %s",
        ShapeString(x.shape()), ShapeString(kernel.shape())));
  }
  ConvGeometry g{x.size(0), x.size(1), x.size(2), kernel.size(0), kernel.size(2), 0, 0};
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
  const size_t window = g.kernel_size * g.channels, rows = g.batch * g.out_time;
  auto columns = std::make_shared<Array>(Unfold(x.value().data(), g));
  Array out = Array::from_shape({g.batch, g.out_time, g.filters});
  blas::Gemm(false, false, rows, g.filters, window, Real(1), columns->data(), window,
             kernel.value().data(), g.filters, Real(0), out.data(), g.filters);
  return MakeResult(std::move(out), {&x, &kernel}, [x, kernel, g, columns](const Node& out) {
    const size_t window = g.kernel_size * g.channels, rows = g.batch * g.out_time;
    if (kernel.requires_grad()) {
      Array grad = Array::from_shape(kernel.value().shape());
      blas::Gemm(true, false, window, g.filters, rows, Real(1), columns->data(), window,
                 out.grad.data(), g.filters, Real(0), grad.data(), g.filters);
      AccumulateGrad(kernel, std::move(grad), "Conv1D");
    }
    if (x.requires_grad()) {
      Array column_grad = Array::from_shape({rows, window});
      blas::Gemm(false, true, rows, window, g.filters, Real(1), out.grad.data(), g.filters,
                 kernel.value().data(), g.filters, Real(0), column_grad.data(), window);
      Array grad = xt::zeros<Real>(x.value().shape());
      FoldAdd(column_grad, g, grad.data());
      AccumulateGrad(x, std::move(grad), "Conv1D");
    }
  });
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
  // For each output element, the flat index in x of the maximum it took.
  auto winners = std::make_shared<std::vector<size_t>>(out.size());
  const Real* in = x.value().data();
  for (size_t b = 0; b < batch; ++b) {
    for (size_t t = 0; t < out_time; ++t) {
      for (size_t c = 0; c < channels; ++c) {
        size_t best = (b * time + t * pool_size) * channels + c;
        for (size_t j = 1; j < pool_size; ++j) {
          const size_t candidate = (b * time + t * pool_size + j) * channels + c;
          if (in[candidate] > in[best]) best = candidate;
        }
        const size_t o = (b * out_time + t) * channels + c;
        out.data()[o] = in[best];
        (*winners)[o] = best;
      }
    }
  }
  return MakeResult(std::move(out), {&x}, [x, winners](const Node& out) {
    Array grad = xt::zeros<Real>(x.value().shape());
    for (size_t o = 0; o < winners->size(); ++o) grad.data()[(*winners)[o]] += out.grad.data()[o];
    AccumulateGrad(x, std::move(grad), "MaxPool1D");
  });
}

}  // namespace autograd
