// The CUDA kernel families. Adding a family is one line here and one in
// kernel_families.cpp; each family's kernels live in their own files.
#pragma once

#include "backends/cuda/kernel.h"

namespace kiln {

void register_all_cuda_kernels(CudaKernelRegistry& r);

void register_copy_kernels(CudaKernelRegistry& r);  // copy.cpp

}  // namespace kiln
