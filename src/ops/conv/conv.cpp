// Conv: N-d convolution (1D/2D/3D...), groups (depthwise included), strides,
// dilations, explicit pads or auto_pad, optional bias, kernel_shape taken from
// the weights when absent. The CPU reference converts X and W once into
// contiguous arrays, accumulates each output plane in double with the inner
// loop running along the last spatial axis, and splits the output planes
// (batch x output channel) over threads; each plane has one owner, so results
// do not depend on the thread count.
#include <algorithm>

#include "base/checked_math.h"
#include "ops/conv/conv_family.h"
#include "ops/conv/window.h"
#include "ops/families.h"

namespace kiln {

Status check_conv_dtypes(const InferContext& ctx) {
  DType t = ctx.input_dtype(0);
  if (t != DType::kFloat32 && t != DType::kFloat16 && t != DType::kBFloat16 && t != DType::kFloat64)
    return ctx.unsupported("input X has type ", dtype_name(t), "; ", ctx.node().op,
                           " supports float32, float16, bfloat16 and float64");
  for (size_t i = 1; i < ctx.num_inputs(); ++i)
    if (ctx.has_input(i) && ctx.input_dtype(i) != t)
      return ctx.error("input ", i, " has type ", dtype_name(ctx.input_dtype(i)), " but X has type ", dtype_name(t));
  return Status::Ok();
}

std::vector<int64_t> dims_or_unknown(const Shape& s) {
  std::vector<int64_t> d;
  for (const Dim& x : s.dims) d.push_back(x.is_static() ? x.value : -1);
  return d;
}

namespace {

// Everything the kernel needs about one convolution, all static.
struct ConvGeom {
  int64_t N = 0, C = 0, M = 0, Cg = 0, Mg = 0;
  std::vector<int64_t> in, out, k, s, d, pb;  // per spatial axis
  int64_t in_size = 1, out_size = 1, k_size = 1;
};

// Checks the channel layout shared by inference and the kernel. Dims are -1
// when symbolic (inference only).
Status check_channels(const Node& node, int64_t group, int64_t C, int64_t M, int64_t Cg) {
  if (group < 1) return node.error(ErrorCode::kInvalidArgument, "group must be >= 1, got ", group);
  if (M >= 0 && M % group != 0)
    return node.error(ErrorCode::kInvalidArgument, "W has ", M, " output channels, not divisible by group ", group);
  if (C >= 0 && C % group != 0)
    return node.error(ErrorCode::kInvalidArgument, "X has ", C, " channels, not divisible by group ", group);
  if (C >= 0 && Cg >= 0 && C / group != Cg)
    return node.error(ErrorCode::kInvalidArgument, "W expects ", Cg, " input channels per group but X has ", C,
                      " channels in ", group, " group(s)");
  return Status::Ok();
}

Status check_bias(const Node& node, const Shape& b, int64_t M) {
  if (b.rank() != 1) return node.error(ErrorCode::kInvalidArgument, "B must be 1-D, got shape ", b.to_string());
  if (M >= 0 && b[0].is_static() && b[0].value != M)
    return node.error(ErrorCode::kInvalidArgument, "B has ", b[0].value, " values but W has ", M, " output channels");
  return Status::Ok();
}

Status infer_conv(InferContext& ctx) {
  const Node& node = ctx.node();
  KILN_RETURN_IF_ERROR(check_conv_dtypes(ctx));
  const Shape& xs = ctx.input_shape(0);
  const Shape& ws = ctx.input_shape(1);
  if (xs.rank() < 3) return ctx.error("X must have rank >= 3 (N, C, spatial...), got shape ", xs.to_string());
  if (ws.rank() != xs.rank())
    return ctx.error("W has shape ", ws.to_string(), " but X has rank ", xs.rank(), "; they must have the same rank");
  size_t nsp = xs.rank() - 2;
  KILN_ASSIGN_OR_RETURN(WindowAttrs a, read_window_attrs(node, nsp, false));
  KILN_ASSIGN_OR_RETURN(int64_t group, node.attr_int("group", 1));
  std::vector<int64_t> wd = dims_or_unknown(ws);
  KILN_RETURN_IF_ERROR(resolve_kernel(node, a, std::vector<int64_t>(wd.begin() + 2, wd.end())));
  int64_t C = xs[1].is_static() ? xs[1].value : -1;
  KILN_RETURN_IF_ERROR(check_channels(node, group, C, wd[0], wd[1]));
  if (ctx.has_input(2)) KILN_RETURN_IF_ERROR(check_bias(node, ctx.input_shape(2), wd[0]));
  std::vector<Dim> out{xs[0], ws[0]};
  for (size_t i = 0; i < nsp; ++i) {
    KILN_ASSIGN_OR_RETURN(Dim d, forward_dim(ctx, a, i, xs[i + 2], false));
    out.push_back(d);
  }
  ctx.set_output(0, ctx.input_dtype(0), Shape(out));
  return Status::Ok();
}

// Accumulates one output plane y (out_size values) for batch n, channel m.
// For kernel tap k, output position o reads input o * s + a on each axis
// (a = k * dilation - pad_begin). The outputs whose reads fall inside the
// input form a box, computed per axis; the box is walked row by row with the
// innermost loop along the last axis.
template <typename T>
void conv_plane(const ConvGeom& g, const T* x, const T* w, int64_t n, int64_t m, double* y) {
  const size_t nsp = g.in.size(), last = nsp - 1;
  const int64_t grp = m / g.Mg;
  const std::vector<int64_t> x_strides = contiguous_strides(g.in), y_strides = contiguous_strides(g.out);
  std::vector<int64_t> kidx(nsp, 0), a(nsp), lo(nsp), hi(nsp), o(nsp);
  for (int64_t t = 0; t < g.k_size; ++t) {
    bool empty = false;
    bool same_plane = true;  // reads input position == output position (1x1, stride 1, no pads)
    for (size_t j = 0; j < nsp; ++j) {
      a[j] = kidx[j] * g.d[j] - g.pb[j];
      lo[j] = std::max<int64_t>(0, -floor_div(a[j], g.s[j]));
      hi[j] = std::min(g.out[j], floor_div(g.in[j] - 1 - a[j], g.s[j]) + 1);
      empty = empty || lo[j] >= hi[j];
      same_plane = same_plane && a[j] == 0 && g.s[j] == 1 && g.in[j] == g.out[j];
    }
    for (int64_t c = 0; c < g.Cg && !empty; ++c) {
      const T* xc = x + (n * g.C + grp * g.Cg + c) * g.in_size;
      const double wv = static_cast<double>(w[(m * g.Cg + c) * g.k_size + t]);
      if (same_plane) {
        for (int64_t i = 0; i < g.out_size; ++i) y[i] += wv * static_cast<double>(xc[i]);
        continue;
      }
      std::copy(lo.begin(), lo.end(), o.begin());
      for (bool more = true; more;) {
        int64_t x_off = 0, y_off = 0;
        for (size_t j = 0; j < last; ++j) {
          x_off += (o[j] * g.s[j] + a[j]) * x_strides[j];
          y_off += o[j] * y_strides[j];
        }
        double* yr = y + y_off;
        const T* xr = xc + x_off;
        if (g.s[last] == 1) {
          const T* xs = xr + (lo[last] + a[last]);
          for (int64_t ow = lo[last]; ow < hi[last]; ++ow) yr[ow] += wv * static_cast<double>(xs[ow - lo[last]]);
        } else {
          for (int64_t ow = lo[last]; ow < hi[last]; ++ow)
            yr[ow] += wv * static_cast<double>(xr[ow * g.s[last] + a[last]]);
        }
        more = false;
        for (size_t j = last; j-- > 0;) {  // next row of the box
          if (++o[j] < hi[j]) {
            more = true;
            break;
          }
          o[j] = lo[j];
        }
      }
    }
    for (size_t j = nsp; j-- > 0;) {  // next kernel tap
      if (++kidx[j] < g.k[j]) break;
      kidx[j] = 0;
    }
  }
}

template <typename T>
void run_conv_planes(const ConvGeom& g, const Tensor& xt, const Tensor& wt, const Tensor* bt, Tensor& yt) {
  const double work = static_cast<double>(g.N) * g.M * g.out_size * g.Cg * g.k_size;
  run_planes<T>(g.N, g.M, g.out_size, work, xt, wt, bt, yt,
                [&](const T* x, const T* w, int64_t n, int64_t m, double* acc) { conv_plane<T>(g, x, w, n, m, acc); });
}

Status run_conv(CpuContext& ctx) {
  const Node& node = ctx.node();
  const Tensor& x = ctx.input(0);
  const Tensor& w = ctx.input(1);
  const Tensor* b = ctx.has_input(2) ? &ctx.input(2) : nullptr;
  if (x.rank() < 3 || w.rank() != x.rank())
    return ctx.error("X ", dims_to_string(x.dims()), " and W ", dims_to_string(w.dims()),
                     " must have the same rank >= 3");
  size_t nsp = static_cast<size_t>(x.rank() - 2);
  KILN_ASSIGN_OR_RETURN(WindowAttrs a, read_window_attrs(node, nsp, false));
  KILN_ASSIGN_OR_RETURN(int64_t group, node.attr_int("group", 1));
  KILN_RETURN_IF_ERROR(resolve_kernel(node, a, std::vector<int64_t>(w.dims().begin() + 2, w.dims().end())));
  KILN_RETURN_IF_ERROR(check_channels(node, group, x.dim(1), w.dim(0), w.dim(1)));
  if (b) KILN_RETURN_IF_ERROR(check_bias(node, b->shape(), w.dim(0)));
  ConvGeom g;
  g.N = x.dim(0);
  g.C = x.dim(1);
  g.M = w.dim(0);
  g.Cg = w.dim(1);
  g.Mg = g.M / group;
  std::vector<int64_t> out_dims{g.N, g.M};
  for (size_t i = 0; i < nsp; ++i) {
    KILN_ASSIGN_OR_RETURN(AxisWindow aw, forward_axis(node, a, i, x.dim(static_cast<int64_t>(i) + 2), false));
    g.in.push_back(x.dim(static_cast<int64_t>(i) + 2));
    g.out.push_back(aw.out);
    g.pb.push_back(aw.pad_begin);
    out_dims.push_back(aw.out);
  }
  g.k = a.kernel;
  g.s = a.strides;
  g.d = a.dilations;
  for (size_t i = 0; i < nsp; ++i) {
    g.in_size *= g.in[i];
    g.k_size *= g.k[i];
  }
  auto out_size = checked_product(std::vector<int64_t>(out_dims.begin() + 2, out_dims.end()));
  if (!out_size) return ctx.error("output size overflows");
  g.out_size = *out_size;
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.alloc_output(0, x.dtype(), out_dims));
  if (y->numel() == 0) return Status::Ok();
  if (x.dtype() == DType::kFloat64)
    run_conv_planes<double>(g, x, w, b, *y);
  else
    run_conv_planes<float>(g, x, w, b, *y);
  return Status::Ok();
}

}  // namespace

void register_conv_ops(OpRegistry& r) {
  OpSchema conv;
  conv.name = "Conv";
  conv.family = "conv";
  conv.min_inputs = 2;
  conv.max_inputs = 3;
  conv.infer = infer_conv;
  conv.cpu = run_conv;
  r.add(std::move(conv));
  register_conv_transpose_op(r);
  add_conv_cases(r);
}

}  // namespace kiln
