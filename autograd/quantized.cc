#include "autograd/quantized.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <type_traits>

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
  const size_t groups = (k + 3) / 4;
  q.padded_columns = (n + 15) / 16 * 16;
  q.packed.assign(groups * q.padded_columns * 4, 0);
  q.packed_scale.assign(q.padded_columns, 0.0f);
  q.scaled_sums.assign(q.padded_columns, 0.0f);
  for (size_t p = 0; p < k; ++p) {
    for (size_t j = 0; j < n; ++j) {
      q.packed[((p / 4) * q.padded_columns + j) * 4 + p % 4] = q.values[p * n + j];
    }
  }
  for (size_t j = 0; j < n; ++j) {
    q.packed_scale[j] = q.scale[j];
    q.scaled_sums[j] = q.scale[j] * static_cast<float>(q.column_sums[j]);
  }
  return q;
}

namespace {

bool HasAvx512Vnni() {
  static const bool has = __builtin_cpu_supports("avx512vnni") &&
                          __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
  return has;
}

// acc += a (u8) . b (s8), 4 products per int32 lane. Inline assembly rather than
// _mm512_dpbusd_epi32: with the intrinsic GCC copies every accumulator to a fresh register (and
// spills two of a 4x4 block to the stack) on each step; "+v" keeps each one in its register.
__attribute__((target("avx512f,avx512vnni"), always_inline)) inline __m512i Dpbusd(__m512i acc,
                                                                                   __m512i a,
                                                                                   __m512i b) {
  asm("vpdpbusd %[b], %[a], %[acc]" : [acc] "+v"(acc) : [a] "v"(a), [b] "v"(b));
  return acc;
}

// Rows [i0, i0 + R) of C, columns [16 j0, 16 (j0 + J)): R x J accumulators of 16 int32, over the
// k groups of 4 (vpdpbusd: u8 x s8, 4 products summed into each int32 lane), then dequantized
// into C: C = s_i (scale_j acc - z_i scale_j sum_j).
template <int R, int J>
__attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni"))) void VnniBlock(
    const uint8_t* a, size_t a_stride, const float* a_scale, const float* a_zero,
    const QuantizedMatrix& b, size_t j0, bool accumulate, const float* bias, float* c, size_t ldc) {
  const size_t groups = (b.rows + 3) / 4, P = b.padded_columns;
  __m512i acc[R][J];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 5
    for (int j = 0; j < J; ++j) acc[r][j] = _mm512_setzero_si512();
  }
  const int8_t* bp = b.packed.data() + j0 * 16 * 4;
  for (size_t g = 0; g < groups; ++g) {
    __m512i bv[J];
#pragma GCC unroll 5
    for (int j = 0; j < J; ++j) bv[j] = _mm512_loadu_si512(bp + (g * P + j * 16) * 4);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      int32_t four;
      std::memcpy(&four, a + r * a_stride + 4 * g, 4);
      const __m512i av = _mm512_set1_epi32(four);
      if constexpr (J == 5) {
        asm("vpdpbusd %[b0], %[a], %[c0]\n\t"
            "vpdpbusd %[b1], %[a], %[c1]\n\t"
            "vpdpbusd %[b2], %[a], %[c2]\n\t"
            "vpdpbusd %[b3], %[a], %[c3]\n\t"
            "vpdpbusd %[b4], %[a], %[c4]"
            : [c0] "+v"(acc[r][0]), [c1] "+v"(acc[r][1]), [c2] "+v"(acc[r][2]),
              [c3] "+v"(acc[r][3]), [c4] "+v"(acc[r][4])
            : [a] "v"(av), [b0] "v"(bv[0]), [b1] "v"(bv[1]), [b2] "v"(bv[2]), [b3] "v"(bv[3]),
              [b4] "v"(bv[4]));
      } else {
#pragma GCC unroll 5
        for (int j = 0; j < J; ++j) acc[r][j] = Dpbusd(acc[r][j], av, bv[j]);
      }
    }
  }
  const size_t n = b.columns;
  const bool full = (j0 + J) * 16 <= n;
  // In locals: a store through an __m512 pointer may alias anything, the vectors' own pointers too.
  const float* column_scale = b.packed_scale.data();
  const float* scaled_sums = b.scaled_sums.data();
  __mmask16 keep[J];
#pragma GCC unroll 5
  for (int j = 0; j < J; ++j) {
    const size_t col = (j0 + j) * 16;
    keep[j] = col + 16 <= n ? __mmask16(0xFFFF) : __mmask16((1u << (n - col)) - 1);
  }
  // Unrolled, so that the accumulators stay in registers (a loop indexes them on the stack). Row
  // by row, so that the row's scale and zero point are broadcast once.
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) {
    const __m512 s = _mm512_set1_ps(a_scale[r]), z = _mm512_set1_ps(a_zero[r]);
#pragma GCC unroll 5
    for (int j = 0; j < J; ++j) {
      const size_t col = (j0 + j) * 16;
      __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(acc[r][j]), _mm512_loadu_ps(column_scale + col));
      v = _mm512_fnmadd_ps(z, _mm512_loadu_ps(scaled_sums + col), v);
      float* out = c + r * ldc + col;
      // What the product adds to: C, the bias, both or neither. Plain loads and stores on whole
      // panels: masked ones cost more.
      __m512 base = _mm512_setzero_ps();
      if (accumulate) base = full ? _mm512_loadu_ps(out) : _mm512_maskz_loadu_ps(keep[j], out);
      if (bias != nullptr) base = _mm512_add_ps(base, _mm512_maskz_loadu_ps(keep[j], bias + col));
      v = _mm512_fmadd_ps(v, s, base);
      if (full) {
        _mm512_storeu_ps(out, v);
      } else {
        _mm512_mask_storeu_ps(out, keep[j], v);
      }
    }
  }
}

// Columns [16 j0, 16 (j0 + J)) of every row of C. The column panel of B (J * 64 bytes per group of
// 4 rows of B) stays in L1 while the row blocks pass; all of B, streamed once per row block,
// would not fit.
template <int J>
void VnniColumns(size_t m, const uint8_t* a, size_t a_stride, const float* a_scale,
                 const float* a_zero, const QuantizedMatrix& b, size_t j0, bool accumulate,
                 const float* bias, float* c, size_t ldc) {
  size_t i = 0;
  for (; i + 4 <= m; i += 4) {
    VnniBlock<4, J>(a + i * a_stride, a_stride, a_scale + i, a_zero + i, b, j0, accumulate, bias,
                    c + i * ldc, ldc);
  }
  for (; i < m; ++i) {
    VnniBlock<1, J>(a + i * a_stride, a_stride, a_scale + i, a_zero + i, b, j0, accumulate, bias,
                    c + i * ldc, ldc);
  }
}

// C = A1 B1 + A2 B2 + bias over columns [16 j0, 16 (j0 + J)) of every row: for each block of rows
// the second product right after the first, so that it adds to C's rows while they are in L1.
template <int J>
void VnniColumnsPair(size_t m, const QuantizedRows& a1, size_t first1, const QuantizedMatrix& b1,
                     const QuantizedRows& a2, size_t first2, const QuantizedMatrix& b2, size_t j0,
                     const float* bias, float* c, size_t ldc) {
  const uint8_t* q1 = a1.values.data() + first1 * a1.stride;
  const uint8_t* q2 = a2.values.data() + first2 * a2.stride;
  const float *s1 = a1.scale.data() + first1, *z1 = a1.zero.data() + first1;
  const float *s2 = a2.scale.data() + first2, *z2 = a2.zero.data() + first2;
  size_t i = 0;
  for (; i + 4 <= m; i += 4) {
    VnniBlock<4, J>(q1 + i * a1.stride, a1.stride, s1 + i, z1 + i, b1, j0, false, bias, c + i * ldc,
                    ldc);
    VnniBlock<4, J>(q2 + i * a2.stride, a2.stride, s2 + i, z2 + i, b2, j0, true, nullptr,
                    c + i * ldc, ldc);
  }
  for (; i < m; ++i) {
    VnniBlock<1, J>(q1 + i * a1.stride, a1.stride, s1 + i, z1 + i, b1, j0, false, bias, c + i * ldc,
                    ldc);
    VnniBlock<1, J>(q2 + i * a2.stride, a2.stride, s2 + i, z2 + i, b2, j0, true, nullptr,
                    c + i * ldc, ldc);
  }
}

// Rows' quantization (QuantizedRows): the AVX-512 form and the plain one give the same bytes (the
// same divisions, a fused multiply-add, then round half to even). Here 16 rows at a time: their
// ranges, then their scales and zero points in one vector, then their values, so that one row's
// chain of reductions and divisions overlaps the others'.
[[maybe_unused]] __attribute__((target("avx512f,avx512bw,avx512vl"))) void QuantizeRowsAvx512(
    const float* a, size_t lda, size_t m, size_t k, size_t padded, uint8_t* q, size_t q_stride,
    float* scale, float* zero, size_t out_step) {
  for (size_t i0 = 0; i0 < m; i0 += 16) {
    const size_t rows = std::min<size_t>(16, m - i0);
    alignas(64) float lows[16] = {}, highs[16] = {}, scales[16], inverses[16], zeros[16];
    bool finite[16];
    for (size_t r = 0; r < rows; ++r) {
      const float* row = a + (i0 + r) * lda;
      __m512 low = _mm512_setzero_ps(), high = _mm512_setzero_ps();
      __mmask16 not_finite = 0;  // v - v is NaN for NaN and the infinities
      for (size_t p = 0; p < k; p += 16) {
        const __mmask16 keep = p + 16 <= k ? __mmask16(0xFFFF) : __mmask16((1u << (k - p)) - 1);
        const __m512 v = _mm512_maskz_loadu_ps(keep, row + p);
        const __m512 d = _mm512_sub_ps(v, v);
        not_finite |= _mm512_cmp_ps_mask(d, d, _CMP_UNORD_Q);
        low = _mm512_min_ps(low, v);
        high = _mm512_max_ps(high, v);
      }
      lows[r] = _mm512_reduce_min_ps(low);
      highs[r] = _mm512_reduce_max_ps(high);
      finite[r] = not_finite == 0;
    }
    const __m512 low = _mm512_load_ps(lows), high = _mm512_load_ps(highs);
    const __mmask16 spans = _mm512_cmp_ps_mask(high, low, _CMP_GT_OQ);
    const __m512 s = _mm512_mask_div_ps(_mm512_set1_ps(1.0f), spans, _mm512_sub_ps(high, low),
                                        _mm512_set1_ps(255.0f));
    const __m512 inverse = _mm512_div_ps(_mm512_set1_ps(1.0f), s);
    _mm512_store_ps(scales, s);
    _mm512_store_ps(inverses, inverse);
    _mm512_store_ps(
        zeros, _mm512_roundscale_ps(_mm512_mul_ps(_mm512_sub_ps(_mm512_setzero_ps(), low), inverse),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    const __m512 top = _mm512_set1_ps(255.0f), bottom = _mm512_setzero_ps();
    for (size_t r = 0; r < rows; ++r) {
      const float* row = a + (i0 + r) * lda;
      uint8_t* out = q + (i0 + r) * out_step * q_stride;
      const __m512 inv = _mm512_set1_ps(inverses[r]), zv = _mm512_set1_ps(zeros[r]);
      for (size_t p = 0; p < padded; p += 16) {
        const __mmask16 keep = p + 16 <= k ? __mmask16(0xFFFF)
                               : p >= k    ? __mmask16(0)
                                           : __mmask16((1u << (k - p)) - 1);
        const __mmask16 store =
            p + 16 <= padded ? __mmask16(0xFFFF) : __mmask16((1u << (padded - p)) - 1);
        __m512 v = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(keep, row + p), inv, zv);
        v = _mm512_min_ps(_mm512_max_ps(v, bottom), top);
        const __m512i i = _mm512_maskz_mov_epi32(keep, _mm512_cvtps_epi32(v));  // half to even
        _mm_mask_storeu_epi8(out + p, store, _mm512_cvtepi32_epi8(i));
      }
      scale[(i0 + r) * out_step] = finite[r] ? scales[r] : std::numeric_limits<float>::quiet_NaN();
      zero[(i0 + r) * out_step] = finite[r] ? zeros[r] : 0.0f;
    }
  }
}

void QuantizeRowPlain(const Real* row, size_t k, size_t padded, uint8_t* q, float& scale_out,
                      float& zero_out) {
  float low = 0, high = 0;  // the range includes 0, so that 0 is exact
  bool finite = true;
  for (size_t p = 0; p < k; ++p) {
    low = std::min(low, static_cast<float>(row[p]));
    high = std::max(high, static_cast<float>(row[p]));
    finite = finite && std::isfinite(static_cast<float>(row[p]));
  }
  if (!finite) {
    std::fill(q, q + padded, uint8_t{0});
    scale_out = std::numeric_limits<float>::quiet_NaN();
    zero_out = 0;
    return;
  }
  const float scale = high > low ? (high - low) / 255.0f : 1.0f;
  const float inverse = 1.0f / scale;
  const float zero = std::nearbyint(-low * inverse);  // in [0, 255]
  for (size_t p = 0; p < k; ++p) {
    const float v = std::fma(static_cast<float>(row[p]), inverse, zero);
    q[p] = static_cast<uint8_t>(std::nearbyint(std::clamp(v, 0.0f, 255.0f)));
  }
  std::fill(q + k, q + padded, uint8_t{0});
  scale_out = scale;
  zero_out = zero;
}

bool HasAvx512() {
  static const bool has = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512vl");
  return has;
}

// panel(std::integral_constant<int, J>(), j0) over the blocks of 16 columns in panels of J = 5
// blocks (4 x 5 accumulators, 5 registers of B and 1 of A: 26 of the 32), then what is left.
template <typename Panel>
void ForEachPanel(size_t blocks, const Panel& panel) {
  size_t j = 0;
  for (; j + 5 <= blocks; j += 5) panel(std::integral_constant<int, 5>(), j);
  switch (blocks - j) {
    case 4: return panel(std::integral_constant<int, 4>(), j);
    case 3: return panel(std::integral_constant<int, 3>(), j);
    case 2: return panel(std::integral_constant<int, 2>(), j);
    case 1: return panel(std::integral_constant<int, 1>(), j);
  }
}

template <typename T>
bool TryQuantizeRowsAvx512(const T* a, size_t lda, size_t m, size_t k, size_t padded, uint8_t* q,
                           size_t q_stride, float* scale, float* zero, size_t out_step) {
  if constexpr (std::is_same_v<T, float>) {
    if (!HasAvx512()) return false;
    QuantizeRowsAvx512(a, lda, m, k, padded, q, q_stride, scale, zero, out_step);
    return true;
  } else {
    return false;
  }
}

// Our kernel where the processor has AVX512-VNNI (float only: the double build uses oneDNN's).
template <typename T>
bool TryVnniGemm(const QuantizedRows& a, size_t first, size_t m, const QuantizedMatrix& b,
                 bool accumulate, const T* bias, T* c, size_t ldc) {
  if constexpr (std::is_same_v<T, float>) {
    if (!HasAvx512Vnni() || b.packed.empty()) return false;
    const uint8_t* q = a.values.data() + first * a.stride;
    const float* scale = a.scale.data() + first;
    const float* zero = a.zero.data() + first;
    ForEachPanel(b.padded_columns / 16, [&](auto width, size_t j) {
      VnniColumns<decltype(width)::value>(m, q, a.stride, scale, zero, b, j, accumulate, bias, c,
                                          ldc);
    });
    return true;
  } else {
    return false;
  }
}

template <typename T>
bool TryVnniGemmPair(const QuantizedRows& a1, size_t first1, const QuantizedMatrix& b1,
                     const QuantizedRows& a2, size_t first2, const QuantizedMatrix& b2, size_t m,
                     T* c, size_t ldc, const T* bias) {
  if constexpr (std::is_same_v<T, float>) {
    if (!HasAvx512Vnni() || b1.packed.empty() || b2.packed.empty()) return false;
    ForEachPanel(b1.padded_columns / 16, [&](auto width, size_t j) {
      VnniColumnsPair<decltype(width)::value>(m, a1, first1, b1, a2, first2, b2, j, bias, c, ldc);
    });
    return true;
  } else {
    return false;
  }
}

void OneDnnGemm(const QuantizedRows& a, size_t first, size_t m, const QuantizedMatrix& b,
                bool accumulate, const Real* bias, Real* c, size_t ldc,
                std::vector<int32_t>& product) {
  const size_t k = b.rows, n = b.columns;
  product.resize(m * n);
  const int32_t offset = 0;
  const dnnl_status_t status = dnnl_gemm_u8s8s32(
      'N', 'N', 'F', static_cast<dnnl_dim_t>(m), static_cast<dnnl_dim_t>(n),
      static_cast<dnnl_dim_t>(k), 1.0f, a.values.data() + first * a.stride,
      static_cast<dnnl_dim_t>(a.stride), 0, b.values.data(), static_cast<dnnl_dim_t>(n), 0, 0.0f,
      product.data(), static_cast<dnnl_dim_t>(n), &offset);
  if (status != dnnl_success) {
    throw std::runtime_error(absl::StrFormat("dnnl_gemm_u8s8s32 (%d x %d x %d) failed: status %d",
                                             m, n, k, static_cast<int>(status)));
  }
  const float* __restrict b_scale = b.scale.data();
  const int32_t* __restrict sums = b.column_sums.data();
  for (size_t i = 0; i < m; ++i) {
    const int32_t* __restrict row = product.data() + i * n;
    Real* __restrict out = c + i * ldc;
    const float s = a.scale[first + i];
    const int32_t z = static_cast<int32_t>(a.zero[first + i]);
    for (size_t j = 0; j < n; ++j) {
      const Real v = static_cast<Real>(s * b_scale[j] * static_cast<float>(row[j] - z * sums[j]));
      out[j] = (accumulate ? out[j] : Real(0)) + (bias != nullptr ? bias[j] : Real(0)) + v;
    }
  }
}

void CheckRows(const QuantizedRows& a, size_t first, size_t m, const QuantizedMatrix& b) {
  if (a.k != b.rows || first + m > a.scale.size()) {
    throw ShapeError(absl::StrFormat(
        "int8: rows [%d, %d) of %d quantized rows of %d values times a [%d, %d] matrix", first,
        first + m, a.scale.size(), a.k, b.rows, b.columns));
  }
}

void QuantizeInto(size_t m, const Real* a, size_t lda, size_t k, QuantizedRows& rows) {
  rows.Resize(m, k);
  rows.Set(0, 1, m, a, lda);
}

}  // namespace

void QuantizedRows::Resize(size_t rows, size_t row_length) {
  k = row_length;
  stride = (k + 3) / 4 * 4;
  values.resize(rows * stride);
  scale.resize(rows);
  zero.resize(rows);
}

void QuantizedRows::Set(size_t first, size_t step, size_t m, const Real* a, size_t lda) {
  if (m == 0) return;
  if (first + (m - 1) * step >= scale.size()) {
    throw ShapeError(
        absl::StrFormat("int8: row %d of %d quantized rows", first + (m - 1) * step, scale.size()));
  }
  if (TryQuantizeRowsAvx512(a, lda, m, k, stride, values.data() + first * stride, stride,
                            scale.data() + first, zero.data() + first, step)) {
    return;
  }
  for (size_t i = 0; i < m; ++i) {
    const size_t row = first + i * step;
    QuantizeRowPlain(a + i * lda, k, stride, values.data() + row * stride, scale[row], zero[row]);
  }
}

void QuantizedGemm(const QuantizedRows& a, size_t first, size_t m, const QuantizedMatrix& b,
                   bool accumulate, Real* c, size_t ldc, const Real* bias) {
  if (m == 0 || b.columns == 0) return;
  CheckRows(a, first, m, b);
  if (TryVnniGemm(a, first, m, b, accumulate, bias, c, ldc)) return;
  std::vector<int32_t> product;
  OneDnnGemm(a, first, m, b, accumulate, bias, c, ldc, product);
}

void QuantizedGemmPair(const QuantizedRows& a1, size_t first1, const QuantizedMatrix& b1,
                       const QuantizedRows& a2, size_t first2, const QuantizedMatrix& b2, size_t m,
                       Real* c, size_t ldc, const Real* bias) {
  if (m == 0 || b1.columns == 0) return;
  CheckRows(a1, first1, m, b1);
  CheckRows(a2, first2, m, b2);
  if (b1.columns != b2.columns) {
    throw ShapeError(
        absl::StrFormat("int8: a product pair of %d and %d columns", b1.columns, b2.columns));
  }
  if (TryVnniGemmPair(a1, first1, b1, a2, first2, b2, m, c, ldc, bias)) return;
  QuantizedGemm(a1, first1, m, b1, false, c, ldc, bias);
  QuantizedGemm(a2, first2, m, b2, true, c, ldc);
}

void QuantizedGemm(size_t m, const Real* a, size_t lda, const QuantizedMatrix& b, bool accumulate,
                   Real* c, size_t ldc, QuantizedGemmScratch& scratch, const Real* bias) {
  if (m == 0 || b.columns == 0) return;
  QuantizeInto(m, a, lda, b.rows, scratch.rows);
  if (TryVnniGemm(scratch.rows, 0, m, b, accumulate, bias, c, ldc)) return;
  OneDnnGemm(scratch.rows, 0, m, b, accumulate, bias, c, ldc, scratch.product);
}

void QuantizedGemmOneDnn(size_t m, const Real* a, size_t lda, const QuantizedMatrix& b,
                         bool accumulate, Real* c, size_t ldc, QuantizedGemmScratch& scratch) {
  if (m == 0 || b.columns == 0) return;
  QuantizeInto(m, a, lda, b.rows, scratch.rows);
  OneDnnGemm(scratch.rows, 0, m, b, accumulate, nullptr, c, ldc, scratch.product);
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
