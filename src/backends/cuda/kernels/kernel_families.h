// The CUDA kernel families. Adding a family is one line here and one in
// kernel_families.cpp; each family's kernels live in their own files.
#pragma once

#include "backends/cuda/kernel.h"

namespace kiln {

void register_all_cuda_kernels(CudaKernelRegistry& r);

void register_copy_kernels(CudaKernelRegistry& r);  // copy.cpp
void register_matmul_kernels(CudaKernelRegistry& r);  // matmul*.cpp
void register_elementwise_kernels(CudaKernelRegistry& r);  // elementwise*.cpp
void register_cuconv_kernels(CudaKernelRegistry& r);  // conv*, pool*, resize*, pad*, depth_space*
void register_movement_kernels(CudaKernelRegistry& r);  // movement*, transpose*, gather*, scatter*
void register_reduce_kernels(CudaKernelRegistry& r);  // reduce*, softmax*, norm*, topk*, cumsum*

}  // namespace kiln
