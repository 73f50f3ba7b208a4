#include "exporting/onnx.h"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "io/atomic_file.h"
#include "layers/attention.h"
#include "layers/dense.h"
#include "layers/functional.h"
#include "layers/recurrent.h"
#include "nlohmann/json.hpp"
#include "onnx/checker.h"
#include "onnx/onnx_pb.h"

namespace exporting {
namespace {

using layers::Array;
using layers::Json;
using layers::Layer;
using layers::Node;

// ONNX 1.12's checker knows opsets up to 17; 13 has every op used here with the inputs
// (not attributes) for axes that later opsets keep.
constexpr int64_t kOpset = 13;
constexpr int64_t kIrVersion = 7;  // what opset 13 came with

absl::Status Refuse(const Layer& layer, const std::string& why) {
  return absl::UnimplementedError(absl::StrFormat("layer '%s' (%s) cannot be exported to ONNX: %s",
                                                  layer.name(), layer.type(), why));
}

// Names, nodes and constants of the graph being written.
class GraphWriter {
 public:
  explicit GraphWriter(onnx::GraphProto* graph) : graph_(graph) {}

  std::string Fresh(const std::string& hint) { return absl::StrCat(hint, "_", counter_++); }

  // Adds a node; returns its outputs' names. `attributes` fills in the node's attributes.
  std::vector<std::string> Ops(const std::string& op, const std::vector<std::string>& inputs,
                               size_t outputs,
                               const std::function<void(onnx::NodeProto&)>& attributes = {}) {
    onnx::NodeProto* node = graph_->add_node();
    node->set_op_type(op);
    node->set_name(Fresh(op));
    for (const std::string& input : inputs) node->add_input(input);
    std::vector<std::string> names;
    for (size_t i = 0; i < outputs; ++i) {
      names.push_back(Fresh(absl::StrCat(op, "_out")));
      node->add_output(names.back());
    }
    if (attributes) attributes(*node);
    return names;
  }
  std::string Op(const std::string& op, const std::vector<std::string>& inputs,
                 const std::function<void(onnx::NodeProto&)>& attributes = {}) {
    return Ops(op, inputs, 1, attributes)[0];
  }

  std::string Floats(const std::string& hint, const std::vector<int64_t>& dims,
                     const std::vector<float>& values) {
    onnx::TensorProto* tensor = graph_->add_initializer();
    tensor->set_name(Fresh(hint));
    tensor->set_data_type(onnx::TensorProto::FLOAT);
    for (int64_t dim : dims) tensor->add_dims(dim);
    // Raw little-endian bytes: compact for large tables, and what every runtime reads.
    tensor->set_raw_data(
        std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float)));
    return tensor->name();
  }
  std::string Scalar(float value) { return Floats("scalar", {}, {value}); }
  std::string Int64Scalar(int64_t value) {
    onnx::TensorProto* tensor = graph_->add_initializer();
    tensor->set_name(Fresh("int"));
    tensor->set_data_type(onnx::TensorProto::INT64);
    tensor->add_int64_data(value);
    return tensor->name();
  }
  std::string Int64s(const std::vector<int64_t>& values) {
    onnx::TensorProto* tensor = graph_->add_initializer();
    tensor->set_name(Fresh("ints"));
    tensor->set_data_type(onnx::TensorProto::INT64);
    tensor->add_dims(static_cast<int64_t>(values.size()));
    for (int64_t value : values) tensor->add_int64_data(value);
    return tensor->name();
  }
  // A weight array as an initializer of its own shape.
  std::string Weight(const std::string& hint, const Array& array) {
    std::vector<int64_t> dims(array.shape().begin(), array.shape().end());
    return Floats(hint, dims, std::vector<float>(array.begin(), array.end()));
  }

  // Frequent shapes of nodes.
  std::string Unsqueeze(const std::string& x, std::vector<int64_t> axes) {
    return Op("Unsqueeze", {x, Int64s(axes)});
  }
  std::string Squeeze(const std::string& x, std::vector<int64_t> axes) {
    return Op("Squeeze", {x, Int64s(axes)});
  }
  std::string Transpose(const std::string& x, std::vector<int64_t> perm) {
    return Op("Transpose", {x}, [perm](onnx::NodeProto& node) { SetInts(node, "perm", perm); });
  }
  std::string Cast(const std::string& x, int to) {
    return Op("Cast", {x}, [to](onnx::NodeProto& node) { SetInt(node, "to", to); });
  }
  // x's axis 1 (time) read backwards, whatever its length.
  std::string ReverseTime(const std::string& x) {
    return Op("Slice", {x, Int64s({-1}), Int64s({INT64_MIN}), Int64s({1}), Int64s({-1})});
  }
  // x [batch, time, features] at the steps `index` [batch, time] (int64) names.
  std::string GatherSteps(const std::string& x, const std::string& index) {
    std::string expanded = Op("Expand", {Unsqueeze(index, {2}), Op("Shape", {x})});
    return Op("GatherElements", {x, expanded},
              [](onnx::NodeProto& node) { SetInt(node, "axis", 1); });
  }

  static void SetInt(onnx::NodeProto& node, const std::string& name, int64_t value) {
    onnx::AttributeProto* attribute = node.add_attribute();
    attribute->set_name(name);
    attribute->set_type(onnx::AttributeProto::INT);
    attribute->set_i(value);
  }
  static void SetInts(onnx::NodeProto& node, const std::string& name,
                      const std::vector<int64_t>& values) {
    onnx::AttributeProto* attribute = node.add_attribute();
    attribute->set_name(name);
    attribute->set_type(onnx::AttributeProto::INTS);
    for (int64_t value : values) attribute->add_ints(value);
  }
  static void SetFloats(onnx::NodeProto& node, const std::string& name,
                        const std::vector<float>& values) {
    onnx::AttributeProto* attribute = node.add_attribute();
    attribute->set_name(name);
    attribute->set_type(onnx::AttributeProto::FLOATS);
    for (float value : values) attribute->add_floats(value);
  }
  static void SetString(onnx::NodeProto& node, const std::string& name, const std::string& value) {
    onnx::AttributeProto* attribute = node.add_attribute();
    attribute->set_name(name);
    attribute->set_type(onnx::AttributeProto::STRING);
    attribute->set_s(value);
  }
  static void SetStrings(onnx::NodeProto& node, const std::string& name,
                         const std::vector<std::string>& values) {
    onnx::AttributeProto* attribute = node.add_attribute();
    attribute->set_name(name);
    attribute->set_type(onnx::AttributeProto::STRINGS);
    for (const std::string& value : values) attribute->add_strings(value);
  }

 private:
  onnx::GraphProto* graph_;
  size_t counter_ = 0;
};

// A tensor of the exported graph and the mask that travels with it (a bool [batch, time], or
// empty for none).
struct Value {
  std::string name;
  std::string mask;
};

// A recurrent layer's settings and weights, read from its Keras config and get_weights(), so
// that a Bidirectional's inner copies are read as the plain layers are.
struct RecurrentSpec {
  std::string type;  // "LSTM", "GRU", "SimpleRNN"
  int64_t units = 0;
  std::string activation, recurrent_activation;
  bool reset_after = true, go_backwards = false, return_sequences = false;
  Array kernel, recurrent_kernel, bias;
};

// Keras' activation of a recurrent cell as ONNX names it, with its alpha and beta if it has them.
struct CellActivation {
  std::string name;
  std::optional<std::pair<float, float>> alpha_beta;
};

absl::StatusOr<CellActivation> ToCellActivation(const std::string& keras) {
  if (keras == "tanh") return CellActivation{"Tanh", {}};
  if (keras == "sigmoid") return CellActivation{"Sigmoid", {}};
  if (keras == "relu") return CellActivation{"Relu", {}};
  // Keras 2's hard_sigmoid, clip(0.2 x + 0.5, 0, 1), is ONNX's HardSigmoid with these defaults.
  if (keras == "hard_sigmoid") return CellActivation{"HardSigmoid", std::make_pair(0.2f, 0.5f)};
  if (keras == "linear" || keras.empty()) return CellActivation{"Affine", std::make_pair(1.f, 0.f)};
  return absl::InvalidArgumentError(absl::StrFormat("activation '%s' has no ONNX cell", keras));
}

class Converter {
 public:
  explicit Converter(const layers::Model& model) : model_(model) {}

  absl::StatusOr<std::string> Run() {
    if (!model_.built() || model_.nodes().empty()) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "model '%s' is not built: build it (Build, Compile or LoadModel) before exporting",
          model_.name()));
    }
    onnx::ModelProto proto;
    proto.set_ir_version(kIrVersion);
    proto.set_producer_name("seqlearn");
    proto.add_opset_import()->set_version(kOpset);
    onnx::GraphProto* graph = proto.mutable_graph();
    graph->set_name(model_.name());
    GraphWriter writer(graph);
    g_ = &writer;

    std::vector<Value> inputs;
    for (size_t i = 0; i < model_.inputs().size(); ++i) {
      const Node& node = *model_.inputs()[i].node();
      const std::string& name = node.layer->name();
      AddValueInfo(graph->add_input(), name, node.output_shapes[0],
                   i == 0 ? "time" : absl::StrCat(name, "_time"));
      inputs.push_back(Value{name, ""});
    }
    absl::StatusOr<std::vector<Value>> outputs = ConvertGraph(model_, inputs);
    if (!outputs.ok()) return outputs.status();
    const std::vector<std::string> output_names = model_.OutputNames();
    std::set<std::string> used;
    for (const Value& input : inputs) used.insert(input.name);
    for (size_t i = 0; i < outputs->size(); ++i) {
      // Several outputs of one layer (return_state) get their index: "lstm", "lstm:1", "lstm:2".
      const layers::KerasTensor& output = model_.outputs()[i];
      std::string name = output_names[i];
      if (used.count(name) != 0) name = absl::StrCat(output_names[i], ":", output.index());
      for (int extra = 1; used.count(name) != 0; ++extra) {
        name = absl::StrCat(output_names[i], ":", output.index(), "_", extra);
      }
      used.insert(name);
      writer.Op("Identity", {(*outputs)[i].name});
      graph->mutable_node(graph->node_size() - 1)->set_output(0, name);
      AddValueInfo(graph->add_output(), name, output.shape(), "");
    }
    try {
      onnx::checker::check_model(proto);
    } catch (const std::exception& error) {
      return absl::InternalError(
          absl::StrCat("the exported ONNX model fails ONNX's checker: ", error.what()));
    }
    return proto.SerializeAsString();
  }

 private:
  // `model`'s graph on `inputs` (one per model input): its outputs. A model used as a layer is
  // inlined the same way.
  absl::StatusOr<std::vector<Value>> ConvertGraph(const layers::Model& model,
                                                  const std::vector<Value>& inputs) {
    std::map<std::pair<const Node*, size_t>, Value> values;
    for (size_t i = 0; i < inputs.size(); ++i)
      values[{model.inputs()[i].node().get(), 0}] = inputs[i];
    for (size_t i = model.inputs().size(); i < model.nodes().size(); ++i) {
      const Node& node = *model.nodes()[i];
      std::vector<Value> node_inputs;
      for (const layers::KerasTensor& input : node.inputs) {
        node_inputs.push_back(values.at({input.node().get(), input.index()}));
      }
      const auto* inner = dynamic_cast<const layers::Model*>(node.layer.get());
      absl::StatusOr<std::vector<Value>> outputs =
          inner != nullptr ? ConvertGraph(*inner, node_inputs) : Convert(*node.layer, node_inputs);
      if (!outputs.ok()) return outputs.status();
      for (size_t k = 0; k < outputs->size(); ++k) values[{&node, k}] = (*outputs)[k];
    }
    std::vector<Value> outputs;
    for (const layers::KerasTensor& output : model.outputs()) {
      outputs.push_back(values.at({output.node().get(), output.index()}));
    }
    return outputs;
  }

  // A float tensor of `shape` (no batch axis): "batch" first; axis 1 named `time` when given,
  // any other varying axis left unnamed.
  void AddValueInfo(onnx::ValueInfoProto* info, const std::string& name, const layers::Shape& shape,
                    const std::string& time) {
    info->set_name(name);
    onnx::TypeProto_Tensor* type = info->mutable_type()->mutable_tensor_type();
    type->set_elem_type(onnx::TensorProto::FLOAT);
    onnx::TensorShapeProto* dims = type->mutable_shape();
    dims->add_dim()->set_dim_param("batch");
    for (size_t axis = 0; axis < shape.size(); ++axis) {
      onnx::TensorShapeProto_Dimension* dim = dims->add_dim();
      const bool last = axis + 1 == shape.size() && shape.size() > 1;
      if (axis == 0 && shape.size() > 1 && !time.empty()) {
        dim->set_dim_param(time);
      } else if ((last || shape.size() == 1) && shape[axis] != layers::kVaries) {
        dim->set_dim_value(static_cast<int64_t>(shape[axis]));
      }
    }
  }

  std::string Activate(const std::string& activation, const std::string& x) {
    if (activation == "linear" || activation.empty()) return x;
    if (activation == "sigmoid") return g_->Op("Sigmoid", {x});
    if (activation == "tanh") return g_->Op("Tanh", {x});
    if (activation == "relu") return g_->Op("Relu", {x});
    // softmax over the last axis, as Activate does
    return g_->Op("Softmax", {x},
                  [](onnx::NodeProto& node) { GraphWriter::SetInt(node, "axis", -1); });
  }

  // A 1-D int64 tensor from element `first` on.
  std::string SliceFrom(const std::string& x, int64_t first) {
    return g_->Op("Slice", {x, g_->Int64s({first}), g_->Int64s({INT64_MAX})});
  }
  static void Axis0(onnx::NodeProto& node) { GraphWriter::SetInt(node, "axis", 0); }

  static Json ConfigOf(const Layer& layer) {
    Json config = Json::object();
    layer.GetConfig(config);
    return config;
  }

  // One call of `layer` on `in`.
  absl::StatusOr<std::vector<Value>> Convert(const Layer& layer, const std::vector<Value>& in) {
    const std::string& type = layer.type();
    const Json config = ConfigOf(layer);
    const std::vector<Array> weights = layer.GetWeights();
    if (type == "Embedding") {
      std::string indices = g_->Cast(in[0].name, onnx::TensorProto::INT64);
      std::string out = g_->Op("Gather", {g_->Weight("embeddings", weights[0]), indices});
      std::string mask;
      if (config.value("mask_zero", false)) {
        mask = g_->Op("Not", {g_->Op("Equal", {in[0].name, g_->Scalar(0)})});
      }
      return std::vector<Value>{{out, mask}};
    }
    if (type == "Masking") {
      const float mask_value = config.value("mask_value", 0.0);
      std::string differs =
          g_->Cast(g_->Op("Not", {g_->Op("Equal", {in[0].name, g_->Scalar(mask_value)})}),
                   onnx::TensorProto::FLOAT);
      std::string any = g_->Op("ReduceMax", {differs}, [](onnx::NodeProto& node) {
        GraphWriter::SetInts(node, "axes", {-1});
      });  // [batch, time, 1]
      std::string mask = g_->Cast(g_->Squeeze(any, {2}), onnx::TensorProto::BOOL);
      return std::vector<Value>{{g_->Op("Mul", {in[0].name, any}), mask}};
    }
    if (type == "Dense")
      return std::vector<Value>{{Dense(config, weights, in[0].name), in[0].mask}};
    if (type == "TimeDistributed") {
      const Layer& inner = dynamic_cast<const layers::TimeDistributedLayer&>(layer).inner();
      // Dense works on the last axis already; any other layer sees the steps as a batch
      // ([batch * time, ...]) and no mask, as the layer calls it.
      if (inner.type() == "Dense") {
        return std::vector<Value>{{Dense(ConfigOf(inner), weights, in[0].name), in[0].mask}};
      }
      std::string shape = g_->Op("Shape", {in[0].name});
      std::string steps_as_batch = g_->Op(
          "Reshape", {in[0].name, g_->Op("Concat", {g_->Int64s({-1}), SliceFrom(shape, 2)}, Axis0)});
      absl::StatusOr<std::vector<Value>> out = Convert(inner, {Value{steps_as_batch, ""}});
      if (!out.ok()) return out.status();
      if (out->size() != 1) return Refuse(layer, "its inner layer gives several outputs");
      const std::string& y = (*out)[0].name;
      std::string unflat = g_->Op("Concat", {g_->Op("Slice", {shape, g_->Int64s({0}), g_->Int64s({2})}),
                                             SliceFrom(g_->Op("Shape", {y}), 1)},
                                  Axis0);
      return std::vector<Value>{{g_->Op("Reshape", {y, unflat}), in[0].mask}};
    }
    if (type == "Dropout") return std::vector<Value>{in[0]};
    if (type == "Activation") {
      return std::vector<Value>{{Activate(config.value("activation", ""), in[0].name), in[0].mask}};
    }
    if (type == "Conv1D") return std::vector<Value>{{Conv1D(config, weights, in[0].name), ""}};
    if (type == "MaxPooling1D") {
      const int64_t pool = config["pool_size"][0].get<int64_t>();
      std::string channels_first = g_->Transpose(in[0].name, {0, 2, 1});
      std::string pooled = g_->Op("MaxPool", {channels_first}, [pool](onnx::NodeProto& node) {
        GraphWriter::SetInts(node, "kernel_shape", {pool});
        GraphWriter::SetInts(node, "strides", {pool});
      });
      return std::vector<Value>{{g_->Transpose(pooled, {0, 2, 1}), ""}};
    }
    if (type == "RepeatVector") {
      const int64_t n = config["n"].get<int64_t>();
      std::string x = g_->Unsqueeze(in[0].name, {1});
      return std::vector<Value>{{g_->Op("Tile", {x, g_->Int64s({1, n, 1})}), ""}};
    }
    if (type == "GlobalMaxPooling1D" || type == "GlobalAveragePooling1D") {
      return std::vector<Value>{{GlobalPooling(type, config, in[0]), ""}};
    }
    if (type == "Concatenate" || type == "Add" || type == "Subtract" || type == "Multiply" ||
        type == "Average") {
      return std::vector<Value>{Merge(layer, config, in)};
    }
    if (type == "LSTM" || type == "GRU" || type == "SimpleRNN") {
      absl::StatusOr<RecurrentSpec> spec = ReadRecurrent(layer, type, config, weights, 0);
      if (!spec.ok()) return spec.status();
      const bool return_state = config.value("return_state", false);
      std::vector<std::string> initial(in.size() - 1);
      for (size_t i = 1; i < in.size(); ++i) initial[i - 1] = in[i].name;
      absl::StatusOr<std::vector<std::string>> outputs =
          Recurrent(layer, *spec, in[0].name, in[0].mask, initial, /*zero_masked=*/false);
      if (!outputs.ok()) return outputs.status();
      std::vector<Value> values{{(*outputs)[0], spec->return_sequences ? in[0].mask : ""}};
      if (return_state) {
        for (size_t i = 1; i < outputs->size(); ++i) values.push_back({(*outputs)[i], ""});
      }
      return values;
    }
    if (type == "Bidirectional") return Bidirectional(layer, config, weights, in);
    if (type == "Attention" || type == "AdditiveAttention") {
      return DenseAttention(dynamic_cast<const layers::BaseDenseAttentionLayer&>(layer), weights,
                            in);
    }
    if (type == "InputLayer") return std::vector<Value>{in.empty() ? Value{} : in[0]};
    return Refuse(layer,
                  "ONNX export knows no such layer (exportable: Embedding, Masking, Dense, "
                  "TimeDistributed (around any of these), Dropout, Activation, Conv1D, MaxPooling1D, "
                  "RepeatVector, GlobalMaxPooling1D, GlobalAveragePooling1D, the merging "
                  "layers, SimpleRNN, LSTM, GRU, Bidirectional, Attention, "
                  "AdditiveAttention, a model used as a layer)");
  }

  std::string Dense(const Json& config, const std::vector<Array>& weights, const std::string& x) {
    std::string y = g_->Op("MatMul", {x, g_->Weight("kernel", weights[0])});
    y = g_->Op("Add", {y, g_->Weight("bias", weights[1])});
    return Activate(config.value("activation", "linear"), y);
  }

  std::string Conv1D(const Json& config, const std::vector<Array>& weights, const std::string& x) {
    // Keras' kernel [size, channels, filters] -> ONNX's [filters, channels, size].
    const Array& kernel = weights[0];
    const size_t size = kernel.shape()[0], channels = kernel.shape()[1],
                 filters = kernel.shape()[2];
    std::vector<float> onnx_kernel(kernel.size());
    for (size_t k = 0; k < size; ++k) {
      for (size_t c = 0; c < channels; ++c) {
        for (size_t f = 0; f < filters; ++f) {
          onnx_kernel[(f * channels + c) * size + k] = kernel(k, c, f);
        }
      }
    }
    std::string w = g_->Floats(
        "conv_kernel",
        {static_cast<int64_t>(filters), static_cast<int64_t>(channels), static_cast<int64_t>(size)},
        onnx_kernel);
    // "same" with stride 1 pads TensorFlow's way: the odd step at the end.
    const int64_t total = config.value("padding", "valid") == "same" ? int64_t(size) - 1 : 0;
    const std::vector<int64_t> pads = {total / 2, total - total / 2};
    std::string y =
        g_->Op("Conv", {g_->Transpose(x, {0, 2, 1}), w, g_->Weight("conv_bias", weights[1])},
               [pads](onnx::NodeProto& node) { GraphWriter::SetInts(node, "pads", pads); });
    return Activate(config.value("activation", "linear"), g_->Transpose(y, {0, 2, 1}));
  }

  std::string GlobalPooling(const std::string& type, const Json& config, const Value& x) {
    const bool keepdims = config.value("keepdims", false);
    const auto keep = [keepdims](onnx::NodeProto& node) {
      GraphWriter::SetInts(node, "axes", {1});
      GraphWriter::SetInt(node, "keepdims", keepdims ? 1 : 0);
    };
    // Keras' max ignores the mask; its average leaves masked steps out.
    if (type == "GlobalMaxPooling1D") return g_->Op("ReduceMax", {x.name}, keep);
    if (x.mask.empty()) return g_->Op("ReduceMean", {x.name}, keep);
    std::string weights = g_->Unsqueeze(g_->Cast(x.mask, onnx::TensorProto::FLOAT), {2});
    const auto sum = [keepdims](onnx::NodeProto& node) {
      GraphWriter::SetInt(node, "keepdims", keepdims ? 1 : 0);
    };
    std::string total =
        g_->Op("ReduceSum", {g_->Op("Mul", {x.name, weights}), g_->Int64s({1})}, sum);
    std::string count = g_->Op("ReduceSum", {weights, g_->Int64s({1})}, sum);
    return g_->Op("Div", {total, count});
  }

  Value Merge(const Layer& layer, const Json& config, const std::vector<Value>& in) {
    std::vector<std::string> names;
    std::string mask;
    for (const Value& value : in) {
      names.push_back(value.name);
      if (value.mask.empty()) continue;
      mask = mask.empty() ? value.mask : g_->Op("And", {mask, value.mask});
    }
    const std::string& type = layer.type();
    if (type == "Concatenate") {
      // Keras' axis counts the batch axis; negative ones count from the end.
      const int64_t axis = config.value("axis", -1);
      return {g_->Op("Concat", names,
                     [axis](onnx::NodeProto& n) { GraphWriter::SetInt(n, "axis", axis); }),
              mask};
    }
    if (type == "Subtract") return {g_->Op("Sub", names), mask};
    // Pairwise, in order, as the layer adds: the same rounding.
    std::string out = names[0];
    for (size_t i = 1; i < names.size(); ++i)
      out = g_->Op(type == "Multiply" ? "Mul" : "Add", {out, names[i]});
    if (type == "Average")
      out = g_->Op("Mul", {out, g_->Scalar(1.0f / static_cast<float>(names.size()))});
    return {out, mask};
  }

  // Reads the recurrent layer of `config` with its three weights from weights[first...].
  absl::StatusOr<RecurrentSpec> ReadRecurrent(const Layer& layer, const std::string& type,
                                              const Json& config, const std::vector<Array>& weights,
                                              size_t first) {
    if (config.value("stateful", false) || config.value("unroll", false) ||
        config.value("time_major", false)) {
      return Refuse(layer, "stateful, unroll and time_major are not exported");
    }
    RecurrentSpec spec;
    spec.type = type;
    spec.units = config.at("units").get<int64_t>();
    spec.activation = config.value("activation", "tanh");
    spec.recurrent_activation = config.value("recurrent_activation", "sigmoid");
    spec.reset_after = config.value("reset_after", true);
    spec.go_backwards = config.value("go_backwards", false);
    spec.return_sequences = config.value("return_sequences", false);
    spec.kernel = weights.at(first);
    spec.recurrent_kernel = weights.at(first + 1);
    spec.bias = weights.at(first + 2);
    return spec;
  }

  // ONNX's W, R and B of a recurrent layer: Keras' gate blocks (columns of kernel
  // [input, gates * units]) become rows, in ONNX's gate order.
  struct OnnxWeights {
    std::string w, r, b;
  };
  OnnxWeights RecurrentWeights(const RecurrentSpec& spec) {
    // ONNX gate g is Keras gate order[g]: LSTM i, o, f, c from Keras' i, f, c, o; GRU z, r, h and
    // SimpleRNN's single block keep their order.
    std::vector<size_t> order = {0};
    if (spec.type == "LSTM") order = {0, 3, 1, 2};
    if (spec.type == "GRU") order = {0, 1, 2};
    const size_t units = static_cast<size_t>(spec.units), gates = order.size();
    const size_t inputs = spec.kernel.shape()[0];
    const auto rows = [&](const Array& keras, size_t columns_in) {
      std::vector<float> out(gates * units * columns_in);
      for (size_t g = 0; g < gates; ++g) {
        for (size_t j = 0; j < units; ++j) {
          for (size_t i = 0; i < columns_in; ++i) {
            out[(g * units + j) * columns_in + i] = keras(i, order[g] * units + j);
          }
        }
      }
      return out;
    };
    const int64_t g_units = static_cast<int64_t>(gates * units);
    OnnxWeights onnx_weights;
    onnx_weights.w =
        g_->Floats("W", {1, g_units, static_cast<int64_t>(inputs)}, rows(spec.kernel, inputs));
    onnx_weights.r = g_->Floats("R", {1, g_units, spec.units}, rows(spec.recurrent_kernel, units));
    // B is the input bias then the recurrent bias; only GRU with reset_after has the second.
    std::vector<float> b(2 * gates * units, 0.0f);
    const bool two_biases = spec.bias.dimension() == 2;
    for (size_t g = 0; g < gates; ++g) {
      for (size_t j = 0; j < units; ++j) {
        const size_t column = order[g] * units + j;
        b[g * units + j] = two_biases ? spec.bias(0, column) : spec.bias(column);
        if (two_biases) b[gates * units + g * units + j] = spec.bias(1, column);
      }
    }
    onnx_weights.b = g_->Floats("B", {1, 2 * g_units}, b);
    return onnx_weights;
  }

  // One direction of a recurrent layer over x [batch, time, features] with `mask` (empty: none)
  // from `initial` (empty: zeros). Returns the output (the sequence [batch, time, units] in
  // processing order with return_sequences, else the last output [batch, units]), then the final
  // state (h, and c for LSTM). zero_masked: masked steps output zeros (inside Bidirectional).
  absl::StatusOr<std::vector<std::string>> Recurrent(const Layer& layer, const RecurrentSpec& spec,
                                                     std::string x, std::string mask,
                                                     const std::vector<std::string>& initial,
                                                     bool zero_masked) {
    std::vector<CellActivation> activations;
    for (const std::string& keras :
         spec.type == "SimpleRNN" ? std::vector<std::string>{spec.activation}
         : spec.type == "GRU" ? std::vector<std::string>{spec.recurrent_activation, spec.activation}
                              : std::vector<std::string>{spec.recurrent_activation, spec.activation,
                                                         spec.activation}) {
      absl::StatusOr<CellActivation> activation = ToCellActivation(keras);
      if (!activation.ok()) return Refuse(layer, std::string(activation.status().message()));
      activations.push_back(*activation);
    }
    if (spec.go_backwards) {
      x = g_->ReverseTime(x);
      if (!mask.empty()) mask = g_->ReverseTime(mask);
    }
    std::string mask_float, real, sequence_lens;
    if (!mask.empty()) {
      // The real steps to the front, in order: the steps sorted by masked * time + step.
      mask_float = g_->Cast(mask, onnx::TensorProto::FLOAT);
      std::string lengths =
          g_->Op("ReduceSum", {mask_float, g_->Int64s({1})},
                 [](onnx::NodeProto& node) { GraphWriter::SetInt(node, "keepdims", 0); });
      std::string time =
          g_->Op("Slice", {g_->Op("Shape", {mask}), g_->Int64s({1}), g_->Int64s({2})});
      std::string steps = g_->Cast(
          g_->Op("Range", {g_->Int64Scalar(0), g_->Squeeze(time, {0}), g_->Int64Scalar(1)}),
          onnx::TensorProto::FLOAT);
      std::string masked = g_->Op("Sub", {g_->Scalar(1), mask_float});
      std::string key =
          g_->Op("Add", {g_->Op("Mul", {masked, g_->Cast(time, onnx::TensorProto::FLOAT)}), steps});
      std::string order = g_->Ops("TopK", {key, time}, 2, [](onnx::NodeProto& node) {
        GraphWriter::SetInt(node, "axis", 1);
        GraphWriter::SetInt(node, "largest", 0);
        GraphWriter::SetInt(node, "sorted", 1);
      })[1];
      x = g_->GatherSteps(x, order);
      // A sample without real steps runs one (ONNX Runtime wants lengths >= 1); `real` then
      // replaces what it gave.
      sequence_lens = g_->Cast(g_->Op("Max", {lengths, g_->Scalar(1)}), onnx::TensorProto::INT32);
      real = g_->Unsqueeze(g_->Op("Greater", {lengths, g_->Scalar(0)}), {1});
    }
    const OnnxWeights w = RecurrentWeights(spec);
    const bool lstm = spec.type == "LSTM";
    std::vector<std::string> op_inputs = {g_->Transpose(x, {1, 0, 2}), w.w, w.r, w.b,
                                          sequence_lens};
    for (const std::string& state : initial) op_inputs.push_back(g_->Unsqueeze(state, {0}));
    const std::string op = lstm ? "LSTM" : spec.type == "GRU" ? "GRU" : "RNN";
    const std::vector<std::string> outputs =
        g_->Ops(op, op_inputs, lstm ? 3 : 2, [&spec, &activations](onnx::NodeProto& node) {
          GraphWriter::SetInt(node, "hidden_size", spec.units);
          std::vector<std::string> names;
          std::vector<float> alphas, betas;
          for (const CellActivation& activation : activations) {
            names.push_back(activation.name);
            if (activation.alpha_beta) {
              alphas.push_back(activation.alpha_beta->first);
              betas.push_back(activation.alpha_beta->second);
            }
          }
          GraphWriter::SetStrings(node, "activations", names);
          if (!alphas.empty()) GraphWriter::SetFloats(node, "activation_alpha", alphas);
          if (!betas.empty()) GraphWriter::SetFloats(node, "activation_beta", betas);
          if (spec.type == "GRU")
            GraphWriter::SetInt(node, "linear_before_reset", spec.reset_after ? 1 : 0);
        });
    std::vector<std::string> result;
    const std::string last = g_->Squeeze(outputs[1], {0});  // [batch, units]
    if (spec.return_sequences) {
      std::string sequence = g_->Transpose(g_->Squeeze(outputs[0], {1}), {1, 0, 2});
      if (!mask.empty()) {
        // Step t outputs what the last real step at or before t gave: compact position
        // (real steps up to t) - 1; zeros before the first real step, or at every masked step
        // with zero_masked.
        std::string seen = g_->Op("CumSum", {mask_float, g_->Int64Scalar(1)});
        std::string position =
            g_->Cast(g_->Op("Max", {g_->Op("Sub", {seen, g_->Scalar(1)}), g_->Scalar(0)}),
                     onnx::TensorProto::INT64);
        std::string shown = zero_masked ? mask : g_->Op("Greater", {seen, g_->Scalar(0)});
        sequence = g_->Op("Where", {g_->Unsqueeze(shown, {2}), g_->GatherSteps(sequence, position),
                                    g_->Scalar(0)});
      }
      result.push_back(sequence);
    } else {
      result.push_back(mask.empty() ? last : g_->Op("Where", {real, last, g_->Scalar(0)}));
    }
    // The final state: after the last real step, or the initial state when there is none.
    for (size_t i = 0; i < (lstm ? 2u : 1u); ++i) {
      const std::string state = i == 0 ? last : g_->Squeeze(outputs[2], {0});
      if (mask.empty()) {
        result.push_back(state);
      } else {
        result.push_back(
            g_->Op("Where", {real, state, initial.empty() ? g_->Scalar(0) : initial[i]}));
      }
    }
    return result;
  }

  // Keras' Attention and AdditiveAttention at inference (no dropout), as layers/attention.h.
  absl::StatusOr<std::vector<Value>> DenseAttention(const layers::BaseDenseAttentionLayer& layer,
                                                    const std::vector<Array>& weights,
                                                    const std::vector<Value>& in) {
    const layers::AttentionOptions& options = layer.options();
    const bool additive = layer.type() == "AdditiveAttention";
    const bool use_scale = options.use_scale_.value_or(additive);
    const std::string& query = in[0].name;
    const std::string& value = in[1].name;
    const std::string& key = in.size() > 2 ? in[2].name : value;
    size_t next_weight = 0;
    std::string scores;
    if (!additive && options.score_mode_ == "dot") {
      scores = g_->Op("MatMul", {query, g_->Transpose(key, {0, 2, 1})});
      if (use_scale) scores = g_->Op("Mul", {scores, g_->Weight("scale", weights[next_weight++])});
    } else {
      // [batch, Tq, 1, dim] + [batch, 1, Tv, dim], summed over the features after tanh.
      std::string sum = g_->Op("Add", {g_->Unsqueeze(query, {2}), g_->Unsqueeze(key, {1})});
      std::string scale = use_scale ? g_->Weight("scale", weights[next_weight++]) : "";
      if (additive) {
        sum = g_->Op("Tanh", {sum});
        if (use_scale) sum = g_->Op("Mul", {sum, scale});
      } else {
        if (use_scale) sum = g_->Op("Mul", {scale, sum});
        sum = g_->Op("Tanh", {sum});
      }
      scores = g_->Op("ReduceSum", {sum, g_->Int64s({-1})},
                      [](onnx::NodeProto& node) { GraphWriter::SetInt(node, "keepdims", 0); });
      if (!additive) {
        scores = g_->Op("Mul", {g_->Weight("concat_score_weight", weights[next_weight++]), scores});
      }
    }
    // Keras subtracts 1e9 from the scores of padded value steps and, causally, of later steps.
    std::string keep;
    if (!in[1].mask.empty()) keep = g_->Unsqueeze(in[1].mask, {1});  // [batch, 1, Tv]
    if (options.use_causal_mask_) {
      const auto steps = [this](const std::string& x) {
        std::string count = g_->Op("Gather", {g_->Op("Shape", {x}), g_->Int64Scalar(1)});
        return g_->Op("Range", {g_->Int64Scalar(0), count, g_->Int64Scalar(1)});
      };
      std::string causal = g_->Op("Not", {g_->Op("Greater", {g_->Unsqueeze(steps(value), {0}),
                                                             g_->Unsqueeze(steps(query), {1})})});
      keep = keep.empty() ? causal : g_->Op("And", {keep, causal});  // [batch or 1, Tq, Tv]
    }
    if (!keep.empty()) {
      std::string bias =
          g_->Op("Mul", {g_->Op("Sub", {g_->Cast(keep, onnx::TensorProto::FLOAT), g_->Scalar(1)}),
                         g_->Scalar(1e9f)});
      scores = g_->Op("Add", {scores, bias});
    }
    std::string distribution = g_->Op(
        "Softmax", {scores}, [](onnx::NodeProto& node) { GraphWriter::SetInt(node, "axis", -1); });
    std::string out = g_->Op("MatMul", {distribution, value});
    if (!in[0].mask.empty()) {
      out =
          g_->Op("Mul", {out, g_->Unsqueeze(g_->Cast(in[0].mask, onnx::TensorProto::FLOAT), {2})});
    }
    std::vector<Value> values{{out, in[0].mask}};
    if (options.return_attention_scores_) values.push_back({distribution, ""});
    return values;
  }

  absl::StatusOr<std::vector<Value>> Bidirectional(const Layer& layer, const Json& config,
                                                   const std::vector<Array>& weights,
                                                   const std::vector<Value>& in) {
    const Json& inner = config.at("layer");
    const std::string type = inner.at("class_name").get<std::string>();
    const Json& inner_config = inner.at("config");
    const std::string merge_mode = config.value("merge_mode", "concat");
    absl::StatusOr<RecurrentSpec> forward = ReadRecurrent(layer, type, inner_config, weights, 0);
    if (!forward.ok()) return forward.status();
    absl::StatusOr<RecurrentSpec> backward = ReadRecurrent(layer, type, inner_config, weights, 3);
    if (!backward.ok()) return backward.status();
    backward->go_backwards = !forward->go_backwards;
    const size_t state_size = type == "LSTM" ? 2 : 1;
    std::vector<std::string> forward_initial, backward_initial;
    for (size_t i = 1; i < in.size(); ++i) {
      (i <= state_size ? forward_initial : backward_initial).push_back(in[i].name);
    }
    const bool sequences = forward->return_sequences;
    absl::StatusOr<std::vector<std::string>> f =
        Recurrent(layer, *forward, in[0].name, in[0].mask, forward_initial, sequences);
    if (!f.ok()) return f.status();
    absl::StatusOr<std::vector<std::string>> b =
        Recurrent(layer, *backward, in[0].name, in[0].mask, backward_initial, sequences);
    if (!b.ok()) return b.status();
    // The backward layer gives its sequence in processing order: back to forward time.
    std::string backward_output = sequences ? g_->ReverseTime((*b)[0]) : (*b)[0];
    std::string merged;
    if (merge_mode == "sum") {
      merged = g_->Op("Add", {(*f)[0], backward_output});
    } else if (merge_mode == "mul") {
      merged = g_->Op("Mul", {(*f)[0], backward_output});
    } else if (merge_mode == "ave") {
      merged = g_->Op("Mul", {g_->Op("Add", {(*f)[0], backward_output}), g_->Scalar(0.5f)});
    } else if (merge_mode == "concat") {
      merged = g_->Op("Concat", {(*f)[0], backward_output},
                      [](onnx::NodeProto& node) { GraphWriter::SetInt(node, "axis", -1); });
    } else {
      return Refuse(layer, absl::StrFormat("merge_mode '%s' is not exported", merge_mode));
    }
    std::vector<Value> values{{merged, sequences ? in[0].mask : ""}};
    if (inner_config.value("return_state", false)) {
      for (size_t i = 1; i < f->size(); ++i) values.push_back({(*f)[i], ""});
      for (size_t i = 1; i < b->size(); ++i) values.push_back({(*b)[i], ""});
    }
    return values;
  }

  const layers::Model& model_;
  GraphWriter* g_ = nullptr;
};

}  // namespace

absl::StatusOr<std::string> OnnxModelBytes(const layers::Model& model) {
  return Converter(model).Run();
}

absl::Status ExportOnnx(const layers::Model& model, const std::string& path) {
  absl::StatusOr<std::string> bytes = OnnxModelBytes(model);
  if (!bytes.ok()) return bytes.status();
  absl::StatusOr<std::unique_ptr<io::AtomicFile>> file = io::AtomicFile::Create(path);
  if (!file.ok()) return file.status();
  if (absl::Status status = (*file)->Write(*bytes); !status.ok()) return status;
  // The checker reads the written file back before it takes the final name.
  return (*file)->Commit([](const std::string& temporary) {
    try {
      onnx::checker::check_model(temporary);
    } catch (const std::exception& error) {
      return absl::DataLossError(
          absl::StrCat("the written ONNX file fails ONNX's checker: ", error.what()));
    }
    return absl::OkStatus();
  });
}

}  // namespace exporting
