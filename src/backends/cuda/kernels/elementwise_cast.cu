// Cast, QuantizeLinear / DequantizeLinear and the NCHW <-> NHWC transpose.
// Conversions follow the CPU reference bit for bit: float -> narrower float
// rounds to nearest even (fp8 saturating or not), float -> int truncates (NaN
// 0, out of int64 range clamps, then wraps to the width), int -> int wraps,
// anything -> bool is != 0. Quantize/Dequantize compute in double as the
// reference does. The float32/float16/bfloat16 cast pairs (the fp16 engine's
// boundary casts) take a 16-byte vector path.
#include <cmath>

#include "backends/cuda/kernels/elementwise_device.cuh"

namespace kiln::cuda::ew {
namespace {

// ---- Cast -----------------------------------------------------------------------------
// Float -> float among float32 / float16 / bfloat16: widen exactly, round once.
// V elements per step (V = 1: plain loop), then the n % V tail.
template <typename TI, typename TO, int V>
__global__ void cast_float_kernel(const TI* x, TO* y, int64_t n) {
  int64_t nv = n / V;
  for (int64_t v = global_thread(); v < nv; v += grid_threads()) {
    Vec<TI, V> in = reinterpret_cast<const Vec<TI, V>*>(x)[v];
    Vec<TO, V> out;
#pragma unroll
    for (int k = 0; k < V; ++k) out.e[k] = Ew<TO>::from_f(Ew<TI>::to_f(in.e[k]));
    reinterpret_cast<Vec<TO, V>*>(y)[v] = out;
  }
  for (int64_t i = nv * V + global_thread(); i < n; i += grid_threads()) y[i] = Ew<TO>::from_f(Ew<TI>::to_f(x[i]));
}

template <typename TI, typename TO>
Status run_cast_float(const CastParams& p, const void* xv, void* yv, cudaStream_t s) {
  const TI* x = static_cast<const TI*>(xv);
  TO* y = static_cast<TO*>(yv);
  // 8 elements per step: 16 bytes of the 2-byte side, 32 of the float32 side.
  constexpr int V = 8;
  if (aligned(x, sizeof(TI) * V) && aligned(y, sizeof(TO) * V)) {
    int64_t work = p.n / V > 0 ? p.n / V : p.n % V;
    cast_float_kernel<TI, TO, V><<<blocks_for(work), kThreads, 0, s>>>(x, y, p.n);
  } else {
    cast_float_kernel<TI, TO, 1><<<blocks_for(p.n), kThreads, 0, s>>>(x, y, p.n);
  }
  KILN_CUDA_CHECK_LAUNCH("kiln.cast kernel");
  return Status::Ok();
}

// Any pair, element by element through the reference's conversions.
__global__ void cast_any_kernel(const void* x, DType from, void* y, DType to, int64_t n, bool saturate) {
  bool from_float = is_float_type(from);
  for (int64_t i = global_thread(); i < n; i += grid_threads()) {
    if (from_float)
      store_double(y, to, i, load_double(x, from, i), saturate);  // the double holds the float exactly
    else
      store_int(y, to, i, load_int(x, from, i), saturate);
  }
}

// The fast pair for (from, to), or nullptr.
using CastFn = Status (*)(const CastParams&, const void*, void*, cudaStream_t);
CastFn fast_cast(DType from, DType to) {
  using F = float;
  using H = __half;
  using B = __nv_bfloat16;
  if (from == DType::kFloat32 && to == DType::kFloat16) return run_cast_float<F, H>;
  if (from == DType::kFloat16 && to == DType::kFloat32) return run_cast_float<H, F>;
  if (from == DType::kFloat32 && to == DType::kBFloat16) return run_cast_float<F, B>;
  if (from == DType::kBFloat16 && to == DType::kFloat32) return run_cast_float<B, F>;
  if (from == DType::kFloat16 && to == DType::kBFloat16) return run_cast_float<H, B>;
  if (from == DType::kBFloat16 && to == DType::kFloat16) return run_cast_float<B, H>;
  return nullptr;
}

// ---- QuantizeLinear / DequantizeLinear ----------------------------------------------------
__device__ __forceinline__ int64_t scale_index(const ScaleMap& m, int64_t i) {
  if (m.kind == 0) return 0;
  if (m.kind == 1) return (i / m.inner) % m.dim;
  int64_t outer = i / (m.dim * m.inner);
  int64_t along = (i / m.inner) % m.dim;
  int64_t within = i % m.inner;
  return (outer * m.scale_dim + along / m.block) * m.inner + within;
}

__global__ void quant_kernel(QuantParams p, const void* x, const void* scale, const void* zp, void* y) {
  for (int64_t i = global_thread(); i < p.n; i += grid_threads()) {
    int64_t s = scale_index(p.smap, i);
    double z = zp ? load_double(zp, p.zero_point, s) : 0.0;
    if (p.quantize) {
      // x / scale with both operands and the quotient rounded to the precision type.
      double xp = round_to_type(load_double(x, p.x, i), p.precision);
      double sp = round_to_type(load_double(scale, p.scale, s), p.precision);
      double q = round_to_type(xp / sp, p.precision);
      if (p.y == DType::kInt8 || p.y == DType::kUInt8) {
        double lo = p.y == DType::kInt8 ? -128.0 : 0.0, hi = p.y == DType::kInt8 ? 127.0 : 255.0;
        double v;
        if (q != q) {
          v = lo;  // NaN quantizes to the lowest value, as the reference
        } else {
          v = rint(q) + z;  // rint: nearest, ties to even
          v = v < lo ? lo : v;
          v = v > hi ? hi : v;
        }
        store_int(y, p.y, i, static_cast<int64_t>(v), true);
      } else {
        store_double(y, p.y, i, q + z, p.saturate);
      }
    } else {
      // Integer differences are exact in double (|x - zp| < 2^33).
      double d = load_double(x, p.x, i) - z;
      store_double(y, p.y, i, d * load_double(scale, p.scale, s), true);
    }
  }
}

// ---- transpose (Reformat) ------------------------------------------------------------
constexpr int kTile = 32;
constexpr int kTileRows = 8;

// y[b][c][r] = x[b][r][c]. Each block moves 32x32 tiles through shared memory
// so reads and writes are both coalesced; blocks stride over all tiles.
template <typename E>
__global__ void transpose_kernel(const E* x, E* y, int64_t batch, int64_t rows, int64_t cols) {
  __shared__ E tile[kTile][kTile + 1];  // +1: no bank conflicts on the column read
  int64_t tiles_r = (rows + kTile - 1) / kTile, tiles_c = (cols + kTile - 1) / kTile;
  int64_t per_batch = tiles_r * tiles_c;
  int64_t total = batch * per_batch;
  int tx = threadIdx.x, ty = threadIdx.y;
  for (int64_t t = blockIdx.x; t < total; t += gridDim.x) {  // uniform per block: __syncthreads is safe
    int64_t b = t / per_batch;
    int64_t rem = t - b * per_batch;
    int64_t r0 = (rem / tiles_c) * kTile, c0 = (rem % tiles_c) * kTile;
    const E* src = x + b * rows * cols;
    E* dst = y + b * rows * cols;
    for (int j = ty; j < kTile; j += kTileRows) {
      int64_t r = r0 + j, c = c0 + tx;
      if (r < rows && c < cols) tile[j][tx] = src[r * cols + c];
    }
    __syncthreads();
    for (int j = ty; j < kTile; j += kTileRows) {
      int64_t c = c0 + j, r = r0 + tx;
      if (c < cols && r < rows) dst[c * rows + r] = tile[tx][j];
    }
    __syncthreads();
  }
}

// Few rows (an image's 3 channels into NHWC): a 32x32 tile would leave most
// of its threads idle, so each thread moves one column instead; reads of each
// row and the rows-wide writes are both contiguous across a warp.
constexpr int64_t kNarrowRows = 8;

template <typename E>
__global__ void transpose_narrow_kernel(const E* __restrict__ x, E* __restrict__ y, int64_t batch, int rows,
                                        int64_t cols) {
  const int64_t total = batch * cols;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t b = i / cols, c = i - b * cols;
    const E* src = x + b * rows * cols + c;
    E* dst = y + i * rows;
    for (int r = 0; r < rows; ++r) dst[r] = src[r * cols];
  }
}

template <typename E>
Status run_transpose(const TransposeParams& p, const void* x, void* y, cudaStream_t s) {
  if (p.rows <= kNarrowRows) {
    transpose_narrow_kernel<E><<<blocks_for(p.batch * p.cols), kThreads, 0, s>>>(
        static_cast<const E*>(x), static_cast<E*>(y), p.batch, static_cast<int>(p.rows), p.cols);
    KILN_CUDA_CHECK_LAUNCH("kiln.reformat narrow transpose kernel");
    return Status::Ok();
  }
  int64_t tiles = p.batch * ((p.rows + kTile - 1) / kTile) * ((p.cols + kTile - 1) / kTile);
  int64_t blocks = tiles < 65535LL * 32 ? tiles : 65535LL * 32;
  transpose_kernel<E><<<static_cast<unsigned>(blocks), dim3(kTile, kTileRows), 0, s>>>(
      static_cast<const E*>(x), static_cast<E*>(y), p.batch, p.rows, p.cols);
  KILN_CUDA_CHECK_LAUNCH("kiln.reformat transpose kernel");
  return Status::Ok();
}

}  // namespace

Status launch_cast(const CastParams& p, const void* x, void* y, cudaStream_t s) {
  if (p.n == 0) return Status::Ok();
  if (p.from == p.to) {
    if (x != y) KILN_CUDA_CHECK(cudaMemcpyAsync(y, x, static_cast<size_t>(p.n) * dtype_size(p.from),
                                                cudaMemcpyDeviceToDevice, s));
    return Status::Ok();
  }
  if (CastFn fn = fast_cast(p.from, p.to)) return fn(p, x, y, s);
  cast_any_kernel<<<blocks_for(p.n), kThreads, 0, s>>>(x, p.from, y, p.to, p.n, p.saturate);
  KILN_CUDA_CHECK_LAUNCH("kiln.cast kernel");
  return Status::Ok();
}

Status launch_quant(const QuantParams& p, const void* x, const void* scale, const void* zero_point, void* y,
                    cudaStream_t s) {
  if (p.n == 0) return Status::Ok();
  quant_kernel<<<blocks_for(p.n), kThreads, 0, s>>>(p, x, scale, zero_point, y);
  KILN_CUDA_CHECK_LAUNCH(p.quantize ? "kiln.quantize kernel" : "kiln.dequantize kernel");
  return Status::Ok();
}

Status launch_transpose(const TransposeParams& p, const void* x, void* y, cudaStream_t s) {
  if (p.batch == 0 || p.rows == 0 || p.cols == 0) return Status::Ok();
  switch (p.elem_size) {
    case 1: return run_transpose<uint8_t>(p, x, y, s);
    case 2: return run_transpose<uint16_t>(p, x, y, s);
    case 4: return run_transpose<uint32_t>(p, x, y, s);
    case 8: return run_transpose<unsigned long long>(p, x, y, s);
    default: break;
  }
  return Internal("kiln.reformat: element size ", p.elem_size);
}

}  // namespace kiln::cuda::ew
