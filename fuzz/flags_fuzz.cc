// libFuzzer target: parsing the values of the airline experiments' flags (the same types and
// ranges as experiments/airline_experiment.cc). The first byte picks the flag, the rest is the
// value. A value that parses must lie in range and survive unparse + parse unchanged; a value
// that does not must leave the flag as it was, with an error naming the range.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/numbers.h"
#include "absl/types/optional.h"
#include "experiments/command_line.h"

using Epochs = experiments::IntIn<1, 100000>;
using BatchSize = experiments::IntIn<1, 1000000>;
using TweetLength = experiments::IntIn<1, 10000>;

ABSL_FLAG(absl::optional<Epochs>, epochs, absl::nullopt, "training epochs");
ABSL_FLAG(BatchSize, batch_size, BatchSize{32}, "samples per step");
ABSL_FLAG(absl::optional<TweetLength>, max_length, absl::nullopt, "padded length");
ABSL_FLAG(uint64_t, seed, 7, "random seed");
ABSL_FLAG(std::string, out_dir, "", "output directory");

namespace {

struct Target {
  const char* name;
  int64_t min, max;  // min > max: not an integer flag
};
constexpr Target kTargets[] = {{"epochs", 1, 100000},
                               {"batch_size", 1, 1000000},
                               {"max_length", 1, 10000},
                               {"seed", 1, 0},
                               {"out_dir", 1, 0}};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const Target& target = kTargets[data[0] % (sizeof(kTargets) / sizeof(kTargets[0]))];
  const std::string value(reinterpret_cast<const char*>(data) + 1, size - 1);
  absl::CommandLineFlag* flag = absl::FindCommandLineFlag(target.name);
  if (flag == nullptr) std::abort();
  const std::string before = flag->CurrentValue();
  std::string error;
  if (!flag->ParseFrom(value, &error)) {
    if (flag->CurrentValue() != before) std::abort();
    if (target.min <= target.max && error.find("expected an integer in [") == std::string::npos) {
      std::abort();
    }
    return 0;
  }
  const std::string now = flag->CurrentValue();
  if (target.min <= target.max && !now.empty()) {
    int64_t parsed = 0;
    if (!absl::SimpleAtoi(now, &parsed) || parsed < target.min || parsed > target.max) std::abort();
  }
  std::string again;
  if (!flag->ParseFrom(now, &again) || flag->CurrentValue() != now) std::abort();
  return 0;
}
