// Process-wide allocation policy for training.
#ifndef AUTOGRAD_MEMORY_H_
#define AUTOGRAD_MEMORY_H_

namespace autograd {

// A training step allocates the same large buffers (saved gates, gradients) every time. By
// default glibc serves blocks over 32 MiB with mmap and returns freed memory to the system, so
// each step faults every page in again: a third of an IMDB LSTM step. This keeps freed memory
// in the process for reuse instead (peak memory is unchanged). Called by Sequential::Compile.
void KeepFreedMemoryForReuse();

}  // namespace autograd

#endif  // AUTOGRAD_MEMORY_H_
