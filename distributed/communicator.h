// Data-parallel training over MPI: the processes that mpirun started, as one group. Single-process
// programs never touch this package (and so need no MPI at run time).
#ifndef DISTRIBUTED_COMMUNICATOR_H_
#define DISTRIBUTED_COMMUNICATOR_H_

#include <cstddef>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "autograd/tensor.h"

namespace distributed {

using autograd::Real;

class Communicator {
 public:
  // Joins the job when Open MPI's environment says this process is one of several
  // (OMPI_COMM_WORLD_SIZE > 1): MPI_Init, errors returned rather than fatal. Null when the
  // process runs alone (no mpirun, or mpirun -np 1).
  static absl::StatusOr<std::unique_ptr<Communicator>> FromEnvironment();
  ~Communicator();  // MPI_Finalize
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }

  // Rank 0's n values replace everyone's.
  absl::Status Broadcast(Real* data, size_t n);
  // Every rank's n values summed, in place on every rank: one MPI_Allreduce.
  absl::Status AllreduceSum(Real* data, size_t n);
  // Stops every process of the job (MPI_Abort) after printing "rank R of N: <status>" to stderr,
  // so that a rank that fails ends the job instead of leaving the others waiting.
  [[noreturn]] void Abort(const absl::Status& status);

 private:
  Communicator(int rank, int size) : rank_(rank), size_(size) {}
  int rank_, size_;
};

}  // namespace distributed

#endif  // DISTRIBUTED_COMMUNICATOR_H_
