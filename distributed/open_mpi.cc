#include "distributed/open_mpi.h"

#include <dlfcn.h>

#include <string>

#include "absl/strings/str_format.h"

namespace distributed::open_mpi {
namespace {

constexpr char kLibrary[] = "libmpi.so.40";

absl::StatusOr<Library> LoadOnce() {
  void* handle = dlopen(kLibrary, RTLD_NOW | RTLD_GLOBAL);
  if (handle == nullptr) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "this process was started by mpirun, but Open MPI's %s cannot be loaded (%s): install "
        "openmpi-bin and libopenmpi-dev (tools/setup.sh does)",
        kLibrary, dlerror()));
  }
  Library library{};
  std::string missing;
  const auto find = [&](auto& field, const char* name) {
    // The global scope, not the handle's: where a program also links libmpi, its copy of
    // Open MPI's predefined objects (copy relocations) is the one MPI itself uses.
    void* symbol = dlsym(RTLD_DEFAULT, name);
    if (symbol == nullptr) missing += absl::StrFormat(" %s", name);
    field = reinterpret_cast<std::remove_reference_t<decltype(field)>>(symbol);
  };
  find(library.Init, "MPI_Init");
  find(library.Initialized, "MPI_Initialized");
  find(library.Finalized, "MPI_Finalized");
  find(library.Finalize, "MPI_Finalize");
  find(library.Comm_rank, "MPI_Comm_rank");
  find(library.Comm_size, "MPI_Comm_size");
  find(library.Comm_set_errhandler, "MPI_Comm_set_errhandler");
  find(library.Bcast, "MPI_Bcast");
  find(library.Allreduce, "MPI_Allreduce");
  find(library.Ibcast, "MPI_Ibcast");
  find(library.Iallreduce, "MPI_Iallreduce");
  find(library.Test, "MPI_Test");
  find(library.Isend, "MPI_Isend");
  find(library.Recv, "MPI_Recv");
  find(library.Iprobe, "MPI_Iprobe");
  find(library.Request_free, "MPI_Request_free");
  find(library.Abort, "MPI_Abort");
  find(library.Error_string, "MPI_Error_string");
  find(library.comm_world, "ompi_mpi_comm_world");
  find(library.float_type, "ompi_mpi_float");
  find(library.double_type, "ompi_mpi_double");
  find(library.int64_type, "ompi_mpi_int64_t");
  find(library.sum, "ompi_mpi_op_sum");
  find(library.errors_return, "ompi_mpi_errors_return");
  if (!missing.empty()) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "%s lacks%s: it is not the Open MPI 4 or 5 this program expects", kLibrary, missing));
  }
  return library;
}

}  // namespace

absl::StatusOr<const Library*> Load() {
  static const absl::StatusOr<Library>* const library = new absl::StatusOr<Library>(LoadOnce());
  if (!library->ok()) return library->status();
  return &**library;
}

}  // namespace distributed::open_mpi
