#include "datasets/csv.h"

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "datasets/files.h"

namespace datasets {

absl::StatusOr<size_t> CsvTable::Column(const std::string& name) const {
  for (size_t i = 0; i < header.size(); ++i) {
    if (header[i] == name) return i;
  }
  return absl::NotFoundError(absl::StrFormat("%s has no column '%s' (its header: %s)", source, name,
                                             Excerpt(absl::StrJoin(header, ","), 200)));
}

absl::StatusOr<CsvTable> ParseCsv(std::string_view text, const std::string& source) {
  CsvTable table;
  table.source = source;
  std::vector<std::string> record;
  std::string field;
  size_t line = 1, record_line = 1, quote_line = 0;
  bool quoted = false, field_started = false, after_quote = false;

  const auto end_field = [&] {
    record.push_back(std::move(field));
    field.clear();
    field_started = after_quote = false;
  };
  const auto end_record = [&]() -> absl::Status {
    end_field();
    if (table.header.empty() && table.records.empty() && record_line == 1) {
      table.header = std::move(record);
    } else if (record.size() != table.header.size()) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s:%d: record has %d fields, the header has %d", source, record_line,
                          record.size(), table.header.size()));
    } else {
      table.records.push_back(std::move(record));
      table.record_lines.push_back(record_line);
    }
    record.clear();
    return absl::OkStatus();
  };

  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          quoted = false;
          after_quote = true;
        }
      } else {
        if (c == '\n') ++line;
        field += c;
      }
      continue;
    }
    if (c == ',') {
      end_field();
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      if (absl::Status status = end_record(); !status.ok()) return status;
      ++line;
      record_line = line;
    } else if (c == '"' && !field_started) {
      quoted = true;
      field_started = true;
      quote_line = line;
    } else if (after_quote) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s:%d: unexpected character '%c' after a closing quote", source, line, c));
    } else {
      field += c;
      field_started = true;
    }
  }
  if (quoted) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s:%d: a quoted field opened here is never closed", source, quote_line));
  }
  // A last record without a final line break.
  if (field_started || !record.empty()) {
    if (absl::Status status = end_record(); !status.ok()) return status;
  }
  if (table.header.empty()) {
    return absl::InvalidArgumentError(absl::StrFormat("%s: empty file, expected a header", source));
  }
  return table;
}

absl::StatusOr<CsvTable> ReadCsv(const std::string& path) {
  absl::StatusOr<std::string> text = ReadRegularFile(path);
  if (!text.ok()) return text.status();
  return ParseCsv(*text, path);
}

}  // namespace datasets
