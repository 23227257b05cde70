// Shared device-side helpers for Kiln's own CUDA kernels: element types,
// float conversion, broadcast index maps and launch sizing. Kernels compute
// in float (fp16/bf16 inputs are widened) and accumulate in float.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <vector>

#include "base/status.h"
#include "ir/dtype.h"

namespace kiln::cuda {

constexpr int kMaxRank = 8;

// Widening loads and narrowing stores for every storage type.
template <typename T>
__device__ __forceinline__ float load_f(const T* p, int64_t i) {
  return static_cast<float>(p[i]);
}
template <>
__device__ __forceinline__ float load_f<__half>(const __half* p, int64_t i) {
  return __half2float(p[i]);
}
template <>
__device__ __forceinline__ float load_f<__nv_bfloat16>(const __nv_bfloat16* p, int64_t i) {
  return __bfloat162float(p[i]);
}

template <typename T>
__device__ __forceinline__ void store_f(T* p, int64_t i, float v) {
  p[i] = static_cast<T>(v);
}
template <>
__device__ __forceinline__ void store_f<__half>(__half* p, int64_t i, float v) {
  p[i] = __float2half_rn(v);
}
template <>
__device__ __forceinline__ void store_f<__nv_bfloat16>(__nv_bfloat16* p, int64_t i, float v) {
  p[i] = __float2bfloat16_rn(v);
}

// Maps a flat output index to an input offset under numpy broadcasting:
// `out_dims` are the output's dims, `in_strides` the input's element strides
// aligned to the output rank (0 where the input broadcasts).
struct BroadcastMap {
  int rank = 0;
  int64_t out_dims[kMaxRank] = {};
  int64_t in_strides[kMaxRank] = {};
  bool identity = true;

  __device__ __forceinline__ int64_t offset(int64_t i) const {
    if (identity) return i;
    int64_t off = 0;
    for (int d = rank - 1; d >= 0; --d) {
      int64_t q = i / out_dims[d];
      off += (i - q * out_dims[d]) * in_strides[d];
      i = q;
    }
    return off;
  }
};

// Host side: the map for an input of `in_dims` broadcast to `out_dims`.
BroadcastMap make_broadcast_map(const std::vector<int64_t>& out_dims, const std::vector<int64_t>& in_dims);

inline unsigned grid_for(int64_t n, int threads = 256) {
  int64_t blocks = (n + threads - 1) / threads;
  if (blocks > 65535LL * 32) blocks = 65535LL * 32;  // grid-stride loops cover the rest
  return static_cast<unsigned>(blocks < 1 ? 1 : blocks);
}

int64_t numel(const std::vector<int64_t>& dims);

}  // namespace kiln::cuda
