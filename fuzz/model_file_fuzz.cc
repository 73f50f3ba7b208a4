// libFuzzer target: the model-file loader (saving::LoadModel, the attribute and dataset readers,
// the JSON configs, datasets::TextPreprocessingFromJson) on hostile files. The first byte picks
// what the rest is:
//   0: the bytes of a whole file. HDF5's own parser meets them: LoadModel must answer with an
//      error naming the file, even where HDF5 itself crashes or hangs (it reads in a child first).
//   1: up to three texts separated by NUL bytes, stored as the attributes model_config,
//      training_config and preprocessing of an otherwise valid model file: our JSON and config
//      readers meet them; a crash there (contained by the child-first read) aborts the target.
// Beyond "no crash, no sanitizer finding": every error names the file; a model that loads
// predicts finite numbers of its output's shape.
#include <hdf5.h>
#include <unistd.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "datasets/preprocessing.h"
#include "layers/dense.h"
#include "layers/embedding.h"
#include "layers/recurrent.h"
#include "layers/sequential.h"
#include "saving/model_file.h"

namespace {

std::string Directory() {
  static const std::string dir = [] {
    std::string pattern =
        std::string(std::getenv("TEST_TMPDIR") ? std::getenv("TEST_TMPDIR") : "/tmp") +
        "/model_file_fuzz.XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) std::abort();
    return pattern;
  }();
  return dir;
}

// A small valid model file (Embedding -> LSTM -> Dense), saved once.
const std::string& Template() {
  static const std::string path = [] {
    layers::Sequential model(1);
    model.Add(layers::Embedding(10, 3, 4, /*mask_zero=*/true));
    model.Add(layers::LSTM(2));
    model.Add(layers::Dense(1, "sigmoid"));
    if (!model.Compile("binary_crossentropy", std::make_unique<autograd::Adam>(), {"acc"}).ok()) {
      std::abort();
    }
    model.set_preprocessing(
        R"({"tokenizer": "imdb", "word_index": {"good": 4}, "num_words": 10, "start_char": 1,)"
        R"( "oov_char": 2, "maxlen": 4, "padding": "pre", "truncating": "pre",)"
        R"( "labels": ["negative", "positive"]})");
    const std::string file = Directory() + "/template.h5";
    if (!saving::SaveModel(model, file).ok()) std::abort();
    return file;
  }();
  return path;
}

void SetAttribute(hid_t file, const char* name, const std::string& value) {
  if (H5Aexists(file, name) > 0) H5Adelete(file, name);
  const hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, value.empty() ? 1 : value.size());
  const hid_t space = H5Screate(H5S_SCALAR);
  const hid_t attribute = H5Acreate2(file, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
  std::string data = value;
  data.resize(value.empty() ? 1 : value.size(), '\0');
  H5Awrite(attribute, type, data.data());
  H5Aclose(attribute);
  H5Sclose(space);
  H5Tclose(type);
}

void WriteFile(const std::string& path, const char* data, size_t size) {
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(data, static_cast<long>(size));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const char* bytes = reinterpret_cast<const char*>(data) + 1;
  const size_t length = size - 1;
  const std::string path = Directory() + "/input.h5";
  if (data[0] % 2 == 0) {
    WriteFile(path, bytes, length);
  } else {
    std::ifstream in(Template(), std::ios::binary);
    const std::string valid((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    WriteFile(path, valid.data(), valid.size());
    std::vector<std::string> texts(1);
    for (size_t i = 0; i < length && texts.size() <= 3; ++i) {
      if (bytes[i] == '\0') {
        texts.emplace_back();
      } else {
        texts.back() += bytes[i];
      }
    }
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    if (file < 0) std::abort();
    const char* names[] = {"model_config", "training_config", "preprocessing"};
    for (size_t i = 0; i < texts.size() && i < 3; ++i) SetAttribute(file, names[i], texts[i]);
    H5Fclose(file);
  }
  absl::StatusOr<std::unique_ptr<layers::Model>> model = saving::LoadModel(path);
  if (!model.ok()) {
    if (model.status().message().find(path) == absl::string_view::npos) std::abort();
    // With a valid HDF5 file (mode 1) HDF5 does not crash: a crash in the child-first read is
    // ours (its sanitizer report is on stderr), and must not pass as a damaged file.
    if (data[0] % 2 == 1 && model.status().code() == absl::StatusCode::kDataLoss) std::abort();
    return 0;
  }
  // What loads works: a prediction of the output's shape, finite (weights are checked finite).
  const layers::Shape& input = (*model)->input_shape();
  size_t values = 1;
  for (size_t axis : input) values *= axis;
  if (values > 0 && values <= 4096) {
    layers::Shape batch = {2};
    batch.insert(batch.end(), input.begin(), input.end());
    absl::StatusOr<layers::Array> predicted =
        (*model)->Predict(layers::Array(xt::zeros<layers::Real>(batch)));
    if (predicted.ok()) {
      for (const layers::Real value : *predicted) {
        if (!std::isfinite(value)) std::abort();
      }
    }
  }
  if (!(*model)->preprocessing().empty()) {
    (void)datasets::TextPreprocessingFromJson((*model)->preprocessing());
  }
  return 0;
}
