#include "backends/cuda/kernels/kernel_families.h"

namespace kiln {

// Explicit calls instead of static self-registration (static libraries drop
// unreferenced registration objects).
void register_all_cuda_kernels(CudaKernelRegistry& r) {
  register_copy_kernels(r);
}

}  // namespace kiln
