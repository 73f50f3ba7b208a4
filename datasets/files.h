// What every loader needs from the file system and from its error messages.
#ifndef DATASETS_FILES_H_
#define DATASETS_FILES_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace datasets {

// The whole of `path`. It must be a regular file: a directory, FIFO, socket or device is an
// error naming the path (it is opened without blocking, so a FIFO cannot hang the caller).
// Errors: NotFound (missing), FailedPrecondition (not a regular file), Unavailable (unreadable).
absl::StatusOr<std::string> ReadRegularFile(const std::string& path);

// `text` as it may appear in an error message: cut to `max_chars` characters and control
// characters escaped, with the full length said when cut ("abc... (52428800 bytes)"). A damaged
// file cannot make a message of megabytes.
std::string Excerpt(std::string_view text, size_t max_chars = 80);

}  // namespace datasets

#endif  // DATASETS_FILES_H_
