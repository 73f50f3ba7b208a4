// What data_parallel_test.sh runs under mpirun -np 2: small models trained data-parallel against
// the same models trained alone in the same process, which every rank can compute.
//  - Equivalence: 8 steps (2 epochs of 4 batches) with global batch 8 give the weights and the
//    losses of 8 steps alone with batch 8, to 1e-6, for LSTM, GRU and Bidirectional models with
//    and without dropout. Rank r's shard is rows 8b + 4r .. 8b + 4r + 3 of every batch b, so that
//    without shuffling its share of batch b is exactly those rows.
//  - TrainOnBatch with unequal shares (3 and 5 rows of 8) and Evaluate on unequal shards (10 and
//    22 of 32) give the whole batch's and the whole set's results.
//  - Errors every rank must agree on come back on every rank (no hang): a batch the ranks
//    cannot share equally, shards of different sizes, a NaN in one rank's shard; and, with the
//    exact message, ranks whose models differ in input shape, in a weight's shape, in the number
//    of weights or in the seed (Fit and TrainOnBatch), whose batch sizes differ, or whose
//    TrainOnBatch gets a NaN on one rank.
// Prints "rank R of N: <check>: ok" per check; exits 1 after any failure.
#include <cmath>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "autograd/optimizers.h"
#include "autograd/random.h"
#include "distributed/communicator.h"
#include "layers/dense.h"
#include "layers/dropout.h"
#include "layers/recurrent.h"
#include "layers/sequential.h"

namespace {

using autograd::Array;
using autograd::Real;
using layers::RecurrentOptions;
using layers::Sequential;

constexpr size_t kSamples = 32, kTime = 5, kFeatures = 3, kBatch = 8;

struct Data {
  Array x, y;
};

// Fixed inputs and labels (the label: is the sum of the first feature positive).
Data MakeData() {
  autograd::Rng rng(2024);
  Data data{Array::from_shape({kSamples, kTime, kFeatures}), Array::from_shape({kSamples, 1})};
  for (size_t i = 0; i < kSamples; ++i) {
    double sum = 0;
    for (size_t t = 0; t < kTime; ++t) {
      for (size_t f = 0; f < kFeatures; ++f) data.x(i, t, f) = static_cast<Real>(rng.Normal());
      sum += data.x(i, t, 0);
    }
    data.y(i, 0) = sum > 0 ? Real(1) : Real(0);
  }
  return data;
}

// Rows `rows` of `data`.
Array Rows(const Array& data, const std::vector<size_t>& rows) {
  std::vector<size_t> shape(data.shape().begin(), data.shape().end());
  const size_t row = data.size() / shape[0];
  shape[0] = rows.size();
  Array out = Array::from_shape(shape);
  for (size_t i = 0; i < rows.size(); ++i) {
    std::copy(data.data() + rows[i] * row, data.data() + (rows[i] + 1) * row, out.data() + i * row);
  }
  return out;
}

std::vector<size_t> Range(size_t begin, size_t end) {
  std::vector<size_t> rows;
  for (size_t i = begin; i < end; ++i) rows.push_back(i);
  return rows;
}

struct ModelCase {
  const char* name;
  std::function<void(Sequential&)> add_layers;
};

std::vector<ModelCase> Cases() {
  const auto recurrent = [](double dropout) {
    return RecurrentOptions(4).dropout(dropout).recurrent_dropout(dropout);
  };
  return {
      {"LSTM",
       [=](Sequential& m) {
         m.Add(layers::LSTM(recurrent(0)), {kTime, kFeatures});
       }},
      {"LSTM with dropout",
       [=](Sequential& m) {
         m.Add(layers::LSTM(recurrent(0.3)), {kTime, kFeatures});
         m.Add(layers::Dropout(0.5));
       }},
      {"GRU",
       [=](Sequential& m) {
         m.Add(layers::GRU(recurrent(0)), {kTime, kFeatures});
       }},
      {"GRU with dropout",
       [=](Sequential& m) {
         m.Add(layers::GRU(recurrent(0.3)), {kTime, kFeatures});
         m.Add(layers::Dropout(0.5));
       }},
      {"Bidirectional(LSTM)",
       [=](Sequential& m) {
         m.Add(layers::Bidirectional(layers::LSTM(recurrent(0)), "concat"), {kTime, kFeatures});
       }},
      {"Bidirectional(GRU) with dropout",
       [=](Sequential& m) {
         m.Add(layers::Dropout(0.2), {kTime, kFeatures});
         m.Add(layers::Bidirectional(layers::GRU(recurrent(0.3)), "sum"));
         m.Add(layers::Dropout(0.5));
       }},
  };
}

std::unique_ptr<Sequential> NewModel(const ModelCase& model_case) {
  auto model = std::make_unique<Sequential>(/*seed=*/11);
  model_case.add_layers(*model);
  model->Add(layers::Dense(1, "sigmoid"));
  absl::Status status =
      model->Compile("binary_crossentropy", std::make_unique<autograd::Adam>(), {"acc"});
  if (!status.ok()) std::fprintf(stderr, "%s\n", std::string(status.message()).c_str());
  return model;
}

// The largest difference between two models' weights, relative to the weight's scale.
double WeightDifference(const Sequential& a, const Sequential& b) {
  const std::vector<Array> wa = a.GetWeights(), wb = b.GetWeights();
  double worst = wa.size() == wb.size() ? 0 : INFINITY;
  for (size_t k = 0; k < wa.size() && k < wb.size(); ++k) {
    for (size_t i = 0; i < wa[k].size(); ++i) {
      const double x = wa[k].data()[i], y = wb[k].data()[i];
      worst = std::max(worst, std::abs(x - y) / std::max(1.0, std::abs(x)));
    }
  }
  return worst;
}

double Relative(double a, double b) { return std::abs(a - b) / std::max(1.0, std::abs(a)); }

}  // namespace

int main() {
  absl::StatusOr<std::unique_ptr<distributed::Communicator>> joined =
      distributed::Communicator::FromEnvironment(
          // Every check takes well under a second: a broken one ends the job instead of hanging.
          {/*collective_timeout=*/absl::Seconds(30)});
  if (!joined.ok()) {
    std::fprintf(stderr, "%s\n", std::string(joined.status().message()).c_str());
    return 1;
  }
  if (*joined == nullptr) {
    std::printf("alone: no MPI job\n");
    return 0;
  }
  std::shared_ptr<distributed::Communicator> world = std::move(*joined);
  const size_t rank = static_cast<size_t>(world->rank()),
               ranks = static_cast<size_t>(world->size());
  bool failed = false;
  const auto report = [&](const std::string& check, bool ok, const std::string& detail) {
    std::printf("rank %zu of %zu: %s: %s%s\n", rank, ranks, check.c_str(), ok ? "ok" : "FAILED",
                detail.empty() ? "" : absl::StrCat(" (", detail, ")").c_str());
    failed |= !ok;
  };
  const Data data = MakeData();
  // This rank's share of every global batch: kBatch / ranks rows at offset rank * kBatch / ranks.
  const size_t share = kBatch / ranks;
  std::vector<size_t> shard_rows;
  for (size_t b = 0; b < kSamples / kBatch; ++b) {
    for (size_t j = 0; j < share; ++j) shard_rows.push_back(b * kBatch + rank * share + j);
  }
  const Array shard_x = Rows(data.x, shard_rows), shard_y = Rows(data.y, shard_rows);
  const layers::FitOptions fit =
      layers::FitOptions().epochs(2).batch_size(kBatch).shuffle(false).verbose(0);

  const std::vector<ModelCase> cases = Cases();
  for (const ModelCase& model_case : cases) {
    std::unique_ptr<Sequential> alone = NewModel(model_case), together = NewModel(model_case);
    together->set_data_parallel(world);
    absl::StatusOr<layers::History> expected = alone->Fit(data.x, data.y, fit);
    absl::StatusOr<layers::History> got = together->Fit(shard_x, shard_y, fit);
    if (!expected.ok() || !got.ok()) {
      report(model_case.name, false,
             std::string((expected.ok() ? got : expected).status().message()));
      continue;
    }
    const double weights = WeightDifference(*alone, *together);
    double losses = 0;
    for (size_t e = 0; e < 2; ++e) {
      losses =
          std::max(losses, Relative(expected->history.at("loss")[e], got->history.at("loss")[e]));
      losses =
          std::max(losses, Relative(expected->history.at("acc")[e], got->history.at("acc")[e]));
    }
    report(
        absl::StrFormat("%s, 8 steps of global batch 8", model_case.name),
        weights <= 1e-6 && losses <= 1e-6,
        absl::StrFormat("weights differ by %.2g, losses and accuracies by %.2g", weights, losses));
  }

  // TrainOnBatch with unequal shares of one batch of 8: rank 0 rows 0-2, rank 1 rows 3-7.
  if (ranks == 2) {
    const ModelCase& model_case = cases[1];  // with dropout: the shares' masks must line up
    std::unique_ptr<Sequential> alone = NewModel(model_case), together = NewModel(model_case);
    together->set_data_parallel(world);
    const std::vector<size_t> mine = rank == 0 ? Range(0, 3) : Range(3, 8);
    double losses = 0;
    bool ok = true;
    for (size_t step = 0; step < 3; ++step) {
      absl::StatusOr<layers::Scores> expected =
          alone->TrainOnBatch(Rows(data.x, Range(0, 8)), Rows(data.y, Range(0, 8)));
      absl::StatusOr<layers::Scores> got =
          together->TrainOnBatch(Rows(data.x, mine), Rows(data.y, mine));
      ok &= expected.ok() && got.ok();
      if (ok) losses = std::max(losses, Relative(expected->loss, got->loss));
    }
    const double weights = WeightDifference(*alone, *together);
    report("TrainOnBatch, shares of 3 and 5 rows", ok && weights <= 1e-6 && losses <= 1e-6,
           absl::StrFormat("weights differ by %.2g, losses by %.2g", weights, losses));

    // Evaluate on unequal shards: rank 0 rows 0-9, rank 1 rows 10-31.
    const std::vector<size_t> rows = rank == 0 ? Range(0, 10) : Range(10, kSamples);
    absl::StatusOr<layers::Scores> whole = alone->Evaluate(data.x, data.y, 8);
    absl::StatusOr<layers::Scores> shards =
        together->Evaluate(Rows(data.x, rows), Rows(data.y, rows), 8);
    ok = whole.ok() && shards.ok();
    report("Evaluate, shards of 10 and 22",
           ok && Relative(whole->loss, shards->loss) <= 1e-6 &&
               Relative(whole->accuracy, shards->accuracy) <= 1e-6,
           ok ? absl::StrFormat("loss %.7f and %.7f, accuracy %.4f and %.4f", whole->loss,
                                shards->loss, whole->accuracy, shards->accuracy)
              : "an error");

    // Errors that every rank must see alike.
    std::unique_ptr<Sequential> model = NewModel(model_case);
    model->set_data_parallel(world);
    absl::StatusOr<layers::History> odd =
        model->Fit(shard_x, shard_y, layers::FitOptions().batch_size(7).verbose(0));
    report("batch_size 7 on 2 ranks is refused",
           !odd.ok() && odd.status().message().find("not a multiple of the 2 processes") !=
                            std::string::npos,
           odd.ok() ? "accepted" : std::string(odd.status().message()));
    const std::vector<size_t> uneven = rank == 0 ? Range(0, 16) : Range(16, 30);
    absl::StatusOr<layers::History> unequal = model->Fit(
        Rows(data.x, uneven), Rows(data.y, uneven), layers::FitOptions().batch_size(8).verbose(0));
    report("shards of 16 and 14 samples are refused",
           !unequal.ok() && unequal.status().message().find(
                                "samples in the shard, but have 16, 14") != std::string::npos,
           unequal.ok() ? "accepted" : std::string(unequal.status().message()));
    // A NaN in rank 1's shard: its own error there, and rank 0 stops too instead of waiting.
    Array bad_x = shard_x;
    if (rank == 1) bad_x(2, 1, 0) = NAN;
    absl::StatusOr<layers::History> bad =
        model->Fit(bad_x, shard_y, layers::FitOptions().batch_size(8).verbose(0));
    const std::string expected = rank == 1 ? "fit: x holds nan at [2, 1, 0]"
                                           : "fit: rank 1 of the job cannot train on its shard";
    report("a NaN in rank 1's shard stops both ranks",
           !bad.ok() && bad.status().message().find(expected) != std::string::npos,
           bad.ok() ? "accepted" : std::string(bad.status().message()));

    // Replicas that differ: the same error on every rank, naming what differs, instead of a hang,
    // MPI_ERR_TRUNCATE or replicas that silently train apart.
    const auto make = [&](size_t units, size_t time, uint64_t seed, bool extra_dense) {
      auto model = std::make_unique<Sequential>(seed);
      model->Add(layers::LSTM(RecurrentOptions(units)), {time, kFeatures});
      if (extra_dense) model->Add(layers::Dense(3));
      model->Add(layers::Dense(1, "sigmoid"));
      absl::Status status =
          model->Compile("binary_crossentropy", std::make_unique<autograd::Adam>(), {"acc"});
      if (!status.ok()) std::fprintf(stderr, "%s\n", std::string(status.message()).c_str());
      model->set_data_parallel(world);
      return model;
    };
    const auto refused = [&](const std::string& check, const absl::Status& status,
                             const std::string& expected) {
      report(check, !status.ok() && status.message() == expected,
             status.ok() ? "accepted" : std::string(status.message()));
    };
    const layers::FitOptions quiet = layers::FitOptions().batch_size(8).verbose(0);
    const bool one = rank == 1;
    Array longer_x = Array::from_shape({shard_x.shape()[0], kTime + 1, kFeatures});
    longer_x.fill(0);
    refused("an input shape of (6, 3) on rank 1 is refused",
            make(4, one ? kTime + 1 : kTime, 11, false)
                ->Fit(one ? longer_x : shard_x, shard_y, quiet)
                .status(),
            "fit: the 2 processes of the job must agree on the input shape, but have (5, 3), "
            "(6, 3) (rank 0, 1, ...): build the same model, for inputs of the same shape, on "
            "every rank");
    refused("LSTM(5) on rank 1 is refused",
            make(one ? 5 : 4, kTime, 11, false)->Fit(shard_x, shard_y, quiet).status(),
            "fit: the 2 processes of the job must agree on the shape of weight "
            "'lstm/lstm_cell/kernel:0' (1 of 5), but have (3, 16), (3, 20) (rank 0, 1, ...): "
            "build the same model on every rank");
    refused("one more Dense on rank 1 is refused",
            make(4, kTime, 11, one)->Fit(shard_x, shard_y, quiet).status(),
            "fit: the 2 processes of the job must agree on the weights, but have 5 arrays of 133 "
            "values, 7 arrays of 147 values (rank 0, 1, ...): build the same model on every rank");
    refused("seed 12 on rank 1 is refused",
            make(4, kTime, one ? 12 : 11, false)->Fit(shard_x, shard_y, quiet).status(),
            "fit: the 2 processes of the job must agree on the seed (the random generator's "
            "state), but have 11, 12 (rank 0, 1, ...): make every rank's model with the same "
            "seed");
    std::unique_ptr<Sequential> drawn = make(4, kTime, 11, false);
    if (one) drawn->rng().Uniform();  // the same seed, but one draw more
    absl::Status drew = drawn->Fit(shard_x, shard_y, quiet).status();
    const std::string prefix =
        "fit: the 2 processes of the job must agree on the seed (the random generator's state), "
        "but have 11 #";
    report("one more draw from rank 1's generator is refused",
           !drew.ok() && drew.message().substr(0, prefix.size()) == prefix,
           drew.ok() ? "accepted" : std::string(drew.message()));
    refused("batch_size 5 on rank 1 and 8 on rank 0 are refused",
            make(4, kTime, 11, false)
                ->Fit(shard_x, shard_y, layers::FitOptions().batch_size(one ? 5 : 8).verbose(0))
                .status(),
            "fit: the 2 processes of the job must agree on the batch_size, but have 8, 5 "
            "(rank 0, 1, ...): give every rank an equal shard and the same options");
    refused("TrainOnBatch: seed 12 on rank 1 is refused",
            make(4, kTime, one ? 12 : 11, false)
                ->TrainOnBatch(Rows(data.x, Range(0, 4)), Rows(data.y, Range(0, 4)))
                .status(),
            "train_on_batch: the 2 processes of the job must agree on the seed (the random "
            "generator's state), but have 11, 12 (rank 0, 1, ...): make every rank's model with "
            "the same seed");
    Array bad_batch = Rows(data.x, Range(0, 4));
    if (one) bad_batch(1, 2, 0) = INFINITY;
    refused("TrainOnBatch: an infinity in rank 1's batch stops both ranks",
            make(4, kTime, 11, false)->TrainOnBatch(bad_batch, Rows(data.y, Range(0, 4))).status(),
            one ? "train_on_batch: x holds inf at [1, 2, 0] (the first index is the sample): "
                  "remove or repair that sample"
                : "train_on_batch: rank 1 of the job cannot train on its batch (its own error "
                  "says why), so no rank does");
  }
  return failed ? 1 : 0;
}
