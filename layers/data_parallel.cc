#include "layers/data_parallel.h"

#include <algorithm>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace layers {

absl::StatusOr<std::vector<double>> Agree(DataParallel& group, absl::string_view method,
                                          absl::string_view data, const absl::Status& usable,
                                          const std::vector<Agreed>& entries) {
  std::vector<double> mine = {usable.ok() ? 0.0 : 1.0};
  for (const Agreed& entry : entries) {
    mine.insert(mine.end(), entry.numbers.begin(), entry.numbers.end());
  }
  const size_t width = mine.size(), ranks = static_cast<size_t>(group.size());
  std::vector<double> all(width * ranks, 0.0);
  std::copy(mine.begin(), mine.end(),
            all.begin() + static_cast<std::ptrdiff_t>(static_cast<size_t>(group.rank()) * width));
  if (absl::Status status = group.AllreduceSum(all.data(), all.size()); !status.ok()) {
    return status;
  }
  for (size_t r = 0; r < ranks; ++r) {
    if (all[r * width] == 0) continue;
    if (!usable.ok()) return usable;
    return absl::FailedPreconditionError(absl::StrFormat(
        "%s: rank %d of the job cannot train on its %s (its own error says why), so no rank does",
        method, r, data));
  }
  size_t offset = 1;
  for (const Agreed& entry : entries) {
    const size_t n = entry.numbers.size();
    std::vector<const double*> numbers;
    bool differ = false;
    for (size_t r = 0; r < ranks; ++r) {
      numbers.push_back(all.data() + r * width + offset);
      differ |= !std::equal(numbers[r], numbers[r] + n, numbers[0]);
    }
    offset += n;
    if (!entry.must_agree || !differ) continue;
    if (entry.explain) return entry.explain(numbers);
    std::vector<std::string> shown;
    for (const double* values : numbers) shown.push_back(entry.show(values));
    if (std::equal(shown.begin() + 1, shown.end(), shown.begin())) {
      for (size_t r = 0; r < ranks; ++r) {
        absl::StrAppendFormat(&shown[r], " #%013x", static_cast<uint64_t>(numbers[r][n - 1]));
      }
    }
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: the %d processes of the job must agree on the %s, but have %s (rank 0, 1, ...): %s",
        method, ranks, entry.what, absl::StrJoin(shown, ", "), entry.advice));
  }
  return all;
}

double Hash52(absl::string_view bytes) {
  uint64_t hash = 14695981039346656037ull;  // FNV-1a, 64 bits
  for (const char byte : bytes) {
    hash ^= static_cast<unsigned char>(byte);
    hash *= 1099511628211ull;
  }
  return static_cast<double>(hash >> 12);  // 52 bits: exact in a double
}

std::vector<double> ShapeNumbers(const autograd::Shape& shape) {
  std::vector<double> numbers(kShapeNumbers, 0.0);
  numbers[0] = static_cast<double>(shape.size());
  for (size_t axis = 0; axis < shape.size() && axis < kShapeNumbers - 2; ++axis) {
    numbers[1 + axis] = static_cast<double>(shape[axis]);
  }
  numbers[kShapeNumbers - 1] = Hash52(absl::StrJoin(shape, ","));
  return numbers;
}

std::string ShowShape(const double* numbers) {
  const size_t axes = static_cast<size_t>(numbers[0]);
  std::vector<std::string> sizes;
  for (size_t axis = 0; axis < axes && axis < kShapeNumbers - 2; ++axis) {
    sizes.push_back(absl::StrFormat("%.0f", numbers[1 + axis]));
  }
  if (axes > kShapeNumbers - 2) sizes.push_back("...");
  return absl::StrCat("(", absl::StrJoin(sizes, ", "), ")");
}

}  // namespace layers

namespace layers {

using autograd::Real;
using autograd::Shape;
using autograd::Tensor;

absl::Status BroadcastParameters(DataParallel& group, const std::vector<Tensor>& parameters) {
  size_t total = 0;
  for (const Tensor& parameter : parameters) total += parameter.numel();
  std::vector<Real> buffer(total);
  Real* at = buffer.data();
  for (const Tensor& parameter : parameters) {
    at = std::copy(parameter.value().begin(), parameter.value().end(), at);
  }
  if (absl::Status status = group.Broadcast(buffer.data(), total); !status.ok()) return status;
  at = buffer.data();
  for (Tensor parameter : parameters) {
    std::copy(at, at + parameter.numel(), parameter.mutable_value().begin());
    at += parameter.numel();
  }
  return absl::OkStatus();
}

absl::Status AllreduceGradients(DataParallel& group, const std::vector<Tensor>& parameters,
                                size_t rows, size_t global_rows, std::vector<double>& sums) {
  // The buffer: every gradient, one "has a gradient" count per parameter, then the sums.
  size_t total = parameters.size() + sums.size();
  for (const Tensor& parameter : parameters) total += parameter.numel();
  std::vector<Real> buffer(total, Real(0));
  const Real weight = static_cast<Real>(rows);
  Real* at = buffer.data();
  for (const Tensor& parameter : parameters) {
    if (parameter.has_grad()) {
      const autograd::Array& grad = parameter.node()->grad;
      for (size_t k = 0; k < grad.size(); ++k) at[k] = grad.data()[k] * weight;
    }
    at += parameter.numel();
  }
  Real* has_grad = at;
  for (size_t p = 0; p < parameters.size(); ++p) has_grad[p] = parameters[p].has_grad();
  Real* summed = has_grad + parameters.size();
  for (size_t k = 0; k < sums.size(); ++k) summed[k] = static_cast<Real>(sums[k]);
  if (absl::Status status = group.AllreduceSum(buffer.data(), total); !status.ok()) return status;
  const Real divisor = static_cast<Real>(global_rows);
  at = buffer.data();
  for (size_t p = 0; p < parameters.size(); ++p) {
    autograd::Node& node = *parameters[p].node();
    if (has_grad[p] > 0) {
      node.grad = autograd::Array::from_shape(node.value.shape());
      for (size_t k = 0; k < node.grad.size(); ++k) node.grad.data()[k] = at[k] / divisor;
      node.has_grad = true;
    }
    at += node.value.size();
  }
  for (size_t k = 0; k < sums.size(); ++k) sums[k] = summed[k];
  return absl::OkStatus();
}

std::vector<Agreed> ModelAgreement(DataParallel& group, const std::string& method,
                                   const std::vector<Shape>& input_shapes,
                                   const std::vector<Tensor>& parameters,
                                   const std::vector<std::string>& weight_names,
                                   const std::string& generator_state,
                                   std::optional<uint64_t> seed_) {
  std::vector<Agreed> entries;
  for (size_t i = 0; i < input_shapes.size(); ++i) {
    entries.push_back({i == 0 ? "input shape" : absl::StrFormat("shape of input %d", i),
                       ShapeNumbers(input_shapes[i]), ShowShape,
                       "build the same model, for inputs of the same shape, on every rank"});
  }
  // The weights: how many, how many values, and a hash of every shape; a difference in shapes
  // alone is then told weight by weight (one more collective, on the error's path only).
  std::vector<Shape> shapes;
  const std::vector<std::string>& names = weight_names;
  size_t values = 0;
  for (const Tensor& parameter : parameters) {
    shapes.push_back(parameter.shape());
    values += parameter.numel();
  }
  std::string all_shapes;
  for (const Shape& shape : shapes) absl::StrAppend(&all_shapes, absl::StrJoin(shape, ","), ";");
  const std::string advice = "build the same model on every rank";
  Agreed weights{
      "weights",
      {static_cast<double>(shapes.size()), static_cast<double>(values), Hash52(all_shapes)},
      [](const double* numbers) {
        return absl::StrFormat("%.0f arrays of %.0f values", numbers[0], numbers[1]);
      },
      advice};
  weights.explain = [group = &group, method, shapes, names, advice, show = weights.show](
                        const std::vector<const double*>& numbers) -> absl::Status {
    const size_t ranks = numbers.size();
    const auto differ = [&](const char* what, const std::vector<std::string>& shown) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: the %d processes of the job must agree on the %s, but have %s (rank 0, 1, ...): "
          "%s",
          method, ranks, what, absl::StrJoin(shown, ", "), advice));
    };
    std::vector<std::string> shown;
    for (const double* values : numbers) shown.push_back(show(values));
    for (size_t r = 1; r < ranks; ++r) {
      if (numbers[r][0] != numbers[0][0]) return differ("weights", shown);
    }
    // As many weights everywhere: every rank's shape of each, to name the first that differs.
    std::vector<double> all(ranks * shapes.size() * kShapeNumbers, 0.0);
    double* mine = all.data() + static_cast<size_t>(group->rank()) * shapes.size() * kShapeNumbers;
    for (size_t k = 0; k < shapes.size(); ++k) {
      const std::vector<double> shape = ShapeNumbers(shapes[k]);
      std::copy(shape.begin(), shape.end(), mine + k * kShapeNumbers);
    }
    if (absl::Status status = group->AllreduceSum(all.data(), all.size()); !status.ok()) {
      return status;
    }
    for (size_t k = 0; k < shapes.size(); ++k) {
      std::vector<std::string> shapes_shown;
      bool same = true;
      for (size_t r = 0; r < ranks; ++r) {
        const double* shape = all.data() + (r * shapes.size() + k) * kShapeNumbers;
        same &= std::equal(shape, shape + kShapeNumbers, all.data() + k * kShapeNumbers);
        shapes_shown.push_back(ShowShape(shape));
      }
      if (!same) {
        return differ(absl::StrFormat("shape of weight '%s' (%d of %d)",
                                      k < names.size() ? names[k] : "?", k + 1, shapes.size())
                          .c_str(),
                      shapes_shown);
      }
    }
    return differ("weights", shown);
  };
  entries.push_back(std::move(weights));
  // The generator: its whole state (the seed, then every draw so far, or a resumed model's saved
  // state), shown by the seed when known.
  const std::string& state = generator_state;
  const bool known = seed_.has_value();
  const uint64_t seed = seed_.value_or(0);
  entries.push_back({"seed (the random generator's state)",
                     {static_cast<double>(known), static_cast<double>(seed >> 32),
                      static_cast<double>(seed & 0xffffffffu), Hash52(state)},
                     [](const double* numbers) -> std::string {
                       if (numbers[0] == 0) return "a restored state";
                       return absl::StrCat((static_cast<uint64_t>(numbers[1]) << 32) |
                                           static_cast<uint64_t>(numbers[2]));
                     },
                     "make every rank's model with the same seed"});
  return entries;
}
}  // namespace layers
