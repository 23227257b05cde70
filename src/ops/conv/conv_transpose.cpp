// ConvTranspose: the gradient of Conv with respect to its input. Each input
// element is scattered through the kernel into the output; output size from
// pads, output_padding, output_shape or auto_pad. W is [C, M/group, k...].
// The CPU reference gives each output plane (batch x output channel) to one
// thread, which walks the input planes of its group, so results are
// deterministic.
#include <algorithm>

#include "base/checked_math.h"
#include "ops/conv/conv_family.h"
#include "ops/conv/window.h"

namespace kiln {

namespace {

struct TransposeAttrs {
  WindowAttrs window;
  int64_t group = 1;
  std::vector<int64_t> output_padding;  // one per spatial axis
  std::vector<int64_t> output_shape;    // empty or one per spatial axis
};

Expected<TransposeAttrs> read_transpose_attrs(const Node& node, size_t nsp) {
  TransposeAttrs t;
  KILN_ASSIGN_OR_RETURN(t.window, read_window_attrs(node, nsp, false));
  KILN_ASSIGN_OR_RETURN(t.group, node.attr_int("group", 1));
  if (t.group < 1) return node.error(ErrorCode::kInvalidArgument, "group must be >= 1, got ", t.group);
  KILN_ASSIGN_OR_RETURN(t.output_padding, node.attr_ints("output_padding", std::vector<int64_t>(nsp, 0)));
  if (t.output_padding.size() != nsp)
    return node.error(ErrorCode::kInvalidArgument, "output_padding has ", t.output_padding.size(),
                      " values; expected ", nsp);
  KILN_ASSIGN_OR_RETURN(t.output_shape, node.attr_ints("output_shape", {}));
  // Some exporters include N and C in output_shape; keep the spatial part.
  if (t.output_shape.size() == nsp + 2) t.output_shape.erase(t.output_shape.begin(), t.output_shape.begin() + 2);
  if (!t.output_shape.empty() && t.output_shape.size() != nsp)
    return node.error(ErrorCode::kInvalidArgument, "output_shape has ", t.output_shape.size(), " values; expected ",
                      nsp, " (the spatial dims)");
  for (int64_t v : t.output_shape)
    if (v < 0 || v > (int64_t{1} << 31))
      return node.error(ErrorCode::kInvalidArgument, "output_shape values must be in [0, 2^31], got ", v);
  return t;
}

Status check_channels(const Node& node, int64_t group, int64_t C, int64_t Cw) {
  if (C >= 0 && C % group != 0)
    return node.error(ErrorCode::kInvalidArgument, "X has ", C, " channels, not divisible by group ", group);
  if (C >= 0 && Cw >= 0 && C != Cw)
    return node.error(ErrorCode::kInvalidArgument, "W has ", Cw, " input channels (dim 0) but X has ", C);
  return Status::Ok();
}

Status infer_conv_transpose(InferContext& ctx) {
  const Node& node = ctx.node();
  KILN_RETURN_IF_ERROR(check_conv_dtypes(ctx));
  const Shape& xs = ctx.input_shape(0);
  const Shape& ws = ctx.input_shape(1);
  if (xs.rank() < 3) return ctx.error("X must have rank >= 3 (N, C, spatial...), got shape ", xs.to_string());
  if (ws.rank() != xs.rank())
    return ctx.error("W has shape ", ws.to_string(), " but X has rank ", xs.rank(), "; they must have the same rank");
  size_t nsp = xs.rank() - 2;
  KILN_ASSIGN_OR_RETURN(TransposeAttrs t, read_transpose_attrs(node, nsp));
  std::vector<int64_t> wd = dims_or_unknown(ws);
  KILN_RETURN_IF_ERROR(resolve_kernel(node, t.window, std::vector<int64_t>(wd.begin() + 2, wd.end())));
  int64_t C = xs[1].is_static() ? xs[1].value : -1;
  KILN_RETURN_IF_ERROR(check_channels(node, t.group, C, wd[0]));
  Dim M = ctx.unknown_dim();
  if (wd[1] >= 0) {
    auto m = checked_mul(wd[1], t.group);
    if (!m) return ctx.error("output channels overflow");
    M = Dim(*m);
  }
  if (ctx.has_input(2)) {
    const Shape& b = ctx.input_shape(2);
    if (b.rank() != 1) return ctx.error("B must be 1-D, got shape ", b.to_string());
    if (M.is_static() && b[0].is_static() && b[0].value != M.value)
      return ctx.error("B has ", b[0].value, " values but the output has ", M.value, " channels");
  }
  std::vector<Dim> out{xs[0], M};
  for (size_t i = 0; i < nsp; ++i) {
    const Dim& in = xs[i + 2];
    int64_t oshape = t.output_shape.empty() ? -1 : t.output_shape[i];
    if (in.is_static() && !t.window.kernel.empty() && t.window.kernel[i] >= 1) {
      KILN_ASSIGN_OR_RETURN(AxisWindow aw,
                            transpose_axis(node, t.window, i, in.value, t.output_padding[i], oshape));
      out.push_back(Dim(aw.out));
    } else if (oshape >= 0) {
      out.push_back(Dim(oshape));
    } else {
      out.push_back(ctx.unknown_dim());
    }
  }
  ctx.set_output(0, ctx.input_dtype(0), Shape(out));
  return Status::Ok();
}

struct TransposeGeom {
  int64_t N = 0, C = 0, M = 0, Cg = 0, Mg = 0;
  std::vector<int64_t> in, out, k, s, d, pb;
  int64_t in_size = 1, out_size = 1, k_size = 1;
};

// Accumulates output plane y of batch n, channel oc from every input channel
// of its group.
template <typename T>
void transpose_plane(const TransposeGeom& g, const T* x, const T* w, int64_t n, int64_t oc, double* y) {
  const size_t nsp = g.in.size();
  const size_t last = nsp - 1;
  const int64_t out_last = g.out[last], in_last = g.in[last];
  const int64_t s_last = g.s[last];
  const int64_t rows = in_last == 0 ? 0 : g.in_size / in_last;
  const int64_t grp = oc / g.Mg, m = oc % g.Mg;
  std::vector<int64_t> kidx(nsp), iidx(nsp);
  for (int64_t c = 0; c < g.Cg; ++c) {
    const int64_t ic = grp * g.Cg + c;
    const T* xc = x + (n * g.C + ic) * g.in_size;
    const T* wc = w + (ic * g.Mg + m) * g.k_size;
    std::fill(kidx.begin(), kidx.end(), 0);
    for (int64_t t = 0; t < g.k_size; ++t) {
      const double wv = static_cast<double>(wc[t]);
      // Output index along the last axis is i * s + a; keep it in [0, out_last).
      const int64_t a = kidx[last] * g.d[last] - g.pb[last];
      const int64_t lo = std::max<int64_t>(0, -floor_div(a, s_last));
      const int64_t hi = std::min(in_last, floor_div(out_last - 1 - a, s_last) + 1);
      std::fill(iidx.begin(), iidx.end(), 0);
      for (int64_t r = 0; lo < hi && r < rows; ++r) {
        int64_t off = 0;
        bool inside = true;
        for (size_t j = 0; j < last && inside; ++j) {
          int64_t o = iidx[j] * g.s[j] + kidx[j] * g.d[j] - g.pb[j];
          inside = o >= 0 && o < g.out[j];
          off = off * g.out[j] + o;
        }
        if (inside) {
          double* yr = y + off * out_last;
          const T* xr = xc + r * in_last;
          for (int64_t i = lo; i < hi; ++i) yr[i * s_last + a] += wv * static_cast<double>(xr[i]);
        }
        for (size_t j = last; j-- > 0;) {  // next input row
          if (++iidx[j] < g.in[j]) break;
          iidx[j] = 0;
        }
      }
      for (size_t j = nsp; j-- > 0;) {  // next kernel tap
        if (++kidx[j] < g.k[j]) break;
        kidx[j] = 0;
      }
    }
  }
}

template <typename T>
void run_transpose_planes(const TransposeGeom& g, const Tensor& xt, const Tensor& wt, const Tensor* bt,
                          Tensor& yt) {
  const double work = static_cast<double>(g.N) * g.M * g.in_size * g.Cg * g.k_size;
  run_planes<T>(g.N, g.M, g.out_size, work, xt, wt, bt, yt, [&](const T* x, const T* w, int64_t n, int64_t m,
                                                                double* acc) { transpose_plane<T>(g, x, w, n, m, acc); });
}

Status run_conv_transpose(CpuContext& ctx) {
  const Node& node = ctx.node();
  const Tensor& x = ctx.input(0);
  const Tensor& w = ctx.input(1);
  const Tensor* b = ctx.has_input(2) ? &ctx.input(2) : nullptr;
  if (x.rank() < 3 || w.rank() != x.rank())
    return ctx.error("X ", dims_to_string(x.dims()), " and W ", dims_to_string(w.dims()),
                     " must have the same rank >= 3");
  size_t nsp = static_cast<size_t>(x.rank() - 2);
  KILN_ASSIGN_OR_RETURN(TransposeAttrs t, read_transpose_attrs(node, nsp));
  KILN_RETURN_IF_ERROR(resolve_kernel(node, t.window, std::vector<int64_t>(w.dims().begin() + 2, w.dims().end())));
  KILN_RETURN_IF_ERROR(check_channels(node, t.group, x.dim(1), w.dim(0)));
  TransposeGeom g;
  g.N = x.dim(0);
  g.C = x.dim(1);
  g.Cg = g.C / t.group;
  g.Mg = w.dim(1);
  auto M = checked_mul(g.Mg, t.group);
  if (!M) return ctx.error("output channels overflow");
  g.M = *M;
  if (b && (b->rank() != 1 || b->dim(0) != g.M))
    return ctx.error("B has shape ", dims_to_string(b->dims()), "; expected [", g.M, "]");
  std::vector<int64_t> out_dims{g.N, g.M};
  for (size_t i = 0; i < nsp; ++i) {
    int64_t in = x.dim(static_cast<int64_t>(i) + 2);
    int64_t oshape = t.output_shape.empty() ? -1 : t.output_shape[i];
    KILN_ASSIGN_OR_RETURN(AxisWindow aw, transpose_axis(node, t.window, i, in, t.output_padding[i], oshape));
    g.in.push_back(in);
    g.out.push_back(aw.out);
    g.pb.push_back(aw.pad_begin);
    out_dims.push_back(aw.out);
    g.in_size *= in;
  }
  g.k = t.window.kernel;
  g.s = t.window.strides;
  g.d = t.window.dilations;
  for (int64_t k : g.k) g.k_size *= k;
  auto out_size = checked_product(std::vector<int64_t>(out_dims.begin() + 2, out_dims.end()));
  if (!out_size) return ctx.error("output size overflows");
  g.out_size = *out_size;
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.alloc_output(0, x.dtype(), out_dims));
  if (y->numel() == 0) return Status::Ok();
  if (x.dtype() == DType::kFloat64)
    run_transpose_planes<double>(g, x, w, b, *y);
  else
    run_transpose_planes<float>(g, x, w, b, *y);
  return Status::Ok();
}

}  // namespace

void register_conv_transpose_op(OpRegistry& r) {
  OpSchema s;
  s.name = "ConvTranspose";
  s.family = "conv";
  s.min_inputs = 2;
  s.max_inputs = 3;
  s.infer = infer_conv_transpose;
  s.cpu = run_conv_transpose;
  r.add(std::move(s));
}

}  // namespace kiln
