// Resize (nearest / linear / cubic, every coordinate transformation mode,
// nearest_mode, cubic_coeff_a, exclude_outside, antialias, axes,
// keep_aspect_ratio_policy, tf_crop_and_resize with extrapolation) for any
// rank up to 8, linear layout. Sizes, scales and roi must be constants.
//
// At create, each axis gets the CPU reference's 1-D filter (input positions
// and weights per output position, computed in double by the same formulas)
// in a device table. One thread per output element then reads it: nearest
// copies one element; linear / cubic sum the taps axis by axis in double,
// innermost axis first, exactly in the reference's order and rounding
// (separate multiply and add, no fused multiply-add), and convert once.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/kernels/conv_util.h"
#include "backends/cuda/kernels/cuda_common.cuh"
#include "ops/resize/resize_family.h"

namespace kiln::cuconv {
namespace {

constexpr int kMaxRank = 8;
constexpr int kMaxActive = 3;  // interpolated (non-identity) axes per Resize

struct ResizeParams {
  int rank = 0;
  int n_active = 0;
  int active[kMaxActive] = {0, 0, 0};  // ascending axis order
  bool is_active[kMaxRank] = {};
  int64_t out[kMaxRank] = {}, in_stride[kMaxRank] = {};
  const int64_t* begin[kMaxRank] = {};  // taps of output o: [begin[o], begin[o + 1])
  const int64_t* index[kMaxRank] = {};
  const double* weight[kMaxRank] = {};
  const uint8_t* extrap[kMaxRank] = {};  // null when no output of the axis extrapolates
  double extrapolation = 0;
};

template <typename T>
__host__ __device__ __forceinline__ double to_d(T v) {
  return static_cast<double>(v);
}
template <>
__host__ __device__ __forceinline__ double to_d<__half>(__half v) {
  return static_cast<double>(__half2float(v));
}
template <>
__host__ __device__ __forceinline__ double to_d<__nv_bfloat16>(__nv_bfloat16 v) {
  return static_cast<double>(__bfloat162float(v));
}

// The reference's store: floats round to nearest (through float for the
// narrow types), integers round half to even and saturate, bool is != 0.
template <typename T>
__host__ __device__ __forceinline__ T from_d(double v);
template <>
__host__ __device__ __forceinline__ float from_d<float>(double v) {
  return static_cast<float>(v);
}
template <>
__host__ __device__ __forceinline__ double from_d<double>(double v) {
  return v;
}
template <>
__host__ __device__ __forceinline__ __half from_d<__half>(double v) {
  return __float2half_rn(static_cast<float>(v));
}
template <>
__host__ __device__ __forceinline__ __nv_bfloat16 from_d<__nv_bfloat16>(double v) {
  return __float2bfloat16_rn(static_cast<float>(v));
}
template <>
__host__ __device__ __forceinline__ int8_t from_d<int8_t>(double v) {
  return static_cast<int8_t>(fmin(fmax(rint(v), -128.0), 127.0));
}
template <>
__host__ __device__ __forceinline__ uint8_t from_d<uint8_t>(double v) {
  return static_cast<uint8_t>(fmin(fmax(rint(v), 0.0), 255.0));
}
template <>
__host__ __device__ __forceinline__ int32_t from_d<int32_t>(double v) {
  return static_cast<int32_t>(fmin(fmax(rint(v), -2147483648.0), 2147483647.0));
}
template <>
__host__ __device__ __forceinline__ long long from_d<long long>(double v) {
  return static_cast<long long>(rint(v));
}
template <>
__host__ __device__ __forceinline__ bool from_d<bool>(double v) {
  return rint(v) != 0.0;
}

// acc + w * v rounded twice, as the reference computes it (never fused).
__host__ __device__ __forceinline__ double add_product(double acc, double w, double v) {
#ifdef __CUDA_ARCH__
  return __dadd_rn(acc, __dmul_rn(w, v));
#else
  return acc + w * v;
#endif
}

// Output element i of a nearest resize (host-callable for tests).
template <typename T>
__host__ __device__ inline void nearest_element(const T* x, T* y, const ResizeParams& p, int64_t i) {
  int64_t r = i, off = 0;
  bool outside = false;
  for (int j = p.rank - 1; j >= 0; --j) {
    const int64_t o = r % p.out[j];
    r /= p.out[j];
    off += p.index[j][o] * p.in_stride[j];
    outside = outside || (p.extrap[j] && p.extrap[j][o]);
  }
  y[i] = outside ? from_d<T>(p.extrapolation) : x[off];
}

template <typename T>
__global__ void nearest_kernel(const T* x, T* y, ResizeParams p, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    nearest_element(x, y, p, i);
}

// One level of the nested tap loops: an active axis, or a unit dummy.
struct Level {
  int64_t lo = 0, hi = 1, stride = 0;
  const int64_t* index = nullptr;
  const double* weight = nullptr;
  __host__ __device__ double w(int64_t t) const { return weight ? weight[t] : 1.0; }
  __host__ __device__ int64_t off(int64_t t) const { return index ? index[t] * stride : 0; }
};

// Output element i of a linear / cubic resize (host-callable for tests).
template <typename T>
__host__ __device__ inline void interp_element(const T* x, T* y, const ResizeParams& p, int64_t i) {
  int64_t r = i, base = 0;
  int64_t o[kMaxRank];
  bool outside = false;
  for (int j = p.rank - 1; j >= 0; --j) {
    o[j] = r % p.out[j];
    r /= p.out[j];
    if (!p.is_active[j]) base += o[j] * p.in_stride[j];  // identity axis: input index = output index
    outside = outside || (p.extrap[j] && p.extrap[j][o[j]]);
  }
  if (outside) {
    y[i] = from_d<T>(p.extrapolation);
    return;
  }
  Level L[kMaxActive];
  for (int a = 0; a < p.n_active; ++a) {
    const int j = p.active[a];
    L[a].lo = p.begin[j][o[j]];
    L[a].hi = p.begin[j][o[j] + 1];
    L[a].stride = p.in_stride[j];
    L[a].index = p.index[j];
    L[a].weight = p.weight[j];
  }
  // Innermost sum over the lowest active axis: the reference filters axes in
  // ascending order, each into a zeroed buffer.
  double acc2 = 0;
  for (int64_t t2 = L[2].lo; t2 < L[2].hi; ++t2) {
    double acc1 = 0;
    for (int64_t t1 = L[1].lo; t1 < L[1].hi; ++t1) {
      double acc0 = 0;
      const int64_t off = base + L[2].off(t2) + L[1].off(t1);
      for (int64_t t0 = L[0].lo; t0 < L[0].hi; ++t0) acc0 = add_product(acc0, L[0].w(t0), to_d(x[off + L[0].off(t0)]));
      acc1 = add_product(acc1, L[1].w(t1), acc0);
    }
    acc2 = add_product(acc2, L[2].w(t2), acc1);
  }
  y[i] = from_d<T>(acc2);
}

template <typename T>
__global__ void interp_kernel(const T* x, T* y, ResizeParams p, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    interp_element(x, y, p, i);
}

// ---- Host: the reference's per-axis filters ----

struct AxisFilter {
  std::vector<int64_t> begin{0}, index;
  std::vector<double> weight;
  std::vector<uint8_t> extrap;
  bool any_extrap = false;
  bool identity = false;
};

double source_coord(const ResizeAttrs& a, const ResizePlan& p, size_t d, int64_t in, int64_t o) {
  const double s = p.scale[d], width = p.out_width[d], x = static_cast<double>(o);
  const double last = static_cast<double>(in - 1);
  switch (a.coord) {
    case CoordMode::kHalfPixel: return (x + 0.5) / s - 0.5;
    case CoordMode::kHalfPixelSymmetric: {
      const double adjustment = static_cast<double>(p.out[d]) / width;
      const double center = static_cast<double>(in) / 2;
      return center * (1 - adjustment) + (x + 0.5) / s - 0.5;
    }
    case CoordMode::kPytorchHalfPixel: return p.out[d] > 1 ? (x + 0.5) / s - 0.5 : 0.0;
    case CoordMode::kAlignCorners: return width == 1 ? 0.0 : x * last / (width - 1);
    case CoordMode::kAsymmetric: return x / s;
    case CoordMode::kTfCropAndResize: {
      const double start = p.roi_start[d], end = p.roi_end[d];
      const double c = width == 1 ? (end - start) * last / 2 : x * (end - start) * last / (width - 1);
      return c + start * last;
    }
  }
  return 0.0;
}

int64_t nearest_index(NearestMode m, double x) {
  const double f = std::floor(x), frac = x - f;
  const int64_t i = static_cast<int64_t>(f);
  if (frac == 0) return i;
  switch (m) {
    case NearestMode::kRoundPreferFloor: return frac <= 0.5 ? i : i + 1;
    case NearestMode::kRoundPreferCeil: return frac < 0.5 ? i : i + 1;
    case NearestMode::kFloor: return i;
    case NearestMode::kCeil: return i + 1;
  }
  return i;
}

double cubic_weight(double a, double t) {
  t = std::fabs(t);
  if (t <= 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
  if (t < 2) return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a;
  return 0;
}

double linear_weight(double t) {
  t = std::fabs(t);
  return t < 1 ? 1 - t : 0;
}

AxisFilter build_filter(const ResizeAttrs& a, const ResizePlan& p, size_t d, int64_t in) {
  AxisFilter f;
  const int64_t out = p.out[d];
  f.extrap.assign(static_cast<size_t>(out), 0);
  const bool cubic = a.mode == ResizeMode::kCubic;
  const double s_aa = a.antialias ? std::min(p.scale[d], 1.0) : 1.0;
  const int64_t start = static_cast<int64_t>(std::floor(-(cubic ? 2.0 : 1.0) / s_aa)) + 1;
  std::vector<double> w;
  for (int64_t o = 0; o < out; ++o) {
    double x = source_coord(a, p, d, in, o);
    if (a.coord == CoordMode::kTfCropAndResize && (x < 0 || x > static_cast<double>(in - 1))) {
      f.extrap[static_cast<size_t>(o)] = 1;
      f.any_extrap = true;
    }
    x = std::clamp(x, -1e15, 1e15);
    if (std::isnan(x)) x = 0;
    if (a.mode == ResizeMode::kNearest) {
      f.index.push_back(std::clamp<int64_t>(nearest_index(a.nearest, x), 0, in - 1));
      f.weight.push_back(1.0);
      f.begin.push_back(static_cast<int64_t>(f.index.size()));
      continue;
    }
    const double xf = std::floor(x);
    double ratio = x - xf;
    int64_t xi = static_cast<int64_t>(xf);
    if (ratio == 0) {
      ratio = 1;
      xi -= 1;
    }
    w.clear();
    double sum = 0;
    for (int64_t i = start; i < 2 - start; ++i) {
      const double t = (static_cast<double>(i) - ratio) * s_aa;
      w.push_back(cubic ? cubic_weight(a.cubic_a, t) : linear_weight(t));
      sum += w.back();
    }
    if (a.antialias && sum != 0)
      for (double& v : w) v /= sum;
    if (a.exclude_outside) {
      sum = 0;
      for (int64_t i = start; i < 2 - start; ++i) {
        const int64_t pos = xi + i;
        if (pos < 0 || pos >= in) w[static_cast<size_t>(i - start)] = 0;
        sum += w[static_cast<size_t>(i - start)];
      }
      if (sum != 0)
        for (double& v : w) v /= sum;
    }
    for (int64_t i = start; i < 2 - start; ++i) {
      const double wi = w[static_cast<size_t>(i - start)];
      if (wi == 0) continue;
      f.index.push_back(std::clamp<int64_t>(xi + i, 0, in - 1));
      f.weight.push_back(wi);
    }
    f.begin.push_back(static_cast<int64_t>(f.index.size()));
  }
  f.identity = out == in && !f.any_extrap && static_cast<int64_t>(f.index.size()) == out;
  for (int64_t o = 0; f.identity && o < out; ++o)
    f.identity = f.index[static_cast<size_t>(o)] == o && f.weight[static_cast<size_t>(o)] == 1.0;
  return f;
}

AxisFilter identity_filter(int64_t n) {
  AxisFilter f;
  f.identity = true;
  for (int64_t o = 0; o < n; ++o) {
    f.index.push_back(o);
    f.weight.push_back(1.0);
    f.begin.push_back(o + 1);
  }
  return f;
}

bool resize_dtype(DType t) {
  switch (t) {
    case DType::kFloat32: case DType::kFloat16: case DType::kBFloat16: case DType::kFloat64:
    case DType::kInt8: case DType::kUInt8: case DType::kInt32: case DType::kInt64: case DType::kBool:
      return true;
    default:
      return false;
  }
}

struct ResizeSetup {
  DType dtype = DType::kFloat32;
  bool nearest = true;
  int64_t n = 0;
  std::vector<AxisFilter> filters;
  double extrapolation = 0;
};

Expected<ResizeSetup> plan(const LayerView& v) {
  if (v.inputs.empty() || v.inputs.size() > 4 || !v.has_input(0) || v.outputs.size() != 1)
    return Unsupported("expects X, optional roi, scales, sizes and one output");
  const PlanTensor& x = v.in(0);
  const PlanTensor& y = v.out(0);
  ResizeSetup s;
  s.dtype = x.dtype;
  if (!resize_dtype(x.dtype) || y.dtype != x.dtype) return Unsupported("type ", dtype_name(x.dtype));
  if (x.layout != Layout::kLinear || y.layout != Layout::kLinear) return Unsupported("needs linear layout");
  const int64_t rank = static_cast<int64_t>(x.dims.size());
  if (rank < 1 || rank > kMaxRank || y.dims.size() != x.dims.size()) return Unsupported("rank ", rank, " (1 to 8)");
  Node node = node_of(v.layer);
  KILN_ASSIGN_OR_RETURN(ResizeAttrs a, read_resize_attrs(node, rank));
  auto given = [&](size_t i) { return v.has_input(i) && cuda::numel(v.in(i).dims) > 0; };
  std::vector<double> roi;
  std::vector<float> scales;
  std::vector<int64_t> sizes;
  if (given(1)) {
    KILN_ASSIGN_OR_RETURN(roi, weight_floats(v, 1, "roi"));
  }
  if (given(2)) {
    KILN_ASSIGN_OR_RETURN(std::vector<double> sc, weight_floats(v, 2, "scales"));
    for (double d : sc) scales.push_back(static_cast<float>(d));
  }
  if (given(3)) {
    KILN_ASSIGN_OR_RETURN(sizes, weight_ints(v, 3, "sizes"));
  }
  KILN_ASSIGN_OR_RETURN(ResizePlan rp, plan_resize(node, a, x.dims, given(2) ? &scales : nullptr,
                                                   given(3) ? &sizes : nullptr, given(1) ? &roi : nullptr));
  if (rp.out != y.dims) return Unsupported("output dims ", dims_to_string(y.dims), ", expected ", dims_to_string(rp.out));
  s.n = cuda::numel(y.dims);
  s.nearest = a.mode == ResizeMode::kNearest;
  s.extrapolation = a.extrapolation;
  if (!s.nearest && x.dtype == DType::kBool) return Unsupported("interpolating bool values");
  if (s.n == 0) return s;
  int active = 0;
  for (int64_t d = 0; d < rank; ++d) {
    const int64_t in = x.dims[static_cast<size_t>(d)];
    if (std::find(a.axes.begin(), a.axes.end(), d) == a.axes.end()) {
      s.filters.push_back(identity_filter(in));
      continue;
    }
    if (in == 0) return Unsupported("cannot resize axis ", d, " of size 0");
    s.filters.push_back(build_filter(a, rp, static_cast<size_t>(d), in));
    active += s.filters.back().identity ? 0 : 1;
  }
  if (!s.nearest && active > kMaxActive)
    return Unsupported(active, " interpolated axes (at most ", kMaxActive, " at once)");
  return s;
}

// Appends `v` to the blob at an 8-byte aligned offset; returns the offset.
template <typename E>
size_t append(std::vector<uint8_t>& blob, const std::vector<E>& v) {
  size_t at = (blob.size() + 7) / 8 * 8;
  blob.resize(at + v.size() * sizeof(E));
  if (!v.empty()) std::memcpy(blob.data() + at, v.data(), v.size() * sizeof(E));
  return at;
}

class ResizeKernel : public CudaKernel {
 public:
  Status init(const LayerView& v) {
    KILN_ASSIGN_OR_RETURN(s_, plan(v));
    if (s_.n == 0) return Status::Ok();
    const std::vector<int64_t>& in = v.in(0).dims;
    p_.rank = static_cast<int>(in.size());
    p_.extrapolation = s_.extrapolation;
    std::vector<uint8_t> blob;
    size_t at_begin[kMaxRank], at_index[kMaxRank], at_weight[kMaxRank], at_extrap[kMaxRank];
    int64_t stride = 1;
    for (int j = p_.rank - 1; j >= 0; --j) {
      const AxisFilter& f = s_.filters[static_cast<size_t>(j)];
      p_.out[j] = v.out(0).dims[static_cast<size_t>(j)];
      p_.in_stride[j] = stride;
      stride *= in[static_cast<size_t>(j)];
      at_begin[j] = append(blob, f.begin);
      at_index[j] = append(blob, f.index);
      at_weight[j] = append(blob, f.weight);
      at_extrap[j] = append(blob, f.extrap);
    }
    for (int j = 0; j < p_.rank; ++j) {
      const AxisFilter& f = s_.filters[static_cast<size_t>(j)];
      if (!s_.nearest && !f.identity) {
        p_.is_active[j] = true;
        p_.active[p_.n_active++] = j;
      }
    }
    KILN_RETURN_IF_ERROR(tables_.upload(blob.data(), blob.size()));
    const uint8_t* base = static_cast<const uint8_t*>(tables_.get());
    for (int j = 0; j < p_.rank; ++j) {
      const AxisFilter& f = s_.filters[static_cast<size_t>(j)];
      p_.begin[j] = reinterpret_cast<const int64_t*>(base + at_begin[j]);
      p_.index[j] = reinterpret_cast<const int64_t*>(base + at_index[j]);
      p_.weight[j] = reinterpret_cast<const double*>(base + at_weight[j]);
      p_.extrap[j] = f.any_extrap ? base + at_extrap[j] : nullptr;
    }
    return Status::Ok();
  }

  Status enqueue(const LaunchArgs& a) override {
    if (s_.n == 0) return Status::Ok();
    switch (s_.dtype) {
      case DType::kFloat32: return launch<float>(a);
      case DType::kFloat16: return launch<__half>(a);
      case DType::kBFloat16: return launch<__nv_bfloat16>(a);
      case DType::kFloat64: return launch<double>(a);
      case DType::kInt8: return launch<int8_t>(a);
      case DType::kUInt8: return launch<uint8_t>(a);
      case DType::kInt32: return launch<int32_t>(a);
      case DType::kInt64: return launch<long long>(a);
      case DType::kBool: return launch<bool>(a);
      default: return Unsupported("resize: type ", dtype_name(s_.dtype));
    }
  }

 private:
  template <typename T>
  Status launch(const LaunchArgs& a) {
    const T* x = static_cast<const T*>(a.inputs[0]);
    T* y = static_cast<T*>(a.outputs[0]);
    if (s_.nearest)
      nearest_kernel<T><<<cuda::grid_for(s_.n), 256, 0, a.stream>>>(x, y, p_, s_.n);
    else
      interp_kernel<T><<<cuda::grid_for(s_.n), 256, 0, a.stream>>>(x, y, p_, s_.n);
    KILN_CUDA_CHECK_LAUNCH("resize kernel");
    return Status::Ok();
  }

  ResizeSetup s_;
  ResizeParams p_;
  DeviceBuffer tables_;
};

}  // namespace

void register_resize(CudaKernelRegistry& r) {
  CudaKernelDef d;
  d.id = "kiln.resize";
  d.ops = {"Resize"};
  d.supports = [](const LayerView& v, std::string* why) {
    auto s = plan(v);
    return s.ok() ? true : refuse(why, s.status().message());
  };
  d.create = [](const LayerView& v, CudaLibraries&) -> Expected<std::unique_ptr<CudaKernel>> {
    auto k = std::make_unique<ResizeKernel>();
    KILN_RETURN_IF_ERROR(k->init(v));
    return std::unique_ptr<CudaKernel>(std::move(k));
  };
  r.add(std::move(d));
}

}  // namespace kiln::cuconv
