// "Building an LSTM from scratch": an LSTM on the book's toy data, then its prediction recomputed
// gate by gate from the weights:
//   model.add(LSTM(1, activation='tanh', return_sequences=False, recurrent_initializer='Zeros',
//                  recurrent_activation='sigmoid', input_shape=(2, 1)))
//   model.add(Dense(5, activation='softmax'))
//   model.compile(optimizer='adam', loss='binary_crossentropy', metrics=['acc'])
//   model.fit(padded_docs.reshape(2, 2, 1), one_hot_encoded_labels, epochs=500)
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

namespace {
double Sigmoid(double z) { return 1 / (1 + std::exp(-z)); }
}  // namespace

int main(int argc, char** argv) {
  experiments::ParseCommandLine(
      argc, argv, "An LSTM on the book's toy data, then its prediction recomputed gate by gate.");
  const experiments::ToyData data = experiments::MakeToyData();

  Sequential model(absl::GetFlag(FLAGS_seed));
  model.Add(LSTM(RecurrentOptions(1)
                     .activation("tanh")
                     .recurrent_initializer("zeros")
                     .recurrent_activation("sigmoid")),
            {2, 1});
  model.Add(Dense(5, "softmax"));
  // The book trains this one with binary cross-entropy on the softmax output.
  absl::StatusOr<Array> predicted = experiments::TrainToyModel(
      model, "binary_crossentropy", data, static_cast<int>(absl::GetFlag(FLAGS_epochs).value));
  if (!predicted.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(predicted.status().message()).c_str());
    return 1;
  }

  // get_weights(): kernel (1, 4), recurrent_kernel (1, 4), bias (4), gates in the order
  // input, forget, cell, output; then the Dense kernel (1, 5) and bias (5).
  const std::vector<Array> w = model.GetWeights();
  std::printf("kernel %s\nrecurrent_kernel %s\nbias %s\n",
              experiments::FormatRow(w[0].data(), 4).c_str(),
              experiments::FormatRow(w[1].data(), 4).c_str(),
              experiments::FormatRow(w[2].data(), 4).c_str());
  double h = 0, c = 0;
  for (size_t t = 0; t < 2; ++t) {
    const double x = data.padded_docs(0, t, 0);
    const auto pre = [&](size_t gate) {
      return x * w[0](0, gate) + h * w[1](0, gate) + w[2](gate);
    };
    const double input_gate = Sigmoid(pre(0)), forget_gate = Sigmoid(pre(1));
    const double candidate = std::tanh(pre(2)), output_gate = Sigmoid(pre(3));
    c = forget_gate * c + input_gate * candidate;
    h = output_gate * std::tanh(c);
    std::printf(
        "t=%zu: input %.0f | input gate %.8g | forget gate %.8g | cell candidate %.8g | "
        "output gate %.8g | c %.8g | h %.8g\n",
        t, x, input_gate, forget_gate, candidate, output_gate, c, h);
  }
  const double max_error = experiments::CompareHandSoftmax(h, w[3], w[4], *predicted);
  return max_error < 1e-6 ? 0 : 1;
}
