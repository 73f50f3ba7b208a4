#include "distributed/communicator.h"

#include <mpi.h>

#include <cstdio>
#include <cstdlib>
#include <limits>
#include <type_traits>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"

namespace distributed {
namespace {

MPI_Datatype RealType() { return std::is_same_v<Real, double> ? MPI_DOUBLE : MPI_FLOAT; }

// MPI's error code as text: "MPI_ERR_TRUNCATE: message truncated".
absl::Status MpiError(const char* call, int code) {
  if (code == MPI_SUCCESS) return absl::OkStatus();
  char text[MPI_MAX_ERROR_STRING] = {};
  int length = 0;
  MPI_Error_string(code, text, &length);
  return absl::InternalError(absl::StrFormat("%s failed: %s", call, text));
}

// MPI counts are ints: larger buffers go in pieces.
template <typename Call>
absl::Status InPieces(Real* data, size_t n, const char* name, const Call& call) {
  constexpr size_t kPiece = std::numeric_limits<int>::max();
  for (size_t begin = 0; begin < n; begin += kPiece) {
    const int count = static_cast<int>(std::min(kPiece, n - begin));
    if (absl::Status status = MpiError(name, call(data + begin, count)); !status.ok()) {
      return status;
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Communicator>> Communicator::FromEnvironment() {
  const char* world = std::getenv("OMPI_COMM_WORLD_SIZE");
  int processes = 0;
  if (world == nullptr || !absl::SimpleAtoi(world, &processes) || processes <= 1) return nullptr;
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    if (absl::Status status = MpiError("MPI_Init", MPI_Init(nullptr, nullptr)); !status.ok()) {
      return status;
    }
  }
  // Errors come back as codes, to be reported with the rank, instead of aborting silently.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  int rank = 0, size = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  return std::unique_ptr<Communicator>(new Communicator(rank, size));
}

Communicator::~Communicator() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

absl::Status Communicator::Broadcast(Real* data, size_t n) {
  return InPieces(data, n, "MPI_Bcast", [](Real* piece, int count) {
    return MPI_Bcast(piece, count, RealType(), 0, MPI_COMM_WORLD);
  });
}

absl::Status Communicator::AllreduceSum(Real* data, size_t n) {
  return InPieces(data, n, "MPI_Allreduce", [](Real* piece, int count) {
    return MPI_Allreduce(MPI_IN_PLACE, piece, count, RealType(), MPI_SUM, MPI_COMM_WORLD);
  });
}

void Communicator::Abort(const absl::Status& status) {
  std::fprintf(stderr, "rank %d of %d: %s\n", rank_, size_, std::string(status.message()).c_str());
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, 1);
  std::abort();  // MPI_Abort does not return; in case it does
}

}  // namespace distributed
