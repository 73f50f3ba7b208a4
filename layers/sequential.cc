#include "layers/sequential.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "layers/summary.h"

namespace layers {

Sequential::Sequential(uint64_t seed, std::string name) : Model(seed, std::move(name)) {}

void Sequential::Add(LayerPtr layer, Shape input_shape) {
  if (layers_.empty()) {
    input_shape_ = input_shape.empty() ? layer->implied_input_shape() : std::move(input_shape);
  }
  const std::string base = KerasBaseName(layer->type());
  const int used = names_used_[base]++;
  layer->set_name(used == 0 ? base : absl::StrCat(base, "_", used));
  layers_.push_back(std::move(layer));
  built_ = false;
}

absl::Status Sequential::Build() {
  if (layers_.empty()) {
    return absl::FailedPreconditionError(
        absl::StrFormat("model '%s' has no layers: add some before compile", name()));
  }
  if (input_shape_.empty()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "model '%s': the first layer '%s' needs an input shape (Add(layer, {time, features}))%s",
        name(), layers_[0]->name(),
        layers_[0]->type() == "Embedding"
            ? "; an Embedding's input_length of 0 means any length and implies no shape"
            : ""));
  }
  if (std::find(input_shape_.begin(), input_shape_.end(), 0) != input_shape_.end()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "model '%s': the input shape (None, %s) has an axis of length 0: the first layer '%s' "
        "needs at least one step and one feature (did the data come out empty, every sequence "
        "of length 0?)",
        name(), absl::StrJoin(input_shape_, ", "), layers_[0]->name()));
  }
  if (built_) return absl::OkStatus();
  const std::vector<LayerPtr> chain = layers_;
  KerasTensor input = Input(input_shape_, layers_[0]->name() + "_input");
  KerasTensor x = input;
  const Layer* mask_maker = nullptr;  // the layer whose mask reaches the current one
  for (const LayerPtr& layer : chain) {
    if (mask_maker != nullptr && !layer->supports_masking()) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "layer '%s' (%s) does not support masking, but the mask made by layer '%s' (%s) "
          "reaches it: turn the mask off (mask_zero=false, no Masking), or consume it first with "
          "a recurrent layer without return_sequences",
          layer->name(), layer->type(), mask_maker->name(), mask_maker->type()));
    }
    KerasTensors outputs = layer(x);
    if (absl::Status status = outputs[0].status(); !status.ok()) return status;
    if (outputs.size() != 1) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "layer '%s' (%s) gives %d tensors (return_state), and every layer of a Sequential "
          "model must give one: use the Functional API (Model) for its states",
          layer->name(), layer->type(), outputs.size()));
    }
    x = outputs[0];
    if (!x.masked()) {
      mask_maker = nullptr;
    } else if (mask_maker == nullptr) {
      mask_maker = layer.get();
    }
  }
  graph_status_ = SetGraph({input}, {x});
  layers_ = chain;  // Keras' Sequential lists no InputLayer
  built_ = graph_status_.ok();
  return graph_status_;
}

std::string Sequential::Summary() const {
  std::vector<SummaryLine> lines;
  for (const LayerPtr& layer : layers_) {
    lines.push_back({absl::StrFormat("%s (%s)", layer->name(), layer->type()),
                     layer->built() ? KerasShapeString(layer->output_shape()) : "multiple",
                     layer->built() ? layer->CountParams() : 0,
                     {}});
  }
  return SequentialSummary(name(), lines, CountParams());
}

}  // namespace layers
