// TopK (K from the constant input 1; largest/smallest; sorted). One block
// per line along the axis: the line's (value, index) pairs are bitonic-sorted
// in shared memory, padded to a power of two, by the reference's order (NaN
// above every number, ties smaller index first), and the first K written.
// The order is total, so the result is exactly the CPU reference's; sorted=0
// gets the sorted answer, which is a valid one. Lines longer than kMaxLine
// are refused.
#include <algorithm>

#include "backends/cuda/kernels/reduce_common.cuh"

namespace kiln::cureduce {
namespace {

constexpr int64_t kMaxLine = 16384;

template <typename T>
using TopKey = std::conditional_t<kIsFloat<T>, float, long long>;

// Whether element (ka, ia) comes before (kb, ib). Padding (index >= n) goes last.
template <typename K>
__device__ __forceinline__ bool before(K ka, int ia, K kb, int ib, int n, bool largest) {
  if (ia >= n || ib >= n) return ia < ib;
  const bool na = ka != ka, nb = kb != kb;
  int c;
  if (na || nb) c = na == nb ? 0 : (na ? 1 : -1);
  else c = ka < kb ? -1 : (ka > kb ? 1 : 0);
  if (c != 0) return largest ? c > 0 : c < 0;
  return ia < ib;
}

template <typename T>
__global__ void topk_kernel(const T* x, T* values, int64_t* indices, int n, int64_t k, int64_t inner, int npad,
                            bool largest) {
  using K = TopKey<T>;
  extern __shared__ __align__(8) unsigned char smem[];
  K* key = reinterpret_cast<K*>(smem);
  int* idx = reinterpret_cast<int*>(key + npad);
  const int64_t o = blockIdx.x / inner, i = blockIdx.x % inner;
  const T* xl = x + o * n * inner + i;
  for (int j = threadIdx.x; j < npad; j += blockDim.x) {
    key[j] = j < n ? load_acc<K>(xl, j * inner) : K(0);
    idx[j] = j;
  }
  __syncthreads();
  // Bitonic network: pairs (a, a + stride) with bit `stride` of a clear; a
  // run is sorted ascending (in `before` order) where bit `size` of a is 0.
  for (int size = 2; size <= npad; size <<= 1) {
    for (int stride = size >> 1; stride > 0; stride >>= 1) {
      for (int t = threadIdx.x; t < npad / 2; t += blockDim.x) {
        const int a = 2 * t - (t & (stride - 1));
        const int b = a + stride;
        const bool up = (a & size) == 0;
        const bool swap = up ? before(key[b], idx[b], key[a], idx[a], n, largest)
                             : before(key[a], idx[a], key[b], idx[b], n, largest);
        if (swap) {
          K tk = key[a];
          key[a] = key[b];
          key[b] = tk;
          int ti = idx[a];
          idx[a] = idx[b];
          idx[b] = ti;
        }
      }
      __syncthreads();
    }
  }
  for (int64_t j = threadIdx.x; j < k; j += blockDim.x) {
    const int64_t at = (o * k + j) * inner + i;
    store_acc(values, at, key[j]);
    indices[at] = idx[j];
  }
}

struct TopKPlan {
  DType dtype = DType::kFloat32;
  AxisSplit s;
  int64_t k = 0;
  int npad = 1;
  bool largest = true;
  bool empty = false;
};

size_t smem_bytes(const TopKPlan& p) {
  size_t key = is_gpu_float(p.dtype) ? sizeof(float) : sizeof(long long);
  return static_cast<size_t>(p.npad) * (key + sizeof(int));
}

Expected<TopKPlan> plan_topk(const LayerView& v) {
  std::string why;
  if (!check_layer(v, 2, 2, 2, 2, &why)) return Unsupported(why);
  if (!v.has_input(1)) return Unsupported("K (input 1) is missing");
  const PlanTensor& x = v.in(0);
  if (!check_type(x, "X", true, true, &why)) return Unsupported(why);
  if (x.dims.empty()) return Unsupported("needs an input of rank >= 1");
  KILN_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(attr_int(v.layer, "axis", -1), x.dims.size(), "axis"));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> kv, const_ints(v, 1, "K"));
  if (kv.size() != 1) return Unsupported("K (input 1) must hold one value");
  TopKPlan p;
  p.dtype = x.dtype;
  p.s = split_axis(x.dims, axis);
  p.k = kv[0];
  p.largest = attr_int(v.layer, "largest", 1) != 0;
  if (p.k < 0 || p.k > p.s.n) return Unsupported("K = ", p.k, " is outside [0, ", p.s.n, "]");
  std::vector<int64_t> out_dims = x.dims;
  out_dims[static_cast<size_t>(axis)] = p.k;
  const PlanTensor& values = v.out(0);
  const PlanTensor& indices = v.out(1);
  if (values.dims != out_dims || indices.dims != out_dims || values.dtype != x.dtype ||
      indices.dtype != DType::kInt64)
    return Unsupported("outputs must be ", dtype_name(x.dtype), " and int64 of dims ", dims_to_string(out_dims));
  p.empty = cuda::numel(out_dims) == 0;
  if (p.empty) return p;
  if (p.s.n > kMaxLine)
    return Unsupported("TopK along an axis of ", p.s.n, " elements: the GPU kernel sorts each line in shared ",
                       "memory and takes at most ", kMaxLine);
  if (p.s.outer * p.s.inner > INT32_MAX) return Unsupported("more than 2^31 lines");
  while (p.npad < p.s.n) p.npad *= 2;
  return p;
}

class TopKKernel : public CudaKernel {
 public:
  explicit TopKKernel(TopKPlan p) : p_(p) {}

  // Lines past 48 KiB of shared memory need the kernel's limit raised once.
  Status prepare() {
    if (p_.empty) return Status::Ok();
    int bytes = static_cast<int>(smem_bytes(p_));
    switch (p_.dtype) {
      case DType::kFloat32: return raise<float>(bytes);
      case DType::kFloat16: return raise<__half>(bytes);
      case DType::kBFloat16: return raise<__nv_bfloat16>(bytes);
      case DType::kInt8: return raise<int8_t>(bytes);
      case DType::kUInt8: return raise<uint8_t>(bytes);
      case DType::kInt32: return raise<int32_t>(bytes);
      default: return raise<int64_t>(bytes);
    }
  }

  Status enqueue(const LaunchArgs& a) override {
    if (p_.empty) return Status::Ok();
    switch (p_.dtype) {
      case DType::kFloat32: return launch<float>(a);
      case DType::kFloat16: return launch<__half>(a);
      case DType::kBFloat16: return launch<__nv_bfloat16>(a);
      case DType::kInt8: return launch<int8_t>(a);
      case DType::kUInt8: return launch<uint8_t>(a);
      case DType::kInt32: return launch<int32_t>(a);
      default: return launch<int64_t>(a);
    }
  }

 private:
  template <typename T>
  Status raise(int bytes) {
    if (bytes > (48 << 10))
      KILN_CUDA_CHECK(cudaFuncSetAttribute(topk_kernel<T>, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes));
    return Status::Ok();
  }

  template <typename T>
  Status launch(const LaunchArgs& a) {
    const int64_t lines = p_.s.outer * p_.s.inner;
    const int threads = std::min(1024, std::max(32, p_.npad / 2));
    topk_kernel<T><<<static_cast<unsigned>(lines), threads, smem_bytes(p_), a.stream>>>(
        static_cast<const T*>(a.inputs[0]), static_cast<T*>(a.outputs[0]), static_cast<int64_t*>(a.outputs[1]),
        static_cast<int>(p_.s.n), p_.k, p_.s.inner, p_.npad, p_.largest);
    KILN_CUDA_CHECK_LAUNCH("topk kernel");
    return Status::Ok();
  }

  TopKPlan p_;
};

}  // namespace

void register_topk(CudaKernelRegistry& r) {
  CudaKernelDef d;
  d.id = "kiln.topk";
  d.ops = {"TopK"};
  d.supports = [](const LayerView& v, std::string* why) {
    auto p = plan_topk(v);
    return p.ok() ? true : refuse(why, p.status().message());
  };
  d.create = [](const LayerView& v, CudaLibraries&) -> Expected<std::unique_ptr<CudaKernel>> {
    KILN_ASSIGN_OR_RETURN(TopKPlan p, plan_topk(v));
    auto k = std::make_unique<TopKKernel>(p);
    KILN_RETURN_IF_ERROR(k->prepare());
    return std::unique_ptr<CudaKernel>(std::move(k));
  };
  r.add(std::move(d));
}

}  // namespace kiln::cureduce
