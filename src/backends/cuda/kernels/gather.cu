// Gather, GatherElements and GatherND: one thread per output element (for
// Gather and GatherND one per 16-byte vector of the contiguous inner slice
// when sizes and pointers allow: BERT's embedding Gather over a 30522x768
// table moves whole rows that way).
//
// Indices come from device memory, so they cannot be checked on the host.
// Negative indices wrap once, as in the CPU reference; an index still out of
// range — which the CPU reference reports as an error — cannot be reported
// by the GPU: the output elements it selects are written as zeros and
// nothing outside the data is read.
#include <string>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/kernels/cuda_common.cuh"
#include "backends/cuda/kernels/movement_common.cuh"

namespace kiln::cumove {
namespace {

Status check_index_type(const PlanTensor& t) {
  if (t.dtype != DType::kInt64 && t.dtype != DType::kInt32)
    return Unsupported("indices must be int32 or int64, got ", dtype_name(t.dtype));
  return Status::Ok();
}

// Widest vector (16, 8, 4, 2 or 1 elements' bytes) dividing `inner` elements
// of `elem` bytes whose alignment both pointers have.
size_t vector_unit(int64_t inner, size_t elem, const void* a, const void* b) {
  uintptr_t align = reinterpret_cast<uintptr_t>(a) | reinterpret_cast<uintptr_t>(b);
  for (size_t unit : {16, 8, 4, 2}) {
    if (unit <= elem || unit % elem != 0) continue;
    if ((inner * static_cast<int64_t>(elem)) % static_cast<int64_t>(unit) == 0 && align % unit == 0) return unit;
  }
  return elem;
}

// ---- Gather ----

template <typename E, typename Idx, typename I>
__global__ void gather_kernel(const E* __restrict__ data, const Idx* __restrict__ idx, E* __restrict__ out, I nidx,
                              I axis_dim, I inner, I n) {
  for (I i = first_index<I>(); i < n; i += grid_step<I>()) {
    I k = i % inner;
    I t = i / inner;
    I j = t % nidx;
    I o = t / nidx;
    int64_t v = static_cast<int64_t>(idx[j]);
    E val{};  // zeros for an index out of range
    if (wrap_device_index(v, axis_dim)) val = data[(o * axis_dim + static_cast<I>(v)) * inner + k];
    out[i] = val;
  }
}

template <typename E, typename Idx, typename I>
Status gather_typed(const GatherGeom& g, int64_t inner, const void* data, const void* idx, void* out, cudaStream_t s) {
  int64_t n = g.outer * g.nidx * inner;
  gather_kernel<E, Idx, I><<<cuda::grid_for(n), 256, 0, s>>>(
      static_cast<const E*>(data), static_cast<const Idx*>(idx), static_cast<E*>(out), static_cast<I>(g.nidx),
      static_cast<I>(g.axis_dim), static_cast<I>(inner), static_cast<I>(n));
  KILN_CUDA_CHECK_LAUNCH("cumove gather");
  return Status::Ok();
}

template <typename E>
Status gather_elem(const GatherGeom& g, int64_t inner, const void* data, const void* idx, void* out, cudaStream_t s) {
  bool small = g.outer * g.nidx * inner <= kMax32 && g.outer * g.axis_dim * inner <= kMax32;
  if (g.idx64)
    return small ? gather_typed<E, int64_t, int32_t>(g, inner, data, idx, out, s)
                 : gather_typed<E, int64_t, int64_t>(g, inner, data, idx, out, s);
  return small ? gather_typed<E, int32_t, int32_t>(g, inner, data, idx, out, s)
               : gather_typed<E, int32_t, int64_t>(g, inner, data, idx, out, s);
}

Expected<GatherGeom> plan_gather(const LayerView& v) {
  if (v.inputs.size() != 2 || !v.has_input(0) || !v.has_input(1) || v.outputs.size() != 1)
    return Unsupported("expects data, indices and one output");
  KILN_RETURN_IF_ERROR(check_plain_layer(v));
  const PlanTensor& x = v.in(0);
  const PlanTensor& ind = v.in(1);
  const PlanTensor& y = v.out(0);
  KILN_RETURN_IF_ERROR(check_index_type(ind));
  if (x.dtype != y.dtype) return Unsupported("data and output types differ");
  Node node = layer_node(v.layer);
  KILN_ASSIGN_OR_RETURN(int64_t axis_attr, node.attr_int("axis", 0));
  KILN_ASSIGN_OR_RETURN(int64_t axis, norm_axis(axis_attr, static_cast<int64_t>(x.dims.size()), "axis"));
  size_t a = static_cast<size_t>(axis);
  std::vector<int64_t> want(x.dims.begin(), x.dims.begin() + axis);
  want.insert(want.end(), ind.dims.begin(), ind.dims.end());
  want.insert(want.end(), x.dims.begin() + axis + 1, x.dims.end());
  if (want != y.dims) return Unsupported("output dims do not match data and indices");
  GatherGeom g;
  g.outer = 1;
  for (size_t d = 0; d < a; ++d) g.outer *= x.dims[d];
  g.axis_dim = x.dims[a];
  g.nidx = numel_of(ind.dims);
  g.inner = 1;
  for (size_t d = a + 1; d < x.dims.size(); ++d) g.inner *= x.dims[d];
  g.elem = dtype_size(x.dtype);
  g.idx64 = ind.dtype == DType::kInt64;
  return g;
}

class GatherKernel : public CudaKernel {
 public:
  explicit GatherKernel(GatherGeom g) : g_(g) {}
  Status enqueue(const LaunchArgs& a) override {
    return launch_gather(g_, a.inputs[0], a.inputs[1], a.outputs[0], a.stream);
  }

 private:
  GatherGeom g_;
};

// ---- GatherElements ----

template <typename I>
struct ElemGeom {
  int rank = 0, axis = 0;
  I dims[kMaxMoveRank] = {};          // indices' (= output's) dims
  I data_strides[kMaxMoveRank] = {};  // data's contiguous strides
  I axis_dim = 0;
};

template <typename E, typename Idx, typename I>
__global__ void gather_elements_kernel(const E* __restrict__ data, const Idx* __restrict__ idx, E* __restrict__ out,
                                       ElemGeom<I> g, I n) {
  for (I p = first_index<I>(); p < n; p += grid_step<I>()) {
    I r = p, off = 0;
    for (int d = g.rank - 1; d >= 0; --d) {
      I q = r / g.dims[d];
      if (d != g.axis) off += (r - q * g.dims[d]) * g.data_strides[d];
      r = q;
    }
    int64_t v = static_cast<int64_t>(idx[p]);
    E val{};
    if (wrap_device_index(v, g.axis_dim)) val = data[off + static_cast<I>(v) * g.data_strides[g.axis]];
    out[p] = val;
  }
}

struct GatherElementsPlan {
  ElemGeom<int64_t> g;
  int64_t n = 0;       // output elements
  int64_t data_n = 0;  // data elements: every offset stays below it
  size_t elem = 1;
  bool idx64 = true;
};

Expected<GatherElementsPlan> plan_gather_elements(const LayerView& v) {
  if (v.inputs.size() != 2 || !v.has_input(0) || !v.has_input(1) || v.outputs.size() != 1)
    return Unsupported("expects data, indices and one output");
  KILN_RETURN_IF_ERROR(check_plain_layer(v));
  const PlanTensor& x = v.in(0);
  const PlanTensor& ind = v.in(1);
  const PlanTensor& y = v.out(0);
  KILN_RETURN_IF_ERROR(check_index_type(ind));
  if (x.dtype != y.dtype) return Unsupported("data and output types differ");
  if (ind.dims != y.dims || ind.dims.size() != x.dims.size()) return Unsupported("indices, data and output ranks differ");
  if (x.dims.size() > static_cast<size_t>(kMaxMoveRank)) return Unsupported("rank above ", kMaxMoveRank);
  Node node = layer_node(v.layer);
  KILN_ASSIGN_OR_RETURN(int64_t axis_attr, node.attr_int("axis", 0));
  KILN_ASSIGN_OR_RETURN(int64_t axis, norm_axis(axis_attr, static_cast<int64_t>(x.dims.size()), "axis"));
  GatherElementsPlan p;
  p.g.rank = static_cast<int>(x.dims.size());
  p.g.axis = static_cast<int>(axis);
  std::vector<int64_t> strides = contiguous_strides_of(x.dims);
  for (size_t d = 0; d < x.dims.size(); ++d) {
    if (static_cast<int64_t>(d) != axis && ind.dims[d] > x.dims[d])
      return Unsupported("indices exceed data on axis ", d);
    p.g.dims[d] = ind.dims[d];
    p.g.data_strides[d] = strides[d];
  }
  p.g.axis_dim = x.dims[static_cast<size_t>(axis)];
  p.n = numel_of(ind.dims);
  p.data_n = numel_of(x.dims);
  p.elem = dtype_size(x.dtype);
  p.idx64 = ind.dtype == DType::kInt64;
  return p;
}

template <typename E, typename Idx>
Status gather_elements_typed(const GatherElementsPlan& p, const void* data, const void* idx, void* out,
                             cudaStream_t s) {
  auto* x = static_cast<const E*>(data);
  auto* ix = static_cast<const Idx*>(idx);
  auto* y = static_cast<E*>(out);
  if (p.n <= kMax32 && p.data_n <= kMax32) {
    ElemGeom<int32_t> g;
    g.rank = p.g.rank;
    g.axis = p.g.axis;
    for (int d = 0; d < p.g.rank; ++d) {
      g.dims[d] = static_cast<int32_t>(p.g.dims[d]);
      g.data_strides[d] = static_cast<int32_t>(p.g.data_strides[d]);
    }
    g.axis_dim = static_cast<int32_t>(p.g.axis_dim);
    gather_elements_kernel<E, Idx, int32_t><<<cuda::grid_for(p.n), 256, 0, s>>>(x, ix, y, g,
                                                                                static_cast<int32_t>(p.n));
  } else {
    gather_elements_kernel<E, Idx, int64_t><<<cuda::grid_for(p.n), 256, 0, s>>>(x, ix, y, p.g, p.n);
  }
  KILN_CUDA_CHECK_LAUNCH("cumove gather_elements");
  return Status::Ok();
}

template <typename E>
Status gather_elements_elem(const GatherElementsPlan& p, const void* data, const void* idx, void* out,
                            cudaStream_t s) {
  return p.idx64 ? gather_elements_typed<E, int64_t>(p, data, idx, out, s)
                 : gather_elements_typed<E, int32_t>(p, data, idx, out, s);
}

class GatherElementsKernel : public CudaKernel {
 public:
  explicit GatherElementsKernel(GatherElementsPlan p) : p_(p) {}
  Status enqueue(const LaunchArgs& a) override {
    if (p_.n == 0) return Status::Ok();
    const void* x = a.inputs[0];
    const void* ix = a.inputs[1];
    void* y = a.outputs[0];
    switch (p_.elem) {
      case 1: return gather_elements_elem<uint8_t>(p_, x, ix, y, a.stream);
      case 2: return gather_elements_elem<uint16_t>(p_, x, ix, y, a.stream);
      case 4: return gather_elements_elem<uint32_t>(p_, x, ix, y, a.stream);
      default: return gather_elements_elem<uint2>(p_, x, ix, y, a.stream);
    }
  }

 private:
  GatherElementsPlan p_;
};

}  // namespace

Status launch_gather(const GatherGeom& g, const void* data, const void* idx, void* out, cudaStream_t s) {
  if (g.outer * g.nidx * g.inner == 0) return Status::Ok();
  size_t unit = vector_unit(g.inner, g.elem, data, out);
  int64_t inner = g.inner * static_cast<int64_t>(g.elem) / static_cast<int64_t>(unit);
  switch (unit) {
    case 16: return gather_elem<uint4>(g, inner, data, idx, out, s);
    case 8: return gather_elem<uint2>(g, inner, data, idx, out, s);
    case 4: return gather_elem<uint32_t>(g, inner, data, idx, out, s);
    case 2: return gather_elem<uint16_t>(g, inner, data, idx, out, s);
    default: return gather_elem<uint8_t>(g, inner, data, idx, out, s);
  }
}

void register_gather(CudaKernelRegistry& r) {
  CudaKernelDef d;
  d.id = "kiln.gather";
  d.ops = {"Gather"};
  d.supports = [](const LayerView& v, std::string* why) {
    auto p = plan_gather(v);
    return p.ok() ? true : refuse(why, p.status().message());
  };
  d.create = [](const LayerView& v, CudaLibraries&) -> Expected<std::unique_ptr<CudaKernel>> {
    KILN_ASSIGN_OR_RETURN(GatherGeom g, plan_gather(v));
    return std::unique_ptr<CudaKernel>(new GatherKernel(g));
  };
  r.add(std::move(d));

  CudaKernelDef e;
  e.id = "kiln.gather_elements";
  e.ops = {"GatherElements"};
  e.supports = [](const LayerView& v, std::string* why) {
    auto p = plan_gather_elements(v);
    return p.ok() ? true : refuse(why, p.status().message());
  };
  e.create = [](const LayerView& v, CudaLibraries&) -> Expected<std::unique_ptr<CudaKernel>> {
    KILN_ASSIGN_OR_RETURN(GatherElementsPlan p, plan_gather_elements(v));
    return std::unique_ptr<CudaKernel>(new GatherElementsKernel(p));
  };
  r.add(std::move(e));
}

}  // namespace kiln::cumove
