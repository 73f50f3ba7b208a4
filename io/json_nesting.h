// A bound on how deeply a JSON text nests, checked before any JSON library sees it: parsing is
// iterative in nlohmann::json, but copying, comparing and destroying a value recurse once per
// level, so 100,000 nested brackets (200 KB) overflow the stack of whatever touches the result.
#ifndef IO_JSON_NESTING_H_
#define IO_JSON_NESTING_H_

#include <string_view>

#include "absl/status/status.h"

namespace io {

// Deeper than Keras' configs ever go (a Bidirectional's layer's initializer's config: 6 levels).
inline constexpr int kMaxJsonNesting = 64;

// OK when no array or object in `text` lies more than `max_depth` levels deep (brackets inside
// strings do not count). The error gives the byte offset where the limit is passed. The text
// need not be valid JSON: the parser that comes next says what else is wrong with it.
absl::Status CheckJsonNesting(std::string_view text, int max_depth = kMaxJsonNesting);

}  // namespace io

#endif  // IO_JSON_NESTING_H_
