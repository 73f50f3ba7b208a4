#include "layers/summary.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace layers {
namespace {

// One row of Keras' print_summary: each field is cut or padded to end at its column, and the
// last character before a column is always a space.
std::string Row(const std::vector<std::string>& fields, const std::vector<size_t>& column_ends) {
  std::string line;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) line.back() = ' ';
    line += fields[i];
    line = line.substr(0, column_ends[i]);
    line += std::string(column_ends[i] - line.size(), ' ');
  }
  return line;
}

std::string Totals(size_t total_params, const std::string& rule) {
  const std::string total = WithThousands(total_params);
  return absl::StrCat("Total params: ", total, "\nTrainable params: ", total,
                      "\nNon-trainable params: 0\n", rule, "\n");
}

}  // namespace

std::string WithThousands(size_t value) {
  std::string digits = std::to_string(value), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string SequentialSummary(const std::string& model, const std::vector<SummaryLine>& lines,
                              size_t total_params) {
  const std::vector<size_t> ends = {29, 55, 65};
  const std::string rule(65, '_'), double_rule(65, '=');
  std::string out = absl::StrFormat("Model: \"%s\"\n%s\n", model, rule);
  absl::StrAppend(&out, Row({"Layer (type)", "Output Shape", "Param #"}, ends), "\n", double_rule,
                  "\n");
  for (size_t i = 0; i < lines.size(); ++i) {
    const SummaryLine& line = lines[i];
    absl::StrAppend(&out, Row({line.layer, line.output_shape, std::to_string(line.params)}, ends),
                    "\n", i + 1 < lines.size() ? rule : double_rule, "\n");
  }
  return out + Totals(total_params, rule);
}

std::string FunctionalSummary(const std::string& model, const std::vector<SummaryLine>& lines,
                              size_t total_params) {
  const std::vector<size_t> ends = {32, 53, 65, 98};  // Keras: 98 x (.33, .55, .67, 1)
  const std::string rule(98, '_'), double_rule(98, '=');
  std::string out = absl::StrFormat("Model: \"%s\"\n%s\n", model, rule);
  absl::StrAppend(&out, Row({"Layer (type)", "Output Shape", "Param #", "Connected to"}, ends),
                  "\n", double_rule, "\n");
  for (size_t i = 0; i < lines.size(); ++i) {
    const SummaryLine& line = lines[i];
    absl::StrAppend(&out,
                    Row({line.layer, line.output_shape, std::to_string(line.params),
                         line.connected_to.empty() ? "" : line.connected_to[0]},
                        ends),
                    "\n");
    for (size_t k = 1; k < line.connected_to.size(); ++k) {
      absl::StrAppend(&out, Row({"", "", "", line.connected_to[k]}, ends), "\n");
    }
    absl::StrAppend(&out, i + 1 < lines.size() ? rule : double_rule, "\n");
  }
  return out + Totals(total_params, rule);
}

}  // namespace layers
