// Keras' Model: a graph of layer calls from its inputs to its outputs (the Functional API,
// layers/functional.h), compiled with a loss per output, an optimizer and metrics, then trained
// by the trainer every model shares (layers/trainer.cc: fit, evaluate, predict,
// train_on_batch). Sequential (layers/sequential.h) is the chain case of the same class.
//
//   KerasTensor inputs = Input({100});
//   KerasTensor x = Embedding(5000, 32)(inputs);
//   KerasTensor outputs = Dense(1, "sigmoid")(LSTM(100)(x));
//   Model model({inputs}, {outputs}, /*seed=*/7);
//   model.Compile("binary_crossentropy", std::make_unique<autograd::Adam>(), {"acc"});
//   model.Fit(x_train, y_train, FitOptions().epochs(3).batch_size(64));
//
// A model is also a layer: calling it on symbolic tensors puts its whole graph, with its
// weights, inside another model. Sub-models cut from a model (Model(encoder_inputs,
// encoder_states)) share its layers and weights.
#ifndef LAYERS_MODEL_H_
#define LAYERS_MODEL_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "autograd/optimizers.h"
#include "layers/callbacks.h"
#include "layers/compile.h"
#include "layers/data_parallel.h"
#include "layers/functional.h"
#include "layers/layer.h"
#include "layers/options.h"

namespace layers {

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
  // Evaluated after every epoch when both are set (Keras' validation_data), for a model of one
  // input and one output; validation_inputs / validation_targets for any model.
  LAYERS_ARG(Array, validation_x, Array());
  LAYERS_ARG(Array, validation_y, Array());
  LAYERS_ARG(std::vector<Array>, validation_inputs, {});
  LAYERS_ARG(std::vector<Array>, validation_targets, {});
  // Keras' validation_split: the last fraction of the samples (before any shuffling), in [0, 1),
  // held out and evaluated after every epoch. Ignored when validation data is given.
  LAYERS_ARG(double, validation_split, 0.0);
  // Keras' sample_weight: one weight >= 0 per sample, [samples], multiplying that sample's loss
  // terms (every step of a sequence; masked steps stay 0) for every output. The loss still
  // divides by the number of terms; the accuracy does not take the weights (tf.keras 2 passes
  // sample weights to weighted_metrics only).
  LAYERS_ARG(Array, sample_weight, Array());
  // Keras' class_weight: class index -> weight, for a model of one output with targets
  // [samples, classes] (the class is the arg max) or [samples, 1] (0 or 1): each sample's loss
  // terms take its class's weight (times sample_weight when both are given). Keys must be 0 to
  // classes - 1.
  LAYERS_ARG(std::vector<double>, class_weight, {});
  // Adds Keras' TerminateOnNaN (layers/callbacks.h), on by default here: a batch whose loss is
  // NaN or infinite stops training with an error, before its update reaches the weights.
  LAYERS_ARG(bool, terminate_on_nan, true);
  // Called in this order, after the progress bar and before History (ModelCheckpoint,
  // EarlyStopping, CSVLogger, ...).
  LAYERS_ARG(std::vector<std::shared_ptr<Callback>>, callbacks, {});
  // Batches of samples of similar real length (the span of their unmasked steps; needs a model
  // whose first layer makes a mask of the first input): each epoch the samples are shuffled,
  // sorted by length (ties stay shuffled), cut into batches, and the batches shuffled; all from
  // the model's generator, so reproducibly. Recurrent layers then skip the steps no sample of a
  // batch needs. Validation is bucketed too.
  LAYERS_ARG(bool, bucket_by_length, false);
};

// Loss and, when "acc" was compiled, accuracy (NaN otherwise) of the first output. With a mask at
// the output, accuracy counts only real steps (Keras passes the mask to metrics as sample
// weights). With several outputs, `loss` is the weighted sum and `outputs` holds each one's.
struct Scores {
  double loss = 0;
  double accuracy = 0;
  // What the accuracy averages over: rows of the output (real steps only, with a mask).
  double accuracy_weight = 0;
  struct Output {
    double loss = 0, accuracy = 0, accuracy_weight = 0;
  };
  std::vector<Output> outputs;
};

class Model : public Layer {
 public:
  // The graph from `inputs` to `outputs` (errors are kept and returned by Build, Compile, Fit,
  // Predict, and by status()). Layers not yet initialised draw their initial weights from the
  // generator seeded with `seed`, in graph order.
  Model(std::vector<KerasTensor> inputs, std::vector<KerasTensor> outputs, uint64_t seed = 0,
        std::string name = "model");
  // Whether the graph could be built; an error names the layer and the shapes.
  const absl::Status& status() const { return graph_status_; }

  // Keras' model.build(): creates every layer's weights (errors name the layer). Enough for
  // Predict and saving::SaveWeights; Compile builds too.
  virtual absl::Status Build();

  // Builds every layer and sets the loss of every output ("binary_crossentropy",
  // "categorical_crossentropy", "mse"), the metrics ({} or {"acc"}; "accuracy" too) and the
  // weights of the outputs' losses in the total (Keras' loss_weights; {} means all 1).
  absl::Status Compile(const std::string& loss, std::unique_ptr<autograd::Optimizer> optimizer,
                       std::vector<std::string> metrics = {},
                       std::vector<double> loss_weights = {});
  absl::Status Compile(std::vector<std::string> losses,
                       std::unique_ptr<autograd::Optimizer> optimizer,
                       std::vector<std::string> metrics = {},
                       std::vector<double> loss_weights = {});

  // The trainer (layers/trainer.cc). x: one array per input, [samples, input_shape...]; y: one
  // per output. Fit, TrainOnBatch and Evaluate refuse empty data and NaN or infinite values (the
  // error names the first one's position); batch sizes must be positive. Data-parallel
  // (set_data_parallel): each rank passes its shard (layers/data_parallel.h says what must agree).
  absl::StatusOr<History> Fit(const std::vector<Array>& x, const std::vector<Array>& y,
                              const FitOptions& options = {});
  absl::StatusOr<History> Fit(const Array& x, const Array& y, const FitOptions& options = {});
  // Both Fits, on the arrays as they are (a single array is not copied into a vector).
  absl::StatusOr<History> FitArrays(absl::Span<const Array> x, absl::Span<const Array> y,
                                    const FitOptions& options);
  // One gradient step on one batch; returns the batch's loss and accuracy before the update.
  absl::StatusOr<Scores> TrainOnBatch(const std::vector<Array>& x, const std::vector<Array>& y);
  absl::StatusOr<Scores> TrainOnBatch(const Array& x, const Array& y);
  // bucket_by_length: batches of samples of similar real length (as FitOptions).
  // Data-parallel: each rank evaluates its shard (of any size); the scores are the job's.
  absl::StatusOr<Scores> Evaluate(const std::vector<Array>& x, const std::vector<Array>& y,
                                  size_t batch_size = 32, bool bucket_by_length = false);
  absl::StatusOr<Scores> Evaluate(const Array& x, const Array& y, size_t batch_size = 32,
                                  bool bucket_by_length = false);
  // Records nothing on the tape. One array per output, [samples, output_shape...].
  absl::StatusOr<std::vector<Array>> Predict(const std::vector<Array>& x, size_t batch_size = 32,
                                             bool bucket_by_length = false);
  // For a model of one input and one output.
  absl::StatusOr<Array> Predict(const Array& x, size_t batch_size = 32,
                                bool bucket_by_length = false);
  // Class per output: p > 0.5 for a single unit (same shape as Predict), else the arg max over
  // the last axis (that axis dropped).
  absl::StatusOr<Array> PredictClasses(const Array& x, size_t batch_size = 32);

  // int8 inference for Predict (and PredictClasses), as PyTorch's quantize_dynamic: the kernels of
  // LSTM, GRU, SimpleRNN and Dense are quantized per output column once per Predict call, their
  // inputs per row at run time, and multiplied in u8s8s32 GEMM (autograd/quantized.h); gates,
  // state and activations stay float32; Embedding and the other layers are unchanged. Where the
  // processor lacks VNNI (AVX512-VNNI or AVX-VNNI) it says so once on stderr and runs float32.
  // Training and Evaluate are unaffected.
  void set_int8_inference(bool int8);
  // Whether Predict runs in int8: asked for and the processor has VNNI.
  bool int8_inference() const { return int8_inference_; }

  // Model files (Keras' model.save, save_weights, load_weights and load_model) are the free
  // functions of //saving (saving/model_file.h), so that //layers does not link HDF5.

  // What an exact resumption needs besides the weights and the optimizer's state (model files
  // keep it: saving::SaveModel, saving::LoadModel).
  struct TrainingState {
    std::string rng;              // the generator's state (std::mt19937_64's text form)
    std::vector<uint64_t> order;  // the sample order the next epoch's shuffle starts from
    int64_t epochs = 0;           // epochs trained so far
  };
  TrainingState GetTrainingState() const;
  absl::Status SetTrainingState(const TrainingState& state);
  // Data-parallel training over the processes of `group` (layers/data_parallel.h); null, the
  // default, trains alone. The next Fit or TrainOnBatch starts from rank 0's weights.
  void set_data_parallel(std::shared_ptr<DataParallel> group);
  DataParallel* data_parallel() const { return data_parallel_.get(); }
  // Whether this process prints, saves and writes files: alone, or rank 0 of a group.
  bool is_chief() const { return data_parallel_ == nullptr || data_parallel_->rank() == 0; }

  // Text preprocessing kept with the model (a JSON document, e.g. the tokenizer's word index),
  // saved in the file so that prediction on raw text needs nothing else.
  const std::string& preprocessing() const { return preprocessing_; }
  void set_preprocessing(std::string json) { preprocessing_ = std::move(json); }

  // Keras' summary table; a graph's has the "Connected to" column.
  virtual std::string Summary() const;
  size_t CountParams() const;
  std::vector<Tensor> Parameters() const;
  // Keras' model.get_weights(): every layer's arrays, in order.
  std::vector<Array> GetWeights() const;
  // Keras' model.layers: every layer once, in tf.keras 2.11's order (deepest first, ties in the
  // order a walk back from the outputs meets them; so usually the InputLayers first). Sequential
  // lists its layers as added. Summary, GetWeights and model files follow this order.
  const std::vector<LayerPtr>& layers() const { return layers_; }
  // Precondition: index < layers().size(), checked in every build: a violation prints the
  // index and the layer count and aborts. GetLayer returns an error instead.
  Layer& layer(size_t index);
  // Keras' get_layer(index=...) / get_layer(name=...): an error naming the model and what it
  // has when there is no such layer.
  absl::StatusOr<Layer*> GetLayer(size_t index) const;
  absl::StatusOr<Layer*> GetLayer(const std::string& name) const;
  Rng& rng() { return *rng_; }
  // The seed the model was made with; unknown (nullopt) once SetTrainingState replaced the
  // generator's state.
  std::optional<uint64_t> seed() const { return seed_; }
  const std::string& name() const { return Layer::name(); }
  // The shape of the first input without the batch axis (kVaries where the length varies).
  const Shape& input_shape() const { return input_shapes_.empty() ? kNoShape : input_shapes_[0]; }
  const std::vector<Shape>& input_shapes() const { return input_shapes_; }
  const std::vector<Shape>& output_shapes() const { return output_shapes_; }
  bool built() const { return built_; }
  bool compiled() const { return compiled_; }
  // As compiled: the first output's loss's Keras name, every output's, and the metrics.
  const std::string& loss() const { return losses_.empty() ? kNoName : losses_[0].name; }
  std::vector<std::string> losses() const;
  const std::vector<double>& loss_weights() const { return loss_weights_; }
  std::vector<std::string> metrics() const;
  autograd::Optimizer* optimizer() { return optimizer_.get(); }
  const autograd::Optimizer* optimizer() const { return optimizer_.get(); }
  // Whether this is a Sequential model (saved as one).
  virtual bool is_sequential() const { return false; }

  // The graph: the model's inputs and outputs, and every node in the order it runs.
  const std::vector<KerasTensor>& inputs() const { return inputs_; }
  const std::vector<KerasTensor>& outputs() const { return outputs_; }
  const std::vector<std::shared_ptr<Node>>& nodes() const { return nodes_; }
  // The output layers' names, for the losses and metrics of several outputs ("dense_1_loss").
  std::vector<std::string> OutputNames() const;

  // As a layer inside another model.
  MaskRule mask_rule() const override { return MaskRule::kPasses; }
  std::vector<std::string> KerasWeightNames() const override;
  std::vector<Weight> weights() const override;
  void GetConfig(Json& config) const override;
  absl::StatusOr<std::vector<bool>> OutputsMasked(const std::vector<bool>& masked) const override;
  std::vector<Tensor> CallNode(const std::vector<Tensor>& inputs,
                               const std::vector<const Array*>& masks, const CallContext& context,
                               std::vector<std::optional<Array>>& output_masks) override;

 protected:
  // For Sequential, which makes its graph at Build.
  Model(uint64_t seed, std::string name);
  // Takes the graph from `inputs` to `outputs`: orders the nodes, checks it, names unnamed
  // layers, and initialises placeholder weights from the generator in graph order.
  absl::Status SetGraph(std::vector<KerasTensor> inputs, std::vector<KerasTensor> outputs);
  absl::StatusOr<Shape> DoBuild(const Shape& input_shape, Rng& rng) override;
  Tensor DoCall(const Tensor& x, const Array* mask, const CallContext& context) override;
  absl::StatusOr<std::vector<Shape>> DoBuildCall(const std::vector<Shape>& input_shapes,
                                                 Rng& rng) override;

  std::vector<LayerPtr> layers_;
  std::vector<Shape> input_shapes_, output_shapes_;
  bool built_ = false;
  bool int8_inference_ = false;
  absl::Status graph_status_;

 private:
  friend class Trainer;
  static const Shape kNoShape;
  static const std::string kNoName;

  // The graph run on `inputs` with their masks (one per input, or none at all): each output and
  // the mask that reaches it.
  // Ops throw on bad values (an index out of range); the error names the layer.
  struct Output {
    Tensor value;
    std::optional<Array> mask;
  };
  absl::StatusOr<std::vector<Output>> Run(const std::vector<Tensor>& inputs,
                                          const std::vector<const Array*>& masks,
                                          const CallContext& context);
  // Each sample's span of real steps, by the mask the layer after the first input makes of it.
  absl::StatusOr<std::vector<size_t>> RealLengths(const Array& x, const char* method) const;

  std::optional<uint64_t> seed_;
  std::shared_ptr<Rng> rng_;
  std::vector<KerasTensor> inputs_, outputs_;
  std::vector<std::shared_ptr<Node>> nodes_;  // in run order, the inputs' first
  // Run's flat vector of call outputs: call i's are [value_offsets_[i], value_offsets_[i + 1]);
  // each call's inputs and the model's outputs are found at these places.
  std::vector<size_t> value_offsets_;
  // Run's working vectors, reused from call to call (a Model runs on one thread at a time).
  struct RunBuffers {
    std::vector<Tensor> values, node_inputs;
    std::vector<std::optional<Array>> value_masks, output_masks;
    std::vector<const Array*> node_masks;
  };
  RunBuffers run_buffers_;
  bool run_buffers_busy_ = false;
  std::vector<std::vector<size_t>> input_slots_;
  std::vector<size_t> output_slots_;
  bool compiled_ = false;
  std::vector<LossEntry> losses_;  // one per output
  std::vector<double> loss_weights_;
  MetricSettings metrics_;
  std::unique_ptr<autograd::Optimizer> optimizer_;
  std::vector<Tensor> parameters_;
  std::vector<size_t> order_;  // training samples in the order of the last epoch
  int64_t epochs_trained_ = 0;
  std::string preprocessing_;
  std::shared_ptr<DataParallel> data_parallel_;
  bool weights_shared_ = false;  // set once rank 0's weights have been broadcast
};

}  // namespace layers

#endif  // LAYERS_MODEL_H_
