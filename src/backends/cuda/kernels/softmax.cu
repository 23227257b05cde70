// Softmax, LogSoftmax and Hardmax over one axis (opset 13 semantics),
// numerically stable: the row's max is subtracted before exp, all in float32.
// kiln.FusedSoftmax is Softmax along the last axis with a broadcast bias (an
// attention mask) added while each row is loaded and, with nan_to_zero, NaN
// results stored as 0: one read and one write where Add, Softmax, IsNaN and
// Where made four passes.
//
// Along the last axis with rows of at most 1024 a warp takes each row and
// holds it in registers (one read, one write: attention's [B, H, S, S]
// softmax is memory-bound this way), with 8- or 16-byte vector accesses when
// the row length and pointers allow. Longer rows take a block each, cached
// in shared memory when they fit. Along another axis one thread takes each
// line, its neighbours reading adjacent addresses.
#include <algorithm>

#include "backends/cuda/kernels/reduce_common.cuh"

namespace kiln::cureduce {
namespace {

enum Mode : int { kSoftmax, kLogSoftmax, kHardmax };

// Where kiln.FusedSoftmax's bias row for row r starts: r's outer index mapped
// through the bias's broadcast strides (dims collapsed on the host, computed
// once per row), then `col` (1, or 0 for one bias value per row) per element.
struct RowBias {
  int rank = 0;
  int col = 0;
  bool wide = false;  // 64-bit index math: rows or bias elements reach 2^32
  int64_t dims[cuda::kMaxRank] = {};
  int64_t strides[cuda::kMaxRank] = {};

  __device__ __forceinline__ int64_t offset(int64_t row) const {
    if (!wide) {
      uint32_t r = static_cast<uint32_t>(row), off = 0;
      for (int d = rank - 1; d >= 0; --d) {
        const uint32_t dim = static_cast<uint32_t>(dims[d]);
        const uint32_t q = r / dim;
        off += (r - q * dim) * static_cast<uint32_t>(strides[d]);
        r = q;
      }
      return off;
    }
    int64_t off = 0;
    for (int d = rank - 1; d >= 0; --d) {
      const int64_t q = row / dims[d];
      off += (row - q * dims[d]) * strides[d];
      row = q;
    }
    return off;
  }
};

// What kiln.FusedSoftmax adds to Softmax; with no bias and nan_to_zero off
// the kernels compute exactly what plain Softmax does.
template <typename T>
struct Fusion {
  const T* bias = nullptr;
  RowBias map;
  bool nan_to_zero = false;
};

// x + b rounded to T, as the unfused Add's output was.
template <typename T>
__device__ __forceinline__ float biased(float x, float b) {
  T t;
  cuda::store_f(&t, 0, x + b);
  return cuda::load_f(&t, 0);
}

__device__ __forceinline__ float nan_guard(float v, bool nan_to_zero) { return nan_to_zero && isnan(v) ? 0.f : v; }

template <typename T, int kPer, int kVec>
__global__ void softmax_warp_kernel(const T* x, T* y, int64_t rows, int n, int mode, Fusion<T> f) {
  constexpr int kChunks = kPer / kVec;
  const int64_t row = static_cast<int64_t>(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32;
  if (row >= rows) return;  // the whole warp leaves together
  const int lane = threadIdx.x % 32;
  const T* xr = x + row * n;
  T* yr = y + row * n;
  const T* br = f.bias ? f.bias + f.map.offset(row) : nullptr;
  const float b0 = br && !f.map.col ? cuda::load_f(br, 0) : 0.f;
  // Element (c, e) of this lane is row index (c * 32 + lane) * kVec + e.
  float v[kPer];
#pragma unroll
  for (int c = 0; c < kChunks; ++c) {
    const int j = (c * 32 + lane) * kVec;
    if (j < n) {  // the host makes n a multiple of kVec
      Pack<T, kVec> pk = *reinterpret_cast<const Pack<T, kVec>*>(xr + j);
#pragma unroll
      for (int e = 0; e < kVec; ++e) v[c * kVec + e] = cuda::load_f(pk.v, e);
      if (br && f.map.col) {  // contiguous bias row: vector loads too (the host checked alignment)
        Pack<T, kVec> pb = *reinterpret_cast<const Pack<T, kVec>*>(br + j);
#pragma unroll
        for (int e = 0; e < kVec; ++e) v[c * kVec + e] = biased<T>(v[c * kVec + e], cuda::load_f(pb.v, e));
      } else if (br) {
#pragma unroll
        for (int e = 0; e < kVec; ++e) v[c * kVec + e] = biased<T>(v[c * kVec + e], b0);
      }
    } else {
#pragma unroll
      for (int e = 0; e < kVec; ++e) v[c * kVec + e] = -INFINITY;
    }
  }
  auto valid = [&](int c) { return (c * 32 + lane) * kVec < n; };

  if (mode == kHardmax) {
    ArgPair<float> best{0.f, -1};
#pragma unroll
    for (int c = 0; c < kChunks; ++c) {
      if (!valid(c)) continue;
#pragma unroll
      for (int e = 0; e < kVec; ++e) {
        ArgPair<float> cand{v[c * kVec + e], (c * 32 + lane) * kVec + e};
        if (arg_better(cand, best, true, false)) best = cand;
      }
    }
    best = warp_arg_allreduce(best, true, false);
#pragma unroll
    for (int c = 0; c < kChunks; ++c) {
      if (!valid(c)) continue;
      const int j = (c * 32 + lane) * kVec;
      Pack<T, kVec> pk;
#pragma unroll
      for (int e = 0; e < kVec; ++e) cuda::store_f(pk.v, e, j + e == best.i ? 1.f : 0.f);
      *reinterpret_cast<Pack<T, kVec>*>(yr + j) = pk;
    }
    return;
  }

  float m = -INFINITY;
#pragma unroll
  for (int k = 0; k < kPer; ++k) m = fmaxf(m, v[k]);
  m = warp_allreduce(m, FmaxOp());
  float s = 0.f;
#pragma unroll
  for (int c = 0; c < kChunks; ++c) {
    if (!valid(c)) continue;
#pragma unroll
    for (int e = 0; e < kVec; ++e) {
      // Keep exp(d) for Softmax, d for LogSoftmax.
      const float d = v[c * kVec + e] - m;
      const float ex = expf(d);
      s += ex;
      v[c * kVec + e] = mode == kSoftmax ? ex : d;
    }
  }
  s = warp_allreduce(s, SumOp());
  const float log_s = logf(s);
#pragma unroll
  for (int c = 0; c < kChunks; ++c) {
    if (!valid(c)) continue;
    const int j = (c * 32 + lane) * kVec;
    Pack<T, kVec> pk;
#pragma unroll
    for (int e = 0; e < kVec; ++e) {
      const float w = v[c * kVec + e];
      cuda::store_f(pk.v, e, nan_guard(mode == kSoftmax ? w / s : w - log_s, f.nan_to_zero));
    }
    *reinterpret_cast<Pack<T, kVec>*>(yr + j) = pk;
  }
}

// One block per row; the row is cached in dynamic shared memory (as float)
// when `cached`, else re-read from global memory.
template <typename T>
__global__ void softmax_block_kernel(const T* x, T* y, int64_t n, int mode, bool cached, Fusion<T> f) {
  extern __shared__ float cache[];
  __shared__ float red[32];
  __shared__ float best_v[32];
  __shared__ long long best_i[32];
  const T* xr = x + static_cast<int64_t>(blockIdx.x) * n;
  T* yr = y + static_cast<int64_t>(blockIdx.x) * n;
  const T* br = f.bias ? f.bias + f.map.offset(blockIdx.x) : nullptr;
  auto in = [&](int64_t j) {
    const float v = cuda::load_f(xr, j);
    return br ? biased<T>(v, cuda::load_f(br, j * f.map.col)) : v;
  };
  auto get = [&](int64_t j) { return cached ? cache[j] : in(j); };

  if (mode == kHardmax) {
    ArgPair<float> best{0.f, -1};
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
      ArgPair<float> cand{cuda::load_f(xr, j), j};
      if (arg_better(cand, best, true, false)) best = cand;
    }
    best = warp_arg_allreduce(best, true, false);
    if (threadIdx.x % 32 == 0) {
      best_v[threadIdx.x / 32] = best.v;
      best_i[threadIdx.x / 32] = best.i;
    }
    __syncthreads();
    for (int w = 0; w < static_cast<int>(blockDim.x / 32); ++w) {
      ArgPair<float> o{best_v[w], best_i[w]};
      if (arg_better(o, best, true, false)) best = o;
    }
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x) cuda::store_f(yr, j, j == best.i ? 1.f : 0.f);
    return;
  }

  float m = -INFINITY;
  for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
    const float v = in(j);
    if (cached) cache[j] = v;  // each thread later reads back only its own entries
    m = fmaxf(m, v);
  }
  m = group_allreduce(m, FmaxOp(), red);
  float s = 0.f;
  for (int64_t j = threadIdx.x; j < n; j += blockDim.x) s += expf(get(j) - m);
  s = group_allreduce(s, SumOp(), red);
  const float log_s = logf(s);
  for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
    const float d = get(j) - m;
    cuda::store_f(yr, j, nan_guard(mode == kSoftmax ? expf(d) / s : d - log_s, f.nan_to_zero));
  }
}

// One thread per line (o, i) of a non-last axis.
template <typename T>
__global__ void softmax_cols_kernel(const T* x, T* y, int64_t outer, int64_t n, int64_t inner, int mode) {
  const int64_t total = outer * inner;
  for (int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; t < total;
       t += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t base = (t / inner) * n * inner + t % inner;
    const T* xl = x + base;
    T* yl = y + base;
    if (mode == kHardmax) {
      ArgPair<float> best{0.f, -1};
      for (int64_t k = 0; k < n; ++k) {
        ArgPair<float> cand{cuda::load_f(xl, k * inner), k};
        if (arg_better(cand, best, true, false)) best = cand;
      }
      for (int64_t k = 0; k < n; ++k) cuda::store_f(yl, k * inner, k == best.i ? 1.f : 0.f);
      continue;
    }
    float m = -INFINITY;
    for (int64_t k = 0; k < n; ++k) m = fmaxf(m, cuda::load_f(xl, k * inner));
    float s = 0.f;
    for (int64_t k = 0; k < n; ++k) s += expf(cuda::load_f(xl, k * inner) - m);
    const float log_s = logf(s);
    for (int64_t k = 0; k < n; ++k) {
      const float d = cuda::load_f(xl, k * inner) - m;
      cuda::store_f(yl, k * inner, mode == kSoftmax ? expf(d) / s : d - log_s);
    }
  }
}

constexpr int kWarpMaxRow = 1024;     // 32 lanes x 32 registers
constexpr int kCacheBytes = 40 << 10;  // dynamic shared memory, under the 48 KiB default

struct SoftmaxPlan {
  DType dtype = DType::kFloat32;
  AxisSplit s;
  int mode = kSoftmax;
  bool empty = false;
  bool bias = false;  // kiln.FusedSoftmax's input 1
  bool nan_to_zero = false;
  RowBias map;
};

// The row map of bias `b` broadcast to `x` (numpy, one way).
Expected<RowBias> row_bias(const PlanTensor& b, const std::vector<int64_t>& x) {
  const size_t rank = x.size();
  if (b.dims.size() > rank) return Unsupported("bias '", b.name, "' has a higher rank than the input");
  // b's dims aligned to x's rank and its element strides, 0 where it broadcasts.
  std::vector<int64_t> bd(rank, 1), st(rank, 0);
  std::copy(b.dims.begin(), b.dims.end(), bd.begin() + static_cast<int64_t>(rank - b.dims.size()));
  int64_t stride = 1;
  for (size_t d = rank; d-- > 0;) {
    if (bd[d] != 1 && bd[d] != x[d])
      return Unsupported("bias '", b.name, "' ", dims_to_string(b.dims), " does not broadcast to ", dims_to_string(x));
    st[d] = bd[d] == 1 ? 0 : stride;
    stride *= bd[d];
  }
  RowBias m;
  m.col = static_cast<int>(st[rank - 1]);
  // Outer dims, innermost first: size-1 dims dropped, a dim merged into its
  // inner neighbour when its stride continues it (both broadcast, or both
  // contiguous), so a [B,1,1,S] mask walks one division per row, not three.
  std::vector<int64_t> dims, strides;
  for (size_t d = rank - 1; d-- > 0;) {
    if (x[d] == 1) continue;
    if (!dims.empty() && st[d] == strides.back() * dims.back()) {
      dims.back() *= x[d];
      continue;
    }
    dims.push_back(x[d]);
    strides.push_back(st[d]);
  }
  m.rank = static_cast<int>(dims.size());
  for (int i = 0; i < m.rank; ++i) {
    m.dims[i] = dims[dims.size() - 1 - static_cast<size_t>(i)];
    m.strides[i] = strides[strides.size() - 1 - static_cast<size_t>(i)];
  }
  const int64_t rows = dims_product(x, 0, rank - 1);
  m.wide = rows > static_cast<int64_t>(UINT32_MAX) || stride > static_cast<int64_t>(UINT32_MAX);
  return m;
}

Expected<SoftmaxPlan> plan_softmax(const LayerView& v) {
  std::string why;
  const bool fused = v.layer.op == "kiln.FusedSoftmax";
  if (!check_layer(v, 1, fused ? 2 : 1, 1, 1, &why)) return Unsupported(why);
  const PlanTensor& x = v.in(0);
  const PlanTensor& y = v.out(0);
  if (!check_type(x, "input", true, false, &why)) return Unsupported(why);
  if (y.dtype != x.dtype || y.dims != x.dims) return Unsupported("output type or dims differ from the input's");
  if (x.dims.empty()) return Unsupported("needs an input of rank >= 1");
  KILN_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(attr_int(v.layer, "axis", -1), x.dims.size(), "axis"));
  SoftmaxPlan p;
  p.dtype = x.dtype;
  p.s = split_axis(x.dims, axis);
  p.mode = v.layer.op == "LogSoftmax" ? kLogSoftmax : (v.layer.op == "Hardmax" ? kHardmax : kSoftmax);
  p.empty = cuda::numel(x.dims) == 0;
  if (p.s.inner == 1 && p.s.n > INT32_MAX) return Unsupported("rows of more than 2^31 elements");
  if (!fused) return p;
  if (p.s.inner != 1) return Unsupported("kiln.FusedSoftmax runs along the last axis only, got axis ", axis);
  const int64_t nan_to_zero = attr_int(v.layer, "nan_to_zero", 0);
  if (nan_to_zero != 0 && nan_to_zero != 1) return Unsupported("nan_to_zero must be 0 or 1, got ", nan_to_zero);
  p.nan_to_zero = nan_to_zero == 1;
  if (v.has_input(1)) {
    const PlanTensor& b = v.in(1);
    if (b.dtype != x.dtype)
      return Unsupported("bias '", b.name, "' is ", dtype_name(b.dtype), ", the input ", dtype_name(x.dtype));
    KILN_ASSIGN_OR_RETURN(p.map, row_bias(b, x.dims));
    p.bias = true;
  }
  return p;
}

class SoftmaxKernel : public CudaKernel {
 public:
  explicit SoftmaxKernel(SoftmaxPlan p) : p_(p) {}

  Status enqueue(const LaunchArgs& a) override {
    if (p_.empty) return Status::Ok();
    switch (p_.dtype) {
      case DType::kFloat32: return launch<float>(a);
      case DType::kFloat16: return launch<__half>(a);
      default: return launch<__nv_bfloat16>(a);
    }
  }

 private:
  template <typename T, int kPer>
  void launch_warp(const T* x, T* y, bool vec, const Fusion<T>& f, cudaStream_t stream) {
    constexpr int kV = kPer < int(16 / sizeof(T)) ? kPer : int(16 / sizeof(T));
    const unsigned grid = static_cast<unsigned>((p_.s.outer + 3) / 4);  // 4 warps (rows) per block
    const int n = static_cast<int>(p_.s.n);
    if (vec && kV > 1) softmax_warp_kernel<T, kPer, kV><<<grid, 128, 0, stream>>>(x, y, p_.s.outer, n, p_.mode, f);
    else softmax_warp_kernel<T, kPer, 1><<<grid, 128, 0, stream>>>(x, y, p_.s.outer, n, p_.mode, f);
  }

  template <typename T>
  Status launch(const LaunchArgs& a) {
    const T* x = static_cast<const T*>(a.inputs[0]);
    T* y = static_cast<T*>(a.outputs[0]);
    const AxisSplit& s = p_.s;
    Fusion<T> f;
    if (p_.bias) f.bias = static_cast<const T*>(a.inputs[1]);
    f.map = p_.map;
    f.nan_to_zero = p_.nan_to_zero;
    if (s.inner == 1 && s.n <= kWarpMaxRow) {
      int per = 1;
      while (per * 32 < s.n) per *= 2;
      // Vector width: what the per-lane count and 16 bytes allow, if the row
      // length is a multiple of it and both pointers are aligned to it.
      int kv = per < int(16 / sizeof(T)) ? per : int(16 / sizeof(T));
      // A contiguous bias row starts at a multiple of n, so its base pointer decides.
      bool vec = s.n % kv == 0 && aligned_to(x, kv * sizeof(T)) && aligned_to(y, kv * sizeof(T)) &&
                 (!f.bias || !f.map.col || aligned_to(f.bias, kv * sizeof(T)));
      switch (per) {
        case 1: launch_warp<T, 1>(x, y, vec, f, a.stream); break;
        case 2: launch_warp<T, 2>(x, y, vec, f, a.stream); break;
        case 4: launch_warp<T, 4>(x, y, vec, f, a.stream); break;
        case 8: launch_warp<T, 8>(x, y, vec, f, a.stream); break;
        case 16: launch_warp<T, 16>(x, y, vec, f, a.stream); break;
        default: launch_warp<T, 32>(x, y, vec, f, a.stream); break;
      }
    } else if (s.inner == 1) {
      bool cached = s.n * static_cast<int64_t>(sizeof(float)) <= kCacheBytes;
      size_t smem = cached ? static_cast<size_t>(s.n) * sizeof(float) : 0;
      softmax_block_kernel<T>
          <<<static_cast<unsigned>(s.outer), 512, smem, a.stream>>>(x, y, s.n, p_.mode, cached, f);
    } else {
      softmax_cols_kernel<T>
          <<<cuda::grid_for(s.outer * s.inner), 256, 0, a.stream>>>(x, y, s.outer, s.n, s.inner, p_.mode);
    }
    KILN_CUDA_CHECK_LAUNCH("softmax kernel");
    return Status::Ok();
  }

  SoftmaxPlan p_;
};

}  // namespace

void register_softmax(CudaKernelRegistry& r) {
  CudaKernelDef d;
  d.id = "kiln.softmax";
  d.ops = {"Softmax", "LogSoftmax", "Hardmax", "kiln.FusedSoftmax"};
  d.supports = [](const LayerView& v, std::string* why) {
    auto p = plan_softmax(v);
    return p.ok() ? true : refuse(why, p.status().message());
  };
  d.create = [](const LayerView& v, CudaLibraries&) -> Expected<std::unique_ptr<CudaKernel>> {
    KILN_ASSIGN_OR_RETURN(SoftmaxPlan p, plan_softmax(v));
    return std::unique_ptr<CudaKernel>(new SoftmaxKernel(p));
  };
  r.add(std::move(d));
}

}  // namespace kiln::cureduce
