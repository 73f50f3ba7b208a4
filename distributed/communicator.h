// The processes that mpirun started, as one group for data-parallel training
// (layers/data_parallel.h). Open MPI is loaded only when a process is one of several
// (distributed/open_mpi.h), so programs that can join a job still run alone without MPI.
#ifndef DISTRIBUTED_COMMUNICATOR_H_
#define DISTRIBUTED_COMMUNICATOR_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "autograd/tensor.h"
#include "distributed/open_mpi.h"
#include "layers/data_parallel.h"

namespace distributed {

using autograd::Real;

struct CommunicatorOptions {
  // How long a rank waits in one collective for the others. Past it, the job ends (MPI_Abort)
  // with "rank 0 of 2: rank 1 did not reach collective #57 (allreduce) within 300 s: it is
  // stopped, hung or far slower; ending the job", so that a stopped or hung rank (alive: MPI
  // itself never notices) cannot keep the others waiting for ever. absl::InfiniteDuration():
  // wait for ever, in blocking MPI calls.
  absl::Duration collective_timeout = absl::Seconds(300);
};

class Communicator final : public layers::DataParallel {
 public:
  // Joins the job when Open MPI's environment says this process is one of several
  // (OMPI_COMM_WORLD_SIZE > 1): loads Open MPI, MPI_Init, errors returned rather than fatal.
  // Null when the process runs alone (no mpirun, or mpirun -np 1).
  static absl::StatusOr<std::unique_ptr<Communicator>> FromEnvironment(
      const CommunicatorOptions& options = {});
  ~Communicator() override;  // MPI_Finalize
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  // Every collective is bounded by options.collective_timeout: it is started nonblocking
  // (MPI_Ibcast, MPI_Iallreduce) and polled with MPI_Test until it completes or the time is up.
  // While it waits, a rank answers the others' "have you reached collective #k?" (a message of
  // 24 bytes, sent only by a rank whose time is up), so that the rank that ends the job can name
  // the ranks that did not answer. Nothing else is exchanged: the per-step cost is the
  // nonblocking collective itself.
  // One MPI_Ibcast from rank 0 (split only past 2^31 - 1 values, MPI's int counts).
  absl::Status Broadcast(Real* values, size_t count) override;
  // One MPI_Iallreduce, in place (split only past 2^31 - 1 values).
  absl::Status AllreduceSum(float* values, size_t count) override;
  absl::Status AllreduceSum(double* values, size_t count) override;
  // Stops every process of the job (MPI_Abort) after printing "rank R of N: <message>" to
  // stderr, so that a rank that fails ends the job instead of leaving the others waiting.
  [[noreturn]] void Abort(const absl::Status& status);

  // What this rank has sent through collectives so far, and the wall time spent in them
  // (waiting for slower ranks included).
  struct Traffic {
    size_t calls = 0;  // collectives, numbered from 1 in the timeout's message
    size_t bytes = 0;
    double seconds = 0;
  };
  const Traffic& traffic() const { return traffic_; }
  // CommunicatorOptions::collective_timeout, from the next collective on (the same on every rank,
  // or the ranks' timeouts differ).
  absl::Duration collective_timeout() const { return timeout_; }
  void set_collective_timeout(absl::Duration timeout) { timeout_ = timeout; }

 private:
  Communicator(const open_mpi::Library& mpi, int rank, int size, absl::Duration timeout)
      : mpi_(mpi), rank_(rank), size_(size), timeout_(timeout) {}
  // MPI counts are ints: larger buffers go in pieces, one collective each. `start` starts the
  // nonblocking collective (MPI_I<mpi_name>) on a piece, `blocking` runs it blocking
  // (MPI_<mpi_name>, without a timeout); `what` names it in messages.
  template <typename T, typename Start, typename Blocking>
  absl::Status InPieces(T* data, size_t count, const char* mpi_name, const char* what,
                        const Start& start, const Blocking& blocking);
  template <typename T>
  absl::Status Sum(T* values, size_t count, open_mpi::Datatype type);
  // Polls `request`, collective number `collective` (`what`: "allreduce"), until it completes,
  // answering the other ranks' questions meanwhile. Past the timeout, asks every other rank
  // whether it has reached the collective and ends the job naming those that do not answer (a
  // rank answers while it waits in any collective); if all answer, waits one timeout more, then
  // ends the job (their collectives must differ).
  absl::Status Await(open_mpi::Request& request, int64_t collective, const char* what);
  // Asks every other rank whether it has reached collective `collective` and waits up to a
  // second for the answers, polling `request` (`done` set if it completes meanwhile). Returns the
  // ranks that did not answer.
  absl::StatusOr<std::vector<int>> AskWhoReached(open_mpi::Request& request, int64_t collective,
                                                 int& done);
  // Answers every question waiting for this rank (with the collective it is in) and takes every
  // answer to its own questions: one about `asked` marks `answered[rank]` (answers about earlier
  // collectives, which completed meanwhile, are dropped).
  absl::Status Service(int64_t asked, std::vector<bool>* answered);
  // Sends {this rank, a, b} to `destination` without waiting (the buffer lives until sent).
  absl::Status Post(int destination, int tag, int64_t a, int64_t b);

  const open_mpi::Library& mpi_;
  int rank_, size_;
  absl::Duration timeout_;
  Traffic traffic_;
  int64_t current_ = 0;  // the collective this rank is waiting in, 0 when in none
  struct Sent {
    open_mpi::Request request;
    std::unique_ptr<std::array<int64_t, 3>> message;
  };
  std::vector<Sent> sent_;  // questions and answers not yet known to be sent
};

}  // namespace distributed

#endif  // DISTRIBUTED_COMMUNICATOR_H_
