#include "layers/model.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "layers/summary.h"
#include "nlohmann/json.hpp"

namespace layers {

const Shape Model::kNoShape;
const std::string Model::kNoName;

Model::Model(uint64_t seed, std::string name)
    : Layer("Functional"), seed_(seed), rng_(std::make_shared<Rng>(seed)) {
  set_name(std::move(name));
}

Model::Model(std::vector<KerasTensor> inputs, std::vector<KerasTensor> outputs, uint64_t seed,
             std::string name)
    : Model(seed, std::move(name)) {
  graph_status_ = SetGraph(std::move(inputs), std::move(outputs));
  built_ = graph_status_.ok();
}

namespace {
bool IsInputNode(const Node& node) {
  return node.inputs.empty() && dynamic_cast<const InputLayer*>(node.layer.get()) != nullptr;
}

// tf.keras 2.11's model.layers order (keras-team/keras v2.11.0, keras/engine/functional.py,
// _build_map and _map_graph_network): a depth-first walk from each output in turn numbers the
// layers as it first meets them and lists the nodes inputs first; a node's depth is 1 + the
// largest depth of the nodes it feeds (outputs: 0), raised to the depth its layer already has;
// a layer's depth is the largest of its nodes'. Layers come deepest first, ties in the order the
// walk met them. So model files list layers, and their weights, where Keras expects them (its
// load_weights matches layers by position). The walk is iterative: a deep graph does not recurse.
std::vector<LayerPtr> KerasLayerOrder(const std::vector<KerasTensor>& outputs) {
  std::unordered_map<const Layer*, size_t> layer_index;
  std::vector<LayerPtr> met;  // by layer_index
  std::vector<const Node*> post_order;
  std::set<const Node*> finished;
  for (const KerasTensor& output : outputs) {
    std::vector<std::pair<const Node*, size_t>> stack;
    const auto visit = [&](const Node* node) {
      if (finished.count(node) != 0) return;
      if (layer_index.emplace(node->layer.get(), met.size()).second) met.push_back(node->layer);
      stack.emplace_back(node, 0);
    };
    visit(output.node().get());
    while (!stack.empty()) {
      auto& [node, next] = stack.back();
      if (next < node->inputs.size()) {
        visit(node->inputs[next++].node().get());
        continue;
      }
      if (finished.insert(node).second) post_order.push_back(node);
      stack.pop_back();
    }
  }
  std::unordered_map<const Node*, size_t> node_depth;
  std::unordered_map<const Layer*, size_t> layer_depth;
  for (size_t i = post_order.size(); i-- > 0;) {
    const Node* node = post_order[i];
    size_t depth = node_depth.emplace(node, 0).first->second;
    depth = std::max(depth, layer_depth[node->layer.get()]);
    layer_depth[node->layer.get()] = depth;
    node_depth[node] = depth;
    for (const KerasTensor& input : node->inputs) {
      size_t& parent = node_depth[input.node().get()];
      parent = std::max(parent, depth + 1);
    }
  }
  std::vector<LayerPtr> order = met;
  std::stable_sort(order.begin(), order.end(), [&](const LayerPtr& a, const LayerPtr& b) {
    return layer_depth[a.get()] > layer_depth[b.get()];
  });
  return order;
}
}  // namespace

absl::Status Model::SetGraph(std::vector<KerasTensor> inputs, std::vector<KerasTensor> outputs) {
  const std::string model = absl::StrFormat("model '%s'", name());
  if (inputs.empty()) return absl::InvalidArgumentError(model + ": it needs at least one input");
  if (outputs.empty()) return absl::InvalidArgumentError(model + ": it needs at least one output");
  for (const std::vector<KerasTensor>* list : {&inputs, &outputs}) {
    for (const KerasTensor& tensor : *list) {
      if (absl::Status status = tensor.status(); !status.ok()) {
        return absl::Status(status.code(), absl::StrCat(model, ": ", status.message()));
      }
    }
  }
  std::set<const Node*> input_nodes;
  for (const KerasTensor& input : inputs) {
    if (!IsInputNode(*input.node())) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: its inputs must come from Input(), but %s is the output of layer '%s' (%s)", model,
          input.DebugName(), input.node()->layer->name(), input.node()->layer->type()));
    }
    if (!input_nodes.insert(input.node().get()).second) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: the input '%s' is listed twice", model, input.node()->layer->name()));
    }
  }
  // Every node the outputs need, in an order where a node follows its inputs (an iterative
  // depth-first walk: a deep graph does not recurse), stopping at the model's inputs.
  std::vector<std::shared_ptr<Node>> order;
  std::set<const Node*> done, used_inputs;
  for (const KerasTensor& output : outputs) {
    std::vector<std::pair<std::shared_ptr<Node>, size_t>> stack = {{output.node(), 0}};
    std::set<const Node*> on_path = {output.node().get()};
    while (!stack.empty()) {
      auto& [node, next] = stack.back();
      if (done.count(node.get()) != 0) {
        on_path.erase(node.get());
        stack.pop_back();
        continue;
      }
      if (input_nodes.count(node.get()) != 0) {
        used_inputs.insert(node.get());
        done.insert(node.get());
        on_path.erase(node.get());
        stack.pop_back();
        continue;
      }
      if (node->inputs.empty()) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "%s: the graph is disconnected: output %s needs the input '%s' %s, which is not "
            "among the model's inputs (%d given): pass it in `inputs`",
            model, output.DebugName(), node->layer->name(),
            KerasShapeString(node->output_shapes[0]), inputs.size()));
      }
      if (next < node->inputs.size()) {
        std::shared_ptr<Node> child = node->inputs[next++].node();
        if (on_path.count(child.get()) != 0) {
          return absl::InvalidArgumentError(absl::StrFormat(
              "%s: the graph has a cycle through layer '%s'", model, child->layer->name()));
        }
        if (done.count(child.get()) == 0) {
          on_path.insert(child.get());
          stack.emplace_back(child, 0);
        }
        continue;
      }
      done.insert(node.get());
      on_path.erase(node.get());
      order.push_back(node);
      stack.pop_back();
    }
  }
  for (const KerasTensor& input : inputs) {
    if (used_inputs.count(input.node().get()) == 0) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: no output needs the input '%s' %s: remove it from `inputs`, or use it", model,
          input.node()->layer->name(), KerasShapeString(input.shape())));
    }
  }
  nodes_.clear();
  for (const KerasTensor& input : inputs) nodes_.push_back(input.node());
  nodes_.insert(nodes_.end(), order.begin(), order.end());
  // Run keeps every call's outputs in one flat vector: where each call's begin, and where each
  // call's inputs and the model's outputs are found in it.
  std::unordered_map<const Node*, size_t> position;
  value_offsets_.assign(nodes_.size() + 1, 0);
  for (size_t i = 0; i < nodes_.size(); ++i) {
    position[nodes_[i].get()] = i;
    const size_t outputs = i < inputs.size() ? 1 : nodes_[i]->output_shapes.size();
    value_offsets_[i + 1] = value_offsets_[i] + outputs;
  }
  const auto slot = [&](const KerasTensor& tensor) {
    return value_offsets_[position.at(tensor.node().get())] + tensor.index();
  };
  input_slots_.assign(nodes_.size(), {});
  for (size_t i = 0; i < nodes_.size(); ++i) {
    for (const KerasTensor& input : nodes_[i]->inputs) input_slots_[i].push_back(slot(input));
  }
  output_slots_.clear();
  for (const KerasTensor& output : outputs) output_slots_.push_back(slot(output));
  // Every layer once, in the order of its first node; names must tell them apart.
  std::vector<LayerPtr> by_first_node;
  std::set<const Layer*> seen;
  std::map<std::string, const Layer*> names;
  for (const std::shared_ptr<Node>& node : nodes_) {
    const LayerPtr& layer = node->layer;
    if (!seen.insert(layer.get()).second) continue;
    auto [it, fresh] = names.emplace(layer->name(), layer.get());
    if (!fresh) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: two different layers are named '%s' (%s and %s): layer names must be unique "
          "within a model",
          model, layer->name(), it->second->type(), layer->type()));
    }
    by_first_node.push_back(layer);
  }
  // Weights not yet initialised come from this model's generator, in graph order.
  for (const LayerPtr& layer : by_first_node) {
    if (absl::Status status = layer->Initialize(rng_); !status.ok()) return status;
  }
  layers_ = KerasLayerOrder(outputs);
  inputs_ = std::move(inputs);
  outputs_ = std::move(outputs);
  input_shapes_.clear();
  output_shapes_.clear();
  for (const KerasTensor& input : inputs_) input_shapes_.push_back(input.shape());
  for (const KerasTensor& output : outputs_) output_shapes_.push_back(output.shape());
  parameters_.clear();
  for (const LayerPtr& layer : layers_) {
    for (const Weight& weight : layer->weights()) parameters_.push_back(weight.tensor);
  }
  return absl::OkStatus();
}

absl::Status Model::Build() { return graph_status_; }

absl::StatusOr<std::vector<Model::Output>> Model::Run(const std::vector<Tensor>& inputs,
                                                      const std::vector<const Array*>& masks,
                                                      const CallContext& context) {
  // The working vectors are the model's own, kept between calls (the one-sample steps of
  // merge_modes feel every allocation); a call inside a call (none is expected) gets fresh ones.
  RunBuffers fresh;
  RunBuffers& buffers = run_buffers_busy_ ? fresh : run_buffers_;
  struct Release {
    RunBuffers& buffers;
    bool& busy;
    const bool owner = !busy;
    ~Release() {
      buffers.values.clear();  // the tensors go now: they hold the step's graph
      buffers.value_masks.clear();
      buffers.node_inputs.clear();
      buffers.output_masks.clear();
      if (owner) busy = false;
    }
  } release{buffers, run_buffers_busy_};
  run_buffers_busy_ = true;
  std::vector<Tensor>& values = buffers.values;
  std::vector<std::optional<Array>>& value_masks = buffers.value_masks;
  values.resize(value_offsets_.back());
  value_masks.resize(value_offsets_.back());
  for (size_t i = 0; i < inputs_.size(); ++i) {
    values[value_offsets_[i]] = inputs[i];
    if (!masks.empty() && masks[i] != nullptr) value_masks[value_offsets_[i]] = *masks[i];
  }
  std::vector<Tensor>& node_inputs = buffers.node_inputs;
  std::vector<const Array*>& node_masks = buffers.node_masks;
  std::vector<std::optional<Array>>& output_masks = buffers.output_masks;
  for (size_t i = inputs_.size(); i < nodes_.size(); ++i) {
    const Node& node = *nodes_[i];
    node_inputs.clear();
    node_masks.clear();
    for (size_t from : input_slots_[i]) {
      node_inputs.push_back(values[from]);
      node_masks.push_back(value_masks[from] ? &*value_masks[from] : nullptr);
    }
    std::vector<Tensor> node_outputs;
    output_masks.clear();
    try {
      node_outputs = node.layer->CallNode(node_inputs, node_masks, context, output_masks);
    } catch (const std::exception& error) {
      autograd::CurrentTape().Clear();
      return absl::InvalidArgumentError(absl::StrFormat(
          "layer '%s' (%s): %s", node.layer->name(), node.layer->type(), error.what()));
    }
    const size_t begin = value_offsets_[i], count = value_offsets_[i + 1] - begin;
    if (node_outputs.size() != count) {
      return absl::InternalError(
          absl::StrFormat("layer '%s' (%s) gave %d tensors where its call was built to give %d",
                          node.layer->name(), node.layer->type(), node_outputs.size(), count));
    }
    for (size_t k = 0; k < count; ++k) {
      values[begin + k] = std::move(node_outputs[k]);
      if (k < output_masks.size()) value_masks[begin + k] = std::move(output_masks[k]);
    }
  }
  std::vector<Output> outputs;
  outputs.reserve(output_slots_.size());
  for (size_t from : output_slots_) outputs.push_back({values[from], value_masks[from]});
  return outputs;
}

std::vector<std::string> Model::OutputNames() const {
  std::vector<std::string> names;
  for (const KerasTensor& output : outputs_) names.push_back(output.node()->layer->name());
  return names;
}

std::vector<std::string> Model::losses() const {
  std::vector<std::string> names;
  for (const LossEntry& loss : losses_) names.push_back(loss.name);
  return names;
}

std::vector<std::string> Model::metrics() const {
  if (!metrics_.accuracy) return {};
  return {metrics_.accuracy_name};
}

absl::Status Model::Compile(const std::string& loss,
                            std::unique_ptr<autograd::Optimizer> optimizer,
                            std::vector<std::string> metrics, std::vector<double> loss_weights) {
  // One loss for every output, as Keras does with a single name.
  if (absl::Status status = Build(); !status.ok()) return status;
  return Compile(std::vector<std::string>(std::max<size_t>(outputs_.size(), 1), loss),
                 std::move(optimizer), std::move(metrics), std::move(loss_weights));
}

absl::Status Model::Compile(std::vector<std::string> losses,
                            std::unique_ptr<autograd::Optimizer> optimizer,
                            std::vector<std::string> metrics, std::vector<double> loss_weights) {
  std::vector<LossEntry> entries;
  for (const std::string& loss : losses) {
    absl::StatusOr<LossEntry> entry = FindLoss(loss);
    if (!entry.ok()) return entry.status();
    entries.push_back(*std::move(entry));
  }
  absl::StatusOr<MetricSettings> settings = FindMetrics(metrics);
  if (!settings.ok()) return settings.status();
  if (optimizer == nullptr) return absl::InvalidArgumentError("compile needs an optimizer");
  if (absl::Status status = Build(); !status.ok()) return status;
  const std::vector<std::string> names = OutputNames();
  if (entries.size() != outputs_.size()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "compile: model '%s' has %d outputs (%s), but %d losses were given: give one, or one "
        "per output",
        name(), outputs_.size(), absl::StrJoin(names, ", "), entries.size()));
  }
  if (loss_weights.empty()) loss_weights.assign(outputs_.size(), 1.0);
  if (loss_weights.size() != outputs_.size()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("compile: model '%s' has %d outputs (%s), but %d loss_weights were given",
                        name(), outputs_.size(), absl::StrJoin(names, ", "), loss_weights.size()));
  }
  for (double weight : loss_weights) {
    if (!std::isfinite(weight) || weight < 0) {
      return absl::InvalidArgumentError(
          absl::StrFormat("compile: loss_weights must be finite and >= 0, got %g", weight));
    }
  }
  for (size_t k = 0; k < outputs_.size(); ++k) {
    // Softmax cross-entropy over one class is log(1) = 0 whatever the weights: nothing to learn.
    const Shape& shape = output_shapes_[k];
    if (entries[k].accuracy != AccuracyKind::kBinary && !shape.empty() && shape.back() < 2) {
      const Layer& last = *outputs_[k].node()->layer;
      return absl::InvalidArgumentError(absl::StrFormat(
          "compile: loss '%s' needs a distribution over at least 2 classes, but the output of "
          "layer '%s' (%s) is %s, one value per sample: use binary_crossentropy for one sigmoid "
          "unit, or a Dense(classes, \"softmax\") output with one-hot targets",
          entries[k].name, last.name(), last.type(), KerasShapeString(shape)));
    }
  }
  // Nothing changes until every check has passed: a failed Compile leaves the model as it was.
  metrics_ = *std::move(settings);
  losses_ = std::move(entries);
  loss_weights_ = std::move(loss_weights);
  optimizer_ = std::move(optimizer);
  compiled_ = true;
  return absl::OkStatus();
}

std::vector<Tensor> Model::Parameters() const { return parameters_; }

std::vector<Weight> Model::weights() const {
  std::vector<Weight> all;
  for (const LayerPtr& layer : layers_) {
    for (Weight& weight : layer->weights()) all.push_back(std::move(weight));
  }
  return all;
}

std::vector<std::string> Model::KerasWeightNames() const {
  std::vector<std::string> names;
  for (const LayerPtr& layer : layers_) {
    for (std::string& name : layer->KerasWeightNames()) names.push_back(std::move(name));
  }
  return names;
}

std::vector<Array> Model::GetWeights() const {
  std::vector<Array> values;
  for (const LayerPtr& layer : layers_) {
    for (Array& value : layer->GetWeights()) values.push_back(std::move(value));
  }
  return values;
}

size_t Model::CountParams() const {
  size_t count = 0;
  for (const LayerPtr& layer : layers_) count += layer->built() ? layer->CountParams() : 0;
  return count;
}

Layer& Model::layer(size_t index) {
  if (index >= layers_.size()) {
    std::fprintf(stderr,
                 "%s::layer(%zu): model '%s' has %zu layers; call GetLayer(index) for an "
                 "error instead\n",
                 is_sequential() ? "Sequential" : "Model", index, name().c_str(), layers_.size());
    std::abort();
  }
  return *layers_[index];
}

absl::StatusOr<Layer*> Model::GetLayer(size_t index) const {
  if (index >= layers_.size()) {
    return absl::OutOfRangeError(absl::StrFormat(
        "model '%s' has %d layers (indices 0 to %d), so there is no layer %d", name(),
        layers_.size(), static_cast<int64_t>(layers_.size()) - 1, index));
  }
  return layers_[index].get();
}

absl::StatusOr<Layer*> Model::GetLayer(const std::string& name) const {
  std::vector<std::string> names;
  for (const LayerPtr& layer : layers_) {
    if (layer->name() == name) return layer.get();
    names.push_back(absl::StrCat("'", layer->name(), "'"));
  }
  return absl::NotFoundError(absl::StrFormat("model '%s' has no layer named '%s' (it has %s)",
                                             this->name(), name,
                                             names.empty() ? "none" : absl::StrJoin(names, ", ")));
}

Model::TrainingState Model::GetTrainingState() const {
  std::ostringstream rng;
  rng << rng_->engine();
  TrainingState state;
  state.rng = rng.str();
  state.order.assign(order_.begin(), order_.end());
  state.epochs = epochs_trained_;
  return state;
}

absl::Status Model::SetTrainingState(const TrainingState& state) {
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
  rng_->engine() = engine;
  seed_.reset();  // the state no longer follows from it
  order_.assign(state.order.begin(), state.order.end());
  epochs_trained_ = state.epochs;
  return absl::OkStatus();
}

void Model::set_data_parallel(std::shared_ptr<DataParallel> group) {
  data_parallel_ = std::move(group);
  weights_shared_ = false;
}

std::string Model::Summary() const {
  // tf.keras 2's print_summary: a graph where no depth holds two nodes and no node takes two
  // tensors is "sequential-like" and gets Sequential's table; others the "Connected to" column.
  // A node's depth is 1 + the largest depth of the nodes that use its outputs (outputs: 0).
  std::unordered_map<const Node*, size_t> depth;
  bool sequential_like = true;
  for (size_t i = nodes_.size(); i-- > 0;) {
    const Node* node = nodes_[i].get();
    depth.emplace(node, 0);
    if (node->inputs.size() > 1) sequential_like = false;
    for (const KerasTensor& input : node->inputs) {
      size_t& d = depth[input.node().get()];
      d = std::max(d, depth[node] + 1);
    }
  }
  std::map<size_t, size_t> per_depth;
  for (const auto& [node, d] : depth) sequential_like &= ++per_depth[d] == 1;
  std::vector<SummaryLine> lines;
  for (const LayerPtr& layer : layers_) {
    SummaryLine line;
    line.layer = absl::StrFormat("%s (%s)", layer->name(), layer->type());
    std::vector<const Node*> calls;
    for (const std::shared_ptr<Node>& node : nodes_) {
      if (node->layer == layer) calls.push_back(node.get());
    }
    const Node& first = *calls.front();
    std::vector<std::string> outputs;
    for (const Shape& shape : first.output_shapes) outputs.push_back(KerasShapeString(shape));
    // Keras shows a list for an InputLayer and for several outputs; "multiple" when the calls
    // of a shared layer give different shapes.
    bool same = true;
    for (const Node* call : calls) same &= call->output_shapes == first.output_shapes;
    const bool listed = first.output_shapes.size() > 1 || IsInputNode(first);
    line.output_shape = !same    ? "multiple"
                        : listed ? absl::StrCat("[", absl::StrJoin(outputs, ", "), "]")
                                 : outputs[0];
    line.params = layer->built() ? layer->CountParams() : 0;
    for (const Node* node : calls) {
      for (const KerasTensor& input : node->inputs) line.connected_to.push_back(input.DebugName());
    }
    lines.push_back(std::move(line));
  }
  if (sequential_like) return SequentialSummary(name(), lines, CountParams());
  return FunctionalSummary(name(), lines, CountParams());
}

absl::StatusOr<Shape> Model::DoBuild(const Shape& input_shape, Rng& rng) {
  absl::StatusOr<std::vector<Shape>> outputs = DoBuildCall({input_shape}, rng);
  if (!outputs.ok()) return outputs.status();
  return (*outputs)[0];
}

absl::StatusOr<std::vector<Shape>> Model::DoBuildCall(const std::vector<Shape>& input_shapes,
                                                      Rng& /*rng*/) {
  if (absl::Status status = Build(); !status.ok()) return status;
  if (input_shapes != input_shapes_) {
    std::vector<std::string> expected, got;
    for (const Shape& shape : input_shapes_) expected.push_back(KerasShapeString(shape));
    for (const Shape& shape : input_shapes) got.push_back(KerasShapeString(shape));
    return absl::InvalidArgumentError(
        absl::StrFormat("the model expects inputs [%s], got [%s]", absl::StrJoin(expected, ", "),
                        absl::StrJoin(got, ", ")));
  }
  return output_shapes_;
}

absl::StatusOr<std::vector<bool>> Model::OutputsMasked(const std::vector<bool>& masked) const {
  if (masked.size() != inputs_.size()) {
    return absl::InvalidArgumentError(absl::StrFormat("the model takes %d inputs, got %d",
                                                      inputs_.size(), masked.size()));
  }
  for (size_t i = 0; i < masked.size(); ++i) {
    if (masked[i]) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "a mask reaches its input '%s', and a model called as a layer takes none: make the "
          "mask inside the model (its own Embedding(mask_zero) or Masking)",
          inputs_[i].node()->layer->name()));
    }
  }
  // The masks its own graph makes pass on.
  std::vector<bool> out;
  for (const KerasTensor& output : outputs_) out.push_back(output.masked());
  return out;
}

Tensor Model::DoCall(const Tensor& x, const Array* mask, const CallContext& context) {
  std::vector<std::optional<Array>> masks;
  return CallNode({x}, {mask}, context, masks).front();
}

std::vector<Tensor> Model::CallNode(const std::vector<Tensor>& inputs,
                                    const std::vector<const Array*>& masks,
                                    const CallContext& context,
                                    std::vector<std::optional<Array>>& output_masks) {
  absl::StatusOr<std::vector<Output>> outputs = Run(inputs, masks, context);
  if (!outputs.ok()) throw std::invalid_argument(std::string(outputs.status().message()));
  std::vector<Tensor> values;
  output_masks.clear();
  for (Output& output : *outputs) {
    values.push_back(output.value);
    output_masks.push_back(std::move(output.mask));
  }
  return values;
}

void Model::GetConfig(Json& config) const {
  // A model inside another is saved through saving/model_file.cc, which writes its whole graph.
  config["name"] = name();
}

}  // namespace layers
