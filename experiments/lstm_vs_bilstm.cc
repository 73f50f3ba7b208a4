// LSTM forwards, LSTM backwards and a concatenating BiLSTM, compared by loss per epoch:
//   results['lstm_forw'] = train_model(get_lstm_model(n_timesteps, False), n_timesteps)
//   results['lstm_back'] = train_model(get_lstm_model(n_timesteps, True), n_timesteps)
//   results['bilstm_con'] = train_model(get_bi_lstm_model(n_timesteps, 'concat'), n_timesteps)
//   results.plot()
#include "experiments/cumsum_experiment.h"

using experiments::GetBiLstmModel;
using experiments::GetLstmModel;
using experiments::kTimesteps;

int main(int argc, char** argv) {
  return experiments::RunComparison(
      "lstm_vs_bilstm", "Log loss: LSTM, reversed LSTM and bidirectional LSTM",
      {
          {"lstm_forw", [](uint64_t seed) { return GetLstmModel(kTimesteps, false, seed); }},
          {"lstm_back", [](uint64_t seed) { return GetLstmModel(kTimesteps, true, seed); }},
          {"bilstm_con", [](uint64_t seed) { return GetBiLstmModel(kTimesteps, "concat", seed); }},
      },
      argc, argv);
}
