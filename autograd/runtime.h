// The process-wide runtime policy of //autograd, in one place: denormal floats, threads, memory.
//
// Applied once when the library loads, with the defaults below, so a program needs no set-up
// call; ConfigureRuntime changes it later. Environment variables override the defaults at load:
//   SEQLEARN_FLUSH_DENORMALS=0    keep IEEE denormals (default: flush to zero, as TensorFlow does)
//   SEQLEARN_THREADS=N            compute threads (default: every core the process may use)
//   SEQLEARN_KEEP_FREED_MEMORY=0  let glibc return freed memory to the system (default: keep it)
#ifndef AUTOGRAD_RUNTIME_H_
#define AUTOGRAD_RUNTIME_H_

#include <cstddef>
#include <string>

namespace autograd {

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
};

// Applies `options` to the calling thread and the compute pool.
void ConfigureRuntime(const RuntimeOptions& options);
// The options in force.
RuntimeOptions CurrentRuntime();

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
