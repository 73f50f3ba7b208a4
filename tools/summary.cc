// A first look into a model file, ours or Keras': the layer table (Keras' summary, with the
// "Connected to" column for graphs, and the parameter totals), how it was compiled (losses,
// metrics, the optimizer and its hyper-parameters) and, with --weights, every weight's name and
// shape:
//   bazel run //tools:summary -- --model=$PWD/imdb_lstm.h5 --weights
// Exit codes: 0 printed; 1 the file cannot be read as a model (missing, a directory, not HDF5,
// damaged: one line naming it and what is wrong); 2 a bad command line.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "experiments/command_line.h"
#include "layers/config.h"
#include "saving/model_file.h"

ABSL_FLAG(std::string, model, "", "the model file (model.save's HDF5, from Keras or this library)");
ABSL_FLAG(bool, weights, false, "also list every weight: its name in the file and its shape");

namespace {

// "(30, 8)", "(8,)": a weight's shape as numpy prints it.
std::string ShapeText(const layers::Shape& shape) {
  if (shape.size() == 1) return absl::StrFormat("(%d,)", shape[0]);
  return absl::StrFormat("(%s)", absl::StrJoin(shape, ", "));
}

// A JSON number or value as Keras' config holds it (0.001, 1e-07, false).
std::string ValueText(const layers::Json& value) {
  return value.is_string() ? value.get<std::string>() : value.dump();
}

std::string Describe(const layers::Model& model) {
  std::string out = model.Summary();
  if (!model.compiled()) {
    return out + "Not compiled: the file has no training_config (saved before compile, or with "
                 "include_optimizer=False).\n";
  }
  const std::vector<std::string> losses = model.losses();
  const std::vector<std::string> outputs = model.OutputNames();
  out += "Compiled with:\n";
  if (losses.size() == 1) {
    out += absl::StrFormat("  loss: %s\n", losses[0]);
  } else {
    std::vector<std::string> each;
    for (size_t k = 0; k < losses.size(); ++k) {
      each.push_back(absl::StrFormat("%s (output %s, weight %g)", losses[k], outputs[k],
                                     model.loss_weights()[k]));
    }
    out += absl::StrFormat("  loss: %s\n", absl::StrJoin(each, ", "));
  }
  const std::vector<std::string> metrics = model.metrics();
  out += absl::StrFormat("  metrics: %s\n", metrics.empty() ? "none" : absl::StrJoin(metrics, ", "));
  const layers::Json optimizer = layers::OptimizerToConfig(*model.optimizer());
  std::vector<std::string> settings;
  for (const auto& [key, value] : optimizer["config"].items()) {
    if (key != "name") settings.push_back(absl::StrFormat("%s=%s", key, ValueText(value)));
  }
  out += absl::StrFormat("  optimizer: %s (%s)\n", optimizer.value("class_name", ""),
                         absl::StrJoin(settings, ", "));
  out += absl::StrFormat("  epochs trained: %d\n", model.GetTrainingState().epochs);
  return out;
}

std::string Weights(const layers::Model& model) {
  std::vector<std::pair<std::string, std::string>> rows;
  size_t width = 0;
  for (const layers::LayerPtr& layer : model.layers()) {
    const std::vector<std::string> names = layer->KerasWeightNames();
    const std::vector<layers::Weight> weights = layer->weights();
    for (size_t i = 0; i < names.size() && i < weights.size(); ++i) {
      rows.emplace_back(names[i], ShapeText(weights[i].tensor.shape()));
      width = std::max(width, names[i].size());
    }
  }
  std::string out = absl::StrFormat("Weights (%d):\n", rows.size());
  for (const auto& [name, shape] : rows) {
    out += absl::StrFormat("  %-*s  %s\n", static_cast<int>(width), name, shape);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  experiments::ParseCommandLine(
      argc, argv,
      "A model file's summary, compile settings and (--weights) weights: summary --model=FILE");
  const std::string path = absl::GetFlag(FLAGS_model);
  if (path.empty()) {
    return experiments::ExitWithUsageError(absl::InvalidArgumentError(
        "--model is required: a model file (model.save's HDF5), e.g. --model=$PWD/imdb_lstm.h5"));
  }
  absl::StatusOr<std::unique_ptr<layers::Model>> model = saving::LoadModel(path);
  if (!model.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(model.status().message()).c_str());
    return 1;
  }
  std::string out = Describe(**model);
  if (absl::GetFlag(FLAGS_weights)) out += Weights(**model);
  std::fwrite(out.data(), 1, out.size(), stdout);
  if (std::fflush(stdout) != 0) {
    std::fprintf(stderr, "error: writing the summary to standard output failed\n");
    return 1;
  }
  return 0;
}
