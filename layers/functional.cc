#include "layers/functional.h"

#include <map>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "layers/config.h"

namespace layers {
namespace {

// A node that records only an error; its single "output" carries it.
KerasTensors Failed(absl::Status status) {
  auto node = std::make_shared<Node>();
  node->status = std::move(status);
  node->output_shapes = {Shape{}};
  node->output_masked = {false};
  return {KerasTensor(std::move(node), 0)};
}

const Shape kEmpty;

// Keras' default names, unique in the process: "dense", "dense_1", ...; "input_1", "input_2".
std::string UniqueName(const std::string& base, bool numbered_from_one) {
  static std::mutex mutex;
  static std::map<std::string, int>* used = new std::map<std::string, int>();
  std::lock_guard<std::mutex> lock(mutex);
  const int count = (*used)[base]++;
  if (numbered_from_one) return absl::StrCat(base, "_", count + 1);
  return count == 0 ? base : absl::StrCat(base, "_", count);
}

}  // namespace

Node::~Node() {
  std::vector<std::shared_ptr<Node>> release;
  for (const KerasTensor& input : inputs) release.push_back(input.node());
  inputs.clear();
  while (!release.empty()) {
    std::shared_ptr<Node> node = std::move(release.back());
    release.pop_back();
    if (node == nullptr || node.use_count() != 1) continue;  // kept alive by another owner
    for (const KerasTensor& input : node->inputs) release.push_back(input.node());
    node->inputs.clear();
  }  // each node is freed here, its inputs already released
}

absl::Status KerasTensor::status() const {
  if (node_ == nullptr) {
    return absl::InvalidArgumentError(
        "a KerasTensor that no Input() or layer call made (default-constructed)");
  }
  return node_->status;
}

const Shape& KerasTensor::shape() const {
  if (node_ == nullptr || index_ >= node_->output_shapes.size()) return kEmpty;
  return node_->output_shapes[index_];
}

bool KerasTensor::masked() const {
  return node_ != nullptr && index_ < node_->output_masked.size() && node_->output_masked[index_];
}

std::string KerasTensor::DebugName() const {
  if (node_ == nullptr || node_->layer == nullptr) return "?";
  return absl::StrFormat("%s[%d][%d]", node_->layer->name(), node_->call_index, index_);
}

KerasTensors::operator KerasTensor() const {
  if (size() == 1) return front();
  if (empty()) return Failed(absl::InvalidArgumentError("a layer call gave no tensor"))[0];
  const KerasTensor& first = front();
  if (!first.status().ok()) return first;
  return Failed(absl::InvalidArgumentError(absl::StrFormat(
      "layer '%s' (%s) gives %d tensors (the output, then its state: return_state), and one was "
      "used as if it were the only one: take them with [0], [1], ...",
      first.node()->layer->name(), first.node()->layer->type(), size())))[0];
}

absl::StatusOr<Shape> InputLayer::DoBuild(const Shape& input_shape, Rng& /*rng*/) {
  if (input_shape != shape_) {
    return absl::InvalidArgumentError(absl::StrFormat("expected input %s, got %s",
                                                      KerasShapeString(shape_),
                                                      KerasShapeString(input_shape)));
  }
  return shape_;
}

void InputLayer::GetConfig(Json& config) const {
  Json shape = Json::array({nullptr});
  for (size_t extent : shape_) shape.push_back(extent == kVaries ? Json(nullptr) : Json(extent));
  config["batch_input_shape"] = shape;
  config["dtype"] = "float32";
  config["sparse"] = false;
  config["ragged"] = false;
}

KerasTensor Input(std::initializer_list<std::optional<size_t>> shape, std::string name) {
  Shape extents;
  for (const std::optional<size_t>& extent : shape) extents.push_back(extent.value_or(kVaries));
  return Input(extents, std::move(name));
}

KerasTensor Input(const Shape& shape, std::string name) {
  auto layer = std::make_shared<InputLayer>(shape);
  layer->set_name(name.empty() ? UniqueName("input", true) : std::move(name));
  auto node = std::make_shared<Node>();
  node->layer = layer;
  node->output_shapes = {shape};
  node->output_masked = {false};
  for (size_t extent : shape) {
    if (extent > kMaxLayerSize) {
      node->status = absl::InvalidArgumentError(absl::StrFormat(
          "Input(%s): every axis must be in [1, %d] or kVaries, got %d",
          KerasShapeString(shape), kMaxLayerSize, static_cast<int64_t>(extent)));
    }
  }
  if (node->status.ok()) {
    Rng unused(0);
    PlaceholderWeights placeholders;
    if (absl::Status status = layer->Build(shape, unused); !status.ok()) node->status = status;
  }
  layer->count_call();
  return KerasTensor(std::move(node), 0);
}

KerasTensors CallLayer(const LayerPtr& layer, const std::vector<KerasTensor>& inputs,
                       const std::vector<KerasTensor>& initial_state) {
  if (layer == nullptr) return Failed(absl::InvalidArgumentError("a null layer was called"));
  std::vector<KerasTensor> all = inputs;
  all.insert(all.end(), initial_state.begin(), initial_state.end());
  if (inputs.empty()) {
    return Failed(absl::InvalidArgumentError(absl::StrFormat(
        "layer '%s' (%s) was called on no tensor", layer->name(), layer->type())));
  }
  std::vector<Shape> shapes;
  std::vector<bool> masked;
  for (const KerasTensor& input : all) {
    if (absl::Status status = input.status(); !status.ok()) return Failed(status);
    shapes.push_back(input.shape());
    masked.push_back(input.masked());
  }
  if (layer->name().empty()) layer->set_name(UniqueName(KerasBaseName(layer->type()), false));
  const std::string& name = layer->name();
  absl::StatusOr<std::vector<bool>> output_masked = layer->OutputsMasked(masked);
  if (!output_masked.ok()) {
    return Failed(absl::Status(
        output_masked.status().code(),
        absl::StrFormat("layer '%s' (%s): %s", name, layer->type(), output_masked.status().message())));
  }
  for (size_t i = 0; i < all.size(); ++i) {
    if (masked[i] && !layer->supports_masking()) {
      return Failed(absl::InvalidArgumentError(absl::StrFormat(
          "layer '%s' (%s) does not support masking, but its input %s carries a mask: turn the "
          "mask off (mask_zero=false, no Masking), or consume it first with a recurrent layer "
          "without return_sequences",
          name, layer->type(), all[i].DebugName())));
    }
  }
  Rng unused(0);
  absl::StatusOr<std::vector<Shape>> output_shapes;
  {
    // Weights come from the generator of the first model that owns the layer (Model's
    // constructor initialises them, in graph order); until then they are zeros.
    PlaceholderWeights placeholders;
    output_shapes = layer->BuildCall(shapes, unused);
  }
  if (!output_shapes.ok()) return Failed(output_shapes.status());
  auto node = std::make_shared<Node>();
  node->layer = layer;
  node->inputs = all;
  node->state_inputs = initial_state.size();
  node->output_shapes = *std::move(output_shapes);
  node->output_masked = *std::move(output_masked);
  node->output_masked.resize(node->output_shapes.size(), false);
  node->call_index = layer->call_count();
  layer->count_call();
  KerasTensors outputs;
  for (size_t k = 0; k < node->output_shapes.size(); ++k) outputs.emplace_back(node, k);
  return outputs;
}

KerasTensors LayerPtr::operator()(const KerasTensor& input) const {
  return CallLayer(*this, {input});
}

KerasTensors LayerPtr::operator()(const std::vector<KerasTensor>& inputs) const {
  return CallLayer(*this, inputs);
}

KerasTensors LayerPtr::operator()(const KerasTensor& input,
                                  const InitialState& initial_state) const {
  return CallLayer(*this, {input}, initial_state.tensors);
}

}  // namespace layers
