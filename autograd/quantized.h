// int8 inference by dynamic quantization (as PyTorch's quantize_dynamic): a weight matrix is
// quantized once, per output channel (column), to signed 8 bits; the activations are quantized per
// row at run time to unsigned 8 bits with their own zero point; oneDNN's u8s8s32 GEMM multiplies
// (VNNI where the processor has it) and the int32 result is dequantized to float before anything
// nonlinear. Inference only: nothing here records on the tape.
#ifndef AUTOGRAD_QUANTIZED_H_
#define AUTOGRAD_QUANTIZED_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "autograd/tensor.h"

namespace autograd {

// B [k, n] as int8, symmetric per column: B[p, j] ~ scale[j] * values[p * n + j], with
// scale[j] = max_p |B[p, j]| / 127 (1 for a column of zeros). column_sums[j] = sum_p values[p, j]
// (it undoes the activations' zero point).
struct QuantizedMatrix {
  size_t rows = 0, columns = 0;
  std::vector<int8_t> values;
  std::vector<float> scale;
  std::vector<int32_t> column_sums;
  // For our AVX512-VNNI kernel: values in groups of 4 rows, [rows / 4 rounded up][columns rounded
  // up to 16][4] (padding zero), and scale[j] * column_sums[j] (padding zero).
  std::vector<int8_t> packed;
  std::vector<float> packed_scale, scaled_sums;
  size_t padded_columns = 0;
};
QuantizedMatrix QuantizeColumns(const Real* b, size_t k, size_t n);

// Rows of A quantized asymmetrically for QuantizedGemm: A[i, p] ~ scale[i] (q[i, p] - zero[i]), q
// in [0, 255], with scale[i] = (max - min) / 255 over the row and 0 (so 0 is exact). Row i's values
// start at i * stride (k rounded up to 4, the padding zero). A row holding a NaN or an infinity
// gets scale NaN, so that its products are NaN, as float32's would be (not finite numbers made of
// a range that has no meaning).
struct QuantizedRows {
  size_t k = 0, stride = 0;
  std::vector<uint8_t> values;
  std::vector<float> scale;
  std::vector<float> zero;  // integers in [0, 255]

  // Room for `rows` rows of k values (what was there is not kept).
  void Resize(size_t rows, size_t k);
  // Quantizes a[i lda, i lda + k) into row first + i step, for i < m.
  void Set(size_t first, size_t step, size_t m, const Real* a, size_t lda);
  // Quantizes row[0, k) into row i.
  void Set(size_t i, const Real* row) { Set(i, 1, 1, row, k); }
};

// C[m, n] = rows [first, first + m) of a @ B (+ C when accumulate) (+ bias[j] in column j where
// bias is given), C with row stride ldc. The error of one element is at most sum_p (|A[i,p]|
// scale_B[j] / 2 + |B[p,j]| scale_A[i] / 2 + scale_A[i] scale_B[j] / 4). Inside an OpenMP parallel
// region it runs on the calling thread alone.
void QuantizedGemm(const QuantizedRows& a, size_t first, size_t m, const QuantizedMatrix& b,
                   bool accumulate, Real* c, size_t ldc, const Real* bias = nullptr);

// C[m, n] = rows [first1, first1 + m) of a1 @ b1 + rows [first2, first2 + m) of a2 @ b2 (+ bias[j]
// where given): the two products of a recurrent step (its input's and its state's) in one pass over
// C, each within its own bound.
void QuantizedGemmPair(const QuantizedRows& a1, size_t first1, const QuantizedMatrix& b1,
                       const QuantizedRows& a2, size_t first2, const QuantizedMatrix& b2, size_t m,
                       Real* c, size_t ldc, const Real* bias = nullptr);

// Per-thread buffers of QuantizedGemm, kept between calls.
struct QuantizedGemmScratch {
  QuantizedRows rows;
  std::vector<int32_t> product;
};

// The same for A[m, k] float with row stride lda, quantized here.
void QuantizedGemm(size_t m, const Real* a, size_t lda, const QuantizedMatrix& b, bool accumulate,
                   Real* c, size_t ldc, QuantizedGemmScratch& scratch, const Real* bias = nullptr);

// QuantizedGemm by oneDNN's dnnl_gemm_u8s8s32 always (QuantizedGemm runs our AVX512-VNNI kernel
// where it can); the same quantization and result up to the order of the int32 sums.
void QuantizedGemmOneDnn(size_t m, const Real* a, size_t lda, const QuantizedMatrix& b,
                         bool accumulate, Real* c, size_t ldc, QuantizedGemmScratch& scratch);

// Whether oneDNN runs u8s8s32 GEMM with VNNI instructions here (AVX512-VNNI or AVX-VNNI).
// Without them its kernels multiply in saturating 16-bit pairs and int8 is no faster.
bool HasInt8Dot();

// The quantized form of each weight, made at its first use (keyed by the weight's buffer).
// Lives as long as one Predict call, so a weight changed between calls is quantized again.
class QuantizedWeights {
 public:
  // b: [k, n].
  const QuantizedMatrix& Get(const Array& b);

 private:
  std::unordered_map<const Real*, QuantizedMatrix> cache_;
};

}  // namespace autograd

#endif  // AUTOGRAD_QUANTIZED_H_
