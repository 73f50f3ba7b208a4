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

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const experiments::ToyData data = experiments::MakeToyData();

  Sequential model(absl::GetFlag(FLAGS_seed));
  model.Add(SimpleRNN(RecurrentOptions(1).activation("tanh").recurrent_initializer("zeros")),
            {2, 1});
  model.Add(Dense(5, "softmax"));
  if (absl::Status status = model.Compile("categorical_crossentropy",
                                          std::make_unique<autograd::Adam>(), {"acc"});
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

  // model.predict(padded_docs[0].reshape(1, 2, 1))
  Array first = Array::from_shape({1, 2, 1});
  first(0, 0, 0) = data.padded_docs(0, 0, 0);
  first(0, 1, 0) = data.padded_docs(0, 1, 0);
  const Array predicted = *model.Predict(first);
  std::printf("predict(padded_docs[0]) = %s\n", experiments::FormatRow(predicted.data(), 5).c_str());

  // By hand from get_weights(): [W_xh (1, 1), W_hh (1, 1), b_h (1), W_hy (1, 5), b_y (5)].
  const std::vector<Array> w = model.GetWeights();
  const double w_xh = w[0](0, 0), w_hh = w[1](0, 0), b_h = w[2](0);
  std::printf("weights: W_xh %.8g, W_hh %.8g, b_h %.8g\n", w_xh, w_hh, b_h);
  double h = 0;
  for (size_t t = 0; t < 2; ++t) {
    const double x = first(0, t, 0);
    const double pre = x * w_xh + h * w_hh + b_h;
    std::printf("t=%zu: input %.0f, input * W_xh + h * W_hh + b_h = %.8g, h = tanh(.) = %.8g\n", t,
                x, pre, std::tanh(pre));
    h = std::tanh(pre);
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
