#include "exporting/tfjs.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <regex>
#include <set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "layers/config.h"
#include "layers/functional.h"
#include "saving/model_file.h"

namespace exporting {
namespace {

using layers::Array;
using layers::Json;
using layers::KerasTensor;
using layers::Layer;
using layers::LayerPtr;
using layers::Model;
using layers::Node;

constexpr char kModelJson[] = "model.json";

// The Keras classes of ours that TensorFlow.js 4.22 registers (tfjs-layers' serialization) and
// computes as we do, within the limits CheckNode adds. Not there: Subtract, Attention and
// AdditiveAttention (tfjs-layers has no such class).
const std::set<std::string>& ExpressibleClasses() {
  static const std::set<std::string> classes = {"InputLayer",
                                                "Dense",
                                                "TimeDistributed",
                                                "Embedding",
                                                "Masking",
                                                "Dropout",
                                                "SimpleRNN",
                                                "LSTM",
                                                "GRU",
                                                "Bidirectional",
                                                "Conv1D",
                                                "MaxPooling1D",
                                                "GlobalMaxPooling1D",
                                                "GlobalAveragePooling1D",
                                                "RepeatVector",
                                                "Activation",
                                                "Concatenate",
                                                "Add",
                                                "Multiply",
                                                "Average"};
  return classes;
}

std::string LayerName(const Layer& layer) {
  return absl::StrFormat("layer '%s' (%s)", layer.name(), layer.type());
}

absl::Status Refuse(const Layer& layer, const std::string& feature) {
  return absl::UnimplementedError(absl::StrFormat(
      "%s: TensorFlow.js 4.22 cannot run this model as it is: %s", LayerName(layer), feature));
}

// The limits of one Keras class's config (a wrapped layer's too) in TensorFlow.js.
absl::Status CheckClass(const Layer& layer, const Json& entry) {
  const std::string class_name = entry.value("class_name", "");
  if (ExpressibleClasses().count(class_name) == 0) {
    return Refuse(layer, absl::StrFormat("tfjs-layers has no %s layer", class_name));
  }
  const Json& config = entry["config"];
  if (class_name == "TimeDistributed" || class_name == "Bidirectional") {
    return CheckClass(layer, config["layer"]);
  }
  if (class_name == "GRU" && config.value("reset_after", false)) {
    return Refuse(layer,
                  "GRU with reset_after=true (tf.keras 2's default), which its GRUCell refuses; "
                  "build the GRU with reset_after(false) (standalone Keras 2's variant)");
  }
  return absl::OkStatus();
}

// Whether output `index` of `node` is used: by a later call, or as a model output.
using UsedOutputs = std::set<std::pair<const Node*, size_t>>;

UsedOutputs FindUsedOutputs(const Model& model) {
  UsedOutputs used;
  for (const std::shared_ptr<Node>& node : model.nodes()) {
    for (const KerasTensor& input : node->inputs) used.emplace(input.node().get(), input.index());
  }
  for (const KerasTensor& output : model.outputs())
    used.emplace(output.node().get(), output.index());
  return used;
}

// One call of a layer: its class, and what TensorFlow.js does otherwise than Keras with the
// masks and states it gets there.
absl::Status CheckNode(const Node& node, const UsedOutputs& used) {
  const Layer& layer = *node.layer;
  if (dynamic_cast<const Model*>(&layer) != nullptr) {
    return Refuse(layer,
                  "a model nested inside this model; build it from the inner model's layers");
  }
  if (dynamic_cast<const layers::InputLayer*>(&layer) != nullptr) return absl::OkStatus();
  const Json entry = layers::LayerToConfig(layer);
  if (absl::Status status = CheckClass(layer, entry); !status.ok()) return status;

  const std::string& class_name = entry["class_name"].get_ref<const std::string&>();
  if ((class_name == "LSTM" || class_name == "GRU" || class_name == "SimpleRNN") &&
      entry["config"].value("return_state", false) &&
      !entry["config"].value("return_sequences", false) && used.count({&node, 0}) > 0) {
    for (size_t state = 1; state < node.output_shapes.size(); ++state) {
      if (used.count({&node, state}) > 0) {
        return Refuse(layer,
                      "the output and a state of a return_state call without return_sequences "
                      "are both used (the output is the state h there), and TensorFlow.js' "
                      "predict then fails (\"Cannot read properties of undefined (reading "
                      "'backend')\", measured); use only the states, as seq2seq encoders do");
      }
    }
  }

  bool masked = false;
  for (const KerasTensor& input : node.inputs) masked |= input.masked();
  if (!masked) return absl::OkStatus();
  if (class_name == "Bidirectional" &&
      entry["config"]["layer"]["config"].value("return_sequences", false)) {
    return Refuse(layer,
                  "Bidirectional with return_sequences on a masked input: Keras outputs zeros at "
                  "masked steps there (zero_output_for_mask), TensorFlow.js the previous output");
  }
  const Json& recurrent_config =
      class_name == "Bidirectional" ? entry["config"]["layer"]["config"] : entry["config"];
  if ((class_name == "LSTM" || class_name == "GRU" || class_name == "SimpleRNN" ||
       class_name == "Bidirectional") &&
      recurrent_config.value("return_state", false)) {
    return Refuse(layer,
                  "return_state on a masked input: the final states TensorFlow.js returns differ "
                  "from Keras' (the state after each sample's last real step) for padded samples "
                  "(measured, tfjs_node_test); give this layer an unmasked input, or export to "
                  "ONNX instead");
  }
  if (node.state_inputs > 0) {
    return Refuse(layer,
                  "initial_state with a masked input: Keras outputs zeros at the masked steps "
                  "before a sample's first real step, TensorFlow.js the initial state");
  }
  if (class_name == "GlobalAveragePooling1D") {
    return Refuse(layer,
                  "GlobalAveragePooling1D on a masked input: Keras averages the real steps only, "
                  "TensorFlow.js every step");
  }
  if (class_name == "Add" || class_name == "Multiply" || class_name == "Average") {
    return Refuse(layer,
                  absl::StrFormat("%s on masked inputs: TensorFlow.js' Merge.computeMask drops the "
                                  "last input's mask and adds an axis to the others",
                                  class_name));
  }
  return absl::OkStatus();
}

// Appends `value` as 4 bytes, least significant first, whatever this machine's byte order.
void AppendFloat32(float value, std::string& bytes) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  for (int shift = 0; shift < 32; shift += 8) bytes.push_back(static_cast<char>(bits >> shift));
}

// "lstm/lstm_cell/kernel:0" -> "lstm/lstm_cell/kernel", as the converter's normalize_weight_name.
std::string WithoutOutputSlot(const std::string& name) {
  return name.size() > 2 && name.compare(name.size() - 2, 2, ":0") == 0
             ? name.substr(0, name.size() - 2)
             : name;
}

// What an earlier export leaves in its directory: only these may be replaced.
bool IsExportFile(const std::string& name) {
  static const std::regex shard("group[0-9]+-shard[0-9]+of[0-9]+\\.bin");
  return name == kModelJson || std::regex_match(name, shard);
}

absl::Status ErrnoError(const std::string& what, const std::string& path) {
  return absl::InternalError(absl::StrFormat("%s '%s': %s", what, path, std::strerror(errno)));
}

// The names in `directory` (not . and ..).
absl::StatusOr<std::vector<std::string>> ListDirectory(const std::string& directory) {
  std::unique_ptr<DIR, int (*)(DIR*)> dir(opendir(directory.c_str()), closedir);
  if (dir == nullptr) return ErrnoError("cannot read directory", directory);
  std::vector<std::string> names;
  while (const dirent* entry = readdir(dir.get())) {
    const std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  return names;
}

// Removes an export directory that this process made (only the files an export writes).
void RemoveExportDirectory(const std::string& directory) {
  absl::StatusOr<std::vector<std::string>> names = ListDirectory(directory);
  if (names.ok()) {
    for (const std::string& name : *names) {
      if (IsExportFile(name)) unlink(absl::StrCat(directory, "/", name).c_str());
    }
  }
  rmdir(directory.c_str());
}

absl::Status WriteWholeFile(const std::string& path, const std::string& bytes) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError("cannot create", path);
  size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      absl::Status status = ErrnoError("cannot write", path);
      close(fd);
      return status;
    }
    written += static_cast<size_t>(n);
  }
  // On disk before the rename publishes it: a crash must not leave a whole-looking export with
  // empty files.
  if (fsync(fd) != 0) {
    absl::Status status = ErrnoError("cannot flush", path);
    close(fd);
    return status;
  }
  if (close(fd) != 0) return ErrnoError("cannot close", path);
  return absl::OkStatus();
}

// Flushes a directory's entries (a rename in it) to disk.
absl::Status SyncDirectory(const std::string& directory) {
  const int fd = open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("cannot open directory", directory);
  const int result = fsync(fd);
  close(fd);
  if (result != 0) return ErrnoError("cannot flush directory", directory);
  return absl::OkStatus();
}

// The weights' bytes and manifest entries, in model.layers() order.
struct Weights {
  std::string bytes;
  Json entries = Json::array();
};

Weights CollectWeights(const Model& model) {
  Weights weights;
  for (const LayerPtr& layer : model.layers()) {
    const std::vector<std::string> names = layer->KerasWeightNames();
    const std::vector<Array> values = layer->GetWeights();
    for (size_t i = 0; i < names.size(); ++i) {
      Json shape = Json::array();
      for (size_t extent : values[i].shape()) shape.push_back(extent);
      weights.entries.push_back(Json{{"name", WithoutOutputSlot(names[i])},
                                     {"shape", std::move(shape)},
                                     {"dtype", "float32"}});
      for (size_t j = 0; j < values[i].size(); ++j) {
        AppendFloat32(static_cast<float>(values[i].data()[j]), weights.bytes);
      }
    }
  }
  return weights;
}

// Checks that `directory` may be replaced by an export: absent, or a directory with nothing but
// an earlier export's files. Sets `exists`.
absl::Status CheckReplaceableDirectory(const std::string& directory, bool& exists) {
  struct stat info;
  if (lstat(directory.c_str(), &info) != 0) {
    if (errno != ENOENT) return ErrnoError("cannot inspect", directory);
    exists = false;
    return absl::OkStatus();
  }
  exists = true;
  if (!S_ISDIR(info.st_mode)) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "TensorFlow.js export to '%s': it exists and is not a directory; name a new directory",
        directory));
  }
  absl::StatusOr<std::vector<std::string>> names = ListDirectory(directory);
  if (!names.ok()) return names.status();
  for (const std::string& name : *names) {
    if (!IsExportFile(name)) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "TensorFlow.js export to '%s': the directory holds '%s', which is not from an earlier "
          "export (only model.json and group*-shard*of*.bin are replaced); name a new or empty "
          "directory",
          directory, name));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckTfjsExpressible(const Model& model) {
  if (!model.built()) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "model '%s' is not built: call Build (or Compile) before exporting it", model.name()));
  }
  const UsedOutputs used = FindUsedOutputs(model);
  for (const std::shared_ptr<Node>& node : model.nodes()) {
    if (absl::Status status = CheckNode(*node, used); !status.ok()) {
      return absl::Status(status.code(),
                          absl::StrCat("model '", model.name(), "', ", status.message()));
    }
  }
  return absl::OkStatus();
}

absl::Status ExportTfjs(const Model& model, const std::string& directory) {
  if (absl::Status status = CheckTfjsExpressible(model); !status.ok()) return status;
  // As SaveModel: the ranks of a data-parallel job hold the same weights; one writes.
  if (!model.is_chief()) return absl::OkStatus();
  absl::StatusOr<Json> model_config = saving::ModelConfig(model);
  if (!model_config.ok()) return model_config.status();

  std::string path = directory;
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  if (path.empty()) {
    return absl::InvalidArgumentError("TensorFlow.js export: the directory name is empty");
  }
  bool exists = false;
  if (absl::Status status = CheckReplaceableDirectory(path, exists); !status.ok()) return status;

  const size_t slash = path.rfind('/');
  const std::string parent = slash == std::string::npos ? "." : path.substr(0, slash + 1);
  const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  // A sibling, so that the final rename stays on one file system.
  std::string temporary =
      absl::StrCat(parent, slash == std::string::npos ? "/." : ".", base, ".tfjs-XXXXXX");
  if (mkdtemp(temporary.data()) == nullptr) {
    return ErrnoError("cannot create a temporary directory (does the parent exist?) beside", path);
  }
  struct Cleanup {
    std::string directory;
    ~Cleanup() {
      if (!directory.empty()) RemoveExportDirectory(directory);
    }
  } cleanup{temporary};

  const Weights weights = CollectWeights(model);
  const size_t shards = (weights.bytes.size() + kTfjsShardBytes - 1) / kTfjsShardBytes;
  Json paths = Json::array();
  for (size_t i = 0; i < shards; ++i) {
    const std::string name = absl::StrFormat("group1-shard%dof%d.bin", i + 1, shards);
    paths.push_back(name);
    if (absl::Status status =
            WriteWholeFile(absl::StrCat(temporary, "/", name),
                           weights.bytes.substr(i * kTfjsShardBytes, kTfjsShardBytes));
        !status.ok()) {
      return status;
    }
  }
  // The converter's generatedBy comes from the topology's keras_version; convertedBy names us.
  const Json model_json = {
      {"format", "layers-model"},
      {"generatedBy", absl::StrCat("keras v", saving::kKerasVersion)},
      {"convertedBy", "seqlearn exporting::ExportTfjs"},
      {"modelTopology", Json{{"keras_version", saving::kKerasVersion},
                             {"backend", saving::kBackend},
                             {"model_config", *std::move(model_config)}}},
      {"weightsManifest",
       Json::array({Json{{"paths", std::move(paths)}, {"weights", weights.entries}}})}};
  if (absl::Status status =
          WriteWholeFile(absl::StrCat(temporary, "/", kModelJson), model_json.dump());
      !status.ok()) {
    return status;
  }

  if (!exists) {
    if (rename(temporary.c_str(), path.c_str()) != 0) return ErrnoError("cannot create", path);
    cleanup.directory.clear();
  } else {
    // Swapped in one step, so that readers see the old export or the new one, never a mix; the
    // old one, now under the temporary name, is removed by the cleanup.
    const int swapped =
        renameat2(AT_FDCWD, temporary.c_str(), AT_FDCWD, path.c_str(), RENAME_EXCHANGE);
    if (swapped != 0) return ErrnoError("cannot replace", path);
  }
  return SyncDirectory(parent);
}

}  // namespace exporting
