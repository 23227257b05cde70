// Unary math and activations, IsNaN / IsInf. Floats compute in float (fp16 and
// bf16 widened), integers in wrapping int64. Each launch walks the tensor with
// 16-byte vectors when both pointers allow it, else one element at a time.
#include <cmath>

#include "backends/cuda/kernels/elementwise_device.cuh"

namespace kiln::cuda::ew {
namespace {

struct UnaryArgs {
  float alpha, beta, gamma;
  float lo, hi;        // Clip bounds for float types
  int64_t ilo, ihi;    // Clip bounds for integer types
};

__device__ __forceinline__ float clamp01(float v) { return v < 0.f ? 0.f : (v > 1.f ? 1.f : v); }  // NaN stays

__device__ __forceinline__ float softplus_f(float x) {
  return x > 0.f ? x + log1pf(expf(-x)) : log1pf(expf(x));
}

template <UnaryOp OP>
__device__ __forceinline__ float unary_f(float x, const UnaryArgs& a) {
  if constexpr (OP == UnaryOp::kAbs) return fabsf(x);
  if constexpr (OP == UnaryOp::kNeg) return -x;
  if constexpr (OP == UnaryOp::kSign) return x != x ? x : (x > 0.f ? 1.f : (x < 0.f ? -1.f : 0.f));
  if constexpr (OP == UnaryOp::kRelu) return x > 0.f ? x : (x != x ? x : 0.f);
  if constexpr (OP == UnaryOp::kClip) {
    // As the reference: below lo -> lo, then above hi -> hi (min > max gives max); NaN passes.
    float v = x < a.lo ? a.lo : x;
    return v > a.hi ? a.hi : v;
  }
  if constexpr (OP == UnaryOp::kSqrt) return sqrtf(x);
  if constexpr (OP == UnaryOp::kExp) return expf(x);
  if constexpr (OP == UnaryOp::kLog) return logf(x);
  if constexpr (OP == UnaryOp::kReciprocal) return 1.0f / x;
  if constexpr (OP == UnaryOp::kFloor) return floorf(x);
  if constexpr (OP == UnaryOp::kCeil) return ceilf(x);
  if constexpr (OP == UnaryOp::kRound) return rintf(x);  // ties to even, keeps -0
  if constexpr (OP == UnaryOp::kSin) return sinf(x);
  if constexpr (OP == UnaryOp::kCos) return cosf(x);
  if constexpr (OP == UnaryOp::kTan) return tanf(x);
  if constexpr (OP == UnaryOp::kAsin) return asinf(x);
  if constexpr (OP == UnaryOp::kAcos) return acosf(x);
  if constexpr (OP == UnaryOp::kAtan) return atanf(x);
  if constexpr (OP == UnaryOp::kSinh) return sinhf(x);
  if constexpr (OP == UnaryOp::kCosh) return coshf(x);
  if constexpr (OP == UnaryOp::kAsinh) return asinhf(x);
  if constexpr (OP == UnaryOp::kAcosh) return acoshf(x);
  if constexpr (OP == UnaryOp::kAtanh) return atanhf(x);
  if constexpr (OP == UnaryOp::kTanh) return tanhf(x);
  if constexpr (OP == UnaryOp::kSigmoid) {
    // Split by sign so expf never overflows.
    if (x >= 0.f) return 1.0f / (1.0f + expf(-x));
    float e = expf(x);
    return e / (1.0f + e);
  }
  if constexpr (OP == UnaryOp::kErf) return erff(x);
  if constexpr (OP == UnaryOp::kSoftplus) return softplus_f(x);
  if constexpr (OP == UnaryOp::kSoftsign) return x / (1.0f + fabsf(x));
  if constexpr (OP == UnaryOp::kHardSwish) return x * clamp01(x / 6.0f + 0.5f);
  if constexpr (OP == UnaryOp::kMish) return x * tanhf(softplus_f(x));
  if constexpr (OP == UnaryOp::kLeakyRelu) return x < 0.f ? a.alpha * x : x;
  if constexpr (OP == UnaryOp::kHardSigmoid) return clamp01(a.alpha * x + a.beta);
  if constexpr (OP == UnaryOp::kElu) return x < 0.f ? a.alpha * expm1f(x) : x;
  if constexpr (OP == UnaryOp::kSelu) return x > 0.f ? a.gamma * x : a.gamma * a.alpha * expm1f(x);
  if constexpr (OP == UnaryOp::kCelu) return fmaxf(0.f, x) + fminf(0.f, a.alpha * expm1f(x / a.alpha));
  if constexpr (OP == UnaryOp::kThresholdedRelu) return x > a.alpha ? x : 0.f;
  // 0.5 x (1 + erf(x / sqrt 2)) written with erfc: no cancellation for negative x.
  if constexpr (OP == UnaryOp::kGelu) return 0.5f * x * erfcf(-x * 0.70710678118654752f);
  if constexpr (OP == UnaryOp::kGeluTanh) {
    const float k = 0.79788456080286536f;  // sqrt(2 / pi)
    return 0.5f * x * (1.0f + tanhf(k * (x + 0.044715f * x * x * x)));
  }
  return x;
}

template <UnaryOp OP>
__device__ __forceinline__ int64_t unary_i(int64_t x, const UnaryArgs& a) {
  if constexpr (OP == UnaryOp::kAbs) return x < 0 ? wrap_neg(x) : x;
  if constexpr (OP == UnaryOp::kNeg) return wrap_neg(x);
  if constexpr (OP == UnaryOp::kSign) return (x > 0) - (x < 0);
  if constexpr (OP == UnaryOp::kRelu) return x > 0 ? x : 0;
  if constexpr (OP == UnaryOp::kClip) return x < a.ilo ? a.ilo : (x > a.ihi ? a.ihi : x);
  if constexpr (OP == UnaryOp::kNot) return x == 0 ? 1 : 0;
  return x;
}

template <UnaryOp OP, typename T>
__device__ __forceinline__ T unary_apply(T x, const UnaryArgs& a) {
  if constexpr (Ew<T>::kFloat)
    return Ew<T>::from_f(unary_f<OP>(Ew<T>::to_f(x), a));
  else
    return Ew<T>::from_i(unary_i<OP>(Ew<T>::to_i(x), a));
}

// V elements per step (V = 1: plain element loop). Grid-stride over the
// vectors, then the last n % V elements one per thread. x may equal y.
template <UnaryOp OP, typename T, int V>
__global__ void unary_kernel(const T* x, T* y, int64_t n, UnaryArgs a, const T* lo, const T* hi) {
  if constexpr (OP == UnaryOp::kClip) {
    // Bounds are device scalars (constant or computed); every thread reads them once.
    if constexpr (Ew<T>::kFloat) {
      if (lo) a.lo = Ew<T>::to_f(*lo);
      if (hi) a.hi = Ew<T>::to_f(*hi);
    } else {
      if (lo) a.ilo = Ew<T>::to_i(*lo);
      if (hi) a.ihi = Ew<T>::to_i(*hi);
    }
  }
  int64_t nv = n / V;
  for (int64_t v = global_thread(); v < nv; v += grid_threads()) {
    Vec<T, V> in = reinterpret_cast<const Vec<T, V>*>(x)[v];
    Vec<T, V> out;
#pragma unroll
    for (int k = 0; k < V; ++k) out.e[k] = unary_apply<OP, T>(in.e[k], a);
    reinterpret_cast<Vec<T, V>*>(y)[v] = out;
  }
  for (int64_t i = nv * V + global_thread(); i < n; i += grid_threads()) y[i] = unary_apply<OP, T>(x[i], a);
}

template <UnaryOp OP, typename T>
Status run_unary(const UnaryParams& p, const void* xv, void* yv, const void* lo, const void* hi, cudaStream_t s) {
  UnaryArgs a{p.alpha, p.beta, p.gamma, -INFINITY, INFINITY, INT64_MIN, INT64_MAX};
  const T* x = static_cast<const T*>(xv);
  T* y = static_cast<T*>(yv);
  constexpr int V = 16 / sizeof(T);
  if (aligned(x, 16) && aligned(y, 16)) {
    int64_t work = p.n / V > 0 ? p.n / V : p.n % V;
    unary_kernel<OP, T, V><<<blocks_for(work), kThreads, 0, s>>>(x, y, p.n, a, static_cast<const T*>(lo),
                                                                   static_cast<const T*>(hi));
  } else {
    unary_kernel<OP, T, 1><<<blocks_for(p.n), kThreads, 0, s>>>(x, y, p.n, a, static_cast<const T*>(lo),
                                                                  static_cast<const T*>(hi));
  }
  KILN_CUDA_CHECK_LAUNCH("kiln.unary kernel");
  return Status::Ok();
}

template <typename T>
Status unary_float(const UnaryParams& p, const void* x, void* y, const void* lo, const void* hi, cudaStream_t s) {
  switch (p.op) {
    case UnaryOp::kAbs: return run_unary<UnaryOp::kAbs, T>(p, x, y, lo, hi, s);
    case UnaryOp::kNeg: return run_unary<UnaryOp::kNeg, T>(p, x, y, lo, hi, s);
    case UnaryOp::kSign: return run_unary<UnaryOp::kSign, T>(p, x, y, lo, hi, s);
    case UnaryOp::kRelu: return run_unary<UnaryOp::kRelu, T>(p, x, y, lo, hi, s);
    case UnaryOp::kClip: return run_unary<UnaryOp::kClip, T>(p, x, y, lo, hi, s);
    case UnaryOp::kSqrt: return run_unary<UnaryOp::kSqrt, T>(p, x, y, lo, hi, s);
    case UnaryOp::kExp: return run_unary<UnaryOp::kExp, T>(p, x, y, lo, hi, s);
    case UnaryOp::kLog: return run_unary<UnaryOp::kLog, T>(p, x, y, lo, hi, s);
    case UnaryOp::kReciprocal: return run_unary<UnaryOp::kReciprocal, T>(p, x, y, lo, hi, s);
    case UnaryOp::kFloor: return run_unary<UnaryOp::kFloor, T>(p, x, y, lo, hi, s);
    case UnaryOp::kCeil: return run_unary<UnaryOp::kCeil, T>(p, x, y, lo, hi, s);
    case UnaryOp::kRound: return run_unary<UnaryOp::kRound, T>(p, x, y, lo, hi, s);
    case UnaryOp::kSin: return run_unary<UnaryOp::kSin, T>(p, x, y, lo, hi, s);
    case UnaryOp::kCos: return run_unary<UnaryOp::kCos, T>(p, x, y, lo, hi, s);
    case UnaryOp::kTan: return run_unary<UnaryOp::kTan, T>(p, x, y, lo, hi, s);
    case UnaryOp::kAsin: return run_unary<UnaryOp::kAsin, T>(p, x, y, lo, hi, s);
    case UnaryOp::kAcos: return run_unary<UnaryOp::kAcos, T>(p, x, y, lo, hi, s);
    case UnaryOp::kAtan: return run_unary<UnaryOp::kAtan, T>(p, x, y, lo, hi, s);
    case UnaryOp::kSinh: return run_unary<UnaryOp::kSinh, T>(p, x, y, lo, hi, s);
    case UnaryOp::kCosh: return run_unary<UnaryOp::kCosh, T>(p, x, y, lo, hi, s);
    case UnaryOp::kAsinh: return run_unary<UnaryOp::kAsinh, T>(p, x, y, lo, hi, s);
    case UnaryOp::kAcosh: return run_unary<UnaryOp::kAcosh, T>(p, x, y, lo, hi, s);
    case UnaryOp::kAtanh: return run_unary<UnaryOp::kAtanh, T>(p, x, y, lo, hi, s);
    case UnaryOp::kTanh: return run_unary<UnaryOp::kTanh, T>(p, x, y, lo, hi, s);
    case UnaryOp::kSigmoid: return run_unary<UnaryOp::kSigmoid, T>(p, x, y, lo, hi, s);
    case UnaryOp::kErf: return run_unary<UnaryOp::kErf, T>(p, x, y, lo, hi, s);
    case UnaryOp::kSoftplus: return run_unary<UnaryOp::kSoftplus, T>(p, x, y, lo, hi, s);
    case UnaryOp::kSoftsign: return run_unary<UnaryOp::kSoftsign, T>(p, x, y, lo, hi, s);
    case UnaryOp::kHardSwish: return run_unary<UnaryOp::kHardSwish, T>(p, x, y, lo, hi, s);
    case UnaryOp::kMish: return run_unary<UnaryOp::kMish, T>(p, x, y, lo, hi, s);
    case UnaryOp::kLeakyRelu: return run_unary<UnaryOp::kLeakyRelu, T>(p, x, y, lo, hi, s);
    case UnaryOp::kHardSigmoid: return run_unary<UnaryOp::kHardSigmoid, T>(p, x, y, lo, hi, s);
    case UnaryOp::kElu: return run_unary<UnaryOp::kElu, T>(p, x, y, lo, hi, s);
    case UnaryOp::kSelu: return run_unary<UnaryOp::kSelu, T>(p, x, y, lo, hi, s);
    case UnaryOp::kCelu: return run_unary<UnaryOp::kCelu, T>(p, x, y, lo, hi, s);
    case UnaryOp::kThresholdedRelu: return run_unary<UnaryOp::kThresholdedRelu, T>(p, x, y, lo, hi, s);
    case UnaryOp::kGelu: return run_unary<UnaryOp::kGelu, T>(p, x, y, lo, hi, s);
    case UnaryOp::kGeluTanh: return run_unary<UnaryOp::kGeluTanh, T>(p, x, y, lo, hi, s);
    case UnaryOp::kNot: break;
  }
  return Internal("kiln.unary: op ", static_cast<int>(p.op), " has no float kernel");
}

template <typename T>
Status unary_int(const UnaryParams& p, const void* x, void* y, const void* lo, const void* hi, cudaStream_t s) {
  switch (p.op) {
    case UnaryOp::kAbs: return run_unary<UnaryOp::kAbs, T>(p, x, y, lo, hi, s);
    case UnaryOp::kNeg: return run_unary<UnaryOp::kNeg, T>(p, x, y, lo, hi, s);
    case UnaryOp::kSign: return run_unary<UnaryOp::kSign, T>(p, x, y, lo, hi, s);
    case UnaryOp::kRelu: return run_unary<UnaryOp::kRelu, T>(p, x, y, lo, hi, s);
    case UnaryOp::kClip: return run_unary<UnaryOp::kClip, T>(p, x, y, lo, hi, s);
    default: break;
  }
  return Internal("kiln.unary: op ", static_cast<int>(p.op), " has no ", dtype_name(p.dtype), " kernel");
}

// ---- IsNaN / IsInf ---------------------------------------------------------------------
template <typename T>
__global__ void is_special_kernel(const T* x, Bool8* y, int64_t n, IsSpecialParams p) {
  for (int64_t i = global_thread(); i < n; i += grid_threads()) {
    float v = Ew<T>::to_f(x[i]);
    bool hit;
    if (!p.is_inf)
      hit = v != v;
    else
      hit = isinf(v) && ((v > 0.f && p.positive) || (v < 0.f && p.negative));
    y[i] = Bool8{static_cast<uint8_t>(hit ? 1 : 0)};
  }
}

template <typename T>
Status run_is_special(const IsSpecialParams& p, const void* x, void* y, cudaStream_t s) {
  is_special_kernel<T><<<blocks_for(p.n), kThreads, 0, s>>>(static_cast<const T*>(x), static_cast<Bool8*>(y), p.n, p);
  KILN_CUDA_CHECK_LAUNCH("kiln.is_special kernel");
  return Status::Ok();
}

}  // namespace

Status launch_unary(const UnaryParams& p, const void* x, void* y, const void* lo, const void* hi, cudaStream_t s) {
  if (p.n == 0) return Status::Ok();
  switch (p.dtype) {
    case DType::kFloat32: return unary_float<float>(p, x, y, lo, hi, s);
    case DType::kFloat16: return unary_float<__half>(p, x, y, lo, hi, s);
    case DType::kBFloat16: return unary_float<__nv_bfloat16>(p, x, y, lo, hi, s);
    case DType::kInt8: return unary_int<int8_t>(p, x, y, lo, hi, s);
    case DType::kUInt8: return unary_int<uint8_t>(p, x, y, lo, hi, s);
    case DType::kInt32: return unary_int<int32_t>(p, x, y, lo, hi, s);
    case DType::kInt64: return unary_int<int64_t>(p, x, y, lo, hi, s);
    case DType::kBool:
      if (p.op == UnaryOp::kNot) return run_unary<UnaryOp::kNot, Bool8>(p, x, y, lo, hi, s);
      break;
    default: break;
  }
  return Internal("kiln.unary: no kernel for ", dtype_name(p.dtype));
}

Status launch_is_special(const IsSpecialParams& p, const void* x, void* y, cudaStream_t s) {
  if (p.n == 0) return Status::Ok();
  switch (p.dtype) {
    case DType::kFloat32: return run_is_special<float>(p, x, y, s);
    case DType::kFloat16: return run_is_special<__half>(p, x, y, s);
    case DType::kBFloat16: return run_is_special<__nv_bfloat16>(p, x, y, s);
    case DType::kFloat8E4M3FN: return run_is_special<E4M3>(p, x, y, s);
    case DType::kFloat8E5M2: return run_is_special<E5M2>(p, x, y, s);
    default: break;
  }
  return Internal("kiln.is_special: no kernel for ", dtype_name(p.dtype));
}

}  // namespace kiln::cuda::ew
