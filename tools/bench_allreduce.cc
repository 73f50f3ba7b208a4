// What data-parallel imdb_lstm exchanges per step, measured and modelled:
//  1. the bytes of its one allreduce per step (every gradient, a flag per weight, the loss and
//     accuracy sums), from the model itself;
//  2. under mpirun, the median time of that allreduce on this job's ranks (on one machine:
//     shared memory), both as the Communicator runs it (MPI_Iallreduce polled with MPI_Test under
//     the collective timeout) and as a blocking MPI_Allreduce (no timeout), in alternating rounds;
//  3. a ring allreduce's time for N machines on a network of --gbits Gb/s with --latency_us per
//     message: 2 (N - 1) / N x bytes / bandwidth + 2 (N - 1) x latency.
//   mpirun --allow-run-as-root -np 2 bazel-bin/tools/bench_allreduce
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "absl/flags/flag.h"
#include "autograd/optimizers.h"
#include "autograd/runtime.h"
#include "distributed/communicator.h"
#include "experiments/command_line.h"
#include "layers/dense.h"
#include "layers/embedding.h"
#include "layers/recurrent.h"
#include "layers/sequential.h"

using Repeats = experiments::IntIn<1, 100000>;
ABSL_FLAG(Repeats, repeats, Repeats{20},
          "timed rounds of 10 allreduces each way, 1 to 100000 (the medians are printed)");
ABSL_FLAG(double, gbits, 10, "network bandwidth of the model, in Gb/s");
ABSL_FLAG(double, latency_us, 50, "latency of one message of the model, in microseconds");

int main(int argc, char** argv) {
  experiments::AllowMpiJobs();
  experiments::ParseCommandLine(argc, argv,
                                "Bytes and time of data-parallel imdb_lstm's allreduce.");
  absl::StatusOr<std::unique_ptr<distributed::Communicator>> joined =
      distributed::Communicator::FromEnvironment();
  if (!joined.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(joined.status().message()).c_str());
    return 1;
  }
  distributed::Communicator* world = joined->get();
  const bool chief = world == nullptr || world->rank() == 0;

  layers::Sequential model;
  model.Add(layers::Embedding(5000, 32, 500));
  model.Add(layers::LSTM(100));
  model.Add(layers::Dense(1, "sigmoid"));
  if (absl::Status status = model.Build(); !status.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(status.message()).c_str());
    return 1;
  }
  const size_t values = model.CountParams() + model.Parameters().size() + 3;
  const double bytes = static_cast<double>(values * sizeof(float));
  if (chief) {
    std::printf("Processor: %s\n", autograd::ProcessorName().c_str());
    std::printf(
        "imdb_lstm: %zu parameters in %zu arrays; one allreduce per step of %zu floats "
        "= %.0f bytes\n",
        model.CountParams(), model.Parameters().size(), values, bytes);
  }
  if (world != nullptr) {
    std::vector<float> buffer(values, 1.0f);
    // Rounds of 10 allreduces each way, alternating, so that both see the same machine load.
    const absl::Duration timeout = world->collective_timeout();
    std::vector<double> times[2];  // [0]: with the timeout, [1]: blocking
    for (int r = 0; r <= absl::GetFlag(FLAGS_repeats).value; ++r) {
      for (int blocking = 0; blocking < 2; ++blocking) {
        world->set_collective_timeout(blocking ? absl::InfiniteDuration() : timeout);
        for (int k = 0; k < 10; ++k) {
          const auto start = std::chrono::steady_clock::now();
          if (absl::Status status = world->AllreduceSum(buffer.data(), values); !status.ok()) {
            world->Abort(status);
          }
          if (r > 0) {  // the first round is warm-up
            times[blocking].push_back(
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
          }
          std::fill(buffer.begin(), buffer.end(), 1.0f);
        }
      }
    }
    world->set_collective_timeout(timeout);
    for (int blocking = 0; blocking < 2; ++blocking) {
      std::vector<double>& t = times[blocking];
      std::sort(t.begin(), t.end());
      if (chief) {
        std::printf(
            "measured on %d ranks of this machine, %s: median %.3f ms per allreduce "
            "(%.2f GB/s of buffer per second; 10%% %.3f ms, 90%% %.3f ms)\n",
            world->size(),
            blocking ? "blocking MPI_Allreduce (no timeout)"
                     : "MPI_Iallreduce + MPI_Test (collective timeout)",
            1e3 * t[t.size() / 2], bytes / t[t.size() / 2] / 1e9, 1e3 * t[t.size() / 10],
            1e3 * t[t.size() * 9 / 10]);
      }
    }
  }
  if (chief) {
    const double bandwidth = absl::GetFlag(FLAGS_gbits) * 1e9 / 8;  // bytes per second
    const double latency = absl::GetFlag(FLAGS_latency_us) * 1e-6;
    std::printf("ring allreduce model, %.0f Gb/s, %.0f us per message:\n",
                absl::GetFlag(FLAGS_gbits), absl::GetFlag(FLAGS_latency_us));
    std::printf("%10s %12s %12s %12s\n", "machines", "bytes/rank", "bandwidth", "total");
    for (int n : {2, 4, 8, 16, 64, 256}) {
      const double moved = 2.0 * (n - 1) / n * bytes;
      const double time = moved / bandwidth + 2.0 * (n - 1) * latency;
      std::printf("%10d %12.0f %10.2f ms %9.2f ms\n", n, moved, 1e3 * moved / bandwidth,
                  1e3 * time);
    }
  }
  return 0;
}
