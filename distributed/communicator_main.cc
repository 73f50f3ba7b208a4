// What communicator_test.sh runs under mpirun: broadcast and allreduce checked against values
// every rank can compute, then, with --fail_rank=R, rank R fails on purpose and the job must end.
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "distributed/communicator.h"

using distributed::Communicator;
using distributed::Real;

int main(int argc, char** argv) {
  int fail_rank = -1;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--fail_rank=", 12) == 0) {
      if (!absl::SimpleAtoi(argv[i] + 12, &fail_rank)) return 2;
    }
  }
  absl::StatusOr<std::unique_ptr<Communicator>> made = Communicator::FromEnvironment();
  if (!made.ok()) {
    std::fprintf(stderr, "%s\n", std::string(made.status().message()).c_str());
    return 1;
  }
  if (*made == nullptr) {
    std::printf("alone: no MPI job\n");
    return 0;
  }
  Communicator& world = **made;
  const int rank = world.rank(), size = world.size();
  if (rank == fail_rank) {
    world.Abort(
        absl::NotFoundError("cannot read data/aclImdb/train: no such directory (on purpose)"));
  }
  // Rank r holds r + k at k: after broadcast everyone holds rank 0's (k); the allreduce of r + k is
  // size * k + size * (size - 1) / 2.
  const size_t n = 1000;
  std::vector<Real> values(n), sums(n);
  for (size_t k = 0; k < n; ++k) values[k] = sums[k] = static_cast<Real>(rank + k);
  if (!world.Broadcast(values.data(), n).ok() || !world.AllreduceSum(sums.data(), n).ok()) {
    world.Abort(absl::InternalError("MPI call failed"));
  }
  for (size_t k = 0; k < n; ++k) {
    const Real expected_sum = static_cast<Real>(size * k + size * (size - 1) / 2);
    if (values[k] != static_cast<Real>(k) || sums[k] != expected_sum) {
      std::fprintf(stderr,
                   "rank %d: element %zu: broadcast %g (expected %zu), sum %g (expected %g)\n",
                   rank, k, values[k], k, sums[k], expected_sum);
      world.Abort(absl::InternalError("wrong result"));
    }
  }
  // The other ranks wait here for the failing one's peers: without the abort they would hang.
  if (fail_rank >= 0) world.AllreduceSum(sums.data(), 1).IgnoreError();
  std::printf("rank %d of %d: broadcast and allreduce of %zu values agree\n", rank, size, n);
  return 0;
}
