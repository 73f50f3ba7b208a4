// libFuzzer target: the CSV reader on any bytes. Beyond "no crash, no sanitizer finding": a
// parsed table is rectangular with increasing record lines, and no error message quotes more
// than a bounded part of the input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "datasets/csv.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<datasets::CsvTable> table = datasets::ParseCsv(text, "fuzz.csv");
  if (!table.ok()) {
    if (table.status().message().size() > 1000) std::abort();
    return 0;
  }
  if (table->records.size() != table->record_lines.size()) std::abort();
  size_t previous_line = 1;
  for (size_t r = 0; r < table->records.size(); ++r) {
    if (table->records[r].size() != table->header.size()) std::abort();
    if (table->record_lines[r] <= previous_line) std::abort();
    previous_line = table->record_lines[r];
  }
  // Looking up a column that cannot be there (longer than the input): the message lists a
  // bounded part of the header.
  const std::string absent(size + 1, 'x');
  absl::StatusOr<size_t> column = table->Column(absent);
  if (column.ok() || column.status().message().size() > 1000 + absent.size()) std::abort();
  return 0;
}
