// The three fused recurrent ops share one driver (RecurrentSequence below); each cell is a small
// struct with its step's forward and backward side by side. What the driver does for all of them:
//  - the input projection x @ kernel of every step is one GEMM before the time loop, and
//    the weight and input gradients are single GEMMs after the backward loop;
//  - each step adds h @ recurrent_kernel to that step's rows with one GEMM and lets the cell
//    activate them while they are in cache;
//  - the batch is split into contiguous shares, one per thread (runtime.h's RecurrentThreads):
//    a thread owns its share's state for the whole sequence, so threads never wait on each other
//    between steps;
//  - without a gradient to record (inference) nothing per step is kept but the output;
//  - an optional recurrent mask multiplies h before every h @ recurrent_kernel (recurrent
//    dropout);
//  - no allocation inside the time loop.
#include "autograd/recurrent.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <memory>
#include <tuple>

#include "absl/strings/str_format.h"
#include "autograd/blas.h"
#include "autograd/elementwise.h"
#include "autograd/matmul.h"
#include "autograd/quantized.h"
#include "autograd/runtime.h"
#include "autograd/shape_ops.h"
#include "autograd/vector_math.h"
#include "xtensor/xbuilder.hpp"
#include "xtensor/xview.hpp"

namespace autograd {
namespace {

using vector_math::SigmoidInPlace;
using vector_math::TanhInPlace;

// The cells' activations; approximate: sigmoid in its fast form (vector_math.h), for int8
// inference, whose quantization errs far more.
struct CellMath : CellActivations {
  bool approximate = false;
};

void ActivateInPlace(const CellMath& math, Activation activation, Real* __restrict x, size_t n) {
  switch (activation) {
    case Activation::kTanh:
      return TanhInPlace(x, n);
    case Activation::kSigmoid:
      return math.approximate ? vector_math::SigmoidInPlaceApproximate(x, n) : SigmoidInPlace(x, n);
    case Activation::kHardSigmoid:
      for (size_t k = 0; k < n; ++k)
        x[k] = std::clamp(Real(0.2) * x[k] + Real(0.5), Real(0), Real(1));
      return;
    case Activation::kRelu:
      for (size_t k = 0; k < n; ++k) x[k] = std::max(x[k], Real(0));
      return;
    case Activation::kLinear:
      return;
  }
}

// d[k] = the activation's derivative where it output y[k].
void DerivativeFromOutput(Activation activation, const Real* __restrict y, Real* __restrict d,
                          size_t n) {
  switch (activation) {
    case Activation::kTanh:
      for (size_t k = 0; k < n; ++k) d[k] = Real(1) - y[k] * y[k];
      return;
    case Activation::kSigmoid:
      for (size_t k = 0; k < n; ++k) d[k] = y[k] * (Real(1) - y[k]);
      return;
    case Activation::kHardSigmoid:  // 0.2 on the slope, 0 where clipped
      for (size_t k = 0; k < n; ++k) d[k] = y[k] > Real(0) && y[k] < Real(1) ? Real(0.2) : Real(0);
      return;
    case Activation::kRelu:
      for (size_t k = 0; k < n; ++k) d[k] = y[k] > Real(0) ? Real(1) : Real(0);
      return;
    case Activation::kLinear:
      std::fill(d, d + n, Real(1));
      return;
  }
}

// Every cell, for one batch row and one step, with H units and activations `a`:
//   Forward(a, z, p, h, c, saved): z holds the pre-activations of the kGates gates (input
//   projection
//     plus, unless kSeparateRecurrent, the recurrent product); p the recurrent product plus its
//     bias for kSeparateRecurrent cells. Activates z in place (backward reads the activated gates),
//     updates h (and c, for kCellState cells) in place and writes kSaved * H values for backward.
//   Backward(a, gate, p, saved, h_prev, dh, dc, d_input, d_recurrent, dh_direct, slopes): from the
//     activated
//     gates, what Forward saved, h before the step and dh = d loss / d h after the step, writes
//     d loss / d (input projection) and d loss / d (recurrent product) (the same buffer unless
//     kSeparateRecurrent), dh_direct (the part of d loss / d h_prev that bypasses the recurrent
//     product; only kDirectPath cells write it), and updates dc in place for kCellState cells.
//     `slopes` is scratch for kSlopes * H activation derivatives.

// Keras LSTM: gates i, f, g (candidate), o. c = f c + i g; h = o tanh(c).
struct LstmCell {
  static constexpr const char* kName = "LstmSequence";
  // saved: c before the step, tanh(c) after; slopes: of the four gates, then of tanh(c).
  static constexpr size_t kGates = 4, kSaved = 2, kSlopes = 5;
  static constexpr bool kCellState = true, kSeparateRecurrent = false, kDirectPath = false;

  static void Forward(const CellMath& a, Real* __restrict z, const Real* /*p*/, Real* __restrict h,
                      Real* __restrict c, Real* __restrict saved, size_t H) {
    ActivateInPlace(a, a.recurrent_activation, z, 2 * H);      // i, f
    ActivateInPlace(a, a.activation, z + 2 * H, H);            // g
    ActivateInPlace(a, a.recurrent_activation, z + 3 * H, H);  // o
    Real* __restrict c_prev = saved;
    Real* __restrict tanh_c = saved + H;
    for (size_t j = 0; j < H; ++j) {
      c_prev[j] = c[j];
      tanh_c[j] = c[j] = z[H + j] * c[j] + z[j] * z[2 * H + j];
    }
    ActivateInPlace(a, a.activation, tanh_c, H);
    for (size_t j = 0; j < H; ++j) h[j] = z[3 * H + j] * tanh_c[j];
  }

  static void Backward(const CellActivations& a, const Real* __restrict gate, const Real* /*p*/,
                       const Real* __restrict saved, const Real* /*h_prev*/,
                       const Real* __restrict dh, Real* __restrict dc, Real* __restrict d_input,
                       Real* /*d_recurrent*/, Real* /*dh_direct*/, Real* __restrict slopes,
                       size_t H) {
    const Real* __restrict c_prev = saved;
    const Real* __restrict tanh_c = saved + H;
    DerivativeFromOutput(a.recurrent_activation, gate, slopes, 2 * H);
    DerivativeFromOutput(a.activation, gate + 2 * H, slopes + 2 * H, H);
    DerivativeFromOutput(a.recurrent_activation, gate + 3 * H, slopes + 3 * H, H);
    DerivativeFromOutput(a.activation, tanh_c, slopes + 4 * H, H);
    for (size_t j = 0; j < H; ++j) {
      const Real i = gate[j], f = gate[H + j], g = gate[2 * H + j], o = gate[3 * H + j];
      const Real dc_total = dc[j] + dh[j] * o * slopes[4 * H + j];
      d_input[j] = dc_total * g * slopes[j];
      d_input[H + j] = dc_total * c_prev[j] * slopes[H + j];
      d_input[2 * H + j] = dc_total * i * slopes[2 * H + j];
      d_input[3 * H + j] = dh[j] * tanh_c[j] * slopes[3 * H + j];
      dc[j] = dc_total * f;
    }
  }
};

// Keras SimpleRNN: h = activation(z) (tanh by default).
struct SimpleRnnCell {
  static constexpr const char* kName = "SimpleRnnSequence";
  static constexpr size_t kGates = 1, kSaved = 0, kSlopes = 1;  // the activated z is h itself
  static constexpr bool kCellState = false, kSeparateRecurrent = false, kDirectPath = false;

  static void Forward(const CellMath& a, Real* __restrict z, const Real* /*p*/, Real* __restrict h,
                      Real* /*c*/, Real* /*saved*/, size_t H) {
    ActivateInPlace(a, a.activation, z, H);
    std::copy(z, z + H, h);
  }

  static void Backward(const CellActivations& a, const Real* __restrict gate, const Real* /*p*/,
                       const Real* /*saved*/, const Real* /*h_prev*/, const Real* __restrict dh,
                       Real* /*dc*/, Real* __restrict d_input, Real* /*d_recurrent*/,
                       Real* /*dh_direct*/, Real* __restrict slopes, size_t H) {
    DerivativeFromOutput(a.activation, gate, slopes, H);
    for (size_t j = 0; j < H; ++j) d_input[j] = dh[j] * slopes[j];
  }
};

// Keras 2 / TF 2 GRU (reset_after): gates z, r, n; z holds x W + b_input, p holds h U + b_rec.
//   z = sigmoid(xz + hz); r = sigmoid(xr + hr); n = tanh(xn + r hn); h = z h + (1 - z) n.
struct GruCell {
  static constexpr const char* kName = "GruSequence";
  // Backward reads the gates, p and h_prev; slopes: of z, r, n.
  static constexpr size_t kGates = 3, kSaved = 0, kSlopes = 3;
  static constexpr bool kCellState = false, kSeparateRecurrent = true, kDirectPath = true;

  static void Forward(const CellMath& a, Real* __restrict g, const Real* __restrict p,
                      Real* __restrict h, Real* /*c*/, Real* /*saved*/, size_t H) {
    for (size_t k = 0; k < 2 * H; ++k) g[k] += p[k];
    ActivateInPlace(a, a.recurrent_activation, g, 2 * H);
    for (size_t j = 0; j < H; ++j) g[2 * H + j] += g[H + j] * p[2 * H + j];
    ActivateInPlace(a, a.activation, g + 2 * H, H);
    for (size_t j = 0; j < H; ++j) h[j] = g[j] * h[j] + (Real(1) - g[j]) * g[2 * H + j];
  }

  static void Backward(const CellActivations& a, const Real* __restrict g, const Real* __restrict p,
                       const Real* /*saved*/, const Real* __restrict h_prev,
                       const Real* __restrict dh, Real* /*dc*/, Real* __restrict d_input,
                       Real* __restrict d_recurrent, Real* __restrict dh_direct,
                       Real* __restrict slopes, size_t H) {
    DerivativeFromOutput(a.recurrent_activation, g, slopes, 2 * H);
    DerivativeFromOutput(a.activation, g + 2 * H, slopes + 2 * H, H);
    for (size_t j = 0; j < H; ++j) {
      const Real z = g[j], r = g[H + j], n = g[2 * H + j];
      const Real dn = dh[j] * (Real(1) - z) * slopes[2 * H + j];
      const Real dz = dh[j] * (h_prev[j] - n) * slopes[j];
      const Real dr = dn * p[2 * H + j] * slopes[H + j];
      d_input[j] = d_recurrent[j] = dz;
      d_input[H + j] = d_recurrent[H + j] = dr;
      d_input[2 * H + j] = dn;
      d_recurrent[2 * H + j] = dn * r;
      dh_direct[j] = dh[j] * z;
    }
  }
};

// What backward needs, rows b * time + t like the input.
struct Saved {
  size_t batch, time, input_dim, units, gates;
  bool go_backwards;
  int threads;
  Array activated;  // [B * T, G]: activated gates
  Array recurrent;  // [B * T, G]: h @ U + recurrent bias (kSeparateRecurrent cells)
  Array h_prev;     // [B * T, H]: h before the step (unmasked)
  Array cell;       // [B * T, kSaved * H]
  Array mask;       // [B, H], or empty
  Array steps;      // [B, T] step mask in input order (1 real, 0 masked), or empty
  bool zero_output_for_mask = false;
  CellActivations activations;
  size_t output_time = 0;  // time steps of the output: time, plus the state's rows if appended
};

// Runs work(b0, b1, id) for each of `threads` contiguous shares [b0, b1) of the batch, each on its
// own thread; one share runs on the calling thread without entering a parallel region. An
// exception in a share (a failed allocation, a library's error) is rethrown here once all have
// ended: one leaving the parallel region would end the process.
template <typename Work>
void InShares(size_t batch, int threads, const Work& work) {
  if (threads <= 1) return work(0, batch, 0);
  std::exception_ptr failure;
#pragma omp parallel num_threads(threads)
  {
    const size_t id = omp_get_thread_num(), count = omp_get_num_threads();
    try {
      work(batch * id / count, batch * (id + 1) / count, static_cast<int>(id));
    } catch (...) {
#pragma omp critical(in_shares_failure)
      if (!failure) failure = std::current_exception();
    }
  }
  if (failure) std::rethrow_exception(failure);
}

void CheckShape(const char* op, const Tensor& t, const Shape& expected, const char* what) {
  if (t.shape() != expected) {
    throw ShapeError(absl::StrFormat("%s: %s expected shape %s, got %s", op, what,
                                     ShapeString(expected), ShapeString(t.shape())));
  }
}

template <typename Cell>
void ForwardShare(Saved& s, bool record, const Real* U, const Real* x_int8,
                  const QuantizedMatrix* W_int8, const QuantizedMatrix* U_int8,
                  const Real* input_bias, const Real* recurrent_bias, Real* h, Real* c,
                  Real* output, size_t b0, size_t b1) {
  const size_t T = s.time, H = s.units, G = s.gates, S = Cell::kSaved * H, n = b1 - b0;
  const Real* mask = s.mask.dimension() == 2 ? s.mask.data() : nullptr;
  const Real* steps = s.steps.dimension() == 2 ? s.steps.data() : nullptr;
  // Per-thread scratch, allocated once for the whole sequence.
  Array h_masked = Array::from_shape({mask != nullptr ? n * H : 0});
  Array recurrent_step = Array::from_shape({Cell::kSeparateRecurrent && !record ? n * G : 0});
  Array cell_step = Array::from_shape({record ? 0 : n * S});
  // int8 runs inference only: each step's gates go to a buffer of this share's rows rather than to
  // rows of the whole sequence's projection (B T G floats, written and read back from memory).
  const bool int8 = W_int8 != nullptr;
  Array int8_gates = Array::from_shape({int8 ? n * G : 0});
  const auto gate_row = [&](size_t b, size_t t) {
    return int8 ? int8_gates.data() + (b - b0) * G : s.activated.data() + (b * T + t) * G;
  };
  const size_t gate_stride = int8 ? G : T * G;
  CellMath math;
  static_cast<CellActivations&>(math) = s.activations;
  math.approximate = int8;
  // int8: this share's inputs quantized once, step-major (row t n + b - b0), so that each step's
  // product reads one block rather than n rows a sequence apart (a cache miss each, which the
  // prefetcher does not foresee).
  QuantizedRows int8_inputs;
  if (int8) {
    const size_t D = s.input_dim;
    int8_inputs.Resize(T * n, D);
    for (size_t b = b0; b < b1; ++b) int8_inputs.Set(b - b0, n, T, x_int8 + b * T * D, D);
  }
  blas::RepeatedOperand<Real> recurrent_kernel(U, H, G, G);
  QuantizedGemmScratch int8_scratch;
  for (size_t step = 0; step < T; ++step) {
    const size_t t = s.go_backwards ? T - 1 - step : step;
    const Real* h_used = h + b0 * H;
    if (mask != nullptr) {
      Real* __restrict masked = h_masked.data();
      for (size_t k = 0; k < n * H; ++k) masked[k] = h[b0 * H + k] * mask[b0 * H + k];
      h_used = h_masked.data();
    }
    // Rows of input step t are b * T + t: a stride of T rows.
    Real* p = nullptr;
    size_t p_stride = 0;
    if constexpr (Cell::kSeparateRecurrent) {
      p = record ? s.recurrent.data() + (b0 * T + t) * G : recurrent_step.data();
      p_stride = record ? T * G : G;
    } else {
      p = gate_row(b0, t);
      p_stride = gate_stride;
    }
    if (int8 && !Cell::kSeparateRecurrent) {  // both products into the gates, in one pass
      int8_scratch.rows.Resize(n, H);
      int8_scratch.rows.Set(0, 1, n, h_used, H);
      QuantizedGemmPair(int8_inputs, t * n, *W_int8, int8_scratch.rows, 0, *U_int8, n,
                        gate_row(b0, t), gate_stride, input_bias);
    } else if (int8) {  // the input projection into the gates, the recurrent product into p
      QuantizedGemm(int8_inputs, t * n, n, *W_int8, false, gate_row(b0, t), gate_stride,
                    input_bias);
      QuantizedGemm(n, h_used, H, *U_int8, false, p, p_stride, int8_scratch, recurrent_bias);
    } else {
      blas::Gemm(n, Real(1), h_used, H, recurrent_kernel,
                 Cell::kSeparateRecurrent ? Real(0) : Real(1), p, p_stride);
    }
    for (size_t b = b0; b < b1; ++b) {
      const size_t row = b * T + t;
      Real* hb = h + b * H;
      if (steps != nullptr && steps[row] == Real(0)) {  // masked: the state carries over
        // Backward's dU product reads every row of h_prev (times a zero gradient here).
        if (record) std::fill(s.h_prev.data() + row * H, s.h_prev.data() + (row + 1) * H, Real(0));
        Real* out = output + (b * s.output_time + step) * H;
        if (s.zero_output_for_mask) {
          std::fill(out, out + H, Real(0));
        } else {
          std::copy(hb, hb + H, out);
        }
        continue;
      }
      if (record) std::copy(hb, hb + H, s.h_prev.data() + row * H);
      Real* saved = record ? s.cell.data() + row * S : cell_step.data() + (b - b0) * S;
      // The biases are added here, while the row is in cache, rather than copied into every row
      // of the projection beforehand (a pass over the whole [B * T, G] buffer).
      Real* __restrict z = gate_row(b, t);
      Real* __restrict p_b = p + (b - b0) * p_stride;
      if (!int8) {  // int8's products added them
        for (size_t k = 0; k < G; ++k) z[k] += input_bias[k];
        if constexpr (Cell::kSeparateRecurrent) {
          for (size_t k = 0; k < G; ++k) p_b[k] += recurrent_bias[k];
        }
      }
      Cell::Forward(math, z, p_b, hb, c + b * H, saved, H);
      std::copy(hb, hb + H, output + (b * s.output_time + step) * H);
    }
  }
}

template <typename Cell>
void BackwardShare(const Saved& s, const Real* U_transposed, const Real* dy, Real* dh, Real* dc,
                   Real* d_input, Real* d_recurrent, Real* bias_sum, size_t b0, size_t b1) {
  const size_t T = s.time, H = s.units, G = s.gates, S = Cell::kSaved * H, n = b1 - b0;
  const Real* mask = s.mask.dimension() == 2 ? s.mask.data() : nullptr;
  const Real* steps = s.steps.dimension() == 2 ? s.steps.data() : nullptr;
  // With a step mask every row's direct part of d h_prev is written first and the product added
  // (a masked row's is all of it); without, the product overwrites for cells without one.
  const bool direct_path = Cell::kDirectPath || steps != nullptr;
  Array dh_step = Array::from_shape({n * H});
  Array dh_product = Array::from_shape({mask != nullptr ? n * H : 0});
  Array slopes = Array::from_shape({Cell::kSlopes * H});
  blas::RepeatedOperand<Real> recurrent_kernel_transposed(U_transposed, G, H, H);
  for (size_t step = T; step-- > 0;) {
    const size_t t = s.go_backwards ? T - 1 - step : step;
    for (size_t b = b0; b < b1; ++b) {
      const size_t row = b * T + t;
      Real* dh_b = dh_step.data() + (b - b0) * H;
      const Real* dy_b = dy + (b * s.output_time + step) * H;
      if (steps != nullptr && steps[row] == Real(0)) {
        // The identity on the state: its gradient passes to h_prev (and c_prev, untouched), plus
        // that of the carried output; nothing reaches the input or the weights.
        if (!s.zero_output_for_mask) {
          for (size_t j = 0; j < H; ++j) dh[b * H + j] += dy_b[j];
        }
        std::fill(d_input + row * G, d_input + (row + 1) * G, Real(0));
        if constexpr (Cell::kSeparateRecurrent) {
          std::fill(d_recurrent + row * G, d_recurrent + (row + 1) * G, Real(0));
        }
        continue;
      }
      for (size_t j = 0; j < H; ++j) dh_b[j] = dy_b[j] + dh[b * H + j];
      if (!Cell::kDirectPath && steps != nullptr) std::fill(dh + b * H, dh + (b + 1) * H, Real(0));
      const Real* p = Cell::kSeparateRecurrent ? s.recurrent.data() + row * G : nullptr;
      Cell::Backward(s.activations, s.activated.data() + row * G, p, s.cell.data() + row * S,
                     s.h_prev.data() + row * H, dh_b, dc + b * H, d_input + row * G,
                     d_recurrent + row * G, dh + b * H, slopes.data(), H);
      // Bias gradients while the row is in cache: input side, then (separate) recurrent side.
      for (size_t k = 0; k < G; ++k) bias_sum[k] += d_input[row * G + k];
      if constexpr (Cell::kSeparateRecurrent) {
        for (size_t k = 0; k < G; ++k) bias_sum[G + k] += d_recurrent[row * G + k];
      }
    }
    // d loss / d h_prev = dh_direct + (d_recurrent_t @ U^T) * mask.
    const Real* d_rec_t = d_recurrent + (b0 * T + t) * G;
    if (mask == nullptr) {
      blas::Gemm(n, Real(1), d_rec_t, T * G, recurrent_kernel_transposed,
                 direct_path ? Real(1) : Real(0), dh + b0 * H, H);
    } else {
      blas::Gemm(n, Real(1), d_rec_t, T * G, recurrent_kernel_transposed, Real(0),
                 dh_product.data(), H);
      for (size_t k = 0; k < n * H; ++k) {
        const Real direct = direct_path ? dh[b0 * H + k] : Real(0);
        dh[b0 * H + k] = direct + dh_product.data()[k] * mask[b0 * H + k];
      }
    }
  }
}

template <typename Cell>
Tensor RecurrentSequence(const Tensor& x, const Tensor& h0, const Tensor* c0, const Tensor& kernel,
                         const Tensor& recurrent_kernel, const Tensor& bias,
                         const SequenceOptions& options) {
  const bool go_backwards = options.go_backwards(), append_state = options.append_state();
  const bool zero_output_for_mask = options.zero_output_for_mask();
  const Array *recurrent_mask = options.recurrent_mask(), *step_mask = options.step_mask();
  const CellActivations activations = options.activations();
  const char* op = Cell::kName;
  if (x.dim() != 3 || h0.dim() != 2) {
    throw ShapeError(absl::StrFormat(
        "%s: x must be [batch, time, input_dim] and h0 [batch, units], got %s and %s", op,
        ShapeString(x.shape()), ShapeString(h0.shape())));
  }
  auto saved = std::make_shared<Saved>();
  Saved& s = *saved;
  s.batch = x.size(0);
  s.time = x.size(1);
  s.input_dim = x.size(2);
  s.units = h0.size(1);
  s.gates = Cell::kGates * s.units;
  s.go_backwards = go_backwards;
  s.activations = activations;
  s.output_time = x.size(1) + (append_state ? (Cell::kCellState ? 2 : 1) : 0);
  const size_t B = s.batch, T = s.time, D = s.input_dim, H = s.units, G = s.gates, rows = B * T;
  CheckShape(op, h0, {B, H}, "h0");
  if (c0 != nullptr) CheckShape(op, *c0, {B, H}, "c0");
  CheckShape(op, kernel, {D, G}, "kernel");
  CheckShape(op, recurrent_kernel, {H, G}, "recurrent_kernel");
  CheckShape(op, bias, Cell::kSeparateRecurrent ? Shape{2, G} : Shape{G}, "bias");
  if (recurrent_mask != nullptr) {
    if (ShapeOf(*recurrent_mask) != Shape{B, H}) {
      throw ShapeError(absl::StrFormat("%s: recurrent_mask expected shape %s, got %s", op,
                                       ShapeString({B, H}), ShapeString(ShapeOf(*recurrent_mask))));
    }
    s.mask = *recurrent_mask;
  }
  if (step_mask != nullptr) {
    if (ShapeOf(*step_mask) != Shape{B, T}) {
      throw ShapeError(absl::StrFormat("%s: step_mask expected shape %s, got %s", op,
                                       ShapeString({B, T}), ShapeString(ShapeOf(*step_mask))));
    }
    s.steps = *step_mask;
    s.zero_output_for_mask = zero_output_for_mask;
  }

  // Input projection of every step at once (the biases are added step by step).
  const Real* b = bias.value().data();
  bool record = false;
  if (GradEnabled()) {
    for (const Tensor* input : {&x, &h0, c0, &kernel, &recurrent_kernel, &bias}) {
      record = record || (input != nullptr && input->requires_grad());
    }
  }
  const QuantizedMatrix* W_int8 = record ? nullptr : options.int8_kernel();
  const QuantizedMatrix* U_int8 = record ? nullptr : options.int8_recurrent_kernel();
  if (W_int8 == nullptr || U_int8 == nullptr) {
    W_int8 = U_int8 = nullptr;
  } else if (W_int8->rows != D || W_int8->columns != G || U_int8->rows != H ||
             U_int8->columns != G) {
    throw ShapeError(absl::StrFormat(
        "%s: int8 kernels expected %s and %s, got [%d, %d] and [%d, %d]", op, ShapeString({D, G}),
        ShapeString({H, G}), W_int8->rows, W_int8->columns, U_int8->rows, U_int8->columns));
  }
  if (W_int8 == nullptr) {  // int8: step by step in ForwardShare
    s.activated = Array::from_shape({rows, G});
    blas::Gemm(false, false, rows, G, D, Real(1), x.value().data(), D, kernel.value().data(), G,
               Real(0), s.activated.data(), G);
  }
  if (record) {
    s.h_prev = Array::from_shape({rows, H});
    s.cell = Array::from_shape({rows, Cell::kSaved * H});
    if (Cell::kSeparateRecurrent) s.recurrent = Array::from_shape({rows, G});
  }
  Array output = Array::from_shape({B, s.output_time, H});
  Array h = h0.value();
  Array c = c0 != nullptr ? c0->value() : Array();
  const Real* U = recurrent_kernel.value().data();
  const Real* recurrent_bias = Cell::kSeparateRecurrent ? b + G : nullptr;
  s.threads = RecurrentThreads(B, T, H, G);
  InShares(B, s.threads, [&](size_t b0, size_t b1, int) {
    ForwardShare<Cell>(s, record, U, x.value().data(), W_int8, U_int8, b, recurrent_bias, h.data(),
                       c.data(), output.data(), b0, b1);
  });
  if (append_state) {  // the final h (and c) after the last step
    for (size_t row = 0; row < B; ++row) {
      Real* state = output.data() + (row * s.output_time + T) * H;
      std::copy(h.data() + row * H, h.data() + (row + 1) * H, state);
      if (Cell::kCellState) std::copy(c.data() + row * H, c.data() + (row + 1) * H, state + H);
    }
  }

  std::vector<Tensor> inputs = {x, h0, kernel, recurrent_kernel, bias};
  if (c0 != nullptr) inputs.push_back(*c0);
  return MakeResult(std::move(output), inputs, [saved, inputs](const Node& out) {
    const Saved& s = *saved;
    const Tensor &x = inputs[0], &h0 = inputs[1], &kernel = inputs[2],
                 &recurrent_kernel = inputs[3], &bias = inputs[4];
    const size_t B = s.batch, T = s.time, D = s.input_dim, H = s.units, G = s.gates;
    const size_t rows = B * T;
    Array d_input = Array::from_shape({rows, G});  // d loss / d (x W + b_input)
    Array d_recurrent = Cell::kSeparateRecurrent ? Array::from_shape({rows, G}) : Array();
    Real* d_rec = Cell::kSeparateRecurrent ? d_recurrent.data() : d_input.data();
    Array dh = xt::zeros<Real>({B, H});
    Array dc = xt::zeros<Real>({B, Cell::kCellState ? H : 0});
    if (s.output_time > T) {  // the gradients of the appended final state start the recursion
      for (size_t row = 0; row < B; ++row) {
        const Real* d_state = out.grad.data() + (row * s.output_time + T) * H;
        std::copy(d_state, d_state + H, dh.data() + row * H);
        if (Cell::kCellState) std::copy(d_state + H, d_state + 2 * H, dc.data() + row * H);
      }
    }
    const size_t bias_size = Cell::kSeparateRecurrent ? 2 * G : G;
    Array bias_sums = xt::zeros<Real>({static_cast<size_t>(s.threads), bias_size});
    // U^T once, contiguous: the per-step d_recurrent @ U^T then runs as a plain product, which
    // oneDNN does twice as fast as the transposed one on these shapes.
    const Real* U = recurrent_kernel.value().data();
    Array U_transposed = Array::from_shape({G, H});
    for (size_t i = 0; i < H; ++i) {
      for (size_t k = 0; k < G; ++k) U_transposed.data()[k * H + i] = U[i * G + k];
    }
    InShares(B, s.threads, [&](size_t b0, size_t b1, int id) {
      BackwardShare<Cell>(s, U_transposed.data(), out.grad.data(), dh.data(), dc.data(),
                          d_input.data(), d_rec, bias_sums.data() + id * bias_size, b0, b1);
    });
    AccumulateGrad(h0, std::move(dh), Cell::kName);
    if (inputs.size() > 5) AccumulateGrad(inputs[5], std::move(dc), Cell::kName);
    if (recurrent_kernel.requires_grad()) {
      // dU = h_used^T @ d_recurrent, where h_used is h_prev times the mask.
      Array masked_h;
      const Real* h_used = s.h_prev.data();
      if (s.mask.dimension() == 2) {
        masked_h = Array::from_shape({rows, H});
        const Real* h_prev = s.h_prev.data();
        const Real* mask = s.mask.data();
        for (size_t r = 0; r < rows; ++r) {
          for (size_t j = 0; j < H; ++j) {
            masked_h.data()[r * H + j] = h_prev[r * H + j] * mask[(r / T) * H + j];
          }
        }
        h_used = masked_h.data();
      }
      Array grad = Array::from_shape({H, G});
      blas::Gemm(true, false, H, G, rows, Real(1), h_used, H, d_rec, G, Real(0), grad.data(), G);
      AccumulateGrad(recurrent_kernel, std::move(grad), Cell::kName);
    }
    if (bias.requires_grad()) {
      Array grad = xt::zeros<Real>({bias_size});
      for (int id = 0; id < s.threads; ++id) {
        const Real* partial = bias_sums.data() + id * bias_size;
        for (size_t k = 0; k < bias_size; ++k) grad.data()[k] += partial[k];
      }
      grad.reshape(bias.shape());
      AccumulateGrad(bias, std::move(grad), Cell::kName);
    }
    if (kernel.requires_grad()) {
      Array grad = Array::from_shape({D, G});
      blas::Gemm(true, false, D, G, rows, Real(1), x.value().data(), D, d_input.data(), G, Real(0),
                 grad.data(), G);
      AccumulateGrad(kernel, std::move(grad), Cell::kName);
    }
    if (x.requires_grad()) {
      Array grad = Array::from_shape({B, T, D});
      blas::Gemm(false, true, rows, D, G, Real(1), d_input.data(), G, kernel.value().data(), G,
                 Real(0), grad.data(), D);
      AccumulateGrad(x, std::move(grad), Cell::kName);
    }
  });
}

}  // namespace

Tensor LstmSequence(const Tensor& x, const Tensor& h0, const Tensor& c0, const Tensor& kernel,
                    const Tensor& recurrent_kernel, const Tensor& bias,
                    const SequenceOptions& options) {
  return RecurrentSequence<LstmCell>(x, h0, &c0, kernel, recurrent_kernel, bias, options);
}

Tensor SimpleRnnSequence(const Tensor& x, const Tensor& h0, const Tensor& kernel,
                         const Tensor& recurrent_kernel, const Tensor& bias,
                         const SequenceOptions& options) {
  return RecurrentSequence<SimpleRnnCell>(x, h0, nullptr, kernel, recurrent_kernel, bias, options);
}

Tensor GruSequence(const Tensor& x, const Tensor& h0, const Tensor& kernel,
                   const Tensor& recurrent_kernel, const Tensor& bias,
                   const SequenceOptions& options) {
  return RecurrentSequence<GruCell>(x, h0, nullptr, kernel, recurrent_kernel, bias, options);
}

namespace {

// An activation as tape ops; hard_sigmoid's clip(y, 0, 1) is relu(y) - relu(y - 1).
Tensor ActivateOp(Activation activation, const Tensor& x) {
  switch (activation) {
    case Activation::kTanh:
      return Tanh(x);
    case Activation::kSigmoid:
      return Sigmoid(x);
    case Activation::kHardSigmoid: {
      const Tensor y = Add(Scale(x, Real(0.2)), Tensor(Array{Real(0.5)}));
      return Sub(Relu(y), Relu(Sub(y, Tensor(Array{Real(1)}))));
    }
    case Activation::kRelu:
      return Relu(x);
    case Activation::kLinear:
      return x;
  }
  return x;
}

}  // namespace

Tensor GruResetBeforeSequence(const Tensor& x, const Tensor& h0, const Tensor& kernel,
                              const Tensor& recurrent_kernel, const Tensor& bias,
                              const SequenceOptions& options) {
  const bool go_backwards = options.go_backwards(), append_state = options.append_state();
  const bool zero_output_for_mask = options.zero_output_for_mask();
  const Array *recurrent_mask = options.recurrent_mask(), *step_mask = options.step_mask();
  const CellActivations activations = options.activations();
  const char* op = "GruResetBeforeSequence";
  if (x.dim() != 3 || h0.dim() != 2) {
    throw ShapeError(absl::StrFormat(
        "%s: x must be [batch, time, input_dim] and h0 [batch, units], got %s and %s", op,
        ShapeString(x.shape()), ShapeString(h0.shape())));
  }
  const size_t B = x.size(0), T = x.size(1), D = x.size(2), H = h0.size(1);
  CheckShape(op, h0, {B, H}, "h0");
  CheckShape(op, kernel, {D, 3 * H}, "kernel");
  CheckShape(op, recurrent_kernel, {H, 3 * H}, "recurrent_kernel");
  CheckShape(op, bias, {3 * H}, "bias");
  for (const auto& [what, array, shape] :
       {std::tuple<const char*, const Array*, Shape>{"recurrent_mask", recurrent_mask, {B, H}},
        {"step_mask", step_mask, {B, T}}}) {
    if (array != nullptr && ShapeOf(*array) != shape) {
      throw ShapeError(absl::StrFormat("%s: %s expected shape %s, got %s", op, what,
                                       ShapeString(shape), ShapeString(ShapeOf(*array))));
    }
  }
  // x W + b for every step at once, then one step at a time.
  const Tensor projected =
      Reshape(Add(MatMul(Reshape(x, {B * T, D}), kernel), bias), {B, T, 3 * H});
  const Tensor U_zr = Slice(recurrent_kernel, 1, 0, 2 * H);
  const Tensor U_h = Slice(recurrent_kernel, 1, 2 * H, 3 * H);
  const Tensor ones(xt::ones<Real>({B, H}));
  Tensor h = h0;
  std::vector<Tensor> outputs;
  for (size_t step = 0; step < T; ++step) {
    const size_t t = go_backwards ? T - 1 - step : step;
    const Tensor x_t = Reshape(Slice(projected, 1, t, t + 1), {B, 3 * H});
    const Tensor h_used = recurrent_mask != nullptr ? Mul(h, Tensor(*recurrent_mask)) : h;
    const Tensor zr = ActivateOp(activations.recurrent_activation,
                                 Add(Slice(x_t, 1, 0, 2 * H), MatMul(h_used, U_zr)));
    const Tensor z = Slice(zr, 1, 0, H), r = Slice(zr, 1, H, 2 * H);
    const Tensor n = ActivateOp(activations.activation,
                                Add(Slice(x_t, 1, 2 * H, 3 * H), MatMul(Mul(r, h_used), U_h)));
    const Tensor h_new = Add(Mul(z, h), Mul(Sub(ones, z), n));
    if (step_mask == nullptr) {
      h = h_new;
      outputs.push_back(Reshape(h, {B, 1, H}));
      continue;
    }
    // Keras' masking: the state carries over a masked step; the output is it, or zeros.
    const Tensor real(Array(xt::view(*step_mask, xt::all(), xt::range(t, t + 1))));
    const Tensor kept = Mul(real, h_new);
    h = Add(kept, Mul(Sub(Tensor(Array{Real(1)}), real), h));
    outputs.push_back(Reshape(zero_output_for_mask ? kept : h, {B, 1, H}));
  }
  if (append_state) outputs.push_back(Reshape(h, {B, 1, H}));
  if (outputs.empty()) return Tensor(xt::zeros<Real>({B, size_t{0}, H}));
  return Concat(outputs, 1);
}

bool ParseActivation(const std::string& name, Activation& activation) {
  static const std::pair<const char*, Activation> kNames[] = {
      {"tanh", Activation::kTanh},
      {"sigmoid", Activation::kSigmoid},
      {"hard_sigmoid", Activation::kHardSigmoid},
      {"relu", Activation::kRelu},
      {"linear", Activation::kLinear}};
  for (const auto& [known, value] : kNames) {
    if (name == known) {
      activation = value;
      return true;
    }
  }
  return false;
}

}  // namespace autograd
