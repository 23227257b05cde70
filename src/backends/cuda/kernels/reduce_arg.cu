// ArgMax and ArgMin (int64 indices; keepdims; select_last_index). NaN beats
// every number and ties keep the first index (or the last), as the CPU
// reference. Along the last axis a warp takes each row (lanes stride the row,
// then a shuffle reduction of (value, index) pairs); along another axis one
// thread takes each output, its neighbours reading adjacent addresses.
#include "backends/cuda/kernels/reduce_common.cuh"

namespace kiln::cureduce {
namespace {

template <typename T>
using KeyOf = std::conditional_t<kIsFloat<T>, float, long long>;

template <typename T>
__global__ void arg_rows_kernel(const T* x, int64_t* y, int64_t rows, int64_t n, bool is_max, bool last) {
  using K = KeyOf<T>;
  const int64_t row = static_cast<int64_t>(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32;
  if (row >= rows) return;  // the whole warp leaves together
  const int lane = threadIdx.x % 32;
  const T* xr = x + row * n;
  ArgPair<K> best{K(0), -1};
  for (int64_t j = lane; j < n; j += 32) {
    ArgPair<K> c{load_acc<K>(xr, j), j};
    if (arg_better(c, best, is_max, last)) best = c;
  }
  best = warp_arg_allreduce(best, is_max, last);
  if (lane == 0) y[row] = best.i;
}

template <typename T>
__global__ void arg_cols_kernel(const T* x, int64_t* y, int64_t outer, int64_t n, int64_t inner, bool is_max,
                                bool last) {
  using K = KeyOf<T>;
  const int64_t total = outer * inner;
  for (int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; t < total;
       t += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t o = t / inner, i = t % inner;
    const T* xo = x + o * n * inner + i;
    ArgPair<K> best{K(0), -1};
    for (int64_t k = 0; k < n; ++k) {
      ArgPair<K> c{load_acc<K>(xo, k * inner), k};
      if (arg_better(c, best, is_max, last)) best = c;
    }
    y[t] = best.i;
  }
}

struct ArgPlan {
  DType dtype = DType::kFloat32;
  AxisSplit s;
  bool is_max = true, last = false;
  bool empty = false;
};

Expected<ArgPlan> plan_arg(const LayerView& v) {
  std::string why;
  if (!check_layer(v, 1, 1, 1, 1, &why)) return Unsupported(why);
  const PlanTensor& x = v.in(0);
  const PlanTensor& y = v.out(0);
  if (!check_type(x, "data", true, true, &why)) return Unsupported(why);
  if (y.dtype != DType::kInt64) return Unsupported("output is ", dtype_name(y.dtype), "; expected int64");
  if (x.dims.empty()) return Unsupported("needs an input of rank >= 1");
  KILN_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(attr_int(v.layer, "axis", 0), x.dims.size(), "axis"));
  bool keepdims = attr_int(v.layer, "keepdims", 1) != 0;
  std::vector<int64_t> out_dims;
  for (size_t d = 0; d < x.dims.size(); ++d) {
    if (static_cast<int64_t>(d) != axis) out_dims.push_back(x.dims[d]);
    else if (keepdims) out_dims.push_back(1);
  }
  if (out_dims != y.dims)
    return Unsupported("output dims ", dims_to_string(y.dims), " differ from the expected ", dims_to_string(out_dims));
  ArgPlan p;
  p.dtype = x.dtype;
  p.s = split_axis(x.dims, axis);
  p.is_max = v.layer.op == "ArgMax";
  p.last = attr_int(v.layer, "select_last_index", 0) != 0;
  p.empty = cuda::numel(y.dims) == 0;
  if (!p.empty && p.s.n == 0) return Unsupported(v.layer.op, " over an axis of size 0 has no answer");
  return p;
}

class ArgKernel : public CudaKernel {
 public:
  explicit ArgKernel(ArgPlan p) : p_(p) {}

  Status enqueue(const LaunchArgs& a) override {
    if (p_.empty) return Status::Ok();
    switch (p_.dtype) {
      case DType::kFloat32: return launch<float>(a);
      case DType::kFloat16: return launch<__half>(a);
      case DType::kBFloat16: return launch<__nv_bfloat16>(a);
      case DType::kInt8: return launch<int8_t>(a);
      case DType::kUInt8: return launch<uint8_t>(a);
      case DType::kInt32: return launch<int32_t>(a);
      case DType::kInt64: return launch<int64_t>(a);
      default: return Internal("arg-reduce: unexpected type ", dtype_name(p_.dtype));
    }
  }

 private:
  template <typename T>
  Status launch(const LaunchArgs& a) {
    const T* x = static_cast<const T*>(a.inputs[0]);
    int64_t* y = static_cast<int64_t*>(a.outputs[0]);
    const AxisSplit& s = p_.s;
    if (s.inner == 1) {
      unsigned grid = static_cast<unsigned>((s.outer + 7) / 8);  // 8 warps (rows) per block
      arg_rows_kernel<T><<<grid, 256, 0, a.stream>>>(x, y, s.outer, s.n, p_.is_max, p_.last);
    } else {
      arg_cols_kernel<T>
          <<<cuda::grid_for(s.outer * s.inner), 256, 0, a.stream>>>(x, y, s.outer, s.n, s.inner, p_.is_max, p_.last);
    }
    KILN_CUDA_CHECK_LAUNCH("arg-reduce kernel");
    return Status::Ok();
  }

  ArgPlan p_;
};

}  // namespace

void register_reduce_arg(CudaKernelRegistry& r) {
  CudaKernelDef d;
  d.id = "kiln.argreduce";
  d.ops = {"ArgMax", "ArgMin"};
  d.supports = [](const LayerView& v, std::string* why) {
    auto p = plan_arg(v);
    return p.ok() ? true : refuse(why, p.status().message());
  };
  d.create = [](const LayerView& v, CudaLibraries&) -> Expected<std::unique_ptr<CudaKernel>> {
    KILN_ASSIGN_OR_RETURN(ArgPlan p, plan_arg(v));
    return std::unique_ptr<CudaKernel>(new ArgKernel(p));
  };
  r.add(std::move(d));
}

}  // namespace kiln::cureduce
