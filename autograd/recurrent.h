// Fused recurrent ops over whole sequences, with hand-written backward passes (checked against
// finite differences in gradcheck_test.cc like every other op). All three share one driver (see
// recurrent.cc): the input projection of all steps is one GEMM, each step one h @ U GEMM on its
// share of the batch, the weight gradients single GEMMs; a batch large enough is split over the
// compute threads (runtime.h); inference keeps no per-step history.
//
// recurrent_mask (optional, [batch, units]), for all three: multiplies h before every
// h @ recurrent_kernel, the same mask at every step (Keras' recurrent_dropout).
//
// append_state (all three): the final state follows the outputs on the time axis, so the
// result is [batch, time + 1, units] (h) or, for LSTM, [batch, time + 2, units] (h, then c); a
// gradient reaching those rows flows into the recursion (Keras' return_state). With a step mask
// the final state is that after the last real step.
//
// step_mask (optional, [batch, time], 1 for a real step and 0 for padding, in input order: with
// go_backwards it is read reversed with the input), Keras' masking: a masked step leaves the
// state (h, and c for LSTM) as it was, and its output is that carried h, or zeros with
// zero_output_for_mask (Keras' Bidirectional with return_sequences). Backward is exact: a masked
// step passes the state's gradient straight through, and the input and weights get nothing
// from it (the gradient with respect to a masked input step is exactly zero).
#ifndef AUTOGRAD_RECURRENT_H_
#define AUTOGRAD_RECURRENT_H_

#include <string>

#include "autograd/tensor.h"

namespace autograd {

// The activations of the recurrent cells, by Keras' names: "tanh", "sigmoid", "hard_sigmoid"
// (Keras 2's: clip(0.2 x + 0.5, 0, 1)), "relu", "linear". Each one's derivative is computed from
// its output, which is what backward keeps.
enum class Activation { kTanh, kSigmoid, kHardSigmoid, kRelu, kLinear };
// `activation` makes the candidate (and, for LSTM, the output from c: h = o * activation(c));
// `recurrent_activation` makes the gates (not used by SimpleRNN). Keras' defaults.
struct CellActivations {
  Activation activation = Activation::kTanh;
  Activation recurrent_activation = Activation::kSigmoid;
};
// Keras' name -> Activation; false for a name not listed above.
bool ParseActivation(const std::string& name, Activation& activation);

// The options the fused sequence ops share, named (libtorch's options structs):
//   autograd::SequenceOptions().go_backwards(true).step_mask(&mask)
struct QuantizedMatrix;  // autograd/quantized.h

struct SequenceOptions {
#define AUTOGRAD_SEQUENCE_OPTION(T, name, default_value) \
 public:                                                 \
  SequenceOptions& name(T value) {                       \
    name##_ = value;                                     \
    return *this;                                        \
  }                                                      \
  T name() const { return name##_; }                     \
                                                         \
 private:                                                \
  T name##_ = default_value
  // Read the input from its last step to its first (the output is in processing order).
  AUTOGRAD_SEQUENCE_OPTION(bool, go_backwards, false);
  // [batch, units]: multiplies the state before each recurrent product (recurrent_dropout).
  AUTOGRAD_SEQUENCE_OPTION(const Array*, recurrent_mask, nullptr);
  // [batch, time] in input order: a 0 step leaves the state as it was and repeats the previous
  // output (Keras' masking).
  AUTOGRAD_SEQUENCE_OPTION(const Array*, step_mask, nullptr);
  // Masked steps output zeros instead of the previous output (inside Bidirectional).
  AUTOGRAD_SEQUENCE_OPTION(bool, zero_output_for_mask, false);
  AUTOGRAD_SEQUENCE_OPTION(CellActivations, activations, CellActivations());
  // The final state (h, then c for LSTM) follows the outputs along the time axis.
  AUTOGRAD_SEQUENCE_OPTION(bool, append_state, false);
  // int8 inference (autograd/quantized.h): the kernel's and the recurrent kernel's quantized
  // forms; when both are set and nothing is recorded, the input projection and every step's
  // recurrent product run as u8s8s32 GEMMs (the gates and the state stay in floating point).
  AUTOGRAD_SEQUENCE_OPTION(const QuantizedMatrix*, int8_kernel, nullptr);
  AUTOGRAD_SEQUENCE_OPTION(const QuantizedMatrix*, int8_recurrent_kernel, nullptr);
#undef AUTOGRAD_SEQUENCE_OPTION
};

// A Keras LSTM over a whole sequence. Gate order i, f, c, o (Keras layout):
//   x:                [batch, time, input_dim]
//   h0, c0:           [batch, units]            initial hidden and cell state
//   kernel:           [input_dim, 4 * units]
//   recurrent_kernel: [units, 4 * units]
//   bias:             [4 * units]
// Per step: z = x_t @ kernel + h @ recurrent_kernel + bias; i, f, o = sigmoid; g = tanh;
// c = f * c + i * g; h = o * tanh(c).
// Returns [batch, time, units], the hidden state after each step in processing order. With
// go_backwards the input is read from its last step to its first, so output step s belongs to
// input step time - 1 - s (Keras returns the reversed sequence too). With other activations
// (all three ops), sigmoid above means recurrent_activation and tanh means activation.
Tensor LstmSequence(const Tensor& x, const Tensor& h0, const Tensor& c0, const Tensor& kernel,
                    const Tensor& recurrent_kernel, const Tensor& bias,
                    const SequenceOptions& options = {});

// A Keras SimpleRNN (activation tanh) over a whole sequence:
//   x [batch, time, input_dim], h0 [batch, units], kernel [input_dim, units],
//   recurrent_kernel [units, units], bias [units] -> [batch, time, units] in processing order.
// Per step: h = tanh(x_t @ kernel + h @ recurrent_kernel + bias).
Tensor SimpleRnnSequence(const Tensor& x, const Tensor& h0, const Tensor& kernel,
                         const Tensor& recurrent_kernel, const Tensor& bias,
                         const SequenceOptions& options = {});

// A Keras 2 / TF 2 GRU (reset_after = true, gate order z, r, h) over a whole sequence:
//   x [batch, time, input_dim], h0 [batch, units], kernel [input_dim, 3 units],
//   recurrent_kernel [units, 3 units], bias [2, 3 units] (row 0 input bias, row 1 recurrent bias)
//   -> [batch, time, units] in processing order.
// Per step, with xz, xr, xh = x_t @ kernel + bias[0] and hz, hr, hh = h @ recurrent_kernel +
// bias[1]:
//   z = sigmoid(xz + hz); r = sigmoid(xr + hr); n = tanh(xh + r * hh); h = z * h + (1 - z) * n.
Tensor GruSequence(const Tensor& x, const Tensor& h0, const Tensor& kernel,
                   const Tensor& recurrent_kernel, const Tensor& bias,
                   const SequenceOptions& options = {});

// A standalone Keras 2 GRU (reset_after = false, its default there; gate order z, r, h): one
// bias [3 units], and the reset gate applied to h before its product:
//   z = sigmoid(x W_z + h U_z + b_z); r = sigmoid(x W_r + h U_r + b_r);
//   n = tanh(x W_h + (r h) U_h + b_h); h = z h + (1 - z) n.
// Same arguments and semantics as GruSequence otherwise (bias [3 units]). Composed step by step
// from the tape's ops rather than fused: this legacy variant favours plain code over speed.
Tensor GruResetBeforeSequence(const Tensor& x, const Tensor& h0, const Tensor& kernel,
                              const Tensor& recurrent_kernel, const Tensor& bias,
                              const SequenceOptions& options = {});

}  // namespace autograd

#endif  // AUTOGRAD_RECURRENT_H_
