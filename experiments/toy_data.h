// The book's toy data for the from-scratch walk-throughs:
//   docs = ['this, is', 'is an']; labels = ['an', 'example']
// Word indices from Counter over docs + labels split on spaces (so 'this,' keeps its comma),
// encoded docs padded 'pre' to 2 and reshaped to (2, 2, 1); labels one-hot over 5 classes.
#ifndef EXPERIMENTS_TOY_DATA_H_
#define EXPERIMENTS_TOY_DATA_H_

#include <string>

#include "absl/status/statusor.h"
#include "autograd/tensor.h"
#include "layers/sequential.h"

namespace experiments {

struct ToyData {
  autograd::Array padded_docs;  // [2, 2, 1]
  autograd::Array one_hot;      // [2, 5]
};

// Builds the data and prints word_to_int, encoded_docs, encoded_labels and the one-hot labels
// as the book does.
ToyData MakeToyData();

// Compiles `model` with `loss`, Adam and "acc", prints its summary, fits it on the toy data for
// `epochs` (one batch of both documents), prints the final loss, and returns
// model.predict(padded_docs[0]) ([1, 5]), printed too.
absl::StatusOr<autograd::Array> TrainToyModel(layers::Sequential& model, const std::string& loss,
                                              const ToyData& data, int epochs);

// The Dense(5, softmax) output recomputed by hand from the last hidden state h and the Dense
// weights (kernel [1, 5], bias [5]); prints it and "max |hand - predict| = ...", returns the
// largest difference from `predicted` ([1, 5]).
double CompareHandSoftmax(double h, const autograd::Array& kernel, const autograd::Array& bias,
                          const autograd::Array& predicted);

// "[0.3684635, 0.33566403, ...]"
std::string FormatRow(const autograd::Real* values, size_t count);

}  // namespace experiments

#endif  // EXPERIMENTS_TOY_DATA_H_
