// What the four cumulative-sum experiments share: the tutorial's model builders (get_lstm_model,
// get_bi_lstm_model), its train_model loop, and the command-line flags.
#ifndef EXPERIMENTS_CUMSUM_EXPERIMENT_H_
#define EXPERIMENTS_CUMSUM_EXPERIMENT_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/declare.h"
#include "absl/status/statusor.h"
#include "absl/types/optional.h"
#include "autograd/random.h"
#include "experiments/command_line.h"
#include "layers/sequential.h"

ABSL_DECLARE_FLAG(uint64_t, seed);
namespace experiments {
using CumsumEpochs = IntIn<1, 1000000>;
using Repeats = IntIn<1, 1000>;
}  // namespace experiments

ABSL_DECLARE_FLAG(absl::optional<experiments::CumsumEpochs>, epochs);
ABSL_DECLARE_FLAG(experiments::Repeats, repeats);
ABSL_DECLARE_FLAG(std::string, out_dir);

namespace experiments {

// The tutorial's sequences have 10 steps.
inline constexpr size_t kTimesteps = 10;

// LSTM(20, return_sequences, go_backwards) -> TimeDistributed(Dense(1, sigmoid)); binary
// cross-entropy, Adam, metric "acc".
absl::StatusOr<std::unique_ptr<layers::Sequential>> GetLstmModel(size_t n_timesteps, bool backwards,
                                                                 uint64_t seed);
// Bidirectional(LSTM(20, return_sequences), merge_mode) -> TimeDistributed(Dense(1, sigmoid)).
absl::StatusOr<std::unique_ptr<layers::Sequential>> GetBiLstmModel(size_t n_timesteps,
                                                                   const std::string& mode,
                                                                   uint64_t seed);

// Wall-clock time spent inside fit, and how many one-sample steps it ran.
struct TrainingClock {
  double seconds = 0;
  size_t steps = 0;
  std::string Describe() const;
};

// The tutorial's train_model: `epochs` times, fit one fresh sequence for one epoch (batch 1);
// returns the loss of each epoch. `on_epoch` (optional) sees each epoch's history.
absl::StatusOr<std::vector<double>> TrainModel(
    layers::Sequential& model, size_t n_timesteps, int epochs, autograd::Rng& data,
    TrainingClock& clock,
    const std::function<void(int epoch, const layers::History&)>& on_epoch = nullptr);

// lstm_sequence_classification and bilstm_sequence_classification: train for --epochs (default
// 1000) printing each epoch's loss and accuracy, then predict the classes of a new sequence.
int RunClassification(
    const std::function<absl::StatusOr<std::unique_ptr<layers::Sequential>>(uint64_t seed)>&
        get_model,
    int argc, char** argv);

// lstm_vs_bilstm and merge_modes: train each named model for --epochs (default 250), averaged
// over --repeats runs, then write <stem>.csv and <stem>.png and summarise the curves.
struct Candidate {
  std::string name;
  std::function<absl::StatusOr<std::unique_ptr<layers::Sequential>>(uint64_t seed)> get_model;
};
int RunComparison(const std::string& stem, const std::string& title,
                  const std::vector<Candidate>& candidates, int argc, char** argv);

}  // namespace experiments

#endif  // EXPERIMENTS_CUMSUM_EXPERIMENT_H_
