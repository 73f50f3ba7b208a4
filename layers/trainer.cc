// The trainer every model shares (Keras 3's Trainer): Model's fit, evaluate, predict and
// train_on_batch. Batches come from the data adapter (layers/data_adapter.h), what happens beside
// the loop from callbacks (layers/callbacks.h), and the collectives of a data-parallel run from
// layers/data_parallel.h.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <numeric>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "autograd/elementwise.h"
#include "autograd/quantized.h"
#include "autograd/runtime.h"
#include "layers/callbacks.h"
#include "layers/data_adapter.h"
#include "layers/model.h"
#include "xtensor/xmath.hpp"

namespace layers {
namespace {

// The first NaN or infinity in `values`, as "nan at [3, 0, 7]", or "" when all are finite.
std::string FirstNonFinite(const Array& values) {
  const Real* data = values.data();
  for (size_t k = 0; k < values.size(); ++k) {
    if (std::isfinite(data[k])) continue;
    std::vector<size_t> index(values.dimension());
    size_t rest = k;
    for (size_t axis = values.dimension(); axis-- > 0;) {
      index[axis] = rest % values.shape()[axis];
      rest /= values.shape()[axis];
    }
    return absl::StrFormat("%s at [%s]",
                           std::isnan(data[k]) ? "nan"
                           : data[k] > 0       ? "inf"
                                               : "-inf",
                           absl::StrJoin(index, ", "));
  }
  return "";
}

// TerminateOnNaN keeps no state: one serves every Fit (the one-sample steps of merge_modes feel
// every allocation).
const std::shared_ptr<Callback>& SharedTerminateOnNaN() {
  static const std::shared_ptr<Callback> terminate = std::make_shared<TerminateOnNaN>();
  return terminate;
}

// Output names are needed only with several outputs (the logs' keys name each one).
const std::vector<std::string>& NoNames() {
  static const std::vector<std::string> none;
  return none;
}

// A metric averaged with weights; 0 when nothing had weight (every step masked), as Keras'
// metrics report for zero total weight, in Fit, Evaluate and the progress bar alike.
double WeightedMean(double sum, double weight) { return weight == 0 ? 0.0 : sum / weight; }

// Whether `array` is a batch of samples of shape `expected` (kVaries matching any length).
bool SamplesFit(const Array& array, const Shape& expected) {
  if (array.dimension() != expected.size() + 1) return false;
  for (size_t i = 0; i < expected.size(); ++i) {
    if (expected[i] != kVaries && array.shape()[i + 1] != expected[i]) return false;
  }
  return true;
}

// "x" for a model of one input, "x[1]" for the second of several.
std::string ArrayName(const char* what, size_t index, size_t count) {
  return count == 1 ? what : absl::StrFormat("%s[%d]", what, index);
}

// Rows [begin, end) of every array.
std::vector<Array> Rows(absl::Span<const Array> arrays, size_t begin, size_t end) {
  std::vector<size_t> order(end);
  std::iota(order.begin(), order.end(), 0);
  return GatherRows(arrays, order, begin, end);
}

// Each sample's loss weight from sample_weight and class_weight ({} when neither is given).
absl::StatusOr<Array> SampleWeights(const FitOptions& options, absl::Span<const Array> y,
                                    size_t samples) {
  const bool given = options.sample_weight().dimension() > 0;
  if (!given && options.class_weight().empty()) return Array();
  Array weights = xt::ones<Real>({samples});
  if (given) {
    if (autograd::ShapeOf(options.sample_weight()) != Shape{samples}) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "fit: sample_weight has shape %s, but x has %d samples: give one weight per sample, "
          "[samples]",
          autograd::ShapeString(autograd::ShapeOf(options.sample_weight())), samples));
    }
    for (size_t i = 0; i < samples; ++i) {
      const Real w = options.sample_weight()(i);
      if (!std::isfinite(w) || w < 0) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "fit: sample_weight[%d] is %g: weights must be finite and >= 0", i, w));
      }
    }
    weights = options.sample_weight();
  }
  const std::vector<double>& class_weight = options.class_weight();
  if (class_weight.empty()) return weights;
  for (size_t c = 0; c < class_weight.size(); ++c) {
    if (!std::isfinite(class_weight[c]) || class_weight[c] < 0) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "fit: class_weight of class %d is %g: weights must be finite and >= 0", c,
          class_weight[c]));
    }
  }
  if (y.size() != 1 || y[0].dimension() != 2) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "fit: class_weight needs one output with targets [samples, classes] or [samples, 1] "
        "(as Keras: not for several outputs or sequences), got %d target arrays%s",
        y.size(),
        y.size() == 1 ? " of shape " + autograd::ShapeString(autograd::ShapeOf(y[0])) : ""));
  }
  const size_t classes = y[0].shape()[1];
  for (size_t i = 0; i < samples; ++i) {
    const Real* row = y[0].data() + i * classes;
    // Keras: the arg max of a one-hot row; a single column's value cast to an integer.
    const size_t label = classes > 1 ? std::max_element(row, row + classes) - row
                                     : static_cast<size_t>(std::max<Real>(row[0], 0));
    if (label >= class_weight.size()) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "fit: sample %d is of class %d, but class_weight gives weights for classes 0 to %d: "
          "give one weight per class",
          i, label, static_cast<int64_t>(class_weight.size()) - 1));
    }
    weights(i) *= static_cast<Real>(class_weight[label]);
  }
  return weights;
}

}  // namespace

// The trainer's steps, with access to the model's compile settings and state.
class Trainer {
 public:
  // The loss of a batch: the total (the weighted sum over outputs) and each output's.
  struct BatchLoss {
    Tensor loss;
    struct Output {
      double loss;
      Tensor prediction;  // the probabilities, for the metrics
      std::optional<Array> mask;
    };
    std::vector<Output> outputs;
  };

  // Compiled (built is enough for predict), x and y (when given) shaped for the model and, with
  // `finite`, free of NaN and infinities; `method` ("fit", "evaluate", ...) begins every error.
  static absl::Status CheckData(const Model& model, absl::Span<const Array> x,
                                std::optional<absl::Span<const Array>> y, const char* method,
                                bool finite) {
    const bool predicting = !y.has_value();
    if (!model.graph_status_.ok()) {
      return absl::Status(model.graph_status_.code(),
                          absl::StrCat(method, ": ", model.graph_status_.message()));
    }
    if (!(predicting ? model.built() : model.compiled_)) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "%s: model '%s' is not compiled: call Compile first", method, model.name()));
    }
    const size_t inputs = model.input_shapes_.size(), outputs = model.output_shapes_.size();
    if (x.size() != inputs) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: model '%s' takes %d inputs, got %d arrays", method, model.name(), inputs, x.size()));
    }
    if (y.has_value() && y->size() != outputs) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s: model '%s' has %d outputs, got %d target arrays", method,
                          model.name(), outputs, y->size()));
    }
    size_t samples = 0;
    for (size_t i = 0; i < inputs; ++i) {
      if (!SamplesFit(x[i], model.input_shapes_[i])) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "%s: %s has shape %s but model '%s' expects %s", method, ArrayName("x", i, inputs),
            autograd::ShapeString(autograd::ShapeOf(x[i])), model.name(),
            KerasShapeString(model.input_shapes_[i])));
      }
      const size_t rows = x[i].shape()[0];
      if (i == 0) samples = rows;
      if (rows != samples) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "%s: x[0] has %d samples but x[%d] has %d: every input needs one row per sample",
            method, samples, i, rows));
      }
      if (finite && rows == 0) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "%s: %s has no samples (shape %s): there is nothing to learn from or score; check the "
            "data and the split that produced it",
            method, ArrayName("x", i, inputs), autograd::ShapeString(autograd::ShapeOf(x[i]))));
      }
    }
    if (y.has_value()) {
      for (size_t k = 0; k < outputs; ++k) {
        const Shape y_shape = autograd::ShapeOf((*y)[k]);
        Shape expected = {samples};
        const Shape& out = model.output_shapes_[k];
        expected.insert(expected.end(), out.begin(), out.end());
        if (model.losses_[k].sparse_targets) {
          // Class indices: one per row of the output (Keras also takes a last axis of 1).
          expected.back() = 1;
          if (y_shape.size() + 1 == expected.size()) expected.pop_back();
        }
        bool fits = y_shape.size() == expected.size() && !y_shape.empty() && y_shape[0] == samples;
        for (size_t a = 1; fits && a < expected.size(); ++a) {
          // An output axis whose length varies takes the length of the input's.
          fits = expected[a] == kVaries || y_shape[a] == expected[a];
        }
        if (!fits) {
          return absl::InvalidArgumentError(absl::StrFormat(
              "%s: %s has shape %s but the model's output for x is %s", method,
              ArrayName("y", k, outputs), autograd::ShapeString(y_shape),
              autograd::ShapeString(expected)));
        }
      }
    }
    if (!finite) return absl::OkStatus();
    // One NaN would spread to every weight through the first update.
    for (const auto& [what, arrays] :
         {std::pair<const char*, std::optional<absl::Span<const Array>>>{"x", x}, {"y", y}}) {
      if (!arrays.has_value()) continue;
      for (size_t i = 0; i < arrays->size(); ++i) {
        if (const std::string bad = FirstNonFinite((*arrays)[i]); !bad.empty()) {
          return absl::InvalidArgumentError(absl::StrFormat(
              "%s: %s holds %s (the first index is the sample): remove or repair that sample",
              method, ArrayName(what, i, arrays->size()), bad));
        }
      }
    }
    return absl::OkStatus();
  }

  // The batch's arrays become the graph's input tensors (moved: a batch is gathered anew).
  static absl::StatusOr<std::vector<Model::Output>> Forward(Model& model, std::vector<Array> x,
                                                            const CallContext& context) {
    std::vector<Tensor> inputs;
    inputs.reserve(x.size());
    for (Array& values : x) inputs.push_back(Tensor(std::move(values)));
    return model.Run(inputs, /*masks=*/{}, context);
  }

  // The weights of an output's loss terms ([batch] or [batch, time...], the output's shape
  // without its last axis): the mask, times the samples' weights (broadcast over time).
  static std::optional<Array> LossWeights(const std::optional<Array>& mask,
                                          const Array* sample_weight, const Shape& output) {
    if (sample_weight == nullptr) return mask;
    Shape terms(output.begin(), output.end() - 1);
    Array weights = Array::from_shape(terms);
    const size_t per_sample = weights.size() / std::max<size_t>(terms[0], 1);
    for (size_t k = 0; k < weights.size(); ++k) {
      weights.data()[k] = sample_weight->data()[k / per_sample];
    }
    if (mask) weights *= *mask;
    return weights;
  }

  static absl::StatusOr<BatchLoss> LossOnBatch(Model& model, std::vector<Array> x,
                                               const std::vector<Array>& y,
                                               const CallContext& context,
                                               const Array* sample_weight = nullptr) {
    absl::StatusOr<std::vector<Model::Output>> outputs = Forward(model, std::move(x), context);
    if (!outputs.ok()) return outputs.status();
    BatchLoss batch;
    for (size_t k = 0; k < outputs->size(); ++k) {
      Model::Output& output = (*outputs)[k];
      const LossEntry& entry = model.losses_[k];
      Tensor loss;
      try {
        const std::optional<Array> weights =
            LossWeights(output.mask, sample_weight, output.value.shape());
        loss = entry.loss(output.value, y[k], weights ? &*weights : nullptr);
      } catch (const std::exception& error) {
        autograd::CurrentTape().Clear();
        return absl::InvalidArgumentError(
            absl::StrFormat("loss '%s'%s: %s", entry.name,
                            outputs->size() > 1 ? " of output " + model.OutputNames()[k] : "",
                            error.what()));
      }
      const double output_loss = loss.item();
      // One output of weight 1 is its own loss (no op recorded: Sequential's numbers stay).
      const double weight = model.loss_weights_[k];
      if (weight != 1.0) loss = autograd::Scale(loss, static_cast<Real>(weight));
      batch.loss = k == 0 ? loss : autograd::Add(batch.loss, loss);
      batch.outputs.push_back({output_loss, output.value, std::move(output.mask)});
    }
    return batch;
  }

  // Every output's loss and accuracy of a batch; the first output's accuracy is the model's.
  static Scores BatchScores(const Model& model, const BatchLoss& batch,
                            const std::vector<Array>& targets) {
    Scores scores{batch.loss.item()};
    for (size_t k = 0; k < batch.outputs.size(); ++k) {
      const BatchLoss::Output& out = batch.outputs[k];
      const AccuracySums sums = Accuracy(model.losses_[k].accuracy, out.prediction.value(),
                                         targets[k], out.mask ? &*out.mask : nullptr);
      Scores::Output output{out.loss, 0, sums.weight};
      output.accuracy = !model.metrics_.accuracy ? std::numeric_limits<double>::quiet_NaN()
                        : sums.weight == 0       ? 0.0
                                                 : sums.correct / sums.weight;
      scores.outputs.push_back(output);
    }
    scores.accuracy = scores.outputs[0].accuracy;
    scores.accuracy_weight = scores.outputs[0].accuracy_weight;
    return scores;
  }

  // The logs' keys in Keras' order: loss, each output's loss (several outputs), the metric
  // (each output's), then the same with "val_".
  static std::vector<std::string> LogKeys(const Model& model, bool validate) {
    const bool several = model.outputs_.size() > 1;
    const std::vector<std::string> names = several ? model.OutputNames() : NoNames();
    std::vector<std::string> keys = {"loss"};
    if (several) {
      for (const std::string& name : names) keys.push_back(name + "_loss");
    }
    if (model.metrics_.accuracy) {
      if (several) {
        for (const std::string& name : names) keys.push_back(name + "_" + model.metrics_.accuracy_name);
      } else {
        keys.push_back(model.metrics_.accuracy_name);
      }
    }
    if (validate) {
      const size_t train = keys.size();
      for (size_t i = 0; i < train; ++i) keys.push_back("val_" + keys[i]);
    }
    return keys;
  }

  // Running sums of an epoch's scores, and the logs they average to.
  struct Totals {
    double loss = 0, rows = 0;
    struct Output {
      double loss = 0, correct = 0, weight = 0;
    };
    std::vector<Output> outputs;
    void Add(const Scores& scores, double batch_rows) {
      outputs.resize(scores.outputs.size());
      loss += scores.loss * batch_rows;
      rows += batch_rows;
      for (size_t k = 0; k < outputs.size(); ++k) {
        outputs[k].loss += scores.outputs[k].loss * batch_rows;
        outputs[k].correct += scores.outputs[k].accuracy * scores.outputs[k].accuracy_weight;
        outputs[k].weight += scores.outputs[k].accuracy_weight;
      }
    }
    std::map<std::string, double> Logs(const Model& model, const std::string& prefix) const {
      const std::string& acc = model.metrics_.accuracy_name;
      std::map<std::string, double> logs = {{prefix + "loss", loss / rows}};
      if (model.outputs_.size() == 1) {
        if (!outputs.empty()) {
          logs[prefix + acc] = WeightedMean(outputs[0].correct, outputs[0].weight);
        }
        return logs;
      }
      const std::vector<std::string> names = model.OutputNames();
      for (size_t k = 0; k < outputs.size(); ++k) {
        logs[prefix + names[k] + "_loss"] = outputs[k].loss / rows;
        logs[prefix + names[k] + "_" + acc] = WeightedMean(outputs[k].correct, outputs[k].weight);
      }
      return logs;
    }
  };

  // The logs of finished scores (Evaluate's), under `prefix`.
  static std::map<std::string, double> ScoreLogs(const Model& model, const Scores& scores,
                                                 const std::string& prefix) {
    const std::string& acc = model.metrics_.accuracy_name;
    std::map<std::string, double> logs = {{prefix + "loss", scores.loss}};
    if (model.outputs_.size() == 1) {
      logs[prefix + acc] = scores.accuracy;
      return logs;
    }
    const std::vector<std::string> names = model.OutputNames();
    for (size_t k = 0; k < scores.outputs.size(); ++k) {
      logs[prefix + names[k] + "_loss"] = scores.outputs[k].loss;
      logs[prefix + names[k] + "_" + acc] = scores.outputs[k].accuracy;
    }
    return logs;
  }

  // One gradient step. Data-parallel, x and y are rows [first_row, first_row + rows) of a global
  // batch of `global_rows`; the scores are the global batch's. The callbacks' BeforeUpdate sees
  // the loss before the optimizer does: an error leaves the weights as they were.
  static absl::StatusOr<Scores> TrainStep(Model& model, std::vector<Array> x,
                                          const std::vector<Array>& y, CallbackList& callbacks,
                                          size_t batch_index, size_t global_rows = 0,
                                          size_t first_row = 0,
                                          const Array* sample_weight = nullptr) {
    autograd::CurrentTape().Clear();
    DataParallel* group = model.data_parallel_.get();
    // Data-parallel: dropout masks of this rank's rows of the global batch.
    CallContext context{/*training=*/true};
    if (group != nullptr) context.global_rows = global_rows, context.first_row = first_row;
    const size_t rows = x[0].shape()[0];
    absl::StatusOr<BatchLoss> batch = LossOnBatch(model, std::move(x), y, context, sample_weight);
    if (!batch.ok()) return batch.status();
    Scores scores = BatchScores(model, *batch, y);
    if (absl::Status status = autograd::CurrentTape().Backward(batch->loss); !status.ok()) {
      return status;
    }
    // Every rank joins the allreduce, so a NaN on one rank is judged on the global loss.
    if (group != nullptr) {
      if (absl::Status status = AverageGradients(model, rows, global_rows, scores); !status.ok()) {
        return status;
      }
    }
    if (absl::Status status = callbacks.BeforeUpdate(model, batch_index, scores.loss);
        !status.ok()) {
      autograd::CurrentTape().Clear();
      for (Tensor parameter : model.parameters_) parameter.ZeroGrad();
      return status;
    }
    model.optimizer_->Step(model.parameters_);
    return scores;
  }

  // Data-parallel: every gradient and the scores become the global batch's, in one allreduce;
  // each rank's means weigh by its rows.
  static absl::Status AverageGradients(Model& model, size_t rows, size_t global_rows,
                                       Scores& scores) {
    const bool accuracy = model.metrics_.accuracy;
    // Products in Real, as the buffer holds them.
    const auto times_rows = [&](double value) {
      return static_cast<double>(static_cast<Real>(value) * static_cast<Real>(rows));
    };
    // The loss, then each output's loss, accuracy's weighted sum and weight (one output: the
    // model's loss is its loss, so only the first three are sent).
    std::vector<double> sums = {times_rows(scores.loss)};
    for (const Scores::Output& output : scores.outputs) {
      if (scores.outputs.size() > 1) sums.push_back(times_rows(output.loss));
      sums.push_back(accuracy ? output.accuracy * output.accuracy_weight : 0.0);
      sums.push_back(output.accuracy_weight);
    }
    if (absl::Status status =
            AllreduceGradients(*model.data_parallel_, model.parameters_, rows, global_rows, sums);
        !status.ok()) {
      return status;
    }
    // In Real, as the buffer holds them.
    const auto mean = [&](double sum) {
      return static_cast<double>(static_cast<Real>(sum) / static_cast<Real>(global_rows));
    };
    scores.loss = mean(sums[0]);
    const bool several = scores.outputs.size() > 1;
    for (size_t k = 0; k < scores.outputs.size(); ++k) {
      Scores::Output& output = scores.outputs[k];
      const double* at = sums.data() + 1 + k * (several ? 3 : 2);
      output.loss = several ? mean(at[0]) : scores.loss;
      const double correct = at[several ? 1 : 0], total = at[several ? 2 : 1];
      output.accuracy_weight = total;
      output.accuracy = !accuracy ? std::numeric_limits<double>::quiet_NaN()
                        : total == 0 ? 0.0
                                     : correct / total;
    }
    scores.accuracy = scores.outputs[0].accuracy;
    scores.accuracy_weight = scores.outputs[0].accuracy_weight;
    return absl::OkStatus();
  }

  // What every replica must share: the input shapes, every weight's shape and the generator.
  static std::vector<Agreed> Agreement(const Model& model, const std::string& method) {
    std::ostringstream state;
    state << model.rng_->engine();
    std::vector<std::string> names;
    for (const LayerPtr& layer : model.layers_) {
      if (!layer->built()) continue;
      for (std::string& name : layer->KerasWeightNames()) names.push_back(std::move(name));
    }
    return ModelAgreement(*model.data_parallel_, method, model.input_shapes_, model.parameters_,
                          names, state.str(), model.seed_);
  }

  static absl::Status ShareWeights(Model& model) {
    if (absl::Status status = BroadcastParameters(*model.data_parallel_, model.parameters_);
        !status.ok()) {
      return status;
    }
    model.weights_shared_ = true;
    return absl::OkStatus();
  }

  // Evaluate's and Predict's batches, after checking the data (finite for Evaluate: NaN in, NaN
  // out is fine for Predict).
  static absl::StatusOr<EpochPlan> InferencePlan(const Model& model, const std::vector<Array>& x,
                                                 const std::vector<Array>* y, size_t batch_size,
                                                 bool bucket_by_length, const char* method) {
    if (batch_size == 0) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s: batch_size is 0; it must be at least 1", method));
    }
    const std::optional<absl::Span<const Array>> targets =
        y != nullptr ? std::optional<absl::Span<const Array>>(*y) : std::nullopt;
    if (absl::Status status = CheckData(model, x, targets, method, /*finite=*/y != nullptr);
        !status.ok()) {
      return status;
    }
    std::vector<size_t> lengths;
    if (bucket_by_length) {
      absl::StatusOr<std::vector<size_t>> real = Lengths(model, x[0], method);
      if (!real.ok()) return real.status();
      lengths = *std::move(real);
    }
    return InferenceEpoch(x[0].shape()[0], batch_size, bucket_by_length ? &lengths : nullptr);
  }

  // The mask the first input makes (by the first layer that reads it), for bucketing.
  static absl::StatusOr<std::vector<size_t>> Lengths(const Model& model, const Array& x,
                                                     const char* method) {
    std::optional<Array> mask;
    for (size_t i = model.inputs_.size(); i < model.nodes_.size() && !mask; ++i) {
      const Node& node = *model.nodes_[i];
      if (node.inputs.size() == 1 && node.inputs[0] == model.inputs_[0]) {
        mask = node.layer->ComputeMask(x, nullptr);
      }
    }
    if (!mask) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "%s: bucket_by_length needs the lengths of the samples, from a mask made by the first "
          "layer: use Embedding(..., mask_zero=true) or Masking first, or turn bucketing off",
          method));
    }
    return RealLengths(*mask);
  }
};

absl::StatusOr<History> Model::Fit(const Array& x, const Array& y, const FitOptions& options) {
  return FitArrays(absl::MakeConstSpan(&x, 1), absl::MakeConstSpan(&y, 1), options);
}

absl::StatusOr<History> Model::Fit(const std::vector<Array>& x, const std::vector<Array>& y,
                                   const FitOptions& options) {
  return FitArrays(x, y, options);
}

absl::StatusOr<History> Model::FitArrays(absl::Span<const Array> all_x,
                                         absl::Span<const Array> all_y, const FitOptions& options) {
  std::vector<Array> train_x, train_y;  // set when validation_split cuts the data
  std::vector<Array> validation_x = options.validation_inputs();
  std::vector<Array> validation_y = options.validation_targets();
  if (options.validation_x().dimension() > 0) {  // Array() is 0-d: unset
    validation_x = {options.validation_x()};
    validation_y = {options.validation_y()};
  }
  const double split = options.validation_split();
  if (!(split >= 0 && split < 1)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("fit: validation_split must be in [0, 1), got %g", split));
  }
  absl::Status usable =
      options.batch_size() == 0
          ? absl::InvalidArgumentError("fit: batch_size is 0; it must be at least 1")
          : Trainer::CheckData(*this, all_x, all_y, "fit", /*finite=*/true);
  Array sample_weight;
  if (usable.ok()) {
    absl::StatusOr<Array> weights = SampleWeights(options, all_y, all_x[0].shape()[0]);
    if (weights.ok()) {
      sample_weight = *std::move(weights);
    } else {
      usable = weights.status();
    }
  }
  if (usable.ok() && split > 0 && validation_x.empty()) {
    // Keras: the last fraction of the samples as given, before any shuffling.
    const size_t samples = all_x[0].shape()[0];
    const size_t at = static_cast<size_t>(std::floor(static_cast<double>(samples) * (1 - split)));
    if (at == 0 || at == samples) {
      usable = absl::InvalidArgumentError(absl::StrFormat(
          "fit: validation_split %g of %d samples leaves %s: use more samples or another split",
          split, samples, at == 0 ? "nothing to train on" : "nothing to validate on"));
    } else {
      validation_x = Rows(all_x, at, samples);
      validation_y = Rows(all_y, at, samples);
      train_x = Rows(all_x, 0, at);
      train_y = Rows(all_y, 0, at);
      if (sample_weight.dimension() > 0) sample_weight = Rows({sample_weight}, 0, at)[0];
    }
  }
  const absl::Span<const Array> x = train_x.empty() ? all_x : absl::MakeConstSpan(train_x);
  const absl::Span<const Array> y = train_x.empty() ? all_y : absl::MakeConstSpan(train_y);
  const bool validate = !validation_x.empty();
  if (usable.ok() && validate) {
    usable = Trainer::CheckData(*this, validation_x, absl::MakeConstSpan(validation_y),
                                "fit (validation_data)",
                                /*finite=*/true);
  }
  const size_t samples = usable.ok() ? x[0].shape()[0] : 0;
  // Data-parallel: each step takes batch_size / ranks rows of every rank's shard.
  const size_t ranks = data_parallel_ ? static_cast<size_t>(data_parallel_->size()) : 1;
  const size_t rank = data_parallel_ ? static_cast<size_t>(data_parallel_->rank()) : 0;
  const size_t batch_size = options.batch_size() / ranks;
  if (data_parallel_) {
    // Every rank must take the same number of steps with the same options and the same model, or
    // the collectives would pair up wrongly (a hang, MPI_ERR_TRUNCATE) or the replicas train
    // apart: compare them all in one collective, with whether every rank's shard is usable (one
    // rank's bad shard stops every rank), so that every rank returns the same error.
    const std::string advice = "give every rank an equal shard and the same options";
    const auto number = [](const double* value) { return absl::StrFormat("%g", *value); };
    std::vector<Agreed> entries;
    for (const auto& [what, value] : std::vector<std::pair<const char*, double>>{
             {"samples in the shard", static_cast<double>(samples)},
             {"batch_size", static_cast<double>(options.batch_size())},
             {"epochs", static_cast<double>(options.epochs())},
             {"initial_epoch", static_cast<double>(options.initial_epoch())},
             {"validation data", static_cast<double>(validate)},
             {"bucket_by_length", static_cast<double>(options.bucket_by_length())},
             {"shuffle", static_cast<double>(options.shuffle())},
             {"sample weights", static_cast<double>(sample_weight.dimension() > 0)},
         }) {
      entries.push_back({what, {value}, number, advice});
    }
    for (Agreed& entry : Trainer::Agreement(*this, "fit")) entries.push_back(std::move(entry));
    if (absl::StatusOr<std::vector<double>> all =
            Agree(*data_parallel_, "fit", "shard", usable, entries);
        !all.ok()) {
      return all.status();
    }
    if (options.batch_size() % ranks != 0) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "fit: batch_size %d is not a multiple of the %d processes of the job, which take equal "
          "shares of every batch: use %d or %d",
          options.batch_size(), ranks, std::max(ranks, options.batch_size() / ranks * ranks),
          (options.batch_size() / ranks + 1) * ranks));
    }
    if (absl::Status status = Trainer::ShareWeights(*this); !status.ok()) return status;
  }
  if (!usable.ok()) return usable;
  std::vector<size_t> lengths;
  if (options.bucket_by_length()) {
    absl::StatusOr<std::vector<size_t>> real = Trainer::Lengths(*this, x[0], "fit");
    if (!real.ok()) return real.status();
    lengths = *std::move(real);
  }
  if (order_.size() != samples) {
    order_.resize(samples);
    std::iota(order_.begin(), order_.end(), 0);
  }
  // Keras 2's order: the progress bar, the user's callbacks, History. Callbacks that write
  // (files, the terminal) run on rank 0 only; the others (EarlyStopping) everywhere, on the same
  // logs, so that every rank stops together.
  std::vector<std::shared_ptr<Callback>> list;
  list.reserve(options.callbacks().size() + 3);
  const int verbose = is_chief() ? options.verbose() : 0;
  if (verbose > 0) list.push_back(std::make_shared<ProgbarLogger>(verbose));
  for (const std::shared_ptr<Callback>& callback : options.callbacks()) {
    if (is_chief() || !callback->writes_files()) list.push_back(callback);
  }
  if (options.terminate_on_nan()) list.push_back(SharedTerminateOnNaN());
  // Fit returns it: it lives here, and the list holds it without owning it (no allocation).
  History history;
  list.push_back(std::shared_ptr<Callback>(std::shared_ptr<void>(), &history));
  CallbackList callbacks(std::move(list));
  const FitParams params{options.epochs(), samples * ranks, Trainer::LogKeys(*this, validate)};
  const std::vector<std::string>& keys = params.keys;
  callbacks.SetParams(params);
  if (absl::Status status = callbacks.OnTrainBegin(*this); !status.ok()) return status;
  bool stop = false;
  for (size_t epoch = options.initial_epoch(); epoch < options.epochs() && !stop; ++epoch) {
    if (absl::Status status = callbacks.OnEpochBegin(*this, epoch); !status.ok()) {
      return callbacks.Failed(*this, status);
    }
    const EpochPlan plan =
        TrainingEpoch(order_, batch_size, options.bucket_by_length() ? &lengths : nullptr,
                      options.shuffle(), *rng_);
    Trainer::Totals totals;
    for (size_t step = 0; step < plan.batches.size(); ++step) {
      const auto [begin, end] = plan.batches[step];
      std::optional<Array> batch_weights;
      if (sample_weight.dimension() > 0) {
        batch_weights =
            GatherRows(absl::MakeConstSpan(&sample_weight, 1), plan.order, begin, end)[0];
      }
      absl::StatusOr<Scores> scores = Trainer::TrainStep(
          *this, GatherRows(x, plan.order, begin, end), GatherRows(y, plan.order, begin, end),
          callbacks, step, (end - begin) * ranks, (end - begin) * rank,
          batch_weights ? &*batch_weights : nullptr);
      if (!scores.ok()) {
        return callbacks.Failed(
            *this, absl::Status(scores.status().code(),
                                absl::StrFormat(
                                    "fit: epoch %zu, batch %zu (samples %zu to %zu): %s", epoch + 1,
                                    step + 1, begin, end - 1, scores.status().message())));
      }
      totals.Add(*scores, static_cast<double>((end - begin) * ranks));
      const BatchEnd batch_end{step, static_cast<size_t>(totals.rows),
                               [&] { return totals.Logs(*this, ""); }};
      if (absl::Status status = callbacks.OnTrainBatchEnd(*this, batch_end); !status.ok()) {
        return callbacks.Failed(*this, status);
      }
    }
    EpochLogs epoch_values = totals.Logs(*this, "");
    if (validate) {
      absl::StatusOr<Scores> scores =
          Evaluate(validation_x, validation_y, options.batch_size(), options.bucket_by_length());
      if (!scores.ok()) return callbacks.Failed(*this, scores.status());
      for (auto& [key, value] : Trainer::ScoreLogs(*this, *scores, "val_")) {
        epoch_values[key] = value;
      }
    }
    // The logs hold exactly the keys (a metric not compiled is left out).
    for (auto it = epoch_values.begin(); it != epoch_values.end();) {
      it = std::find(keys.begin(), keys.end(), it->first) == keys.end() ? epoch_values.erase(it)
                                                                        : std::next(it);
    }
    for (const std::string& key : keys) epoch_values.try_emplace(key, 0.0);
    epochs_trained_ = static_cast<int64_t>(epoch) + 1;
    if (absl::Status status = callbacks.OnEpochEnd(*this, epoch, epoch_values, stop);
        !status.ok()) {
      return callbacks.Failed(*this, status);
    }
  }
  if (absl::Status status = callbacks.OnTrainEnd(*this); !status.ok()) return status;
  return history;
}

absl::StatusOr<Scores> Model::TrainOnBatch(const Array& x, const Array& y) {
  return TrainOnBatch(std::vector<Array>{x}, std::vector<Array>{y});
}

absl::StatusOr<Scores> Model::TrainOnBatch(const std::vector<Array>& x,
                                           const std::vector<Array>& y) {
  const absl::Status usable = Trainer::CheckData(*this, x, absl::MakeConstSpan(y), "train_on_batch",
                                                 /*finite=*/true);
  if (data_parallel_ == nullptr) {
    if (!usable.ok()) return usable;
    CallbackList terminate_on_nan({SharedTerminateOnNaN()});
    return Trainer::TrainStep(*this, x, y, terminate_on_nan, /*batch_index=*/0);
  }
  // One collective: whether every rank can train, each rank's rows (its share of the global
  // batch comes after those of the ranks before it) and, on the first call, the model.
  const bool first = !weights_shared_;
  std::vector<Agreed> entries = {{"rows",
                                  {usable.ok() ? static_cast<double>(x[0].shape()[0]) : 0.0},
                                  nullptr,
                                  "",
                                  /*must_agree=*/false}};
  if (first) {
    for (Agreed& entry : Trainer::Agreement(*this, "train_on_batch")) {
      entries.push_back(std::move(entry));
    }
  }
  absl::StatusOr<std::vector<double>> all =
      Agree(*data_parallel_, "train_on_batch", "batch", usable, entries);
  if (!all.ok()) return all.status();
  if (first) {
    if (absl::Status status = Trainer::ShareWeights(*this); !status.ok()) return status;
  }
  const size_t ranks = static_cast<size_t>(data_parallel_->size()), width = all->size() / ranks;
  size_t global_rows = 0, first_row = 0;
  for (size_t r = 0; r < ranks; ++r) {
    if (r == static_cast<size_t>(data_parallel_->rank())) first_row = global_rows;
    global_rows += static_cast<size_t>((*all)[r * width + 1]);
  }
  CallbackList terminate_on_nan({SharedTerminateOnNaN()});
  return Trainer::TrainStep(*this, x, y, terminate_on_nan, /*batch_index=*/0, global_rows,
                            first_row);
}

absl::StatusOr<Scores> Model::Evaluate(const Array& x, const Array& y, size_t batch_size,
                                       bool bucket_by_length) {
  return Evaluate(std::vector<Array>{x}, std::vector<Array>{y}, batch_size, bucket_by_length);
}

absl::StatusOr<Scores> Model::Evaluate(const std::vector<Array>& x, const std::vector<Array>& y,
                                       size_t batch_size, bool bucket_by_length) {
  absl::StatusOr<EpochPlan> plan =
      Trainer::InferencePlan(*this, x, &y, batch_size, bucket_by_length, "evaluate");
  if (!plan.ok()) return plan.status();
  autograd::NoGradGuard no_grad;
  const size_t samples = x[0].shape()[0];
  const size_t outputs = outputs_.size();
  // Sums: the loss, then per output its loss, accuracy's weighted sum and weight; the samples.
  std::vector<double> sums(1 + 3 * outputs + 1, 0.0);
  for (const auto& [begin, end] : plan->batches) {
    const std::vector<Array> targets = GatherRows(y, plan->order, begin, end);
    absl::StatusOr<Trainer::BatchLoss> batch = Trainer::LossOnBatch(
        *this, GatherRows(x, plan->order, begin, end), targets, CallContext{/*training=*/false});
    if (!batch.ok()) return batch.status();
    const Scores scores = Trainer::BatchScores(*this, *batch, targets);
    const double rows = static_cast<double>(end - begin);
    sums[0] += scores.loss * rows;
    for (size_t k = 0; k < outputs; ++k) {
      sums[1 + 3 * k] += scores.outputs[k].loss * rows;
      if (metrics_.accuracy) {
        sums[2 + 3 * k] += scores.outputs[k].accuracy * scores.outputs[k].accuracy_weight;
      }
      sums[3 + 3 * k] += scores.outputs[k].accuracy_weight;
    }
  }
  sums.back() = static_cast<double>(samples);
  if (data_parallel_) {
    // Each rank's sums, over its shard, add up to the job's.
    if (absl::Status status = data_parallel_->AllreduceSum(sums.data(), sums.size());
        !status.ok()) {
      return status;
    }
  }
  const double total = sums.back();
  Scores scores{sums[0] / total};
  for (size_t k = 0; k < outputs; ++k) {
    Scores::Output output{sums[1 + 3 * k] / total, WeightedMean(sums[2 + 3 * k], sums[3 + 3 * k]),
                          sums[3 + 3 * k]};
    if (!metrics_.accuracy) output.accuracy = std::numeric_limits<double>::quiet_NaN();
    scores.outputs.push_back(output);
  }
  scores.accuracy = scores.outputs[0].accuracy;
  scores.accuracy_weight = scores.outputs[0].accuracy_weight;
  return scores;
}

absl::StatusOr<Array> Model::Predict(const Array& x, size_t batch_size, bool bucket_by_length) {
  if (outputs_.size() > 1) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "predict: model '%s' has %d outputs: pass its inputs as a list to get one array each",
        name(), outputs_.size()));
  }
  absl::StatusOr<std::vector<Array>> outputs =
      Predict(std::vector<Array>{x}, batch_size, bucket_by_length);
  if (!outputs.ok()) return outputs.status();
  return std::move(outputs->front());
}

absl::StatusOr<std::vector<Array>> Model::Predict(const std::vector<Array>& x, size_t batch_size,
                                                  bool bucket_by_length) {
  // No sample is no prediction; NaN in, NaN out (as Keras).
  absl::StatusOr<EpochPlan> plan =
      Trainer::InferencePlan(*this, x, nullptr, batch_size, bucket_by_length, "predict");
  if (!plan.ok()) return plan.status();
  autograd::NoGradGuard no_grad;
  const size_t samples = x[0].shape()[0];
  std::vector<Array> results(outputs_.size());
  autograd::QuantizedWeights int8_weights;  // quantized at first use, for this call's batches
  CallContext context{/*training=*/false};
  if (int8_inference_) context.int8 = &int8_weights;
  for (const auto& [begin, end] : plan->batches) {
    absl::StatusOr<std::vector<Output>> predictions =
        Trainer::Forward(*this, GatherRows(x, plan->order, begin, end), context);
    if (!predictions.ok()) return predictions.status();
    for (size_t k = 0; k < outputs_.size(); ++k) {
      const Array& values = (*predictions)[k].value.value();
      if (results[k].dimension() == 0) {
        // The shape comes from the first batch: an axis whose length varies takes the data's.
        Shape shape = autograd::ShapeOf(values);
        shape[0] = samples;
        results[k] = Array::from_shape(shape);
      }
      const size_t row = values.size() / std::max<size_t>(end - begin, 1);
      if (results[k].size() != row * samples) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "predict: output %d of batch %d has shape %s, unlike the first batch's rows of %d "
            "values: an axis whose length varies must have the same length in every batch",
            k, begin / batch_size, autograd::ShapeString(autograd::ShapeOf(values)),
            results[k].size() / std::max<size_t>(samples, 1)));
      }
      for (size_t i = begin; i < end; ++i) {
        std::memcpy(results[k].data() + plan->order[i] * row, values.data() + (i - begin) * row,
                    row * sizeof(Real));
      }
    }
  }
  if (samples == 0) {
    for (size_t k = 0; k < outputs_.size(); ++k) {
      Shape shape = {0};
      for (size_t extent : output_shapes_[k]) shape.push_back(extent == kVaries ? 0 : extent);
      results[k] = Array::from_shape(shape);
    }
  }
  return results;
}

void Model::set_int8_inference(bool int8) {
  if (int8 && !autograd::HasInt8Dot()) {
    static bool said = false;
    if (!said) {
      std::fprintf(stderr,
                   "int8 inference: this processor lacks VNNI (oneDNN runs %s); running float32\n",
                   autograd::GemmLibraryName().c_str());
      said = true;
    }
    int8 = false;
  }
  int8_inference_ = int8;
}

absl::StatusOr<Array> Model::PredictClasses(const Array& x, size_t batch_size) {
  absl::StatusOr<Array> probabilities = Predict(x, batch_size);
  if (!probabilities.ok()) return probabilities.status();
  const Array& p = *probabilities;
  const size_t classes = p.shape().back();
  if (classes == 1) return Array(xt::cast<Real>(p > Real(0.5)));
  Shape shape = autograd::ShapeOf(p);
  shape.pop_back();  // Keras returns the class index, without the class axis
  Array out = Array::from_shape(shape);
  for (size_t r = 0; r < out.size(); ++r) {
    const Real* row = p.data() + r * classes;
    out.data()[r] = static_cast<Real>(std::max_element(row, row + classes) - row);
  }
  return out;
}

}  // namespace layers
