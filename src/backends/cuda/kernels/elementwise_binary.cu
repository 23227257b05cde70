// Broadcasting binary ops: arithmetic (output of the input type), comparisons
// and boolean logic (bool output), and Pow over any base/exponent type pair.
// Same-shape and tensor-with-scalar operands take a 16-byte vector path; any
// other broadcast walks the output with the coalesced index map.
//
// Integer division and modulo by zero give 0 (the CPU reference reports an
// error instead; a kernel must not trap), as does integer 0 to a negative power.
#include <cmath>
#include <type_traits>

#include "backends/cuda/kernels/elementwise_device.cuh"

namespace kiln::cuda::ew {
namespace {

template <BinaryOp OP>
__device__ __forceinline__ float binary_f(float a, float b) {
  if constexpr (OP == BinaryOp::kAdd) return a + b;
  if constexpr (OP == BinaryOp::kSub) return a - b;
  if constexpr (OP == BinaryOp::kMul) return a * b;
  if constexpr (OP == BinaryOp::kDiv) return a / b;
  if constexpr (OP == BinaryOp::kPow) return powf(a, b);
  if constexpr (OP == BinaryOp::kFmod) return fmodf(a, b);
  if constexpr (OP == BinaryOp::kMod) {
    // Python's %: the result takes the divisor's sign.
    float r = fmodf(a, b);
    if (r != r) return r;
    if (r == 0.f) return copysignf(0.f, b);
    if ((r < 0.f) != (b < 0.f)) r += b;
    return r;
  }
  if constexpr (OP == BinaryOp::kMax) return (a != a || b != b) ? NAN : (a < b ? b : a);
  if constexpr (OP == BinaryOp::kMin) return (a != a || b != b) ? NAN : (b < a ? b : a);
  if constexpr (OP == BinaryOp::kPRelu) return a < 0.f ? a * b : a;
  return 0.f;
}

// Exact integer power with wrap-around; 0 to a negative power gives 0.
__device__ __forceinline__ int64_t int_pow(int64_t base, int64_t exp) {
  if (exp < 0) {
    if (base == 1) return 1;
    if (base == -1) return (exp & 1) ? -1 : 1;
    return 0;  // truncates toward zero; also 0^negative (the reference errors)
  }
  int64_t result = 1;
  while (exp > 0) {
    if (exp & 1) result = wrap_mul(result, base);
    base = wrap_mul(base, base);
    exp >>= 1;
  }
  return result;
}

template <BinaryOp OP>
__device__ __forceinline__ int64_t binary_i(int64_t a, int64_t b) {
  if constexpr (OP == BinaryOp::kAdd) return wrap_add(a, b);
  if constexpr (OP == BinaryOp::kSub) return wrap_sub(a, b);
  if constexpr (OP == BinaryOp::kMul) return wrap_mul(a, b);
  if constexpr (OP == BinaryOp::kDiv) {
    if (b == 0) return 0;            // documented: no trap on division by zero
    if (b == -1) return wrap_neg(a);  // INT64_MIN / -1 overflows
    return a / b;                     // truncates toward zero, as ONNX asks
  }
  if constexpr (OP == BinaryOp::kPow) return int_pow(a, b);
  if constexpr (OP == BinaryOp::kMod || OP == BinaryOp::kFmod) {
    if (b == 0 || b == -1) return 0;
    int64_t r = a % b;
    if (OP == BinaryOp::kMod && r != 0 && ((r < 0) != (b < 0))) r += b;
    return r;
  }
  if constexpr (OP == BinaryOp::kMax) return a < b ? b : a;
  if constexpr (OP == BinaryOp::kMin) return b < a ? b : a;
  if constexpr (OP == BinaryOp::kPRelu) return a < 0 ? wrap_mul(a, b) : a;
  return 0;
}

template <BinaryOp OP, typename V>
__device__ __forceinline__ bool compare(V a, V b) {
  if constexpr (OP == BinaryOp::kEqual) return a == b;
  if constexpr (OP == BinaryOp::kGreater) return a > b;
  if constexpr (OP == BinaryOp::kLess) return a < b;
  if constexpr (OP == BinaryOp::kGreaterOrEqual) return a >= b;
  if constexpr (OP == BinaryOp::kLessOrEqual) return a <= b;
  return false;
}

template <BinaryOp OP>
__device__ __forceinline__ bool logic(bool a, bool b) {
  if constexpr (OP == BinaryOp::kAnd) return a && b;
  if constexpr (OP == BinaryOp::kOr) return a || b;
  return a != b;  // kXor
}

template <BinaryOp OP>
constexpr bool kBoolOut = OP >= BinaryOp::kEqual;

template <BinaryOp OP, typename T>
using OutT = std::conditional_t<kBoolOut<OP>, Bool8, T>;

template <BinaryOp OP, typename T>
__device__ __forceinline__ OutT<OP, T> binary_apply(T a, T b) {
  if constexpr (OP >= BinaryOp::kAnd) {
    return Bool8{static_cast<uint8_t>(logic<OP>(Ew<T>::to_i(a) != 0, Ew<T>::to_i(b) != 0) ? 1 : 0)};
  } else if constexpr (kBoolOut<OP>) {
    bool r;
    if constexpr (Ew<T>::kFloat)
      r = compare<OP>(Ew<T>::to_f(a), Ew<T>::to_f(b));  // NaN compares false
    else
      r = compare<OP>(Ew<T>::to_i(a), Ew<T>::to_i(b));
    return Bool8{static_cast<uint8_t>(r ? 1 : 0)};
  } else if constexpr (Ew<T>::kFloat) {
    return Ew<T>::from_f(binary_f<OP>(Ew<T>::to_f(a), Ew<T>::to_f(b)));
  } else {
    return Ew<T>::from_i(binary_i<OP>(Ew<T>::to_i(a), Ew<T>::to_i(b)));
  }
}

// General broadcast: one output element per step, operand offsets from the map.
template <BinaryOp OP, typename T>
__global__ void binary_kernel(const T* a, const T* b, OutT<OP, T>* y, IndexMap<2> m) {
  for (int64_t i = global_thread(); i < m.numel; i += grid_threads()) {
    int64_t off[2];
    map_offsets<2>(m, i, off);
    y[i] = binary_apply<OP, T>(a[off[0]], b[off[1]]);
  }
}

// Contiguous operands (or a single-element one: a_scalar / b_scalar): V
// elements per step with vector loads, then the n % V tail. y may equal a.
template <BinaryOp OP, typename T, int V>
__global__ void binary_vec_kernel(const T* a, const T* b, OutT<OP, T>* y, int64_t n, bool a_scalar, bool b_scalar) {
  using O = OutT<OP, T>;
  int64_t nv = n / V;
  for (int64_t v = global_thread(); v < nv; v += grid_threads()) {
    Vec<T, V> va, vb;
    if (a_scalar) {
#pragma unroll
      for (int k = 0; k < V; ++k) va.e[k] = a[0];
    } else {
      va = reinterpret_cast<const Vec<T, V>*>(a)[v];
    }
    if (b_scalar) {
#pragma unroll
      for (int k = 0; k < V; ++k) vb.e[k] = b[0];
    } else {
      vb = reinterpret_cast<const Vec<T, V>*>(b)[v];
    }
    Vec<O, V> out;
#pragma unroll
    for (int k = 0; k < V; ++k) out.e[k] = binary_apply<OP, T>(va.e[k], vb.e[k]);
    reinterpret_cast<Vec<O, V>*>(y)[v] = out;
  }
  for (int64_t i = nv * V + global_thread(); i < n; i += grid_threads())
    y[i] = binary_apply<OP, T>(a[a_scalar ? 0 : i], b[b_scalar ? 0 : i]);
}

template <BinaryOp OP, typename T>
Status run_binary(const BinaryParams& p, const void* av, const void* bv, void* yv, cudaStream_t s) {
  using O = OutT<OP, T>;
  const T* a = static_cast<const T*>(av);
  const T* b = static_cast<const T*>(bv);
  O* y = static_cast<O*>(yv);
  const int64_t n = p.map.numel;
  bool flat = p.shape.kind[0] >= 0 && p.shape.kind[1] >= 0;
  if (flat) {
    constexpr int V = 16 / sizeof(T);
    bool a_scalar = p.shape.kind[0] == 0, b_scalar = p.shape.kind[1] == 0;
    bool vec_ok = aligned(y, sizeof(O) * V) && (a_scalar || aligned(a, 16)) && (b_scalar || aligned(b, 16));
    if (vec_ok) {
      int64_t work = n / V > 0 ? n / V : n % V;
      binary_vec_kernel<OP, T, V><<<blocks_for(work), kThreads, 0, s>>>(a, b, y, n, a_scalar, b_scalar);
    } else {
      binary_vec_kernel<OP, T, 1><<<blocks_for(n), kThreads, 0, s>>>(a, b, y, n, a_scalar, b_scalar);
    }
  } else {
    binary_kernel<OP, T><<<blocks_for(n), kThreads, 0, s>>>(a, b, y, p.map);
  }
  KILN_CUDA_CHECK_LAUNCH("kiln.binary kernel");
  return Status::Ok();
}

template <typename T>
Status binary_arith(const BinaryParams& p, const void* a, const void* b, void* y, cudaStream_t s) {
  switch (p.op) {
    case BinaryOp::kAdd: return run_binary<BinaryOp::kAdd, T>(p, a, b, y, s);
    case BinaryOp::kSub: return run_binary<BinaryOp::kSub, T>(p, a, b, y, s);
    case BinaryOp::kMul: return run_binary<BinaryOp::kMul, T>(p, a, b, y, s);
    case BinaryOp::kDiv: return run_binary<BinaryOp::kDiv, T>(p, a, b, y, s);
    case BinaryOp::kPow: return run_binary<BinaryOp::kPow, T>(p, a, b, y, s);
    case BinaryOp::kMod: return run_binary<BinaryOp::kMod, T>(p, a, b, y, s);
    case BinaryOp::kFmod: return run_binary<BinaryOp::kFmod, T>(p, a, b, y, s);
    case BinaryOp::kMax: return run_binary<BinaryOp::kMax, T>(p, a, b, y, s);
    case BinaryOp::kMin: return run_binary<BinaryOp::kMin, T>(p, a, b, y, s);
    case BinaryOp::kPRelu: return run_binary<BinaryOp::kPRelu, T>(p, a, b, y, s);
    default: break;
  }
  return Internal("kiln.binary: op ", static_cast<int>(p.op), " is not arithmetic");
}

template <typename T>
Status binary_compare(const BinaryParams& p, const void* a, const void* b, void* y, cudaStream_t s) {
  switch (p.op) {
    case BinaryOp::kEqual: return run_binary<BinaryOp::kEqual, T>(p, a, b, y, s);
    case BinaryOp::kGreater: return run_binary<BinaryOp::kGreater, T>(p, a, b, y, s);
    case BinaryOp::kLess: return run_binary<BinaryOp::kLess, T>(p, a, b, y, s);
    case BinaryOp::kGreaterOrEqual: return run_binary<BinaryOp::kGreaterOrEqual, T>(p, a, b, y, s);
    case BinaryOp::kLessOrEqual: return run_binary<BinaryOp::kLessOrEqual, T>(p, a, b, y, s);
    default: break;
  }
  return Internal("kiln.binary: op ", static_cast<int>(p.op), " is not a comparison");
}

template <typename T>
Status binary_typed(const BinaryParams& p, const void* a, const void* b, void* y, cudaStream_t s) {
  if (binary_is_comparison(p.op)) return binary_compare<T>(p, a, b, y, s);
  return binary_arith<T>(p, a, b, y, s);
}

// ---- Pow with mixed types, computed as the reference: exact wrapping integer
// power when both are integers, else pow in double rounded to the base's type.
__global__ void pow_mixed_kernel(const void* a, DType at, const void* b, DType bt, void* y, IndexMap<2> m) {
  bool ints = !is_float_type(at) && !is_float_type(bt);
  for (int64_t i = global_thread(); i < m.numel; i += grid_threads()) {
    int64_t off[2];
    map_offsets<2>(m, i, off);
    if (ints)
      store_int(y, at, i, int_pow(load_int(a, at, off[0]), load_int(b, bt, off[1])), true);
    else
      store_double(y, at, i, pow(load_double(a, at, off[0]), load_double(b, bt, off[1])), true);
  }
}

}  // namespace

Status launch_binary(const BinaryParams& p, const void* a, const void* b, void* y, cudaStream_t s) {
  if (p.map.numel == 0) return Status::Ok();
  if (binary_is_logic(p.op)) {
    if (p.dtype != DType::kBool) return Internal("kiln.binary: logic ops take bool");
    switch (p.op) {
      case BinaryOp::kAnd: return run_binary<BinaryOp::kAnd, Bool8>(p, a, b, y, s);
      case BinaryOp::kOr: return run_binary<BinaryOp::kOr, Bool8>(p, a, b, y, s);
      default: return run_binary<BinaryOp::kXor, Bool8>(p, a, b, y, s);
    }
  }
  switch (p.dtype) {
    case DType::kFloat32: return binary_typed<float>(p, a, b, y, s);
    case DType::kFloat16: return binary_typed<__half>(p, a, b, y, s);
    case DType::kBFloat16: return binary_typed<__nv_bfloat16>(p, a, b, y, s);
    case DType::kInt8: return binary_typed<int8_t>(p, a, b, y, s);
    case DType::kUInt8: return binary_typed<uint8_t>(p, a, b, y, s);
    case DType::kInt32: return binary_typed<int32_t>(p, a, b, y, s);
    case DType::kInt64: return binary_typed<int64_t>(p, a, b, y, s);
    case DType::kBool:
      if (p.op == BinaryOp::kEqual) return run_binary<BinaryOp::kEqual, Bool8>(p, a, b, y, s);
      break;
    default: break;
  }
  return Internal("kiln.binary: no kernel for op ", static_cast<int>(p.op), " on ", dtype_name(p.dtype));
}

Status launch_pow_mixed(const PowParams& p, const void* a, const void* b, void* y, cudaStream_t s) {
  if (p.map.numel == 0) return Status::Ok();
  pow_mixed_kernel<<<blocks_for(p.map.numel), kThreads, 0, s>>>(a, p.base, b, p.exponent, y, p.map);
  KILN_CUDA_CHECK_LAUNCH("kiln.pow kernel");
  return Status::Ok();
}

}  // namespace kiln::cuda::ew
