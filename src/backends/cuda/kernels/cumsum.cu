// CumSum (axis input 1; exclusive; reverse). With a constant axis, along the
// last axis a block scans each row in tiles of blockDim elements (warp
// shuffle scan, then a scan of the warp totals, carrying the tile total
// forward); along another axis one thread walks each line, its neighbours
// reading adjacent addresses. A run-time axis is read on the device (one
// thread per line). Floats sum in float32; integers in uint64 so
// overflow wraps, as in the CPU reference.
#include <algorithm>

#include "backends/cuda/kernels/reduce_common.cuh"

namespace kiln::cureduce {
namespace {

template <typename T>
using ScanAcc = std::conditional_t<kIsFloat<T>, float, unsigned long long>;

template <typename T>
__device__ __forceinline__ ScanAcc<T> scan_load(const T* p, int64_t i) {
  if constexpr (kIsFloat<T>) return cuda::load_f(p, i);
  else return static_cast<unsigned long long>(static_cast<long long>(p[i]));
}

template <typename T>
__device__ __forceinline__ void scan_store(T* p, int64_t i, ScanAcc<T> v) {
  if constexpr (kIsFloat<T>) cuda::store_f(p, i, v);
  else p[i] = static_cast<T>(static_cast<long long>(v));
}

template <typename T>
__global__ void cumsum_rows_kernel(const T* x, T* y, int64_t n, bool exclusive, bool reverse) {
  using A = ScanAcc<T>;
  __shared__ A warp_total[32];
  const T* xr = x + static_cast<int64_t>(blockIdx.x) * n;
  T* yr = y + static_cast<int64_t>(blockIdx.x) * n;
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  A carry = A(0);
  for (int64_t tile = 0; tile < n; tile += blockDim.x) {
    const int64_t j = tile + threadIdx.x;
    const int64_t at = reverse ? n - 1 - j : j;  // scan position j reads element `at`
    const A v = j < n ? scan_load(xr, at) : A(0);
    A incl = v;
#pragma unroll
    for (int o = 1; o < 32; o <<= 1) {
      const A t = __shfl_up_sync(kFullMask, incl, o);
      if (lane >= o) incl += t;
    }
    A excl = __shfl_up_sync(kFullMask, incl, 1);
    if (lane == 0) excl = A(0);
    if (lane == 31) warp_total[warp] = incl;
    __syncthreads();
    if (warp == 0) {
      A t = lane < warps ? warp_total[lane] : A(0);
#pragma unroll
      for (int o = 1; o < 32; o <<= 1) {
        const A u = __shfl_up_sync(kFullMask, t, o);
        if (lane >= o) t += u;
      }
      if (lane < warps) warp_total[lane] = t;  // inclusive over warps
    }
    __syncthreads();
    const A prefix = carry + (warp > 0 ? warp_total[warp - 1] : A(0));
    if (j < n) scan_store(yr, at, prefix + (exclusive ? excl : incl));
    carry += warp_total[warps - 1];
    __syncthreads();  // warp_total is rewritten by the next tile
  }
}

// Sequential scan of the line of `n` elements starting at `base`, `inner` apart.
template <typename T>
__device__ void scan_line(const T* x, T* y, int64_t base, int64_t n, int64_t inner, bool exclusive, bool reverse) {
  using A = ScanAcc<T>;
  A sum = A(0);
  for (int64_t j = 0; j < n; ++j) {
    const int64_t at = base + (reverse ? n - 1 - j : j) * inner;
    const A v = scan_load(x, at);
    if (!exclusive) sum += v;
    scan_store(y, at, sum);
    if (exclusive) sum += v;
  }
}

template <typename T>
__global__ void cumsum_cols_kernel(const T* x, T* y, int64_t outer, int64_t n, int64_t inner, bool exclusive,
                                   bool reverse) {
  const int64_t total = outer * inner;
  for (int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; t < total;
       t += static_cast<int64_t>(gridDim.x) * blockDim.x)
    scan_line(x, y, (t / inner) * n * inner + t % inner, n, inner, exclusive, reverse);
}

// The axis arrives at run time: read on the device, which splits the dims
// itself (one thread per line; the grid covers numel >= the line count). An
// out-of-range axis, which the reference rejects, leaves Y zero-filled.
struct RuntimeDims {
  int rank = 0;
  int64_t dims[cuda::kMaxRank] = {};
  int64_t numel = 0;
};

template <typename T>
__global__ void cumsum_runtime_axis_kernel(const T* x, T* y, const void* axis_ptr, bool axis64, RuntimeDims d,
                                           bool exclusive, bool reverse) {
  int64_t axis = axis64 ? *static_cast<const long long*>(axis_ptr) : *static_cast<const int*>(axis_ptr);
  if (axis < 0) axis += d.rank;
  const int64_t first = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  if (axis < 0 || axis >= d.rank) {
    for (int64_t t = first; t < d.numel; t += step) scan_store(y, t, ScanAcc<T>(0));
    return;
  }
  int64_t outer = 1, inner = 1;
  for (int k = 0; k < d.rank; ++k) {
    if (k < axis) outer *= d.dims[k];
    else if (k > axis) inner *= d.dims[k];
  }
  const int64_t n = d.dims[axis];
  for (int64_t t = first; t < outer * inner; t += step)
    scan_line(x, y, (t / inner) * n * inner + t % inner, n, inner, exclusive, reverse);
}

struct CumSumPlan {
  DType dtype = DType::kFloat32;
  AxisSplit s;
  bool exclusive = false, reverse = false, empty = false;
  bool runtime_axis = false;  // axis read on the device
  bool axis64 = true;
  RuntimeDims dims;
};

Expected<CumSumPlan> plan_cumsum(const LayerView& v) {
  std::string why;
  if (!check_layer(v, 2, 2, 1, 1, &why)) return Unsupported(why);
  if (!v.has_input(1)) return Unsupported("axis (input 1) is missing");
  const PlanTensor& x = v.in(0);
  const PlanTensor& y = v.out(0);
  if (!is_gpu_float(x.dtype) && x.dtype != DType::kInt32 && x.dtype != DType::kInt64)
    return Unsupported("x '", x.name, "' is ", dtype_name(x.dtype), "; this kernel takes float32, float16, bfloat16, ",
                       "int32, int64");
  if (y.dtype != x.dtype || y.dims != x.dims) return Unsupported("output type or dims differ from the input's");
  if (x.dims.empty()) return Unsupported("needs an input of rank >= 1");
  const PlanTensor& at = v.in(1);
  if ((at.dtype != DType::kInt32 && at.dtype != DType::kInt64) || cuda::numel(at.dims) != 1)
    return Unsupported("axis (input 1) must be one int32 or int64 value");
  CumSumPlan p;
  p.dtype = x.dtype;
  p.exclusive = attr_int(v.layer, "exclusive", 0) != 0;
  p.reverse = attr_int(v.layer, "reverse", 0) != 0;
  p.empty = cuda::numel(x.dims) == 0;
  if (at.storage != Storage::kWeight) {
    p.runtime_axis = true;
    p.axis64 = at.dtype == DType::kInt64;
    p.dims.rank = static_cast<int>(x.dims.size());
    for (size_t d = 0; d < x.dims.size(); ++d) p.dims.dims[d] = x.dims[d];
    p.dims.numel = cuda::numel(x.dims);
    return p;
  }
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> av, const_ints(v, 1, "axis"));
  KILN_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(av[0], x.dims.size(), "axis"));
  p.s = split_axis(x.dims, axis);
  if (!p.empty && p.s.inner == 1 && p.s.outer > INT32_MAX) return Unsupported("more than 2^31 rows");
  return p;
}

class CumSumKernel : public CudaKernel {
 public:
  explicit CumSumKernel(CumSumPlan p) : p_(p) {}

  Status enqueue(const LaunchArgs& a) override {
    if (p_.empty) return Status::Ok();
    switch (p_.dtype) {
      case DType::kFloat32: return launch<float>(a);
      case DType::kFloat16: return launch<__half>(a);
      case DType::kBFloat16: return launch<__nv_bfloat16>(a);
      case DType::kInt32: return launch<int32_t>(a);
      default: return launch<int64_t>(a);
    }
  }

 private:
  template <typename T>
  Status launch(const LaunchArgs& a) {
    const T* x = static_cast<const T*>(a.inputs[0]);
    T* y = static_cast<T*>(a.outputs[0]);
    const AxisSplit& s = p_.s;
    if (p_.runtime_axis) {
      cumsum_runtime_axis_kernel<T><<<cuda::grid_for(p_.dims.numel), 256, 0, a.stream>>>(
          x, y, a.inputs[1], p_.axis64, p_.dims, p_.exclusive, p_.reverse);
    } else if (s.inner == 1) {
      const int threads = static_cast<int>(std::min<int64_t>(512, (s.n + 31) / 32 * 32));
      cumsum_rows_kernel<T><<<static_cast<unsigned>(s.outer), threads, 0, a.stream>>>(x, y, s.n, p_.exclusive,
                                                                                      p_.reverse);
    } else {
      cumsum_cols_kernel<T><<<cuda::grid_for(s.outer * s.inner), 256, 0, a.stream>>>(x, y, s.outer, s.n, s.inner,
                                                                                     p_.exclusive, p_.reverse);
    }
    KILN_CUDA_CHECK_LAUNCH("cumsum kernel");
    return Status::Ok();
  }

  CumSumPlan p_;
};

}  // namespace

void register_cumsum(CudaKernelRegistry& r) {
  CudaKernelDef d;
  d.id = "kiln.cumsum";
  d.ops = {"CumSum"};
  d.supports = [](const LayerView& v, std::string* why) {
    auto p = plan_cumsum(v);
    return p.ok() ? true : refuse(why, p.status().message());
  };
  d.create = [](const LayerView& v, CudaLibraries&) -> Expected<std::unique_ptr<CudaKernel>> {
    KILN_ASSIGN_OR_RETURN(CumSumPlan p, plan_cumsum(v));
    return std::unique_ptr<CudaKernel>(new CumSumKernel(p));
  };
  r.add(std::move(d));
}

}  // namespace kiln::cureduce
