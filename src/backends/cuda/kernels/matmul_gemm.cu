// Reference GEMM kernels (one thread per output element, a plain loop over
// k) and the bias/activation epilogue kernels of the matmul family (a
// general one, and a vectorized one for the in-place post-GEMM case). The float
// GEMM covers what cuBLASLt is not asked to do (K == 0, or no algorithm);
// the integer GEMM runs MatMul/Gemm on int32/int64 and MatMulInteger.
#include "backends/cuda/cuda_check.h"
#include "backends/cuda/kernels/matmul_common.h"

namespace kiln::mm {
namespace {

using cuda::load_f;
using cuda::store_f;

constexpr int kThreads = 256;

__device__ __forceinline__ float activate(float x, Act act) {
  switch (act) {
    case Act::kRelu: return x > 0.f ? x : 0.f;
    case Act::kGeluErf: return 0.5f * x * (1.f + erff(x * 0.70710678118654752f));  // x / sqrt(2)
    case Act::kGeluTanh: {
      const float k = 0.79788456080286536f;  // sqrt(2 / pi)
      return 0.5f * x * (1.f + tanhf(k * (x + 0.044715f * x * x * x)));
    }
    default: return x;
  }
}

__device__ __forceinline__ int64_t grid_start() {
  return static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ __forceinline__ int64_t grid_step() { return static_cast<int64_t>(gridDim.x) * blockDim.x; }

template <typename T>
__global__ void ref_gemm_float_kernel(const T* a, const T* b, T* y, RefGemmParams p, int64_t total) {
  for (int64_t o = grid_start(); o < total; o += grid_step()) {
    const int64_t j = o % p.n;
    const int64_t row = o / p.n;
    const int64_t i = row % p.m;
    const int64_t bi = row / p.m;
    const T* ap = a + p.a_batch.offset(bi) * p.m * p.k + i * p.a_sm;
    const T* bp = b + p.b_batch.offset(bi) * p.k * p.n + j * p.b_sn;
    float acc = 0.f;
    for (int64_t kk = 0; kk < p.k; ++kk) acc += load_f(ap, kk * p.a_sk) * load_f(bp, kk * p.b_sk);
    float v = static_cast<float>(p.alpha) * acc;
    if (p.c) v += static_cast<float>(p.beta) * load_f(static_cast<const T*>(p.c), p.c_map.offset(o));
    if (p.bias) v += load_f(static_cast<const T*>(p.bias), j);
    store_f(y, o, activate(v, p.act));
  }
}

template <typename T>
__device__ __forceinline__ uint64_t load_u(const T* p, int64_t i) {
  return static_cast<uint64_t>(static_cast<int64_t>(p[i]));  // two's complement, as the CPU reference reads
}

// The CPU reference's double -> int64 conversion: NaN is 0, out of range saturates.
__device__ __forceinline__ int64_t double_to_i64(double v) {
  if (isnan(v)) return 0;
  if (v >= 9.2233720368547758e18) return INT64_MAX;
  if (v <= -9.2233720368547758e18) return INT64_MIN;
  return static_cast<int64_t>(v);
}

template <typename TA, typename TB, typename TY>
__global__ void ref_gemm_int_kernel(const TA* a, const TB* b, TY* y, RefGemmParams p, int64_t total) {
  for (int64_t o = grid_start(); o < total; o += grid_step()) {
    const int64_t j = o % p.n;
    const int64_t row = o / p.n;
    const int64_t i = row % p.m;
    const int64_t bi = row / p.m;
    const int64_t a0 = p.a_batch.offset(bi) * p.m * p.k + i * p.a_sm;
    const int64_t b0 = p.b_batch.offset(bi) * p.k * p.n + j * p.b_sn;
    uint64_t acc = 0;  // wraps like the reference's uint64 sums
    for (int64_t kk = 0; kk < p.k; ++kk) {
      const int64_t ia = a0 + kk * p.a_sk, ib = b0 + kk * p.b_sk;
      uint64_t av = load_u(a, ia), bv = load_u(b, ib);
      if (p.zp_a) av -= load_u(static_cast<const TA*>(p.zp_a), p.zp_a_map.offset(ia));
      if (p.zp_b) bv -= load_u(static_cast<const TB*>(p.zp_b), p.zp_b_map.offset(ib));
      acc += av * bv;
    }
    int64_t r;
    if (p.int_scaled) {
      double v = p.alpha * static_cast<double>(static_cast<int64_t>(acc));
      if (p.c) v += p.beta * static_cast<double>(static_cast<int64_t>(static_cast<const TY*>(p.c)[p.c_map.offset(o)]));
      r = double_to_i64(v);
    } else {
      if (p.c) acc += load_u(static_cast<const TY*>(p.c), p.c_map.offset(o));
      r = static_cast<int64_t>(acc);
    }
    y[o] = static_cast<TY>(r);  // int32 outputs keep the low 32 bits
  }
}

template <typename T>
__global__ void epilogue_kernel(T* y, int64_t total, int64_t n, const T* src, cuda::BroadcastMap map, float scale,
                                const T* bias, Act act) {
  for (int64_t o = grid_start(); o < total; o += grid_step()) {
    float v = src ? scale * load_f(src, map.offset(o)) : 0.f;
    if (bias) v += load_f(bias, o % n);
    store_f(y, o, activate(v, act));
  }
}

// The common post-GEMM case: y = act(y + bias[col]) in place over rows of n,
// V elements (16 bytes) per step; n % V == 0 so a step stays in one row.
// 32-bit indices: the caller checks the sizes fit.
template <typename T, int V, Act A>
__global__ void inplace_epilogue_kernel(T* y, uint32_t steps, uint32_t n, const T* bias) {
  struct alignas(16) Pack {
    T e[V];
  };
  for (uint32_t s = blockIdx.x * blockDim.x + threadIdx.x; s < steps; s += gridDim.x * blockDim.x) {
    Pack p = reinterpret_cast<Pack*>(y)[s];
    const uint32_t col = (s * V) % n;
#pragma unroll
    for (int e = 0; e < V; ++e) {
      float v = load_f(p.e, e);
      if (bias) v += load_f(bias, col + e);
      store_f(p.e, e, activate(v, A));
    }
    reinterpret_cast<Pack*>(y)[s] = p;
  }
}

template <typename T, Act A>
void launch_inplace(void* y, int64_t total, int64_t n, const void* bias, cudaStream_t s) {
  constexpr int V = 16 / sizeof(T);
  const auto steps = static_cast<uint32_t>(total / V);
  inplace_epilogue_kernel<T, V, A><<<cuda::grid_for(steps, kThreads), kThreads, 0, s>>>(
      static_cast<T*>(y), steps, static_cast<uint32_t>(n), static_cast<const T*>(bias));
}

template <typename T>
void launch_inplace_act(void* y, int64_t total, int64_t n, const void* bias, Act act, cudaStream_t s) {
  switch (act) {
    case Act::kRelu: return launch_inplace<T, Act::kRelu>(y, total, n, bias, s);
    case Act::kGeluErf: return launch_inplace<T, Act::kGeluErf>(y, total, n, bias, s);
    case Act::kGeluTanh: return launch_inplace<T, Act::kGeluTanh>(y, total, n, bias, s);
    default: return launch_inplace<T, Act::kNone>(y, total, n, bias, s);
  }
}

template <typename T>
void launch_float(const void* a, const void* b, void* y, const RefGemmParams& p, int64_t total, cudaStream_t s) {
  ref_gemm_float_kernel<T><<<cuda::grid_for(total, kThreads), kThreads, 0, s>>>(
      static_cast<const T*>(a), static_cast<const T*>(b), static_cast<T*>(y), p, total);
}

template <typename TA, typename TB, typename TY>
void launch_int(const void* a, const void* b, void* y, const RefGemmParams& p, int64_t total, cudaStream_t s) {
  ref_gemm_int_kernel<TA, TB, TY><<<cuda::grid_for(total, kThreads), kThreads, 0, s>>>(
      static_cast<const TA*>(a), static_cast<const TB*>(b), static_cast<TY*>(y), p, total);
}

template <typename T>
void launch_epi(void* y, int64_t total, int64_t n, const void* src, const cuda::BroadcastMap& map, float scale,
                const void* bias, Act act, cudaStream_t s) {
  epilogue_kernel<T><<<cuda::grid_for(total, kThreads), kThreads, 0, s>>>(
      static_cast<T*>(y), total, n, static_cast<const T*>(src), map, scale, static_cast<const T*>(bias), act);
}

}  // namespace

Status launch_ref_gemm_float(DType t, const void* a, const void* b, void* y, const RefGemmParams& p,
                             cudaStream_t stream) {
  const int64_t total = p.batch * p.m * p.n;
  if (total == 0) return Status::Ok();
  switch (t) {
    case DType::kFloat32: launch_float<float>(a, b, y, p, total, stream); break;
    case DType::kFloat16: launch_float<__half>(a, b, y, p, total, stream); break;
    case DType::kBFloat16: launch_float<__nv_bfloat16>(a, b, y, p, total, stream); break;
    default: return Internal("reference GEMM: unsupported type ", dtype_name(t));
  }
  KILN_CUDA_CHECK_LAUNCH("ref_gemm_float_kernel");
  return Status::Ok();
}

Status launch_ref_gemm_int(DType ta, DType tb, DType ty, const void* a, const void* b, void* y,
                           const RefGemmParams& p, cudaStream_t stream) {
  const int64_t total = p.batch * p.m * p.n;
  if (total == 0) return Status::Ok();
  using I8 = int8_t;
  using U8 = uint8_t;
  if (ta == DType::kInt32 && tb == DType::kInt32 && ty == DType::kInt32) {
    launch_int<int32_t, int32_t, int32_t>(a, b, y, p, total, stream);
  } else if (ta == DType::kInt64 && tb == DType::kInt64 && ty == DType::kInt64) {
    launch_int<int64_t, int64_t, int64_t>(a, b, y, p, total, stream);
  } else if (ty != DType::kInt32) {
    return Internal("integer GEMM: unsupported output type ", dtype_name(ty));
  } else if (ta == DType::kUInt8 && tb == DType::kUInt8) {
    launch_int<U8, U8, int32_t>(a, b, y, p, total, stream);
  } else if (ta == DType::kUInt8 && tb == DType::kInt8) {
    launch_int<U8, I8, int32_t>(a, b, y, p, total, stream);
  } else if (ta == DType::kInt8 && tb == DType::kUInt8) {
    launch_int<I8, U8, int32_t>(a, b, y, p, total, stream);
  } else if (ta == DType::kInt8 && tb == DType::kInt8) {
    launch_int<I8, I8, int32_t>(a, b, y, p, total, stream);
  } else {
    return Internal("integer GEMM: unsupported types ", dtype_name(ta), " x ", dtype_name(tb));
  }
  KILN_CUDA_CHECK_LAUNCH("ref_gemm_int_kernel");
  return Status::Ok();
}

Status launch_epilogue(DType t, void* y, int64_t total, int64_t n, const void* src, const cuda::BroadcastMap& src_map,
                       float scale, const void* bias, Act act, cudaStream_t stream) {
  if (total == 0) return Status::Ok();
  if (n <= 0) return Internal("epilogue with n = ", n);
  // In place (src is y) with rows of whole 16-byte steps: the vector kernel.
  const int64_t vec = 16 / static_cast<int64_t>(dtype_size(t));
  const auto aligned16 = [](const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; };
  if (src == y && src_map.identity && scale == 1.f && n % vec == 0 && total < (int64_t{1} << 31) &&
      aligned16(y) && (!bias || aligned16(bias))) {
    switch (t) {
      case DType::kFloat32: launch_inplace_act<float>(y, total, n, bias, act, stream); break;
      case DType::kFloat16: launch_inplace_act<__half>(y, total, n, bias, act, stream); break;
      case DType::kBFloat16: launch_inplace_act<__nv_bfloat16>(y, total, n, bias, act, stream); break;
      default: return Internal("epilogue: unsupported type ", dtype_name(t));
    }
    KILN_CUDA_CHECK_LAUNCH("inplace_epilogue_kernel");
    return Status::Ok();
  }
  switch (t) {
    case DType::kFloat32: launch_epi<float>(y, total, n, src, src_map, scale, bias, act, stream); break;
    case DType::kFloat16: launch_epi<__half>(y, total, n, src, src_map, scale, bias, act, stream); break;
    case DType::kBFloat16: launch_epi<__nv_bfloat16>(y, total, n, src, src_map, scale, bias, act, stream); break;
    default: return Internal("epilogue: unsupported type ", dtype_name(t));
  }
  KILN_CUDA_CHECK_LAUNCH("epilogue_kernel");
  return Status::Ok();
}

}  // namespace kiln::mm
