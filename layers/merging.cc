#include "layers/merging.h"

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "autograd/elementwise.h"
#include "autograd/shape_ops.h"
#include "layers/config.h"

namespace layers {
namespace {

std::string ShapesString(const std::vector<Shape>& shapes) {
  std::vector<std::string> parts;
  for (const Shape& shape : shapes) parts.push_back(KerasShapeString(shape));
  return absl::StrCat("[", absl::StrJoin(parts, ", "), "]");
}

}  // namespace

Tensor MergeLayer::DoCall(const Tensor& x, const Array* mask, const CallContext& context) {
  std::vector<std::optional<Array>> masks;
  return CallNode({x}, {mask}, context, masks).front();
}

absl::StatusOr<Shape> MergeLayer::DoBuild(const Shape& input_shape, Rng& rng) {
  absl::StatusOr<std::vector<Shape>> out = DoBuildCall({input_shape}, rng);
  if (!out.ok()) return out.status();
  return (*out)[0];
}

absl::StatusOr<std::vector<Shape>> MergeLayer::DoBuildCall(const std::vector<Shape>& input_shapes,
                                                           Rng& /*rng*/) {
  const bool pair = type() == "Subtract";
  if (pair ? input_shapes.size() != 2 : input_shapes.size() < 2) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "it is called on a list of %s tensors, got %d", pair ? "exactly 2" : "at least 2",
        input_shapes.size()));
  }
  absl::StatusOr<Shape> merged = MergedShape(input_shapes);
  if (!merged.ok()) return merged.status();
  return std::vector<Shape>{*std::move(merged)};
}

absl::StatusOr<Shape> MergeLayer::MergedShape(const std::vector<Shape>& shapes) const {
  return shapes[0];
}

absl::StatusOr<std::vector<bool>> MergeLayer::OutputsMasked(
    const std::vector<bool>& masked) const {
  bool any = false;
  for (bool input : masked) any = any || input;
  return std::vector<bool>{any};
}

std::vector<Tensor> MergeLayer::CallNode(const std::vector<Tensor>& inputs,
                                         const std::vector<const Array*>& masks,
                                         const CallContext& /*context*/,
                                         std::vector<std::optional<Array>>& output_masks) {
  std::optional<Array> mask;
  for (const Array* input_mask : masks) {
    if (input_mask == nullptr) continue;
    if (!mask) {
      mask = *input_mask;
    } else if (mask->shape() != input_mask->shape()) {
      throw autograd::ShapeError(absl::StrFormat(
          "the inputs' masks differ in shape: %s and %s",
          autograd::ShapeString(autograd::ShapeOf(*mask)),
          autograd::ShapeString(autograd::ShapeOf(*input_mask))));
    } else {
      *mask = *mask * *input_mask;  // masks hold 0 and 1: the product is the AND
    }
  }
  output_masks.assign(1, std::move(mask));
  return {Merge(inputs)};
}

absl::StatusOr<Shape> ConcatenateLayer::MergedShape(const std::vector<Shape>& shapes) const {
  const int rank = static_cast<int>(shapes[0].size());
  // Keras' axis counts the batch axis: -1 is the last, 1 the first axis of a sample.
  const int axis = axis_ < 0 ? rank + axis_ : axis_ - 1;
  if (rank == 0 || axis < 0 || axis >= rank) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "axis %d does not name an axis of a sample of inputs %s (the batch axis cannot be "
        "joined)",
        axis_, ShapesString(shapes)));
  }
  Shape out = shapes[0];
  for (size_t i = 1; i < shapes.size(); ++i) {
    bool fits = shapes[i].size() == shapes[0].size();
    for (int a = 0; fits && a < rank; ++a) {
      fits = a == axis || shapes[i][a] == shapes[0][a];
    }
    if (!fits) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "a Concatenate layer requires inputs with matching shapes except for the "
          "concatenation axis %d, got inputs %s",
          axis_, ShapesString(shapes)));
    }
    out[axis] = out[axis] == kVaries || shapes[i][axis] == kVaries ? kVaries
                                                                    : out[axis] + shapes[i][axis];
  }
  const_cast<ConcatenateLayer*>(this)->sample_axis_ = static_cast<size_t>(axis);
  return out;
}

Tensor ConcatenateLayer::Merge(const std::vector<Tensor>& inputs) const {
  return autograd::Concat(inputs, static_cast<int>(sample_axis_) + 1);
}

void ConcatenateLayer::GetConfig(Json& config) const { config["axis"] = axis_; }

absl::StatusOr<LayerPtr> ConcatenateLayer::FromConfig(ConfigReader& config) {
  const double axis = config.Number("axis", -1);
  if (axis != static_cast<int>(axis) || axis < -64 || axis > 64) {
    return absl::InvalidArgumentError(
        absl::StrFormat("axis: expected (an integer from -64 to 64), got (%g)", axis));
  }
  return Concatenate(static_cast<int>(axis));
}

absl::StatusOr<Shape> ElementwiseMergeLayer::MergedShape(const std::vector<Shape>& shapes) const {
  for (const Shape& shape : shapes) {
    if (shape != shapes[0]) {
      return absl::InvalidArgumentError(
          absl::StrFormat("inputs must have the same shape, got %s", ShapesString(shapes)));
    }
  }
  return shapes[0];
}

Tensor ElementwiseMergeLayer::Merge(const std::vector<Tensor>& inputs) const {
  const std::string& kind = type();
  if (kind == "Subtract") return autograd::Sub(inputs[0], inputs[1]);
  Tensor out = inputs[0];
  for (size_t i = 1; i < inputs.size(); ++i) {
    out = kind == "Multiply" ? autograd::Mul(out, inputs[i]) : autograd::Add(out, inputs[i]);
  }
  if (kind == "Average") out = autograd::Scale(out, Real(1) / static_cast<Real>(inputs.size()));
  return out;
}

LayerPtr Concatenate(int axis) { return std::make_shared<ConcatenateLayer>(axis); }
LayerPtr Add() { return std::make_shared<ElementwiseMergeLayer>("Add"); }
LayerPtr Subtract() { return std::make_shared<ElementwiseMergeLayer>("Subtract"); }
LayerPtr Multiply() { return std::make_shared<ElementwiseMergeLayer>("Multiply"); }
LayerPtr Average() { return std::make_shared<ElementwiseMergeLayer>("Average"); }

}  // namespace layers
