// The cumove family's shared host helpers, its registration, and the
// strided copy kernel (one thread per moved element, coalesced on the
// output's contiguous inner run, widened to 16-byte vectors when it can be).
#include <cstdlib>
#include <cstring>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/kernels/cuda_common.cuh"
#include "backends/cuda/kernels/kernel_families.h"
#include "backends/cuda/kernels/movement_common.cuh"

namespace kiln {

void register_movement_kernels(CudaKernelRegistry& r) {
  cumove::register_transpose(r);
  cumove::register_concat_split(r);
  cumove::register_slice_expand_tile(r);
  cumove::register_fills(r);
  cumove::register_select(r);
  cumove::register_data_dependent(r);
  cumove::register_gather(r);
  cumove::register_gather_nd(r);
  cumove::register_scatter(r);
}

namespace cumove {

Node layer_node(const PlanLayer& layer) {
  Node n;
  n.name = layer.name;
  n.op = layer.op;
  n.attrs = layer.attrs;
  return n;
}

Status check_plain(const PlanTensor& t, const char* what) {
  if (t.layout != Layout::kLinear) return Unsupported(what, " '", t.name, "' must have linear layout");
  size_t e = dtype_size(t.dtype);
  if (e != 1 && e != 2 && e != 4 && e != 8) return Unsupported(what, " '", t.name, "' has type ", dtype_name(t.dtype));
  return Status::Ok();
}

Status check_plain_layer(const LayerView& v) {
  for (size_t i = 0; i < v.inputs.size(); ++i)
    if (v.inputs[i]) KILN_RETURN_IF_ERROR(check_plain(*v.inputs[i], "input"));
  for (const PlanTensor* t : v.outputs) KILN_RETURN_IF_ERROR(check_plain(*t, "output"));
  return Status::Ok();
}

bool is_constant(const LayerView& v, size_t i) {
  return v.has_input(i) && v.in(i).storage == Storage::kWeight && v.host_weight;
}

Expected<std::vector<int64_t>> const_ints(const LayerView& v, size_t i, const char* what) {
  if (!v.has_input(i)) return Unsupported(what, " is not given");
  const PlanTensor& t = v.in(i);
  if (t.dtype != DType::kInt64 && t.dtype != DType::kInt32)
    return Unsupported(what, " must be int32 or int64, got ", dtype_name(t.dtype));
  if (!is_constant(v, i)) return Unsupported(what, " must be a constant (it comes at run time)");
  if (t.bytes == 0) return std::vector<int64_t>();
  const uint8_t* bytes = v.host_weight(t);
  if (!bytes) return Unsupported(what, " has no host copy in the engine's weights");
  KILN_ASSIGN_OR_RETURN(Tensor view, Tensor::view(t.dtype, t.dims, bytes, t.bytes, nullptr));
  return view.to_i64_vector();
}

int64_t numel_of(const std::vector<int64_t>& dims) {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

std::vector<int64_t> contiguous_strides_of(const std::vector<int64_t>& dims) {
  std::vector<int64_t> s(dims.size(), 1);
  for (size_t i = dims.size(); i-- > 1;) s[i - 1] = s[i] * dims[i];
  return s;
}

Expected<int64_t> norm_axis(int64_t axis, int64_t rank, const char* what) {
  if (axis < -rank || axis >= rank) return Unsupported(what, " ", axis, " is out of range for rank ", rank);
  return axis < 0 ? axis + rank : axis;
}

DeviceBuffer::~DeviceBuffer() {
  if (p_) cudaFree(p_);
}

Status DeviceBuffer::upload(const void* host, uint64_t bytes) {
  if (p_) cudaFree(p_);
  p_ = nullptr;
  KILN_CUDA_CHECK(cudaMalloc(&p_, bytes == 0 ? 1 : bytes));
  if (bytes) KILN_CUDA_CHECK(cudaMemcpy(p_, host, bytes, cudaMemcpyHostToDevice));
  return Status::Ok();
}

// ---- strided copy ----

StridedCopy simplify(const StridedCopy& c) {
  StridedCopy s;
  s.elem = c.elem;
  s.in_base = c.in_base;
  s.out_base = c.out_base;
  for (size_t d = 0; d < c.dims.size(); ++d) {
    if (c.dims[d] == 1) continue;  // contributes no offset
    // Merge into the previous dim when stepping it equals stepping through
    // this whole dim, on both sides.
    if (!s.dims.empty() && s.in_strides.back() == c.in_strides[d] * c.dims[d] &&
        s.out_strides.back() == c.out_strides[d] * c.dims[d]) {
      s.dims.back() *= c.dims[d];
      s.in_strides.back() = c.in_strides[d];
      s.out_strides.back() = c.out_strides[d];
      continue;
    }
    s.dims.push_back(c.dims[d]);
    s.in_strides.push_back(c.in_strides[d]);
    s.out_strides.push_back(c.out_strides[d]);
  }
  return s;
}

namespace {

// Furthest element offset (in magnitude) a geometry reaches from its base.
int64_t reach(const std::vector<int64_t>& dims, const std::vector<int64_t>& strides, int64_t base) {
  int64_t r = std::llabs(base);
  for (size_t d = 0; d < dims.size(); ++d) r += (dims[d] - 1) * std::llabs(strides[d]);
  return r;
}

template <typename I>
StridedGeom<I> to_geom(const StridedCopy& c) {
  StridedGeom<I> g;
  g.rank = static_cast<int>(c.dims.size());
  for (size_t d = 0; d < c.dims.size(); ++d) {
    g.dims[d] = static_cast<I>(c.dims[d]);
    g.in_strides[d] = static_cast<I>(c.in_strides[d]);
    g.out_strides[d] = static_cast<I>(c.out_strides[d]);
  }
  g.in_base = static_cast<I>(c.in_base);
  g.out_base = static_cast<I>(c.out_base);
  return g;
}

// The copy on elements `v` times wider, if the inner dim is contiguous on
// both sides and every stride and base is a multiple of v.
bool widen(const StridedCopy& c, int64_t v, StridedCopy& w) {
  if (v == 1) {
    w = c;
    return true;
  }
  size_t last = c.dims.size() - 1;
  if (c.in_strides[last] != 1 || c.out_strides[last] != 1 || c.dims[last] % v != 0) return false;
  if (c.in_base % v != 0 || c.out_base % v != 0) return false;
  for (size_t d = 0; d < last; ++d)
    if (c.in_strides[d] % v != 0 || c.out_strides[d] % v != 0) return false;
  w = c;
  w.elem = c.elem * static_cast<size_t>(v);
  w.dims[last] /= v;
  for (size_t d = 0; d < last; ++d) {
    w.in_strides[d] /= v;
    w.out_strides[d] /= v;
  }
  w.in_base /= v;
  w.out_base /= v;
  return true;
}

template <typename E, typename I>
__global__ void strided_copy_kernel(const E* __restrict__ in, E* __restrict__ out, StridedGeom<I> g, I n) {
  for (I i = first_index<I>(); i < n; i += grid_step<I>()) {
    I r = i, src = g.in_base, dst = g.out_base;
    // Innermost dim first; dim 0 takes what is left (always < dims[0]).
#pragma unroll
    for (int d = kMaxMoveRank - 1; d >= 1; --d) {
      if (d < g.rank) {
        I q = r / g.dims[d];
        I x = r - q * g.dims[d];
        src += x * g.in_strides[d];
        dst += x * g.out_strides[d];
        r = q;
      }
    }
    src += r * g.in_strides[0];
    dst += r * g.out_strides[0];
    out[dst] = in[src];
  }
}

template <size_t U>
Status launch_variant(const PreparedCopy::Variant& v, const void* in, void* out, cudaStream_t s) {
  using E = typename Raw<U>::T;
  const E* x = static_cast<const E*>(in);
  E* y = static_cast<E*>(out);
  if (v.use32)
    strided_copy_kernel<E, int32_t><<<cuda::grid_for(v.n), 256, 0, s>>>(x, y, v.g32, static_cast<int32_t>(v.n));
  else
    strided_copy_kernel<E, int64_t><<<cuda::grid_for(v.n), 256, 0, s>>>(x, y, v.g64, v.n);
  KILN_CUDA_CHECK_LAUNCH("cumove strided copy");
  return Status::Ok();
}

}  // namespace

Expected<PreparedCopy> prepare_copy(const StridedCopy& c) {
  PreparedCopy p;
  p.n = numel_of(c.dims);
  if (p.n == 0) return p;
  StridedCopy s = simplify(c);
  bool in_run = s.dims.empty() || (s.dims.size() == 1 && s.in_strides[0] == 1);
  bool out_run = s.dims.empty() || (s.dims.size() == 1 && s.out_strides[0] == 1);
  if (in_run && out_run) {
    p.memcpy = true;
    p.bytes = static_cast<uint64_t>(p.n) * s.elem;
    p.in_byte_offset = static_cast<uint64_t>(s.in_base) * s.elem;
    p.out_byte_offset = static_cast<uint64_t>(s.out_base) * s.elem;
    return p;
  }
  if (s.dims.size() > static_cast<size_t>(kMaxMoveRank))
    return Unsupported("the copy needs ", s.dims.size(), " dims after merging; at most ", kMaxMoveRank);
  for (size_t unit : {16, 8, 4, 2, 1}) {
    if (unit < s.elem || unit % s.elem != 0) continue;
    StridedCopy w;
    if (!widen(s, static_cast<int64_t>(unit / s.elem), w)) continue;
    PreparedCopy::Variant& v = p.variants[p.num_variants++];
    v.unit = unit;
    v.n = numel_of(w.dims);
    v.use32 = v.n <= kMax32 && reach(w.dims, w.in_strides, w.in_base) <= kMax32 &&
              reach(w.dims, w.out_strides, w.out_base) <= kMax32;
    if (v.use32)
      v.g32 = to_geom<int32_t>(w);
    else
      v.g64 = to_geom<int64_t>(w);
  }
  return p;
}

Status launch_copy(const PreparedCopy& p, const void* in, void* out, cudaStream_t s) {
  if (p.n == 0) return Status::Ok();
  if (p.memcpy) {
    const uint8_t* src = static_cast<const uint8_t*>(in) + p.in_byte_offset;
    uint8_t* dst = static_cast<uint8_t*>(out) + p.out_byte_offset;
    if (src == dst) return Status::Ok();
    KILN_CUDA_CHECK(cudaMemcpyAsync(dst, src, p.bytes, cudaMemcpyDeviceToDevice, s));
    return Status::Ok();
  }
  uintptr_t align = reinterpret_cast<uintptr_t>(in) | reinterpret_cast<uintptr_t>(out);
  for (int i = 0; i < p.num_variants; ++i) {
    const PreparedCopy::Variant& v = p.variants[i];
    if (align % v.unit != 0) continue;
    switch (v.unit) {
      case 16: return launch_variant<16>(v, in, out, s);
      case 8: return launch_variant<8>(v, in, out, s);
      case 4: return launch_variant<4>(v, in, out, s);
      case 2: return launch_variant<2>(v, in, out, s);
      default: return launch_variant<1>(v, in, out, s);
    }
  }
  return Internal("cumove: no copy variant fits the pointers' alignment");
}

}  // namespace cumove
}  // namespace kiln
