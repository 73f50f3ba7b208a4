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

  // Inference (nothing recorded) keeps no per-step history: one step's worth is enough.
  bool record = false;
  if (GradEnabled()) {
    for (const Tensor* input : {&x, &h0, &c0, &kernel, &recurrent_kernel, &bias}) {
      record = record || input->requires_grad();
    }
  }
  Array tanh_c_step;
  if (record) {
    s.c_prev = Array::from_shape({rows, H});
    s.tanh_c = Array::from_shape({rows, H});
    s.h_prev = Array::from_shape({rows, H});
  } else {
    tanh_c_step = Array::from_shape({B, H});
  }
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
      Real* tanh_c = record ? s.tanh_c.data() + row * H : tanh_c_step.data() + bi * H;
      if (record) {
        std::copy(h_used + bi * H, h_used + (bi + 1) * H, s.h_prev.data() + row * H);
        std::copy(cb, cb + H, s.c_prev.data() + row * H);
      }
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

namespace autograd {
namespace {

// Shapes shared by the recurrent ops: x [B, T, D], h0 [B, H], kernel [D, G], recurrent [H, G].
struct RecurrentShape {
  size_t batch, time, input_dim, units, gates;
};

RecurrentShape CheckRecurrent(const char* op, const Tensor& x, const Tensor& h0,
                              const Tensor& kernel, const Tensor& recurrent_kernel,
                              size_t gate_count) {
  if (x.dim() != 3 || h0.dim() != 2) {
    throw ShapeError(absl::StrFormat("%s: x must be [batch, time, input_dim] and h0 [batch, units], "
                                     "got %s and %s",
                                     op, ShapeString(x.shape()), ShapeString(h0.shape())));
  }
  RecurrentShape s{x.size(0), x.size(1), x.size(2), h0.size(1), gate_count * h0.size(1)};
  const auto check = [&](const Tensor& t, const Shape& expected, const char* what) {
    if (t.shape() != expected) {
      throw ShapeError(absl::StrFormat("%s: %s expected shape %s, got %s", op, what,
                                       ShapeString(expected), ShapeString(t.shape())));
    }
  };
  check(h0, {s.batch, s.units}, "h0");
  check(kernel, {s.input_dim, s.gates}, "kernel");
  check(recurrent_kernel, {s.units, s.gates}, "recurrent_kernel");
  return s;
}

// Column sums of a [rows, width] buffer, added to `sum`.
void AddColumnSums(const Real* data, size_t rows, size_t width, Real* sum) {
  for (size_t r = 0; r < rows; ++r) {
    for (size_t k = 0; k < width; ++k) sum[k] += data[r * width + k];
  }
}

// Weight and input gradients common to the recurrent ops, from d(pre-activation) of the input
// projection [B * T, G] (rows b * T + t, like x).
void AccumulateInputSide(const Tensor& x, const Tensor& kernel, const Array& d_input,
                         const RecurrentShape& s, const char* op) {
  const size_t rows = s.batch * s.time;
  if (kernel.requires_grad()) {
    Array grad = Array::from_shape({s.input_dim, s.gates});
    blas::Gemm(true, false, s.input_dim, s.gates, rows, Real(1), x.value().data(), s.input_dim,
               d_input.data(), s.gates, Real(0), grad.data(), s.gates);
    AccumulateGrad(kernel, grad, op);
  }
  if (x.requires_grad()) {
    Array grad = Array::from_shape({s.batch, s.time, s.input_dim});
    blas::Gemm(false, true, rows, s.input_dim, s.gates, Real(1), d_input.data(), s.gates,
               kernel.value().data(), s.gates, Real(0), grad.data(), s.input_dim);
    AccumulateGrad(x, grad, op);
  }
}

// x @ kernel for every step at once, plus `bias` on every row: [B * T, G].
Array InputProjection(const Tensor& x, const Tensor& kernel, const Real* bias,
                      const RecurrentShape& s) {
  const size_t rows = s.batch * s.time;
  Array projected = Array::from_shape({rows, s.gates});
  for (size_t r = 0; r < rows; ++r) std::copy(bias, bias + s.gates, projected.data() + r * s.gates);
  blas::Gemm(false, false, rows, s.gates, s.input_dim, Real(1), x.value().data(), s.input_dim,
             kernel.value().data(), s.gates, Real(1), projected.data(), s.gates);
  return projected;
}

}  // namespace

Tensor SimpleRnnSequence(const Tensor& x, const Tensor& h0, const Tensor& kernel,
                         const Tensor& recurrent_kernel, const Tensor& bias, bool go_backwards) {
  const RecurrentShape s = CheckRecurrent("SimpleRnnSequence", x, h0, kernel, recurrent_kernel, 1);
  if (bias.shape() != Shape{s.units}) {
    throw ShapeError(absl::StrFormat("SimpleRnnSequence: bias expected shape %s, got %s",
                                     ShapeString({s.units}), ShapeString(bias.shape())));
  }
  const size_t B = s.batch, T = s.time, H = s.units;
  // Activated states, rows b * T + t like x; h_prev likewise.
  auto states = std::make_shared<Array>(InputProjection(x, kernel, bias.value().data(), s));
  auto h_prev = std::make_shared<Array>(Array::from_shape({B * T, H}));
  Array output = Array::from_shape({B, T, H});
  Array h = h0.value();
  for (size_t step = 0; step < T; ++step) {
    const size_t t = go_backwards ? T - 1 - step : step;
    Real* z = states->data() + t * H;
    blas::Gemm(false, false, B, H, H, Real(1), h.data(), H, recurrent_kernel.value().data(), H,
               Real(1), z, T * H);
    for (size_t bi = 0; bi < B; ++bi) {
      Real* row = states->data() + (bi * T + t) * H;
      std::copy(h.data() + bi * H, h.data() + (bi + 1) * H, h_prev->data() + (bi * T + t) * H);
      vector_math::TanhInPlace(row, H);
      std::copy(row, row + H, h.data() + bi * H);
      std::copy(row, row + H, output.data() + (bi * T + step) * H);
    }
  }
  return MakeResult(
      std::move(output), {&x, &h0, &kernel, &recurrent_kernel, &bias},
      [s, go_backwards, states, h_prev, x, h0, kernel, recurrent_kernel, bias](const Node& out) {
        const size_t B = s.batch, T = s.time, H = s.units;
        Array dz = Array::from_shape({B * T, H});
        Array dh = xt::zeros<Real>({B, H});
        for (size_t step = T; step-- > 0;) {
          const size_t t = go_backwards ? T - 1 - step : step;
          for (size_t bi = 0; bi < B; ++bi) {
            const size_t row = bi * T + t;
            const Real* h_t = states->data() + row * H;
            const Real* dy = out.grad.data() + (bi * T + step) * H;
            for (size_t j = 0; j < H; ++j) {
              dz.data()[row * H + j] = (dy[j] + dh.data()[bi * H + j]) * (Real(1) - h_t[j] * h_t[j]);
            }
          }
          blas::Gemm(false, true, B, H, H, Real(1), dz.data() + t * H, T * H,
                     recurrent_kernel.value().data(), H, Real(0), dh.data(), H);
        }
        AccumulateGrad(h0, dh, "SimpleRnnSequence");
        if (recurrent_kernel.requires_grad()) {
          Array grad = Array::from_shape({H, H});
          blas::Gemm(true, false, H, H, B * T, Real(1), h_prev->data(), H, dz.data(), H, Real(0),
                     grad.data(), H);
          AccumulateGrad(recurrent_kernel, grad, "SimpleRnnSequence");
        }
        if (bias.requires_grad()) {
          Array grad = xt::zeros<Real>({H});
          AddColumnSums(dz.data(), B * T, H, grad.data());
          AccumulateGrad(bias, grad, "SimpleRnnSequence");
        }
        AccumulateInputSide(x, kernel, dz, s, "SimpleRnnSequence");
      });
}

namespace {

// What GRU backward needs, rows b * T + t like x.
struct GruSaved {
  Array gates;      // [B * T, 3H]: z, r, n (activated)
  Array recurrent;  // [B * T, 3H]: h @ U + bias[1] (hz, hr, hh)
  Array h_prev;     // [B * T, H]
};

}  // namespace

Tensor GruSequence(const Tensor& x, const Tensor& h0, const Tensor& kernel,
                   const Tensor& recurrent_kernel, const Tensor& bias, bool go_backwards) {
  const RecurrentShape s = CheckRecurrent("GruSequence", x, h0, kernel, recurrent_kernel, 3);
  const size_t B = s.batch, T = s.time, H = s.units, G = s.gates;
  if (bias.shape() != Shape{2, G}) {
    throw ShapeError(absl::StrFormat("GruSequence: bias expected shape %s, got %s",
                                     ShapeString({2, G}), ShapeString(bias.shape())));
  }
  auto saved = std::make_shared<GruSaved>();
  saved->gates = InputProjection(x, kernel, bias.value().data(), s);
  saved->recurrent = Array::from_shape({B * T, G});
  saved->h_prev = Array::from_shape({B * T, H});
  Array output = Array::from_shape({B, T, H});
  Array h = h0.value();
  Array projected = Array::from_shape({B, G});
  const Real* recurrent_bias = bias.value().data() + G;
  for (size_t step = 0; step < T; ++step) {
    const size_t t = go_backwards ? T - 1 - step : step;
    for (size_t bi = 0; bi < B; ++bi) {
      std::copy(recurrent_bias, recurrent_bias + G, projected.data() + bi * G);
    }
    blas::Gemm(false, false, B, G, H, Real(1), h.data(), H, recurrent_kernel.value().data(), G,
               Real(1), projected.data(), G);
    for (size_t bi = 0; bi < B; ++bi) {
      const size_t row = bi * T + t;
      Real* g = saved->gates.data() + row * G;  // xz, xr, xh -> z, r, n
      const Real* p = projected.data() + bi * G;
      Real* hb = h.data() + bi * H;
      std::copy(p, p + G, saved->recurrent.data() + row * G);
      std::copy(hb, hb + H, saved->h_prev.data() + row * H);
      for (size_t k = 0; k < 2 * H; ++k) g[k] += p[k];
      vector_math::SigmoidInPlace(g, 2 * H);
      for (size_t j = 0; j < H; ++j) g[2 * H + j] += g[H + j] * p[2 * H + j];
      vector_math::TanhInPlace(g + 2 * H, H);
      Real* out = output.data() + (bi * T + step) * H;
      for (size_t j = 0; j < H; ++j) {
        out[j] = hb[j] = g[j] * hb[j] + (Real(1) - g[j]) * g[2 * H + j];
      }
    }
  }
  return MakeResult(
      std::move(output), {&x, &h0, &kernel, &recurrent_kernel, &bias},
      [s, go_backwards, saved, x, h0, kernel, recurrent_kernel, bias](const Node& out) {
        const size_t B = s.batch, T = s.time, H = s.units, G = s.gates;
        Array d_input = Array::from_shape({B * T, G});      // d(x @ W + b_i)
        Array d_recurrent = Array::from_shape({B * T, G});  // d(h @ U + b_r)
        Array dh = xt::zeros<Real>({B, H});
        Array dh_next = Array::from_shape({B, H});
        for (size_t step = T; step-- > 0;) {
          const size_t t = go_backwards ? T - 1 - step : step;
          for (size_t bi = 0; bi < B; ++bi) {
            const size_t row = bi * T + t;
            const Real* g = saved->gates.data() + row * G;
            const Real* p = saved->recurrent.data() + row * G;
            const Real* hp = saved->h_prev.data() + row * H;
            const Real* dy = out.grad.data() + (bi * T + step) * H;
            Real* di = d_input.data() + row * G;
            Real* dr = d_recurrent.data() + row * G;
            for (size_t j = 0; j < H; ++j) {
              const Real z = g[j], r = g[H + j], n = g[2 * H + j];
              const Real dh_total = dy[j] + dh.data()[bi * H + j];
              const Real dn = dh_total * (Real(1) - z) * (Real(1) - n * n);
              const Real dz = dh_total * (hp[j] - n) * z * (Real(1) - z);
              const Real d_r = dn * p[2 * H + j] * r * (Real(1) - r);
              di[j] = dr[j] = dz;
              di[H + j] = dr[H + j] = d_r;
              di[2 * H + j] = dn;
              dr[2 * H + j] = dn * r;
              dh_next.data()[bi * H + j] = dh_total * z;
            }
          }
          // dh for the previous step: the direct path through z, plus d_recurrent @ U^T.
          blas::Gemm(false, true, B, H, G, Real(1), d_recurrent.data() + t * G, T * G,
                     recurrent_kernel.value().data(), G, Real(1), dh_next.data(), H);
          std::swap(dh, dh_next);
        }
        AccumulateGrad(h0, dh, "GruSequence");
        if (recurrent_kernel.requires_grad()) {
          Array grad = Array::from_shape({H, G});
          blas::Gemm(true, false, H, G, B * T, Real(1), saved->h_prev.data(), H,
                     d_recurrent.data(), G, Real(0), grad.data(), G);
          AccumulateGrad(recurrent_kernel, grad, "GruSequence");
        }
        if (bias.requires_grad()) {
          Array grad = xt::zeros<Real>({size_t{2}, G});
          AddColumnSums(d_input.data(), B * T, G, grad.data());
          AddColumnSums(d_recurrent.data(), B * T, G, grad.data() + G);
          AccumulateGrad(bias, grad, "GruSequence");
        }
        AccumulateInputSide(x, kernel, d_input, s, "GruSequence");
      });
}

}  // namespace autograd
