#include "autograd/blas.h"

#include <omp.h>

#include <cstdint>
#include <cstring>
#include <map>
#include <optional>
#include <stdexcept>
#include <tuple>
#include <vector>

#include "absl/strings/str_format.h"
#include "autograd/runtime.h"
#include "oneapi/dnnl/dnnl.h"
#include "oneapi/dnnl/dnnl.hpp"
#include "xsimd/xsimd.hpp"

namespace autograd::blas {
namespace {

// beta * C, without reading C when beta is 0 (it may hold anything).
template <typename T>
void Scale(size_t m, size_t n, T beta, T* c, size_t ldc) {
  for (size_t i = 0; i < m; ++i) {
    for (size_t j = 0; j < n; ++j) c[i * ldc + j] = beta == T(0) ? T(0) : beta * c[i * ldc + j];
  }
}

// C += alpha op(A) op(B) for small products, where a library call costs more than the work.
// Not transposed B: each row of C is built in SIMD registers, four vectors at a time, over all of
// k (no store and reload of C between the k terms). Transposed B: dot products of contiguous rows.
template <typename T>
void SmallGemm(bool transpose_a, bool transpose_b, size_t m, size_t n, size_t k, T alpha,
               const T* __restrict a, size_t lda, const T* __restrict b, size_t ldb,
               T* __restrict c, size_t ldc) {
  using Vec = xsimd::batch<T>;
  constexpr size_t W = Vec::size;
  const auto a_at = [&](size_t i, size_t p) {
    return transpose_a ? a[p * lda + i] : a[i * lda + p];
  };
  if (!transpose_b) {
    // Lane numbers, to select the last `n % W` lanes of an overlapping final block.
    alignas(64) T lane[W];
    for (size_t l = 0; l < W; ++l) lane[l] = static_cast<T>(l);
    const size_t tail = n % W;
    for (size_t i = 0; i < m; ++i) {
      T* __restrict c_row = c + i * ldc;
      if (tail != 0 && n >= W) {
        // The columns past the last whole vector: one vector ending at column n, done first, of
        // which only the lanes past the whole vectors are stored.
        const size_t j = n - W;
        const Vec original = Vec::load_unaligned(c_row + j);
        Vec acc = original;
        for (size_t p = 0; p < k; ++p) {
          acc = xsimd::fma(Vec(alpha * a_at(i, p)), Vec::load_unaligned(b + p * ldb + j), acc);
        }
        const auto keep = Vec::load_aligned(lane) >= Vec(static_cast<T>(W - tail));
        xsimd::select(keep, acc, original).store_unaligned(c_row + j);
      }
      const size_t whole = n - tail;
      size_t j = 0;
      for (; j + 4 * W <= whole; j += 4 * W) {
        Vec c0 = Vec::load_unaligned(c_row + j), c1 = Vec::load_unaligned(c_row + j + W);
        Vec c2 = Vec::load_unaligned(c_row + j + 2 * W),
            c3 = Vec::load_unaligned(c_row + j + 3 * W);
        for (size_t p = 0; p < k; ++p) {
          const Vec a_ip(alpha * a_at(i, p));
          const T* b_row = b + p * ldb + j;
          c0 = xsimd::fma(a_ip, Vec::load_unaligned(b_row), c0);
          c1 = xsimd::fma(a_ip, Vec::load_unaligned(b_row + W), c1);
          c2 = xsimd::fma(a_ip, Vec::load_unaligned(b_row + 2 * W), c2);
          c3 = xsimd::fma(a_ip, Vec::load_unaligned(b_row + 3 * W), c3);
        }
        c0.store_unaligned(c_row + j);
        c1.store_unaligned(c_row + j + W);
        c2.store_unaligned(c_row + j + 2 * W);
        c3.store_unaligned(c_row + j + 3 * W);
      }
      for (; j + W <= whole; j += W) {
        Vec acc = Vec::load_unaligned(c_row + j);
        for (size_t p = 0; p < k; ++p) {
          acc = xsimd::fma(Vec(alpha * a_at(i, p)), Vec::load_unaligned(b + p * ldb + j), acc);
        }
        acc.store_unaligned(c_row + j);
      }
      for (; n < W && j < n; ++j) {  // fewer columns than one vector
        T sum = 0;
        for (size_t p = 0; p < k; ++p) sum += a_at(i, p) * b[p * ldb + j];
        c_row[j] += alpha * sum;
      }
    }
    return;
  }
  for (size_t i = 0; i < m; ++i) {
    for (size_t j = 0; j < n; ++j) {
      const T* __restrict b_row = b + j * ldb;
      T sum = 0;
      size_t p = 0;
      if (!transpose_a) {
        const T* __restrict a_row = a + i * lda;
        Vec acc(T(0));
        for (; p + W <= k; p += W) {
          acc = xsimd::fma(Vec::load_unaligned(a_row + p), Vec::load_unaligned(b_row + p), acc);
        }
        sum = xsimd::hadd(acc);
      }
      for (; p < k; ++p) sum += a_at(i, p) * b_row[p];
      c[i * ldc + j] += alpha * sum;
    }
  }
}

// Below this many multiply-adds a library call costs more than the product (measured with
// oneDNN 2.6 on the one-sample steps of merge_modes: 1 x 20 @ 20 x 80 and the like).
constexpr size_t kSmallProduct = 16 * 1024;

// Below this many multiply-adds oneDNN still opens an OpenMP parallel region, whose barrier costs
// more than the product shares (a one-row decoder step: 1 x 128 @ 128 x 512), and on a busy
// machine waits for a core: such products run on the calling thread.
constexpr size_t kSingleThreadProduct = 256 * 1024;

// OpenMP's thread count for this thread's next parallel regions, set to 1 while it lives.
class OneThread {
 public:
  OneThread() : saved_(omp_get_max_threads()) { omp_set_num_threads(1); }
  ~OneThread() { omp_set_num_threads(saved_); }

 private:
  int saved_;
};

// bfloat16: the top half of a float, rounded to nearest (ties to even); NaN stays NaN.
uint16_t ToBfloat16(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x40);
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>(bits >> 16);
}

// The rows x columns matrix at `from` (row stride `stride`) as bfloat16, packed.
void ToBfloat16(const float* from, size_t rows, size_t columns, size_t stride,
                std::vector<uint16_t>& to) {
  to.resize(rows * columns);
  for (size_t i = 0; i < rows; ++i) {
    const float* __restrict row = from + i * stride;
    uint16_t* __restrict out = to.data() + i * columns;
    for (size_t j = 0; j < columns; ++j) out[j] = ToBfloat16(row[j]);
  }
}

// One matmul primitive per shape, kept by each thread (the recurrent layers ask for the same few
// shapes at every step; oneDNN's own cache would still build a descriptor per call).
// The thread count is part of the key: a primitive keeps the one it was made with.
using MatmulKey = std::tuple<bool, bool, size_t, size_t, size_t, size_t, float, float, int>;

struct Bfloat16Context {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  std::map<MatmulKey, dnnl::matmul> primitives;
  std::vector<uint16_t> a, b;
};

// C = alpha op(A) op(B) + beta C with A and B rounded to bfloat16 and the products summed in
// float32: oneDNN's matmul on bfloat16 operands (its AVX512-BF16 or AMX kernels, or its emulation
// of them on plain AVX-512). The operands keep their layout; a transpose is a stride.
// b_rounded: B already rounded and packed (RepeatedOperand), or null.
void Bfloat16Gemm(bool transpose_a, bool transpose_b, size_t m, size_t n, size_t k, float alpha,
                  const float* a, size_t lda, const float* b, size_t ldb, float beta, float* c,
                  size_t ldc, const uint16_t* b_rounded = nullptr) {
  thread_local Bfloat16Context context;
  using dims = dnnl::memory::dims;
  using dt = dnnl::memory::data_type;
  const auto M = static_cast<dnnl::memory::dim>(m), N = static_cast<dnnl::memory::dim>(n),
             K = static_cast<dnnl::memory::dim>(k);
  // Stored as [k, m] when transposed, [m, k] otherwise; packed, so the stride is the row length.
  ToBfloat16(a, transpose_a ? k : m, transpose_a ? m : k, lda, context.a);
  if (b_rounded == nullptr) {
    ToBfloat16(b, transpose_b ? n : k, transpose_b ? k : n, ldb, context.b);
    b_rounded = context.b.data();
  }
  const dnnl::memory::desc a_md({M, K}, dt::bf16, transpose_a ? dims{1, M} : dims{K, 1});
  const dnnl::memory::desc b_md({K, N}, dt::bf16, transpose_b ? dims{1, K} : dims{N, 1});
  const dnnl::memory::desc c_md({M, N}, dt::f32, dims{static_cast<dnnl::memory::dim>(ldc), 1});
  const MatmulKey key{transpose_a, transpose_b, m, n, k, ldc, alpha, beta, omp_get_max_threads()};
  auto found = context.primitives.find(key);
  if (found == context.primitives.end()) {
    if (context.primitives.size() >= 256) context.primitives.clear();
    dnnl::primitive_attr attr;
    if (alpha != 1.0f) attr.set_output_scales(0, {alpha});
    if (beta != 0.0f) {
      dnnl::post_ops sum;
      sum.append_sum(beta);
      attr.set_post_ops(sum);
    }
    const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a_md, b_md, c_md), attr,
                                          context.engine);
    found = context.primitives.emplace(key, dnnl::matmul(pd)).first;
  }
  dnnl::memory a_memory(a_md, context.engine, context.a.data());
  dnnl::memory b_memory(b_md, context.engine, const_cast<uint16_t*>(b_rounded));
  dnnl::memory c_memory(c_md, context.engine, c);
  found->second.execute(
      context.stream,
      {{DNNL_ARG_SRC, a_memory}, {DNNL_ARG_WEIGHTS, b_memory}, {DNNL_ARG_DST, c_memory}});
  context.stream.wait();
}

void Bfloat16GemmOrThrow(bool transpose_a, bool transpose_b, size_t m, size_t n, size_t k,
                         float alpha, const float* a, size_t lda, const float* b, size_t ldb,
                         float beta, float* c, size_t ldc, const uint16_t* b_rounded) {
  try {
    Bfloat16Gemm(transpose_a, transpose_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, b_rounded);
  } catch (const dnnl::error& error) {
    throw std::runtime_error(absl::StrFormat("oneDNN's bfloat16 matmul failed (%s) on %d x %d x %d",
                                             error.what(), m, n, k));
  }
}

}  // namespace

void Gemm(bool transpose_a, bool transpose_b, size_t m, size_t n, size_t k, float alpha,
          const float* a, size_t lda, const float* b, size_t ldb, float beta, float* c,
          size_t ldc) {
  if (m == 0 || n == 0) return;
  if (k == 0) return Scale(m, n, beta, c, ldc);
  if (m * n * k <= kSmallProduct) {
    if (beta != 1.0f) Scale(m, n, beta, c, ldc);
    return SmallGemm(transpose_a, transpose_b, m, n, k, alpha, a, lda, b, ldb, c, ldc);
  }
  std::optional<OneThread> one_thread;
  if (m * n * k <= kSingleThreadProduct && !omp_in_parallel()) one_thread.emplace();
  if (Bfloat16Products()) {
    try {
      return Bfloat16Gemm(transpose_a, transpose_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    } catch (const dnnl::error& error) {
      throw std::runtime_error(absl::StrFormat(
          "oneDNN's bfloat16 matmul failed (%s) on %d x %d x %d", error.what(), m, n, k));
    }
  }
  const dnnl_status_t status = dnnl_sgemm(transpose_a ? 'T' : 'N', transpose_b ? 'T' : 'N', m, n, k,
                                          alpha, a, lda, b, ldb, beta, c, ldc);
  if (status != dnnl_success) {
    throw std::runtime_error(absl::StrFormat("dnnl_sgemm failed (status %d) on %d x %d x %d",
                                             static_cast<int>(status), m, n, k));
  }
}

void Gemm(bool transpose_a, bool transpose_b, size_t m, size_t n, size_t k, double alpha,
          const double* a, size_t lda, const double* b, size_t ldb, double beta, double* c,
          size_t ldc) {
  if (m == 0 || n == 0) return;
  if (beta != 1.0) Scale(m, n, beta, c, ldc);
  SmallGemm(transpose_a, transpose_b, m, n, k, alpha, a, lda, b, ldb, c, ldc);
}

void Gemm(size_t m, float alpha, const float* a, size_t lda, RepeatedOperand<float>& b, float beta,
          float* c, size_t ldc) {
  const size_t k = b.k, n = b.n;
  if (!Bfloat16Products() || m == 0 || n == 0 || k == 0 || m * n * k <= kSmallProduct) {
    return Gemm(false, false, m, n, k, alpha, a, lda, b.b, b.ldb, beta, c, ldc);
  }
  if (b.bfloat16.empty()) ToBfloat16(b.b, k, n, b.ldb, b.bfloat16);
  std::optional<OneThread> one_thread;
  if (m * n * k <= kSingleThreadProduct && !omp_in_parallel()) one_thread.emplace();
  Bfloat16GemmOrThrow(false, false, m, n, k, alpha, a, lda, b.b, b.ldb, beta, c, ldc,
                      b.bfloat16.data());
}

void Gemm(size_t m, double alpha, const double* a, size_t lda, RepeatedOperand<double>& b,
          double beta, double* c, size_t ldc) {
  Gemm(false, false, m, b.n, b.k, alpha, a, lda, b.b, b.ldb, beta, c, ldc);
}

}  // namespace autograd::blas
