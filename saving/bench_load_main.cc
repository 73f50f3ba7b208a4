// What reading a model file first in a forked child (hdf5::ReadInChildFirst) costs per load:
// LoadModel's median time on a small and a large model file, with the child and without it (the
// way a process of an Open MPI job of several ranks loads: OMPI_COMM_WORLD_SIZE > 1 skips the
// child). Writes its files into a new temporary directory and removes them.
//   bazel run //saving:bench_load [-- LOADS]
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "layers/dense.h"
#include "layers/embedding.h"
#include "layers/recurrent.h"
#include "layers/sequential.h"
#include "saving/model_file.h"

namespace {

// Median milliseconds of `loads` calls of LoadModel(path).
double MedianLoadMs(const std::string& path, int loads) {
  std::vector<double> times;
  for (int i = 0; i < loads; ++i) {
    const auto start = std::chrono::steady_clock::now();
    if (!saving::LoadModel(path).ok()) {
      std::fprintf(stderr, "bench_load: cannot load %s\n", path.c_str());
      std::exit(1);
    }
    times.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
            .count());
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

std::string Save(const std::string& dir, const char* name, size_t vocabulary, size_t embedding,
                 size_t length, size_t units) {
  layers::Sequential model(1);
  model.Add(layers::Embedding(vocabulary, embedding, length));
  model.Add(layers::LSTM(units));
  model.Add(layers::Dense(1, "sigmoid"));
  if (!model.Compile("binary_crossentropy", std::make_unique<autograd::Adam>(), {"acc"}).ok()) {
    std::exit(1);
  }
  const std::string path = dir + "/" + name + ".h5";
  if (!saving::SaveModel(model, path).ok()) std::exit(1);
  return path;
}

}  // namespace

int main(int argc, char** argv) {
  const int loads = argc > 1 ? std::max(1, std::atoi(argv[1])) : 21;
  char pattern[] = "/tmp/bench_load.XXXXXX";
  if (mkdtemp(pattern) == nullptr) return 1;
  const std::string dir = pattern;
  const std::vector<std::pair<const char*, std::string>> files = {
      {"small (Embedding(100, 8) -> LSTM(16) -> Dense, Adam)", Save(dir, "small", 100, 8, 10, 16)},
      {"large (Embedding(20000, 128) -> LSTM(256) -> Dense, Adam)",
       Save(dir, "large", 20000, 128, 500, 256)},
  };
  for (const auto& [name, path] : files) {
    FILE* file = std::fopen(path.c_str(), "rb");
    std::fseek(file, 0, SEEK_END);
    const long bytes = std::ftell(file);
    std::fclose(file);
    unsetenv("OMPI_COMM_WORLD_SIZE");
    const double with_child = MedianLoadMs(path, loads);
    setenv("OMPI_COMM_WORLD_SIZE", "2", 1);
    const double without_child = MedianLoadMs(path, loads);
    unsetenv("OMPI_COMM_WORLD_SIZE");
    std::printf(
        "%s, %ld bytes: LoadModel %.2f ms with the child, %.2f ms without: the child "
        "costs %.2f ms per load (median of %d)\n",
        name, bytes, with_child, without_child, with_child - without_child, loads);
    unlink(path.c_str());
  }
  rmdir(dir.c_str());
  return 0;
}
