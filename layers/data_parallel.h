// Data-parallel training as Sequential sees it: the processes of one job, each holding a replica
// of the model and a shard of the data. //distributed implements it over MPI; //layers itself
// needs no MPI, and a model never given one trains exactly as before.
//
// What Sequential does with it (Sequential::set_data_parallel):
//  - Fit starts by broadcasting rank 0's weights, so every replica starts equal.
//  - Each rank passes Fit its own shard; a global batch of B samples is B / size rows of every
//    rank's shard (B must be a multiple of size). After backward every gradient, the loss and the
//    metrics' sums go into one buffer and one AllreduceSum averages them; every rank then takes
//    the same optimizer step, so replicas stay equal.
//  - Evaluate sums loss and accuracy over every rank's shard; Predict stays local.
//  - Only rank 0 prints, saves, and runs the callbacks that write files.
//  - Dropout masks do not depend on the number of ranks: each rank draws the mask of the whole
//    global batch from the common generator and keeps its own rows (BatchShare below).
#ifndef LAYERS_DATA_PARALLEL_H_
#define LAYERS_DATA_PARALLEL_H_

#include <cstddef>

#include "absl/status/status.h"
#include "autograd/tensor.h"

namespace layers {

class DataParallel {
 public:
  virtual ~DataParallel() = default;
  virtual int rank() const = 0;  // 0 .. size() - 1
  virtual int size() const = 0;
  // Rank 0's `count` values replace every other rank's.
  virtual absl::Status Broadcast(autograd::Real* values, size_t count) = 0;
  // Every rank's `count` values summed, in place on every rank, in one collective call.
  virtual absl::Status AllreduceSum(autograd::Real* values, size_t count) = 0;
  virtual absl::Status AllreduceSum(double* values, size_t count) = 0;
};

// While one lives on a thread, a batch of n rows there is rows [first_row, first_row + n) of a
// global batch of `global_rows`: DropoutMask draws the global batch's mask and keeps those rows,
// so every sample gets the mask it would get in one process with the whole batch. Guards nest;
// the innermost wins.
class BatchShare {
 public:
  BatchShare(size_t global_rows, size_t first_row);
  ~BatchShare();
  BatchShare(const BatchShare&) = delete;
  BatchShare& operator=(const BatchShare&) = delete;
  // The innermost share on this thread, or null.
  static const BatchShare* Current();
  size_t global_rows() const { return global_rows_; }
  size_t first_row() const { return first_row_; }

 private:
  size_t global_rows_, first_row_;
  const BatchShare* outer_;
};

}  // namespace layers

#endif  // LAYERS_DATA_PARALLEL_H_
