#include "datasets/preprocessing.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "io/json_nesting.h"
#include "datasets/airline.h"
#include "datasets/imdb.h"
#include "nlohmann/json.hpp"

namespace datasets {
namespace {

using Json = nlohmann::ordered_json;

const char* SideName(Side side) { return side == Side::kPre ? "pre" : "post"; }

}  // namespace

std::string ToJson(const TextPreprocessing& p) {
  Json word_index = Json::object();
  for (size_t r = 0; r < p.words.size(); ++r) {
    word_index[p.words[r]] = p.first_index + static_cast<int>(r);
  }
  Json json = Json::object();
  json["tokenizer"] = p.tokenizer;
  json["word_index"] = word_index;
  json["num_words"] = p.num_words;
  json["start_char"] = p.start_char < 0 ? Json() : Json(p.start_char);
  json["oov_char"] = p.oov_char < 0 ? Json() : Json(p.oov_char);
  json["maxlen"] = p.maxlen;
  json["padding"] = SideName(p.padding);
  json["truncating"] = SideName(p.truncating);
  json["labels"] = p.labels;
  return json.dump();
}

absl::StatusOr<TextPreprocessing> TextPreprocessingFromJson(const std::string& text) {
  if (absl::Status status = io::CheckJsonNesting(text); !status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("preprocessing: ", status.message()));
  }
  const Json json = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  const auto bad = [](const char* key, const std::string& expected) {
    return absl::InvalidArgumentError(
        absl::StrFormat("preprocessing, key '%s': expected (%s)", key, expected));
  };
  if (!json.is_object()) return bad("(document)", "a JSON object");
  TextPreprocessing p;
  const Json tokenizer = json.value("tokenizer", Json());
  if (tokenizer != "imdb" && tokenizer != "airline") return bad("tokenizer", "imdb or airline");
  p.tokenizer = tokenizer.get<std::string>();
  const Json word_index = json.value("word_index", Json());
  if (!word_index.is_object()) return bad("word_index", "an object of word: index");
  // Indices are consecutive from the first, as Keras numbers words by rank.
  for (const auto& [word, index] : word_index.items()) {
    if (!index.is_number_integer() || index.get<int64_t>() < 1 ||
        index.get<int64_t>() > (1 << 30)) {
      return bad("word_index", "positive integer indices");
    }
    if (p.words.empty()) p.first_index = index.get<int>();
    if (index.get<int64_t>() != p.first_index + static_cast<int64_t>(p.words.size())) {
      return bad("word_index", "consecutive indices in rank order");
    }
    p.words.push_back(word);
  }
  const auto integer = [&](const char* key, int64_t low, int64_t high, bool nullable,
                           int64_t* out) -> absl::Status {
    const Json value = json.value(key, Json());
    if (value.is_null() && nullable) {
      *out = -1;
      return absl::OkStatus();
    }
    if (!value.is_number_integer() || value.get<int64_t>() < low || value.get<int64_t>() > high) {
      return bad(
          key, absl::StrFormat("an integer in [%d, %d]%s", low, high, nullable ? " or null" : ""));
    }
    *out = value.get<int64_t>();
    return absl::OkStatus();
  };
  int64_t num_words = 0, start_char = 0, oov_char = 0, maxlen = 0;
  for (const absl::Status& status : {integer("num_words", 0, 1 << 30, false, &num_words),
                                     integer("start_char", 0, 1 << 30, true, &start_char),
                                     integer("oov_char", 0, 1 << 30, true, &oov_char),
                                     integer("maxlen", 1, 1 << 20, false, &maxlen)}) {
    if (!status.ok()) return status;
  }
  p.num_words = static_cast<size_t>(num_words);
  p.start_char = static_cast<int>(start_char);
  p.oov_char = static_cast<int>(oov_char);
  p.maxlen = static_cast<size_t>(maxlen);
  for (const auto& [key, side] :
       {std::pair<const char*, Side*>{"padding", &p.padding}, {"truncating", &p.truncating}}) {
    const Json value = json.value(key, Json());
    if (value != "pre" && value != "post") return bad(key, "pre or post");
    *side = value == "pre" ? Side::kPre : Side::kPost;
  }
  const Json labels = json.value("labels", Json());
  if (!labels.is_array() || labels.empty()) return bad("labels", "a list of class names");
  for (const Json& label : labels) {
    if (!label.is_string()) return bad("labels", "a list of class names");
    p.labels.push_back(label.get<std::string>());
  }
  return p;
}

TextEncoder::TextEncoder(const TextPreprocessing& preprocessing) : preprocessing_(preprocessing) {
  for (size_t r = 0; r < preprocessing_.words.size(); ++r) {
    index_.emplace(preprocessing_.words[r], preprocessing_.first_index + static_cast<int>(r));
  }
}

absl::StatusOr<TextEncoder::Encoded> TextEncoder::Encode(std::string_view text) const {
  if (!ValidUtf8(text)) {
    return absl::InvalidArgumentError("not valid UTF-8 text");
  }
  const std::vector<std::string> words =
      preprocessing_.tokenizer == "imdb" ? TokenizeReview(text) : PreprocessTweet(text);
  Encoded encoded;
  if (preprocessing_.start_char >= 0) encoded.indices.push_back(preprocessing_.start_char);
  for (const std::string& word : words) {
    ++encoded.words;
    auto it = index_.find(word);
    const bool known =
        it != index_.end() &&
        (preprocessing_.num_words == 0 || it->second < static_cast<int>(preprocessing_.num_words));
    if (known) {
      ++encoded.known;
      encoded.indices.push_back(it->second);
    } else if (preprocessing_.oov_char >= 0) {
      encoded.indices.push_back(preprocessing_.oov_char);
    }
  }
  return encoded;
}

}  // namespace datasets
