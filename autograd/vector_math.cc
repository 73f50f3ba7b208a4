#include "autograd/vector_math.h"

#include <cmath>
#include <tuple>

#include "xsimd/xsimd.hpp"

namespace autograd::vector_math {
namespace {
using Batch = xsimd::batch<Real>;
}  // namespace

void SigmoidInPlace(Real* data, size_t n) {
  const Batch one(Real(1));
  size_t k = 0;
  for (; k + Batch::size <= n; k += Batch::size) {
    const Batch z = Batch::load_unaligned(data + k);
    (one / (one + xsimd::exp(-z))).store_unaligned(data + k);
  }
  for (; k < n; ++k) data[k] = Real(1) / (Real(1) + std::exp(-data[k]));
}

void TanhInPlace(Real* data, size_t n) {
  size_t k = 0;
  for (; k + Batch::size <= n; k += Batch::size) {
    xsimd::tanh(Batch::load_unaligned(data + k)).store_unaligned(data + k);
  }
  for (; k < n; ++k) data[k] = std::tanh(data[k]);
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
