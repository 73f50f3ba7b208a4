#include "experiments/toy_data.h"

#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
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
  data.padded_docs = datasets::PadSequences(encoded_docs, 2, datasets::Side::kPre);
  data.padded_docs.reshape({2, 2, 1});
  std::vector<int> label_ids = {encoded_labels[0][0], encoded_labels[1][0]};
  data.one_hot = *datasets::ToCategorical(label_ids, 5);
  std::printf("one_hot_encoded_labels: [%s, %s]\n", FormatRow(&data.one_hot(0, 0), 5).c_str(),
              FormatRow(&data.one_hot(1, 0), 5).c_str());
  return data;
}

}  // namespace experiments
