#include "distributed/communicator.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <type_traits>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"

namespace distributed {
namespace {

// MPI's error code as text: "MPI_Allreduce failed: MPI_ERR_TRUNCATE: message truncated".
absl::Status MpiError(const open_mpi::Library& mpi, const char* call, int code) {
  if (code == open_mpi::kSuccess) return absl::OkStatus();
  char text[open_mpi::kMaxErrorString] = {};
  int length = 0;
  mpi.Error_string(code, text, &length);
  return absl::InternalError(absl::StrFormat("%s failed: %s", call, text));
}

// MPI counts are ints: larger buffers go in pieces.
template <typename T, typename Call>
absl::Status InPieces(const open_mpi::Library& mpi, T* data, size_t n, const char* name,
                      Communicator::Traffic& traffic, const Call& call) {
  const auto start = std::chrono::steady_clock::now();
  ++traffic.calls;
  traffic.bytes += n * sizeof(T);
  struct AddTime {
    std::chrono::steady_clock::time_point start;
    double& seconds;
    ~AddTime() {
      seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
  } add_time{start, traffic.seconds};
  constexpr size_t kPiece = std::numeric_limits<int>::max();
  for (size_t begin = 0; begin < n; begin += kPiece) {
    const int count = static_cast<int>(std::min(kPiece, n - begin));
    if (absl::Status status = MpiError(mpi, name, call(data + begin, count)); !status.ok()) {
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
  absl::StatusOr<const open_mpi::Library*> loaded = open_mpi::Load();
  if (!loaded.ok()) return loaded.status();
  const open_mpi::Library& mpi = **loaded;
  int initialized = 0;
  mpi.Initialized(&initialized);
  if (!initialized) {
    if (absl::Status status = MpiError(mpi, "MPI_Init", mpi.Init(nullptr, nullptr)); !status.ok()) {
      return status;
    }
  }
  // Errors come back as codes, to be reported with the rank, instead of aborting silently.
  mpi.Comm_set_errhandler(mpi.comm_world, mpi.errors_return);
  int rank = 0, size = 0;
  mpi.Comm_rank(mpi.comm_world, &rank);
  mpi.Comm_size(mpi.comm_world, &size);
  return std::unique_ptr<Communicator>(new Communicator(mpi, rank, size));
}

Communicator::~Communicator() {
  int finalized = 0;
  mpi_.Finalized(&finalized);
  if (!finalized) mpi_.Finalize();
}

absl::Status Communicator::Broadcast(Real* values, size_t count) {
  static_assert(std::is_same_v<Real, float>, "the layers train in float32");
  return InPieces(mpi_, values, count, "MPI_Bcast", traffic_, [&](Real* piece, int n) {
    return mpi_.Bcast(piece, n, mpi_.float_type, 0, mpi_.comm_world);
  });
}

template <typename T>
absl::Status Communicator::Sum(T* values, size_t count, open_mpi::Datatype type) {
  return InPieces(mpi_, values, count, "MPI_Allreduce", traffic_, [&](T* piece, int n) {
    return mpi_.Allreduce(open_mpi::kInPlace, piece, n, type, mpi_.sum, mpi_.comm_world);
  });
}

absl::Status Communicator::AllreduceSum(Real* values, size_t count) {
  return Sum(values, count, mpi_.float_type);
}

absl::Status Communicator::AllreduceSum(double* values, size_t count) {
  return Sum(values, count, mpi_.double_type);
}

void Communicator::Abort(const absl::Status& status) {
  std::fflush(stdout);
  std::fprintf(stderr, "rank %d of %d: %s\n", rank_, size_, std::string(status.message()).c_str());
  std::fflush(stderr);
  mpi_.Abort(mpi_.comm_world, 1);
  std::abort();  // MPI_Abort does not return; in case it does
}

}  // namespace distributed
