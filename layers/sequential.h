// Keras' Sequential model: add layers, compile with a loss, an optimizer and metrics, then fit,
// evaluate, predict and print a summary.
#ifndef LAYERS_SEQUENTIAL_H_
#define LAYERS_SEQUENTIAL_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "autograd/optimizers.h"
#include "layers/data_parallel.h"
#include "layers/layer.h"
#include "layers/options.h"

namespace layers {

class Callback;  // layers/callbacks.h

struct FitOptions {
  // Trains epochs initial_epoch + 1 .. epochs (Keras' initial_epoch: the epochs already done,
  // when resuming).
  LAYERS_ARG(size_t, epochs, 1);
  LAYERS_ARG(size_t, initial_epoch, 0);
  LAYERS_ARG(size_t, batch_size, 32);
  // 0: silent; 1: a progress bar on a terminal (plain per-epoch lines otherwise); 2: one line per
  // epoch.
  LAYERS_ARG(int, verbose, 1);
  // Reshuffle the training samples before every epoch (Keras' default).
  LAYERS_ARG(bool, shuffle, true);
  // Evaluated after every epoch when both are set (Keras' validation_data).
  LAYERS_ARG(Array, validation_x, Array());
  LAYERS_ARG(Array, validation_y, Array());
  // Keras' TerminateOnNaN, on by default here: a batch whose loss is NaN or infinite stops
  // training with an error, before its update reaches the weights.
  LAYERS_ARG(bool, terminate_on_nan, true);
  // Called after every epoch, in this order (ModelCheckpoint, EarlyStopping, CSVLogger, ...).
  LAYERS_ARG(std::vector<std::shared_ptr<Callback>>, callbacks, {});
  // Batches of samples of similar real length (the span of their unmasked steps; needs a model
  // whose first layer makes a mask): each epoch the samples are shuffled, sorted by length (ties
  // stay shuffled), cut into batches, and the batches shuffled; all from the model's generator,
  // so reproducibly. Recurrent layers then skip the steps no sample of a batch needs. Validation
  // is bucketed too.
  LAYERS_ARG(bool, bucket_by_length, false);
};

// Keras' History.history: "loss", the compiled metric under the name it was given ("acc" or
// "accuracy"), and "val_" variants, one value per epoch.
struct History {
  std::map<std::string, std::vector<double>> history;
};

// Loss and, when "acc" was compiled, accuracy (NaN otherwise). With a mask at the output,
// accuracy counts only real steps (Keras passes the mask to metrics as sample weights).
struct Scores {
  double loss = 0;
  double accuracy = 0;
  // What the accuracy averages over: rows of the output (real steps only, with a mask).
  double accuracy_weight = 0;
};

class Sequential {
 public:
  explicit Sequential(uint64_t seed = 0, std::string name = "sequential");

  // Appends a layer, naming it as Keras does ("lstm", "lstm_1", ...). The first layer needs
  // input_shape without the batch axis, like Keras' input_shape=(10, 1).
  void Add(LayerPtr layer, Shape input_shape = {});

  // Keras' model.build(): creates every layer's weights for the input shape (errors name the
  // layer). Enough for Predict and SaveWeights; Compile builds too.
  absl::Status Build();

  // Keras' masking: a mask made by Embedding(mask_zero=true) or Masking travels through the
  // layers that support masks (an error names the first that does not) until a recurrent layer
  // without return_sequences consumes it. One that reaches the output weights the loss: masked
  // steps contribute nothing, and the divisor stays the count of all steps (tf.keras 2;
  // autograd/losses.h).
  // Builds every layer and sets the loss ("binary_crossentropy", "categorical_crossentropy" or
  // "mse") and metrics ({} or {"acc"}; "accuracy" is accepted too). Errors name the layer.
  absl::Status Compile(const std::string& loss, std::unique_ptr<autograd::Optimizer> optimizer,
                       std::vector<std::string> metrics = {});

  // x: [samples, input_shape...], y: [samples, output_shape...]. Fit, TrainOnBatch and Evaluate
  // refuse empty data and NaN or infinite values (the error names the first one's position);
  // batch sizes must be positive.
  //
  // Data-parallel (set_data_parallel): x and y are this rank's shard. Fit needs shards of equal
  // size, the same options and the same model on every rank: input shape, every weight's shape
  // and the random generator (the seed; a resumed model's saved state). All are checked in one
  // collective, and a difference is the same error on every rank, naming it ("the 2 processes of
  // the job must agree on the input shape, but have (500), (300) (rank 0, 1, ...)"). The
  // batch_size must be a multiple of the number of ranks: each step takes batch_size / ranks rows
  // of every shard. Scores and History are the whole job's. TrainOnBatch takes this rank's share
  // of one global batch (any sizes; the rows are ordered by rank) and checks the model on its
  // first call. Fit and TrainOnBatch check every rank's data first (a NaN in one stops every
  // rank, with its error there and "rank R ... cannot train" elsewhere); other errors that only
  // one rank meets (in Evaluate, a layer) leave the others waiting in the next collective: end
  // the job then (distributed::Communicator::Abort; its collectives also time out).
  absl::StatusOr<History> Fit(const Array& x, const Array& y, const FitOptions& options = {});
  // One gradient step on one batch; returns the batch's loss and accuracy before the update.
  absl::StatusOr<Scores> TrainOnBatch(const Array& x, const Array& y);
  // bucket_by_length: batches of samples of similar real length (as FitOptions; the order of the
  // results is that of x).
  // Data-parallel: each rank evaluates its shard (of any size); the scores are the job's.
  absl::StatusOr<Scores> Evaluate(const Array& x, const Array& y, size_t batch_size = 32,
                                  bool bucket_by_length = false);
  // Records nothing on the tape. Returns [samples, output_shape...].
  absl::StatusOr<Array> Predict(const Array& x, size_t batch_size = 32,
                                bool bucket_by_length = false);
  // Class per output: p > 0.5 for a single unit (same shape as Predict), else the arg max over
  // the last axis (that axis dropped).
  absl::StatusOr<Array> PredictClasses(const Array& x, size_t batch_size = 32);

  // Keras' model.save(path, save_format="h5"): one HDF5 file with the architecture, the weights,
  // the compile arguments, the optimizer's state and what exact resumption needs (layers/saving.h
  // lists it). The file appears whole or not at all; an old file under `path` survives a failure.
  // Data-parallel: only rank 0 writes (the replicas are equal); other ranks return OkStatus.
  absl::Status Save(const std::string& path) const;
  // Keras' save_weights / load_weights (HDF5): the weights alone; loading needs a model of the
  // same architecture (layer names, count and every shape are checked, nothing changes on error).
  absl::Status SaveWeights(const std::string& path) const;
  absl::Status LoadWeights(const std::string& path);

  // What an exact resumption needs besides the weights and the optimizer's state.
  struct TrainingState {
    std::string rng;              // the generator's state (std::mt19937_64's text form)
    std::vector<uint64_t> order;  // the sample order the next epoch's shuffle starts from
    int64_t epochs = 0;           // epochs trained so far
  };
  TrainingState GetTrainingState() const;
  // Data-parallel training over the processes of `group` (layers/data_parallel.h); null, the
  // default, trains alone. The next Fit or TrainOnBatch starts from rank 0's weights.
  void set_data_parallel(std::shared_ptr<DataParallel> group);
  DataParallel* data_parallel() const { return data_parallel_.get(); }
  // Whether this process prints, saves and writes files: alone, or rank 0 of a group.
  bool is_chief() const { return data_parallel_ == nullptr || data_parallel_->rank() == 0; }
  absl::Status SetTrainingState(const TrainingState& state);

  // Text preprocessing kept with the model (a JSON document, e.g. the tokenizer's word index),
  // saved in the file so that prediction on raw text needs nothing else.
  const std::string& preprocessing() const { return preprocessing_; }
  void set_preprocessing(std::string json) { preprocessing_ = std::move(json); }

  // Keras' summary table (layer, output shape, parameters, totals).
  std::string Summary() const;
  size_t CountParams() const;
  std::vector<Tensor> Parameters() const;
  // Keras' model.get_weights(): every layer's arrays, in order.
  std::vector<Array> GetWeights() const;
  const std::vector<LayerPtr>& layers() const { return layers_; }
  // Precondition: index < layers().size(), checked in every build: a violation prints the
  // index and the layer count and aborts. GetLayer returns an error instead.
  Layer& layer(size_t index);
  // Keras' get_layer(index=...) / get_layer(name=...): an error naming the model and what it
  // has when there is no such layer.
  absl::StatusOr<Layer*> GetLayer(size_t index) const;
  absl::StatusOr<Layer*> GetLayer(const std::string& name) const;
  Rng& rng() { return rng_; }
  // The seed the model was made with; unknown (nullopt) once SetTrainingState replaced the
  // generator's state.
  std::optional<uint64_t> seed() const { return seed_; }
  const std::string& name() const { return name_; }
  // The input shape without the batch axis.
  const Shape& input_shape() const { return input_shape_; }
  bool built() const { return built_; }
  bool compiled() const { return compiled_; }
  // As compiled: the loss's and the metrics' Keras names, and the optimizer (null before).
  const std::string& loss() const { return loss_; }
  std::vector<std::string> metrics() const;
  autograd::Optimizer* optimizer() { return optimizer_.get(); }
  const autograd::Optimizer* optimizer() const { return optimizer_.get(); }

 private:
  // Compiled (built is enough for predict), x and y (when given) shaped for the model and, with
  // `finite`, free of NaN and infinities; `method` ("fit", "evaluate", ...) begins every error.
  absl::Status CheckData(const Array& x, const Array* y, const char* method, bool finite) const;
  // One gradient step; with `terminate_on_nan`, a non-finite loss is an error and no update.
  // Data-parallel, x and y are rows [first_row, first_row + rows) of a global batch of
  // `global_rows`; the scores are the global batch's.
  absl::StatusOr<Scores> TrainStep(const Array& x, const Array& y, bool terminate_on_nan,
                                   size_t global_rows = 0, size_t first_row = 0);
  // Data-parallel: replaces every gradient (and the scores) by the global batch's, with one
  // AllreduceSum; each rank's gradients weigh by its rows.
  absl::Status AverageGradients(size_t rows, size_t global_rows, Scores& scores);
  // Data-parallel: rank 0's weights to every rank, in one Broadcast.
  absl::Status BroadcastWeights();
  // Data-parallel: what every replica must share for Agree (layers/data_parallel.h): the input
  // shape, every weight's shape and the random generator's state (shown by the seed); `method`
  // ("fit") begins the errors.
  std::vector<Agreed> ModelAgreement(const std::string& method) const;
  // The model's output for x, and the mask that reaches it (if any).
  struct Output {
    Tensor value;
    std::optional<Array> mask;
  };
  absl::StatusOr<Output> Forward(const Array& x, bool training);
  struct BatchLoss {
    Tensor loss;
    Array predictions;  // the model's outputs (probabilities), for the metrics
    std::optional<Array> mask;
  };
  absl::StatusOr<BatchLoss> LossOnBatch(const Array& x, const Array& y, bool training);
  // Accuracy and its weight (Scores) of a batch.
  void SetAccuracy(const BatchLoss& batch, const Array& targets, Scores& scores) const;
  // Each sample's span of real steps, by the mask the first layer makes of x, for bucketing;
  // `method` begins the error when the model makes no mask.
  absl::StatusOr<std::vector<size_t>> RealLengths(const Array& x, const char* method) const;
  // Batches [begin, end) of `order`, in order.
  static std::vector<std::pair<size_t, size_t>> Batches(size_t samples, size_t batch_size);
  // Rows `indices[begin, end)` of `data`.
  static Array Gather(const Array& data, const std::vector<size_t>& indices, size_t begin,
                      size_t end);

  std::string name_;
  std::optional<uint64_t> seed_;
  Rng rng_;
  std::vector<LayerPtr> layers_;
  std::map<std::string, int> names_used_;
  Shape input_shape_;
  bool built_ = false;
  bool compiled_ = false;
  std::string loss_;
  Tensor (*loss_fn_)(const Tensor& output, const Array& targets, const Array* weights) = nullptr;
  bool categorical_accuracy_ = false;
  bool accuracy_ = false;
  std::string accuracy_name_;  // "acc" or "accuracy", as compiled
  std::unique_ptr<autograd::Optimizer> optimizer_;
  std::vector<Tensor> parameters_;
  std::vector<size_t> order_;  // training samples in the order of the last epoch
  int64_t epochs_trained_ = 0;
  std::string preprocessing_;
  std::shared_ptr<DataParallel> data_parallel_;
  bool weights_shared_ = false;  // set once rank 0's weights have been broadcast
};

}  // namespace layers

#endif  // LAYERS_SEQUENTIAL_H_
