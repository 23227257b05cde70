// OneHot, Trilu and Compress (NonZero and NonMaxSuppression are in
// data_dependent.cu).
//  - OneHot: one thread per output element compares its position along the
//    new axis with its index; depth is the output's static dim there and the
//    off/on values are read from device memory, so neither needs to be a
//    constant. Indices out of range (after one wrap of negatives) give an
//    all-off row, as in the CPU reference (the spec allows it).
//  - Trilu: keeps the triangle j - i >= k (upper) or <= k (lower), zeros
//    elsewhere; k is a constant or read from device memory.
//  - Compress with a constant condition is a Gather of the selected
//    positions (uploaded at create); with a run-time condition its output
//    size depends on the data.
#include <cmath>
#include <string>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/kernels/cuda_common.cuh"
#include "backends/cuda/kernels/movement_common.cuh"

namespace kiln::cumove {
namespace {

// ---- OneHot ----

// An index value as the CPU reference reads it: integers as they are,
// floats truncated toward zero unless not finite or too large (never set).
template <typename T>
__device__ __forceinline__ bool onehot_index(T raw, int64_t& v) {
  v = static_cast<int64_t>(raw);
  return true;
}
__device__ __forceinline__ bool onehot_float(double f, int64_t& v) {
  if (!isfinite(f) || fabs(f) >= 9.0e18) return false;
  v = static_cast<int64_t>(f);
  return true;
}
template <>
__device__ __forceinline__ bool onehot_index<float>(float raw, int64_t& v) {
  return onehot_float(raw, v);
}
template <>
__device__ __forceinline__ bool onehot_index<double>(double raw, int64_t& v) {
  return onehot_float(raw, v);
}
template <>
__device__ __forceinline__ bool onehot_index<__half>(__half raw, int64_t& v) {
  return onehot_float(__half2float(raw), v);
}
template <>
__device__ __forceinline__ bool onehot_index<__nv_bfloat16>(__nv_bfloat16 raw, int64_t& v) {
  return onehot_float(__bfloat162float(raw), v);
}

// out [outer, depth, inner]; indices [outer, inner].
template <typename E, typename T>
__global__ void onehot_kernel(const T* __restrict__ ind, const E* __restrict__ values, E* __restrict__ out,
                              int64_t depth, int64_t inner, int64_t n) {
  for (int64_t i = first_index<int64_t>(); i < n; i += grid_step<int64_t>()) {
    int64_t x = i % inner;
    int64_t t = i / inner;
    int64_t d = t % depth;
    int64_t o = t / depth;
    int64_t v;
    bool on = onehot_index(ind[o * inner + x], v);
    if (on && v < 0) v += depth;
    out[i] = values[on && v == d ? 1 : 0];
  }
}

struct OneHotPlan {
  DType index_dtype = DType::kInt64;
  size_t elem = 1;
  int64_t depth = 0, inner = 0, n = 0;
};

Expected<OneHotPlan> plan_onehot(const LayerView& v) {
  if (v.inputs.size() != 3 || !v.has_input(0) || !v.has_input(1) || !v.has_input(2) || v.outputs.size() != 1)
    return Unsupported("expects indices, depth, values and one output");
  KILN_RETURN_IF_ERROR(check_plain_layer(v));
  const PlanTensor& ind = v.in(0);
  const PlanTensor& values = v.in(2);
  const PlanTensor& y = v.out(0);
  switch (ind.dtype) {
    case DType::kInt8: case DType::kUInt8: case DType::kInt32: case DType::kInt64:
    case DType::kFloat16: case DType::kBFloat16: case DType::kFloat32: case DType::kFloat64:
      break;
    default:
      return Unsupported("indices of type ", dtype_name(ind.dtype), " are not supported");
  }
  if (values.dtype != y.dtype || numel_of(values.dims) != 2) return Unsupported("values must be two of the output's type");
  if (ind.dims.empty()) return Unsupported("indices must have rank >= 1");
  Node node = layer_node(v.layer);
  KILN_ASSIGN_OR_RETURN(int64_t axis_attr, node.attr_int("axis", -1));
  KILN_ASSIGN_OR_RETURN(int64_t axis, norm_axis(axis_attr, static_cast<int64_t>(ind.dims.size()) + 1, "axis"));
  size_t a = static_cast<size_t>(axis);
  if (y.dims.size() != ind.dims.size() + 1) return Unsupported("output rank must be the indices' plus one");
  OneHotPlan p;
  p.depth = y.dims[a];
  std::vector<int64_t> want = ind.dims;
  want.insert(want.begin() + axis, p.depth);
  if (want != y.dims) return Unsupported("output dims do not match indices and depth");
  p.inner = 1;
  for (size_t d = a; d < ind.dims.size(); ++d) p.inner *= ind.dims[d];
  p.n = numel_of(y.dims);
  p.index_dtype = ind.dtype;
  p.elem = dtype_size(y.dtype);
  return p;
}

template <typename E, typename T>
Status onehot_typed(const OneHotPlan& p, const LaunchArgs& a) {
  onehot_kernel<E, T><<<cuda::grid_for(p.n), 256, 0, a.stream>>>(
      static_cast<const T*>(a.inputs[0]), static_cast<const E*>(a.inputs[2]), static_cast<E*>(a.outputs[0]), p.depth,
      p.inner, p.n);
  KILN_CUDA_CHECK_LAUNCH("cumove onehot");
  return Status::Ok();
}

template <typename E>
Status onehot_elem(const OneHotPlan& p, const LaunchArgs& a) {
  switch (p.index_dtype) {
    case DType::kInt8: return onehot_typed<E, int8_t>(p, a);
    case DType::kUInt8: return onehot_typed<E, uint8_t>(p, a);
    case DType::kInt32: return onehot_typed<E, int32_t>(p, a);
    case DType::kInt64: return onehot_typed<E, int64_t>(p, a);
    case DType::kFloat16: return onehot_typed<E, __half>(p, a);
    case DType::kBFloat16: return onehot_typed<E, __nv_bfloat16>(p, a);
    case DType::kFloat32: return onehot_typed<E, float>(p, a);
    default: return onehot_typed<E, double>(p, a);
  }
}

class OneHotKernel : public CudaKernel {
 public:
  explicit OneHotKernel(OneHotPlan p) : p_(p) {}
  Status enqueue(const LaunchArgs& a) override {
    if (p_.n == 0) return Status::Ok();
    switch (p_.elem) {
      case 1: return onehot_elem<uint8_t>(p_, a);
      case 2: return onehot_elem<uint16_t>(p_, a);
      case 4: return onehot_elem<uint32_t>(p_, a);
      default: return onehot_elem<uint2>(p_, a);
    }
  }

 private:
  OneHotPlan p_;
};

// ---- Trilu ----

template <typename E>
__global__ void trilu_kernel(const E* in, E* out, const int64_t* __restrict__ kptr, int64_t kconst, bool upper,
                             int64_t rows, int64_t cols, int64_t n) {
  const int64_t k = kptr ? *kptr : kconst;
  for (int64_t i = first_index<int64_t>(); i < n; i += grid_step<int64_t>()) {
    int64_t t = i / cols;
    int64_t j = i - t * cols;
    int64_t r = t % rows;
    bool keep = upper ? j - r >= k : j - r <= k;
    out[i] = keep ? in[i] : E{};  // zero bits are 0 in every type
  }
}

struct TriluPlan {
  size_t elem = 1;
  bool upper = true;
  bool runtime_k = false;
  int64_t k = 0, rows = 0, cols = 0, n = 0;
};

Expected<TriluPlan> plan_trilu(const LayerView& v) {
  if (v.inputs.empty() || v.inputs.size() > 2 || !v.has_input(0) || v.outputs.size() != 1)
    return Unsupported("expects input, optional k and one output");
  KILN_RETURN_IF_ERROR(check_plain_layer(v));
  const PlanTensor& x = v.in(0);
  const PlanTensor& y = v.out(0);
  if (x.dtype != y.dtype || x.dims != y.dims) return Unsupported("input and output differ in type or dims");
  if (x.dims.size() < 2) return Unsupported("input must have rank >= 2");
  TriluPlan p;
  Node node = layer_node(v.layer);
  KILN_ASSIGN_OR_RETURN(int64_t upper, node.attr_int("upper", 1));
  p.upper = upper != 0;
  if (v.has_input(1)) {
    const PlanTensor& kt = v.in(1);
    if (kt.dtype != DType::kInt64 || numel_of(kt.dims) != 1) return Unsupported("k must be one int64");
    if (is_constant(v, 1)) {
      KILN_ASSIGN_OR_RETURN(std::vector<int64_t> k, const_ints(v, 1, "k"));
      p.k = k[0];
    } else {
      p.runtime_k = true;  // read by the kernel from device memory
    }
  }
  p.rows = x.dims[x.dims.size() - 2];
  p.cols = x.dims.back();
  p.n = numel_of(x.dims);
  p.elem = dtype_size(x.dtype);
  return p;
}

template <typename E>
Status trilu_typed(const TriluPlan& p, const LaunchArgs& a) {
  const int64_t* kptr = p.runtime_k ? static_cast<const int64_t*>(a.inputs[1]) : nullptr;
  trilu_kernel<E><<<cuda::grid_for(p.n), 256, 0, a.stream>>>(static_cast<const E*>(a.inputs[0]),
                                                              static_cast<E*>(a.outputs[0]), kptr, p.k, p.upper,
                                                              p.rows, p.cols, p.n);
  KILN_CUDA_CHECK_LAUNCH("cumove trilu");
  return Status::Ok();
}

class TriluKernel : public CudaKernel {
 public:
  explicit TriluKernel(TriluPlan p) : p_(p) {}
  Status enqueue(const LaunchArgs& a) override {
    if (p_.n == 0) return Status::Ok();
    switch (p_.elem) {
      case 1: return trilu_typed<uint8_t>(p_, a);
      case 2: return trilu_typed<uint16_t>(p_, a);
      case 4: return trilu_typed<uint32_t>(p_, a);
      default: return trilu_typed<uint2>(p_, a);
    }
  }

 private:
  TriluPlan p_;
};

// ---- Compress ----

struct CompressPlan {
  GatherGeom g;
  std::vector<int64_t> positions;
};

Expected<CompressPlan> plan_compress(const LayerView& v) {
  if (v.inputs.size() != 2 || !v.has_input(0) || !v.has_input(1) || v.outputs.size() != 1)
    return Unsupported("expects input, condition and one output");
  KILN_RETURN_IF_ERROR(check_plain_layer(v));
  const PlanTensor& x = v.in(0);
  const PlanTensor& cond = v.in(1);
  const PlanTensor& y = v.out(0);
  if (!is_constant(v, 1)) return Unsupported("a condition computed at run time: the output size depends on the data");
  if (cond.dtype != DType::kBool || cond.dims.size() != 1) return Unsupported("condition must be a 1-D bool tensor");
  if (x.dtype != y.dtype) return Unsupported("input and output types differ");
  Node node = layer_node(v.layer);
  CompressPlan p;
  std::vector<int64_t> dims = x.dims;
  size_t a = 0;
  if (node.has_attr("axis")) {
    KILN_ASSIGN_OR_RETURN(int64_t axis_attr, node.attr_int("axis", 0));
    KILN_ASSIGN_OR_RETURN(int64_t axis, norm_axis(axis_attr, static_cast<int64_t>(dims.size()), "axis"));
    a = static_cast<size_t>(axis);
  } else {
    dims = {numel_of(x.dims)};  // no axis: the input is read flat
  }
  const uint8_t* c = cond.bytes ? v.host_weight(cond) : nullptr;
  for (int64_t i = 0; i < cond.dims[0]; ++i) {
    if (!c || c[i] == 0) continue;
    if (i >= dims[a]) return Unsupported("condition selects index ", i, " of an axis of size ", dims[a]);
    p.positions.push_back(i);
  }
  std::vector<int64_t> want = dims;
  want[a] = static_cast<int64_t>(p.positions.size());
  if (want != y.dims) return Unsupported("output dims do not match the condition");
  p.g.outer = 1;
  for (size_t d = 0; d < a; ++d) p.g.outer *= dims[d];
  p.g.axis_dim = dims[a];
  p.g.nidx = static_cast<int64_t>(p.positions.size());
  p.g.inner = 1;
  for (size_t d = a + 1; d < dims.size(); ++d) p.g.inner *= dims[d];
  p.g.elem = dtype_size(x.dtype);
  p.g.idx64 = true;
  return p;
}

class CompressKernel : public CudaKernel {
 public:
  explicit CompressKernel(GatherGeom g) : g_(g) {}
  Status init(const std::vector<int64_t>& positions) {
    return idx_.upload(positions.data(), positions.size() * sizeof(int64_t));
  }
  Status enqueue(const LaunchArgs& a) override {
    return launch_gather(g_, a.inputs[0], idx_.get(), a.outputs[0], a.stream);
  }

 private:
  GatherGeom g_;
  DeviceBuffer idx_;
};

}  // namespace

void register_select(CudaKernelRegistry& r) {
  CudaKernelDef onehot;
  onehot.id = "kiln.onehot";
  onehot.ops = {"OneHot"};
  onehot.supports = [](const LayerView& v, std::string* why) {
    auto p = plan_onehot(v);
    return p.ok() ? true : refuse(why, p.status().message());
  };
  onehot.create = [](const LayerView& v, CudaLibraries&) -> Expected<std::unique_ptr<CudaKernel>> {
    KILN_ASSIGN_OR_RETURN(OneHotPlan p, plan_onehot(v));
    return std::unique_ptr<CudaKernel>(new OneHotKernel(p));
  };
  r.add(std::move(onehot));

  CudaKernelDef trilu;
  trilu.id = "kiln.trilu";
  trilu.ops = {"Trilu"};
  trilu.supports = [](const LayerView& v, std::string* why) {
    auto p = plan_trilu(v);
    return p.ok() ? true : refuse(why, p.status().message());
  };
  trilu.create = [](const LayerView& v, CudaLibraries&) -> Expected<std::unique_ptr<CudaKernel>> {
    KILN_ASSIGN_OR_RETURN(TriluPlan p, plan_trilu(v));
    return std::unique_ptr<CudaKernel>(new TriluKernel(p));
  };
  trilu.in_place = true;  // each element reads only its own position
  r.add(std::move(trilu));

  CudaKernelDef compress;
  compress.id = "kiln.compress";
  compress.ops = {"Compress"};
  compress.supports = [](const LayerView& v, std::string* why) {
    auto p = plan_compress(v);
    return p.ok() ? true : refuse(why, p.status().message());
  };
  compress.create = [](const LayerView& v, CudaLibraries&) -> Expected<std::unique_ptr<CudaKernel>> {
    KILN_ASSIGN_OR_RETURN(CompressPlan p, plan_compress(v));
    auto k = std::make_unique<CompressKernel>(p.g);
    KILN_RETURN_IF_ERROR(k->init(p.positions));
    return std::unique_ptr<CudaKernel>(std::move(k));
  };
  r.add(std::move(compress));

}

}  // namespace kiln::cumove
