#include "autograd/quantized.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "absl/strings/str_format.h"
#include "oneapi/dnnl/dnnl.h"

namespace autograd {

QuantizedMatrix QuantizeColumns(const Real* b, size_t k, size_t n) {
  QuantizedMatrix q;
  q.rows = k;
  q.columns = n;
  q.values.resize(k * n);
  q.scale.assign(n, 0.0f);
  q.column_sums.assign(n, 0);
  for (size_t p = 0; p < k; ++p) {
    for (size_t j = 0; j < n; ++j) {
      q.scale[j] = std::max(q.scale[j], static_cast<float>(std::fabs(b[p * n + j])));
    }
  }
  for (float& s : q.scale) s = s > 0 ? s / 127.0f : 1.0f;
  for (size_t p = 0; p < k; ++p) {
    for (size_t j = 0; j < n; ++j) {
      const long v = std::lrint(static_cast<float>(b[p * n + j]) / q.scale[j]);
      q.values[p * n + j] = static_cast<int8_t>(std::clamp(v, -127L, 127L));
      q.column_sums[j] += q.values[p * n + j];
    }
  }
  return q;
}

void QuantizedGemm(size_t m, const Real* a, size_t lda, const QuantizedMatrix& b, bool accumulate,
                   Real* c, size_t ldc, QuantizedGemmScratch& scratch) {
  const size_t k = b.rows, n = b.columns;
  if (m == 0 || n == 0) return;
  scratch.a.resize(m * k);
  scratch.a_scale.resize(m);
  scratch.a_zero.resize(m);
  scratch.product.resize(m * n);
  for (size_t i = 0; i < m; ++i) {
    const Real* __restrict row = a + i * lda;
    float low = 0, high = 0;  // the range includes 0, so that 0 is exact
    for (size_t p = 0; p < k; ++p) {
      low = std::min(low, static_cast<float>(row[p]));
      high = std::max(high, static_cast<float>(row[p]));
    }
    const float scale = high > low ? (high - low) / 255.0f : 1.0f;
    const float inverse = 1.0f / scale;
    const float zero = std::nearbyint(-low * inverse);  // in [0, 255]
    uint8_t* __restrict q = scratch.a.data() + i * k;
    for (size_t p = 0; p < k; ++p) {
      const float v = std::clamp(static_cast<float>(row[p]) * inverse + zero, 0.0f, 255.0f);
      q[p] = static_cast<uint8_t>(static_cast<int>(v + 0.5f));
    }
    scratch.a_scale[i] = scale;
    scratch.a_zero[i] = static_cast<int32_t>(zero);
  }
  const int32_t offset = 0;
  const dnnl_status_t status =
      dnnl_gemm_u8s8s32('N', 'N', 'F', static_cast<dnnl_dim_t>(m), static_cast<dnnl_dim_t>(n),
                        static_cast<dnnl_dim_t>(k), 1.0f, scratch.a.data(),
                        static_cast<dnnl_dim_t>(k), 0, b.values.data(), static_cast<dnnl_dim_t>(n),
                        0, 0.0f, scratch.product.data(), static_cast<dnnl_dim_t>(n), &offset);
  if (status != dnnl_success) {
    throw std::runtime_error(absl::StrFormat("dnnl_gemm_u8s8s32 (%d x %d x %d) failed: status %d",
                                             m, n, k, static_cast<int>(status)));
  }
  const float* __restrict b_scale = b.scale.data();
  const int32_t* __restrict sums = b.column_sums.data();
  for (size_t i = 0; i < m; ++i) {
    const int32_t* __restrict product = scratch.product.data() + i * n;
    Real* __restrict out = c + i * ldc;
    const float s = scratch.a_scale[i];
    const int32_t z = scratch.a_zero[i];
    if (accumulate) {
      for (size_t j = 0; j < n; ++j) {
        out[j] += static_cast<Real>(s * b_scale[j] * static_cast<float>(product[j] - z * sums[j]));
      }
    } else {
      for (size_t j = 0; j < n; ++j) {
        out[j] = static_cast<Real>(s * b_scale[j] * static_cast<float>(product[j] - z * sums[j]));
      }
    }
  }
}

bool HasInt8Dot() {
  const unsigned isa = static_cast<unsigned>(dnnl_get_effective_cpu_isa());
  const auto has = [&](dnnl_cpu_isa_t want) {
    return (isa & static_cast<unsigned>(want)) == static_cast<unsigned>(want);
  };
  return has(dnnl_cpu_isa_avx512_core_vnni) || has(dnnl_cpu_isa_avx2_vnni);
}

const QuantizedMatrix& QuantizedWeights::Get(const Array& b) {
  if (b.dimension() != 2) {
    throw ShapeError(
        absl::StrFormat("int8: a weight matrix must be 2-D, got %s", ShapeString(ShapeOf(b))));
  }
  auto [it, inserted] = cache_.try_emplace(b.data());
  if (inserted) it->second = QuantizeColumns(b.data(), b.shape()[0], b.shape()[1]);
  return it->second;
}

}  // namespace autograd
