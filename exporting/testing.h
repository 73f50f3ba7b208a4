// What the export tests share: a private directory per test, and random weights (biases too,
// which the initializers leave at zero) so that a wrong weight layout shows.
#ifndef EXPORTING_TESTING_H_
#define EXPORTING_TESTING_H_

#include <cstdint>
#include <string>

#include "layers/model.h"

namespace exporting {

// A fresh directory under the test's private temporary directory (TEST_TMPDIR).
std::string TestTempDir();

// Every weight of every layer uniform in [-0.5, 0.5), the same for the same seed. A weight that
// cannot be set fails the running test.
void RandomizeWeights(layers::Model& model, uint64_t seed);

}  // namespace exporting

#endif  // EXPORTING_TESTING_H_
