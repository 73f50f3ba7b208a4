// What the airline-tweet experiments share: loading and preparing Tweets.csv as the book does,
// the 70/30 split, training with validation on the test split every epoch, the loss and accuracy
// curves (CSV and PNG), and the final "Accuracy: 89.12%" line.
#ifndef EXPERIMENTS_AIRLINE_EXPERIMENT_H_
#define EXPERIMENTS_AIRLINE_EXPERIMENT_H_

#include <functional>
#include <string>

#include "layers/sequential.h"

namespace experiments {

// Adds the layers after the Embedding is known: `vocabulary` is the number of distinct words + 1
// (index 0 pads) and `length` the padded tweet length (the longest tweet unless capped).
using AirlineModelBuilder =
    std::function<void(layers::Sequential& model, size_t vocabulary, size_t length)>;

// `name` names the output files; `default_epochs` is the book's. Returns the exit code.
int RunAirline(const std::string& name, int default_epochs, const AirlineModelBuilder& build,
               int argc, char** argv);

}  // namespace experiments

#endif  // EXPERIMENTS_AIRLINE_EXPERIMENT_H_
