// Compares an op's backward with central finite differences.
#ifndef AUTOGRAD_GRADCHECK_H_
#define AUTOGRAD_GRADCHECK_H_

#include <functional>
#include <vector>

#include "absl/status/status.h"
#include "autograd/tensor.h"

namespace autograd {

struct GradcheckOptions {
  double step = 1e-6;       // finite-difference step (central differences)
  double abs_tolerance = 1e-6;
  double rel_tolerance = 1e-5;
  uint64_t seed = 1;        // for the random projection of non-scalar outputs
};

// `fn` maps `inputs` to any tensor; the check reduces it to a scalar as sum(fn(inputs) * R) with a
// fixed random R (so every output element matters), then compares d/d(input) from Backward with
// (L(x + h) - L(x - h)) / 2h for every element of every input that requires a gradient.
// Returns OK, or an error naming the input, the element and both values. Meant for the double
// build (//autograd:autograd_f64); in float32 differences of 1e-6 drown in rounding.
absl::Status Gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& fn,
                       const std::vector<Tensor>& inputs, GradcheckOptions options = {});

}  // namespace autograd

#endif  // AUTOGRAD_GRADCHECK_H_
