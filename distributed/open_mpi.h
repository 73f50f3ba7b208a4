// Open MPI, loaded only when a job needs it. Nothing here links an MPI library: programs build
// without MPI's headers and run where Open MPI is not installed, and only a process that mpirun
// started loads libmpi.so.40 (Debian's libopenmpi3). The eighteen entry points used are declared
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
struct ompi_request_t;
struct ompi_status_public_t;

namespace distributed::open_mpi {

using Comm = ompi_communicator_t*;
using Datatype = ompi_datatype_t*;
using Op = ompi_op_t*;
using Errhandler = ompi_errhandler_t*;
using Request = ompi_request_t*;
using Status = ompi_status_public_t;

inline constexpr int kSuccess = 0;                         // MPI_SUCCESS
inline constexpr int kMaxErrorString = 256;                // MPI_MAX_ERROR_STRING
inline void* const kInPlace = reinterpret_cast<void*>(1);  // MPI_IN_PLACE
inline constexpr int kAnySource = -1;                      // MPI_ANY_SOURCE
inline Status* const kStatusIgnore = nullptr;              // MPI_STATUS_IGNORE

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
  // Nonblocking collectives and point-to-point messages: a collective polled with Test until a
  // deadline, tiny messages asking the other ranks whether they have reached it
  // (distributed/communicator.h).
  int (*Ibcast)(void* buffer, int count, Datatype type, int root, Comm comm, Request* request);
  int (*Iallreduce)(const void* send, void* receive, int count, Datatype type, Op op, Comm comm,
                    Request* request);
  int (*Test)(Request* request, int* flag, Status* status);
  int (*Isend)(const void* buffer, int count, Datatype type, int destination, int tag, Comm comm,
               Request* request);
  int (*Recv)(void* buffer, int count, Datatype type, int source, int tag, Comm comm,
              Status* status);
  int (*Iprobe)(int source, int tag, Comm comm, int* flag, Status* status);
  int (*Request_free)(Request* request);
  int (*Abort)(Comm comm, int code);
  int (*Error_string)(int code, char* text, int* length);
  Comm comm_world;           // MPI_COMM_WORLD
  Datatype float_type;       // MPI_FLOAT
  Datatype double_type;      // MPI_DOUBLE
  Datatype int64_type;       // MPI_INT64_T
  Op sum;                    // MPI_SUM
  Errhandler errors_return;  // MPI_ERRORS_RETURN
};

// Loads libmpi.so.40 once (RTLD_GLOBAL: Open MPI's own plugins link against it). The error says
// what is missing and what to install.
absl::StatusOr<const Library*> Load();

}  // namespace distributed::open_mpi

#endif  // DISTRIBUTED_OPEN_MPI_H_
