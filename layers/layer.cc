#include "layers/layer.h"

#include <cctype>
#include <cstdint>
#include <functional>
#include <new>
#include <stdexcept>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "autograd/elementwise.h"
#include "xtensor/xbuilder.hpp"
#include "autograd/losses.h"
#include "layers/data_parallel.h"

namespace layers {

namespace {

thread_local WeightsFromFile* weights_from_file = nullptr;

// Thrown by AddWeight (inside DoBuild) when a file's weights cannot hold what its config
// declares; Build turns it into an error naming the layer.
class NotInTheFile : public std::length_error {
 public:
  using std::length_error::length_error;
};

}  // namespace

WeightsFromFile::WeightsFromFile(size_t stored_values)
    : stored_values_(stored_values), left_(stored_values), previous_(weights_from_file) {
  weights_from_file = this;
}

WeightsFromFile::~WeightsFromFile() { weights_from_file = previous_; }

WeightsFromFile* WeightsFromFile::Current() { return weights_from_file; }

bool WeightsFromFile::Take(size_t values) {
  if (values > left_) return false;
  left_ -= values;
  return true;
}

namespace {
thread_local bool placeholder_weights = false;

std::string InputsString(const std::vector<Shape>& shapes) {
  if (shapes.size() == 1) return "input " + KerasShapeString(shapes[0]);
  std::vector<std::string> parts;
  for (const Shape& shape : shapes) parts.push_back(KerasShapeString(shape));
  return absl::StrCat("inputs [", absl::StrJoin(parts, ", "), "]");
}

bool FitsBuiltShapes(const std::vector<Shape>& shapes, const std::vector<Shape>& built) {
  if (shapes.size() != built.size()) return false;
  for (size_t i = 0; i < shapes.size(); ++i) {
    if (shapes[i].size() != built[i].size()) return false;
    for (size_t axis = 0; axis < shapes[i].size(); ++axis) {
      if (built[i][axis] != kVaries && shapes[i][axis] != built[i][axis]) return false;
    }
  }
  return true;
}
}  // namespace

PlaceholderWeights::PlaceholderWeights() : outer_(placeholder_weights) {
  placeholder_weights = true;
}
PlaceholderWeights::~PlaceholderWeights() { placeholder_weights = outer_; }
bool PlaceholderWeights::Active() { return placeholder_weights; }

absl::Status Layer::Build(const Shape& input_shape, Rng& rng) {
  return BuildCall({input_shape}, rng).status();
}

absl::StatusOr<std::vector<Shape>> Layer::BuildCall(const std::vector<Shape>& input_shapes,
                                                    Rng& rng) {
  // A layer holding placeholder weights is built again outside a PlaceholderWeights guard: a
  // model initialising it (wrapped layers too, built by their wrapper's build).
  const bool rebuild = built_ && !initialized_ && !PlaceholderWeights::Active();
  if (built_ && !rebuild) {
    // As Keras' input specs after build: an axis built as varying takes any length, and the
    // outputs keep the shapes built for any length.
    if (FitsBuiltShapes(input_shapes, call_input_shapes_)) return output_shapes_;
    return absl::FailedPreconditionError(
        absl::StrFormat("layer '%s' (%s) was built for %s and cannot take %s", name_, type_,
                        InputsString(call_input_shapes_),
                        InputsString(input_shapes).substr(input_shapes.size() == 1 ? 6 : 7)));
  }
  if (WeightsFromFile* file = WeightsFromFile::Current(); rebuild && file != nullptr) {
    for (const Weight& weight : weights_) file->Refund(weight.tensor.numel());
  }
  weights_.clear();
  rng_ = &rng;
  absl::StatusOr<std::vector<Shape>> output;
  try {
    output = DoBuildCall(input_shapes, rng);
  } catch (const NotInTheFile& error) {
    output = absl::InvalidArgumentError(error.what());
  } catch (const std::bad_alloc&) {
    output = absl::ResourceExhaustedError("not enough memory for its weights: use smaller sizes");
  } catch (const std::exception& error) {
    output = absl::InternalError(error.what());
  }
  if (!output.ok()) {
    weights_.clear();
    return absl::Status(output.status().code(),
                        absl::StrFormat("layer '%s' (%s) on %s: %s", name_, type_,
                                        InputsString(input_shapes), output.status().message()));
  }
  call_input_shapes_ = input_shapes;
  input_shape_ = input_shapes.empty() ? Shape{} : input_shapes[0];
  output_shapes_ = *std::move(output);
  output_shape_ = output_shapes_.empty() ? Shape{} : output_shapes_[0];
  built_ = true;
  initialized_ = !PlaceholderWeights::Active();
  return output_shapes_;
}

absl::StatusOr<std::vector<Shape>> Layer::DoBuildCall(const std::vector<Shape>& input_shapes,
                                                      Rng& rng) {
  if (input_shapes.size() != 1) {
    return absl::InvalidArgumentError(
        absl::StrFormat("it takes one input tensor, got %d", input_shapes.size()));
  }
  absl::StatusOr<Shape> output = DoBuild(input_shapes[0], rng);
  if (!output.ok()) return output.status();
  return std::vector<Shape>{*std::move(output)};
}

absl::Status Layer::Initialize(std::shared_ptr<Rng> owner) {
  if (initialized_) return absl::OkStatus();
  rng_owner_ = owner;
  if (!built_) return absl::OkStatus();  // built (and so initialised) when first called
  return BuildCall(call_input_shapes_, *owner).status();
}

absl::StatusOr<std::vector<bool>> Layer::OutputsMasked(const std::vector<bool>& masked) const {
  if (masked.size() != 1) {
    return absl::InvalidArgumentError(
        absl::StrFormat("it takes one input tensor, got %d", masked.size()));
  }
  return std::vector<bool>{OutputMasked(masked[0])};
}

std::vector<Tensor> Layer::CallNode(const std::vector<Tensor>& inputs,
                                    const std::vector<const Array*>& masks,
                                    const CallContext& context,
                                    std::vector<std::optional<Array>>& output_masks) {
  // The mask first, as Sequential always did (a layer may read its input's values for it).
  output_masks.assign(1, ComputeMask(inputs[0].value(), masks[0]));
  return {DoCall(inputs[0], masks[0], context)};
}

bool Layer::OutputMasked(bool input_masked) const {
  switch (mask_rule()) {
    case MaskRule::kMakes:
      return true;
    case MaskRule::kPasses:
      return input_masked;
    default:
      return false;
  }
}

Array Layer::MakeMask(const Array& /*x*/) const {
  throw std::logic_error(absl::StrFormat("layer '%s' (%s) makes no mask", name_, type_));
}

std::optional<Array> Layer::ComputeMask(const Array& x, const Array* mask) const {
  if (mask_rule() == MaskRule::kMakes) return MakeMask(x);
  if (mask == nullptr || mask_rule() != MaskRule::kPasses) return std::nullopt;
  return *mask;
}

Tensor Layer::AddWeight(std::string name, const Shape& shape,
                        const std::function<Array()>& initialize) {
  Array initial_value;
  if (WeightsFromFile* file = WeightsFromFile::Current(); file != nullptr) {
    size_t values = 1;
    for (size_t size : shape) {
      values = size == 0 ? 0 : values <= SIZE_MAX / size ? values * size : SIZE_MAX;
    }
    if (!file->Take(values)) {
      throw NotInTheFile(absl::StrFormat(
          "its weight '%s' of shape %s would hold more values than all the weights stored in the "
          "file (%d): the file's model_config does not match its weights",
          name, autograd::ShapeString(shape), file->stored_values()));
    }
    initial_value = xt::zeros<Real>(shape);
  } else if (PlaceholderWeights::Active()) {
    initial_value = xt::zeros<Real>(shape);
  } else {
    initial_value = initialize();
  }
  Tensor weight(std::move(initial_value), /*requires_grad=*/true);
  weights_.push_back({std::move(name), weight});
  return weight;
}

size_t Layer::CountParams() const {
  size_t count = 0;
  for (const Weight& weight : weights()) count += weight.tensor.numel();
  return count;
}

std::vector<std::string> Layer::KerasWeightNames() const {
  std::vector<std::string> names;
  for (const Weight& weight : weights())
    names.push_back(absl::StrCat(name_, "/", weight.name, ":0"));
  return names;
}

std::vector<Array> Layer::GetWeights() const {
  std::vector<Array> values;
  for (const Weight& weight : weights()) values.push_back(weight.tensor.value());
  return values;
}

absl::Status Layer::SetWeights(const std::vector<Array>& values) {
  std::vector<Weight> current = weights();
  if (values.size() != current.size()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("layer '%s' (%s): set_weights expected %d arrays, got %d", name_, type_,
                        current.size(), values.size()));
  }
  for (size_t i = 0; i < values.size(); ++i) {
    if (autograd::ShapeOf(values[i]) != current[i].tensor.shape()) {
      return absl::InvalidArgumentError(
          absl::StrFormat("layer '%s' (%s): set_weights: %s expected shape %s, got %s", name_,
                          type_, current[i].name, autograd::ShapeString(current[i].tensor.shape()),
                          autograd::ShapeString(autograd::ShapeOf(values[i]))));
    }
  }
  for (size_t i = 0; i < values.size(); ++i) current[i].tensor.mutable_value() = values[i];
  return absl::OkStatus();
}

Array DropoutMask(const Shape& shape, double rate, Rng& rng, const CallContext& context) {
  Array mask = Array::from_shape(shape);
  const Real keep = static_cast<Real>(1.0 / (1.0 - rate));
  if (context.global_rows == 0 || shape.empty()) {
    for (Real& value : mask) value = rng.Uniform() < rate ? Real(0) : keep;
    return mask;
  }
  // Draw the whole global batch's mask in row order, keeping only this share's rows.
  const size_t row = shape[0] == 0 ? 0 : mask.size() / shape[0];
  const size_t first = context.first_row * row, end = first + mask.size();
  if (context.first_row + shape[0] > context.global_rows) {
    throw std::logic_error(
        absl::StrFormat("dropout: a share of %d rows from row %d does not fit a global batch of %d",
                        shape[0], context.first_row, context.global_rows));
  }
  Real* out = mask.data();
  for (size_t k = 0, total = context.global_rows * row; k < total; ++k) {
    const Real value = rng.Uniform() < rate ? Real(0) : keep;
    if (k >= first && k < end) *out++ = value;
  }
  return mask;
}

// Keras' default layer names: "TimeDistributed" -> "time_distributed", "LSTM" -> "lstm",
// "SimpleRNN" -> "simple_rnn", "Conv1D" -> "conv1d".
std::string KerasBaseName(const std::string& type) {
  std::string out;
  for (size_t i = 0; i < type.size(); ++i) {
    const char c = type[i];
    const bool upper = std::isupper(static_cast<unsigned char>(c));
    if (upper && i > 0) {
      const bool after_lower = std::islower(static_cast<unsigned char>(type[i - 1]));
      const bool before_lower =
          i + 1 < type.size() && std::islower(static_cast<unsigned char>(type[i + 1]));
      if (after_lower || before_lower) out += '_';
    }
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

std::string KerasShapeString(const Shape& shape) {
  if (shape.empty()) return "(None,)";
  std::vector<std::string> axes = {"None"};
  for (size_t extent : shape) axes.push_back(extent == kVaries ? "None" : std::to_string(extent));
  return absl::StrCat("(", absl::StrJoin(axes, ", "), ")");
}

absl::Status CheckSize(const char* what, size_t value) {
  if (value >= 1 && value <= kMaxLayerSize) return absl::OkStatus();
  // A negative number passed through size_t shows up as itself.
  return absl::InvalidArgumentError(absl::StrFormat("%s must be in [1, %d], got %d", what,
                                                    kMaxLayerSize, static_cast<int64_t>(value)));
}

absl::Status CheckWeightShape(const char* weight, const Shape& shape) {
  double values = 1;
  for (size_t extent : shape) values *= static_cast<double>(extent);
  if (values <= static_cast<double>(kMaxWeightValues)) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrFormat("its %s would have shape %s, %.3g values, more than %d: use smaller sizes",
                      weight, autograd::ShapeString(shape), values, kMaxWeightValues));
}

absl::Status CheckActivation(const std::string& name) {
  if (name.empty() || name == "linear" || name == "sigmoid" || name == "tanh" || name == "relu" ||
      name == "softmax") {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrFormat(
      "unknown activation '%s' (expected linear, sigmoid, tanh, relu or softmax)", name));
}

Tensor Activate(const std::string& name, const Tensor& x) {
  if (name == "sigmoid") return autograd::Sigmoid(x);
  if (name == "tanh") return autograd::Tanh(x);
  if (name == "relu") return autograd::Relu(x);
  if (name == "softmax") return autograd::Softmax(x);
  return x;
}

}  // namespace layers
