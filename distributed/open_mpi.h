// Open MPI, loaded only when a job needs it. Nothing here links an MPI library: programs build
// without MPI's headers and run where Open MPI is not installed, and only a process that mpirun
// started loads libmpi.so.40 (Debian's libopenmpi3). The dozen entry points used are declared
// with the MPI standard's signatures; Open MPI's handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, ...)
// are the addresses of its predefined objects, found by name. //distributed:open_mpi_abi_test
// checks all of it against Open MPI's own mpi.h.
#ifndef DISTRIBUTED_OPEN_MPI_H_
#define DISTRIBUTED_OPEN_MPI_H_

#include "absl/status/statusor.h"

// Open MPI's opaque handle types, as mpi.h declares them (at global scope).
struct ompi_communicator_t;
struct ompi_datatype_t;
struct ompi_op_t;
struct ompi_errhandler_t;

namespace distributed::open_mpi {

using Comm = ompi_communicator_t*;
using Datatype = ompi_datatype_t*;
using Op = ompi_op_t*;
using Errhandler = ompi_errhandler_t*;

inline constexpr int kSuccess = 0;                         // MPI_SUCCESS
inline constexpr int kMaxErrorString = 256;                // MPI_MAX_ERROR_STRING
inline void* const kInPlace = reinterpret_cast<void*>(1);  // MPI_IN_PLACE

struct Library {
  int (*Init)(int* argc, char*** argv);
  int (*Initialized)(int* flag);
  int (*Finalized)(int* flag);
  int (*Finalize)();
  int (*Comm_rank)(Comm comm, int* rank);
  int (*Comm_size)(Comm comm, int* size);
  int (*Comm_set_errhandler)(Comm comm, Errhandler handler);
  int (*Bcast)(void* buffer, int count, Datatype type, int root, Comm comm);
  int (*Allreduce)(const void* send, void* receive, int count, Datatype type, Op op, Comm comm);
  int (*Abort)(Comm comm, int code);
  int (*Error_string)(int code, char* text, int* length);
  Comm comm_world;           // MPI_COMM_WORLD
  Datatype float_type;       // MPI_FLOAT
  Datatype double_type;      // MPI_DOUBLE
  Op sum;                    // MPI_SUM
  Errhandler errors_return;  // MPI_ERRORS_RETURN
};

// Loads libmpi.so.40 once (RTLD_GLOBAL: Open MPI's own plugins link against it). The error says
// what is missing and what to install.
absl::StatusOr<const Library*> Load();

}  // namespace distributed::open_mpi

#endif  // DISTRIBUTED_OPEN_MPI_H_
