// The processes that mpirun started, as one group for data-parallel training
// (layers/data_parallel.h). Open MPI is loaded only when a process is one of several
// (distributed/open_mpi.h), so programs that can join a job still run alone without MPI.
#ifndef DISTRIBUTED_COMMUNICATOR_H_
#define DISTRIBUTED_COMMUNICATOR_H_

#include <cstddef>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "autograd/tensor.h"
#include "distributed/open_mpi.h"
#include "layers/data_parallel.h"

namespace distributed {

using autograd::Real;

class Communicator final : public layers::DataParallel {
 public:
  // Joins the job when Open MPI's environment says this process is one of several
  // (OMPI_COMM_WORLD_SIZE > 1): loads Open MPI, MPI_Init, errors returned rather than fatal.
  // Null when the process runs alone (no mpirun, or mpirun -np 1).
  static absl::StatusOr<std::unique_ptr<Communicator>> FromEnvironment();
  ~Communicator() override;  // MPI_Finalize
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  // One MPI_Bcast from rank 0.
  absl::Status Broadcast(Real* values, size_t count) override;
  // One MPI_Allreduce, in place (split only past 2^31 - 1 values, MPI's int counts).
  absl::Status AllreduceSum(Real* values, size_t count) override;
  absl::Status AllreduceSum(double* values, size_t count) override;
  // Stops every process of the job (MPI_Abort) after printing "rank R of N: <message>" to
  // stderr, so that a rank that fails ends the job instead of leaving the others waiting.
  [[noreturn]] void Abort(const absl::Status& status);

  // What this rank has sent through collectives so far, and the wall time spent in them
  // (waiting for slower ranks included).
  struct Traffic {
    size_t calls = 0;
    size_t bytes = 0;
    double seconds = 0;
  };
  const Traffic& traffic() const { return traffic_; }

 private:
  Communicator(const open_mpi::Library& mpi, int rank, int size)
      : mpi_(mpi), rank_(rank), size_(size) {}
  template <typename T>
  absl::Status Sum(T* values, size_t count, open_mpi::Datatype type);

  const open_mpi::Library& mpi_;
  int rank_, size_;
  Traffic traffic_;
};

}  // namespace distributed

#endif  // DISTRIBUTED_COMMUNICATOR_H_
