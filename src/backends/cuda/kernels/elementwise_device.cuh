// Device helpers shared by the elementwise .cu files: element traits (float
// types widen to float, integer types to int64, bool is its own type), 16-byte
// vectors, the broadcast index walk, and loads/stores by runtime dtype that
// follow the CPU reference's conversion rules (ir/tensor.cpp,
// ops/elementwise/elementwise_util.cpp) exactly.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/kernels/elementwise_fp8.h"
#include "backends/cuda/kernels/elementwise_launch.h"

namespace kiln::cuda::ew {

// Storage types that are bytes with their own meaning.
struct Bool8 {
  uint8_t v;
};
struct E4M3 {
  uint8_t v;
};
struct E5M2 {
  uint8_t v;
};

// Element traits: kFloat types go through float (to_f / from_f), the others
// through int64 (to_i / from_i; narrower types wrap on store, bool is != 0).
template <typename T>
struct Ew;

template <>
struct Ew<float> {
  static constexpr bool kFloat = true;
  static __device__ __forceinline__ float to_f(float v) { return v; }
  static __device__ __forceinline__ float from_f(float v) { return v; }
};
template <>
struct Ew<__half> {
  static constexpr bool kFloat = true;
  static __device__ __forceinline__ float to_f(__half v) { return __half2float(v); }
  static __device__ __forceinline__ __half from_f(float v) { return __float2half_rn(v); }
};
template <>
struct Ew<__nv_bfloat16> {
  static constexpr bool kFloat = true;
  static __device__ __forceinline__ float to_f(__nv_bfloat16 v) { return __bfloat162float(v); }
  static __device__ __forceinline__ __nv_bfloat16 from_f(float v) { return __float2bfloat16_rn(v); }
};
template <>
struct Ew<E4M3> {
  static constexpr bool kFloat = true;
  static __device__ __forceinline__ float to_f(E4M3 v) { return e4m3_to_f32(v.v); }
  static __device__ __forceinline__ E4M3 from_f(float v) { return E4M3{f32_to_e4m3(v, true)}; }
};
template <>
struct Ew<E5M2> {
  static constexpr bool kFloat = true;
  static __device__ __forceinline__ float to_f(E5M2 v) { return e5m2_to_f32(v.v); }
  static __device__ __forceinline__ E5M2 from_f(float v) { return E5M2{f32_to_e5m2(v, true)}; }
};

template <typename T>
struct EwInt {
  static constexpr bool kFloat = false;
  static __device__ __forceinline__ int64_t to_i(T v) { return static_cast<int64_t>(v); }
  static __device__ __forceinline__ T from_i(int64_t v) { return static_cast<T>(v); }  // wraps
};
template <>
struct Ew<int8_t> : EwInt<int8_t> {};
template <>
struct Ew<uint8_t> : EwInt<uint8_t> {};
template <>
struct Ew<int32_t> : EwInt<int32_t> {};
template <>
struct Ew<int64_t> : EwInt<int64_t> {};
template <>
struct Ew<Bool8> {
  static constexpr bool kFloat = false;
  static __device__ __forceinline__ int64_t to_i(Bool8 v) { return v.v != 0 ? 1 : 0; }
  static __device__ __forceinline__ Bool8 from_i(int64_t v) { return Bool8{static_cast<uint8_t>(v != 0 ? 1 : 0)}; }
};

// V elements loaded or stored as one aligned access (16 bytes for the fast paths).
template <typename T, int V>
struct alignas(sizeof(T) * V) Vec {
  T e[V];
};

// Wrapping int64 arithmetic, as the CPU reference (no signed-overflow UB).
__device__ __forceinline__ int64_t wrap_add(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}
__device__ __forceinline__ int64_t wrap_sub(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) - static_cast<uint64_t>(b));
}
__device__ __forceinline__ int64_t wrap_mul(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b));
}
__device__ __forceinline__ int64_t wrap_neg(int64_t a) {
  return static_cast<int64_t>(uint64_t{0} - static_cast<uint64_t>(a));
}

// Offsets of the K operands for output element i.
template <int K, typename IndexT>
__device__ __forceinline__ void map_offsets_t(const IndexMap<K>& m, int64_t i, int64_t (&off)[K]) {
  for (int k = 0; k < K; ++k) off[k] = 0;
  IndexT idx = static_cast<IndexT>(i);
  for (int d = m.rank - 1; d >= 0; --d) {
    IndexT dim = static_cast<IndexT>(m.dims[d]);
    IndexT q = idx / dim;
    int64_t r = static_cast<int64_t>(idx - q * dim);
    for (int k = 0; k < K; ++k) off[k] += r * m.strides[k][d];
    idx = q;
  }
}

template <int K>
__device__ __forceinline__ void map_offsets(const IndexMap<K>& m, int64_t i, int64_t (&off)[K]) {
  if (m.small)
    map_offsets_t<K, uint32_t>(m, i, off);
  else
    map_offsets_t<K, int64_t>(m, i, off);
}

__device__ __forceinline__ int64_t global_thread() {
  return static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ __forceinline__ int64_t grid_threads() { return static_cast<int64_t>(gridDim.x) * blockDim.x; }

constexpr int kThreads = 256;

// Blocks for `work` items at one item per thread (grid-stride loops cover any excess).
inline unsigned blocks_for(int64_t work) {
  int64_t b = (work + kThreads - 1) / kThreads;
  const int64_t cap = 65535LL * 32;
  if (b > cap) b = cap;
  return static_cast<unsigned>(b < 1 ? 1 : b);
}

inline bool aligned(const void* p, size_t bytes) { return reinterpret_cast<uintptr_t>(p) % bytes == 0; }

// ---- runtime-typed access, with the CPU reference's conversions -----------------------
// Tensor::get_f64.
__device__ __forceinline__ double load_double(const void* p, DType t, int64_t i) {
  switch (t) {
    case DType::kFloat32: return static_cast<const float*>(p)[i];
    case DType::kFloat16: return __half2float(static_cast<const __half*>(p)[i]);
    case DType::kBFloat16: return __bfloat162float(static_cast<const __nv_bfloat16*>(p)[i]);
    case DType::kFloat8E4M3FN: return e4m3_to_f32(static_cast<const uint8_t*>(p)[i]);
    case DType::kFloat8E5M2: return e5m2_to_f32(static_cast<const uint8_t*>(p)[i]);
    case DType::kInt8: return static_cast<const int8_t*>(p)[i];
    case DType::kUInt8: return static_cast<const uint8_t*>(p)[i];
    case DType::kBool: return static_cast<const uint8_t*>(p)[i] != 0 ? 1.0 : 0.0;
    case DType::kInt32: return static_cast<const int32_t*>(p)[i];
    case DType::kInt64: return static_cast<double>(static_cast<const int64_t*>(p)[i]);
    default: return 0.0;
  }
}

__device__ __forceinline__ bool is_float_type(DType t) {
  return t == DType::kFloat32 || t == DType::kFloat16 || t == DType::kBFloat16 || t == DType::kFloat8E4M3FN ||
         t == DType::kFloat8E5M2;
}

// double -> int64 as the reference: NaN is 0, out of range clamps, else truncates.
__device__ __forceinline__ int64_t double_to_i64(double v) {
  if (v != v) return 0;
  if (v >= 9.2233720368547758e18) return INT64_MAX;
  if (v <= -9.2233720368547758e18) return INT64_MIN;
  return static_cast<int64_t>(v);
}

// Tensor::get_i64 for integer and bool types (floats go through double_to_i64).
__device__ __forceinline__ int64_t load_int(const void* p, DType t, int64_t i) {
  switch (t) {
    case DType::kInt8: return static_cast<const int8_t*>(p)[i];
    case DType::kUInt8: return static_cast<const uint8_t*>(p)[i];
    case DType::kBool: return static_cast<const uint8_t*>(p)[i] != 0 ? 1 : 0;
    case DType::kInt32: return static_cast<const int32_t*>(p)[i];
    case DType::kInt64: return static_cast<const int64_t*>(p)[i];
    default: return double_to_i64(load_double(p, t, i));
  }
}

// Stores an integer: wraps to integer types, != 0 for bool, and for float
// types rounds as the reference (one rounding to float32; narrower floats via
// round-to-odd, so the result is one correct rounding of the double).
__device__ __forceinline__ void store_int(void* p, DType t, int64_t i, int64_t v, bool saturate) {
  switch (t) {
    case DType::kInt8: static_cast<int8_t*>(p)[i] = static_cast<int8_t>(v); return;
    case DType::kUInt8: static_cast<uint8_t*>(p)[i] = static_cast<uint8_t>(v); return;
    case DType::kBool: static_cast<uint8_t*>(p)[i] = v != 0 ? 1 : 0; return;
    case DType::kInt32: static_cast<int32_t*>(p)[i] = static_cast<int32_t>(v); return;
    case DType::kInt64: static_cast<int64_t*>(p)[i] = v; return;
    case DType::kFloat32: static_cast<float*>(p)[i] = static_cast<float>(v); return;  // one rounding
    default: break;
  }
  float f = round_odd_f32(static_cast<double>(v));
  switch (t) {
    case DType::kFloat16: static_cast<__half*>(p)[i] = __float2half_rn(f); return;
    case DType::kBFloat16: static_cast<__nv_bfloat16*>(p)[i] = __float2bfloat16_rn(f); return;
    case DType::kFloat8E4M3FN: static_cast<uint8_t*>(p)[i] = f32_to_e4m3(f, saturate); return;
    case DType::kFloat8E5M2: static_cast<uint8_t*>(p)[i] = f32_to_e5m2(f, saturate); return;
    default: return;
  }
}

// Stores a double: store_rounded for float types (float32 rounds once,
// narrower ones through round-to-odd), Tensor::set_f64 for the others.
__device__ __forceinline__ void store_double(void* p, DType t, int64_t i, double v, bool saturate) {
  switch (t) {
    case DType::kFloat32: static_cast<float*>(p)[i] = static_cast<float>(v); return;
    case DType::kFloat16: static_cast<__half*>(p)[i] = __float2half_rn(round_odd_f32(v)); return;
    case DType::kBFloat16: static_cast<__nv_bfloat16*>(p)[i] = __float2bfloat16_rn(round_odd_f32(v)); return;
    case DType::kFloat8E4M3FN: static_cast<uint8_t*>(p)[i] = f32_to_e4m3(round_odd_f32(v), saturate); return;
    case DType::kFloat8E5M2: static_cast<uint8_t*>(p)[i] = f32_to_e5m2(round_odd_f32(v), saturate); return;
    case DType::kBool: static_cast<uint8_t*>(p)[i] = v != 0 ? 1 : 0; return;
    default: store_int(p, t, i, double_to_i64(v), saturate); return;
  }
}

// v rounded to the precision of float type t (ops' round_to_dtype); other types pass through.
__device__ __forceinline__ double round_to_type(double v, DType t) {
  switch (t) {
    case DType::kFloat32: return static_cast<float>(v);
    case DType::kFloat16: return __half2float(__float2half_rn(round_odd_f32(v)));
    case DType::kBFloat16: return __bfloat162float(__float2bfloat16_rn(round_odd_f32(v)));
    case DType::kFloat8E4M3FN: return e4m3_to_f32(f32_to_e4m3(round_odd_f32(v), true));
    case DType::kFloat8E5M2: return e5m2_to_f32(f32_to_e5m2(round_odd_f32(v), true));
    default: return v;
  }
}

}  // namespace kiln::cuda::ew
