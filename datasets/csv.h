// A CSV reader (RFC 4180): fields separated by commas; a field in double quotes may hold commas,
// line breaks and doubled quotes (""); the last record may lack a final line break; CRLF line
// ends are accepted.
#ifndef DATASETS_CSV_H_
#define DATASETS_CSV_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace datasets {

struct CsvTable {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> records;
  std::vector<size_t> record_lines;  // the line each record starts on (1-based)

  // The index of a header column, or an error naming the column, the file and the columns there.
  absl::StatusOr<size_t> Column(const std::string& name) const;
  std::string source;  // file name, for messages
};

// Parses `text`; the first record is the header. A record whose field count differs from the
// header's, or a quote left open at the end, is an error naming `source` and the line.
absl::StatusOr<CsvTable> ParseCsv(std::string_view text, const std::string& source);
absl::StatusOr<CsvTable> ReadCsv(const std::string& path);

}  // namespace datasets

#endif  // DATASETS_CSV_H_
