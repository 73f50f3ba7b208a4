// //tools:export end to end: a model saved with saving::SaveModel, exported by the tool, runs in
// ONNX Runtime and in TensorFlow.js and gives the saved model's Predict; then the command lines,
// files and outputs it must refuse, with the exit code and the one line each gets, and no ONNX file
// left behind. (Layers the export refuses are exporting/onnx_test's: every layer a model file can
// hold is exported.)
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "exporting/onnx_runtime_testing.h"
#include "layers/dense.h"
#include "layers/embedding.h"
#include "layers/functional.h"
#include "layers/model.h"
#include "layers/recurrent.h"
#include "layers/sequential.h"
#include "nlohmann/json.hpp"
#include "saving/model_file.h"

namespace {

using layers::Array;
using layers::kVaries;
using layers::RecurrentOptions;

// The tool, from the test's runfiles.
std::string ToolPath() {
  return absl::StrCat(std::getenv("TEST_SRCDIR"), "/seqlearn/tools/export");
}

struct Result {
  int exit_code = -1;
  std::string stderr_text;
};

// The tool with `flags`; its standard error.
Result RunTool(const std::string& flags) {
  const std::string dir = exporting::TestTempDir();
  const std::string command =
      absl::StrCat("'", ToolPath(), "' ", flags, " >/dev/null 2>'", dir, "/stderr.txt'");
  const int status = std::system(command.c_str());
  std::ifstream file(dir + "/stderr.txt");
  std::stringstream text;
  text << file.rdbuf();
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, text.str()};
}

bool Exists(const std::string& path) {
  struct stat info;
  return stat(path.c_str(), &info) == 0;
}

TEST(ExportTool, SavedMaskedModelRunsInOnnxRuntimeAsPredict) {
  layers::KerasTensor words = layers::Input({kVaries}, "words");
  layers::KerasTensor embedded = layers::Embedding(10, 4, 0, /*mask_zero=*/true)(words);
  layers::KerasTensor sequence = layers::Bidirectional(
      layers::LSTM(RecurrentOptions(3).return_sequences(true)), "ave")(embedded);
  layers::KerasTensor last = layers::GRU(RecurrentOptions(3).reset_after(false))(sequence);
  layers::Model model({words}, {layers::Dense(1, "sigmoid")(last)}, 1, "masked");
  ASSERT_TRUE(model.status().ok()) << model.status();
  ASSERT_TRUE(model.Build().ok());
  exporting::RandomizeWeights(model, 2);
  const std::string dir = exporting::TestTempDir();
  ASSERT_TRUE(saving::SaveModel(model, dir + "/m.h5").ok());

  Result result = RunTool(absl::StrCat("--model=", dir, "/m.h5 --onnx=", dir, "/m.onnx"));
  ASSERT_EQ(result.exit_code, 0) << result.stderr_text;
  // Post- and pre-padded, length 1, a gap, every step masked.
  Array x = {{3, 5, 2, 7, 1}, {3, 5, 0, 0, 0}, {0, 0, 0, 0, 8}, {4, 0, 0, 2, 0}, {0, 0, 0, 0, 0}};
  absl::StatusOr<double> difference =
      exporting::MaxDifferenceFromPredict(model, dir + "/m.onnx", {x});
  ASSERT_TRUE(difference.ok()) << difference.status();
  std::printf("max |onnxruntime - predict| = %.3g\n", *difference);
  EXPECT_LE(*difference, 1e-5);
}

TEST(ExportTool, RefusesBadCommandLines) {
  Result no_model = RunTool("--onnx=x.onnx");
  EXPECT_EQ(no_model.exit_code, 2);
  EXPECT_NE(no_model.stderr_text.find("--model is required"), std::string::npos)
      << no_model.stderr_text;
  Result no_output = RunTool("--model=x.h5");
  EXPECT_EQ(no_output.exit_code, 2);
  EXPECT_NE(no_output.stderr_text.find("--onnx or --tfjs is required"), std::string::npos)
      << no_output.stderr_text;
}

TEST(ExportTool, RefusesMissingModelsAndUnwritableOutputs) {
  const std::string dir = exporting::TestTempDir();
  Result missing = RunTool(absl::StrCat("--model=", dir, "/none.h5 --onnx=", dir, "/none.onnx"));
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.stderr_text.find("none.h5"), std::string::npos) << missing.stderr_text;
  EXPECT_FALSE(Exists(dir + "/none.onnx"));

  // A directory where the ONNX file should go: named, and left as it was.
  layers::Sequential model(3);
  model.Add(layers::Dense(2), {3});
  ASSERT_TRUE(model.Build().ok());
  ASSERT_TRUE(saving::SaveModel(model, dir + "/dense.h5").ok());
  ASSERT_EQ(mkdir((dir + "/r.onnx").c_str(), 0700), 0);
  Result refused = RunTool(absl::StrCat("--model=", dir, "/dense.h5 --onnx=", dir, "/r.onnx"));
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.stderr_text.find("r.onnx"), std::string::npos) << refused.stderr_text;
  EXPECT_NE(refused.stderr_text.find("directory"), std::string::npos) << refused.stderr_text;
  struct stat info;
  EXPECT_TRUE(stat((dir + "/r.onnx").c_str(), &info) == 0 && S_ISDIR(info.st_mode));
}

// TensorFlow.js (exporting/tfjs_predict.js in node) predicts `x` with the export in
// `case_dir`/model; its one output, flattened.
std::vector<double> TfjsPredict(const std::string& case_dir, const Array& x) {
  nlohmann::json shape = nlohmann::json::array(), data = nlohmann::json::array();
  for (size_t extent : x.shape()) shape.push_back(extent);
  for (size_t i = 0; i < x.size(); ++i) data.push_back(static_cast<double>(x.data()[i]));
  std::ofstream(case_dir + "/inputs.json")
      << nlohmann::json::array({nlohmann::json::array({{{"shape", shape}, {"data", data}}})})
             .dump();
  const std::string runfiles = std::getenv("TEST_SRCDIR");
  const std::string command =
      absl::StrCat("NODE_PATH='", runfiles, "/npm/node_modules' node '", runfiles,
                   "/seqlearn/exporting/tfjs_predict.js' '", case_dir, "' >/dev/null 2>&1");
  if (std::system(command.c_str()) != 0) return {};
  std::ifstream file(case_dir + "/outputs.json");
  std::stringstream text;
  text << file.rdbuf();
  const nlohmann::json outputs = nlohmann::json::parse(text.str(), nullptr, false);
  if (!outputs.is_array() || outputs.size() != 1 || outputs[0].size() != 1) return {};
  std::vector<double> values;
  for (const auto& value : outputs[0][0]["data"]) values.push_back(value.get<double>());
  return values;
}

TEST(ExportTool, SavedMaskedModelRunsInTensorFlowJsAsPredict) {
  layers::KerasTensor words = layers::Input({kVaries}, "words");
  layers::KerasTensor embedded = layers::Embedding(10, 4, 0, /*mask_zero=*/true)(words);
  layers::KerasTensor sequence = layers::LSTM(RecurrentOptions(3).return_sequences(true))(embedded);
  layers::KerasTensor last = layers::GRU(RecurrentOptions(3).reset_after(false))(sequence);
  layers::Model model({words}, {layers::Dense(1, "sigmoid")(last)}, 1, "masked");
  ASSERT_TRUE(model.status().ok()) << model.status();
  ASSERT_TRUE(model.Build().ok());
  exporting::RandomizeWeights(model, 3);
  const std::string dir = exporting::TestTempDir();
  ASSERT_TRUE(saving::SaveModel(model, dir + "/m.h5").ok());

  Result result = RunTool(absl::StrCat("--model=", dir, "/m.h5 --tfjs=", dir, "/model"));
  ASSERT_EQ(result.exit_code, 0) << result.stderr_text;
  EXPECT_TRUE(Exists(dir + "/model/model.json"));
  Array x = {{3, 5, 2, 7, 1}, {3, 5, 0, 0, 0}, {0, 0, 0, 0, 8}, {4, 0, 0, 2, 0}};
  const std::vector<double> theirs = TfjsPredict(dir, x);
  absl::StatusOr<std::vector<Array>> ours = model.Predict(std::vector<Array>{x});
  ASSERT_TRUE(ours.ok()) << ours.status();
  ASSERT_EQ(theirs.size(), (*ours)[0].size()) << "TensorFlow.js did not predict";
  for (size_t i = 0; i < theirs.size(); ++i) {
    EXPECT_NEAR(theirs[i], (*ours)[0].data()[i], 1e-5) << "sample " << i;
  }
}

// Bidirectional with return_sequences over a masked input: ONNX can, TensorFlow.js cannot (its
// masked steps are not zeros). Asked for both, the tool names the layer and writes neither.
TEST(ExportTool, ARefusalByEitherTargetWritesNothing) {
  layers::KerasTensor words = layers::Input({kVaries}, "words");
  layers::KerasTensor embedded = layers::Embedding(10, 4, 0, /*mask_zero=*/true)(words);
  layers::KerasTensor sequence = layers::Bidirectional(
      layers::LSTM(RecurrentOptions(3).return_sequences(true)), "ave")(embedded);
  layers::KerasTensor last = layers::LSTM(RecurrentOptions(3))(sequence);
  layers::Model model({words}, {layers::Dense(1, "sigmoid")(last)}, 1, "masked");
  ASSERT_TRUE(model.status().ok()) << model.status();
  ASSERT_TRUE(model.Build().ok());
  const std::string dir = exporting::TestTempDir();
  ASSERT_TRUE(saving::SaveModel(model, dir + "/m.h5").ok());

  Result result = RunTool(
      absl::StrCat("--model=", dir, "/m.h5 --onnx=", dir, "/m.onnx --tfjs=", dir, "/model"));
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.stderr_text.find("bidirectional"), std::string::npos) << result.stderr_text;
  EXPECT_NE(result.stderr_text.find("TensorFlow.js"), std::string::npos) << result.stderr_text;
  EXPECT_FALSE(Exists(dir + "/m.onnx"));
  EXPECT_FALSE(Exists(dir + "/model"));
}

}  // namespace
