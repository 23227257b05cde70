// Resize reference kernel. Each resized axis gets a 1-D filter: for every
// output position, the input positions it reads and their weights (nearest:
// one tap; linear/cubic: 2/4 taps, or a wider normalized window with
// antialias). Nearest copies elements' bytes (exact for every dtype); linear
// and cubic apply the filters one axis at a time in double. Semantics follow
// the ONNX reference implementation (which the ONNX backend tests encode):
// align_corners and tf_crop_and_resize use the fractional output length
// (scale x input) as the denominator.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "ops/resize/resize_family.h"

namespace kiln {

namespace {

struct AxisFilter {
  std::vector<int64_t> begin;  // taps of output o: [begin[o], begin[o + 1])
  std::vector<int64_t> index;
  std::vector<double> weight;
  std::vector<uint8_t> extrapolate;  // tf_crop_and_resize: sampled outside the input
  bool any_extrapolate = false;
  bool identity = false;
};

// Input coordinate sampled by output position o of axis d.
double source_coord(const ResizeAttrs& a, const ResizePlan& p, size_t d, int64_t in, int64_t o) {
  const double s = p.scale[d], width = p.out_width[d], x = static_cast<double>(o);
  const double last = static_cast<double>(in - 1);
  switch (a.coord) {
    case CoordMode::kHalfPixel:
      return (x + 0.5) / s - 0.5;
    case CoordMode::kHalfPixelSymmetric: {
      // Centers the sampled region when the output length was rounded down.
      double adjustment = static_cast<double>(p.out[d]) / width;
      double center = static_cast<double>(in) / 2;
      return center * (1 - adjustment) + (x + 0.5) / s - 0.5;
    }
    case CoordMode::kPytorchHalfPixel:
      return p.out[d] > 1 ? (x + 0.5) / s - 0.5 : 0.0;
    case CoordMode::kAlignCorners:
      return width == 1 ? 0.0 : x * last / (width - 1);
    case CoordMode::kAsymmetric:
      return x / s;
    case CoordMode::kTfCropAndResize: {
      double start = p.roi_start[d], end = p.roi_end[d];
      double c = width == 1 ? (end - start) * last / 2 : x * (end - start) * last / (width - 1);
      return c + start * last;
    }
  }
  return 0.0;
}

int64_t nearest_index(NearestMode m, double x) {
  double f = std::floor(x);
  double frac = x - f;
  int64_t i = static_cast<int64_t>(f);
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
  f.begin.push_back(0);
  f.extrapolate.assign(static_cast<size_t>(out), 0);
  // Linear and cubic: taps xi + i for i in [start, 2 - start), where xi and
  // ratio in (0, 1] locate x (an integer x counts as ratio 1 from x - 1).
  // Antialias stretches the kernel by 1 / scale when downsampling.
  const bool cubic = a.mode == ResizeMode::kCubic;
  const double s_aa = a.antialias ? std::min(p.scale[d], 1.0) : 1.0;
  const int64_t start = static_cast<int64_t>(std::floor(-(cubic ? 2.0 : 1.0) / s_aa)) + 1;
  std::vector<double> w;
  for (int64_t o = 0; o < out; ++o) {
    double x = source_coord(a, p, d, in, o);
    if (a.coord == CoordMode::kTfCropAndResize && (x < 0 || x > static_cast<double>(in - 1))) {
      f.extrapolate[static_cast<size_t>(o)] = 1;
      f.any_extrapolate = true;
    }
    // Far outside the input every tap clamps to an edge; bound x so the
    // integer conversions below stay defined.
    x = std::clamp(x, -1e15, 1e15);
    if (std::isnan(x)) x = 0;
    if (a.mode == ResizeMode::kNearest) {
      f.index.push_back(std::clamp<int64_t>(nearest_index(a.nearest, x), 0, in - 1));
      f.weight.push_back(1.0);
      f.begin.push_back(static_cast<int64_t>(f.index.size()));
      continue;
    }
    double xf = std::floor(x), ratio = x - xf;
    int64_t xi = static_cast<int64_t>(xf);
    if (ratio == 0) {
      ratio = 1;
      xi -= 1;
    }
    w.clear();
    double sum = 0;
    for (int64_t i = start; i < 2 - start; ++i) {
      double t = (static_cast<double>(i) - ratio) * s_aa;
      w.push_back(cubic ? cubic_weight(a.cubic_a, t) : linear_weight(t));
      sum += w.back();
    }
    if (a.antialias && sum != 0)
      for (double& v : w) v /= sum;
    if (a.exclude_outside) {
      sum = 0;
      for (int64_t i = start; i < 2 - start; ++i) {
        int64_t pos = xi + i;
        if (pos < 0 || pos >= in) w[static_cast<size_t>(i - start)] = 0;
        sum += w[static_cast<size_t>(i - start)];
      }
      if (sum != 0)
        for (double& v : w) v /= sum;
    }
    for (int64_t i = start; i < 2 - start; ++i) {
      double wi = w[static_cast<size_t>(i - start)];
      if (wi == 0) continue;
      f.index.push_back(std::clamp<int64_t>(xi + i, 0, in - 1));
      f.weight.push_back(wi);
    }
    f.begin.push_back(static_cast<int64_t>(f.index.size()));
  }
  f.identity = out == in && !f.any_extrapolate && static_cast<int64_t>(f.index.size()) == out;
  for (int64_t o = 0; f.identity && o < out; ++o)
    f.identity = f.index[static_cast<size_t>(o)] == o && f.weight[static_cast<size_t>(o)] == 1.0;
  return f;
}

// Stores v into element i of y, rounding half to even and saturating for
// integer types (as the ONNX reference casts).
void store(Tensor& y, int64_t i, double v) {
  switch (y.dtype()) {
    case DType::kInt8: y.set_f64(i, std::clamp(std::nearbyint(v), -128.0, 127.0)); return;
    case DType::kUInt8: y.set_f64(i, std::clamp(std::nearbyint(v), 0.0, 255.0)); return;
    case DType::kInt32: y.set_f64(i, std::clamp(std::nearbyint(v), -2147483648.0, 2147483647.0)); return;
    case DType::kInt64:
    case DType::kBool: y.set_f64(i, std::nearbyint(v)); return;
    default: y.set_f64(i, v); return;
  }
}

// Visits every output element with its multi-index (row-major order).
template <typename Fn>
void for_each_index(const std::vector<int64_t>& dims, int64_t numel, Fn fn) {
  std::vector<int64_t> idx(dims.size(), 0);
  for (int64_t e = 0; e < numel; ++e) {
    fn(e, idx);
    for (size_t j = dims.size(); j-- > 0;) {
      if (++idx[j] < dims[j]) break;
      idx[j] = 0;
    }
  }
}

// Nearest: every output element copies the bytes of one input element.
void resize_nearest(const std::vector<AxisFilter>& filters, const Tensor& x, Tensor& y) {
  const size_t es = dtype_size(x.dtype());
  const std::vector<int64_t> strides = contiguous_strides(x.dims());
  const uint8_t* src = x.bytes();
  uint8_t* dst = y.mutable_bytes();
  for_each_index(y.dims(), y.numel(), [&](int64_t e, const std::vector<int64_t>& o) {
    int64_t off = 0;
    for (size_t j = 0; j < o.size(); ++j) off += filters[j].index[static_cast<size_t>(o[j])] * strides[j];
    std::memcpy(dst + static_cast<size_t>(e) * es, src + static_cast<size_t>(off) * es, es);
  });
}

// Linear / cubic: applies each axis' filter in turn to a double buffer.
Status resize_separable(const Node& node, const std::vector<AxisFilter>& filters, const Tensor& x, Tensor& y,
                        const Limits& limits) {
  const int64_t max_elems = limits.max_tensor_bytes / static_cast<int64_t>(sizeof(double));
  if (x.numel() > max_elems)
    return node.error(ErrorCode::kResourceExhausted, "input ", dims_to_string(x.dims()),
                      " is too large for the reference kernel's double buffer");
  std::vector<double> buf = x.to_f64_vector();
  std::vector<int64_t> dims = x.dims();
  for (size_t d = 0; d < dims.size(); ++d) {
    const AxisFilter& f = filters[d];
    if (f.identity) continue;
    const int64_t in_d = dims[d], out_d = y.dim(static_cast<int64_t>(d));
    dims[d] = out_d;
    int64_t outer = 1, inner = 1, total = 1;
    for (size_t j = 0; j < dims.size(); ++j) {
      if (j < d) outer *= dims[j];
      if (j > d) inner *= dims[j];
      total = dims[j] != 0 && total > max_elems / dims[j] ? max_elems + 1 : total * dims[j];
    }
    if (total > max_elems)
      return node.error(ErrorCode::kResourceExhausted, "intermediate ", dims_to_string(dims),
                        " of the reference kernel exceeds the tensor size limit");
    std::vector<double> next(static_cast<size_t>(total), 0.0);
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t j = 0; j < out_d; ++j) {
        double* dst = next.data() + (o * out_d + j) * inner;
        for (int64_t t = f.begin[static_cast<size_t>(j)]; t < f.begin[static_cast<size_t>(j) + 1]; ++t) {
          const double wt = f.weight[static_cast<size_t>(t)];
          const double* src = buf.data() + (o * in_d + f.index[static_cast<size_t>(t)]) * inner;
          for (int64_t k = 0; k < inner; ++k) dst[k] += wt * src[k];
        }
      }
    }
    buf = std::move(next);
  }
  for (int64_t i = 0; i < y.numel(); ++i) store(y, i, buf[static_cast<size_t>(i)]);
  return Status::Ok();
}

}  // namespace

Status resize_kernel(const Node& node, const ResizeAttrs& a, const ResizePlan& plan, const Tensor& x, Tensor& y,
                     const Limits& limits) {
  std::vector<AxisFilter> filters;
  bool extrapolate = false;
  for (size_t d = 0; d < x.dims().size(); ++d) {
    bool resized = std::find(a.axes.begin(), a.axes.end(), static_cast<int64_t>(d)) != a.axes.end();
    if (resized) {
      if (x.dim(static_cast<int64_t>(d)) == 0)
        return node.error(ErrorCode::kInvalidArgument, "cannot resize axis ", d, " of size 0");
      filters.push_back(build_filter(a, plan, d, x.dim(static_cast<int64_t>(d))));
      extrapolate = extrapolate || filters.back().any_extrapolate;
    } else {
      AxisFilter f;  // untouched axis: output o reads input o
      f.identity = true;
      for (int64_t o = 0; o < x.dim(static_cast<int64_t>(d)); ++o) f.index.push_back(o);
      filters.push_back(std::move(f));
    }
  }
  if (a.mode == ResizeMode::kNearest) {
    resize_nearest(filters, x, y);
  } else {
    KILN_RETURN_IF_ERROR(resize_separable(node, filters, x, y, limits));
  }
  if (extrapolate) {
    for_each_index(y.dims(), y.numel(), [&](int64_t e, const std::vector<int64_t>& o) {
      for (size_t j = 0; j < o.size(); ++j)
        if (!filters[j].extrapolate.empty() && filters[j].extrapolate[static_cast<size_t>(o[j])]) {
          store(y, e, a.extrapolation);
          return;
        }
    });
  }
  return Status::Ok();
}

}  // namespace kiln
