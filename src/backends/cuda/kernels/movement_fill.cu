// Ops whose output does not move input elements: Range, ConstantOfShape,
// Shape and Size. With static shapes the builder folds most of them to
// constants; these kernels run the ones that still reach an engine.
//  - Range: out[i] = start + i * delta with start and delta read from
//    device memory (constant or not), computed as the CPU reference does
//    (double for floats, wrapping int64 for integers);
//  - ConstantOfShape: a fill with the `value` attribute (float 0 without);
//  - Shape / Size: the input's static dims, uploaded at create and copied.
#include <algorithm>
#include <cstring>
#include <string>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/kernels/cuda_common.cuh"
#include "backends/cuda/kernels/movement_common.cuh"

namespace kiln::cumove {
namespace {

// ---- Range ----

template <typename T>
__device__ __forceinline__ double as_double(T v) {
  return static_cast<double>(v);
}
template <>
__device__ __forceinline__ double as_double<__half>(__half v) {
  return __half2float(v);
}
template <>
__device__ __forceinline__ double as_double<__nv_bfloat16>(__nv_bfloat16 v) {
  return __bfloat162float(v);
}

// The CPU reference stores doubles through float for the narrow types.
template <typename T>
__device__ __forceinline__ T from_double(double v) {
  return static_cast<T>(v);
}
template <>
__device__ __forceinline__ __half from_double<__half>(double v) {
  return __float2half_rn(static_cast<float>(v));
}
template <>
__device__ __forceinline__ __nv_bfloat16 from_double<__nv_bfloat16>(double v) {
  return __float2bfloat16_rn(static_cast<float>(v));
}

template <typename T>
__global__ void range_float_kernel(const T* start, const T* delta, T* out, int64_t n) {
  const double s = as_double(*start), d = as_double(*delta);
  // Explicit rounding: no fused multiply-add, which the CPU reference does not use.
  for (int64_t i = first_index<int64_t>(); i < n; i += grid_step<int64_t>())
    out[i] = from_double<T>(__dadd_rn(s, __dmul_rn(static_cast<double>(i), d)));
}

template <typename T>
__global__ void range_int_kernel(const T* start, const T* delta, T* out, int64_t n) {
  // Unsigned arithmetic: every value lies between start and limit, but the
  // products on the way may not fit a signed type.
  const uint64_t s = static_cast<uint64_t>(static_cast<int64_t>(*start));
  const uint64_t d = static_cast<uint64_t>(static_cast<int64_t>(*delta));
  for (int64_t i = first_index<int64_t>(); i < n; i += grid_step<int64_t>())
    out[i] = static_cast<T>(static_cast<int64_t>(s + static_cast<uint64_t>(i) * d));
}

struct RangePlan {
  DType dtype = DType::kFloat32;
  int64_t n = 0;
};

Expected<RangePlan> plan_range(const LayerView& v) {
  if (v.inputs.size() != 3 || !v.has_input(0) || !v.has_input(1) || !v.has_input(2) || v.outputs.size() != 1)
    return Unsupported("expects start, limit, delta and one output");
  KILN_RETURN_IF_ERROR(check_plain_layer(v));
  const PlanTensor& y = v.out(0);
  switch (y.dtype) {
    case DType::kFloat32: case DType::kFloat64: case DType::kFloat16: case DType::kBFloat16:
    case DType::kInt32: case DType::kInt64:
      break;
    default:
      return Unsupported("Range of type ", dtype_name(y.dtype));
  }
  for (size_t i = 0; i < 3; ++i)
    if (v.in(i).dtype != y.dtype || numel_of(v.in(i).dims) != 1)
      return Unsupported("start, limit and delta must be scalars of the output's type");
  if (y.dims.size() != 1) return Unsupported("output must be 1-D");
  return RangePlan{y.dtype, y.dims[0]};
}

template <typename T, bool kFloat>
Status range_typed(int64_t n, const LaunchArgs& a) {
  auto* s = static_cast<const T*>(a.inputs[0]);
  auto* d = static_cast<const T*>(a.inputs[2]);
  auto* y = static_cast<T*>(a.outputs[0]);
  if constexpr (kFloat)
    range_float_kernel<T><<<cuda::grid_for(n), 256, 0, a.stream>>>(s, d, y, n);
  else
    range_int_kernel<T><<<cuda::grid_for(n), 256, 0, a.stream>>>(s, d, y, n);
  KILN_CUDA_CHECK_LAUNCH("cumove range");
  return Status::Ok();
}

class RangeKernel : public CudaKernel {
 public:
  explicit RangeKernel(RangePlan p) : p_(p) {}
  Status enqueue(const LaunchArgs& a) override {
    if (p_.n == 0) return Status::Ok();
    switch (p_.dtype) {
      case DType::kFloat32: return range_typed<float, true>(p_.n, a);
      case DType::kFloat64: return range_typed<double, true>(p_.n, a);
      case DType::kFloat16: return range_typed<__half, true>(p_.n, a);
      case DType::kBFloat16: return range_typed<__nv_bfloat16, true>(p_.n, a);
      case DType::kInt32: return range_typed<int32_t, false>(p_.n, a);
      default: return range_typed<int64_t, false>(p_.n, a);
    }
  }

 private:
  RangePlan p_;
};

// ---- ConstantOfShape ----

template <typename E>
__global__ void fill_kernel(E* out, E value, int64_t n) {
  for (int64_t i = first_index<int64_t>(); i < n; i += grid_step<int64_t>()) out[i] = value;
}

struct FillPlan {
  size_t elem = 4;
  uint8_t value[8] = {};
  int64_t n = 0;
};

Expected<FillPlan> plan_fill(const LayerView& v) {
  if (v.inputs.size() != 1 || v.outputs.size() != 1) return Unsupported("expects a shape input and one output");
  KILN_RETURN_IF_ERROR(check_plain_layer(v));
  const PlanTensor& y = v.out(0);
  FillPlan p;
  auto it = v.layer.attrs.find("value");
  DType dtype = DType::kFloat32;  // float 0 without a value
  if (it != v.layer.attrs.end()) {
    const Attr& a = it->second;
    if (a.kind != AttrKind::kTensor || a.t.numel() != 1) return Unsupported("'value' must be a one-element tensor");
    dtype = a.t.dtype();
    std::memcpy(p.value, a.t.bytes(), dtype_size(dtype));
  }
  if (dtype != y.dtype) return Unsupported("output type differs from the value's");
  p.elem = dtype_size(dtype);
  p.n = numel_of(y.dims);
  return p;
}

template <typename E>
Status fill_typed(const FillPlan& p, void* out, cudaStream_t s) {
  E value;
  std::memcpy(&value, p.value, sizeof(E));
  fill_kernel<E><<<cuda::grid_for(p.n), 256, 0, s>>>(static_cast<E*>(out), value, p.n);
  KILN_CUDA_CHECK_LAUNCH("cumove fill");
  return Status::Ok();
}

class FillKernel : public CudaKernel {
 public:
  explicit FillKernel(FillPlan p) : p_(p) {}
  Status enqueue(const LaunchArgs& a) override {
    if (p_.n == 0) return Status::Ok();
    bool same = std::all_of(p_.value, p_.value + p_.elem, [&](uint8_t b) { return b == p_.value[0]; });
    if (same) {
      KILN_CUDA_CHECK(cudaMemsetAsync(a.outputs[0], p_.value[0], static_cast<size_t>(p_.n) * p_.elem, a.stream));
      return Status::Ok();
    }
    switch (p_.elem) {
      case 2: return fill_typed<uint16_t>(p_, a.outputs[0], a.stream);
      case 4: return fill_typed<uint32_t>(p_, a.outputs[0], a.stream);
      default: return fill_typed<unsigned long long>(p_, a.outputs[0], a.stream);
    }
  }

 private:
  FillPlan p_;
};

// ---- Shape / Size ----

Expected<std::vector<int64_t>> shape_values(const LayerView& v, bool size) {
  if (v.inputs.size() != 1 || !v.has_input(0) || v.outputs.size() != 1)
    return Unsupported("expects one input and one output");
  const PlanTensor& x = v.in(0);
  const PlanTensor& y = v.out(0);
  if (y.dtype != DType::kInt64 || y.layout != Layout::kLinear) return Unsupported("output must be linear int64");
  std::vector<int64_t> values;
  if (size) {
    values.push_back(numel_of(x.dims));
  } else {
    // [start, end) clamped into [0, rank], as the CPU reference does.
    int64_t rank = static_cast<int64_t>(x.dims.size());
    Node node = layer_node(v.layer);
    KILN_ASSIGN_OR_RETURN(int64_t start, node.attr_int("start", 0));
    KILN_ASSIGN_OR_RETURN(int64_t end, node.attr_int("end", rank));
    auto fix = [rank](int64_t i) { return std::clamp<int64_t>(i < 0 ? i + rank : i, 0, rank); };
    start = fix(start);
    end = std::max(fix(end), start);
    values.assign(x.dims.begin() + start, x.dims.begin() + end);
  }
  if (numel_of(y.dims) != static_cast<int64_t>(values.size())) return Unsupported("output size does not match");
  return values;
}

class ConstantKernel : public CudaKernel {
 public:
  Status init(const std::vector<int64_t>& values) {
    bytes_ = values.size() * sizeof(int64_t);
    return buf_.upload(values.data(), bytes_);
  }
  Status enqueue(const LaunchArgs& a) override {
    if (bytes_ == 0) return Status::Ok();
    KILN_CUDA_CHECK(cudaMemcpyAsync(a.outputs[0], buf_.get(), bytes_, cudaMemcpyDeviceToDevice, a.stream));
    return Status::Ok();
  }

 private:
  DeviceBuffer buf_;
  size_t bytes_ = 0;
};

void add_shape_def(CudaKernelRegistry& r, const char* id, const char* op, bool size) {
  CudaKernelDef d;
  d.id = id;
  d.ops = {op};
  d.supports = [size](const LayerView& v, std::string* why) {
    auto p = shape_values(v, size);
    return p.ok() ? true : refuse(why, p.status().message());
  };
  d.create = [size](const LayerView& v, CudaLibraries&) -> Expected<std::unique_ptr<CudaKernel>> {
    KILN_ASSIGN_OR_RETURN(std::vector<int64_t> values, shape_values(v, size));
    auto k = std::make_unique<ConstantKernel>();
    KILN_RETURN_IF_ERROR(k->init(values));
    return std::unique_ptr<CudaKernel>(std::move(k));
  };
  r.add(std::move(d));
}

}  // namespace

void register_fills(CudaKernelRegistry& r) {
  CudaKernelDef range;
  range.id = "kiln.range";
  range.ops = {"Range"};
  range.supports = [](const LayerView& v, std::string* why) {
    auto p = plan_range(v);
    return p.ok() ? true : refuse(why, p.status().message());
  };
  range.create = [](const LayerView& v, CudaLibraries&) -> Expected<std::unique_ptr<CudaKernel>> {
    KILN_ASSIGN_OR_RETURN(RangePlan p, plan_range(v));
    return std::unique_ptr<CudaKernel>(new RangeKernel(p));
  };
  r.add(std::move(range));

  CudaKernelDef fill;
  fill.id = "kiln.constant_of_shape";
  fill.ops = {"ConstantOfShape"};
  fill.supports = [](const LayerView& v, std::string* why) {
    auto p = plan_fill(v);
    return p.ok() ? true : refuse(why, p.status().message());
  };
  fill.create = [](const LayerView& v, CudaLibraries&) -> Expected<std::unique_ptr<CudaKernel>> {
    KILN_ASSIGN_OR_RETURN(FillPlan p, plan_fill(v));
    return std::unique_ptr<CudaKernel>(new FillKernel(p));
  };
  r.add(std::move(fill));

  add_shape_def(r, "kiln.shape", "Shape", false);
  add_shape_def(r, "kiln.size", "Size", true);
}

}  // namespace kiln::cumove
