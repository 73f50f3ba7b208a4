#include "exporting/onnx_runtime_testing.h"

#include <stdlib.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "exporting/testing.h"
#include "nlohmann/json.hpp"

namespace exporting {
namespace {

using layers::Array;

nlohmann::json ToJson(const std::string& name, const Array& array) {
  return {{"name", name},
          {"dims", std::vector<size_t>(array.shape().begin(), array.shape().end())},
          {"data", std::vector<float>(array.begin(), array.end())}};
}

std::string ReadFile(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

}  // namespace

absl::StatusOr<std::vector<Array>> RunInOnnxRuntime(const layers::Model& model,
                                                    const std::string& onnx_path,
                                                    const std::vector<Array>& inputs) {
  const char* runfiles = std::getenv("TEST_SRCDIR");
  if (runfiles == nullptr) return absl::FailedPreconditionError("TEST_SRCDIR is not set");
  const std::string dir = TestTempDir();
  nlohmann::json request = {{"inputs", nlohmann::json::array()}};
  for (size_t i = 0; i < inputs.size() && i < model.inputs().size(); ++i) {
    request["inputs"].push_back(ToJson(model.inputs()[i].node()->layer->name(), inputs[i]));
  }
  std::ofstream(dir + "/request.json") << request.dump();
  const std::string command = absl::StrFormat(
      "NODE_PATH='%s/npm/node_modules' node '%s/seqlearn/exporting/onnx_run.js' '%s' "
      "'%s/request.json' '%s/response.json' 2>'%s/stderr.txt'",
      runfiles, runfiles, onnx_path, dir, dir, dir);
  if (std::system(command.c_str()) != 0) {
    return absl::InternalError(
        absl::StrCat("ONNX Runtime failed: ", command, "\n", ReadFile(dir + "/stderr.txt")));
  }
  const nlohmann::json response = nlohmann::json::parse(ReadFile(dir + "/response.json"));
  std::vector<Array> outputs;
  for (const nlohmann::json& output : response["outputs"]) {
    Array array = Array::from_shape(output["dims"].get<std::vector<size_t>>());
    const nlohmann::json& data = output["data"];
    if (data.size() != array.size()) {
      return absl::InternalError(absl::StrFormat("output %s: %d values for %d elements",
                                                 output["name"].dump(), data.size(), array.size()));
    }
    // JSON has no NaN: JSON.stringify writes it as null.
    for (size_t k = 0; k < data.size(); ++k) {
      array.data()[k] = data[k].is_null() ? std::nanf("") : data[k].get<float>();
    }
    outputs.push_back(std::move(array));
  }
  return outputs;
}

absl::StatusOr<double> MaxDifferenceFromPredict(layers::Model& model, const std::string& onnx_path,
                                                const std::vector<Array>& inputs) {
  absl::StatusOr<std::vector<Array>> expected = model.Predict(inputs);
  if (!expected.ok()) return expected.status();
  absl::StatusOr<std::vector<Array>> actual = RunInOnnxRuntime(model, onnx_path, inputs);
  if (!actual.ok()) return actual.status();
  if (actual->size() != expected->size()) {
    return absl::InternalError(absl::StrFormat("ONNX Runtime gave %d outputs, Predict %d",
                                               actual->size(), expected->size()));
  }
  double worst = 0;
  for (size_t i = 0; i < actual->size(); ++i) {
    const Array& a = (*actual)[i];
    const Array& e = (*expected)[i];
    if (a.shape() != e.shape()) {
      return absl::InternalError(
          absl::StrFormat("output %d: ONNX Runtime's shape (%s), Predict's (%s)", i,
                          absl::StrJoin(a.shape(), ", "), absl::StrJoin(e.shape(), ", ")));
    }
    for (size_t k = 0; k < a.size(); ++k) {
      const double x = a.data()[k], y = e.data()[k];
      // NaN where Predict gives NaN (an average over no real steps, as Keras) and only there.
      const double difference = std::isnan(x) || std::isnan(y)
                                    ? (std::isnan(x) && std::isnan(y) ? 0 : INFINITY)
                                    : std::abs(x - y);
      worst = std::max(worst, difference);
    }
  }
  return worst;
}

}  // namespace exporting
