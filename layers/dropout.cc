#include "layers/dropout.h"

#include "absl/strings/str_format.h"
#include "autograd/elementwise.h"
#include "layers/config.h"

namespace layers {

absl::StatusOr<Shape> DropoutLayer::DoBuild(const Shape& input_shape, Rng& /*rng*/) {
  if (!(rate_ >= 0 && rate_ < 1)) {
    return absl::InvalidArgumentError(absl::StrFormat("rate must be in [0, 1), got %g", rate_));
  }
  return input_shape;
}

Tensor DropoutLayer::DoCall(const Tensor& x, const Array* /*mask*/, const CallContext& context) {
  if (!context.training || rate_ == 0) return x;
  // The mask is drawn once, as an array: a lazy random expression would redraw on every read.
  return autograd::Mul(x, Tensor(DropoutMask(x.shape(), rate_, rng(), context)));
}

void DropoutLayer::GetConfig(Json& config) const {
  config["rate"] = rate_;
  SetNull(config, {"noise_shape", "seed"});
}

absl::StatusOr<LayerPtr> DropoutLayer::FromConfig(ConfigReader& config) {
  const double rate = config.Number("rate", 0.0);
  config.OnlyNull({"noise_shape"});
  config.Ignore("seed");  // our masks come from the model's generator, whose state is saved
  return Dropout(rate);
}

LayerPtr Dropout(double rate) { return std::make_unique<DropoutLayer>(rate); }

}  // namespace layers
