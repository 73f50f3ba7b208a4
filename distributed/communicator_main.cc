// What communicator_test.sh runs under mpirun: broadcast and allreduce checked against values
// every rank can compute, then, with --fail_rank=R, rank R fails on purpose and the job must end.
// With --timeout_s=T every collective times out after T seconds; --stop_rank=R then makes rank R
// write its process id to --pid_file and stop itself (SIGSTOP: alive, so MPI never notices)
// before the first collective, and --late_rank=R makes rank R arrive --late_s seconds late.
#include <signal.h>
#include <unistd.h>

#include <chrono>
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
  int fail_rank = -1, stop_rank = -1, late_rank = -1;
  double timeout_s = 0, late_s = 0;
  std::string pid_file;
  for (int i = 1; i < argc; ++i) {
    const auto value = [&](const char* name) -> const char* {
      const size_t length = std::strlen(name);
      return std::strncmp(argv[i], name, length) == 0 ? argv[i] + length : nullptr;
    };
    bool ok = true;
    if (const char* v = value("--fail_rank=")) ok = absl::SimpleAtoi(v, &fail_rank);
    if (const char* v = value("--stop_rank=")) ok = absl::SimpleAtoi(v, &stop_rank);
    if (const char* v = value("--late_rank=")) ok = absl::SimpleAtoi(v, &late_rank);
    if (const char* v = value("--timeout_s=")) ok = absl::SimpleAtod(v, &timeout_s);
    if (const char* v = value("--late_s=")) ok = absl::SimpleAtod(v, &late_s);
    if (const char* v = value("--pid_file=")) pid_file = v;
    if (!ok) return 2;
  }
  distributed::CommunicatorOptions options;
  if (timeout_s > 0) options.collective_timeout = absl::Seconds(timeout_s);
  absl::StatusOr<std::unique_ptr<Communicator>> made = Communicator::FromEnvironment(options);
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
  if (rank == stop_rank) {
    if (FILE* file = std::fopen(pid_file.c_str(), "w")) {
      std::fprintf(file, "%d\n", static_cast<int>(getpid()));
      std::fclose(file);
    }
    raise(SIGSTOP);
  }
  if (rank == late_rank) {
    std::this_thread::sleep_for(std::chrono::duration<double>(late_s));
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
