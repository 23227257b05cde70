// ScatterND and ScatterElements: the output starts as a copy of data
// (skipped when the planner aliases them), then every update is applied at
// the position its index (tuple) selects.
//
// Order. With reduction "none" ONNX leaves duplicate indices unspecified;
// Kiln's CPU reference applies updates in index order, so the last one
// wins, and the GPU gives the same result: a claim pass records, per target
// slot, the highest update number that addresses it (atomicMax into a
// uint32 workspace array), and the write pass lets only that update write.
// When the indices are constants with no duplicates the claim pass and its
// workspace are skipped. Reductions add/mul/max/min combine atomically (a
// compare-and-swap loop on the element's own 2/4/8 bytes, or on the aligned
// 4-byte word holding a 1-byte element, whose other bytes it rewrites
// unchanged): exact for integers and bool (or/and), and for float add/mul
// exact up to the order of rounding. Float8 data is refused for reductions.
//
// Indices come from device memory: negatives wrap once as in the CPU
// reference; an update whose index is still out of range (an error on the
// CPU reference, which the GPU cannot report) is skipped.
#include <cstring>
#include <set>
#include <string>
#include <type_traits>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/kernels/cuda_common.cuh"
#include "backends/cuda/kernels/movement_common.cuh"

namespace kiln::cumove {
namespace {

enum class Red : int { kNone, kAdd, kMul, kMax, kMin };

// ---- element arithmetic: storage type S, computed as C ----

struct F32 {
  using S = float;
  using C = float;
  static __device__ C load(S v) { return v; }
  static __device__ S store(C v) { return v; }
};
struct F64 {
  using S = double;
  using C = double;
  static __device__ C load(S v) { return v; }
  static __device__ S store(C v) { return v; }
};
struct F16 {
  using S = __half;
  using C = float;
  static __device__ C load(S v) { return __half2float(v); }
  static __device__ S store(C v) { return __float2half_rn(v); }
};
struct BF16 {
  using S = __nv_bfloat16;
  using C = float;
  static __device__ C load(S v) { return __bfloat162float(v); }
  static __device__ S store(C v) { return __float2bfloat16_rn(v); }
};
// Integers compute in int64 and wrap on the way back, as the CPU reference does.
template <typename T>
struct Int {
  using S = T;
  using C = long long;
  static __device__ C load(S v) { return static_cast<C>(v); }
  static __device__ S store(C v) { return static_cast<S>(v); }
};
// bool: add/max act as or, mul/min as and (0/1 arithmetic, stored as != 0).
struct Bool {
  using S = uint8_t;
  using C = long long;
  static __device__ C load(S v) { return v != 0; }
  static __device__ S store(C v) { return v != 0; }
};

template <typename C>
__device__ __forceinline__ C combine(C a, C b, Red r) {
  if constexpr (std::is_integral_v<C>) {
    // Unsigned add/mul wrap where signed overflow would be undefined.
    using U = unsigned long long;
    if (r == Red::kAdd) return static_cast<C>(static_cast<U>(a) + static_cast<U>(b));
    if (r == Red::kMul) return static_cast<C>(static_cast<U>(a) * static_cast<U>(b));
  } else {
    if (r == Red::kAdd) return a + b;
    if (r == Red::kMul) return a * b;
  }
  // std::max / std::min as the CPU reference calls them (out first).
  if (r == Red::kMax) return a < b ? b : a;
  return b < a ? b : a;
}

template <typename To, typename From>
__device__ __forceinline__ To bits(const From& f) {
  static_assert(sizeof(To) == sizeof(From));
  To t;
  memcpy(&t, &f, sizeof(To));
  return t;
}

// *addr = combine(*addr, u) atomically, by compare-and-swap.
template <typename Tr>
__device__ void atomic_reduce(typename Tr::S* addr, typename Tr::S u, Red r) {
  using S = typename Tr::S;
  const typename Tr::C uc = Tr::load(u);
  auto next = [&](S cur) { return Tr::store(combine(Tr::load(cur), uc, r)); };
  if constexpr (sizeof(S) == 8) {
    auto* a = reinterpret_cast<unsigned long long*>(addr);
    unsigned long long old = *a, assumed;
    do {
      assumed = old;
      old = atomicCAS(a, assumed, bits<unsigned long long>(next(bits<S>(assumed))));
    } while (old != assumed);
  } else if constexpr (sizeof(S) == 4) {
    auto* a = reinterpret_cast<unsigned int*>(addr);
    unsigned int old = *a, assumed;
    do {
      assumed = old;
      old = atomicCAS(a, assumed, bits<unsigned int>(next(bits<S>(assumed))));
    } while (old != assumed);
  } else if constexpr (sizeof(S) == 2) {
    auto* a = reinterpret_cast<unsigned short int*>(addr);
    unsigned short int old = *a, assumed;
    do {
      assumed = old;
      old = atomicCAS(a, assumed, bits<unsigned short int>(next(bits<S>(assumed))));
    } while (old != assumed);
  } else {
    uintptr_t p = reinterpret_cast<uintptr_t>(addr);
    auto* word = reinterpret_cast<unsigned int*>(p & ~uintptr_t{3});
    const unsigned int shift = static_cast<unsigned int>(p & 3) * 8;
    unsigned int old = *word, assumed;
    do {
      assumed = old;
      uint8_t cur = static_cast<uint8_t>((assumed >> shift) & 0xffu);
      uint8_t nb = bits<uint8_t>(next(bits<S>(cur)));
      unsigned int nw = (assumed & ~(0xffu << shift)) | (static_cast<unsigned int>(nb) << shift);
      old = atomicCAS(word, assumed, nw);
    } while (old != assumed);
  }
}

// ---- where each update goes ----

// ScatterElements: indices/updates dims, data strides, the axis.
struct ElemIndex {
  int rank = 0, axis = 0;
  int64_t dims[kMaxMoveRank] = {};
  int64_t data_strides[kMaxMoveRank] = {};
  int64_t axis_dim = 0;
};

template <typename Idx>
__device__ __forceinline__ bool elem_offset(const Idx* idx, int64_t p, const ElemIndex& g, int64_t& off) {
  int64_t r = p;
  off = 0;
  for (int d = g.rank - 1; d >= 0; --d) {
    int64_t q = r / g.dims[d];
    if (d != g.axis) off += (r - q * g.dims[d]) * g.data_strides[d];
    r = q;
  }
  int64_t v = static_cast<int64_t>(idx[p]);
  if (!wrap_device_index(v, g.axis_dim)) return false;
  off += v * g.data_strides[g.axis];
  return true;
}

// One geometry for both ops: ScatterND updates are [tuples, slice] and land
// at slot * slice; ScatterElements updates are single elements (slice 1)
// whose slot is their data offset.
struct ScatterGeom {
  bool nd = true;
  NdIndex<int64_t> nd_index;
  ElemIndex elem_index;
  int64_t slice = 1;
};

template <typename Idx>
__device__ __forceinline__ bool slot_of(const Idx* idx, int64_t t, const ScatterGeom& g, int64_t& slot) {
  if (g.nd) return nd_slot(idx + t * g.nd_index.k, g.nd_index, slot);
  return elem_offset(idx, t, g.elem_index, slot);
}

template <typename Idx>
__global__ void claim_kernel(const Idx* __restrict__ idx, ScatterGeom g, int64_t updates, unsigned int* win) {
  for (int64_t t = first_index<int64_t>(); t < updates; t += grid_step<int64_t>()) {
    int64_t slot;
    if (slot_of(idx, t, g, slot)) atomicMax(win + slot, static_cast<unsigned int>(t + 1));
  }
}

// `slice` and `n` are in units of E (whole elements or vectors of them).
template <typename E, typename Idx>
__global__ void write_kernel(const Idx* __restrict__ idx, const E* __restrict__ upd, E* __restrict__ out,
                            ScatterGeom g, int64_t slice, int64_t n, const unsigned int* __restrict__ win) {
  for (int64_t i = first_index<int64_t>(); i < n; i += grid_step<int64_t>()) {
    int64_t t = i / slice, s = i - t * slice, slot;
    if (!slot_of(idx, t, g, slot)) continue;
    if (win && win[slot] != static_cast<unsigned int>(t + 1)) continue;  // a later update wins
    out[slot * slice + s] = upd[i];
  }
}

template <typename Tr, typename Idx>
__global__ void reduce_kernel(const Idx* __restrict__ idx, const typename Tr::S* __restrict__ upd,
                              typename Tr::S* out, ScatterGeom g, int64_t n, Red r) {
  for (int64_t i = first_index<int64_t>(); i < n; i += grid_step<int64_t>()) {
    int64_t t = i / g.slice, s = i - t * g.slice, slot;
    if (slot_of(idx, t, g, slot)) atomic_reduce<Tr>(out + slot * g.slice + s, upd[i], r);
  }
}

// ---- host side ----

struct ScatterPlan {
  ScatterGeom g;
  Red red = Red::kNone;
  DType dtype = DType::kFloat32;
  size_t elem = 1;
  bool idx64 = true;
  int64_t updates = 0;  // update tuples (ND) or elements
  int64_t slots = 0;    // addressable slots: the claim array's length
  bool claim = false;   // duplicates possible: run the claim pass
  uint64_t data_bytes = 0;
};

Expected<Red> reduction_of(const Node& node) {
  KILN_ASSIGN_OR_RETURN(std::string r, node.attr_string("reduction", "none"));
  if (r == "none") return Red::kNone;
  if (r == "add") return Red::kAdd;
  if (r == "mul") return Red::kMul;
  if (r == "max") return Red::kMax;
  if (r == "min") return Red::kMin;
  return Unsupported("unknown reduction '", r, "'");
}

// Slots of constant indices on the host (out-of-range ones are -1), to skip
// the claim pass when no slot repeats.
bool constant_indices_unique(const LayerView& v, const ScatterPlan& p) {
  if (!is_constant(v, 1)) return false;
  auto idx = const_ints(v, 1, "indices");
  if (!idx.ok()) return false;
  std::set<int64_t> seen;
  for (int64_t t = 0; t < p.updates; ++t) {
    int64_t slot = 0;
    bool ok = true;
    if (p.g.nd) {
      const NdIndex<int64_t>& g = p.g.nd_index;
      for (int m = 0; m < g.k && ok; ++m) {
        int64_t x = (*idx)[static_cast<size_t>(t * g.k + m)];
        if (x < 0) x += g.dims[m];
        ok = x >= 0 && x < g.dims[m];
        slot += x * g.strides[m];
      }
    } else {
      const ElemIndex& g = p.g.elem_index;
      int64_t r = t;
      for (int d = g.rank - 1; d >= 0; --d) {
        if (d != g.axis) slot += (r % g.dims[d]) * g.data_strides[d];
        r /= g.dims[d];
      }
      int64_t x = (*idx)[static_cast<size_t>(t)];
      if (x < 0) x += g.axis_dim;
      ok = x >= 0 && x < g.axis_dim;
      slot += x * g.data_strides[g.axis];
    }
    if (ok && !seen.insert(slot).second) return false;
  }
  return true;
}

Expected<ScatterPlan> plan_scatter(const LayerView& v, bool nd) {
  if (v.inputs.size() != 3 || !v.has_input(0) || !v.has_input(1) || !v.has_input(2) || v.outputs.size() != 1)
    return Unsupported("expects data, indices, updates and one output");
  KILN_RETURN_IF_ERROR(check_plain_layer(v));
  const PlanTensor& x = v.in(0);
  const PlanTensor& ind = v.in(1);
  const PlanTensor& upd = v.in(2);
  const PlanTensor& y = v.out(0);
  if (ind.dtype != DType::kInt64 && ind.dtype != DType::kInt32)
    return Unsupported("indices must be int32 or int64, got ", dtype_name(ind.dtype));
  if (upd.dtype != x.dtype || y.dtype != x.dtype || y.dims != x.dims)
    return Unsupported("data, updates and output must share a type, output data's dims");
  ScatterPlan p;
  Node node = layer_node(v.layer);
  KILN_ASSIGN_OR_RETURN(p.red, reduction_of(node));
  p.dtype = x.dtype;
  p.elem = dtype_size(x.dtype);
  p.idx64 = ind.dtype == DType::kInt64;
  p.data_bytes = x.bytes;
  if (p.red != Red::kNone && (x.dtype == DType::kFloat8E4M3FN || x.dtype == DType::kFloat8E5M2))
    return Unsupported("reductions on float8 data are not supported");
  const std::vector<int64_t>& dd = x.dims;
  const std::vector<int64_t>& id = ind.dims;
  p.g.nd = nd;
  if (nd) {
    if (dd.empty() || id.empty()) return Unsupported("data and indices must have rank >= 1");
    int64_t k = id.back();
    if (k < 0 || k > static_cast<int64_t>(dd.size()) || k > kMaxMoveRank)
      return Unsupported("indices' last dim ", k, " does not fit data rank ", dd.size());
    size_t kk = static_cast<size_t>(k);
    std::vector<int64_t> want(id.begin(), id.end() - 1);
    want.insert(want.end(), dd.begin() + k, dd.end());
    if (want != upd.dims) return Unsupported("updates dims do not match indices and data");
    NdIndex<int64_t>& g = p.g.nd_index;
    g.k = static_cast<int>(k);
    int64_t stride = 1;
    for (size_t m = kk; m-- > 0;) {
      g.dims[m] = dd[m];
      g.strides[m] = stride;
      stride *= dd[m];
    }
    p.slots = stride;
    p.updates = numel_of(std::vector<int64_t>(id.begin(), id.end() - 1));
    p.g.slice = numel_of(std::vector<int64_t>(dd.begin() + k, dd.end()));
  } else {
    if (id.size() != dd.size() || upd.dims != id) return Unsupported("data, indices and updates dims disagree");
    if (dd.size() > static_cast<size_t>(kMaxMoveRank) || dd.empty()) return Unsupported("rank must be 1 to ", kMaxMoveRank);
    KILN_ASSIGN_OR_RETURN(int64_t axis_attr, node.attr_int("axis", 0));
    KILN_ASSIGN_OR_RETURN(int64_t axis, norm_axis(axis_attr, static_cast<int64_t>(dd.size()), "axis"));
    ElemIndex& g = p.g.elem_index;
    g.rank = static_cast<int>(dd.size());
    g.axis = static_cast<int>(axis);
    std::vector<int64_t> strides = contiguous_strides_of(dd);
    for (size_t d = 0; d < dd.size(); ++d) {
      if (static_cast<int64_t>(d) != axis && id[d] > dd[d]) return Unsupported("indices exceed data on axis ", d);
      g.dims[d] = id[d];
      g.data_strides[d] = strides[d];
    }
    g.axis_dim = dd[static_cast<size_t>(axis)];
    p.slots = numel_of(dd);
    p.updates = numel_of(id);
    p.g.slice = 1;
  }
  if (p.updates >= int64_t{0xffffffff}) return Unsupported("more than 2^32 - 2 updates");
  p.claim = p.red == Red::kNone && p.updates > 1 && p.g.slice > 0 && !constant_indices_unique(v, p);
  return p;
}

uint64_t claim_bytes(const ScatterPlan& p) { return p.claim ? static_cast<uint64_t>(p.slots) * 4 : 0; }

template <typename Idx, size_t U>
Status launch_write(const ScatterPlan& p, const void* idx, const void* upd, void* out, const unsigned int* win,
                    cudaStream_t s) {
  using E = typename Raw<U>::T;
  int64_t w = static_cast<int64_t>(U / p.elem);
  int64_t slice = p.g.slice / w, n = p.updates * slice;
  write_kernel<E, Idx><<<cuda::grid_for(n), 256, 0, s>>>(static_cast<const Idx*>(idx), static_cast<const E*>(upd),
                                                         static_cast<E*>(out), p.g, slice, n, win);
  KILN_CUDA_CHECK_LAUNCH("cumove scatter write");
  return Status::Ok();
}

template <typename Idx>
Status launch_none(const ScatterPlan& p, const void* idx, const void* upd, void* out, const unsigned int* win,
                   cudaStream_t s) {
  // Whole slices move as vectors when their size and the pointers allow.
  uintptr_t align = reinterpret_cast<uintptr_t>(upd) | reinterpret_cast<uintptr_t>(out);
  int64_t slice_bytes = p.g.slice * static_cast<int64_t>(p.elem);
  for (size_t u : {16, 8, 4, 2}) {
    if (u <= p.elem || u % p.elem != 0 || slice_bytes % static_cast<int64_t>(u) != 0 || align % u != 0) continue;
    switch (u) {
      case 16: return launch_write<Idx, 16>(p, idx, upd, out, win, s);
      case 8: return launch_write<Idx, 8>(p, idx, upd, out, win, s);
      case 4: return launch_write<Idx, 4>(p, idx, upd, out, win, s);
      default: return launch_write<Idx, 2>(p, idx, upd, out, win, s);
    }
  }
  switch (p.elem) {
    case 1: return launch_write<Idx, 1>(p, idx, upd, out, win, s);
    case 2: return launch_write<Idx, 2>(p, idx, upd, out, win, s);
    case 4: return launch_write<Idx, 4>(p, idx, upd, out, win, s);
    default: return launch_write<Idx, 8>(p, idx, upd, out, win, s);
  }
}

template <typename Tr, typename Idx>
Status launch_reduce_typed(const ScatterPlan& p, const void* idx, const void* upd, void* out, cudaStream_t s) {
  using S = typename Tr::S;
  int64_t n = p.updates * p.g.slice;
  reduce_kernel<Tr, Idx><<<cuda::grid_for(n), 256, 0, s>>>(static_cast<const Idx*>(idx), static_cast<const S*>(upd),
                                                           static_cast<S*>(out), p.g, n, p.red);
  KILN_CUDA_CHECK_LAUNCH("cumove scatter reduce");
  return Status::Ok();
}

template <typename Idx>
Status launch_reduce(const ScatterPlan& p, const void* idx, const void* upd, void* out, cudaStream_t s) {
  switch (p.dtype) {
    case DType::kFloat32: return launch_reduce_typed<F32, Idx>(p, idx, upd, out, s);
    case DType::kFloat64: return launch_reduce_typed<F64, Idx>(p, idx, upd, out, s);
    case DType::kFloat16: return launch_reduce_typed<F16, Idx>(p, idx, upd, out, s);
    case DType::kBFloat16: return launch_reduce_typed<BF16, Idx>(p, idx, upd, out, s);
    case DType::kInt8: return launch_reduce_typed<Int<int8_t>, Idx>(p, idx, upd, out, s);
    case DType::kUInt8: return launch_reduce_typed<Int<uint8_t>, Idx>(p, idx, upd, out, s);
    case DType::kInt32: return launch_reduce_typed<Int<int32_t>, Idx>(p, idx, upd, out, s);
    case DType::kInt64: return launch_reduce_typed<Int<int64_t>, Idx>(p, idx, upd, out, s);
    case DType::kBool: return launch_reduce_typed<Bool, Idx>(p, idx, upd, out, s);
    default: return Unsupported("scatter reduction on ", dtype_name(p.dtype));
  }
}

template <typename Idx>
Status run_scatter(const ScatterPlan& p, const LaunchArgs& a) {
  const void* idx = a.inputs[1];
  const void* upd = a.inputs[2];
  void* out = a.outputs[0];
  if (p.red != Red::kNone) return launch_reduce<Idx>(p, idx, upd, out, a.stream);
  const unsigned int* win = nullptr;
  if (p.claim) {
    uint64_t bytes = claim_bytes(p);
    if (!a.workspace || a.workspace_bytes < bytes) return Internal("scatter: workspace of ", bytes, " bytes missing");
    KILN_CUDA_CHECK(cudaMemsetAsync(a.workspace, 0, bytes, a.stream));
    auto* w = static_cast<unsigned int*>(a.workspace);
    claim_kernel<Idx><<<cuda::grid_for(p.updates), 256, 0, a.stream>>>(static_cast<const Idx*>(idx), p.g, p.updates, w);
    KILN_CUDA_CHECK_LAUNCH("cumove scatter claim");
    win = w;
  }
  return launch_none<Idx>(p, idx, upd, out, win, a.stream);
}

class ScatterKernel : public CudaKernel {
 public:
  explicit ScatterKernel(ScatterPlan p) : p_(p) {}
  Status enqueue(const LaunchArgs& a) override {
    if (p_.data_bytes && a.outputs[0] != a.inputs[0])
      KILN_CUDA_CHECK(cudaMemcpyAsync(a.outputs[0], a.inputs[0], p_.data_bytes, cudaMemcpyDeviceToDevice, a.stream));
    if (p_.updates == 0 || p_.g.slice == 0) return Status::Ok();
    return p_.idx64 ? run_scatter<int64_t>(p_, a) : run_scatter<int32_t>(p_, a);
  }

 private:
  ScatterPlan p_;
};

void add_def(CudaKernelRegistry& r, const char* id, const char* op, bool nd) {
  CudaKernelDef d;
  d.id = id;
  d.ops = {op};
  d.supports = [nd](const LayerView& v, std::string* why) {
    auto p = plan_scatter(v, nd);
    return p.ok() ? true : refuse(why, p.status().message());
  };
  d.workspace = [nd](const LayerView& v) -> uint64_t {
    auto p = plan_scatter(v, nd);
    return p.ok() ? claim_bytes(*p) : 0;
  };
  d.create = [nd](const LayerView& v, CudaLibraries&) -> Expected<std::unique_ptr<CudaKernel>> {
    KILN_ASSIGN_OR_RETURN(ScatterPlan p, plan_scatter(v, nd));
    return std::unique_ptr<CudaKernel>(new ScatterKernel(p));
  };
  d.in_place = true;  // the output may take data's memory: the copy is then skipped
  r.add(std::move(d));
}

}  // namespace

void register_scatter(CudaKernelRegistry& r) {
  add_def(r, "kiln.scatter_nd", "ScatterND", true);
  add_def(r, "kiln.scatter_elements", "ScatterElements", false);
}

}  // namespace kiln::cumove
