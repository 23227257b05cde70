// Ops over several broadcast inputs: variadic Max / Min / Sum / Mean (up to
// kMaxInputs inputs folded left to right in one pass, as the reference folds
// them) and Where (a byte copy of the chosen element, exact for every type).
#include <cmath>

#include "backends/cuda/kernels/elementwise_device.cuh"

namespace kiln::cuda::ew {
namespace {

template <typename T>
struct Inputs {
  const T* p[kMaxInputs];
};

template <VariadicOp OP>
__device__ __forceinline__ float fold_f(float acc, float v) {
  if constexpr (OP == VariadicOp::kMax) return (acc != acc || v != v) ? NAN : (acc < v ? v : acc);
  if constexpr (OP == VariadicOp::kMin) return (acc != acc || v != v) ? NAN : (v < acc ? v : acc);
  return acc + v;  // Sum, Mean
}

template <VariadicOp OP>
__device__ __forceinline__ int64_t fold_i(int64_t acc, int64_t v) {
  if constexpr (OP == VariadicOp::kMax) return acc < v ? v : acc;
  return v < acc ? v : acc;  // kMin (Sum / Mean take floats only)
}

template <VariadicOp OP, typename T>
__global__ void variadic_kernel(Inputs<T> in, int count, T* y, IndexMap<kMaxInputs> m) {
  for (int64_t i = global_thread(); i < m.numel; i += grid_threads()) {
    int64_t off[kMaxInputs];
    map_offsets<kMaxInputs>(m, i, off);
    if constexpr (Ew<T>::kFloat) {
      float acc = Ew<T>::to_f(in.p[0][off[0]]);
#pragma unroll
      for (int k = 1; k < kMaxInputs; ++k)  // unrolled: operand arrays stay in registers
        if (k < count) acc = fold_f<OP>(acc, Ew<T>::to_f(in.p[k][off[k]]));
      if constexpr (OP == VariadicOp::kMean) acc /= static_cast<float>(count);
      y[i] = Ew<T>::from_f(acc);
    } else {
      int64_t acc = Ew<T>::to_i(in.p[0][off[0]]);
#pragma unroll
      for (int k = 1; k < kMaxInputs; ++k)
        if (k < count) acc = fold_i<OP>(acc, Ew<T>::to_i(in.p[k][off[k]]));
      y[i] = Ew<T>::from_i(acc);
    }
  }
}

template <VariadicOp OP, typename T>
Status run_variadic(const VariadicParams& p, const void* const* inputs, void* y, cudaStream_t s) {
  Inputs<T> in{};
  for (int k = 0; k < p.count; ++k) in.p[k] = static_cast<const T*>(inputs[k]);
  variadic_kernel<OP, T><<<blocks_for(p.map.numel), kThreads, 0, s>>>(in, p.count, static_cast<T*>(y), p.map);
  KILN_CUDA_CHECK_LAUNCH("kiln.variadic kernel");
  return Status::Ok();
}

template <typename T>
Status variadic_float(const VariadicParams& p, const void* const* inputs, void* y, cudaStream_t s) {
  switch (p.op) {
    case VariadicOp::kMax: return run_variadic<VariadicOp::kMax, T>(p, inputs, y, s);
    case VariadicOp::kMin: return run_variadic<VariadicOp::kMin, T>(p, inputs, y, s);
    case VariadicOp::kSum: return run_variadic<VariadicOp::kSum, T>(p, inputs, y, s);
    case VariadicOp::kMean: return run_variadic<VariadicOp::kMean, T>(p, inputs, y, s);
  }
  return Internal("kiln.variadic: bad op");
}

template <typename T>
Status variadic_int(const VariadicParams& p, const void* const* inputs, void* y, cudaStream_t s) {
  switch (p.op) {
    case VariadicOp::kMax: return run_variadic<VariadicOp::kMax, T>(p, inputs, y, s);
    case VariadicOp::kMin: return run_variadic<VariadicOp::kMin, T>(p, inputs, y, s);
    default: break;
  }
  return Internal("kiln.variadic: Sum and Mean take float types");
}

// ---- Where --------------------------------------------------------------------------
template <typename E>
__global__ void where_kernel(const uint8_t* cond, const E* x, const E* y, E* out, IndexMap<3> m) {
  for (int64_t i = global_thread(); i < m.numel; i += grid_threads()) {
    int64_t off[3];
    map_offsets<3>(m, i, off);
    out[i] = cond[off[0]] != 0 ? x[off[1]] : y[off[2]];
  }
}

template <typename E>
Status run_where(const WhereParams& p, const void* c, const void* x, const void* y, void* out, cudaStream_t s) {
  where_kernel<E><<<blocks_for(p.map.numel), kThreads, 0, s>>>(static_cast<const uint8_t*>(c), static_cast<const E*>(x),
                                                                static_cast<const E*>(y), static_cast<E*>(out), p.map);
  KILN_CUDA_CHECK_LAUNCH("kiln.where kernel");
  return Status::Ok();
}

}  // namespace

Status launch_variadic(const VariadicParams& p, const void* const* inputs, void* y, cudaStream_t s) {
  if (p.map.numel == 0) return Status::Ok();
  if (p.count < 1 || p.count > kMaxInputs) return Internal("kiln.variadic: ", p.count, " inputs");
  switch (p.dtype) {
    case DType::kFloat32: return variadic_float<float>(p, inputs, y, s);
    case DType::kFloat16: return variadic_float<__half>(p, inputs, y, s);
    case DType::kBFloat16: return variadic_float<__nv_bfloat16>(p, inputs, y, s);
    case DType::kInt8: return variadic_int<int8_t>(p, inputs, y, s);
    case DType::kUInt8: return variadic_int<uint8_t>(p, inputs, y, s);
    case DType::kInt32: return variadic_int<int32_t>(p, inputs, y, s);
    case DType::kInt64: return variadic_int<int64_t>(p, inputs, y, s);
    default: break;
  }
  return Internal("kiln.variadic: no kernel for ", dtype_name(p.dtype));
}

Status launch_where(const WhereParams& p, const void* c, const void* x, const void* y, void* out, cudaStream_t s) {
  if (p.map.numel == 0) return Status::Ok();
  switch (p.elem_size) {
    case 1: return run_where<uint8_t>(p, c, x, y, out, s);
    case 2: return run_where<uint16_t>(p, c, x, y, out, s);
    case 4: return run_where<uint32_t>(p, c, x, y, out, s);
    case 8: return run_where<unsigned long long>(p, c, x, y, out, s);
    default: break;
  }
  return Internal("kiln.where: element size ", p.elem_size);
}

}  // namespace kiln::cuda::ew
