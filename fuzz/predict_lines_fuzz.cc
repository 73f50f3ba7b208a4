// libFuzzer target: //tools:predict's line reader and echo, then the text path it feeds
// (TextEncoder, PadSequences), on any standard input. The first byte sets --max_line_bytes (1 to
// 256). Beyond "no crash": the lines account for every byte of the input, none keeps more than the
// limit, an over-long line is an error and no text, and the echo has no tab or line end and a
// bounded length.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "datasets/preprocessing.h"
#include "tools/predict_lines.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t limit = 1 + data[0];
  std::string input(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::FILE* in = fmemopen(input.empty() ? nullptr : input.data(), input.size(), "r");
  if (in == nullptr) return 0;
  static const datasets::TextEncoder* encoder = [] {
    datasets::TextPreprocessing p;
    p.tokenizer = "imdb";
    p.words = {"movie", "a", "good", "bad", "caf\xc3\xa9"};
    p.first_index = 4;
    p.num_words = 8;
    p.start_char = 1;
    p.oov_char = 2;
    p.maxlen = 6;
    return new datasets::TextEncoder(p);
  }();
  size_t lines = 0;
  tools::Text line;
  while (tools::ReadLine(in, limit, line)) {
    ++lines;
    if (line.text.size() > limit) std::abort();
    if (!line.error.empty() && !line.text.empty()) std::abort();
    if (line.text.find('\n') != std::string::npos) std::abort();
    const std::string shown = tools::Shown(line.text);
    if (shown.find_first_of("\t\n\r") != std::string::npos || shown.size() > 2 * 60 + 3) {
      std::abort();
    }
    absl::StatusOr<datasets::TextEncoder::Encoded> encoded = encoder->Encode(line.text);
    if (!encoded.ok()) continue;
    for (int index : encoded->indices) {
      if (index < 0 || index >= 8) std::abort();
    }
    absl::StatusOr<autograd::Array> x = datasets::PadSequences({encoded->indices}, 6);
    if (!x.ok() || x->size() != 6) std::abort();
  }
  std::fclose(in);
  // One line per '\n', and one more for bytes after the last.
  size_t newlines = 0;
  for (char c : input) newlines += c == '\n';
  const bool tail = !input.empty() && input.back() != '\n';
  if (lines != newlines + (tail ? 1 : 0)) std::abort();
  return 0;
}
