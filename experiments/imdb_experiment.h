// What the IMDB experiments share: flags with the tutorial's defaults, loading and padding the
// reviews, training and the final "Accuracy: 86.79%" line.
#ifndef EXPERIMENTS_IMDB_EXPERIMENT_H_
#define EXPERIMENTS_IMDB_EXPERIMENT_H_

#include <functional>
#include <memory>

#include "absl/status/statusor.h"
#include "layers/sequential.h"

namespace experiments {

// The tutorial's sizes (overridable by flags).
struct ImdbSizes {
  size_t top_words = 5000;
  size_t max_review_length = 500;
  size_t embedding_vector_length = 32;
  // Embedding(..., mask_zero=mask_zero): the *_masked experiments.
  bool mask_zero = false;
};

using ImdbModelBuilder = std::function<void(layers::Sequential& model, const ImdbSizes& sizes)>;

// Loads and pads the reviews, builds the model with `build` (then compiles it with binary
// cross-entropy, Adam and accuracy), prints its summary, trains it and prints the seconds per
// epoch and the accuracy on all test reviews. Returns the process exit code.
// `masked`: the builder gets mask_zero = true and batches are bucketed by length (fit and
// evaluate); the flag --compare_unmasked then also trains the model without either and prints
// both runs' accuracy and seconds per epoch.
int RunImdb(const ImdbModelBuilder& build, int argc, char** argv, bool masked = false);

}  // namespace experiments

#endif  // EXPERIMENTS_IMDB_EXPERIMENT_H_
