// The process-wide runtime policy of //autograd, in one place: denormal floats, threads, memory.
//
// Applied once when the library loads, with the defaults below, so a program needs no set-up
// call; ConfigureRuntime changes it later. Environment variables override the defaults at load:
//   SEQLEARN_FLUSH_DENORMALS=0    keep IEEE denormals (default: flush to zero, as TensorFlow does)
//   SEQLEARN_THREADS=N            compute threads (default: every core the process may use)
//   SEQLEARN_KEEP_FREED_MEMORY=0  let glibc return freed memory to the system (default: keep it)
//   SEQLEARN_MIXED_PRECISION=mixed_bfloat16  Keras' policy (default: float32; see Precision)
#ifndef AUTOGRAD_RUNTIME_H_
#define AUTOGRAD_RUNTIME_H_

#include <cstddef>
#include <string>

namespace autograd {

// Keras' mixed precision policies, for the large products: blas::Gemm on float, which runs the
// recurrent layers' input and per-step products, Dense, Conv1D and all their gradients. Weights,
// optimizer state, gate nonlinearities, cell state and losses stay float32 under every policy.
enum class Precision {
  kFloat32,
  // "mixed_bfloat16": both operands rounded to bfloat16 (8 significant bits, to nearest), the
  // products summed in float32 (oneDNN's matmul), where the processor multiplies bfloat16 (AVX512-
  // BF16 or AMX). Elsewhere ConfigureRuntime says so in one line on stderr and runs float32.
  kMixedBfloat16,
  // The same numbers on any processor with AVX-512, where oneDNN emulates the bfloat16
  // instructions it lacks (2.5x slower than float32 on a Cascade Lake): to check accuracy and test
  // the path on a processor without them. Without AVX-512, as kMixedBfloat16.
  kMixedBfloat16Anywhere,
};

// "float32", "mixed_bfloat16", "mixed_bfloat16_anywhere".
const char* PrecisionName(Precision precision);
// The inverse of PrecisionName (also "bfloat16" for "mixed_bfloat16"); false for any other text.
bool ParsePrecision(const std::string& text, Precision& precision);

struct RuntimeOptions {
  // Sets MXCSR's flush-to-zero and denormals-are-zero bits in the calling thread and in every
  // worker of the compute pool (threads created afterwards inherit them). Gradients through
  // hundreds of timesteps underflow into denormals, which cost ~100x per operation on Intel cores.
  bool flush_denormals = true;
  // Threads of the one compute pool (OpenMP, shared with oneDNN's GEMM). 0: every usable core.
  int threads = 0;
  // A training step allocates the same large buffers every time; glibc would serve blocks over
  // 32 MiB with mmap and unmap them when freed, so every step faulted its pages in again (a third
  // of an IMDB LSTM step). Keeping freed memory in the process reuses them; peak memory is the
  // same.
  bool keep_freed_memory = true;
  // The policy asked for; Bfloat16Products() says whether it runs.
  Precision precision = Precision::kFloat32;
};

// Applies `options` to the calling thread and the compute pool.
void ConfigureRuntime(const RuntimeOptions& options);
// The options in force.
RuntimeOptions CurrentRuntime();

// Whether the large products run in bfloat16 now: a bfloat16 policy is in force and the
// processor can run it.
bool Bfloat16Products();
// Whether oneDNN multiplies bfloat16 natively here (AVX512-BF16, or AMX): its effective ISA, so
// ONEDNN_MAX_CPU_ISA can turn it off.
bool HasNativeBfloat16();
// Why a policy asked for runs float32 instead ("" when it runs as asked), e.g. "mixed_bfloat16:
// Intel Xeon (family 6, model 85) has neither AVX512-BF16 nor AMX; the products run in float32".
std::string PrecisionFallback(Precision precision);

// Threads of the compute pool.
int ComputeThreads();

// How many threads a fused recurrent op splits its batch over: each thread owns a contiguous
// share of the batch for the whole sequence (no barrier per step), which pays only when every
// share still fills a GEMM and the sequence is long enough to hide the wake-up of a worker.
int RecurrentThreads(size_t batch, size_t time, size_t units, size_t gates);

// For benchmark headers: "AMD EPYC (family 26, model 2)".
std::string ProcessorName();
// "oneDNN 2.6.3 dnnl_sgemm, avx512_core_bf16 kernels, 2 threads".
std::string GemmLibraryName();

}  // namespace autograd

#endif  // AUTOGRAD_RUNTIME_H_
