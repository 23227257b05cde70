// Pool kernels. Windowed pools: one thread per output element, taps visited
// in row-major order so MaxPool's ties and Indices match the CPU reference.
// Global pools: one warp per (n, c) plane in NCHW, one thread per (n, c) in
// channels last (neighbouring threads read neighbouring channels).
// Accumulation is in float (double for float64 data).
#include "backends/cuda/cuda_check.h"
#include "backends/cuda/kernels/conv_util.h"
#include "backends/cuda/kernels/cuda_common.cuh"

namespace kiln::cuconv {
namespace {

template <typename T>
struct AccOf {
  using type = float;
};
template <>
struct AccOf<double> {
  using type = double;
};

template <typename A, typename T>
__host__ __device__ __forceinline__ A ld(const T* p, int64_t i) {
  return static_cast<A>(p[i]);
}
template <typename A>
__host__ __device__ __forceinline__ A ld(const __half* p, int64_t i) {
  return static_cast<A>(__half2float(p[i]));
}
template <typename A>
__host__ __device__ __forceinline__ A ld(const __nv_bfloat16* p, int64_t i) {
  return static_cast<A>(__bfloat162float(p[i]));
}

template <typename T, typename A>
__host__ __device__ __forceinline__ void st(T* p, int64_t i, A v) {
  p[i] = static_cast<T>(v);
}
template <typename A>
__host__ __device__ __forceinline__ void st(__half* p, int64_t i, A v) {
  p[i] = __float2half_rn(static_cast<float>(v));
}
template <typename A>
__host__ __device__ __forceinline__ void st(__nv_bfloat16* p, int64_t i, A v) {
  p[i] = __float2bfloat16_rn(static_cast<float>(v));
}

__host__ __device__ __forceinline__ int64_t floor_div(int64_t a, int64_t b) {
  const int64_t q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}

__host__ __device__ __forceinline__ int64_t imax(int64_t a, int64_t b) { return a > b ? a : b; }
__host__ __device__ __forceinline__ int64_t imin(int64_t a, int64_t b) { return a < b ? a : b; }

template <typename A>
__host__ __device__ __forceinline__ A lp_term(A v, int p) {
  const A a = v < A(0) ? -v : v;
  return p == 1 ? a : pow(a, static_cast<A>(p));
}

template <typename A>
__host__ __device__ __forceinline__ A lp_root(A acc, int p) {
  return p == 1 ? acc : p == 2 ? sqrt(acc) : pow(acc, A(1) / static_cast<A>(p));
}

// Element offset of (n, c, flat spatial s) in an NCHW-style or channels-last tensor.
__host__ __device__ __forceinline__ int64_t offset_of(int64_t n, int64_t c, int64_t s, int64_t C, int64_t S, bool cl) {
  return cl ? (n * S + s) * C + c : (n * C + c) * S + s;
}

// Output element i of a windowed pool (host-callable for tests).
template <typename T>
__host__ __device__ inline void pool_element(const T* x, T* y, int64_t* ind, const PoolGeom& g, int64_t i) {
  using A = typename AccOf<T>::type;
  const int64_t s_out = g.out[0] * g.out[1] * g.out[2];
  const int64_t s_in = g.in[0] * g.in[1] * g.in[2];
  int64_t n, c, so;
  if (g.y_cl) {
    c = i % g.C;
    so = (i / g.C) % s_out;
    n = i / (g.C * s_out);
  } else {
    so = i % s_out;
    c = (i / s_out) % g.C;
    n = i / (s_out * g.C);
  }
  const int64_t o[3] = {so / (g.out[1] * g.out[2]), (so / g.out[2]) % g.out[1], so % g.out[2]};
  int64_t first[3], count[3];
  A divisor = 1;
  int64_t valid = 1;
  for (int j = 0; j < 3; ++j) {
    const int64_t base = o[j] * g.s[j] - g.pb[j];
    const int64_t lo = imax(0, -floor_div(base, g.d[j]));
    const int64_t hi = imin(g.k[j], floor_div(g.in[j] - 1 - base, g.d[j]) + 1);
    const int64_t padded = imin(g.k[j], imax(0, floor_div(g.in[j] + g.pe[j] - 1 - base, g.d[j]) + 1));
    first[j] = base + lo * g.d[j];
    count[j] = imax(0, hi - lo);
    valid *= count[j];
    divisor *= static_cast<A>(padded);
  }
  const int64_t xb = g.x_cl ? n * s_in * g.C + c : (n * g.C + c) * s_in;
  const int64_t step = g.x_cl ? g.C : 1;
  A acc = 0;
  int64_t best = -1;
  bool any = false;
  for (int64_t t0 = 0; t0 < count[0]; ++t0) {
    const int64_t p0 = first[0] + t0 * g.d[0];
    for (int64_t t1 = 0; t1 < count[1]; ++t1) {
      const int64_t p1 = first[1] + t1 * g.d[1];
      for (int64_t t2 = 0; t2 < count[2]; ++t2) {
        const int64_t p2 = first[2] + t2 * g.d[2];
        const int64_t sp = (p0 * g.in[1] + p1) * g.in[2] + p2;
        const A v = ld<A>(x, xb + sp * step);
        if (g.kind == PoolKind::kMax) {
          if (!any || v > acc) {
            acc = v;
            best = g.col_major_index ? p0 + g.in[0] * (p1 + g.in[1] * p2) : sp;
          }
          any = true;
        } else if (g.kind == PoolKind::kAverage) {
          acc += v;
        } else {
          acc += lp_term(v, g.p);
        }
      }
    }
  }
  if (g.kind == PoolKind::kAverage && valid > 0) acc /= g.count_include_pad ? divisor : static_cast<A>(valid);
  if (g.kind == PoolKind::kLp) acc = lp_root(acc, g.p);
  st(y, i, acc);
  if (ind) {
    const int64_t at = g.i_cl == g.y_cl ? i : offset_of(n, c, so, g.C, s_out, g.i_cl);
    ind[at] = best < 0 ? -1 : (n * g.C + c) * s_in + best;
  }
}

template <typename T>
__global__ void pool_kernel(const T* x, T* y, int64_t* ind, PoolGeom g, int64_t total) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    pool_element(x, y, ind, g, i);
}

template <typename A>
__host__ __device__ __forceinline__ A combine(PoolKind kind, A acc, A v) {
  return kind == PoolKind::kMax ? (v > acc ? v : acc) : acc + v;
}

template <typename T>
__host__ __device__ __forceinline__ typename AccOf<T>::type global_term(const T* x, int64_t i, const GlobalPoolGeom& g) {
  using A = typename AccOf<T>::type;
  const A v = ld<A>(x, i);
  return g.kind == PoolKind::kLp ? lp_term(v, g.p) : v;
}

template <typename A>
__host__ __device__ __forceinline__ A global_finish(A acc, const GlobalPoolGeom& g) {
  if (g.kind == PoolKind::kAverage) return acc / static_cast<A>(g.S);
  if (g.kind == PoolKind::kLp) return lp_root(acc, g.p);
  return acc;
}

// NCHW: one warp per plane, lanes stride over the plane, then a shuffle reduction.
template <typename T>
__global__ void global_planes_kernel(const T* x, T* y, GlobalPoolGeom g, int64_t planes) {
  using A = typename AccOf<T>::type;
  const int lane = threadIdx.x & 31;
  const int64_t warps = (static_cast<int64_t>(gridDim.x) * blockDim.x) >> 5;
  for (int64_t w = (blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x) >> 5; w < planes; w += warps) {
    const T* p = x + w * g.S;
    // Max starts from the plane's first element (S >= 1); sums from zero.
    A acc = g.kind == PoolKind::kMax ? ld<A>(p, 0) : A(0);
    for (int64_t i = lane; i < g.S; i += 32) acc = combine(g.kind, acc, global_term(p, i, g));
    for (int off = 16; off > 0; off >>= 1) acc = combine(g.kind, acc, __shfl_down_sync(0xffffffffu, acc, off));
    if (lane == 0) st(y, w, global_finish(acc, g));
  }
}

// Channels last: one thread per (n, c). Output element i (host-callable for tests).
template <typename T>
__host__ __device__ inline void global_channels_last_element(const T* x, T* y, const GlobalPoolGeom& g, int64_t i) {
  using A = typename AccOf<T>::type;
  const int64_t n = i / g.C, c = i % g.C;
  const T* p = x + n * g.S * g.C + c;
  A acc = g.kind == PoolKind::kMax ? ld<A>(p, 0) : A(0);
  for (int64_t s = 0; s < g.S; ++s) acc = combine(g.kind, acc, global_term(p, s * g.C, g));
  st(y, i, global_finish(acc, g));
}

template <typename T>
__global__ void global_channels_last_kernel(const T* x, T* y, GlobalPoolGeom g, int64_t planes) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < planes;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    global_channels_last_element(x, y, g, i);
}

template <typename T>
Status run_pool(const void* x, void* y, int64_t* ind, const PoolGeom& g, cudaStream_t s) {
  const int64_t total = g.N * g.C * g.out[0] * g.out[1] * g.out[2];
  if (total == 0) return Status::Ok();
  pool_kernel<T><<<cuda::grid_for(total), 256, 0, s>>>(static_cast<const T*>(x), static_cast<T*>(y), ind, g, total);
  KILN_CUDA_CHECK_LAUNCH("pool kernel");
  return Status::Ok();
}

template <typename T>
Status run_global(const void* x, void* y, const GlobalPoolGeom& g, cudaStream_t s) {
  const int64_t planes = g.N * g.C;
  if (planes == 0) return Status::Ok();
  if (g.x_cl) {
    global_channels_last_kernel<T><<<cuda::grid_for(planes), 256, 0, s>>>(static_cast<const T*>(x),
                                                                           static_cast<T*>(y), g, planes);
  } else {
    global_planes_kernel<T><<<cuda::grid_for(planes * 32), 256, 0, s>>>(static_cast<const T*>(x),
                                                                         static_cast<T*>(y), g, planes);
  }
  KILN_CUDA_CHECK_LAUNCH("global pool kernel");
  return Status::Ok();
}

}  // namespace

Status pool_launch(DType t, const void* x, void* y, int64_t* indices, const PoolGeom& g, cudaStream_t s) {
  switch (t) {
    case DType::kFloat32: return run_pool<float>(x, y, indices, g, s);
    case DType::kFloat16: return run_pool<__half>(x, y, indices, g, s);
    case DType::kBFloat16: return run_pool<__nv_bfloat16>(x, y, indices, g, s);
    case DType::kFloat64: return run_pool<double>(x, y, indices, g, s);
    case DType::kInt8: return run_pool<int8_t>(x, y, indices, g, s);
    case DType::kUInt8: return run_pool<uint8_t>(x, y, indices, g, s);
    default: return Unsupported("pool: type ", dtype_name(t));
  }
}

Status global_pool_launch(DType t, const void* x, void* y, const GlobalPoolGeom& g, cudaStream_t s) {
  switch (t) {
    case DType::kFloat32: return run_global<float>(x, y, g, s);
    case DType::kFloat16: return run_global<__half>(x, y, g, s);
    case DType::kBFloat16: return run_global<__nv_bfloat16>(x, y, g, s);
    case DType::kFloat64: return run_global<double>(x, y, g, s);
    default: return Unsupported("global pool: type ", dtype_name(t));
  }
}

}  // namespace kiln::cuconv
