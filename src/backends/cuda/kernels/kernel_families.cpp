#include "backends/cuda/kernels/kernel_families.h"

namespace kiln {

// Explicit calls instead of static self-registration (static libraries drop
// unreferenced registration objects).
void register_all_cuda_kernels(CudaKernelRegistry& r) {
  register_copy_kernels(r);
  register_matmul_kernels(r);
  register_elementwise_kernels(r);
  register_cuconv_kernels(r);
  register_movement_kernels(r);
  register_reduce_kernels(r);
}

}  // namespace kiln
