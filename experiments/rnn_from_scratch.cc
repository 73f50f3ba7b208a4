// "Building an RNN from scratch": a SimpleRNN on the book's toy data, then its prediction
// recomputed by hand from the weights, step by step:
//   model.add(SimpleRNN(1, activation='tanh', return_sequences=False,
//                       recurrent_initializer='Zeros', input_shape=(2, 1)))
//   model.add(Dense(5, activation='softmax'))
//   model.compile(optimizer='adam', loss='categorical_crossentropy', metrics=['acc'])
//   model.fit(padded_docs, one_hot_encoded_labels, epochs=500)
#include <cmath>
#include <cstdio>

#include "absl/flags/flag.h"
#include "experiments/command_line.h"
#include "experiments/toy_data.h"
#include "layers/dense.h"
#include "layers/recurrent.h"
#include "layers/sequential.h"

using Epochs = experiments::IntIn<1, 1000000>;
ABSL_FLAG(Epochs, epochs, Epochs{500}, "training epochs, 1 to 1000000");
ABSL_FLAG(uint64_t, seed, 7, "random seed for the weights");

using namespace layers;
using autograd::Array;

int main(int argc, char** argv) {
  experiments::ParseCommandLine(
      argc, argv, "A SimpleRNN on the book's toy data, then its prediction recomputed by hand.");
  const experiments::ToyData data = experiments::MakeToyData();

  Sequential model(absl::GetFlag(FLAGS_seed));
  model.Add(SimpleRNN(RecurrentOptions(1).activation("tanh").recurrent_initializer("zeros")),
            {2, 1});
  model.Add(Dense(5, "softmax"));
  absl::StatusOr<Array> predicted = experiments::TrainToyModel(
      model, "categorical_crossentropy", data, static_cast<int>(absl::GetFlag(FLAGS_epochs).value));
  if (!predicted.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(predicted.status().message()).c_str());
    return 1;
  }

  // By hand from get_weights(): [W_xh (1, 1), W_hh (1, 1), b_h (1), W_hy (1, 5), b_y (5)].
  const std::vector<Array> w = model.GetWeights();
  const double w_xh = w[0](0, 0), w_hh = w[1](0, 0), b_h = w[2](0);
  std::printf("weights: W_xh %.8g, W_hh %.8g, b_h %.8g\n", w_xh, w_hh, b_h);
  double h = 0;
  for (size_t t = 0; t < 2; ++t) {
    const double x = data.padded_docs(0, t, 0);
    const double pre = x * w_xh + h * w_hh + b_h;
    std::printf("t=%zu: input %.0f, input * W_xh + h * W_hh + b_h = %.8g, h = tanh(.) = %.8g\n", t,
                x, pre, std::tanh(pre));
    h = std::tanh(pre);
  }
  const double max_error = experiments::CompareHandSoftmax(h, w[3], w[4], *predicted);
  return max_error < 1e-6 ? 0 : 1;
}
