// GatherND (with batch_dims): each index tuple of length k selects a slice
// data[batch, i_0, ..., i_{k-1}, ...] of `slice` contiguous elements; one
// thread per output element, or per 16-byte vector of the slice when its
// size and the pointers allow.
//
// Index entries come from device memory: negatives wrap once as in the CPU
// reference; a tuple with an entry still out of range (an error on the CPU
// reference, which the GPU cannot report) writes its slice as zeros and
// reads nothing.
#include <string>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/kernels/cuda_common.cuh"
#include "backends/cuda/kernels/movement_common.cuh"

namespace kiln::cumove {
namespace {

template <typename E, typename Idx, typename I>
__global__ void gather_nd_kernel(const E* __restrict__ data, const Idx* __restrict__ idx, E* __restrict__ out,
                                 NdIndex<I> g, I tuples, I block_slots, I slice, I n) {
  for (I i = first_index<I>(); i < n; i += grid_step<I>()) {
    I s = i % slice;
    I tuple = i / slice;
    I batch = tuple / tuples;
    I slot;
    E val{};  // zeros for a tuple out of range
    if (nd_slot(idx + tuple * g.k, g, slot)) val = data[(batch * block_slots + slot) * slice + s];
    out[i] = val;
  }
}

struct GatherNdPlan {
  NdIndex<int64_t> g;
  int64_t tuples = 0;       // index tuples per batch
  int64_t block_slots = 0;  // slots per batch: product of the k indexed dims
  int64_t slice = 0;        // elements per slot
  int64_t n = 0;            // output elements
  int64_t data_n = 0;
  size_t elem = 1;
  bool idx64 = true;
};

Expected<GatherNdPlan> plan_gather_nd(const LayerView& v) {
  if (v.inputs.size() != 2 || !v.has_input(0) || !v.has_input(1) || v.outputs.size() != 1)
    return Unsupported("expects data, indices and one output");
  KILN_RETURN_IF_ERROR(check_plain_layer(v));
  const PlanTensor& x = v.in(0);
  const PlanTensor& ind = v.in(1);
  const PlanTensor& y = v.out(0);
  if (ind.dtype != DType::kInt64 && ind.dtype != DType::kInt32)
    return Unsupported("indices must be int32 or int64, got ", dtype_name(ind.dtype));
  if (x.dtype != y.dtype) return Unsupported("data and output types differ");
  Node node = layer_node(v.layer);
  KILN_ASSIGN_OR_RETURN(int64_t b, node.attr_int("batch_dims", 0));
  const std::vector<int64_t>& dd = x.dims;
  const std::vector<int64_t>& id = ind.dims;
  int64_t r = static_cast<int64_t>(dd.size()), q = static_cast<int64_t>(id.size());
  if (r < 1 || q < 1 || b < 0 || b >= std::min(r, q)) return Unsupported("bad ranks or batch_dims");
  int64_t k = id.back();
  if (k < 1 || k > r - b) return Unsupported("indices' last dim ", k, " must be in [1, ", r - b, "]");
  if (k > kMaxMoveRank) return Unsupported("index tuples longer than ", kMaxMoveRank);
  size_t bb = static_cast<size_t>(b), kk = static_cast<size_t>(k);
  for (size_t d = 0; d < bb; ++d)
    if (dd[d] != id[d]) return Unsupported("batch dim ", d, " of data and indices differ");
  std::vector<int64_t> want(id.begin(), id.end() - 1);
  want.insert(want.end(), dd.begin() + b + k, dd.end());
  if (want != y.dims) return Unsupported("output dims do not match data and indices");
  GatherNdPlan p;
  p.g.k = static_cast<int>(k);
  int64_t stride = 1;
  for (size_t m = kk; m-- > 0;) {
    p.g.dims[m] = dd[bb + m];
    p.g.strides[m] = stride;
    stride *= dd[bb + m];
  }
  p.block_slots = stride;
  p.tuples = 1;
  for (size_t d = bb; d + 1 < id.size(); ++d) p.tuples *= id[d];
  p.slice = 1;
  for (size_t d = bb + kk; d < dd.size(); ++d) p.slice *= dd[d];
  p.n = numel_of(y.dims);
  p.data_n = numel_of(dd);
  p.elem = dtype_size(x.dtype);
  p.idx64 = ind.dtype == DType::kInt64;
  return p;
}

template <typename E, typename Idx, typename I>
Status gather_nd_typed(const GatherNdPlan& p, int64_t slice, int64_t n, const void* data, const void* idx, void* out,
                       cudaStream_t s) {
  NdIndex<I> g;
  g.k = p.g.k;
  for (int m = 0; m < p.g.k; ++m) {
    g.dims[m] = static_cast<I>(p.g.dims[m]);
    g.strides[m] = static_cast<I>(p.g.strides[m]);
  }
  gather_nd_kernel<E, Idx, I><<<cuda::grid_for(n), 256, 0, s>>>(
      static_cast<const E*>(data), static_cast<const Idx*>(idx), static_cast<E*>(out), g, static_cast<I>(p.tuples),
      static_cast<I>(p.block_slots), static_cast<I>(slice), static_cast<I>(n));
  KILN_CUDA_CHECK_LAUNCH("cumove gather_nd");
  return Status::Ok();
}

template <typename E>
Status gather_nd_elem(const GatherNdPlan& p, size_t unit, const void* data, const void* idx, void* out,
                      cudaStream_t s) {
  int64_t w = static_cast<int64_t>(unit / p.elem);
  int64_t slice = p.slice / w, n = p.n / w;
  // Index tuples are addressed in I too: their count times k stays below n
  // times k only when slices are non-empty, so bound it separately.
  int64_t idx_n = n / (slice == 0 ? 1 : slice) * p.g.k;
  bool small = n <= kMax32 && p.data_n <= kMax32 && idx_n <= kMax32;
  if (p.idx64)
    return small ? gather_nd_typed<E, int64_t, int32_t>(p, slice, n, data, idx, out, s)
                 : gather_nd_typed<E, int64_t, int64_t>(p, slice, n, data, idx, out, s);
  return small ? gather_nd_typed<E, int32_t, int32_t>(p, slice, n, data, idx, out, s)
               : gather_nd_typed<E, int32_t, int64_t>(p, slice, n, data, idx, out, s);
}

class GatherNdKernel : public CudaKernel {
 public:
  explicit GatherNdKernel(GatherNdPlan p) : p_(p) {}
  Status enqueue(const LaunchArgs& a) override {
    if (p_.n == 0) return Status::Ok();
    const void* x = a.inputs[0];
    const void* ix = a.inputs[1];
    void* y = a.outputs[0];
    uintptr_t align = reinterpret_cast<uintptr_t>(x) | reinterpret_cast<uintptr_t>(y);
    size_t unit = p_.elem;
    for (size_t u : {16, 8, 4, 2})
      if (u > p_.elem && u % p_.elem == 0 && (p_.slice * static_cast<int64_t>(p_.elem)) % static_cast<int64_t>(u) == 0 &&
          align % u == 0) {
        unit = u;
        break;
      }
    switch (unit) {
      case 16: return gather_nd_elem<uint4>(p_, unit, x, ix, y, a.stream);
      case 8: return gather_nd_elem<uint2>(p_, unit, x, ix, y, a.stream);
      case 4: return gather_nd_elem<uint32_t>(p_, unit, x, ix, y, a.stream);
      case 2: return gather_nd_elem<uint16_t>(p_, unit, x, ix, y, a.stream);
      default: return gather_nd_elem<uint8_t>(p_, unit, x, ix, y, a.stream);
    }
  }

 private:
  GatherNdPlan p_;
};

}  // namespace

void register_gather_nd(CudaKernelRegistry& r) {
  CudaKernelDef d;
  d.id = "kiln.gather_nd";
  d.ops = {"GatherND"};
  d.supports = [](const LayerView& v, std::string* why) {
    auto p = plan_gather_nd(v);
    return p.ok() ? true : refuse(why, p.status().message());
  };
  d.create = [](const LayerView& v, CudaLibraries&) -> Expected<std::unique_ptr<CudaKernel>> {
    KILN_ASSIGN_OR_RETURN(GatherNdPlan p, plan_gather_nd(v));
    return std::unique_ptr<CudaKernel>(new GatherNdKernel(p));
  };
  r.add(std::move(d));
}

}  // namespace kiln::cumove
