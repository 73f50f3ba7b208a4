// LSTM for sequence classification of the cumulative-sum problem (the tutorial's first listing):
//   model = Sequential()
//   model.add(LSTM(20, input_shape=(n_timesteps, 1), return_sequences=True))
//   model.add(TimeDistributed(Dense(1, activation='sigmoid')))
//   model.compile(loss='binary_crossentropy', optimizer='adam', metrics=['acc'])
//   for epoch in range(1000): X, y = get_sequence(n_timesteps); model.fit(X, y, epochs=1, ...)
#include "experiments/cumsum_experiment.h"

int main(int argc, char** argv) {
  return experiments::RunClassification(
      [](uint64_t seed) {
        return experiments::GetLstmModel(experiments::kTimesteps, /*backwards=*/false, seed);
      },
      argc, argv);
}
