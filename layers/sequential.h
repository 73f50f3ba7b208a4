// Keras' Sequential model: a stack of layers, the chain case of Model.
#ifndef LAYERS_SEQUENTIAL_H_
#define LAYERS_SEQUENTIAL_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "layers/layer.h"
#include "layers/model.h"

namespace layers {

// Keras' Sequential model: the chain case of Model (layers/model.h), with today's API: add
// layers, then compile, fit, evaluate, predict and summary as any model.
class Sequential : public Model {
 public:
  explicit Sequential(uint64_t seed = 0, std::string name = "sequential");

  // Appends a layer, naming it as Keras does ("lstm", "lstm_1", ...). The first layer needs
  // input_shape without the batch axis, like Keras' input_shape=(10, 1).
  void Add(LayerPtr layer, Shape input_shape = {});

  // Keras' model.build(): the chain Input -> layers[0] -> ... -> layers[n-1], every layer's
  // weights created from the model's generator in order (errors name the layer). Enough for
  // Predict and saving::SaveWeights; Compile builds too.
  //
  // Keras' masking: a mask made by Embedding(mask_zero=true) or Masking travels through the
  // layers that support masks (an error names the first that does not) until a recurrent layer
  // without return_sequences consumes it. One that reaches the output weights the loss: masked
  // steps contribute nothing, and the divisor stays the count of all steps (tf.keras 2;
  // autograd/losses.h).
  absl::Status Build() override;

  // Keras' summary table (layer, output shape, parameters, totals).
  std::string Summary() const override;
  bool is_sequential() const override { return true; }
  // The input shape without the batch axis (the first layer's).
  const Shape& input_shape() const { return input_shape_; }

 private:
  std::map<std::string, int> names_used_;
  Shape input_shape_;
};

}  // namespace layers

#endif  // LAYERS_SEQUENTIAL_H_
