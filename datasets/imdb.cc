#include "datasets/imdb.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "autograd/random.h"
#include "datasets/files.h"

namespace datasets {
namespace {

namespace fs = std::filesystem;

bool IsWordByte(unsigned char c) { return std::isalnum(c) || c == '\'' || c >= 0x80; }

struct ReviewFile {
  fs::path path;
  long id;
};

// The review files of one folder, in numeric id order, or an error naming the folder.
absl::StatusOr<std::vector<ReviewFile>> ListReviews(const fs::path& folder) {
  std::error_code error;
  if (!fs::is_directory(folder, error)) {
    return absl::NotFoundError(absl::StrFormat("missing folder %s", folder.string()));
  }
  std::vector<ReviewFile> files;
  for (const fs::directory_entry& entry : fs::directory_iterator(folder, error)) {
    if (entry.path().extension() != ".txt") continue;
    const std::string stem = entry.path().stem().string();
    files.push_back({entry.path(), std::strtol(stem.c_str(), nullptr, 10)});
  }
  if (error) {
    return absl::UnavailableError(
        absl::StrFormat("cannot list %s: %s", folder.string(), error.message()));
  }
  if (files.empty()) {
    return absl::NotFoundError(absl::StrFormat("no reviews (*.txt) in %s", folder.string()));
  }
  std::sort(files.begin(), files.end(), [](const ReviewFile& a, const ReviewFile& b) {
    return a.id != b.id ? a.id < b.id : a.path < b.path;
  });
  return files;
}

absl::StatusOr<std::string> ReadReview(const fs::path& path) {
  absl::StatusOr<std::string> review = ReadRegularFile(path.string());
  if (!review.ok()) {
    return absl::Status(review.status().code(),
                        absl::StrCat(review.status().message(),
                                     ": only regular files are reviews; remove it, or delete the "
                                     "aclImdb folder and fetch it again (tools/fetch_data.sh)"));
  }
  if (!ValidUtf8(*review)) {
    return absl::DataLossError(absl::StrFormat(
        "%s is not valid UTF-8: replace the file with an intact copy (tools/fetch_data.sh)",
        path.string()));
  }
  return review;
}

// Calls `visit(text, label)` for every review of one split: neg (0) first, then pos (1), each
// in id order.
absl::Status ReadSplit(const fs::path& dir, const std::string& split,
                       const std::function<void(std::string& text, int label)>& visit) {
  for (const auto& [label_name, label] : {std::pair<const char*, int>{"neg", 0}, {"pos", 1}}) {
    absl::StatusOr<std::vector<ReviewFile>> files = ListReviews(dir / split / label_name);
    if (!files.ok()) return files.status();
    for (const ReviewFile& file : *files) {
      absl::StatusOr<std::string> text = ReadReview(file.path);
      if (!text.ok()) return text.status();
      visit(*text, label);
    }
  }
  return absl::OkStatus();
}

void Shuffle(LabelledSequences& split, uint64_t seed) {
  autograd::Rng rng(seed);
  for (size_t i = split.labels.size(); i > 1; --i) {
    const size_t j = rng.Below(i);
    std::swap(split.sequences[i - 1], split.sequences[j]);
    std::swap(split.labels[i - 1], split.labels[j]);
  }
}

}  // namespace

void ForEachWord(std::string& text, const std::function<void(std::string_view)>& visit) {
  for (size_t at = text.find("<br />"); at != std::string::npos; at = text.find("<br />", at)) {
    text.replace(at, 6, 6, ' ');
  }
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && !IsWordByte(text[i])) ++i;
    size_t end = i;
    while (end < text.size() && IsWordByte(text[end])) ++end;
    // Apostrophes only inside a word.
    size_t first = i, last = end;
    while (first < last && text[first] == '\'') ++first;
    while (last > first && text[last - 1] == '\'') --last;
    if (first < last) visit(std::string_view(text).substr(first, last - first));
    i = end;
  }
}

std::vector<std::string> TokenizeReview(std::string_view text) {
  std::string copy(text);
  std::vector<std::string> words;
  ForEachWord(copy, [&](std::string_view word) { words.emplace_back(word); });
  return words;
}

absl::StatusOr<ImdbData> LoadImdb(const std::string& dir, const ImdbOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  const auto fail = [&](const absl::Status& status) {
    return absl::Status(status.code(),
                        absl::StrCat("IMDB data in '", dir, "': ", status.message(),
                                     ". Fetch it with: bazel run //tools:fetch_data -- --from "
                                     "../shared/data imdb (or pass --data_dir)"));
  };
  // Training reviews as first-seen word ids while counting; indices are known only at the end.
  WordCounter counter;
  LabelledSequences train;
  absl::Status status = ReadSplit(dir, "train", [&](std::string& text, int label) {
    std::vector<int> ids;
    ForEachWord(text, [&](std::string_view word) { ids.push_back(counter.Add(word)); });
    train.sequences.push_back(std::move(ids));
    train.labels.push_back(label);
  });
  if (!status.ok()) return fail(status);

  // index[id] = the word's Keras index (rank + index_from), or oov_char past num_words.
  std::vector<int> index(counter.size());
  const std::vector<int> ranked = counter.RankedIds();
  for (size_t rank = 0; rank < ranked.size(); ++rank) {
    const int keras_index = static_cast<int>(rank) + 1 + options.index_from;
    index[ranked[rank]] =
        options.num_words != 0 && keras_index >= static_cast<int>(options.num_words)
            ? options.oov_char
            : keras_index;
  }
  ImdbData data;
  for (size_t rank = 0; rank < ranked.size(); ++rank) {
    if (index[ranked[rank]] == options.oov_char) break;
    data.words.push_back(counter.word(ranked[rank]));
  }
  data.train.labels = std::move(train.labels);
  for (const std::vector<int>& ids : train.sequences) {
    std::vector<int> sequence = {options.start_char};
    for (int id : ids) sequence.push_back(index[id]);
    data.train.sequences.push_back(std::move(sequence));
  }
  status = ReadSplit(dir, "test", [&](std::string& text, int label) {
    std::vector<int> sequence = {options.start_char};
    ForEachWord(text, [&](std::string_view word) {
      const int id = counter.Find(word);
      sequence.push_back(id < 0 ? options.oov_char : index[id]);
    });
    data.test.sequences.push_back(std::move(sequence));
    data.test.labels.push_back(label);
  });
  if (!status.ok()) return fail(status);
  data.vocabulary_size = counter.size();
  Shuffle(data.train, options.seed);
  Shuffle(data.test, options.seed);
  data.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return data;
}

std::string DefaultDataDirectory() {
  if (const char* dir = std::getenv("SEQLEARN_DATA_DIR"); dir != nullptr && *dir) return dir;
  if (const char* root = std::getenv("BUILD_WORKSPACE_DIRECTORY"); root != nullptr && *root) {
    return absl::StrCat(root, "/data");
  }
  return "data";
}

}  // namespace datasets
