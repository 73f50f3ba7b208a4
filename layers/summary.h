// Keras' model.summary() tables, as tf.keras 2 prints them.
#ifndef LAYERS_SUMMARY_H_
#define LAYERS_SUMMARY_H_

#include <string>
#include <vector>

namespace layers {

// "1,234,567".
std::string WithThousands(size_t value);

struct SummaryLine {
  std::string layer;         // "dense (Dense)"
  std::string output_shape;  // "(None, 4)", "[(None, 10)]", "multiple"
  size_t params = 0;
  std::vector<std::string> connected_to;  // "input_1[0][0]", one per inbound tensor
};

// A Sequential model's table: 65 columns, no "Connected to".
std::string SequentialSummary(const std::string& model, const std::vector<SummaryLine>& lines,
                              size_t total_params);
// A graph's table: 98 columns, the inbound tensors one per row under "Connected to".
std::string FunctionalSummary(const std::string& model, const std::vector<SummaryLine>& lines,
                              size_t total_params);

}  // namespace layers

#endif  // LAYERS_SUMMARY_H_
