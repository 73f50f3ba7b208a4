// Data-parallel experiments: started by mpirun with more than one process, an experiment joins
// the job (no flag needed: Open MPI's environment says so) and trains one model on all of them,
// each rank on its shard of the data (layers/data_parallel.h).
#ifndef EXPERIMENTS_PARALLEL_H_
#define EXPERIMENTS_PARALLEL_H_

#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "distributed/communicator.h"

namespace experiments {

// Joins the MPI job when this process is one of several, else null. Then only rank 0 writes to
// stdout (the others' goes to /dev/null), and ExitWithError or ExitWithUsageError on any rank
// ends the whole job with "rank R of N: <error>" on stderr instead of leaving the others waiting.
// `options` bounds every collective (distributed/communicator.h).
absl::StatusOr<std::shared_ptr<distributed::Communicator>> JoinJob(
    const distributed::CommunicatorOptions& options = {});

// Compares this rank's values of the flags `names` (Abseil's text of them) with rank 0's, in one
// collective when they agree. Where a rank's differ, the first such rank ends the job, naming the
// first such flag: "rank 1 of 2: --max_review_length is 300 here but 500 on rank 0: start every
// rank with the same flags" (the others wait for the end it brings).
void RequireSameFlags(distributed::Communicator& world, const std::vector<std::string>& names);

// Rank `rank`'s contiguous share [begin, end) of n samples among `ranks`: n / ranks each when
// `equal` (the last n % ranks left out: Fit needs equal shards), else as even as possible (all
// of them: Evaluate takes any).
std::pair<size_t, size_t> Shard(size_t n, size_t rank, size_t ranks, bool equal);

}  // namespace experiments

#endif  // EXPERIMENTS_PARALLEL_H_
