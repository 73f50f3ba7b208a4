// Row lookup (the op behind Embedding).
#ifndef AUTOGRAD_INDEXING_H_
#define AUTOGRAD_INDEXING_H_

#include "autograd/tensor.h"

namespace autograd {

// table: [rows, width]; indices: any shape, whole numbers in [0, rows) stored as Real
// -> [indices..., width]. Backward scatter-adds into the rows used (a row used twice gets both
// contributions); the indices get no gradient. An index out of range throws std::out_of_range
// naming it.
Tensor GatherRows(const Tensor& table, const Array& indices);

}  // namespace autograd

#endif  // AUTOGRAD_INDEXING_H_
