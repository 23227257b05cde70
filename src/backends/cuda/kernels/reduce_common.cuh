// Shared by the cureduce kernel family (reduce*.cu, softmax*.cu, norm*.cu,
// topk*.cu, cumsum*.cu): host-side layer checks and attribute reads, and the
// device-side warp/block reductions the kernels are built from. Every
// statistic and accumulation is float32 (fp16/bf16 widened on load) or int64
// for integer data; results are narrowed only when stored.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/kernel.h"
#include "backends/cuda/kernels/cuda_common.cuh"

namespace kiln::cureduce {

// ---- host side ------------------------------------------------------------------------

// Sets *why and returns false: the shape of every `supports` refusal.
inline bool refuse(std::string* why, const std::string& reason) {
  if (why) *why = reason;
  return false;
}

int64_t attr_int(const PlanLayer& l, const char* name, int64_t dflt);
float attr_float(const PlanLayer& l, const char* name, float dflt);
bool has_attr(const PlanLayer& l, const char* name);

inline bool is_gpu_float(DType t) { return t == DType::kFloat32 || t == DType::kFloat16 || t == DType::kBFloat16; }
inline bool is_gpu_int(DType t) {
  return t == DType::kInt8 || t == DType::kUInt8 || t == DType::kInt32 || t == DType::kInt64;
}

// Checks common to every layer of the family: the expected input/output
// counts (inputs in [min_in, max_in]; outputs in [min_out, max_out]), linear
// layouts, rank at most kMaxRank. *why says what is wrong.
bool check_layer(const LayerView& v, size_t min_in, size_t max_in, size_t min_out, size_t max_out, std::string* why);

// True if `t` is a GPU float (with `floats`) or integer (with `ints`) type;
// otherwise *why names the tensor, its type and what the kernel takes.
bool check_type(const PlanTensor& t, const char* role, bool floats, bool ints, std::string* why);

// The int32/int64 values of a constant (weight) input; Unsupported if it
// arrives at run time (enqueue may not read device memory on the host).
Expected<std::vector<int64_t>> const_ints(const LayerView& v, size_t input, const char* what);

// axis in [-rank, rank) normalised; Unsupported otherwise.
Expected<int64_t> normalize_axis(int64_t axis, size_t rank, const char* what);

// dims = [outer..., n, inner...] around `axis`.
struct AxisSplit {
  int64_t outer = 1, n = 1, inner = 1;
};
AxisSplit split_axis(const std::vector<int64_t>& dims, int64_t axis);

// Product of dims[from, to).
int64_t dims_product(const std::vector<int64_t>& dims, size_t from, size_t to);

// Whether `p` is a multiple of `bytes` (vectorised access).
inline bool aligned_to(const void* p, size_t bytes) { return reinterpret_cast<uintptr_t>(p) % bytes == 0; }

// Family pieces, one per file; register_reduce_kernels (reduce.cu) calls them.
void register_reduce_math(CudaKernelRegistry& r);    // reduce.cu: Reduce*
void register_reduce_arg(CudaKernelRegistry& r);     // reduce_arg.cu: ArgMax, ArgMin
void register_softmax(CudaKernelRegistry& r);        // softmax.cu: Softmax, LogSoftmax, Hardmax
void register_topk(CudaKernelRegistry& r);           // topk.cu: TopK
void register_cumsum(CudaKernelRegistry& r);         // cumsum.cu: CumSum
void register_row_norms(CudaKernelRegistry& r);      // norm.cu: LayerNorm, RMSNorm, InstanceNorm, GroupNorm, LpNorm
void register_channel_norms(CudaKernelRegistry& r);  // norm_batch.cu: BatchNormalization

// ---- device side ----------------------------------------------------------------------

constexpr unsigned kFullMask = 0xffffffffu;

template <typename T>
inline constexpr bool kIsFloat =
    std::is_same_v<T, float> || std::is_same_v<T, __half> || std::is_same_v<T, __nv_bfloat16>;

// Accumulator of a storage type: float for floats, int64 for integers.
template <typename T>
using AccOf = std::conditional_t<kIsFloat<T>, float, long long>;

template <typename A, typename T>
__device__ __forceinline__ A load_acc(const T* p, int64_t i) {
  if constexpr (kIsFloat<T>) return cuda::load_f(p, i);
  else return static_cast<A>(p[i]);
}

template <typename T, typename A>
__device__ __forceinline__ void store_acc(T* p, int64_t i, A v) {
  if constexpr (kIsFloat<T>) cuda::store_f(p, i, static_cast<float>(v));
  else p[i] = static_cast<T>(v);
}

// N elements of T as one aligned vector access.
template <typename T, int N>
struct alignas(sizeof(T) * N) Pack {
  T v[N];
};

// Float load/store of a tensor whose type is known only at run time
// (parameters and statistics, which may differ from the data's type).
__device__ __forceinline__ float load_any(const void* p, int dtype, int64_t i) {
  switch (dtype) {
    case static_cast<int>(DType::kFloat16): return __half2float(static_cast<const __half*>(p)[i]);
    case static_cast<int>(DType::kBFloat16): return __bfloat162float(static_cast<const __nv_bfloat16*>(p)[i]);
    default: return static_cast<const float*>(p)[i];
  }
}
__device__ __forceinline__ void store_any(void* p, int dtype, int64_t i, float v) {
  switch (dtype) {
    case static_cast<int>(DType::kFloat16): static_cast<__half*>(p)[i] = __float2half_rn(v); break;
    case static_cast<int>(DType::kBFloat16): static_cast<__nv_bfloat16*>(p)[i] = __float2bfloat16_rn(v); break;
    default: static_cast<float*>(p)[i] = v;
  }
}

struct SumOp {
  template <typename A>
  __device__ __forceinline__ A operator()(A a, A b) const {
    // Integers wrap (as the CPU reference's uint64 arithmetic does).
    if constexpr (std::is_integral_v<A>)
      return static_cast<A>(static_cast<unsigned long long>(a) + static_cast<unsigned long long>(b));
    else return a + b;
  }
};
struct ProdOp {
  template <typename A>
  __device__ __forceinline__ A operator()(A a, A b) const {
    if constexpr (std::is_integral_v<A>)
      return static_cast<A>(static_cast<unsigned long long>(a) * static_cast<unsigned long long>(b));
    else return a * b;
  }
};
// Max/Min propagate NaN (a != a only for NaN), as ReduceMax/Min's reference does.
struct MaxOp {
  template <typename A>
  __device__ __forceinline__ A operator()(A a, A b) const {
    return (a > b || a != a) ? a : b;
  }
};
struct MinOp {
  template <typename A>
  __device__ __forceinline__ A operator()(A a, A b) const {
    return (a < b || a != a) ? a : b;
  }
};
// Max ignoring NaN (fmaxf), as Softmax's reference does for its shift.
struct FmaxOp {
  __device__ __forceinline__ float operator()(float a, float b) const { return fmaxf(a, b); }
};

// Butterfly reduction: every lane gets the result.
template <typename A, typename Op>
__device__ __forceinline__ A warp_allreduce(A v, Op op) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = op(v, __shfl_xor_sync(kFullMask, v, o));
  return v;
}

// Reduction over the blockDim.x threads of this thread's row group
// (threadIdx.y); every thread gets the result. blockDim.x is a multiple of
// 32; `smem` holds 32 * blockDim.y values. Every thread of the block must
// call it (it synchronises the block).
template <typename A, typename Op>
__device__ __forceinline__ A group_allreduce(A v, Op op, A* smem) {
  v = warp_allreduce(v, op);
  const int warps = static_cast<int>(blockDim.x) / 32;
  if (warps == 1) return v;
  A* s = smem + threadIdx.y * 32;
  if (threadIdx.x % 32 == 0) s[threadIdx.x / 32] = v;
  __syncthreads();
  A r = s[0];
  for (int w = 1; w < warps; ++w) r = op(r, s[w]);
  __syncthreads();  // the caller may reuse smem
  return r;
}

// A candidate of ArgMax/ArgMin/Hardmax: value and index (-1: none yet).
template <typename K>
struct ArgPair {
  K v;
  long long i;
};

// Whether `a` beats `b`: the better value (NaN above every number, as in the
// reference); on equal values the smaller index, or the larger with `last`.
template <typename K>
__device__ __forceinline__ bool arg_better(const ArgPair<K>& a, const ArgPair<K>& b, bool is_max, bool last) {
  if (a.i < 0) return false;
  if (b.i < 0) return true;
  bool na = a.v != a.v, nb = b.v != b.v;
  if (na != nb) return na;
  if (!na && a.v != b.v) return (a.v > b.v) == is_max;
  return last ? a.i > b.i : a.i < b.i;
}

template <typename K>
__device__ __forceinline__ ArgPair<K> warp_arg_allreduce(ArgPair<K> p, bool is_max, bool last) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) {
    ArgPair<K> q{__shfl_xor_sync(kFullMask, p.v, o), __shfl_xor_sync(kFullMask, p.i, o)};
    if (arg_better(q, p, is_max, last)) p = q;
  }
  return p;
}

}  // namespace kiln::cureduce
