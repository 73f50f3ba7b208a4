#include "autograd/gradcheck.h"

#include <cmath>

#include "absl/strings/str_format.h"
#include "autograd/elementwise.h"
#include "autograd/random.h"
#include "autograd/reductions.h"

namespace autograd {

absl::Status Gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& fn,
                       const std::vector<Tensor>& inputs, GradcheckOptions options) {
  CurrentTape().Clear();
  for (const Tensor& input : inputs) {
    if (input.defined()) const_cast<Tensor&>(input).ZeroGrad();
  }
  const Tensor output = fn(inputs);
  Rng rng(options.seed);
  const Tensor projection(RandomUniform(output.shape(), 0.5, 1.5, rng));
  const auto scalar_loss = [&](const Tensor& out) { return Sum(Mul(out, projection)); };
  absl::Status status = CurrentTape().Backward(scalar_loss(output));
  if (!status.ok()) return status;

  NoGradGuard no_grad;
  for (size_t n = 0; n < inputs.size(); ++n) {
    const Tensor& input = inputs[n];
    if (!input.requires_grad()) continue;
    const Array analytic = input.grad();
    Array& value = input.node()->value;
    for (size_t k = 0; k < value.size(); ++k) {
      const Real saved = value.data()[k];
      value.data()[k] = saved + static_cast<Real>(options.step);
      const double plus = scalar_loss(fn(inputs)).item();
      value.data()[k] = saved - static_cast<Real>(options.step);
      const double minus = scalar_loss(fn(inputs)).item();
      value.data()[k] = saved;
      const double numeric = (plus - minus) / (2 * options.step);
      const double error = std::abs(numeric - analytic.data()[k]);
      if (error > options.abs_tolerance + options.rel_tolerance * std::abs(numeric)) {
        return absl::InternalError(absl::StrFormat(
            "gradcheck: input %d %s, element %d: backward gives %.10g, finite differences %.10g",
            n, ShapeString(input.shape()), k, analytic.data()[k], numeric));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace autograd
