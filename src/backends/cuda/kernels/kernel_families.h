// The CUDA kernel families. Adding a family is one line here and one in
// kernel_families.cpp.
#pragma once

#include "backends/cuda/kernel.h"

namespace kiln {

void register_all_cuda_kernels(CudaKernelRegistry& r);

}  // namespace kiln
