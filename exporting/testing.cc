#include "exporting/testing.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdio>
#include <cstdlib>
#include <vector>

#include "absl/strings/str_cat.h"
#include "autograd/random.h"

namespace exporting {

std::string TestTempDir() {
  const char* root = std::getenv("TEST_TMPDIR");
  std::string pattern = absl::StrCat(root != nullptr ? root : "/tmp", "/export_XXXXXX");
  if (mkdtemp(pattern.data()) == nullptr) {
    std::fprintf(stderr, "TestTempDir: mkdtemp(%s) failed\n", pattern.c_str());
    std::abort();
  }
  return pattern;
}

void RandomizeWeights(layers::Model& model, uint64_t seed) {
  autograd::Rng rng(seed);
  for (const layers::LayerPtr& layer : model.layers()) {
    std::vector<layers::Array> values = layer->GetWeights();
    for (layers::Array& value : values) {
      value = autograd::RandomUniform(layers::Shape(value.shape().begin(), value.shape().end()),
                                      -0.5, 0.5, rng);
    }
    const absl::Status status = layer->SetWeights(values);
    EXPECT_TRUE(status.ok()) << layer->name() << ": " << status;
  }
}

}  // namespace exporting
