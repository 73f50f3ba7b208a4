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

// Per-thread buffers of QuantizedGemm, kept between calls.
struct QuantizedGemmScratch {
  std::vector<uint8_t> a;
  std::vector<float> a_scale;
  std::vector<int32_t> a_zero;
  std::vector<int32_t> product;
};

// C[m, n] = A[m, k] @ B (+ C when accumulate), A float with row stride lda, C with row stride ldc.
// Each row i of A is quantized asymmetrically: A[i, p] ~ s_i (q[i, p] - z_i), q in [0, 255], with
// s_i = (max - min) / 255 over the row and 0 (exactly representable). The error of one element
// is at most sum_p (|A[i,p]| scale[j] / 2 + |B[p,j]| s_i / 2 + s_i scale[j] / 4).
// Inside an OpenMP parallel region it runs on the calling thread alone.
void QuantizedGemm(size_t m, const Real* a, size_t lda, const QuantizedMatrix& b, bool accumulate,
                   Real* c, size_t ldc, QuantizedGemmScratch& scratch);

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
