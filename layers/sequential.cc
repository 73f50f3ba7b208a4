#include "layers/sequential.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "autograd/elementwise.h"
#include "autograd/losses.h"
#include "autograd/reductions.h"
#include "layers/callbacks.h"
#include "layers/progress.h"
#include "xtensor/xmath.hpp"

namespace layers {
namespace {

std::string WithThousands(size_t value) {
  std::string digits = std::to_string(value), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// One row of Keras' print_summary: each field is cut or padded to end at its column, and the
// last character before a column is always a space.
std::string SummaryRow(const std::vector<std::string>& fields) {
  static const size_t kColumnEnds[] = {29, 55, 65};
  std::string line;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) line.back() = ' ';
    line += fields[i];
    line = line.substr(0, kColumnEnds[i]);
    line += std::string(kColumnEnds[i] - line.size(), ' ');
  }
  return line;
}

std::string Values(const std::map<std::string, double>& values,
                   const std::vector<std::string>& order) {
  std::string out;
  for (const std::string& key : order) {
    auto it = values.find(key);
    if (it == values.end()) continue;
    absl::StrAppend(&out, out.empty() ? "" : " - ", absl::StrFormat("%s: %.4f", key, it->second));
  }
  return out;
}

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

// Keras' mse; with weights (losses.h), each row's squared errors take the row's weight.
Tensor MeanSquaredError(const Tensor& output, const Array& targets, const Array* weights) {
  const Tensor error = autograd::Sub(output, Tensor(targets));
  Tensor squares = autograd::Mul(error, error);
  if (weights != nullptr) {
    Shape column = autograd::ShapeOf(*weights);
    column.push_back(1);
    Array by_row = *weights;
    by_row.reshape(column);
    squares = autograd::Mul(squares, Tensor(std::move(by_row)));
  }
  return autograd::Mean(squares);
}

// Keras' accuracy for a loss: categorical_accuracy (arg max of prediction and target agree) or
// binary_accuracy (every output thresholded at 0.5).
enum class AccuracyKind { kBinary, kCategorical };

// Every loss Compile takes, under its Keras name: the one place a loss name is looked up.
struct LossEntry {
  const char* name;
  Tensor (*loss)(const Tensor& output, const Array& targets, const Array* weights);
  AccuracyKind accuracy;
};
// binary_crossentropy on a sigmoid output works from the logits, as tf.keras (autograd/losses.h).
constexpr LossEntry kLosses[] = {
    {"binary_crossentropy", autograd::BinaryCrossentropy, AccuracyKind::kBinary},
    {"categorical_crossentropy", autograd::CategoricalCrossentropy, AccuracyKind::kCategorical},
    {"mse", MeanSquaredError, AccuracyKind::kBinary},
};
// A metric averaged with weights; 0 when nothing had weight (every step masked), as Keras'
// metrics report for zero total weight, in Fit, Evaluate and the progress bar alike.
double WeightedMean(double sum, double weight) { return weight == 0 ? 0.0 : sum / weight; }

// The metrics, by the names Keras accepts; Keras reports each under the name it was given.
constexpr const char* kAccuracyNames[] = {"acc", "accuracy"};

}  // namespace

Sequential::Sequential(uint64_t seed, std::string name)
    : name_(std::move(name)), seed_(seed), rng_(seed) {}

void Sequential::Add(LayerPtr layer, Shape input_shape) {
  if (layers_.empty()) {
    input_shape_ = input_shape.empty() ? layer->implied_input_shape() : std::move(input_shape);
  }
  const std::string base = KerasBaseName(layer->type());
  const int used = names_used_[base]++;
  layer->set_name(used == 0 ? base : absl::StrCat(base, "_", used));
  layers_.push_back(std::move(layer));
  built_ = compiled_ = false;
}

Layer& Sequential::layer(size_t index) {
  if (index >= layers_.size()) {
    std::fprintf(stderr,
                 "Sequential::layer(%zu): model '%s' has %zu layers; call GetLayer(index) for an "
                 "error instead\n",
                 index, name_.c_str(), layers_.size());
    std::abort();
  }
  return *layers_[index];
}

absl::StatusOr<Layer*> Sequential::GetLayer(size_t index) const {
  if (index >= layers_.size()) {
    return absl::OutOfRangeError(absl::StrFormat(
        "model '%s' has %d layers (indices 0 to %d), so there is no layer %d", name_,
        layers_.size(), static_cast<int64_t>(layers_.size()) - 1, index));
  }
  return layers_[index].get();
}

absl::StatusOr<Layer*> Sequential::GetLayer(const std::string& name) const {
  std::vector<std::string> names;
  for (const LayerPtr& layer : layers_) {
    if (layer->name() == name) return layer.get();
    names.push_back(absl::StrCat("'", layer->name(), "'"));
  }
  return absl::NotFoundError(absl::StrFormat("model '%s' has no layer named '%s' (it has %s)",
                                             name_, name,
                                             names.empty() ? "none" : absl::StrJoin(names, ", ")));
}

absl::Status Sequential::Build() {
  if (layers_.empty()) {
    return absl::FailedPreconditionError(
        absl::StrFormat("model '%s' has no layers: add some before compile", name_));
  }
  if (input_shape_.empty()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "model '%s': the first layer '%s' needs an input shape (Add(layer, {time, features}))%s",
        name_, layers_[0]->name(),
        layers_[0]->type() == "Embedding"
            ? "; an Embedding's input_length of 0 means any length and implies no shape"
            : ""));
  }
  if (std::find(input_shape_.begin(), input_shape_.end(), 0) != input_shape_.end()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "model '%s': the input shape %s has an axis of length 0: the first layer '%s' needs at "
        "least one step and one feature (did the data come out empty, every sequence of length "
        "0?)",
        name_, KerasShapeString(input_shape_), layers_[0]->name()));
  }
  Shape shape = input_shape_;
  const Layer* mask_maker = nullptr;  // the layer whose mask reaches the current one
  for (const LayerPtr& layer : layers_) {
    if (mask_maker != nullptr && !layer->supports_masking()) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "layer '%s' (%s) does not support masking, but the mask made by layer '%s' (%s) "
          "reaches it: turn the mask off (mask_zero=false, no Masking), or consume it first with "
          "a recurrent layer without return_sequences",
          layer->name(), layer->type(), mask_maker->name(), mask_maker->type()));
    }
    if (absl::Status status = layer->Build(shape, rng_); !status.ok()) return status;
    shape = layer->output_shape();
    const bool masked = layer->OutputMasked(mask_maker != nullptr);
    if (!masked) {
      mask_maker = nullptr;
    } else if (mask_maker == nullptr) {
      mask_maker = layer.get();
    }
  }
  parameters_.clear();
  for (const LayerPtr& layer : layers_) {
    for (const Weight& weight : layer->weights()) parameters_.push_back(weight.tensor);
  }
  built_ = true;
  return absl::OkStatus();
}

std::vector<std::string> Sequential::metrics() const {
  if (!accuracy_) return {};
  return {accuracy_name_};
}

Sequential::TrainingState Sequential::GetTrainingState() const {
  std::ostringstream rng;
  rng << rng_.engine();
  TrainingState state;
  state.rng = rng.str();
  state.order.assign(order_.begin(), order_.end());
  state.epochs = epochs_trained_;
  return state;
}

absl::Status Sequential::SetTrainingState(const TrainingState& state) {
  std::mt19937_64 engine;
  std::istringstream rng(state.rng);
  rng >> engine;
  if (rng.fail()) {
    return absl::InvalidArgumentError(
        "training state: expected (the generator's state: 313 integers), got (text that does not "
        "read as one)");
  }
  std::vector<bool> seen(state.order.size(), false);
  for (uint64_t index : state.order) {
    if (index >= state.order.size() || seen[index]) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "training state: expected (a permutation of 0..%d as the sample order), got (index %d)",
          static_cast<int64_t>(state.order.size()) - 1, index));
    }
    seen[index] = true;
  }
  if (state.epochs < 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("training state: expected (epochs >= 0), got (%d)", state.epochs));
  }
  rng_.engine() = engine;
  seed_.reset();  // the state no longer follows from it
  order_.assign(state.order.begin(), state.order.end());
  epochs_trained_ = state.epochs;
  return absl::OkStatus();
}

absl::Status Sequential::Compile(const std::string& loss,
                                 std::unique_ptr<autograd::Optimizer> optimizer,
                                 std::vector<std::string> metrics) {
  const LossEntry* entry = nullptr;
  std::vector<std::string> known;
  for (const LossEntry& candidate : kLosses) {
    if (loss == candidate.name) entry = &candidate;
    known.push_back(candidate.name);
  }
  if (entry == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrFormat("unknown loss '%s' (expected %s)", loss, absl::StrJoin(known, ", ")));
  }
  bool accuracy = false;
  std::string accuracy_name;
  for (const std::string& metric : metrics) {
    if (std::find(std::begin(kAccuracyNames), std::end(kAccuracyNames), metric) ==
        std::end(kAccuracyNames)) {
      return absl::InvalidArgumentError(absl::StrFormat("unknown metric '%s' (expected %s)", metric,
                                                        absl::StrJoin(kAccuracyNames, ", ")));
    }
    accuracy = true;
    accuracy_name = metric;
  }
  if (optimizer == nullptr) return absl::InvalidArgumentError("compile needs an optimizer");
  if (absl::Status status = Build(); !status.ok()) return status;
  // Softmax cross-entropy over one class is log(1) = 0 whatever the weights: nothing to learn.
  if (entry->accuracy == AccuracyKind::kCategorical && layers_.back()->output_shape().back() < 2) {
    const Layer& last = *layers_.back();
    return absl::InvalidArgumentError(absl::StrFormat(
        "compile: loss '%s' needs a distribution over at least 2 classes, but the output of "
        "layer '%s' (%s) is %s, one value per sample: use binary_crossentropy for one sigmoid "
        "unit, or a Dense(classes, \"softmax\") output with one-hot targets",
        loss, last.name(), last.type(), KerasShapeString(last.output_shape())));
  }
  // Nothing changes until every check has passed: a failed Compile leaves the model as it was.
  accuracy_ = accuracy;
  if (accuracy) accuracy_name_ = accuracy_name;
  loss_ = loss;
  loss_fn_ = entry->loss;
  categorical_accuracy_ = entry->accuracy == AccuracyKind::kCategorical;
  optimizer_ = std::move(optimizer);
  compiled_ = true;
  return absl::OkStatus();
}

std::vector<Tensor> Sequential::Parameters() const { return parameters_; }

std::vector<Array> Sequential::GetWeights() const {
  std::vector<Array> values;
  for (const LayerPtr& layer : layers_) {
    for (Array& value : layer->GetWeights()) values.push_back(std::move(value));
  }
  return values;
}

size_t Sequential::CountParams() const {
  size_t count = 0;
  for (const LayerPtr& layer : layers_) count += layer->built() ? layer->CountParams() : 0;
  return count;
}

std::string Sequential::Summary() const {
  const std::string rule(65, '_'), double_rule(65, '=');
  std::string out = absl::StrFormat("Model: \"%s\"\n%s\n", name_, rule);
  absl::StrAppend(&out, SummaryRow({"Layer (type)", "Output Shape", "Param #"}), "\n", double_rule,
                  "\n");
  for (size_t i = 0; i < layers_.size(); ++i) {
    const Layer& layer = *layers_[i];
    absl::StrAppend(&out,
                    SummaryRow({absl::StrFormat("%s (%s)", layer.name(), layer.type()),
                                layer.built() ? KerasShapeString(layer.output_shape()) : "multiple",
                                std::to_string(layer.built() ? layer.CountParams() : 0)}),
                    "\n", i + 1 < layers_.size() ? rule : double_rule, "\n");
  }
  const std::string total = WithThousands(CountParams());
  absl::StrAppend(&out, "Total params: ", total, "\nTrainable params: ", total,
                  "\nNon-trainable params: 0\n", rule, "\n");
  return out;
}

absl::Status Sequential::CheckData(const Array& x, const Array* y, const char* method,
                                   bool finite) const {
  const bool predicting = y == nullptr;
  if (!(predicting ? built_ : compiled_)) {
    return absl::FailedPreconditionError(
        absl::StrFormat("%s: model '%s' is not compiled: call Compile first", method, name_));
  }
  const Shape x_shape = autograd::ShapeOf(x);
  const Shape x_sample(x_shape.begin() + std::min<size_t>(1, x_shape.size()), x_shape.end());
  if (x_shape.empty() || x_sample != input_shape_) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: x has shape %s but model '%s' expects %s", method,
                        autograd::ShapeString(x_shape), name_, KerasShapeString(input_shape_)));
  }
  if (finite && x_shape[0] == 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: x has no samples (shape %s): there is nothing to learn from or score; check the "
        "data and the split that produced it",
        method, autograd::ShapeString(x_shape)));
  }
  if (y != nullptr) {
    const Shape y_shape = autograd::ShapeOf(*y);
    const Shape& out = layers_.back()->output_shape();
    Shape expected = {x_shape[0]};
    expected.insert(expected.end(), out.begin(), out.end());
    if (y_shape != expected) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s: y has shape %s but the model's output for x is %s", method,
                          autograd::ShapeString(y_shape), autograd::ShapeString(expected)));
    }
  }
  if (!finite) return absl::OkStatus();
  // One NaN would spread to every weight through the first update.
  for (const auto& [name, values] : {std::pair<const char*, const Array*>{"x", &x}, {"y", y}}) {
    if (values == nullptr) continue;
    if (const std::string bad = FirstNonFinite(*values); !bad.empty()) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: %s holds %s (the first index is the sample): remove or repair that sample", method,
          name, bad));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Sequential::Output> Sequential::Forward(const Array& x, bool training) {
  Output out{Tensor(x), std::nullopt};
  for (size_t i = 0; i < layers_.size(); ++i) {
    Layer& layer = *layers_[i];
    // Ops throw on bad values (an index out of range); say which layer met them.
    try {
      const Array* mask = out.mask ? &*out.mask : nullptr;
      std::optional<Array> next_mask = layer.ComputeMask(out.value.value(), mask);
      out.value = layer.CallMasked(out.value, mask, training);
      out.mask = std::move(next_mask);
    } catch (const std::exception& error) {
      autograd::CurrentTape().Clear();
      return absl::InvalidArgumentError(
          absl::StrFormat("layer '%s' (%s): %s", layer.name(), layer.type(), error.what()));
    }
  }
  return out;
}

absl::StatusOr<Sequential::BatchLoss> Sequential::LossOnBatch(const Array& x, const Array& y,
                                                              bool training) {
  absl::StatusOr<Output> output = Forward(x, training);
  if (!output.ok()) return output.status();
  Tensor loss;
  try {
    loss = loss_fn_(output->value, y, output->mask ? &*output->mask : nullptr);
  } catch (const std::exception& error) {
    autograd::CurrentTape().Clear();
    return absl::InvalidArgumentError(absl::StrFormat("loss '%s': %s", loss_, error.what()));
  }
  return BatchLoss{loss, output->value.value(), std::move(output->mask)};
}

void Sequential::SetAccuracy(const BatchLoss& batch, const Array& targets, Scores& scores) const {
  const Array& predictions = batch.predictions;
  const size_t classes = predictions.shape().back();
  const size_t rows = predictions.size() / classes;
  // Keras' accuracies are per row (the last axis), averaged with the mask as weights.
  const Real* weights = batch.mask ? batch.mask->data() : nullptr;
  double correct = 0, total = 0;
  const Real* p = predictions.data();
  const Real* y = targets.data();
  for (size_t r = 0; r < rows; ++r, p += classes, y += classes) {
    const double weight = weights != nullptr ? weights[r] : 1.0;
    if (weight == 0) continue;
    double right = 0;
    if (categorical_accuracy_) {
      // Keras' categorical_accuracy: arg max of prediction and target agree.
      right = std::max_element(p, p + classes) - p == std::max_element(y, y + classes) - y;
    } else {
      // Keras' binary_accuracy: the fraction of outputs on the right side of 0.5.
      for (size_t k = 0; k < classes; ++k) right += (p[k] > Real(0.5)) == (y[k] > Real(0.5));
      right /= static_cast<double>(classes);
    }
    correct += weight * right;
    total += weight;
  }
  scores.accuracy_weight = total;
  scores.accuracy = !accuracy_   ? std::numeric_limits<double>::quiet_NaN()
                    : total == 0 ? 0.0
                                 : correct / total;
}

absl::StatusOr<std::vector<size_t>> Sequential::RealLengths(const Array& x,
                                                            const char* method) const {
  std::optional<Array> mask = layers_.front()->ComputeMask(x, nullptr);
  if (!mask) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "%s: bucket_by_length needs the lengths of the samples, from a mask made by the first "
        "layer: use Embedding(..., mask_zero=true) or Masking first, or turn bucketing off",
        method));
  }
  const size_t samples = mask->shape()[0], time = mask->shape()[1];
  std::vector<size_t> lengths(samples, 0);
  for (size_t i = 0; i < samples; ++i) {
    const Real* row = mask->data() + i * time;
    size_t first = 0, last = time;
    while (first < time && row[first] == 0) ++first;
    while (last > first && row[last - 1] == 0) --last;
    lengths[i] = last - first;
  }
  return lengths;
}

std::vector<std::pair<size_t, size_t>> Sequential::Batches(size_t samples, size_t batch_size) {
  std::vector<std::pair<size_t, size_t>> batches;
  for (size_t begin = 0; begin < samples; begin += batch_size) {
    batches.emplace_back(begin, std::min(samples, begin + batch_size));
  }
  return batches;
}

namespace {

// `order` sorted by length, keeping the order of equal lengths.
void SortByLength(std::vector<size_t>& order, const std::vector<size_t>& lengths) {
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return lengths[a] < lengths[b]; });
}

}  // namespace

Array Sequential::Gather(const Array& data, const std::vector<size_t>& indices, size_t begin,
                         size_t end) {
  Shape shape = autograd::ShapeOf(data);
  const size_t row = data.size() / shape[0];
  shape[0] = end - begin;
  Array out = Array::from_shape(shape);
  for (size_t i = begin; i < end; ++i) {
    std::memcpy(out.data() + (i - begin) * row, data.data() + indices[i] * row, row * sizeof(Real));
  }
  return out;
}

void Sequential::set_data_parallel(std::shared_ptr<DataParallel> group) {
  data_parallel_ = std::move(group);
  weights_shared_ = false;
}

std::vector<Agreed> Sequential::ModelAgreement(const std::string& method) const {
  std::vector<Agreed> entries;
  entries.push_back({"input shape", ShapeNumbers(input_shape_), ShowShape,
                     "build the same model, for inputs of the same shape, on every rank"});
  // The weights: how many, how many values, and a hash of every shape; a difference in shapes
  // alone is then told weight by weight (one more collective, on the error's path only).
  std::vector<Shape> shapes;
  std::vector<std::string> names;
  size_t values = 0;
  for (const Tensor& parameter : parameters_) {
    shapes.push_back(parameter.shape());
    values += parameter.numel();
  }
  for (const LayerPtr& layer : layers_) {
    if (!layer->built()) continue;
    for (std::string& name : layer->KerasWeightNames()) names.push_back(std::move(name));
  }
  std::string all_shapes;
  for (const Shape& shape : shapes) absl::StrAppend(&all_shapes, absl::StrJoin(shape, ","), ";");
  const std::string advice = "build the same model on every rank";
  Agreed weights{
      "weights",
      {static_cast<double>(shapes.size()), static_cast<double>(values), Hash52(all_shapes)},
      [](const double* numbers) {
        return absl::StrFormat("%.0f arrays of %.0f values", numbers[0], numbers[1]);
      },
      advice};
  weights.explain = [group = data_parallel_, method, shapes, names, advice, show = weights.show](
                        const std::vector<const double*>& numbers) -> absl::Status {
    const size_t ranks = numbers.size();
    const auto differ = [&](const char* what, const std::vector<std::string>& shown) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: the %d processes of the job must agree on the %s, but have %s (rank 0, 1, ...): "
          "%s",
          method, ranks, what, absl::StrJoin(shown, ", "), advice));
    };
    std::vector<std::string> shown;
    for (const double* values : numbers) shown.push_back(show(values));
    for (size_t r = 1; r < ranks; ++r) {
      if (numbers[r][0] != numbers[0][0]) return differ("weights", shown);
    }
    // As many weights everywhere: every rank's shape of each, to name the first that differs.
    std::vector<double> all(ranks * shapes.size() * kShapeNumbers, 0.0);
    double* mine = all.data() + static_cast<size_t>(group->rank()) * shapes.size() * kShapeNumbers;
    for (size_t k = 0; k < shapes.size(); ++k) {
      const std::vector<double> shape = ShapeNumbers(shapes[k]);
      std::copy(shape.begin(), shape.end(), mine + k * kShapeNumbers);
    }
    if (absl::Status status = group->AllreduceSum(all.data(), all.size()); !status.ok()) {
      return status;
    }
    for (size_t k = 0; k < shapes.size(); ++k) {
      std::vector<std::string> shapes_shown;
      bool same = true;
      for (size_t r = 0; r < ranks; ++r) {
        const double* shape = all.data() + (r * shapes.size() + k) * kShapeNumbers;
        same &= std::equal(shape, shape + kShapeNumbers, all.data() + k * kShapeNumbers);
        shapes_shown.push_back(ShowShape(shape));
      }
      if (!same) {
        return differ(absl::StrFormat("shape of weight '%s' (%d of %d)",
                                      k < names.size() ? names[k] : "?", k + 1, shapes.size())
                          .c_str(),
                      shapes_shown);
      }
    }
    return differ("weights", shown);
  };
  entries.push_back(std::move(weights));
  // The generator: its whole state (the seed, then every draw so far, or a resumed model's saved
  // state), shown by the seed when known.
  std::ostringstream state;
  state << rng_.engine();
  const bool known = seed_.has_value();
  const uint64_t seed = seed_.value_or(0);
  entries.push_back({"seed (the random generator's state)",
                     {static_cast<double>(known), static_cast<double>(seed >> 32),
                      static_cast<double>(seed & 0xffffffffu), Hash52(state.str())},
                     [](const double* numbers) -> std::string {
                       if (numbers[0] == 0) return "a restored state";
                       return absl::StrCat((static_cast<uint64_t>(numbers[1]) << 32) |
                                           static_cast<uint64_t>(numbers[2]));
                     },
                     "make every rank's model with the same seed"});
  return entries;
}

absl::Status Sequential::BroadcastWeights() {
  size_t total = 0;
  for (const Tensor& parameter : parameters_) total += parameter.numel();
  std::vector<Real> buffer(total);
  Real* at = buffer.data();
  for (const Tensor& parameter : parameters_) {
    at = std::copy(parameter.value().begin(), parameter.value().end(), at);
  }
  if (absl::Status status = data_parallel_->Broadcast(buffer.data(), total); !status.ok()) {
    return status;
  }
  at = buffer.data();
  for (Tensor parameter : parameters_) {
    std::copy(at, at + parameter.numel(), parameter.mutable_value().begin());
    at += parameter.numel();
  }
  weights_shared_ = true;
  return absl::OkStatus();
}

absl::Status Sequential::AverageGradients(size_t rows, size_t global_rows, Scores& scores) {
  // Layout: every gradient, then one "has a gradient" count per parameter, then the loss, the
  // accuracy's weighted sum and its weight. Each rank's mean weighs by its rows, so the sum over
  // ranks divided by global_rows is the global batch's mean.
  size_t total = parameters_.size() + 3;
  for (const Tensor& parameter : parameters_) total += parameter.numel();
  std::vector<Real> buffer(total, Real(0));
  const Real weight = static_cast<Real>(rows);
  Real* at = buffer.data();
  for (const Tensor& parameter : parameters_) {
    if (parameter.has_grad()) {
      const Array& grad = parameter.node()->grad;
      for (size_t k = 0; k < grad.size(); ++k) at[k] = grad.data()[k] * weight;
    }
    at += parameter.numel();
  }
  Real* has_grad = at;
  for (size_t p = 0; p < parameters_.size(); ++p) has_grad[p] = parameters_[p].has_grad();
  Real* sums = has_grad + parameters_.size();
  sums[0] = static_cast<Real>(scores.loss) * weight;
  sums[1] = accuracy_ ? static_cast<Real>(scores.accuracy * scores.accuracy_weight) : Real(0);
  sums[2] = static_cast<Real>(scores.accuracy_weight);
  if (absl::Status status = data_parallel_->AllreduceSum(buffer.data(), total); !status.ok()) {
    return status;
  }
  const Real divisor = static_cast<Real>(global_rows);
  at = buffer.data();
  for (size_t p = 0; p < parameters_.size(); ++p) {
    autograd::Node& node = *parameters_[p].node();
    if (has_grad[p] > 0) {
      node.grad = Array::from_shape(node.value.shape());
      for (size_t k = 0; k < node.grad.size(); ++k) node.grad.data()[k] = at[k] / divisor;
      node.has_grad = true;
    }
    at += node.value.size();
  }
  scores.loss = sums[0] / divisor;
  scores.accuracy_weight = sums[2];
  scores.accuracy = !accuracy_     ? std::numeric_limits<double>::quiet_NaN()
                    : sums[2] == 0 ? 0.0
                                   : double{sums[1]} / sums[2];
  return absl::OkStatus();
}

absl::StatusOr<Scores> Sequential::TrainOnBatch(const Array& x, const Array& y) {
  const absl::Status usable = CheckData(x, &y, "train_on_batch", /*finite=*/true);
  if (data_parallel_ == nullptr) {
    if (!usable.ok()) return usable;
    return TrainStep(x, y, /*terminate_on_nan=*/true);
  }
  // One collective: whether every rank can train, each rank's rows (its share of the global
  // batch comes after those of the ranks before it) and, on the first call, the model.
  const bool first = !weights_shared_;
  std::vector<Agreed> entries = {{"rows",
                                  {usable.ok() ? static_cast<double>(x.shape()[0]) : 0.0},
                                  nullptr,
                                  "",
                                  /*must_agree=*/false}};
  if (first) {
    for (Agreed& entry : ModelAgreement("train_on_batch")) entries.push_back(std::move(entry));
  }
  absl::StatusOr<std::vector<double>> all =
      Agree(*data_parallel_, "train_on_batch", "batch", usable, entries);
  if (!all.ok()) return all.status();
  if (first) {
    if (absl::Status status = BroadcastWeights(); !status.ok()) return status;
  }
  const size_t ranks = static_cast<size_t>(data_parallel_->size()), width = all->size() / ranks;
  size_t global_rows = 0, first_row = 0;
  for (size_t r = 0; r < ranks; ++r) {
    if (r == static_cast<size_t>(data_parallel_->rank())) first_row = global_rows;
    global_rows += static_cast<size_t>((*all)[r * width + 1]);
  }
  return TrainStep(x, y, /*terminate_on_nan=*/true, global_rows, first_row);
}

absl::StatusOr<Scores> Sequential::TrainStep(const Array& x, const Array& y, bool terminate_on_nan,
                                             size_t global_rows, size_t first_row) {
  autograd::CurrentTape().Clear();
  const bool together = data_parallel_ != nullptr;
  // Dropout masks of this rank's rows of the global batch (layers/data_parallel.h).
  std::optional<BatchShare> share;
  if (together) share.emplace(global_rows, first_row);
  absl::StatusOr<BatchLoss> batch = LossOnBatch(x, y, /*training=*/true);
  if (!batch.ok()) return batch.status();
  const Tensor& loss = batch->loss;
  Scores scores{loss.item()};
  SetAccuracy(*batch, y, scores);
  if (together) {
    // Every rank must join the allreduce, so a NaN on one rank is judged on the global loss.
    if (absl::Status status = autograd::CurrentTape().Backward(loss); !status.ok()) return status;
    if (absl::Status status = AverageGradients(x.shape()[0], global_rows, scores); !status.ok()) {
      return status;
    }
  }
  if (terminate_on_nan && !std::isfinite(scores.loss)) {
    autograd::CurrentTape().Clear();
    for (Tensor parameter : parameters_) parameter.ZeroGrad();
    return absl::OutOfRangeError(absl::StrFormat(
        "the loss became %g, so training stopped (TerminateOnNaN) before this batch's update; "
        "the weights are finite: try a smaller learning rate, or look for extreme values in "
        "the data",
        scores.loss));
  }
  if (!together) {
    if (absl::Status status = autograd::CurrentTape().Backward(loss); !status.ok()) return status;
  }
  optimizer_->Step(parameters_);
  return scores;
}

absl::StatusOr<History> Sequential::Fit(const Array& x, const Array& y, const FitOptions& options) {
  const bool validate = options.validation_x().dimension() > 0;  // Array() is 0-d: unset
  absl::Status usable =
      options.batch_size() == 0
          ? absl::InvalidArgumentError("fit: batch_size is 0; it must be at least 1")
          : CheckData(x, &y, "fit", /*finite=*/true);
  if (usable.ok() && validate) {
    usable = CheckData(options.validation_x(), &options.validation_y(), "fit (validation_data)",
                       /*finite=*/true);
  }
  const size_t samples = usable.ok() ? x.shape()[0] : 0;
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
         }) {
      entries.push_back({what, {value}, number, advice});
    }
    for (Agreed& entry : ModelAgreement("fit")) entries.push_back(std::move(entry));
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
    if (absl::Status status = BroadcastWeights(); !status.ok()) return status;
  }
  if (!usable.ok()) return usable;
  const int verbose = is_chief() ? options.verbose() : 0;
  std::vector<size_t> lengths;
  if (options.bucket_by_length()) {
    absl::StatusOr<std::vector<size_t>> real = RealLengths(x, "fit");
    if (!real.ok()) return real.status();
    lengths = *std::move(real);
  }
  // The order carries over from the last epoch (and through a saved model), so that k epochs,
  // then N - k more, shuffle exactly as N epochs at once.
  if (order_.size() != samples) {
    order_.resize(samples);
    std::iota(order_.begin(), order_.end(), 0);
  }
  const std::string& acc = accuracy_name_;
  std::vector<std::string> keys = {"loss"};
  if (accuracy_) keys.push_back(acc);
  if (validate) {
    keys.push_back("val_loss");
    if (accuracy_) keys.push_back("val_" + acc);
  }
  const bool terminal = IsTerminal(stdout);
  History history;
  // Callbacks that write files run on rank 0 only; the others (EarlyStopping) everywhere, on the
  // same logs, so that every rank stops together.
  std::vector<std::shared_ptr<Callback>> callbacks;
  for (const std::shared_ptr<Callback>& callback : options.callbacks()) {
    if (is_chief() || !callback->writes_files()) callbacks.push_back(callback);
  }
  for (const std::shared_ptr<Callback>& callback : callbacks) {
    if (absl::Status status = callback->OnTrainBegin(*this); !status.ok()) return status;
  }
  bool stop = false;
  for (size_t epoch = options.initial_epoch(); epoch < options.epochs() && !stop; ++epoch) {
    if (verbose > 0) std::printf("Epoch %zu/%zu\n", epoch + 1, options.epochs());
    if (options.shuffle()) {
      for (size_t i = samples; i > 1; --i) std::swap(order_[i - 1], order_[rng_.Below(i)]);
    }
    std::vector<size_t> order = order_;
    std::vector<std::pair<size_t, size_t>> batches = Batches(samples, batch_size);
    if (options.bucket_by_length()) {
      SortByLength(order, lengths);
      if (options.shuffle()) {
        for (size_t i = batches.size(); i > 1; --i) {
          std::swap(batches[i - 1], batches[rng_.Below(i)]);
        }
      }
    }
    ProgressBar bar(samples * ranks, terminal, verbose == 1 ? stdout : nullptr);
    double loss_sum = 0, acc_sum = 0, acc_weight = 0;
    size_t steps = 0, done = 0;
    for (const auto& [begin, end] : batches) {
      absl::StatusOr<Scores> scores =
          TrainStep(Gather(x, order, begin, end), Gather(y, order, begin, end),
                    options.terminate_on_nan(), (end - begin) * ranks, (end - begin) * rank);
      if (!scores.ok()) {
        if (verbose > 0) std::printf("\n");  // end the progress line
        return absl::Status(
            scores.status().code(),
            absl::StrFormat("fit: epoch %zu, batch %zu (samples %zu to %zu): %s", epoch + 1,
                            steps + 1, begin, end - 1, scores.status().message()));
      }
      ++steps;
      done += (end - begin) * ranks;
      loss_sum += scores->loss * static_cast<double>((end - begin) * ranks);
      acc_sum += scores->accuracy * scores->accuracy_weight;
      acc_weight += scores->accuracy_weight;
      if (bar.Due(done)) {
        bar.Update(done,
                   Values({{"loss", loss_sum / done}, {acc, WeightedMean(acc_sum, acc_weight)}},
                          keys));
      }
    }
    std::map<std::string, double> epoch_values = {{"loss", loss_sum / (samples * ranks)},
                                                  {acc, WeightedMean(acc_sum, acc_weight)}};
    if (validate) {
      absl::StatusOr<Scores> scores = Evaluate(options.validation_x(), options.validation_y(),
                                               options.batch_size(), options.bucket_by_length());
      if (!scores.ok()) return scores.status();
      epoch_values["val_loss"] = scores->loss;
      epoch_values["val_" + acc] = scores->accuracy;
    }
    std::map<std::string, double> logs;
    for (const std::string& key : keys) {
      history.history[key].push_back(epoch_values[key]);
      logs[key] = epoch_values[key];
    }
    epochs_trained_ = static_cast<int64_t>(epoch) + 1;
    if (verbose == 2) {
      std::printf(" - %.0fs - %s\n", bar.ElapsedSeconds(), Values(epoch_values, keys).c_str());
    } else if (verbose == 1) {
      bar.Finish(Values(epoch_values, keys), steps);
    }
    for (const std::shared_ptr<Callback>& callback : callbacks) {
      if (absl::Status status = callback->OnEpochEnd(*this, epoch, logs, stop); !status.ok()) {
        return absl::Status(status.code(), absl::StrFormat("fit: after epoch %zu: %s", epoch + 1,
                                                           status.message()));
      }
    }
  }
  for (const std::shared_ptr<Callback>& callback : callbacks) {
    if (absl::Status status = callback->OnTrainEnd(*this); !status.ok()) return status;
  }
  return history;
}

absl::StatusOr<Scores> Sequential::Evaluate(const Array& x, const Array& y, size_t batch_size,
                                            bool bucket_by_length) {
  if (batch_size == 0) {
    return absl::InvalidArgumentError("evaluate: batch_size is 0; it must be at least 1");
  }
  if (absl::Status status = CheckData(x, &y, "evaluate", /*finite=*/true); !status.ok()) {
    return status;
  }
  autograd::NoGradGuard no_grad;
  const size_t samples = x.shape()[0];
  std::vector<size_t> order(samples);
  std::iota(order.begin(), order.end(), 0);
  if (bucket_by_length) {
    absl::StatusOr<std::vector<size_t>> lengths = RealLengths(x, "evaluate");
    if (!lengths.ok()) return lengths.status();
    SortByLength(order, *lengths);
  }
  double loss_sum = 0, acc_sum = 0, acc_weight = 0;
  for (const auto& [begin, end] : Batches(samples, batch_size)) {
    const Array targets = Gather(y, order, begin, end);
    absl::StatusOr<BatchLoss> batch =
        LossOnBatch(Gather(x, order, begin, end), targets, /*training=*/false);
    if (!batch.ok()) return batch.status();
    Scores scores;
    SetAccuracy(*batch, targets, scores);
    loss_sum += batch->loss.item() * (end - begin);
    if (accuracy_) acc_sum += scores.accuracy * scores.accuracy_weight;
    acc_weight += scores.accuracy_weight;
  }
  double total = static_cast<double>(samples);
  if (data_parallel_) {
    // Each rank's sums, over its shard, add up to the job's.
    double sums[] = {loss_sum, acc_sum, acc_weight, total};
    if (absl::Status status = data_parallel_->AllreduceSum(sums, 4); !status.ok()) return status;
    loss_sum = sums[0], acc_sum = sums[1], acc_weight = sums[2], total = sums[3];
  }
  Scores scores{loss_sum / total, WeightedMean(acc_sum, acc_weight), acc_weight};
  if (!accuracy_) scores.accuracy = std::numeric_limits<double>::quiet_NaN();
  return scores;
}

absl::StatusOr<Array> Sequential::Predict(const Array& x, size_t batch_size,
                                          bool bucket_by_length) {
  if (batch_size == 0) {
    return absl::InvalidArgumentError("predict: batch_size is 0; it must be at least 1");
  }
  // No sample is no prediction; NaN in, NaN out (as Keras).
  if (absl::Status status = CheckData(x, nullptr, "predict", /*finite=*/false); !status.ok()) {
    return status;
  }
  autograd::NoGradGuard no_grad;
  const size_t samples = x.shape()[0];
  Shape shape = {samples};
  const Shape& out = layers_.back()->output_shape();
  shape.insert(shape.end(), out.begin(), out.end());
  Array result = Array::from_shape(shape);
  const size_t row = result.size() / std::max<size_t>(samples, 1);
  std::vector<size_t> order(samples);
  std::iota(order.begin(), order.end(), 0);
  if (bucket_by_length) {
    absl::StatusOr<std::vector<size_t>> lengths = RealLengths(x, "predict");
    if (!lengths.ok()) return lengths.status();
    SortByLength(order, *lengths);
  }
  for (const auto& [begin, end] : Batches(samples, batch_size)) {
    absl::StatusOr<Output> predictions = Forward(Gather(x, order, begin, end), /*training=*/false);
    if (!predictions.ok()) return predictions.status();
    const Real* values = predictions->value.value().data();
    for (size_t i = begin; i < end; ++i) {
      std::memcpy(result.data() + order[i] * row, values + (i - begin) * row, row * sizeof(Real));
    }
  }
  return result;
}

absl::StatusOr<Array> Sequential::PredictClasses(const Array& x, size_t batch_size) {
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
