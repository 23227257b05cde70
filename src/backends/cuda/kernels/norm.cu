// Row normalizations: LayerNormalization, RMSNormalization,
// InstanceNormalization, GroupNormalization and LpNormalization. Each views
// X as [rows, cols] and normalizes every row with float32 statistics:
//   LayerNorm       rows = prod(dims[:axis]), scale/bias broadcast over X
//   RMSNorm         same, no mean, Y in the scale's type
//   InstanceNorm    rows = N*C, cols = spatial, scale/bias per channel
//   GroupNorm       rows = N*G, cols = C/G*spatial, per channel (or per group, opset 18)
//   LpNorm          along the last axis: rows of the axis; else one thread per line
//   kiln.FusedLayerNorm  LayerNorm of X + Z along the last axis; the sum is
//                   rounded to X's type (as the unfused Add stored it) and
//                   never written
//
// The fast path holds the row in registers (one read of X, one write of Y;
// two-pass mean/variance from the registers), with 16-byte vector accesses
// when the row length and pointers allow: BERT's LayerNorm over 768 fp16 is
// 96 threads per row, one 16-byte load each. Rows too long for registers, or
// whose parameters are of another type than X, take the three-pass kernel.
#include "backends/cuda/kernels/reduce_common.cuh"

namespace kiln::cureduce {
namespace {

enum Stat : int { kLayer, kRms, kL1, kL2 };
enum ParamAt : int { kParamCol, kParamMap, kParamChannel, kParamGroup };

struct RowNorm {
  int64_t rows = 0, cols = 0;
  float eps = 1e-5f;
  int stat = kLayer;
  int param_at = kParamCol;
  int64_t groups = 1, per = 1, spatial = 1;  // kParamChannel / kParamGroup
  cuda::BroadcastMap scale_map, bias_map;    // kParamMap: over X's flat index
  int stat_dtype = static_cast<int>(DType::kFloat32);
};

// v as stored in a T and read back: kiln.FusedLayerNorm normalizes X + Z as
// the unfused graph's Add output held it.
template <typename T>
__device__ __forceinline__ float round_to(float v) {
  T t[1];
  cuda::store_f(t, 0, v);
  return cuda::load_f(t, 0);
}

// Element j of a row of X, or of X + Z when Z (kiln.FusedLayerNorm) is set.
template <typename T>
__device__ __forceinline__ float row_value(const T* xr, const T* zr, int64_t j) {
  return zr ? round_to<T>(cuda::load_f(xr, j) + cuda::load_f(zr, j)) : cuda::load_f(xr, j);
}

template <typename TP>
__device__ __forceinline__ float param(const TP* p, const cuda::BroadcastMap& m, const RowNorm& a, int64_t row,
                                       int64_t j) {
  switch (a.param_at) {
    case kParamCol: return cuda::load_f(p, j);
    case kParamMap: return cuda::load_f(p, m.offset(row * a.cols + j));
    case kParamChannel: return cuda::load_f(p, (row % a.groups) * a.per + j / a.spatial);
    default: return cuda::load_f(p, row % a.groups);
  }
}

// The multiplier from the row's second statistic (sum of squared
// deviations, or of |x| for L1).
__device__ __forceinline__ float row_inv(float total, const RowNorm& a) {
  if (a.stat == kLayer || a.stat == kRms) return 1.f / sqrtf(total / static_cast<float>(a.cols) + a.eps);
  const float norm = a.stat == kL2 ? sqrtf(total) : total;
  return norm == 0.f ? 0.f : 1.f / norm;  // a zero norm gives zeros, as the reference
}

__device__ __forceinline__ void write_stats(void* mean_out, void* inv_out, int dtype, int64_t row, float mean,
                                            float inv) {
  if (mean_out) store_any(mean_out, dtype, row, mean);
  if (inv_out) store_any(inv_out, dtype, row, inv);
}

// Register-resident rows: blockDim.x threads per row, blockDim.y rows per
// block (up to 4); thread t holds elements (it * blockDim.x + t) * kVec + e.
template <typename T, int kVec, int kIters>
__global__ void row_norm_reg_kernel(const T* x, const T* z, const T* scale, const T* bias, T* y, void* mean_out,
                                    void* inv_out, RowNorm a) {
  __shared__ float smem[32 * 4];
  const int64_t row = static_cast<int64_t>(blockIdx.x) * blockDim.y + threadIdx.y;
  const bool active = row < a.rows;
  const int64_t cols = active ? a.cols : 0;
  const T* xr = x + (active ? row * a.cols : 0);
  const T* zr = z ? z + (active ? row * a.cols : 0) : nullptr;
  float v[kIters][kVec];
  float sum = 0.f;
#pragma unroll
  for (int it = 0; it < kIters; ++it) {
    const int64_t j0 = (static_cast<int64_t>(it) * blockDim.x + threadIdx.x) * kVec;
    if (j0 < cols) {  // the host makes cols a multiple of kVec
      Pack<T, kVec> pk = *reinterpret_cast<const Pack<T, kVec>*>(xr + j0);
      Pack<T, kVec> pz = zr ? *reinterpret_cast<const Pack<T, kVec>*>(zr + j0) : Pack<T, kVec>{};
#pragma unroll
      for (int e = 0; e < kVec; ++e) {
        v[it][e] = zr ? round_to<T>(cuda::load_f(pk.v, e) + cuda::load_f(pz.v, e)) : cuda::load_f(pk.v, e);
        sum += v[it][e];
      }
    } else {
#pragma unroll
      for (int e = 0; e < kVec; ++e) v[it][e] = 0.f;
    }
  }
  float mean = 0.f;
  if (a.stat == kLayer) mean = group_allreduce(sum, SumOp(), smem) / static_cast<float>(a.cols);
  float sq = 0.f;
#pragma unroll
  for (int it = 0; it < kIters; ++it) {
    const int64_t j0 = (static_cast<int64_t>(it) * blockDim.x + threadIdx.x) * kVec;
    if (j0 >= cols) continue;
#pragma unroll
    for (int e = 0; e < kVec; ++e) {
      const float d = v[it][e] - mean;
      sq += a.stat == kL1 ? fabsf(d) : d * d;
    }
  }
  const float inv = row_inv(group_allreduce(sq, SumOp(), smem), a);
  if (active && threadIdx.x == 0) write_stats(mean_out, inv_out, a.stat_dtype, row, mean, inv);
  T* yr = y + (active ? row * a.cols : 0);
#pragma unroll
  for (int it = 0; it < kIters; ++it) {
    const int64_t j0 = (static_cast<int64_t>(it) * blockDim.x + threadIdx.x) * kVec;
    if (j0 >= cols) continue;
    float s[kVec], b[kVec];
    if (kVec > 1 && a.param_at == kParamCol) {  // parameters laid out like the row: vector loads
      Pack<T, kVec> ps = scale ? *reinterpret_cast<const Pack<T, kVec>*>(scale + j0) : Pack<T, kVec>{};
      Pack<T, kVec> pb = bias ? *reinterpret_cast<const Pack<T, kVec>*>(bias + j0) : Pack<T, kVec>{};
#pragma unroll
      for (int e = 0; e < kVec; ++e) {
        s[e] = scale ? cuda::load_f(ps.v, e) : 1.f;
        b[e] = bias ? cuda::load_f(pb.v, e) : 0.f;
      }
    } else {
#pragma unroll
      for (int e = 0; e < kVec; ++e) {
        s[e] = scale ? param(scale, a.scale_map, a, row, j0 + e) : 1.f;
        b[e] = bias ? param(bias, a.bias_map, a, row, j0 + e) : 0.f;
      }
    }
    Pack<T, kVec> out;
#pragma unroll
    for (int e = 0; e < kVec; ++e) cuda::store_f(out.v, e, (v[it][e] - mean) * inv * s[e] + b[e]);
    *reinterpret_cast<Pack<T, kVec>*>(yr + j0) = out;
  }
}

// LayerNorm (and kiln.FusedLayerNorm) of short float16/bfloat16 rows with
// per-column parameters and no statistics outputs, BERT's case: one warp per
// row, kPer 16-byte vectors a lane held in registers, statistics by warp
// shuffles only. The general kernel above spends its issue slots on
// parameter modes, 64-bit indexing and block-wide reductions (ncu on BERT's
// 768-wide rows: issue slots 63% busy on a memory-bound op).
template <typename T, int kPer>
__global__ void __launch_bounds__(128) layer_norm_warp_kernel(const T* __restrict__ x, const T* __restrict__ z,
                                                              const T* __restrict__ scale,
                                                              const T* __restrict__ bias, T* __restrict__ y,
                                                              int rows, int cols, float eps) {
  const int row = blockIdx.x * 4 + threadIdx.x / 32, lane = threadIdx.x % 32;
  if (row >= rows) return;
  const int64_t base = static_cast<int64_t>(row) * cols;
  float v[kPer][8];
  float sum = 0.f;
#pragma unroll
  for (int i = 0; i < kPer; ++i) {
    const int c = (i * 32 + lane) * 8;
    if (c < cols) {
      Pack<T, 8> px = *reinterpret_cast<const Pack<T, 8>*>(x + base + c);
      Pack<T, 8> pz = z ? *reinterpret_cast<const Pack<T, 8>*>(z + base + c) : Pack<T, 8>{};
#pragma unroll
      for (int e = 0; e < 8; ++e) {
        v[i][e] = z ? round_to<T>(cuda::load_f(px.v, e) + cuda::load_f(pz.v, e)) : cuda::load_f(px.v, e);
        sum += v[i][e];
      }
    } else {
#pragma unroll
      for (int e = 0; e < 8; ++e) v[i][e] = 0.f;
    }
  }
  const float mean = warp_allreduce(sum, SumOp()) / static_cast<float>(cols);
  float sq = 0.f;
#pragma unroll
  for (int i = 0; i < kPer; ++i)
    if ((i * 32 + lane) * 8 < cols)
#pragma unroll
      for (int e = 0; e < 8; ++e) sq += (v[i][e] - mean) * (v[i][e] - mean);
  const float inv = 1.f / sqrtf(warp_allreduce(sq, SumOp()) / static_cast<float>(cols) + eps);
#pragma unroll
  for (int i = 0; i < kPer; ++i) {
    const int c = (i * 32 + lane) * 8;
    if (c >= cols) continue;
    Pack<T, 8> ps = scale ? *reinterpret_cast<const Pack<T, 8>*>(scale + c) : Pack<T, 8>{};
    Pack<T, 8> pb = bias ? *reinterpret_cast<const Pack<T, 8>*>(bias + c) : Pack<T, 8>{};
    Pack<T, 8> out;
#pragma unroll
    for (int e = 0; e < 8; ++e) {
      const float sv = scale ? cuda::load_f(ps.v, e) : 1.f, bv = bias ? cuda::load_f(pb.v, e) : 0.f;
      cuda::store_f(out.v, e, (v[i][e] - mean) * inv * sv + bv);
    }
    *reinterpret_cast<Pack<T, 8>*>(y + base + c) = out;
  }
}

// Any row length and any X / parameter types: one block per row, three
// passes over global memory (the second and third mostly from L2).
// X + Z is recomputed in each pass (Z only with kiln.FusedLayerNorm).
template <typename TX, typename TY>
__global__ void row_norm_loop_kernel(const TX* x, const TX* z, const TY* scale, const TY* bias, TY* y,
                                     void* mean_out, void* inv_out, RowNorm a) {
  __shared__ float smem[32];
  const int64_t row = blockIdx.x;
  const TX* xr = x + row * a.cols;
  const TX* zr = z ? z + row * a.cols : nullptr;
  TY* yr = y + row * a.cols;
  float mean = 0.f;
  if (a.stat == kLayer) {
    float sum = 0.f;
    for (int64_t j = threadIdx.x; j < a.cols; j += blockDim.x) sum += row_value(xr, zr, j);
    mean = group_allreduce(sum, SumOp(), smem) / static_cast<float>(a.cols);
  }
  float sq = 0.f;
  for (int64_t j = threadIdx.x; j < a.cols; j += blockDim.x) {
    const float d = row_value(xr, zr, j) - mean;
    sq += a.stat == kL1 ? fabsf(d) : d * d;
  }
  const float inv = row_inv(group_allreduce(sq, SumOp(), smem), a);
  if (threadIdx.x == 0) write_stats(mean_out, inv_out, a.stat_dtype, row, mean, inv);
  for (int64_t j = threadIdx.x; j < a.cols; j += blockDim.x) {
    float o = (row_value(xr, zr, j) - mean) * inv;
    if (scale) o *= param(scale, a.scale_map, a, row, j);
    if (bias) o += param(bias, a.bias_map, a, row, j);
    cuda::store_f(yr, j, o);
  }
}

// LpNormalization along a non-last axis: one thread per line.
template <typename T>
__global__ void lp_cols_kernel(const T* x, T* y, int64_t outer, int64_t n, int64_t inner, bool l1) {
  const int64_t total = outer * inner;
  for (int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; t < total;
       t += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t base = (t / inner) * n * inner + t % inner;
    float acc = 0.f;
    for (int64_t k = 0; k < n; ++k) {
      const float v = cuda::load_f(x, base + k * inner);
      acc += l1 ? fabsf(v) : v * v;
    }
    const float norm = l1 ? acc : sqrtf(acc);
    for (int64_t k = 0; k < n; ++k)
      cuda::store_f(y, base + k * inner, norm == 0.f ? 0.f : cuda::load_f(x, base + k * inner) / norm);
  }
}

// ---- host side --------------------------------------------------------------------------

constexpr int kMaxThreads = 1024;

struct NormPlan {
  RowNorm a;
  DType x_type = DType::kFloat32, y_type = DType::kFloat32;
  int residual_input = -1;                // kiln.FusedLayerNorm's Z, added to X
  int scale_input = -1, bias_input = -1;  // input index of each parameter, -1 for none
  int mean_output = -1, inv_output = -1;  // output index of each statistic, -1 for none
  bool lp_cols = false;                   // LpNormalization along a non-last axis
  AxisSplit lp;                           // its split
  bool empty = false;                     // nothing to launch
};

// Whether `p` broadcasts one way to `x` (numpy rules, rank at most x's).
bool broadcasts_to(const std::vector<int64_t>& p, const std::vector<int64_t>& x) {
  if (p.size() > x.size()) return false;
  size_t off = x.size() - p.size();
  for (size_t d = 0; d < p.size(); ++d)
    if (p[d] != 1 && p[d] != x[off + d]) return false;
  return true;
}

// Whether parameter dims `p` give offset j for every column j of rows of
// X split at `axis` (the same in every row, laid out like the row).
bool per_column(const std::vector<int64_t>& p, const std::vector<int64_t>& x, size_t axis) {
  size_t off = x.size() - p.size();
  for (size_t d = 0; d < x.size(); ++d) {
    int64_t pd = d < off ? 1 : p[d - off];
    if (d < axis ? (pd != 1 && x[d] != 1) : pd != x[d]) return false;
  }
  return true;
}

Status check_param(const LayerView& v, size_t i, const char* what, DType want) {
  const PlanTensor& t = v.in(i);
  if (t.dtype != want)
    return Unsupported(what, " (input ", i, ") is ", dtype_name(t.dtype), "; this kernel needs ", dtype_name(want));
  return Status::Ok();
}

// Scale is input `first_param` (1, or 2 after kiln.FusedLayerNorm's Z), B the next.
Status plan_layer_rms(const LayerView& v, NormPlan& p, bool layer, size_t first_param) {
  const PlanTensor& x = v.in(0);
  if (x.dims.empty()) return Unsupported("X must have rank >= 1");
  KILN_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(attr_int(v.layer, "axis", -1), x.dims.size(), "axis"));
  size_t ax = static_cast<size_t>(axis);
  p.a.stat = layer ? kLayer : kRms;
  p.a.rows = dims_product(x.dims, 0, ax);
  p.a.cols = dims_product(x.dims, ax, x.dims.size());
  p.a.eps = attr_float(v.layer, "epsilon", 1e-5f);
  const size_t s = first_param, b = first_param + 1;
  if (!v.has_input(s)) return Unsupported("Scale (input ", s, ") is missing");
  p.scale_input = static_cast<int>(s);
  p.y_type = layer ? x.dtype : v.in(s).dtype;
  if (!is_gpu_float(p.y_type)) return Unsupported("Scale is ", dtype_name(p.y_type), "; needs float32/float16/bfloat16");
  KILN_RETURN_IF_ERROR(check_param(v, s, "Scale", p.y_type));
  if (layer && v.has_input(b)) {
    KILN_RETURN_IF_ERROR(check_param(v, b, "B", p.y_type));
    p.bias_input = static_cast<int>(b);
  }
  bool cols_ok = true;
  for (int i : {p.scale_input, p.bias_input}) {
    if (i < 0) continue;
    const std::vector<int64_t>& pd = v.in(static_cast<size_t>(i)).dims;
    if (!broadcasts_to(pd, x.dims))
      return Unsupported("parameter ", dims_to_string(pd), " does not broadcast to X ", dims_to_string(x.dims));
    cols_ok = cols_ok && per_column(pd, x.dims, ax);
  }
  p.a.param_at = cols_ok ? kParamCol : kParamMap;
  if (!cols_ok) {
    p.a.scale_map = cuda::make_broadcast_map(x.dims, v.in(s).dims);
    if (p.bias_input >= 0) p.a.bias_map = cuda::make_broadcast_map(x.dims, v.in(b).dims);
  }
  std::vector<int64_t> stats_dims;
  for (size_t d = 0; d < x.dims.size(); ++d) stats_dims.push_back(d < ax ? x.dims[d] : 1);
  for (size_t o = 1; o < v.outputs.size(); ++o) {
    const PlanTensor& s = v.out(o);
    if (s.dims != stats_dims || !is_gpu_float(s.dtype))
      return Unsupported("statistics output ", o, " must be float of dims ", dims_to_string(stats_dims));
    if (o == 2 && s.dtype != v.out(1).dtype) return Unsupported("Mean and InvStdDev differ in type");
    p.a.stat_dtype = static_cast<int>(s.dtype);
    (o == 1 ? p.mean_output : p.inv_output) = static_cast<int>(o);
  }
  return Status::Ok();
}

// kiln.FusedLayerNorm(X, Z, Scale, B?): LayerNorm of X + Z along the last axis.
Status plan_fused_layer(const LayerView& v, NormPlan& p) {
  const PlanTensor& x = v.in(0);
  const PlanTensor& z = v.in(1);
  if (z.dtype != x.dtype || z.dims != x.dims)
    return Unsupported("Z must have X's type and dims (", dtype_name(x.dtype), dims_to_string(x.dims), "), got ",
                       dtype_name(z.dtype), dims_to_string(z.dims));
  const int64_t rank = static_cast<int64_t>(x.dims.size());
  const int64_t axis = attr_int(v.layer, "axis", -1);
  if (rank > 0 && axis != -1 && axis != rank - 1)
    return Unsupported("axis ", axis, " is not the last axis of X ", dims_to_string(x.dims),
                       "; kiln.FusedLayerNorm runs along the last axis only");
  p.residual_input = 1;
  return plan_layer_rms(v, p, true, 2);
}

Status plan_instance_group(const LayerView& v, NormPlan& p, bool group) {
  const PlanTensor& x = v.in(0);
  if (x.dims.size() < 2) return Unsupported("X must have rank >= 2 (N x C x ...)");
  if (!v.has_input(1) || !v.has_input(2)) return Unsupported("scale and bias are required");
  KILN_RETURN_IF_ERROR(check_param(v, 1, "scale", x.dtype));
  KILN_RETURN_IF_ERROR(check_param(v, 2, "bias", x.dtype));
  int64_t n = x.dims[0], c = x.dims[1];
  int64_t spatial = dims_product(x.dims, 2, x.dims.size());
  int64_t g = group ? attr_int(v.layer, "num_groups", 0) : c;
  if (g <= 0) return Unsupported("num_groups must be positive");
  if (c % g != 0) return Unsupported(c, " channels do not split into ", g, " groups");
  int64_t count = cuda::numel(v.in(1).dims);
  if (cuda::numel(v.in(2).dims) != count || v.in(1).dims.size() != 1 || v.in(2).dims.size() != 1)
    return Unsupported("scale and bias must be 1-D of the same length");
  p.scale_input = 1;
  p.bias_input = 2;
  p.a.eps = attr_float(v.layer, "epsilon", 1e-5f);
  p.a.rows = n * g;
  p.a.cols = c / g * spatial;
  p.a.groups = g;
  p.a.per = c / g;
  p.a.spatial = spatial == 0 ? 1 : spatial;
  if (count == c) p.a.param_at = kParamChannel;
  else if (group && count == g) p.a.param_at = kParamGroup;  // opset 18's per-group form
  else return Unsupported("scale has ", count, " entries for ", c, " channels");
  return Status::Ok();
}

Status plan_lp(const LayerView& v, NormPlan& p) {
  const PlanTensor& x = v.in(0);
  if (x.dims.empty()) return Unsupported("input must have rank >= 1");
  KILN_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(attr_int(v.layer, "axis", -1), x.dims.size(), "axis"));
  int64_t order = attr_int(v.layer, "p", 2);
  if (order != 1 && order != 2) return Unsupported("p = ", order, "; only 1 and 2 are defined");
  p.a.stat = order == 1 ? kL1 : kL2;
  p.lp = split_axis(x.dims, axis);
  p.lp_cols = p.lp.inner != 1;
  p.a.rows = p.lp.outer;
  p.a.cols = p.lp.n;
  return Status::Ok();
}

Expected<NormPlan> plan_norm(const LayerView& v) {
  std::string why;
  const std::string& op = v.layer.op;
  const bool fused = op == "kiln.FusedLayerNorm";
  size_t min_in = 3, max_in = 3, max_out = 1;  // InstanceNormalization, GroupNormalization
  if (op == "LayerNormalization") {
    min_in = 2;
    max_out = 3;
  }
  if (op == "RMSNormalization") min_in = max_in = 2;
  if (op == "LpNormalization") min_in = max_in = 1;
  if (fused) max_in = 4;
  if (!check_layer(v, min_in, max_in, 1, max_out, &why)) return Unsupported(why);
  const PlanTensor& x = v.in(0);
  if (!check_type(x, "X", true, false, &why)) return Unsupported(why);
  NormPlan p;
  p.x_type = p.y_type = x.dtype;
  if (fused) {
    KILN_RETURN_IF_ERROR(plan_fused_layer(v, p));
  } else if (op == "LayerNormalization" || op == "RMSNormalization") {
    KILN_RETURN_IF_ERROR(plan_layer_rms(v, p, op == "LayerNormalization", 1));
  } else if (op == "InstanceNormalization" || op == "GroupNormalization") {
    KILN_RETURN_IF_ERROR(plan_instance_group(v, p, op == "GroupNormalization"));
  } else {
    KILN_RETURN_IF_ERROR(plan_lp(v, p));
  }
  const PlanTensor& y = v.out(0);
  if (y.dims != x.dims || y.dtype != p.y_type)
    return Unsupported("Y must be ", dtype_name(p.y_type), " of X's dims ", dims_to_string(x.dims));
  // Empty X: only statistics of empty rows (NaN) remain to be written.
  bool stats = p.mean_output >= 0 || p.inv_output >= 0;
  p.empty = p.a.rows == 0 || (cuda::numel(x.dims) == 0 && !stats);
  if (!p.empty && !p.lp_cols && p.a.rows > INT32_MAX) return Unsupported("more than 2^31 rows");
  return p;
}

class NormKernel : public CudaKernel {
 public:
  explicit NormKernel(NormPlan p) : p_(p) {}

  Status enqueue(const LaunchArgs& a) override {
    if (p_.empty) return Status::Ok();
    if (p_.x_type == p_.y_type) {
      switch (p_.x_type) {
        case DType::kFloat32: return launch_same<float>(a);
        case DType::kFloat16: return launch_same<__half>(a);
        default: return launch_same<__nv_bfloat16>(a);
      }
    }
    switch (p_.x_type) {
      case DType::kFloat32: return launch_mixed<float>(a);
      case DType::kFloat16: return launch_mixed<__half>(a);
      default: return launch_mixed<__nv_bfloat16>(a);
    }
  }

 private:
  template <typename T>
  const T* input_ptr(const LaunchArgs& a, int i) {
    return i < 0 ? nullptr : static_cast<const T*>(a.inputs[static_cast<size_t>(i)]);
  }
  void* out_ptr(const LaunchArgs& a, int i) { return i < 0 ? nullptr : a.outputs[static_cast<size_t>(i)]; }

  template <typename TX>
  Status launch_mixed(const LaunchArgs& a) {
    switch (p_.y_type) {
      case DType::kFloat32: return launch_loop<TX, float>(a);
      case DType::kFloat16: return launch_loop<TX, __half>(a);
      default: return launch_loop<TX, __nv_bfloat16>(a);
    }
  }

  template <typename TX, typename TY>
  Status launch_loop(const LaunchArgs& a) {
    row_norm_loop_kernel<TX, TY><<<static_cast<unsigned>(p_.a.rows), 512, 0, a.stream>>>(
        static_cast<const TX*>(a.inputs[0]), input_ptr<TX>(a, p_.residual_input), input_ptr<TY>(a, p_.scale_input),
        input_ptr<TY>(a, p_.bias_input), static_cast<TY*>(a.outputs[0]), out_ptr(a, p_.mean_output),
        out_ptr(a, p_.inv_output), p_.a);
    KILN_CUDA_CHECK_LAUNCH("row norm kernel");
    return Status::Ok();
  }

  // Short rows share a block: up to 4 rows of 32 threads.
  static unsigned rows_per_block(unsigned threads) { return threads == 32 ? 4 : (threads == 64 ? 2 : 1); }

  // The most threads a block of this register kernel may have: long rows
  // (8 iterations of 16-byte vectors) use enough registers per thread that
  // 1024, even 640, threads do not fit. Asked once per instance.
  template <typename T, int kVec, int kIters>
  static unsigned reg_max_threads() {
    static const unsigned most = [] {
      cudaFuncAttributes at{};
      return cudaFuncGetAttributes(&at, row_norm_reg_kernel<T, kVec, kIters>) == cudaSuccess
                 ? static_cast<unsigned>(at.maxThreadsPerBlock)
                 : 0u;
    }();
    return most;
  }

  template <typename T, int kVec>
  static unsigned reg_max_threads_iters(int iters) {
    switch (iters) {
      case 1: return reg_max_threads<T, kVec, 1>();
      case 2: return reg_max_threads<T, kVec, 2>();
      case 4: return reg_max_threads<T, kVec, 4>();
      default: return reg_max_threads<T, kVec, 8>();
    }
  }

  template <typename T, int kVec, int kIters>
  void launch_reg(const LaunchArgs& a, unsigned threads) {
    unsigned rpb = rows_per_block(threads);
    unsigned grid = static_cast<unsigned>((p_.a.rows + rpb - 1) / rpb);
    row_norm_reg_kernel<T, kVec, kIters><<<grid, dim3(threads, rpb), 0, a.stream>>>(
        static_cast<const T*>(a.inputs[0]), input_ptr<T>(a, p_.residual_input), input_ptr<T>(a, p_.scale_input),
        input_ptr<T>(a, p_.bias_input), static_cast<T*>(a.outputs[0]), out_ptr(a, p_.mean_output),
        out_ptr(a, p_.inv_output), p_.a);
  }

  template <typename T, int kVec>
  void launch_reg_iters(const LaunchArgs& a, int iters, unsigned threads) {
    switch (iters) {
      case 1: return launch_reg<T, kVec, 1>(a, threads);
      case 2: return launch_reg<T, kVec, 2>(a, threads);
      case 4: return launch_reg<T, kVec, 4>(a, threads);
      default: return launch_reg<T, kVec, 8>(a, threads);
    }
  }

  // The warp-per-row LayerNorm when it applies (16-bit X, Y and parameters,
  // per-column parameters, no statistics outputs, rows of at most 4 * 256
  // elements in whole 16-byte vectors, 16-byte aligned pointers).
  template <typename T>
  bool launch_layer_norm_warp(const LaunchArgs& a) {
    if constexpr (sizeof(T) != 2) {
      return false;
    } else {
      const RowNorm& n = p_.a;
      const int per = static_cast<int>((n.cols + 255) / 256);
      if (n.stat != kLayer || n.param_at != kParamCol || p_.mean_output >= 0 || p_.inv_output >= 0 ||
          n.cols % 8 != 0 || per < 1 || per > 4 || n.rows > INT32_MAX - 4)
        return false;
      for (int i : {0, p_.residual_input, p_.scale_input, p_.bias_input})
        if (i >= 0 && !aligned_to(a.inputs[static_cast<size_t>(i)], 16)) return false;
      if (!aligned_to(a.outputs[0], 16)) return false;
      const unsigned grid = static_cast<unsigned>((n.rows + 3) / 4);
      const T* x = static_cast<const T*>(a.inputs[0]);
      const T *z = input_ptr<T>(a, p_.residual_input), *sc = input_ptr<T>(a, p_.scale_input),
              *b = input_ptr<T>(a, p_.bias_input);
      T* y = static_cast<T*>(a.outputs[0]);
      const int rows = static_cast<int>(n.rows), cols = static_cast<int>(n.cols);
      switch (per) {
        case 1: layer_norm_warp_kernel<T, 1><<<grid, 128, 0, a.stream>>>(x, z, sc, b, y, rows, cols, n.eps); break;
        case 2: layer_norm_warp_kernel<T, 2><<<grid, 128, 0, a.stream>>>(x, z, sc, b, y, rows, cols, n.eps); break;
        case 3: layer_norm_warp_kernel<T, 3><<<grid, 128, 0, a.stream>>>(x, z, sc, b, y, rows, cols, n.eps); break;
        default: layer_norm_warp_kernel<T, 4><<<grid, 128, 0, a.stream>>>(x, z, sc, b, y, rows, cols, n.eps); break;
      }
      return true;
    }
  }

  template <typename T>
  Status launch_same(const LaunchArgs& a) {
    if (launch_layer_norm_warp<T>(a)) {
      KILN_CUDA_CHECK_LAUNCH("layer norm kernel");
      return Status::Ok();
    }
    if (p_.lp_cols) {
      const AxisSplit& s = p_.lp;
      lp_cols_kernel<T><<<cuda::grid_for(s.outer * s.inner), 256, 0, a.stream>>>(
          static_cast<const T*>(a.inputs[0]), static_cast<T*>(a.outputs[0]), s.outer, s.n, s.inner, p_.a.stat == kL1);
      KILN_CUDA_CHECK_LAUNCH("lp norm kernel");
      return Status::Ok();
    }
    // 16-byte vectors when the row length and every row-laid-out pointer allow.
    constexpr int kV = 16 / sizeof(T);
    bool vec = p_.a.cols % kV == 0 && aligned_to(a.inputs[0], 16) && aligned_to(a.outputs[0], 16);
    if (p_.residual_input >= 0) vec = vec && aligned_to(a.inputs[static_cast<size_t>(p_.residual_input)], 16);
    if (p_.a.param_at == kParamCol)
      for (int i : {p_.scale_input, p_.bias_input})
        if (i >= 0) vec = vec && aligned_to(a.inputs[static_cast<size_t>(i)], 16);
    const int64_t kv = vec ? kV : 1;
    const int64_t nvec = (p_.a.cols + kv - 1) / kv;
    // Fewest iterations keeping a row within 512 threads, else 1024.
    int iters = 1;
    while (iters < 8 && (nvec + iters - 1) / iters > 512) iters *= 2;
    const int64_t threads = ((nvec + iters - 1) / iters + 31) / 32 * 32;
    if (threads > kMaxThreads) return launch_loop<T, T>(a);
    const unsigned t = static_cast<unsigned>(std::max<int64_t>(threads, 32));
    if (t * rows_per_block(t) > (vec ? reg_max_threads_iters<T, kV>(iters) : reg_max_threads_iters<T, 1>(iters)))
      return launch_loop<T, T>(a);
    if (vec) launch_reg_iters<T, kV>(a, iters, t);
    else launch_reg_iters<T, 1>(a, iters, t);
    KILN_CUDA_CHECK_LAUNCH("row norm kernel");
    return Status::Ok();
  }

  NormPlan p_;
};

}  // namespace

void register_row_norms(CudaKernelRegistry& r) {
  CudaKernelDef d;
  d.id = "kiln.rownorm";
  d.ops = {"LayerNormalization", "RMSNormalization", "InstanceNormalization", "GroupNormalization",
           "LpNormalization", "kiln.FusedLayerNorm"};
  d.supports = [](const LayerView& v, std::string* why) {
    auto p = plan_norm(v);
    return p.ok() ? true : refuse(why, p.status().message());
  };
  d.create = [](const LayerView& v, CudaLibraries&) -> Expected<std::unique_ptr<CudaKernel>> {
    KILN_ASSIGN_OR_RETURN(NormPlan p, plan_norm(v));
    return std::unique_ptr<CudaKernel>(new NormKernel(p));
  };
  r.add(std::move(d));
}

}  // namespace kiln::cureduce
