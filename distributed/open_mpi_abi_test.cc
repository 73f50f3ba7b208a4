// The declarations in open_mpi.h against Open MPI's own mpi.h: the same constants, and the loaded
// entry points and handles are the very ones this test links against.
#include <mpi.h>

#include <type_traits>

#include "distributed/open_mpi.h"
#include "gtest/gtest.h"

namespace distributed::open_mpi {
namespace {

static_assert(std::is_same_v<Comm, MPI_Comm>);
static_assert(std::is_same_v<Datatype, MPI_Datatype>);
static_assert(std::is_same_v<Op, MPI_Op>);
static_assert(std::is_same_v<Errhandler, MPI_Errhandler>);
static_assert(std::is_same_v<Request, MPI_Request>);
static_assert(std::is_same_v<Status, MPI_Status>);
static_assert(kSuccess == MPI_SUCCESS);
static_assert(kMaxErrorString == MPI_MAX_ERROR_STRING);
static_assert(kAnySource == MPI_ANY_SOURCE);
// The signatures, exactly as mpi.h declares them.
static_assert(std::is_same_v<decltype(Library::Init), decltype(&MPI_Init)>);
static_assert(std::is_same_v<decltype(Library::Initialized), decltype(&MPI_Initialized)>);
static_assert(std::is_same_v<decltype(Library::Finalized), decltype(&MPI_Finalized)>);
static_assert(std::is_same_v<decltype(Library::Finalize), decltype(&MPI_Finalize)>);
static_assert(std::is_same_v<decltype(Library::Comm_rank), decltype(&MPI_Comm_rank)>);
static_assert(std::is_same_v<decltype(Library::Comm_size), decltype(&MPI_Comm_size)>);
static_assert(
    std::is_same_v<decltype(Library::Comm_set_errhandler), decltype(&MPI_Comm_set_errhandler)>);
static_assert(std::is_same_v<decltype(Library::Bcast), decltype(&MPI_Bcast)>);
static_assert(std::is_same_v<decltype(Library::Allreduce), decltype(&MPI_Allreduce)>);
static_assert(std::is_same_v<decltype(Library::Ibcast), decltype(&MPI_Ibcast)>);
static_assert(std::is_same_v<decltype(Library::Iallreduce), decltype(&MPI_Iallreduce)>);
static_assert(std::is_same_v<decltype(Library::Test), decltype(&MPI_Test)>);
static_assert(std::is_same_v<decltype(Library::Isend), decltype(&MPI_Isend)>);
static_assert(std::is_same_v<decltype(Library::Recv), decltype(&MPI_Recv)>);
static_assert(std::is_same_v<decltype(Library::Iprobe), decltype(&MPI_Iprobe)>);
static_assert(std::is_same_v<decltype(Library::Request_free), decltype(&MPI_Request_free)>);
static_assert(std::is_same_v<decltype(Library::Abort), decltype(&MPI_Abort)>);
static_assert(std::is_same_v<decltype(Library::Error_string), decltype(&MPI_Error_string)>);

TEST(OpenMpiAbi, LoadedEntryPointsAndHandlesAreMpiHs) {
  absl::StatusOr<const Library*> loaded = Load();
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const Library& mpi = **loaded;
  EXPECT_EQ(kInPlace, MPI_IN_PLACE);
  EXPECT_EQ(kStatusIgnore, MPI_STATUS_IGNORE);
  EXPECT_EQ(mpi.Init, &MPI_Init);
  EXPECT_EQ(mpi.Initialized, &MPI_Initialized);
  EXPECT_EQ(mpi.Finalized, &MPI_Finalized);
  EXPECT_EQ(mpi.Finalize, &MPI_Finalize);
  EXPECT_EQ(mpi.Comm_rank, &MPI_Comm_rank);
  EXPECT_EQ(mpi.Comm_size, &MPI_Comm_size);
  EXPECT_EQ(mpi.Comm_set_errhandler, &MPI_Comm_set_errhandler);
  EXPECT_EQ(mpi.Bcast, &MPI_Bcast);
  EXPECT_EQ(mpi.Allreduce, &MPI_Allreduce);
  EXPECT_EQ(mpi.Ibcast, &MPI_Ibcast);
  EXPECT_EQ(mpi.Iallreduce, &MPI_Iallreduce);
  EXPECT_EQ(mpi.Test, &MPI_Test);
  EXPECT_EQ(mpi.Isend, &MPI_Isend);
  EXPECT_EQ(mpi.Recv, &MPI_Recv);
  EXPECT_EQ(mpi.Iprobe, &MPI_Iprobe);
  EXPECT_EQ(mpi.Request_free, &MPI_Request_free);
  EXPECT_EQ(mpi.Abort, &MPI_Abort);
  EXPECT_EQ(mpi.Error_string, &MPI_Error_string);
  EXPECT_EQ(mpi.comm_world, MPI_COMM_WORLD);
  EXPECT_EQ(mpi.float_type, MPI_FLOAT);
  EXPECT_EQ(mpi.double_type, MPI_DOUBLE);
  EXPECT_EQ(mpi.int64_type, MPI_INT64_T);
  EXPECT_EQ(mpi.sum, MPI_SUM);
  EXPECT_EQ(mpi.errors_return, MPI_ERRORS_RETURN);
}

}  // namespace
}  // namespace distributed::open_mpi
