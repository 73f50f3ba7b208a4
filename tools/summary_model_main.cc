// Writes the model files summary_test.sh looks into: summary_model_main DIR writes
//   DIR/sequential.h5  a compiled Sequential (Embedding, LSTM, Dense), trained one epoch
//   DIR/graph.h5       two inputs, two outputs, a shared layer; compiled with a loss per output
//                      and loss_weights {1, 0.5}, not trained
//   DIR/plain.h5       a graph of inputs of any length, with a mask; not compiled
#include <cstdio>
#include <memory>
#include <string>

#include "layers/dense.h"
#include "layers/embedding.h"
#include "layers/functional.h"
#include "layers/model.h"
#include "layers/recurrent.h"
#include "layers/sequential.h"
#include "saving/model_file.h"

namespace {

layers::LayerPtr Named(layers::LayerPtr layer, const std::string& name) {
  layer->set_name(name);
  return layer;
}

bool Check(const absl::Status& status) {
  if (!status.ok()) std::fprintf(stderr, "summary_model_main: %s\n", status.ToString().c_str());
  return status.ok();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: summary_model_main DIR\n");
    return 2;
  }
  const std::string dir = argv[1];
  using layers::KerasTensor;
  layers::Sequential sequential(5);
  sequential.Add(layers::Embedding(20, 4, 6));
  sequential.Add(layers::LSTM(3));
  sequential.Add(layers::Dense(1, "sigmoid"));
  if (!Check(sequential.Compile("binary_crossentropy", std::make_unique<autograd::Adam>(),
                                {"acc"}))) {
    return 1;
  }
  layers::Array x = layers::Array::from_shape({4, 6}), y = layers::Array::from_shape({4, 1});
  for (size_t i = 0; i < x.size(); ++i) x.data()[i] = static_cast<layers::Real>(i % 20);
  for (size_t i = 0; i < y.size(); ++i) y.data()[i] = static_cast<layers::Real>(i % 2);
  if (!Check(sequential.Fit(x, y, layers::FitOptions().epochs(1).verbose(0)).status()) ||
      !Check(saving::SaveModel(sequential, dir + "/sequential.h5"))) {
    return 1;
  }

  KerasTensor left = layers::Input({4}, "left"), right = layers::Input({4}, "right");
  layers::LayerPtr shared = Named(layers::Dense(3, "tanh"), "shared");
  layers::Model graph({left, right},
                      {Named(layers::Dense(1), "a")(shared(left)),
                       Named(layers::Dense(1), "b")(shared(right))},
                      1, "two_heads");
  if (!Check(graph.Compile(std::vector<std::string>{"mse", "mse"},
                           std::make_unique<autograd::Adam>(), {}, {1.0, 0.5})) ||
      !Check(saving::SaveModel(graph, dir + "/graph.h5"))) {
    return 1;
  }

  KerasTensor words = layers::Input({layers::kVaries}, "words");
  KerasTensor embedded = Named(layers::Embedding(10, 2, 0, /*mask_zero=*/true), "embedding")(words);
  layers::Model plain({words},
                      {Named(layers::Dense(1), "dense")(Named(layers::GRU(2), "gru")(embedded))},
                      2, "plain");
  return Check(saving::SaveModel(plain, dir + "/plain.h5")) ? 0 : 1;
}
