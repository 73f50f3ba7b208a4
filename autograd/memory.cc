#include "autograd/memory.h"

#include <malloc.h>

namespace autograd {

void KeepFreedMemoryForReuse() {
  mallopt(M_MMAP_MAX, 0);                     // every block from the heap, which is reused
  mallopt(M_TRIM_THRESHOLD, 1 << 30);         // do not hand the top of the heap back early
}

}  // namespace autograd
