// Data-parallel training as Sequential sees it: the processes of one job, each holding a replica
// of the model and a shard of the data. //distributed implements it over MPI; //layers itself
// needs no MPI, and a model never given one trains exactly as before.
//
// What Sequential does with it (Sequential::set_data_parallel):
//  - Fit first checks, in one AllreduceSum, that every rank can train on its shard and that the
//    ranks agree on everything the collectives pair up by (Agree below): the shard's size, the
//    options, the input shape, every weight's shape and the random generator (the seed). A
//    difference is the same error on every rank, naming it, instead of a hang, MPI's
//    MPI_ERR_TRUNCATE or replicas that silently train apart. TrainOnBatch checks the model alike
//    on its first call.
//  - Fit then broadcasts rank 0's weights, so every replica starts equal.
//  - Each rank passes Fit its own shard; a global batch of B samples is B / size rows of every
//    rank's shard (B must be a multiple of size). After backward every gradient, the loss and the
//    metrics' sums go into one buffer and one AllreduceSum averages them; every rank then takes
//    the same optimizer step, so replicas stay equal.
//  - Evaluate sums loss and accuracy over every rank's shard; Predict stays local.
//  - Only rank 0 prints, saves, and runs the callbacks that write files.
//  - Dropout masks do not depend on the number of ranks: each rank draws the mask of the whole
//    global batch from the common generator and keeps its own rows (the trainer passes the rows
//    down in every layer's CallContext, layers/layer.h).
#ifndef LAYERS_DATA_PARALLEL_H_
#define LAYERS_DATA_PARALLEL_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "autograd/tensor.h"

namespace layers {

class DataParallel {
 public:
  virtual ~DataParallel() = default;
  virtual int rank() const = 0;  // 0 .. size() - 1
  virtual int size() const = 0;
  // Rank 0's `count` values replace every other rank's.
  virtual absl::Status Broadcast(autograd::Real* values, size_t count) = 0;
  // Every rank's `count` values summed, in place on every rank, in one collective call. The two
  // types are spelled out, not autograd::Real: in the double build (AUTOGRAD_REAL=double) Real
  // and double would declare the same function twice; there, Real buffers take the double one.
  virtual absl::Status AllreduceSum(float* values, size_t count) = 0;
  virtual absl::Status AllreduceSum(double* values, size_t count) = 0;
};

// A value every rank must share, as numbers exact in a double (so that one AllreduceSum gathers
// them from every rank), and how to show one rank's numbers in an error.
struct Agreed {
  std::string what;             // "batch_size", "input shape", ...: "must agree on the <what>"
  std::vector<double> numbers;  // as many on every rank
  std::function<std::string(const double* numbers)> show;
  std::string advice;      // how to mend a difference: "build the same model on every rank"
  bool must_agree = true;  // false: only gathered (each rank's rows of a batch)
  // When set, called instead of the plain error on a difference, with each rank's numbers; it
  // may gather more (every rank calls it alike) and returns the error to give.
  std::function<absl::Status(const std::vector<const double*>& numbers)> explain;
};

// Gathers from every rank of `group`, in one AllreduceSum, whether it can go on (`usable`) and
// the numbers of `entries`, then returns every rank's numbers (rank after rank: 0 or 1 for
// unusable, then each entry's), or else the same kind of error on every rank: the rank's own
// error where `usable` failed, "<method>: rank R of the job cannot train on its <data> (its own
// error says why), so no rank does" on the others; or, for the first entry on which the ranks
// differ, "<method>: the N processes of the job must agree on the <what>, but have <rank 0's>,
// <rank 1's>, ... (rank 0, 1, ...): <advice>". Where every rank's numbers show alike but differ,
// each is followed by " #<hex>" of its last number (a hash).
absl::StatusOr<std::vector<double>> Agree(DataParallel& group, absl::string_view method,
                                          absl::string_view data, const absl::Status& usable,
                                          const std::vector<Agreed>& entries);

// 52 bits of FNV-1a over `bytes`: exact in a double.
double Hash52(absl::string_view bytes);
// A shape as kShapeNumbers numbers: its number of axes, its first four sizes (0 past the end) and
// Hash52 of all of them, for Agreed; ShowShape prints them as "(5000, 32)" ("..." past four).
inline constexpr size_t kShapeNumbers = 6;
std::vector<double> ShapeNumbers(const autograd::Shape& shape);
std::string ShowShape(const double* numbers);

// Data-parallel work over a model's parameters (flashlight's allReduceParameters /
// allReduceGradients): the model knows nothing of it; the trainer calls these.
//
// Rank 0's parameter values to every rank, in one Broadcast.
absl::Status BroadcastParameters(DataParallel& group, const std::vector<autograd::Tensor>& parameters);
// Replaces every gradient by the global batch's mean, in one AllreduceSum of one buffer: every
// gradient times this rank's `rows`, one "has a gradient" count per parameter, then `sums`
// (values the caller wants summed over ranks alongside, e.g. the loss times the rows), which come
// back summed. Divided by `global_rows`, the sums of the gradients are the global batch's mean
// whatever the ranks' shares.
absl::Status AllreduceGradients(DataParallel& group, const std::vector<autograd::Tensor>& parameters,
                                size_t rows, size_t global_rows, std::vector<double>& sums);
// What every replica must share for Agree: the input shapes, every weight's shape (named by
// `weight_names` in an error) and the random generator's state (shown by `seed` when known);
// `method` ("fit") begins the errors.
std::vector<Agreed> ModelAgreement(DataParallel& group, const std::string& method,
                                   const std::vector<autograd::Shape>& input_shapes,
                                   const std::vector<autograd::Tensor>& parameters,
                                   const std::vector<std::string>& weight_names,
                                   const std::string& generator_state,
                                   std::optional<uint64_t> seed);

}  // namespace layers

#endif  // LAYERS_DATA_PARALLEL_H_
