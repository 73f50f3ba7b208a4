// libFuzzer target: the IMDB text path on any bytes: the strict UTF-8 check (against a decoder
// written independently here, by arithmetic instead of the standard's byte table), the
// tokenizer's rules, and the word ranking built from its words.
#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "datasets/imdb.h"
#include "datasets/text.h"

namespace {

// Decodes one code point at a time and rejects what Unicode forbids: bad lead or continuation
// bytes, overlong forms (a value below the smallest of its length), surrogates, values above
// U+10FFFF.
bool ReferenceValidUtf8(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    const unsigned char lead = static_cast<unsigned char>(text[i]);
    size_t length;
    uint32_t value;
    if (lead < 0x80) {
      ++i;
      continue;
    } else if ((lead >> 5) == 0x6) {
      length = 2;
      value = lead & 0x1f;
    } else if ((lead >> 4) == 0xe) {
      length = 3;
      value = lead & 0x0f;
    } else if ((lead >> 3) == 0x1e) {
      length = 4;
      value = lead & 0x07;
    } else {
      return false;
    }
    if (i + length > text.size()) return false;
    for (size_t k = 1; k < length; ++k) {
      const unsigned char next = static_cast<unsigned char>(text[i + k]);
      if ((next >> 6) != 0x2) return false;
      value = (value << 6) | (next & 0x3f);
    }
    static constexpr uint32_t kSmallest[] = {0, 0, 0x80, 0x800, 0x10000};
    if (value < kSmallest[length] || value > 0x10ffff || (value >= 0xd800 && value <= 0xdfff)) {
      return false;
    }
    i += length;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (datasets::ValidUtf8(text) != ReferenceValidUtf8(text)) std::abort();

  const std::vector<std::string> words = datasets::TokenizeReview(text);
  datasets::WordCounter counter;
  size_t total = 0;
  for (const std::string& word : words) {
    if (word.empty() || word.front() == '\'' || word.back() == '\'') std::abort();
    for (unsigned char c : word) {
      const bool word_byte = std::isdigit(c) || std::islower(c) || c == '\'' || c >= 0x80;
      if (!word_byte) std::abort();  // separators and upper-case ASCII never survive
    }
    counter.Add(word);
    ++total;
  }
  // The ranking is a permutation of the ids, by descending count, ties in first-seen order.
  const std::vector<int> ranked = counter.RankedIds();
  if (ranked.size() != counter.size()) std::abort();
  size_t counted = 0;
  for (size_t r = 0; r < ranked.size(); ++r) {
    counted += counter.count(ranked[r]);
    if (counter.Find(counter.word(ranked[r])) != ranked[r]) std::abort();
    if (r > 0) {
      const size_t before = counter.count(ranked[r - 1]), now = counter.count(ranked[r]);
      if (before < now || (before == now && ranked[r - 1] > ranked[r])) std::abort();
    }
  }
  if (counted != total) std::abort();
  return 0;
}
