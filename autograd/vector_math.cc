#include "autograd/vector_math.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <tuple>
#include <type_traits>

#include "xsimd/xsimd.hpp"

namespace autograd::vector_math {
namespace {
using Batch = xsimd::batch<Real>;

// f over data[0, n) in batches. The last, partial batch: through masked loads and stores where
// batches are AVX-512 registers, else through a padded copy (the recurrent cells' rows, 2 H and H,
// rarely fill whole batches, and scalar std::exp or std::tanh on the few left over cost as much as
// the vector code on the rest).
template <typename F>
void MapInPlace(Real* data, size_t n, const F& f) {
  size_t k = 0;
  for (; k + Batch::size <= n; k += Batch::size) {
    f(Batch::load_unaligned(data + k)).store_unaligned(data + k);
  }
  if (k == n) return;
#if defined(__AVX512F__)
  if constexpr (sizeof(typename Batch::register_type) == 64) {
    const unsigned keep = (1u << (n - k)) - 1;
    if constexpr (std::is_same_v<Real, float>) {
      _mm512_mask_storeu_ps(data + k, keep, f(Batch(_mm512_maskz_loadu_ps(keep, data + k))));
    } else {
      _mm512_mask_storeu_pd(data + k, keep, f(Batch(_mm512_maskz_loadu_pd(keep, data + k))));
    }
    return;
  }
#endif
  alignas(64) Real tail[Batch::size] = {};
  std::copy(data + k, data + n, tail);
  f(Batch::load_aligned(tail)).store_aligned(tail);
  std::copy(tail, tail + (n - k), data + k);
}

// exp(x) for float within 2^-14 relative, x in [-87, 87] (else clamped; NaN kept): 2^n p(r), with
// n = round(x / ln 2), r = x - n ln 2 in [-ln 2 / 2, ln 2 / 2] and p the Taylor polynomial of
// degree 4 (its remainder r^5 / 120 < 4.3e-5 = 2^-14.5). Half the instructions of xsimd::exp, which
// is accurate to the last bit.
Batch ExpApproximate(Batch x) {
  x = xsimd::select(x < Batch(-87.0f), Batch(-87.0f), x);
  x = xsimd::select(x > Batch(87.0f), Batch(87.0f), x);
  const auto n = xsimd::nearbyint_as_int(x * Batch(1.44269504088896341f));
  const Batch r = xsimd::fnma(xsimd::to_float(n), Batch(0.693147180559945309f), x);
  Batch p = xsimd::fma(Batch(1.0f / 24), r, Batch(1.0f / 6));
  p = xsimd::fma(p, r, Batch(0.5f));
  p = xsimd::fma(p, r, Batch(1.0f));
  p = xsimd::fma(p, r, Batch(1.0f));
  return p * xsimd::bitwise_cast<Batch>((n + 127) << 23);
}

}  // namespace

void SigmoidInPlaceApproximate(Real* data, size_t n) {
  if constexpr (std::is_same_v<Real, float>) {
    MapInPlace(data, n,
               [](Batch z) { return xsimd::reciprocal(Batch(1.0f) + ExpApproximate(-z)); });
  } else {
    SigmoidInPlace(data, n);
  }
}

void SigmoidInPlace(Real* data, size_t n) {
  const Batch one(Real(1));
  MapInPlace(data, n, [&](Batch z) { return one / (one + xsimd::exp(-z)); });
}

void TanhInPlace(Real* data, size_t n) {
  MapInPlace(data, n, [](Batch x) { return xsimd::tanh(x); });
}

void AdamUpdate(Real* parameter, Real* m, Real* v, const Real* gradient, size_t n, Real lr_t,
                Real beta1, Real beta2, Real epsilon) {
  const auto update = [=](auto p, auto mk, auto vk, auto g, auto one) {
    mk = beta1 * mk + (one - beta1) * g;
    vk = beta2 * vk + (one - beta2) * g * g;
    p = p - lr_t * mk / (xsimd::sqrt(vk) + epsilon);
    return std::make_tuple(p, mk, vk);
  };
  size_t k = 0;
  for (; k + Batch::size <= n; k += Batch::size) {
    auto [p, mk, vk] = update(Batch::load_unaligned(parameter + k), Batch::load_unaligned(m + k),
                              Batch::load_unaligned(v + k), Batch::load_unaligned(gradient + k),
                              Batch(Real(1)));
    p.store_unaligned(parameter + k);
    mk.store_unaligned(m + k);
    vk.store_unaligned(v + k);
  }
  for (; k < n; ++k) {
    std::tie(parameter[k], m[k], v[k]) = update(parameter[k], m[k], v[k], gradient[k], Real(1));
  }
}

}  // namespace autograd::vector_math
