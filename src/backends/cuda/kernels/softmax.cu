// Softmax, LogSoftmax and Hardmax over one axis (opset 13 semantics),
// numerically stable: the row's max is subtracted before exp, all in float32.
//
// Along the last axis with rows of at most 1024 a warp takes each row and
// holds it in registers (one read, one write: attention's [B, H, S, S]
// softmax is memory-bound this way), with 8- or 16-byte vector accesses when
// the row length and pointers allow. Longer rows take a block each, cached
// in shared memory when they fit. Along another axis one thread takes each
// line, its neighbours reading adjacent addresses.
#include "backends/cuda/kernels/reduce_common.cuh"

namespace kiln::cureduce {
namespace {

enum Mode : int { kSoftmax, kLogSoftmax, kHardmax };

template <typename T, int kPer, int kVec>
__global__ void softmax_warp_kernel(const T* x, T* y, int64_t rows, int n, int mode) {
  constexpr int kChunks = kPer / kVec;
  const int64_t row = static_cast<int64_t>(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32;
  if (row >= rows) return;  // the whole warp leaves together
  const int lane = threadIdx.x % 32;
  const T* xr = x + row * n;
  T* yr = y + row * n;
  // Element (c, e) of this lane is row index (c * 32 + lane) * kVec + e.
  float v[kPer];
#pragma unroll
  for (int c = 0; c < kChunks; ++c) {
    const int j = (c * 32 + lane) * kVec;
    if (j < n) {  // the host makes n a multiple of kVec
      Pack<T, kVec> pk = *reinterpret_cast<const Pack<T, kVec>*>(xr + j);
#pragma unroll
      for (int e = 0; e < kVec; ++e) v[c * kVec + e] = cuda::load_f(pk.v, e);
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
      cuda::store_f(pk.v, e, mode == kSoftmax ? w / s : w - log_s);
    }
    *reinterpret_cast<Pack<T, kVec>*>(yr + j) = pk;
  }
}

// One block per row; the row is cached in dynamic shared memory (as float)
// when `cached`, else re-read from global memory.
template <typename T>
__global__ void softmax_block_kernel(const T* x, T* y, int64_t n, int mode, bool cached) {
  extern __shared__ float cache[];
  __shared__ float red[32];
  __shared__ float best_v[32];
  __shared__ long long best_i[32];
  const T* xr = x + static_cast<int64_t>(blockIdx.x) * n;
  T* yr = y + static_cast<int64_t>(blockIdx.x) * n;
  auto get = [&](int64_t j) { return cached ? cache[j] : cuda::load_f(xr, j); };

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
    const float v = cuda::load_f(xr, j);
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
    cuda::store_f(yr, j, mode == kSoftmax ? expf(d) / s : d - log_s);
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
};

Expected<SoftmaxPlan> plan_softmax(const LayerView& v) {
  std::string why;
  if (!check_layer(v, 1, 1, 1, 1, &why)) return Unsupported(why);
  const PlanTensor& x = v.in(0);
  const PlanTensor& y = v.out(0);
  if (!check_type(x, "input", true, false, &why)) return Unsupported(why);
  if (y.dtype != x.dtype || y.dims != x.dims) return Unsupported("output type or dims differ from the input's");
  if (x.dims.empty()) return Unsupported("needs an input of rank >= 1");
  KILN_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(attr_int(v.layer, "axis", -1), x.dims.size(), "axis"));
  SoftmaxPlan p;
  p.dtype = x.dtype;
  p.s = split_axis(x.dims, axis);
  p.mode = v.layer.op == "Softmax" ? kSoftmax : (v.layer.op == "LogSoftmax" ? kLogSoftmax : kHardmax);
  p.empty = cuda::numel(x.dims) == 0;
  if (p.s.inner == 1 && p.s.n > INT32_MAX) return Unsupported("rows of more than 2^31 elements");
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
  void launch_warp(const T* x, T* y, bool vec, cudaStream_t stream) {
    constexpr int kV = kPer < int(16 / sizeof(T)) ? kPer : int(16 / sizeof(T));
    const unsigned grid = static_cast<unsigned>((p_.s.outer + 3) / 4);  // 4 warps (rows) per block
    const int n = static_cast<int>(p_.s.n);
    if (vec && kV > 1) softmax_warp_kernel<T, kPer, kV><<<grid, 128, 0, stream>>>(x, y, p_.s.outer, n, p_.mode);
    else softmax_warp_kernel<T, kPer, 1><<<grid, 128, 0, stream>>>(x, y, p_.s.outer, n, p_.mode);
  }

  template <typename T>
  Status launch(const LaunchArgs& a) {
    const T* x = static_cast<const T*>(a.inputs[0]);
    T* y = static_cast<T*>(a.outputs[0]);
    const AxisSplit& s = p_.s;
    if (s.inner == 1 && s.n <= kWarpMaxRow) {
      int per = 1;
      while (per * 32 < s.n) per *= 2;
      // Vector width: what the per-lane count and 16 bytes allow, if the row
      // length is a multiple of it and both pointers are aligned to it.
      int kv = per < int(16 / sizeof(T)) ? per : int(16 / sizeof(T));
      bool vec = s.n % kv == 0 && aligned_to(x, kv * sizeof(T)) && aligned_to(y, kv * sizeof(T));
      switch (per) {
        case 1: launch_warp<T, 1>(x, y, vec, a.stream); break;
        case 2: launch_warp<T, 2>(x, y, vec, a.stream); break;
        case 4: launch_warp<T, 4>(x, y, vec, a.stream); break;
        case 8: launch_warp<T, 8>(x, y, vec, a.stream); break;
        case 16: launch_warp<T, 16>(x, y, vec, a.stream); break;
        default: launch_warp<T, 32>(x, y, vec, a.stream); break;
      }
    } else if (s.inner == 1) {
      bool cached = s.n * static_cast<int64_t>(sizeof(float)) <= kCacheBytes;
      size_t smem = cached ? static_cast<size_t>(s.n) * sizeof(float) : 0;
      softmax_block_kernel<T><<<static_cast<unsigned>(s.outer), 512, smem, a.stream>>>(x, y, s.n, p_.mode, cached);
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
  d.ops = {"Softmax", "LogSoftmax", "Hardmax"};
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
