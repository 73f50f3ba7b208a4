#include "experiments/parallel.h"

#include <cstdio>

#include "experiments/command_line.h"

namespace experiments {
namespace {
// Linking this library is what lets a program join an MPI job (command_line.h).
[[maybe_unused]] const bool kAllowsMpiJobs = (AllowMpiJobs(), true);
}  // namespace

absl::StatusOr<std::shared_ptr<distributed::Communicator>> JoinJob() {
  absl::StatusOr<std::unique_ptr<distributed::Communicator>> joined =
      distributed::Communicator::FromEnvironment();
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

std::pair<size_t, size_t> Shard(size_t n, size_t rank, size_t ranks, bool equal) {
  if (equal) return {rank * (n / ranks), (rank + 1) * (n / ranks)};
  return {rank * n / ranks, (rank + 1) * n / ranks};
}

}  // namespace experiments
