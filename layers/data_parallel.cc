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
