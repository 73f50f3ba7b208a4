#include "experiments/toy_data.h"

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "autograd/optimizers.h"
#include "datasets/text.h"

namespace experiments {

std::string FormatRow(const autograd::Real* values, size_t count) {
  std::vector<std::string> parts;
  for (size_t i = 0; i < count; ++i) parts.push_back(absl::StrFormat("%.8g", values[i]));
  return absl::StrCat("[", absl::StrJoin(parts, ", "), "]");
}

ToyData MakeToyData() {
  const std::vector<std::string> docs = {"this, is", "is an"};
  const std::vector<std::string> labels = {"an", "example"};
  datasets::WordCounter counts;
  for (const std::vector<std::string>* texts : {&docs, &labels}) {
    for (const std::string& review : *texts) {
      for (absl::string_view word : absl::StrSplit(review, ' ', absl::SkipEmpty())) {
        counts.Add(std::string_view(word.data(), word.size()));
      }
    }
  }
  std::vector<int> word_to_int(counts.size());
  std::vector<std::string> printed;
  const std::vector<int> ranked = counts.RankedIds();
  for (size_t rank = 0; rank < ranked.size(); ++rank) {
    word_to_int[ranked[rank]] = static_cast<int>(rank) + 1;
    printed.push_back(absl::StrFormat("'%s': %d", counts.word(ranked[rank]), rank + 1));
  }
  std::printf("word_to_int: {%s}\n", absl::StrJoin(printed, ", ").c_str());

  const auto encode = [&](const std::vector<std::string>& texts) {
    datasets::Sequences encoded;
    for (const std::string& text : texts) {
      std::vector<int> ids;
      for (absl::string_view word : absl::StrSplit(text, ' ', absl::SkipEmpty())) {
        ids.push_back(word_to_int[counts.Find(std::string_view(word.data(), word.size()))]);
      }
      encoded.push_back(ids);
    }
    return encoded;
  };
  const auto show = [](const datasets::Sequences& sequences) {
    std::vector<std::string> rows;
    for (const auto& s : sequences) rows.push_back(absl::StrCat("[", absl::StrJoin(s, ", "), "]"));
    return absl::StrCat("[", absl::StrJoin(rows, ", "), "]");
  };
  const datasets::Sequences encoded_docs = encode(docs), encoded_labels = encode(labels);
  std::printf("encoded_docs: %s\nencoded_labels: %s\n", show(encoded_docs).c_str(),
              show(encoded_labels).c_str());

  ToyData data;
  // pad documents to a max length of 2 words, then reshape to (2, 2, 1)
  data.padded_docs = *datasets::PadSequences(encoded_docs, 2, datasets::Side::kPre);  // 2 x 2
  data.padded_docs.reshape({2, 2, 1});
  std::vector<int> label_ids = {encoded_labels[0][0], encoded_labels[1][0]};
  data.one_hot = *datasets::ToCategorical(label_ids, 5);
  std::printf("one_hot_encoded_labels: [%s, %s]\n", FormatRow(&data.one_hot(0, 0), 5).c_str(),
              FormatRow(&data.one_hot(1, 0), 5).c_str());
  return data;
}

absl::StatusOr<autograd::Array> TrainToyModel(layers::Sequential& model, const std::string& loss,
                                              const ToyData& data, int epochs) {
  if (absl::Status status = model.Compile(loss, std::make_unique<autograd::Adam>(), {"acc"});
      !status.ok()) {
    return status;
  }
  std::fputs(model.Summary().c_str(), stdout);
  absl::StatusOr<layers::History> history =
      model.Fit(data.padded_docs, data.one_hot, layers::FitOptions().epochs(epochs).verbose(0));
  if (!history.ok()) return history.status();
  std::printf("after %d epochs: loss %.4f - acc %.4f\n", epochs, history->history["loss"].back(),
              history->history["acc"].back());
  // model.predict(padded_docs[0].reshape(1, 2, 1))
  autograd::Array first = autograd::Array::from_shape({1, 2, 1});
  first(0, 0, 0) = data.padded_docs(0, 0, 0);
  first(0, 1, 0) = data.padded_docs(0, 1, 0);
  absl::StatusOr<autograd::Array> predicted = model.Predict(first);
  if (!predicted.ok()) return predicted.status();
  std::printf("inputs of padded_docs[0]: %.0f, %.0f\npredict(padded_docs[0]) = %s\n",
              first(0, 0, 0), first(0, 1, 0), FormatRow(predicted->data(), 5).c_str());
  return predicted;
}

double CompareHandSoftmax(double h, const autograd::Array& kernel, const autograd::Array& bias,
                          const autograd::Array& predicted) {
  double logits[5], total = 0;
  for (size_t k = 0; k < 5; ++k) {
    logits[k] = h * kernel(0, k) + bias(k);
    total += std::exp(logits[k]);
  }
  double max_error = 0;
  autograd::Array hand = autograd::Array::from_shape({5});
  for (size_t k = 0; k < 5; ++k) {
    const double probability = std::exp(logits[k]) / total;
    hand(k) = static_cast<autograd::Real>(probability);
    max_error = std::max(max_error, std::abs(probability - predicted(0, k)));
  }
  std::printf("softmax(h * W_hy + b_y) = %s\n", FormatRow(hand.data(), 5).c_str());
  std::printf("max |hand - predict| = %.3g\n", max_error);
  return max_error;
}

}  // namespace experiments
