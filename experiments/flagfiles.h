// Flagfiles are checked before Abseil reads them. Abseil (20220623) reads whatever a path names:
// --flagfile=/dev/zero reads gigabytes, a FIFO blocks forever, a flagfile that includes itself
// recurses until memory runs out, a directory reads as an empty file and is silently ignored, and
// a line "-" in a flagfile aborts the program. CheckFlagfiles finds every flagfile a command line
// names, the way Abseil's parser will (see CheckFlagfiles), and opens none that would block.
#ifndef EXPERIMENTS_FLAGFILES_H_
#define EXPERIMENTS_FLAGFILES_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace experiments {

// A flagfile holds at most this many bytes (flags, one --name=value per line)...
inline constexpr size_t kMaxFlagfileBytes = size_t{1} << 20;
// ...and all the flagfiles one command line reads add up to at most this many, a file counting
// each time it is included (a file may include another many times).
inline constexpr size_t kMaxFlagfileBytesInAll = size_t{8} << 20;
// A flagfile on the command line is at depth 1, one it includes at depth 2, and so on.
inline constexpr size_t kMaxFlagfileDepth = 8;

// Checks the flagfiles that `args` (argv without the program's name) make Abseil read:
// --flagfile=a,b, --flagfile a, -flagfile=a, the same inside flagfiles (whose flags are their lines
// that start with '-'), and $FLAGS_flagfile when --fromenv or --tryfromenv lists flagfile. Another
// non-boolean flag without '=' takes the next argument as its value, as in Abseil, so
// `--data_dir --flagfile=x` names no flagfile. Each flagfile must be a regular file (checked with
// stat, and again with fstat on a non-blocking descriptor: a FIFO never blocks), of at most
// kMaxFlagfileBytes, at most kMaxFlagfileDepth deep, not include itself (a cycle, through any
// number of files, found by device and inode), and hold no line "-". The error names the flagfile,
// where it was named, what is wrong and what to do:
//   --flagfile=a.flags (line 2 of b.flags): includes itself: a.flags -> b.flags -> a.flags: remove
//   the --flagfile line that closes the loop
// What Abseil reports well by itself (an unknown flag, a line that is not a flag) is left to it.
absl::Status CheckFlagfiles(const std::vector<std::string>& args);

}  // namespace experiments

#endif  // EXPERIMENTS_FLAGFILES_H_
