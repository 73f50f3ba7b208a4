// Export of a built model to ONNX (opset 13), with Keras' masks exact.
//
//   absl::Status status = exporting::ExportOnnx(model, "model.onnx");
//
// Every input keeps its batch and time axes dynamic ("batch"; "time" for the first input,
// "<input>_time" for the others) and holds floats, as Predict takes them (word indices too: the
// graph casts them). The outputs are Predict's, in order, named after the output layers.
//
// Recurrent layers become ONNX's own LSTM, GRU and RNN ops (gates reordered from Keras' layout).
// A mask (Embedding's mask_zero, Masking) is followed exactly as Keras does, for any pattern of
// masked steps (pre- or post-padding, gaps): each sample's real steps are gathered to the front,
// the op runs over them with `sequence_lens`, and every step's output is gathered back from the
// last real step at or before it (zeros before the first; zeros at masked steps inside
// Bidirectional with return_sequences). A layer or setting ONNX cannot express is refused with an
// error naming the layer and the target.
#ifndef EXPORTING_ONNX_H_
#define EXPORTING_ONNX_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "layers/model.h"

namespace exporting {

// The ONNX model (a serialized onnx.ModelProto) of `model`, which must be built; checked with
// ONNX's checker.
absl::StatusOr<std::string> OnnxModelBytes(const layers::Model& model);

// Writes OnnxModelBytes(model) to `path` whole (a temporary file, then renamed).
absl::Status ExportOnnx(const layers::Model& model, const std::string& path);

}  // namespace exporting

#endif  // EXPORTING_ONNX_H_
