// Speed of the IMDB models on this machine, in one run:
//  0. the processor, the GEMM library and its kernel set;
//  1. sgemm throughput on the LSTM's own matrix shapes (the peak a step can reach),
//  2. the FLOPs of one training step of imdb_lstm (batch 64, 500 steps: forward, backward, Adam),
//  3. the median time of that step after warm-up, as a fraction of the peak, and the projected
//     seconds per epoch; the same for the CNN variant; and inference in reviews per second;
//  4. oneDNN's LSTM primitive on the same layer (forward_training + backward; forward_inference),
//     the best CPU RNN implementation we can run, against our whole step:
//     "imdb_lstm train step: 0.070 s; oneDNN LSTM layer alone: 0.077 s; ratio 1.10";
//  5. the same imdb_lstm built with the Functional API, timed in the same turns:
//     "imdb_lstm train step, Functional API: 0.084 s (Sequential: 0.084 s)", and built again as
//     Sequential, the yardstick of how far two identical models differ on this machine;
//  6. int8 inference (dynamic quantization) against float32 at batch 64 and 256:
//     "imdb_lstm inference: int8 5200 reviews/s, float32 2450 reviews/s (2.12x) (batch 64; ...)"
//     (format only: the figures are issue 22's targets)
//     (--int8_only: only this);
//  7. the imdb_lstm training step under Keras' mixed_bfloat16 policy against float32, in turns,
//     with oneDNN's float32 LSTM layer beside them, and which path the bfloat16 products took, in
//     this format (the figures are issue 22's targets, not a measurement):
//     "imdb_lstm train step: bfloat16 0.040 s, float32 0.084 s (0.48x); oneDNN LSTM layer alone
//     (float32): 0.103 s" (--bfloat16_only: only this). Where the processor has neither
//     AVX512-BF16 nor AMX it says so instead: the policy runs float32 there.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <vector>

#include "absl/flags/flag.h"
#include "autograd/blas.h"
#include "autograd/optimizers.h"
#include "autograd/quantized.h"
#include "autograd/random.h"
#include "autograd/runtime.h"
#include "experiments/command_line.h"
#include "layers/convolutional.h"
#include "layers/dense.h"
#include "layers/embedding.h"
#include "layers/functional.h"
#include "layers/model.h"
#include "layers/recurrent.h"
#include "layers/sequential.h"
#include "tools/onednn_lstm.h"

using Repeats = experiments::IntIn<1, 1000>;
using Threads = experiments::IntIn<0, 1024>;
ABSL_FLAG(Repeats, repeats, Repeats{11},
          "timed rounds of each measurement, 1 to 1000 (the median is printed)");
ABSL_FLAG(Threads, threads, Threads{0}, "compute threads, 0 to 1024 (0: every core)");
ABSL_FLAG(bool, int8_only, false, "time only int8 against float32 inference");
ABSL_FLAG(bool, bfloat16_only, false,
          "time only the mixed_bfloat16 training step against float32 (the last lines)");

namespace {

using autograd::Array;
using autograd::Real;

constexpr size_t kBatch = 64, kTime = 500, kEmbedding = 32, kUnits = 100, kVocabulary = 5000;
constexpr size_t kTrainReviews = 25000;

// Seconds of each of `repeats` runs of `work` after one warm-up run, sorted.
std::vector<double> Times(const std::function<void()>& work, int repeats) {
  work();
  std::vector<double> times;
  for (int r = 0; r < repeats; ++r) {
    const auto start = std::chrono::steady_clock::now();
    work();
    times.push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(times.begin(), times.end());
  return times;
}

// The peak: the fastest run (noise only ever slows a run down).
double BestSeconds(const std::function<void()>& work, int repeats) {
  return Times(work, repeats).front();
}

// One GEMM shape of an LSTM training step and how often a step runs it.
struct GemmShape {
  const char* what;
  bool transpose_a, transpose_b;
  size_t m, n, k, count;
  double Flops() const { return 2.0 * m * n * k * count; }
};

// The GEMMs of LstmSequence forward and backward for `time` steps of `input_dim` features.
std::vector<GemmShape> LstmGemms(size_t time, size_t input_dim) {
  const size_t rows = kBatch * time, gates = 4 * kUnits;
  return {
      {"x @ W (all steps)", false, false, rows, gates, input_dim, 1},
      {"h @ U (per step)", false, false, kBatch, gates, kUnits, time},
      {"dz @ U^T (per step)", false, false, kBatch, kUnits, gates, time},  // U^T stored
      {"h^T @ dz (dU)", true, false, kUnits, gates, rows, 1},
      {"x^T @ dz (dW)", true, false, input_dim, gates, rows, 1},
      {"dz @ W^T (dx)", false, true, rows, input_dim, gates, 1},
  };
}

// Seconds that the GEMMs alone take at best, measured one shape at a time.
double GemmSeconds(const std::vector<GemmShape>& shapes, int repeats, bool print) {
  double total = 0;
  for (const GemmShape& s : shapes) {
    const size_t a_rows = s.transpose_a ? s.k : s.m, a_cols = s.transpose_a ? s.m : s.k;
    const size_t b_rows = s.transpose_b ? s.n : s.k, b_cols = s.transpose_b ? s.k : s.n;
    autograd::Rng rng(1);
    const Array a = autograd::RandomUniform({a_rows, a_cols}, -1, 1, rng);
    const Array b = autograd::RandomUniform({b_rows, b_cols}, -1, 1, rng);
    Array c = Array::from_shape({s.m, s.n});
    const size_t inner = std::max<size_t>(1, s.count / 50);  // time tiny products in bunches
    const double seconds =
        BestSeconds(
            [&] {
              for (size_t i = 0; i < inner; ++i) {
                autograd::blas::Gemm(s.transpose_a, s.transpose_b, s.m, s.n, s.k, Real(1), a.data(),
                                     a_cols, b.data(), b_cols, Real(0), c.data(), s.n);
              }
            },
            repeats) /
        inner;
    total += seconds * s.count;
    if (print) {
      std::printf("  sgemm %-20s %5zu x %5zu x %5zu  x%-4zu %6.1f GFLOP/s\n", s.what, s.m, s.n, s.k,
                  s.count, 2.0 * s.m * s.n * s.k / seconds / 1e9);
    }
  }
  return total;
}

double TotalFlops(const std::vector<GemmShape>& shapes) {
  double flops = 0;
  for (const GemmShape& s : shapes) flops += s.Flops();
  return flops;
}

struct Batch {
  Array x, y;
};

Batch RandomBatch(size_t count) {
  autograd::Rng rng(2);
  Batch batch{Array::from_shape({count, kTime}), Array::from_shape({count, size_t{1}})};
  for (Real& index : batch.x) index = static_cast<Real>(rng.Below(kVocabulary));
  for (Real& label : batch.y) label = static_cast<Real>(rng.Below(2));
  return batch;
}

// Prints a model's step figures: FLOPs, the sgemm peak on its shapes, the step as a fraction of it.
void Report(const char* name, double step, const std::vector<GemmShape>& gemms, double extra_flops,
            int repeats) {
  const double flops = TotalFlops(gemms) + extra_flops;
  const double peak = TotalFlops(gemms) / GemmSeconds(gemms, repeats, false);
  const size_t steps_per_epoch = (kTrainReviews + kBatch - 1) / kBatch;
  std::printf("%s: %.2f GFLOP per step, sgemm peak on its shapes %.1f GFLOP/s\n", name, flops / 1e9,
              peak / 1e9);
  std::printf("%s train step: %.3f s, %.0f%% of peak, %.0f s/epoch\n", name, step,
              100 * flops / step / peak, step * steps_per_epoch);
}

// Medians of each piece of work's seconds, measured in turns: one warm-up run of each, then
// `repeats` rounds in which every piece runs once.
std::vector<double> InterleavedMedians(const std::vector<std::function<void()>>& works,
                                       int repeats) {
  std::vector<std::vector<double>> times(works.size());
  for (const auto& work : works) work();
  for (int r = 0; r < repeats; ++r) {
    for (size_t w = 0; w < works.size(); ++w) {
      const auto start = std::chrono::steady_clock::now();
      works[w]();
      times[w].push_back(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
  }
  std::vector<double> medians;
  for (std::vector<double>& t : times) {
    std::sort(t.begin(), t.end());
    medians.push_back(t[t.size() / 2]);
  }
  return medians;
}

// oneDNN's LSTM layer on the IMDB shapes, with small random weights, inputs and output gradients.
tools::OneDnnLstm MakeOneDnnLstm() {
  tools::OneDnnLstm lstm(kBatch, kTime, kEmbedding, kUnits);
  autograd::Rng rng(3);
  const auto values = [&](size_t n, double limit) {
    const Array a = autograd::RandomUniform({n}, -limit, limit, rng);
    return std::vector<float>(a.begin(), a.end());
  };
  lstm.SetWeights(values(kEmbedding * 4 * kUnits, 0.1), values(kUnits * 4 * kUnits, 0.1),
                  values(4 * kUnits, 0.1));
  lstm.SetInput(values(kBatch * kTime * kEmbedding, 0.05));
  lstm.SetOutputGradient(values(kBatch * kTime * kUnits, 1e-3));
  return lstm;
}

// int8 inference (dynamic quantization, layers/model.h) against float32: the same model on the
// same batches of 64 and 256 reviews, in turns.
void TimeInt8Inference(layers::Model& lstm, int repeats) {
  if (!autograd::HasInt8Dot()) {
    std::printf("imdb_lstm inference: int8 not timed: this processor lacks VNNI (%s)\n",
                autograd::ProcessorName().c_str());
    return;
  }
  const Batch batch = RandomBatch(kBatch), large = RandomBatch(4 * kBatch);
  const auto predict = [&](bool int8, const Batch& b) {
    return [&lstm, &b, int8] {
      lstm.set_int8_inference(int8);
      lstm.Predict(b.x, b.x.shape()[0]).IgnoreError();
      lstm.set_int8_inference(false);
    };
  };
  const std::vector<double> inference = InterleavedMedians(
      {predict(true, batch), predict(false, batch), predict(true, large), predict(false, large)},
      repeats);
  for (size_t k = 0; k < 2; ++k) {
    const double rows = k == 0 ? kBatch : 4 * kBatch;
    const double int8 = rows / inference[2 * k], float32 = rows / inference[2 * k + 1];
    std::printf(
        "imdb_lstm inference: int8 %.0f reviews/s, float32 %.0f reviews/s (%.2fx) (batch %.0f; "
        "%s)\n",
        int8, float32, int8 / float32, rows, autograd::ProcessorName().c_str());
  }
}

// Sets the mixed precision policy.
void SetPrecision(autograd::Precision precision) {
  autograd::RuntimeOptions runtime = autograd::CurrentRuntime();
  runtime.precision = precision;
  autograd::ConfigureRuntime(runtime);
}

// The imdb_lstm training step under mixed_bfloat16 against float32 and oneDNN's float32 LSTM
// layer, in turns. With --mixed_precision=mixed_bfloat16_anywhere, also where oneDNN emulates
// bfloat16 (said in the line: that path is slower than float32).
void TimeBfloat16Training(layers::Model& lstm, tools::OneDnnLstm& onednn, int repeats) {
  const autograd::Precision saved = autograd::CurrentRuntime().precision;
  const autograd::Precision bfloat16 = saved == autograd::Precision::kMixedBfloat16Anywhere
                                           ? saved
                                           : autograd::Precision::kMixedBfloat16;
  const std::string fallback = autograd::PrecisionFallback(bfloat16);
  if (!fallback.empty()) {
    std::printf("imdb_lstm train step: bfloat16 not timed: %s\n", fallback.c_str());
    return;
  }
  const Batch batch = RandomBatch(kBatch);
  const auto step = [&](autograd::Precision precision) {
    return [&lstm, &batch, precision] {
      SetPrecision(precision);
      lstm.TrainOnBatch(batch.x, batch.y).IgnoreError();
    };
  };
  const auto settle = [&] { lstm.Predict(batch.x, kBatch).IgnoreError(); };
  const std::vector<double> medians =
      InterleavedMedians({step(bfloat16), step(autograd::Precision::kFloat32),
                          [&] {
                            onednn.ForwardTraining();
                            onednn.Backward();
                          },
                          settle},
                         repeats);
  SetPrecision(saved);
  const bool emulated = !autograd::HasNativeBfloat16();
  std::printf("bfloat16 products: oneDNN matmul on bfloat16 operands, float32 sums, %s (%s)\n",
              emulated ? "emulated on AVX-512 (no AVX512-BF16 or AMX here)" : "natively",
              autograd::GemmLibraryName().c_str());
  std::printf(
      "imdb_lstm train step: bfloat16%s %.3f s, float32 %.3f s (%.2fx); oneDNN LSTM layer alone "
      "(float32): %.3f s (%s)\n",
      emulated ? " (emulated)" : "", medians[0], medians[1], medians[0] / medians[1], medians[2],
      autograd::ProcessorName().c_str());
}

}  // namespace

int main(int argc, char** argv) {
  experiments::ParseCommandLine(
      argc, argv, "Times an imdb_lstm training step and inference against oneDNN's LSTM.");
  const int repeats = static_cast<int>(absl::GetFlag(FLAGS_repeats).value);
  const int threads = static_cast<int>(absl::GetFlag(FLAGS_threads).value);
  autograd::RuntimeOptions runtime = autograd::CurrentRuntime();
  runtime.threads = threads;
  autograd::ConfigureRuntime(runtime);
  std::printf("processor: %s\n", autograd::ProcessorName().c_str());
  std::printf("GEMM: %s\n", autograd::GemmLibraryName().c_str());
  std::printf("denormals flushed: %s; batch %zu, %zu steps, LSTM(%zu) on %zu features\n",
              autograd::CurrentRuntime().flush_denormals ? "yes" : "no", kBatch, kTime, kUnits,
              kEmbedding);

  const std::vector<GemmShape> gemms = LstmGemms(kTime, kEmbedding);
  const double gemm_seconds = GemmSeconds(gemms, repeats, true);
  std::printf("sgemm peak on the LSTM's shapes: %.1f GFLOP/s (%.3f s for one step's GEMMs)\n",
              TotalFlops(gemms) / gemm_seconds / 1e9, gemm_seconds);

  layers::Sequential lstm(7);
  lstm.Add(layers::Embedding(kVocabulary, kEmbedding, kTime));
  lstm.Add(layers::LSTM(kUnits));
  lstm.Add(layers::Dense(1, "sigmoid"));
  // The same network built twice as Sequential: how far two identical models differ here (where
  // the heap put their weights, the machine's noise) is the yardstick for the Functional figure.
  layers::Sequential lstm_again(7);
  lstm_again.Add(layers::Embedding(kVocabulary, kEmbedding, kTime));
  lstm_again.Add(layers::LSTM(kUnits));
  lstm_again.Add(layers::Dense(1, "sigmoid"));
  layers::Sequential cnn_lstm(7);
  cnn_lstm.Add(layers::Embedding(kVocabulary, kEmbedding, kTime));
  cnn_lstm.Add(layers::Conv1D(32, 3, "same", "relu"));
  cnn_lstm.Add(layers::MaxPooling1D(2));
  cnn_lstm.Add(layers::LSTM(kUnits));
  cnn_lstm.Add(layers::Dense(1, "sigmoid"));
  // The same network through the Functional API, trained in the same turns.
  layers::KerasTensor inputs = layers::Input({kTime});
  layers::KerasTensor outputs = layers::Dense(1, "sigmoid")(
      layers::LSTM(kUnits)(layers::Embedding(kVocabulary, kEmbedding, kTime)(inputs)));
  layers::Model functional({inputs}, {outputs}, 7);
  for (layers::Model* model : std::initializer_list<layers::Model*>{&lstm, &cnn_lstm, &functional, &lstm_again}) {
    const absl::Status status =
        model->Compile("binary_crossentropy", std::make_unique<autograd::Adam>(), {"acc"});
    if (!status.ok()) {
      std::fprintf(stderr, "bench_imdb: %s\n", std::string(status.message()).c_str());
      return 1;
    }
  }
  if (absl::GetFlag(FLAGS_int8_only)) {
    TimeInt8Inference(lstm, repeats);
    return 0;
  }
  tools::OneDnnLstm onednn = MakeOneDnnLstm();
  if (absl::GetFlag(FLAGS_bfloat16_only)) {
    TimeBfloat16Training(lstm, onednn, repeats);
    return 0;
  }
  const Batch batch = RandomBatch(kBatch);

  // The machine is shared and noisy: the measurements take turns, round after round, so that a
  // slow moment hits all of them alike, and each figure is a median over the rounds.
  // After a call, oneDNN's OpenMP threads spin on both cores for a while and slowed whatever ran
  // next by up to 40%: an untimed (ignored) inference of ours follows each oneDNN turn.
  const auto settle = [&] { lstm.Predict(batch.x, kBatch).IgnoreError(); };
  const std::vector<double> medians =
      InterleavedMedians({
                             [&] { lstm.TrainOnBatch(batch.x, batch.y).IgnoreError(); },
                             [&] { cnn_lstm.TrainOnBatch(batch.x, batch.y).IgnoreError(); },
                             [&] {
                               onednn.ForwardTraining();
                               onednn.Backward();
                             },
                             settle,
                             [&] { lstm.Predict(batch.x, kBatch).IgnoreError(); },
                             [&] { onednn.ForwardInference(); },
                             settle,
                             [&] { functional.TrainOnBatch(batch.x, batch.y).IgnoreError(); },
                             [&] { lstm_again.TrainOnBatch(batch.x, batch.y).IgnoreError(); },
                         },
                         repeats);
  const double lstm_step = medians[0], cnn_step = medians[1], onednn_step = medians[2];
  const double lstm_reviews_per_second = kBatch / medians[4];
  const double onednn_reviews_per_second = kBatch / medians[5];

  // Dense and Adam are negligible next to the LSTM: counted all the same.
  Report("imdb_lstm", lstm_step, gemms, 2.0 * 3 * kBatch * kUnits + 10.0 * lstm.CountParams(),
         repeats);
  std::vector<GemmShape> cnn = LstmGemms(kTime / 2, 32);
  const size_t conv_rows = kBatch * kTime, window = 3 * kEmbedding;
  cnn.push_back({"conv forward", false, false, conv_rows, 32, window, 1});
  cnn.push_back({"conv d kernel", true, false, window, 32, conv_rows, 1});
  cnn.push_back({"conv d input", false, true, conv_rows, window, 32, 1});
  Report("imdb_cnn_lstm", cnn_step, cnn, 10.0 * cnn_lstm.CountParams(), repeats);
  std::printf("imdb_cnn_lstm step / imdb_lstm step: %.2f\n", cnn_step / lstm_step);
  std::printf("imdb_lstm train step: %.3f s; oneDNN LSTM layer alone: %.3f s; ratio %.2f\n",
              lstm_step, onednn_step, onednn_step / lstm_step);
  std::printf("imdb_lstm train step, Functional API: %.3f s (Sequential: %.3f s)\n", medians[7],
              lstm_step);
  std::printf("imdb_lstm train step, the same Sequential built again: %.3f s\n", medians[8]);
  std::printf(
      "imdb_lstm inference: %.0f reviews/s; oneDNN LSTM layer alone: %.0f reviews/s; "
      "ratio %.2f (batch %zu)\n",
      lstm_reviews_per_second, onednn_reviews_per_second,
      lstm_reviews_per_second / onednn_reviews_per_second, kBatch);

  TimeInt8Inference(lstm, repeats);
  TimeBfloat16Training(lstm, onednn, repeats);
  return 0;
}
