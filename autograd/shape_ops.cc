#include "autograd/shape_ops.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <numeric>

#include "absl/strings/str_format.h"
#include "autograd/reductions.h"
#include "xtensor/xbuilder.hpp"

namespace autograd {
namespace {

// A row-major array seen as [outer, along, inner] around one axis: every op here copies blocks of
// `inner` contiguous elements.
struct AxisView {
  size_t outer = 1, along = 1, inner = 1;
};

AxisView ViewAround(const Shape& shape, size_t axis) {
  AxisView view;
  for (size_t i = 0; i < axis; ++i) view.outer *= shape[i];
  view.along = shape[axis];
  for (size_t i = axis + 1; i < shape.size(); ++i) view.inner *= shape[i];
  return view;
}

size_t Product(const Shape& shape) {
  return std::accumulate(shape.begin(), shape.end(), size_t{1}, std::multiplies<size_t>());
}

// Copies positions [begin, begin + count) along the axis of `from` to [to_begin, ...) of `to`.
void CopyAlong(const Real* from, AxisView from_view, size_t begin, size_t count, Real* to,
               AxisView to_view, size_t to_begin) {
  for (size_t o = 0; o < from_view.outer; ++o) {
    std::memcpy(to + (o * to_view.along + to_begin) * to_view.inner,
                from + (o * from_view.along + begin) * from_view.inner,
                count * from_view.inner * sizeof(Real));
  }
}

// Reverses the `along` positions of each outer block.
Array Reversed(const Array& x, AxisView view) {
  Array out = Array::from_shape(x.shape());
  for (size_t o = 0; o < view.outer; ++o) {
    for (size_t a = 0; a < view.along; ++a) {
      std::memcpy(out.data() + (o * view.along + view.along - 1 - a) * view.inner,
                  x.data() + (o * view.along + a) * view.inner, view.inner * sizeof(Real));
    }
  }
  return out;
}

}  // namespace

Tensor Reshape(const Tensor& x, const Shape& shape) {
  if (Product(shape) != x.numel()) {
    throw ShapeError(absl::StrFormat("Reshape: cannot reshape %s (%d elements) to %s",
                                     ShapeString(x.shape()), x.numel(), ShapeString(shape)));
  }
  Array out = x.value();
  out.reshape(shape);
  Tensor result = MakeResult(std::move(out), {&x}, [x](const Node& out) {
    Array grad = out.grad;
    grad.reshape(x.shape());
    AccumulateGrad(x, std::move(grad), "Reshape");
  });
  // A reshaped sigmoid output is the sigmoid of the reshaped logits (TimeDistributed).
  if (x.node()->logits) result.node()->logits = Reshape(Tensor(x.node()->logits), shape).node();
  return result;
}

Tensor Concat(const std::vector<Tensor>& parts, int axis) {
  if (parts.empty()) throw ShapeError("Concat: no tensors to join");
  const size_t resolved = NormalizeAxis(axis, parts[0].dim(), "Concat");
  Shape out_shape = parts[0].shape();
  out_shape[resolved] = 0;
  for (const Tensor& part : parts) {
    Shape shape = part.shape();
    Shape expected = parts[0].shape();
    if (shape.size() == expected.size()) expected[resolved] = shape[resolved];
    if (shape != expected) {
      throw ShapeError(absl::StrFormat("Concat: along axis %d, cannot join %s with %s", axis,
                                       ShapeString(parts[0].shape()), ShapeString(shape)));
    }
    out_shape[resolved] += shape[resolved];
  }
  Array out = Array::from_shape(out_shape);
  const AxisView out_view = ViewAround(out_shape, resolved);
  std::vector<size_t> offsets;
  size_t offset = 0;
  for (const Tensor& part : parts) {
    offsets.push_back(offset);
    CopyAlong(part.value().data(), ViewAround(part.shape(), resolved), 0, part.size(resolved),
              out.data(), out_view, offset);
    offset += part.size(resolved);
  }
  return MakeResult(std::move(out), parts, [parts, offsets, resolved](const Node& out) {
    const AxisView out_view = ViewAround(ShapeOf(out.grad), resolved);
    for (size_t i = 0; i < parts.size(); ++i) {
      if (!parts[i].requires_grad()) continue;
      Array grad = Array::from_shape(parts[i].shape());
      CopyAlong(out.grad.data(), out_view, offsets[i], parts[i].size(resolved), grad.data(),
                ViewAround(parts[i].shape(), resolved), 0);
      AccumulateGrad(parts[i], grad, "Concat");
    }
  });
}

Tensor Slice(const Tensor& x, int axis, size_t begin, size_t end) {
  const size_t resolved = NormalizeAxis(axis, x.dim(), "Slice");
  if (begin > end || end > x.size(resolved)) {
    throw ShapeError(absl::StrFormat("Slice: range [%d, %d) is out of bounds for axis %d of %s",
                                     begin, end, axis, ShapeString(x.shape())));
  }
  Shape out_shape = x.shape();
  out_shape[resolved] = end - begin;
  Array out = Array::from_shape(out_shape);
  const AxisView in_view = ViewAround(x.shape(), resolved);
  CopyAlong(x.value().data(), in_view, begin, end - begin, out.data(),
            ViewAround(out_shape, resolved), 0);
  return MakeResult(std::move(out), {&x}, [x, resolved, begin, end](const Node& out) {
    Array grad = xt::zeros<Real>(x.value().shape());
    CopyAlong(out.grad.data(), ViewAround(ShapeOf(out.grad), resolved), 0, end - begin, grad.data(),
              ViewAround(x.shape(), resolved), begin);
    AccumulateGrad(x, std::move(grad), "Slice");
  });
}

Tensor Reverse(const Tensor& x, int axis) {
  const size_t resolved = NormalizeAxis(axis, x.dim(), "Reverse");
  const AxisView view = ViewAround(x.shape(), resolved);
  return MakeResult(Reversed(x.value(), view), {&x}, [x, view](const Node& out) {
    AccumulateGrad(x, Reversed(out.grad, view), "Reverse");
  });
}

}  // namespace autograd
