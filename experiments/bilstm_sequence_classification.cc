// Bidirectional LSTM for sequence classification of the cumulative-sum problem:
//   model.add(Bidirectional(LSTM(20, return_sequences=True), input_shape=(n_timesteps, 1)))
//   model.add(TimeDistributed(Dense(1, activation='sigmoid')))
#include "experiments/cumsum_experiment.h"

int main(int argc, char** argv) {
  return experiments::RunClassification(
      [](uint64_t seed) {
        return experiments::GetBiLstmModel(experiments::kTimesteps, "concat", seed);
      },
      argc, argv);
}
