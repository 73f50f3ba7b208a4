// The book's toy data for the from-scratch walk-throughs:
//   docs = ['this, is', 'is an']; labels = ['an', 'example']
// Word indices from Counter over docs + labels split on spaces (so 'this,' keeps its comma),
// encoded docs padded 'pre' to 2 and reshaped to (2, 2, 1); labels one-hot over 5 classes.
#ifndef EXPERIMENTS_TOY_DATA_H_
#define EXPERIMENTS_TOY_DATA_H_

#include "autograd/tensor.h"

namespace experiments {

struct ToyData {
  autograd::Array padded_docs;  // [2, 2, 1]
  autograd::Array one_hot;      // [2, 5]
};

// Builds the data and prints word_to_int, encoded_docs, encoded_labels and the one-hot labels
// as the book does.
ToyData MakeToyData();

// "[0.3684635, 0.33566403, ...]"
std::string FormatRow(const autograd::Real* values, size_t count);

}  // namespace experiments

#endif  // EXPERIMENTS_TOY_DATA_H_
