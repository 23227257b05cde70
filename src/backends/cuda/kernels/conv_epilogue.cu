// Small elementwise kernels around the cuDNN convolutions: the epilogue
// (bias, residual, relu) for algorithms the fused cuDNN call cannot take, and
// ConvTranspose's crop of its full result plus bias. Values are widened to
// float, combined, and rounded once on store.
#include "backends/cuda/cuda_check.h"
#include "backends/cuda/kernels/conv_util.h"
#include "backends/cuda/kernels/cuda_common.cuh"

namespace kiln::cuconv {
namespace {

using cuda::grid_for;

// Widening load and rounding store (host-callable, unlike cuda_common's).
template <typename T>
__host__ __device__ __forceinline__ float to_f(T v) {
  return static_cast<float>(v);
}
template <>
__host__ __device__ __forceinline__ float to_f<__half>(__half v) {
  return __half2float(v);
}
template <>
__host__ __device__ __forceinline__ float to_f<__nv_bfloat16>(__nv_bfloat16 v) {
  return __bfloat162float(v);
}
template <typename T>
__host__ __device__ __forceinline__ T from_f(float v) {
  return static_cast<T>(v);
}
template <>
__host__ __device__ __forceinline__ __half from_f<__half>(float v) {
  return __float2half_rn(v);
}
template <>
__host__ __device__ __forceinline__ __nv_bfloat16 from_f<__nv_bfloat16>(float v) {
  return __float2bfloat16_rn(v);
}

// Epilogue of element i (host-callable for tests).
template <typename T>
__host__ __device__ inline void epilogue_element(T* y, const T* bias, const T* z, int64_t C, int64_t S,
                                                 bool channels_last, bool relu, int64_t i) {
  float v = to_f(y[i]);
  if (bias) v += to_f(bias[channels_last ? i % C : (i / S) % C]);
  if (z) v += to_f(z[i]);
  if (relu) v = v > 0.f ? v : 0.f;
  y[i] = from_f<T>(v);
}

// ConvTranspose crop of output element i (host-callable for tests).
template <typename T>
__host__ __device__ inline void crop_element(const T* buf, const T* bias, T* y, const CropGeom& g, int64_t i) {
  int64_t r = i;
  int64_t o[3];
  for (int j = 2; j >= 0; --j) {
    o[j] = r % g.out[j];
    r /= g.out[j];
  }
  const int64_t c = r % g.C, nn = r / g.C;
  bool inside = true;
  int64_t off = nn * g.C + c;
  for (int j = 0; j < 3; ++j) {
    const int64_t f = o[j] + g.pb[j];
    inside = inside && f >= 0 && f < g.full[j];
    off = off * g.full[j] + f;
  }
  float v = inside ? to_f(buf[off]) : 0.f;
  if (bias) v += to_f(bias[c]);
  y[i] = from_f<T>(v);
}

template <typename T>
__global__ void epilogue_kernel(T* y, const T* bias, const T* z, int64_t n, int64_t C, int64_t S, bool channels_last,
                                bool relu) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    epilogue_element(y, bias, z, C, S, channels_last, relu, i);
}

template <typename T>
__global__ void crop_kernel(const T* buf, const T* bias, T* y, CropGeom g, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    crop_element(buf, bias, y, g, i);
}

template <typename T>
Status run_epilogue(void* y, const void* bias, const void* z, int64_t N, int64_t C, int64_t S, bool cl, bool relu,
                    cudaStream_t s) {
  const int64_t n = N * C * S;
  if (n == 0) return Status::Ok();
  epilogue_kernel<T><<<grid_for(n), 256, 0, s>>>(static_cast<T*>(y), static_cast<const T*>(bias),
                                                  static_cast<const T*>(z), n, C, S, cl, relu);
  KILN_CUDA_CHECK_LAUNCH("conv epilogue kernel");
  return Status::Ok();
}

template <typename T>
Status run_crop(const void* buf, const void* bias, void* y, const CropGeom& g, cudaStream_t s) {
  const int64_t n = g.N * g.C * g.out[0] * g.out[1] * g.out[2];
  if (n == 0) return Status::Ok();
  crop_kernel<T><<<grid_for(n), 256, 0, s>>>(static_cast<const T*>(buf), static_cast<const T*>(bias),
                                              static_cast<T*>(y), g, n);
  KILN_CUDA_CHECK_LAUNCH("conv transpose crop kernel");
  return Status::Ok();
}

}  // namespace

Status conv_epilogue(DType t, void* y, const void* bias, const void* z, int64_t N, int64_t C, int64_t S,
                     bool channels_last, bool relu, cudaStream_t s) {
  switch (t) {
    case DType::kFloat32: return run_epilogue<float>(y, bias, z, N, C, S, channels_last, relu, s);
    case DType::kFloat16: return run_epilogue<__half>(y, bias, z, N, C, S, channels_last, relu, s);
    case DType::kBFloat16: return run_epilogue<__nv_bfloat16>(y, bias, z, N, C, S, channels_last, relu, s);
    default: return Unsupported("conv epilogue: type ", dtype_name(t));
  }
}

Status transpose_crop(DType t, const void* buf, const void* bias, void* y, const CropGeom& g, cudaStream_t s) {
  switch (t) {
    case DType::kFloat32: return run_crop<float>(buf, bias, y, g, s);
    case DType::kFloat16: return run_crop<__half>(buf, bias, y, g, s);
    case DType::kBFloat16: return run_crop<__nv_bfloat16>(buf, bias, y, g, s);
    default: return Unsupported("conv transpose crop: type ", dtype_name(t));
  }
}

}  // namespace kiln::cuconv
