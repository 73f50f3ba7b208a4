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
#include "absl/flags/parse.h"
#include "autograd/optimizers.h"
#include "experiments/toy_data.h"
#include "layers/dense.h"
#include "layers/recurrent.h"
#include "layers/sequential.h"

ABSL_FLAG(int, epochs, 500, "training epochs");
ABSL_FLAG(uint64_t, seed, 7, "random seed for the weights");

using namespace layers;
using autograd::Array;

namespace {
double Sigmoid(double z) { return 1 / (1 + std::exp(-z)); }
}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const experiments::ToyData data = experiments::MakeToyData();

  Sequential model(absl::GetFlag(FLAGS_seed));
  model.Add(LSTM(RecurrentOptions(1)
                     .activation("tanh")
                     .recurrent_initializer("zeros")
                     .recurrent_activation("sigmoid")),
            {2, 1});
  model.Add(Dense(5, "softmax"));
  // The book trains this one with binary cross-entropy on the softmax output.
  if (absl::Status status =
          model.Compile("binary_crossentropy", std::make_unique<autograd::Adam>(), {"acc"});
      !status.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(status.message()).c_str());
    return 1;
  }
  std::fputs(model.Summary().c_str(), stdout);
  absl::StatusOr<History> history =
      model.Fit(data.padded_docs, data.one_hot, FitOptions().epochs(absl::GetFlag(FLAGS_epochs)).verbose(0));
  if (!history.ok()) return 1;
  std::printf("after %d epochs: loss %.4f - acc %.4f\n", absl::GetFlag(FLAGS_epochs),
              history->history["loss"].back(), history->history["acc"].back());

  Array first = Array::from_shape({1, 2, 1});
  first(0, 0, 0) = data.padded_docs(0, 0, 0);
  first(0, 1, 0) = data.padded_docs(0, 1, 0);
  const Array predicted = *model.Predict(first);
  std::printf("predict(padded_docs[0]) = %s\n", experiments::FormatRow(predicted.data(), 5).c_str());

  // get_weights(): kernel (1, 4), recurrent_kernel (1, 4), bias (4), gates in the order
  // input, forget, cell, output; then the Dense kernel (1, 5) and bias (5).
  const std::vector<Array> w = model.GetWeights();
  std::printf("kernel %s\nrecurrent_kernel %s\nbias %s\n",
              experiments::FormatRow(w[0].data(), 4).c_str(),
              experiments::FormatRow(w[1].data(), 4).c_str(),
              experiments::FormatRow(w[2].data(), 4).c_str());
  double h = 0, c = 0;
  for (size_t t = 0; t < 2; ++t) {
    const double x = first(0, t, 0);
    const auto pre = [&](size_t gate) { return x * w[0](0, gate) + h * w[1](0, gate) + w[2](gate); };
    const double input_gate = Sigmoid(pre(0)), forget_gate = Sigmoid(pre(1));
    const double candidate = std::tanh(pre(2)), output_gate = Sigmoid(pre(3));
    c = forget_gate * c + input_gate * candidate;
    h = output_gate * std::tanh(c);
    std::printf("t=%zu: input %.0f | input gate %.8g | forget gate %.8g | cell candidate %.8g | "
                "output gate %.8g | c %.8g | h %.8g\n",
                t, x, input_gate, forget_gate, candidate, output_gate, c, h);
  }
  double logits[5], total = 0;
  for (size_t k = 0; k < 5; ++k) {
    logits[k] = h * w[3](0, k) + w[4](k);
    total += std::exp(logits[k]);
  }
  double max_error = 0;
  Array hand = Array::from_shape({5});
  for (size_t k = 0; k < 5; ++k) {
    hand(k) = static_cast<autograd::Real>(std::exp(logits[k]) / total);
    max_error = std::max(max_error, std::abs(std::exp(logits[k]) / total - predicted(0, k)));
  }
  std::printf("softmax(h * W_hy + b_y) = %s\n", experiments::FormatRow(hand.data(), 5).c_str());
  std::printf("max |hand - predict| = %.3g\n", max_error);
  return max_error < 1e-6 ? 0 : 1;
}
