#include "experiments/parallel.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/str_format.h"
#include "experiments/command_line.h"
#include "layers/data_parallel.h"

namespace experiments {
namespace {
// Linking this library is what lets a program join an MPI job (command_line.h).
[[maybe_unused]] const bool kAllowsMpiJobs = (AllowMpiJobs(), true);
}  // namespace

absl::StatusOr<std::shared_ptr<distributed::Communicator>> JoinJob(
    const distributed::CommunicatorOptions& options) {
  absl::StatusOr<std::unique_ptr<distributed::Communicator>> joined =
      distributed::Communicator::FromEnvironment(options);
  if (!joined.ok()) return joined.status();
  std::shared_ptr<distributed::Communicator> world = std::move(*joined);
  if (world == nullptr) return world;
  // Weakly: the job ends (MPI_Finalize) when the experiment drops its communicator.
  SetJobAbort([weak = std::weak_ptr<distributed::Communicator>(world)](const absl::Status& status) {
    if (std::shared_ptr<distributed::Communicator> alive = weak.lock()) alive->Abort(status);
  });
  if (world->rank() != 0 && std::freopen("/dev/null", "w", stdout) == nullptr) {
    world->Abort(absl::InternalError("cannot send this rank's stdout to /dev/null"));
  }
  return world;
}

void RequireSameFlags(distributed::Communicator& world, const std::vector<std::string>& names) {
  std::vector<std::string> values;
  for (const std::string& name : names) {
    const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    if (flag == nullptr) world.Abort(absl::InternalError(absl::StrFormat("no flag --%s", name)));
    values.push_back(flag->CurrentValue());
  }
  // Every rank's hash of every value, in one collective.
  const size_t ranks = static_cast<size_t>(world.size()), rank = static_cast<size_t>(world.rank());
  const size_t n = names.size();
  std::vector<double> all(ranks * n, 0.0);
  for (size_t k = 0; k < n; ++k) all[rank * n + k] = layers::Hash52(values[k]);
  if (absl::Status status = world.AllreduceSum(all.data(), all.size()); !status.ok()) {
    world.Abort(status);
  }
  for (size_t r = 1; r < ranks; ++r) {
    for (size_t k = 0; k < n; ++k) {
      if (all[r * n + k] == all[k]) continue;
      // Rank 0's value of the flag, for the message: its first bytes, one collective more.
      constexpr size_t kShown = 200;
      std::vector<double> text(1 + kShown, 0.0);
      if (rank == 0) {
        text[0] = static_cast<double>(std::min(values[k].size(), kShown));
        for (size_t i = 0; i < values[k].size() && i < kShown; ++i) {
          text[1 + i] = static_cast<unsigned char>(values[k][i]);
        }
      }
      if (absl::Status status = world.AllreduceSum(text.data(), text.size()); !status.ok()) {
        world.Abort(status);
      }
      std::string first_value;
      for (size_t i = 0; i < static_cast<size_t>(text[0]); ++i) {
        first_value += static_cast<char>(static_cast<unsigned char>(text[1 + i]));
      }
      if (rank == r) {
        world.Abort(absl::InvalidArgumentError(absl::StrFormat(
            "--%s is %s here but %s on rank 0: start every rank with the same flags", names[k],
            values[k], first_value)));
      }
      // Rank r ends the job; should it not, end it from here.
      std::this_thread::sleep_for(std::chrono::seconds(30));
      world.Abort(absl::InvalidArgumentError(absl::StrFormat(
          "rank %d has another --%s than rank 0 (%s): start every rank with the same flags", r,
          names[k], first_value)));
    }
  }
}

std::pair<size_t, size_t> Shard(size_t n, size_t rank, size_t ranks, bool equal) {
  if (equal) return {rank * (n / ranks), (rank + 1) * (n / ranks)};
  return {rank * n / ranks, (rank + 1) * n / ranks};
}

}  // namespace experiments
