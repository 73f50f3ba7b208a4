#include "layers/masking.h"

#include <cmath>

#include "absl/strings/str_format.h"
#include "autograd/elementwise.h"
#include "autograd/shape_ops.h"
#include "layers/config.h"

namespace layers {

absl::StatusOr<Shape> MaskingLayer::DoBuild(const Shape& input_shape, Rng& /*rng*/) {
  if (!std::isfinite(mask_value_)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("mask_value must be a finite number, got %g", mask_value_));
  }
  // The time axis may vary (kVaries: Keras' None), as the recurrent layers take it; the features
  // must be known.
  if (input_shape.size() != 2 || input_shape[1] == 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("expected input of shape [time, features] with both positive, got %s",
                        KerasShapeString(input_shape)));
  }
  return input_shape;
}

Array MaskingLayer::MakeMask(const Array& x) const {
  const size_t batch = x.shape()[0], time = x.shape()[1], features = x.shape()[2];
  Array mask = xt::zeros<Real>({batch, time});
  const Real value = static_cast<Real>(mask_value_);
  const Real* row = x.data();
  for (size_t step = 0; step < batch * time; ++step, row += features) {
    for (size_t f = 0; f < features; ++f) {
      if (row[f] != value) {
        mask.data()[step] = 1;
        break;
      }
    }
  }
  return mask;
}

Tensor MaskingLayer::DoCall(const Tensor& x, const Array* /*mask*/,
                            const CallContext& /*context*/) {
  Array mask = MakeMask(x.value());
  mask.reshape({x.size(0), x.size(1), size_t{1}});
  return autograd::Mul(x, Tensor(std::move(mask)));
}

void MaskingLayer::GetConfig(Json& config) const { config["mask_value"] = mask_value_; }

absl::StatusOr<LayerPtr> MaskingLayer::FromConfig(ConfigReader& config) {
  return Masking(config.Number("mask_value", 0.0));
}

LayerPtr Masking(double mask_value) { return std::make_unique<MaskingLayer>(mask_value); }

}  // namespace layers
