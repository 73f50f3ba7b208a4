// Work that may crash or hang on hostile input (a parser we do not own: HDF5 1.10 on a damaged
// file), run first in a forked child so that its crash or hang cannot take the caller down.
#ifndef IO_ISOLATED_H_
#define IO_ISOLATED_H_

#include <functional>
#include <string>

#include "absl/status/status.h"

namespace io {

// Runs `work` in a forked child (its stdout discarded, its stderr too except in sanitizer builds,
// where a report from the child must reach the test log) and waits at most `seconds`.
// OK when the child returned from `work`, whatever it returned (the caller then does the work
// itself and meets the same outcome, now known to be safe); DataLossError when the child died
// by a signal or exited otherwise ("crashed (signal 11, Segmentation fault)"), or was still
// running after `seconds` (then it is killed): messages start with `what`. Also OK, without
// trying, when no process can be forked.
absl::Status SurvivesInChild(const std::function<bool()>& work, double seconds,
                             const std::string& what);

}  // namespace io

#endif  // IO_ISOLATED_H_
