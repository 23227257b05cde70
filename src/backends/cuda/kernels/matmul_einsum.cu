// Generic Einsum kernel: one thread per output element walks the whole
// summed index space. Plain and slow for big contractions, which the
// builder's passes are expected to turn into MatMul instead.
#include <type_traits>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/kernels/matmul_common.h"

namespace kiln::mm {
namespace {

template <typename T>
__global__ void einsum_kernel(EinsumParams p, T* y) {
  using Acc = std::conditional_t<std::is_integral_v<T>, uint64_t, float>;
  for (int64_t o = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; o < p.out_numel;
       o += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    int64_t base[kEinsumMaxInputs] = {};
    int64_t rem = o;
    for (int a = p.n_out - 1; a >= 0; --a) {
      const int64_t idx = rem % p.out_sizes[a];
      rem /= p.out_sizes[a];
      for (int i = 0; i < p.n_in; ++i) base[i] += idx * p.out_strides[i][a];
    }
    Acc acc = 0;
    for (int64_t s = 0; s < p.sum_count; ++s) {
      int64_t off[kEinsumMaxInputs];
      for (int i = 0; i < p.n_in; ++i) off[i] = base[i];
      rem = s;
      for (int a = p.n_sum - 1; a >= 0; --a) {
        const int64_t idx = rem % p.sum_sizes[a];
        rem /= p.sum_sizes[a];
        for (int i = 0; i < p.n_in; ++i) off[i] += idx * p.sum_strides[i][a];
      }
      Acc prod = 1;
      for (int i = 0; i < p.n_in; ++i) {
        const T* x = static_cast<const T*>(p.in[i]);
        if constexpr (std::is_integral_v<T>) {
          prod *= static_cast<uint64_t>(static_cast<int64_t>(x[off[i]]));
        } else {
          prod *= cuda::load_f(x, off[i]);
        }
      }
      acc += prod;
    }
    if constexpr (std::is_integral_v<T>) {
      y[o] = static_cast<T>(static_cast<int64_t>(acc));
    } else {
      cuda::store_f(y, o, acc);
    }
  }
}

template <typename T>
void launch(const EinsumParams& p, void* y, cudaStream_t stream) {
  einsum_kernel<T><<<cuda::grid_for(p.out_numel), 256, 0, stream>>>(p, static_cast<T*>(y));
}

}  // namespace

Status launch_einsum(DType t, const EinsumParams& p, void* y, cudaStream_t stream) {
  if (p.out_numel == 0) return Status::Ok();
  switch (t) {
    case DType::kFloat32: launch<float>(p, y, stream); break;
    case DType::kFloat16: launch<__half>(p, y, stream); break;
    case DType::kBFloat16: launch<__nv_bfloat16>(p, y, stream); break;
    case DType::kInt8: launch<int8_t>(p, y, stream); break;
    case DType::kUInt8: launch<uint8_t>(p, y, stream); break;
    case DType::kInt32: launch<int32_t>(p, y, stream); break;
    case DType::kInt64: launch<int64_t>(p, y, stream); break;
    default: return Internal("einsum: unsupported type ", dtype_name(t));
  }
  KILN_CUDA_CHECK_LAUNCH("einsum_kernel");
  return Status::Ok();
}

}  // namespace kiln::mm
