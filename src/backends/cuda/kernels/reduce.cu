// Reduce* ops (Sum, Mean, Max, Min, Prod, L1, L2, LogSum, LogSumExp,
// SumSquare) and the family's shared host helpers and registration.
//
// The input's dims are coalesced: size-1 dims dropped, neighbours that are
// both reduced or both kept merged. One reduced group between kept groups is
// (outer, r, inner): inner == 1 runs the row kernel (a thread group per
// output, tree reduction), otherwise the column kernel (32 outputs per block,
// 8 threads splitting r). Several reduced groups fall back to one thread per
// output walking the reduced index space. Floats accumulate in float32,
// integers in int64 with wrap-around, like the CPU reference.
#include <cmath>
#include <cstring>

#include "backends/cuda/kernels/kernel_families.h"
#include "backends/cuda/kernels/reduce_common.cuh"

namespace kiln {
namespace cureduce {

// ---- shared host helpers --------------------------------------------------------------

int64_t attr_int(const PlanLayer& l, const char* name, int64_t dflt) {
  auto it = l.attrs.find(name);
  if (it == l.attrs.end() || it->second.kind != AttrKind::kInt) return dflt;
  return it->second.i;
}

float attr_float(const PlanLayer& l, const char* name, float dflt) {
  auto it = l.attrs.find(name);
  if (it == l.attrs.end()) return dflt;
  if (it->second.kind == AttrKind::kFloat) return it->second.f;
  if (it->second.kind == AttrKind::kInt) return static_cast<float>(it->second.i);
  return dflt;
}

bool has_attr(const PlanLayer& l, const char* name) { return l.attrs.count(name) != 0; }

bool check_layer(const LayerView& v, size_t min_in, size_t max_in, size_t min_out, size_t max_out, std::string* why) {
  if (v.inputs.size() < min_in || v.inputs.size() > max_in)
    return refuse(why, str("expects ", min_in, " to ", max_in, " inputs, got ", v.inputs.size()));
  if (v.outputs.size() < min_out || v.outputs.size() > max_out)
    return refuse(why, str("expects ", min_out, " to ", max_out, " outputs, got ", v.outputs.size()));
  if (!v.has_input(0)) return refuse(why, "input 0 is missing");
  auto check = [&](const PlanTensor* t) {
    if (!t) return true;
    if (t->layout != Layout::kLinear)
      return refuse(why, str("tensor '", t->name, "' has layout ", layout_name(t->layout), "; needs linear"));
    if (t->dims.size() > static_cast<size_t>(cuda::kMaxRank))
      return refuse(why, str("tensor '", t->name, "' has rank ", t->dims.size(), "; at most ", cuda::kMaxRank));
    return true;
  };
  for (const PlanTensor* t : v.inputs)
    if (!check(t)) return false;
  for (const PlanTensor* t : v.outputs)
    if (!check(t)) return false;
  return true;
}

bool check_type(const PlanTensor& t, const char* role, bool floats, bool ints, std::string* why) {
  if ((floats && is_gpu_float(t.dtype)) || (ints && is_gpu_int(t.dtype))) return true;
  std::string allowed = floats ? "float32, float16, bfloat16" : "";
  if (ints) allowed += str(floats ? ", " : "", "int8, uint8, int32, int64");
  return refuse(why, str(role, " '", t.name, "' is ", dtype_name(t.dtype), "; this kernel takes ", allowed,
                         t.dtype == DType::kFloat64 ? " (float64 runs on the CPU reference only)" : ""));
}

Expected<std::vector<int64_t>> const_ints(const LayerView& v, size_t input, const char* what) {
  const PlanTensor& t = v.in(input);
  if (t.dtype != DType::kInt64 && t.dtype != DType::kInt32)
    return Unsupported(what, " (input ", input, ") is ", dtype_name(t.dtype), "; expected int32 or int64");
  if (t.storage != Storage::kWeight)
    return Unsupported(what, " (input ", input, ") must be a constant: it arrives at run time, and the kernel ",
                       "is planned from its value");
  int64_t n = cuda::numel(t.dims);
  std::vector<int64_t> out(static_cast<size_t>(n));
  if (n == 0) return out;
  const uint8_t* bytes = v.host_weight ? v.host_weight(t) : nullptr;
  if (!bytes) return Internal(what, " (input ", input, "): weight bytes are not available");
  for (int64_t i = 0; i < n; ++i) {
    if (t.dtype == DType::kInt64) {
      std::memcpy(&out[static_cast<size_t>(i)], bytes + i * 8, 8);
    } else {
      int32_t x;
      std::memcpy(&x, bytes + i * 4, 4);
      out[static_cast<size_t>(i)] = x;
    }
  }
  return out;
}

Expected<int64_t> normalize_axis(int64_t axis, size_t rank, const char* what) {
  int64_t r = static_cast<int64_t>(rank);
  if (axis < -r || axis >= r) return Unsupported(what, " ", axis, " is out of range for rank ", r);
  return axis < 0 ? axis + r : axis;
}

AxisSplit split_axis(const std::vector<int64_t>& dims, int64_t axis) {
  AxisSplit s;
  for (int64_t i = 0; i < static_cast<int64_t>(dims.size()); ++i) {
    int64_t d = dims[static_cast<size_t>(i)];
    if (i < axis) s.outer *= d;
    else if (i == axis) s.n = d;
    else s.inner *= d;
  }
  return s;
}

int64_t dims_product(const std::vector<int64_t>& dims, size_t from, size_t to) {
  int64_t p = 1;
  for (size_t d = from; d < to && d < dims.size(); ++d) p *= dims[d];
  return p;
}

namespace {

// ---- device side ----------------------------------------------------------------------

enum Pre : int { kPreId, kPreAbs, kPreSquare, kPreExpShift };
enum Post : int { kPostNone, kPostMean, kPostSqrt, kPostLog, kPostLogSumExp };

struct ReduceConf {
  int pre = kPreId;
  int post = kPostNone;
  bool lse = false;        // a max pass first (LogSumExp)
  long long int_init = 0;  // identity of integer Max/Min (type's min / max)
};

template <typename A, typename Op>
__device__ __forceinline__ A identity(const ReduceConf& c) {
  if constexpr (std::is_same_v<Op, SumOp>) return A(0);
  else if constexpr (std::is_same_v<Op, ProdOp>) return A(1);
  else if constexpr (std::is_integral_v<A>) return static_cast<A>(c.int_init);
  else if constexpr (std::is_same_v<Op, MaxOp>) return -INFINITY;
  else return INFINITY;
}

template <typename A>
__device__ __forceinline__ A pre_map(A v, int pre, A shift) {
  if constexpr (std::is_integral_v<A>) {
    unsigned long long u = static_cast<unsigned long long>(v);
    if (pre == kPreAbs) return v < 0 ? static_cast<A>(0ull - u) : v;
    if (pre == kPreSquare) return static_cast<A>(u * u);
    return v;
  } else {
    switch (pre) {
      case kPreAbs: return fabsf(v);
      case kPreSquare: return v * v;
      case kPreExpShift: return expf(v - shift);
      default: return v;
    }
  }
}

template <typename A>
__device__ __forceinline__ A finalize(A acc, int64_t count, int post, A shift) {
  if constexpr (std::is_integral_v<A>) {
    if (post == kPostMean) return count == 0 ? A(0) : acc / count;
    return acc;
  } else {
    switch (post) {
      case kPostMean: return acc / static_cast<float>(count);  // empty: 0/0 = NaN, as the reference
      case kPostSqrt: return sqrtf(acc);
      case kPostLog: return logf(acc);
      case kPostLogSumExp:
        if (shift != shift || isinf(shift)) return shift;  // NaN, empty (-inf), or +inf
        return shift + logf(acc);
      default: return acc;
    }
  }
}

// Rows: blockDim.x threads per output, blockDim.y outputs per block, over
// `r` contiguous elements each.
template <typename T, typename Op>
__global__ void reduce_rows_kernel(const T* x, T* y, int64_t rows, int64_t r, ReduceConf c) {
  using A = AccOf<T>;
  __shared__ A smem[32 * 8];
  const int64_t row = static_cast<int64_t>(blockIdx.x) * blockDim.y + threadIdx.y;
  const bool active = row < rows;
  const T* xr = x + (active ? row * r : 0);
  const int64_t n = active ? r : 0;
  A shift = A(0);
  if (c.lse) {
    A m = identity<A, MaxOp>(c);
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x) m = MaxOp()(m, load_acc<A>(xr, j));
    shift = group_allreduce(m, MaxOp(), smem);
  }
  A acc = identity<A, Op>(c);
  for (int64_t j = threadIdx.x; j < n; j += blockDim.x) acc = Op()(acc, pre_map(load_acc<A>(xr, j), c.pre, shift));
  acc = group_allreduce(acc, Op(), smem);
  if (active && threadIdx.x == 0) store_acc(y, row, finalize(acc, r, c.post, shift));
}

// Columns: (outer, r, inner) with inner > 1. A block is 32 adjacent outputs
// (threadIdx.x) times 8 threads splitting r (threadIdx.y).
constexpr int kColY = 8;

template <typename A, typename Op>
__device__ __forceinline__ A col_allreduce(A v, Op op, A* smem) {
  smem[threadIdx.y * 33 + threadIdx.x] = v;
  __syncthreads();
  A r = smem[threadIdx.x];
  for (int k = 1; k < kColY; ++k) r = op(r, smem[k * 33 + threadIdx.x]);
  __syncthreads();
  return r;
}

template <typename T, typename Op>
__global__ void reduce_cols_kernel(const T* x, T* y, int64_t outer, int64_t r, int64_t inner, ReduceConf c) {
  using A = AccOf<T>;
  __shared__ A smem[kColY * 33];
  const int64_t tiles_per_row = (inner + 31) / 32;
  const int64_t tiles = outer * tiles_per_row;
  for (int64_t tile = blockIdx.x; tile < tiles; tile += gridDim.x) {
    const int64_t o = tile / tiles_per_row;
    const int64_t i = (tile % tiles_per_row) * 32 + threadIdx.x;
    const bool valid = i < inner;
    const int64_t n = valid ? r : 0;
    const T* xo = x + o * r * inner + (valid ? i : 0);
    A shift = A(0);
    if (c.lse) {
      A m = identity<A, MaxOp>(c);
      for (int64_t k = threadIdx.y; k < n; k += kColY) m = MaxOp()(m, load_acc<A>(xo, k * inner));
      shift = col_allreduce(m, MaxOp(), smem);
    }
    A acc = identity<A, Op>(c);
    for (int64_t k = threadIdx.y; k < n; k += kColY)
      acc = Op()(acc, pre_map(load_acc<A>(xo, k * inner), c.pre, shift));
    acc = col_allreduce(acc, Op(), smem);
    if (valid && threadIdx.y == 0) store_acc(y, o * inner + i, finalize(acc, r, c.post, shift));
  }
}

// Generic: one thread per output; kept dims give its base offset, the
// reduced dims are walked with an odometer.
struct GenericShape {
  int kept_rank = 0, red_rank = 0;
  int64_t kept_dims[cuda::kMaxRank] = {}, kept_strides[cuda::kMaxRank] = {};
  int64_t red_dims[cuda::kMaxRank] = {}, red_strides[cuda::kMaxRank] = {};
  int64_t red_count = 0, out_count = 0;
};

template <typename A, typename T, typename Op>
__device__ A walk_reduced(const T* x, const GenericShape& s, int64_t base, Op op, A acc, int pre, A shift) {
  int64_t idx[cuda::kMaxRank] = {};
  int64_t off = base;
  for (int64_t n = 0; n < s.red_count; ++n) {
    acc = op(acc, pre_map(load_acc<A>(x, off), pre, shift));
    for (int d = s.red_rank - 1; d >= 0; --d) {
      off += s.red_strides[d];
      if (++idx[d] < s.red_dims[d]) break;
      off -= s.red_strides[d] * s.red_dims[d];
      idx[d] = 0;
    }
  }
  return acc;
}

template <typename T, typename Op>
__global__ void reduce_generic_kernel(const T* x, T* y, GenericShape s, ReduceConf c) {
  using A = AccOf<T>;
  for (int64_t o = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; o < s.out_count;
       o += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    int64_t rem = o, base = 0;
    for (int d = s.kept_rank - 1; d >= 0; --d) {
      base += (rem % s.kept_dims[d]) * s.kept_strides[d];
      rem /= s.kept_dims[d];
    }
    A shift = A(0);
    if (c.lse) shift = walk_reduced<A>(x, s, base, MaxOp(), identity<A, MaxOp>(c), kPreId, A(0));
    A acc = walk_reduced<A>(x, s, base, Op(), identity<A, Op>(c), c.pre, shift);
    store_acc(y, o, finalize(acc, s.red_count, c.post, shift));
  }
}

// ---- host side --------------------------------------------------------------------------

enum class Comb { kSum, kProd, kMax, kMin };

struct ReduceKind {
  const char* op;
  Comb comb;
  int pre, post;
  bool ints;  // integer inputs allowed on the GPU
};

constexpr ReduceKind kKinds[] = {
    {"ReduceSum", Comb::kSum, kPreId, kPostNone, true},
    {"ReduceMean", Comb::kSum, kPreId, kPostMean, true},
    {"ReduceMax", Comb::kMax, kPreId, kPostNone, true},
    {"ReduceMin", Comb::kMin, kPreId, kPostNone, true},
    {"ReduceProd", Comb::kProd, kPreId, kPostNone, true},
    {"ReduceL1", Comb::kSum, kPreAbs, kPostNone, true},
    {"ReduceL2", Comb::kSum, kPreSquare, kPostSqrt, false},
    {"ReduceLogSum", Comb::kSum, kPreId, kPostLog, false},
    {"ReduceLogSumExp", Comb::kSum, kPreExpShift, kPostLogSumExp, false},
    {"ReduceSumSquare", Comb::kSum, kPreSquare, kPostNone, true},
};

const ReduceKind* find_kind(const std::string& op) {
  for (const ReduceKind& k : kKinds)
    if (op == k.op) return &k;
  return nullptr;
}

enum class Path { kNone, kRows, kCols, kGeneric };

struct ReducePlan {
  DType dtype = DType::kFloat32;
  Comb comb = Comb::kSum;
  ReduceConf conf;
  Path path = Path::kNone;
  int64_t outer = 1, r = 1, inner = 1;  // rows/cols shapes
  GenericShape generic;
};

int64_t int_min(DType t) {
  switch (t) {
    case DType::kInt8: return INT8_MIN;
    case DType::kInt32: return INT32_MIN;
    case DType::kInt64: return INT64_MIN;
    default: return 0;  // uint8, bool
  }
}
int64_t int_max(DType t) {
  switch (t) {
    case DType::kInt8: return INT8_MAX;
    case DType::kUInt8: return UINT8_MAX;
    case DType::kInt32: return INT32_MAX;
    case DType::kBool: return 1;
    default: return INT64_MAX;
  }
}

Expected<ReducePlan> plan_reduce(const LayerView& v) {
  std::string why;
  if (!check_layer(v, 1, 2, 1, 1, &why)) return Unsupported(why);
  const ReduceKind* kind = find_kind(v.layer.op);
  if (!kind) return Unsupported("not a Reduce op");
  const PlanTensor& x = v.in(0);
  const PlanTensor& y = v.out(0);
  bool minmax = kind->comb == Comb::kMax || kind->comb == Comb::kMin;
  bool type_ok = is_gpu_float(x.dtype) || (kind->ints && is_gpu_int(x.dtype)) || (minmax && x.dtype == DType::kBool);
  if (!type_ok) {
    if (!kind->ints && is_gpu_int(x.dtype))
      return Unsupported(kind->op, " of integer data (", dtype_name(x.dtype), ") is not supported on the GPU");
    check_type(x, "data", true, kind->ints, &why);
    return Unsupported(why);
  }
  if (y.dtype != x.dtype) return Unsupported("output type ", dtype_name(y.dtype), " differs from the input's");
  if (!minmax && (x.dtype == DType::kInt8 || x.dtype == DType::kUInt8))
    return Unsupported(kind->op, " of ", dtype_name(x.dtype), " is not supported on the GPU (int32/int64 are)");

  std::vector<int64_t> axes;
  if (v.has_input(1)) {
    KILN_ASSIGN_OR_RETURN(axes, const_ints(v, 1, "axes"));
  } else if (has_attr(v.layer, "axes")) {
    axes = v.layer.attrs.at("axes").ints;  // opset 13-17 form (normally upgraded at import)
  }
  bool keepdims = attr_int(v.layer, "keepdims", 1) != 0;
  bool noop = attr_int(v.layer, "noop_with_empty_axes", 0) != 0;
  size_t rank = x.dims.size();
  std::vector<bool> mask(rank, axes.empty() && !noop);
  for (int64_t a : axes) {
    KILN_ASSIGN_OR_RETURN(int64_t ax, normalize_axis(a, rank, "axes entry"));
    if (mask[static_cast<size_t>(ax)]) return Unsupported("axes name dim ", ax, " twice");
    mask[static_cast<size_t>(ax)] = true;
  }
  std::vector<int64_t> out_dims;
  for (size_t d = 0; d < rank; ++d) {
    if (!mask[d]) out_dims.push_back(x.dims[d]);
    else if (keepdims) out_dims.push_back(1);
  }
  if (out_dims != y.dims)
    return Unsupported("output dims ", dims_to_string(y.dims), " differ from the expected ", dims_to_string(out_dims));

  ReducePlan p;
  p.dtype = x.dtype;
  p.comb = kind->comb;
  p.conf.pre = kind->pre;
  p.conf.post = kind->post;
  p.conf.lse = kind->post == kPostLogSumExp;
  p.conf.int_init = kind->comb == Comb::kMax ? int_min(x.dtype) : int_max(x.dtype);
  if (cuda::numel(y.dims) == 0) return p;  // nothing to write

  // Coalesce: drop size-1 dims, merge neighbours of the same kind.
  struct Group {
    int64_t size;
    bool reduced;
  };
  std::vector<Group> groups;
  std::vector<int64_t> strides(rank, 1);
  for (size_t d = rank; d-- > 1;) strides[d - 1] = strides[d] * x.dims[d];
  for (size_t d = 0; d < rank; ++d) {
    if (x.dims[d] == 1) continue;
    if (!groups.empty() && groups.back().reduced == mask[d]) groups.back().size *= x.dims[d];
    else groups.push_back({x.dims[d], mask[d]});
  }
  int reduced_groups = 0;
  for (const Group& g : groups) reduced_groups += g.reduced;
  if (reduced_groups == 0) {
    // Nothing reduced: each element is its own reduction (noop_with_empty_axes).
    p.path = Path::kCols;
    p.outer = 1;
    p.r = 1;
    p.inner = cuda::numel(x.dims);
    return p;
  }
  if (reduced_groups == 1) {
    size_t k = 0;
    while (!groups[k].reduced) ++k;
    for (size_t g = 0; g < k; ++g) p.outer *= groups[g].size;
    p.r = groups[k].size;
    for (size_t g = k + 1; g < groups.size(); ++g) p.inner *= groups[g].size;
    p.path = p.inner == 1 ? Path::kRows : Path::kCols;
    return p;
  }
  // Several reduced groups: walk the original dims (size-1 dims skipped).
  GenericShape& s = p.generic;
  s.red_count = 1;
  for (size_t d = 0; d < rank; ++d) {
    if (x.dims[d] == 1) continue;
    if (mask[d]) {
      s.red_dims[s.red_rank] = x.dims[d];
      s.red_strides[s.red_rank++] = strides[d];
      s.red_count *= x.dims[d];
    } else {
      s.kept_dims[s.kept_rank] = x.dims[d];
      s.kept_strides[s.kept_rank++] = strides[d];
    }
  }
  s.out_count = cuda::numel(y.dims);
  p.path = Path::kGeneric;
  return p;
}

class ReduceKernel : public CudaKernel {
 public:
  explicit ReduceKernel(ReducePlan p) : p_(p) {}

  Status enqueue(const LaunchArgs& a) override {
    if (p_.path == Path::kNone) return Status::Ok();
    switch (p_.dtype) {
      case DType::kFloat32: return by_comb<float>(a);
      case DType::kFloat16: return by_comb<__half>(a);
      case DType::kBFloat16: return by_comb<__nv_bfloat16>(a);
      case DType::kInt8: return by_comb<int8_t>(a);
      case DType::kUInt8:
      case DType::kBool: return by_comb<uint8_t>(a);
      case DType::kInt32: return by_comb<int32_t>(a);
      case DType::kInt64: return by_comb<int64_t>(a);
      default: return Internal("reduce: unexpected type ", dtype_name(p_.dtype));
    }
  }

 private:
  template <typename T>
  Status by_comb(const LaunchArgs& a) {
    switch (p_.comb) {
      case Comb::kSum: return launch<T, SumOp>(a);
      case Comb::kProd: return launch<T, ProdOp>(a);
      case Comb::kMax: return launch<T, MaxOp>(a);
      default: return launch<T, MinOp>(a);
    }
  }

  template <typename T, typename Op>
  Status launch(const LaunchArgs& a) {
    const T* x = static_cast<const T*>(a.inputs[0]);
    T* y = static_cast<T*>(a.outputs[0]);
    if (p_.path == Path::kRows) {
      // Short rows: 8 per block, a warp each; longer rows: more threads each.
      unsigned tpr = p_.r <= 64 ? 32 : (p_.r <= 2048 ? 128 : 512);
      unsigned rpb = tpr == 32 ? 8 : (tpr == 128 ? 2 : 1);
      dim3 block(tpr, rpb);
      unsigned grid = static_cast<unsigned>((p_.outer + rpb - 1) / rpb);
      reduce_rows_kernel<T, Op><<<grid, block, 0, a.stream>>>(x, y, p_.outer, p_.r, p_.conf);
    } else if (p_.path == Path::kCols) {
      int64_t tiles = p_.outer * ((p_.inner + 31) / 32);
      unsigned grid = static_cast<unsigned>(std::min<int64_t>(tiles, 1 << 30));
      reduce_cols_kernel<T, Op><<<grid, dim3(32, kColY), 0, a.stream>>>(x, y, p_.outer, p_.r, p_.inner, p_.conf);
    } else {
      reduce_generic_kernel<T, Op>
          <<<cuda::grid_for(p_.generic.out_count), 256, 0, a.stream>>>(x, y, p_.generic, p_.conf);
    }
    KILN_CUDA_CHECK_LAUNCH("reduce kernel");
    return Status::Ok();
  }

  ReducePlan p_;
};

}  // namespace

void register_reduce_math(CudaKernelRegistry& r) {
  CudaKernelDef d;
  d.id = "kiln.reduce";
  for (const ReduceKind& k : kKinds) d.ops.push_back(k.op);
  d.supports = [](const LayerView& v, std::string* why) {
    auto p = plan_reduce(v);
    return p.ok() ? true : refuse(why, p.status().message());
  };
  d.create = [](const LayerView& v, CudaLibraries&) -> Expected<std::unique_ptr<CudaKernel>> {
    KILN_ASSIGN_OR_RETURN(ReducePlan p, plan_reduce(v));
    return std::unique_ptr<CudaKernel>(new ReduceKernel(p));
  };
  r.add(std::move(d));
}

}  // namespace cureduce

// The cureduce family: reductions, arg-reductions, softmax, TopK, CumSum and
// the normalizations.
void register_reduce_kernels(CudaKernelRegistry& r) {
  cureduce::register_reduce_math(r);
  cureduce::register_reduce_arg(r);
  cureduce::register_softmax(r);
  cureduce::register_topk(r);
  cureduce::register_cumsum(r);
  cureduce::register_row_norms(r);
  cureduce::register_channel_norms(r);
}

}  // namespace kiln
