#include "autograd/recurrent.h"

#include <cmath>
#include <memory>

#include "absl/strings/str_format.h"
#include "autograd/blas.h"
#include "autograd/vector_math.h"
#include "xtensor/xbuilder.hpp"

namespace autograd {
namespace {

void CheckShape(const Tensor& t, const Shape& expected, const char* what) {
  if (t.shape() != expected) {
    throw ShapeError(absl::StrFormat("LstmSequence: %s expected shape %s, got %s", what,
                                     ShapeString(expected), ShapeString(t.shape())));
  }
}

// One step of one sequence, forward: activates the pre-activations z = [i, f, g, o] in place,
// then c = f * c + i * g, tanh_c = tanh(c), h = out = o * tanh_c.
void CellForward(Real* __restrict z, Real* __restrict c, Real* __restrict tanh_c,
                 Real* __restrict h, Real* __restrict out, size_t H) {
  vector_math::SigmoidInPlace(z, 2 * H);      // i, f
  vector_math::TanhInPlace(z + 2 * H, H);     // g
  vector_math::SigmoidInPlace(z + 3 * H, H);  // o
  for (size_t j = 0; j < H; ++j) tanh_c[j] = c[j] = z[H + j] * c[j] + z[j] * z[2 * H + j];
  vector_math::TanhInPlace(tanh_c, H);
  for (size_t j = 0; j < H; ++j) out[j] = h[j] = z[3 * H + j] * tanh_c[j];
}

// One step of one sequence, backward. In: the saved gates [i, f, g, o], tanh(c), c before the
// step, d loss / d output dy, and dh, dc flowing back from the next step. Out: dz (d loss / d
// pre-activations) and, in place, dc for the previous step (dh is then recomputed from dz @ U^T).
void CellBackward(const Real* __restrict gate, const Real* __restrict tanh_c,
                  const Real* __restrict c_prev, const Real* __restrict dy,
                  const Real* __restrict dh, Real* __restrict dc, Real* __restrict dz, size_t H) {
  for (size_t j = 0; j < H; ++j) {
    const Real i = gate[j], f = gate[H + j], g = gate[2 * H + j], o = gate[3 * H + j];
    const Real tc = tanh_c[j];
    const Real dh_total = dy[j] + dh[j];
    const Real dc_total = dc[j] + dh_total * o * (Real(1) - tc * tc);
    dz[j] = dc_total * g * i * (Real(1) - i);
    dz[H + j] = dc_total * c_prev[j] * f * (Real(1) - f);
    dz[2 * H + j] = dc_total * i * (Real(1) - g * g);
    dz[3 * H + j] = dh_total * tc * o * (Real(1) - o);
    dc[j] = dc_total * f;
  }
}

// What backward needs, indexed like the input rows (row b * time + input_step).
struct LstmSaved {
  size_t batch, time, input_dim, units;
  bool go_backwards;
  Array gates;   // [batch * time, 4 * units]: activated i, f, g, o
  Array c_prev;  // [batch * time, units]: cell state before the step
  Array tanh_c;  // [batch * time, units]: tanh of the cell state after the step
  Array h_prev;  // [batch * time, units]: hidden state before the step, as multiplied by U
  Array recurrent_mask;  // [batch, units], or empty
};

}  // namespace

Tensor LstmSequence(const Tensor& x, const Tensor& h0, const Tensor& c0, const Tensor& kernel,
                    const Tensor& recurrent_kernel, const Tensor& bias, bool go_backwards,
                    const Array* recurrent_mask) {
  if (x.dim() != 3) {
    throw ShapeError(absl::StrFormat("LstmSequence: x must be [batch, time, input_dim], got %s",
                                     ShapeString(x.shape())));
  }
  auto saved = std::make_shared<LstmSaved>();
  LstmSaved& s = *saved;
  s.batch = x.size(0);
  s.time = x.size(1);
  s.input_dim = x.size(2);
  s.units = h0.dim() == 2 ? h0.size(1) : 0;
  s.go_backwards = go_backwards;
  const size_t B = s.batch, T = s.time, D = s.input_dim, H = s.units, G = 4 * H, rows = B * T;
  CheckShape(h0, {B, H}, "h0");
  CheckShape(c0, {B, H}, "c0");
  CheckShape(kernel, {D, G}, "kernel");
  CheckShape(recurrent_kernel, {H, G}, "recurrent_kernel");
  CheckShape(bias, {G}, "bias");
  if (recurrent_mask != nullptr) {
    if (ShapeOf(*recurrent_mask) != Shape{B, H}) {
      throw ShapeError(absl::StrFormat("LstmSequence: recurrent_mask expected shape %s, got %s",
                                       ShapeString({B, H}),
                                       ShapeString(ShapeOf(*recurrent_mask))));
    }
    s.recurrent_mask = *recurrent_mask;
  }
  const Real* mask = recurrent_mask == nullptr ? nullptr : s.recurrent_mask.data();

  // Input projection for every step at once; each step then adds h @ U in place and activates.
  s.gates = Array::from_shape({rows, G});
  Real* gates = s.gates.data();
  const Real* b = bias.value().data();
  for (size_t r = 0; r < rows; ++r) std::copy(b, b + G, gates + r * G);
  blas::Gemm(false, false, rows, G, D, Real(1), x.value().data(), D, kernel.value().data(), G,
             Real(1), gates, G);

  s.c_prev = Array::from_shape({rows, H});
  s.tanh_c = Array::from_shape({rows, H});
  s.h_prev = Array::from_shape({rows, H});
  Array output = Array::from_shape({B, T, H});
  Array h = h0.value(), c = c0.value();
  Array h_masked = Array::from_shape({B, H});
  const Real* U = recurrent_kernel.value().data();
  for (size_t step = 0; step < T; ++step) {
    const size_t t = go_backwards ? T - 1 - step : step;
    const Real* h_used = h.data();
    if (mask != nullptr) {
      for (size_t k = 0; k < B * H; ++k) h_masked.data()[k] = h.data()[k] * mask[k];
      h_used = h_masked.data();
    }
    // Rows of input step t are b * T + t: a stride of T rows.
    blas::Gemm(false, false, B, G, H, Real(1), h_used, H, U, G, Real(1), gates + t * G, T * G);
    for (size_t bi = 0; bi < B; ++bi) {
      const size_t row = bi * T + t;
      Real* z = gates + row * G;
      Real* hb = h.data() + bi * H;
      Real* cb = c.data() + bi * H;
      Real* tanh_c = s.tanh_c.data() + row * H;
      std::copy(h_used + bi * H, h_used + (bi + 1) * H, s.h_prev.data() + row * H);
      std::copy(cb, cb + H, s.c_prev.data() + row * H);
      CellForward(z, cb, tanh_c, hb, output.data() + (bi * T + step) * H, H);
    }
  }

  return MakeResult(
      std::move(output), {&x, &h0, &c0, &kernel, &recurrent_kernel, &bias},
      [saved, x, h0, c0, kernel, recurrent_kernel, bias](const Node& out) {
        const LstmSaved& s = *saved;
        const size_t B = s.batch, T = s.time, D = s.input_dim, H = s.units, G = 4 * H;
        const size_t rows = B * T;
        Array d_gates = Array::from_shape({rows, G});  // d loss / d pre-activation z
        Array dh = xt::zeros<Real>({B, H});
        Array dc = xt::zeros<Real>({B, H});
        const Real* U = recurrent_kernel.value().data();
        for (size_t step = T; step-- > 0;) {
          const size_t t = s.go_backwards ? T - 1 - step : step;
          for (size_t bi = 0; bi < B; ++bi) {
            const size_t row = bi * T + t;
            CellBackward(s.gates.data() + row * G, s.tanh_c.data() + row * H,
                         s.c_prev.data() + row * H, out.grad.data() + (bi * T + step) * H,
                         dh.data() + bi * H, dc.data() + bi * H, d_gates.data() + row * G, H);
          }
          // dh for the previous step = dz_t @ U^T.
          blas::Gemm(false, true, B, H, G, Real(1), d_gates.data() + t * G, T * G, U, G, Real(0),
                     dh.data(), H);
          if (s.recurrent_mask.dimension() == 2) dh *= s.recurrent_mask;
        }
        AccumulateGrad(h0, dh, "LstmSequence");
        AccumulateGrad(c0, dc, "LstmSequence");
        if (recurrent_kernel.requires_grad()) {
          Array grad = Array::from_shape({H, G});
          blas::Gemm(true, false, H, G, rows, Real(1), s.h_prev.data(), H, d_gates.data(), G,
                     Real(0), grad.data(), G);
          AccumulateGrad(recurrent_kernel, grad, "LstmSequence");
        }
        if (kernel.requires_grad()) {
          Array grad = Array::from_shape({D, G});
          blas::Gemm(true, false, D, G, rows, Real(1), x.value().data(), D, d_gates.data(), G,
                     Real(0), grad.data(), G);
          AccumulateGrad(kernel, grad, "LstmSequence");
        }
        if (bias.requires_grad()) {
          Array grad = xt::zeros<Real>({G});
          for (size_t r = 0; r < rows; ++r) {
            for (size_t k = 0; k < G; ++k) grad.data()[k] += d_gates.data()[r * G + k];
          }
          AccumulateGrad(bias, grad, "LstmSequence");
        }
        if (x.requires_grad()) {
          Array grad = Array::from_shape({B, T, D});
          blas::Gemm(false, true, rows, D, G, Real(1), d_gates.data(), G, kernel.value().data(), G,
                     Real(0), grad.data(), D);
          AccumulateGrad(x, grad, "LstmSequence");
        }
      });
}

}  // namespace autograd
