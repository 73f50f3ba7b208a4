// The four Bidirectional merge modes compared by loss per epoch (the main job):
//   results['bilstm_sum'] = train_model(get_bi_lstm_model(n_timesteps, 'sum'), n_timesteps)
//   results['bilstm_mul'] = train_model(get_bi_lstm_model(n_timesteps, 'mul'), n_timesteps)
//   results['bilstm_ave'] = train_model(get_bi_lstm_model(n_timesteps, 'ave'), n_timesteps)
//   results['bilstm_con'] = train_model(get_bi_lstm_model(n_timesteps, 'concat'), n_timesteps)
//   results.plot()
#include "experiments/cumsum_experiment.h"

using experiments::GetBiLstmModel;
using experiments::kTimesteps;

int main(int argc, char** argv) {
  return experiments::RunComparison(
      "merge_modes", "Log loss of bidirectional LSTMs by merge mode",
      {
          {"bilstm_sum", [](uint64_t seed) { return GetBiLstmModel(kTimesteps, "sum", seed); }},
          {"bilstm_mul", [](uint64_t seed) { return GetBiLstmModel(kTimesteps, "mul", seed); }},
          {"bilstm_ave", [](uint64_t seed) { return GetBiLstmModel(kTimesteps, "ave", seed); }},
          {"bilstm_con", [](uint64_t seed) { return GetBiLstmModel(kTimesteps, "concat", seed); }},
      },
      argc, argv);
}
