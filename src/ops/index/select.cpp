// OneHot, NonZero, Trilu and Compress: outputs that select or mark
// positions. NonZero's and Compress's sizes depend on data.
#include <cmath>

#include "ops/index/index_util.h"
#include "ops/op_util.h"

namespace kiln::index_family {
namespace {

// ---- OneHot ----

bool numeric(DType t) { return t != DType::kBool && t != DType::kUndefined; }

Expected<int64_t> depth_value(const Node& node, const Tensor& t) {
  if (t.numel() != 1) return node.error(ErrorCode::kInvalidArgument, "depth must hold one element");
  double d = t.get_f64(0);
  if (!std::isfinite(d) || d < 1 || d >= 9.0e18)
    return node.error(ErrorCode::kInvalidArgument, "depth must be a positive number, got ", d);
  return dtype_is_float(t.dtype()) ? static_cast<int64_t>(d) : t.get_i64(0);
}

Expected<int64_t> onehot_axis(const Node& node, int64_t indices_rank) {
  if (indices_rank < 1) return node.error(ErrorCode::kInvalidArgument, "indices must have rank >= 1");
  KILN_ASSIGN_OR_RETURN(int64_t axis, node.attr_int("axis", -1));
  // The new axis is one of rank + 1 positions.
  return check_axis(node, axis, indices_rank + 1, "axis");
}

Status infer_onehot(InferContext& ctx) {
  const Node& node = ctx.node();
  if (!numeric(ctx.input_dtype(0)) || !numeric(ctx.input_dtype(1)))
    return ctx.error("indices and depth must be numeric");
  const Shape& dshape = ctx.input_shape(1);
  if (dshape.rank() > 1 || (dshape.rank() == 1 && dshape[0].is_static() && dshape[0].value != 1))
    return ctx.error("depth must be a scalar or hold one element, got shape ", dshape.to_string());
  const Shape& vshape = ctx.input_shape(2);
  if (vshape.rank() != 1 || (vshape[0].is_static() && vshape[0].value != 2))
    return ctx.error("values must have shape [2], got ", vshape.to_string());
  KILN_ASSIGN_OR_RETURN(int64_t axis, onehot_axis(node, ctx.input_rank(0)));
  Dim depth = ctx.unknown_dim("depth");
  if (const Tensor* t = ctx.input_value(1)) {
    KILN_ASSIGN_OR_RETURN(int64_t d, depth_value(node, *t));
    depth = Dim(d);
  }
  Shape out = ctx.input_shape(0);
  out.dims.insert(out.dims.begin() + axis, depth);
  ctx.set_output(0, ctx.input_dtype(2), std::move(out));
  return Status::Ok();
}

Status cpu_onehot(CpuContext& ctx) {
  const Tensor& ind = ctx.input(0);
  const Tensor& values = ctx.input(2);
  const Node& node = ctx.node();
  if (values.numel() != 2) return ctx.error("values must hold two elements, got ", values.numel());
  KILN_ASSIGN_OR_RETURN(int64_t depth, depth_value(node, ctx.input(1)));
  KILN_ASSIGN_OR_RETURN(int64_t axis, onehot_axis(node, ind.rank()));
  std::vector<int64_t> dims = ind.dims();
  dims.insert(dims.begin() + axis, depth);
  // alloc_output refuses a depth that makes the output too large.
  KILN_ASSIGN_OR_RETURN(Tensor * out, ctx.alloc_output(0, values.dtype(), dims));
  const size_t elem = dtype_size(values.dtype());
  uint8_t* dst = out->mutable_bytes();
  for (int64_t i = 0; i < out->numel(); ++i) copy_elems(dst, i, values.bytes(), 0, 1, elem);
  int64_t inner = span_product(ind.dims(), static_cast<size_t>(axis), ind.dims().size());
  bool float_ind = dtype_is_float(ind.dtype());
  for (int64_t p = 0; p < ind.numel(); ++p) {
    int64_t v;
    if (float_ind) {
      double f = ind.get_f64(p);
      if (!std::isfinite(f) || std::fabs(f) >= 9.0e18) continue;
      v = static_cast<int64_t>(f);
    } else {
      v = ind.get_i64(p);
    }
    // Negative indices count from depth once; the spec leaves indices still
    // outside [0, depth) as all-off rows.
    if (v < 0) v += depth;
    if (v < 0 || v >= depth) continue;
    int64_t o = p / inner, i = p % inner;
    copy_elems(dst, (o * depth + v) * inner + i, values.bytes(), 1, 1, elem);
  }
  return Status::Ok();
}

// ---- NonZero ----

// Positions of non-zero elements (NaN counts, -0.0 does not).
std::vector<int64_t> nonzero_positions(const Tensor& t) {
  std::vector<int64_t> out;
  for (int64_t i = 0; i < t.numel(); ++i)
    if (t.get_f64(i) != 0) out.push_back(i);
  return out;
}

Status infer_nonzero(InferContext& ctx) {
  // At most every element is nonzero: engines plan the output at that bound.
  auto numel = ctx.input_shape(0).numel();
  Dim count = ctx.unknown_dim("nonzero", numel.ok() ? *numel : -1);
  // A constant input has a known count, so the node can fold at import.
  if (const Tensor* t = ctx.input_value(0)) {
    int64_t n = 0;
    for (int64_t i = 0; i < t->numel(); ++i) n += t->get_f64(i) != 0;
    count = Dim(n);
  }
  ctx.set_output(0, DType::kInt64, Shape({Dim(ctx.input_rank(0)), count}));
  return Status::Ok();
}

Status cpu_nonzero(CpuContext& ctx) {
  const Tensor& in = ctx.input(0);
  std::vector<int64_t> pos = nonzero_positions(in);
  int64_t n = static_cast<int64_t>(pos.size());
  KILN_ASSIGN_OR_RETURN(Tensor * out, ctx.alloc_output(0, DType::kInt64, {in.rank(), n}));
  std::vector<int64_t> idx;
  for (int64_t j = 0; j < n; ++j) {
    unravel(pos[static_cast<size_t>(j)], in.dims(), idx);
    for (int64_t d = 0; d < in.rank(); ++d) out->set_i64(d * n + j, idx[static_cast<size_t>(d)]);
  }
  return Status::Ok();
}

// ---- Trilu ----

Status infer_trilu(InferContext& ctx) {
  if (ctx.input_rank(0) < 2) return ctx.error("input must have rank >= 2, got ", ctx.input_shape(0).to_string());
  KILN_ASSIGN_OR_RETURN(int64_t upper, ctx.node().attr_int("upper", 1));
  if (upper != 0 && upper != 1) return ctx.error("upper must be 0 or 1, got ", upper);
  if (ctx.has_input(1)) {
    if (ctx.input_dtype(1) != DType::kInt64) return ctx.error("k must be int64");
    const Shape& k = ctx.input_shape(1);
    if (k.rank() > 1 || (k.rank() == 1 && k[0].is_static() && k[0].value != 1))
      return ctx.error("k must be a scalar, got shape ", k.to_string());
  }
  ctx.set_output(0, ctx.input_dtype(0), ctx.input_shape(0));
  return Status::Ok();
}

Status cpu_trilu(CpuContext& ctx) {
  const Tensor& in = ctx.input(0);
  if (in.rank() < 2) return ctx.error("input must have rank >= 2");
  KILN_ASSIGN_OR_RETURN(int64_t upper, ctx.node().attr_int("upper", 1));
  int64_t k = 0;
  if (ctx.has_input(1)) {
    if (ctx.input(1).numel() != 1) return ctx.error("k must be a scalar");
    k = ctx.input(1).get_i64(0);
  }
  KILN_ASSIGN_OR_RETURN(Tensor * out, ctx.alloc_output(0, in.dtype(), in.dims()));
  int64_t rows = in.dim(in.rank() - 2), cols = in.dim(in.rank() - 1);
  int64_t mats = span_product(in.dims(), 0, in.dims().size() - 2);
  const size_t elem = dtype_size(in.dtype());
  uint8_t* dst = out->mutable_bytes();
  // Outputs start zeroed: copy only the kept triangle (j - i >= k above the
  // k-th diagonal, j - i <= k below it).
  for (int64_t m = 0; m < mats; ++m)
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j) {
        bool keep = upper ? j - i >= k : j - i <= k;
        int64_t p = (m * rows + i) * cols + j;
        if (keep) copy_elems(dst, p, in.bytes(), p, 1, elem);
      }
  return Status::Ok();
}

// ---- Compress ----

// Selected positions along the axis; condition may be shorter than the axis
// (the rest is dropped) but may not select past its end.
Expected<std::vector<int64_t>> compress_selection(const Node& node, const Tensor& cond, int64_t dim) {
  std::vector<int64_t> out;
  for (int64_t i = 0; i < cond.numel(); ++i) {
    if (cond.get_i64(i) == 0) continue;
    if (i >= dim)
      return node.error(ErrorCode::kOutOfRange, "condition selects index ", i, " of an axis of size ", dim);
    out.push_back(i);
  }
  return out;
}

Expected<int64_t> compress_axis(const Node& node, int64_t rank) {
  if (!node.has_attr("axis")) return int64_t{-1};
  KILN_ASSIGN_OR_RETURN(int64_t axis, node.attr_int("axis", 0));
  return check_axis(node, axis, rank, "axis");
}

Status infer_compress(InferContext& ctx) {
  if (ctx.input_dtype(1) != DType::kBool) return ctx.error("condition must be bool");
  if (ctx.input_rank(1) != 1) return ctx.error("condition must be 1-D");
  KILN_ASSIGN_OR_RETURN(int64_t axis, compress_axis(ctx.node(), ctx.input_rank(0)));
  const Shape& in = ctx.input_shape(0);
  Dim dim;
  Shape out;
  if (axis < 0) {
    auto n = in.numel();
    dim = n.ok() ? Dim(*n) : Dim();
    out = Shape({Dim()});
    axis = 0;
  } else {
    dim = in[static_cast<size_t>(axis)];
    out = in;
  }
  Dim& o = out[static_cast<size_t>(axis)];
  o = ctx.unknown_dim("compress");
  if (const Tensor* cond = ctx.input_value(1); cond && dim.is_static()) {
    KILN_ASSIGN_OR_RETURN(auto sel, compress_selection(ctx.node(), *cond, dim.value));
    o = Dim(static_cast<int64_t>(sel.size()));
  }
  ctx.set_output(0, ctx.input_dtype(0), std::move(out));
  return Status::Ok();
}

Status cpu_compress(CpuContext& ctx) {
  const Tensor& in = ctx.input(0);
  const Tensor& cond = ctx.input(1);
  if (cond.dtype() != DType::kBool || cond.rank() != 1) return ctx.error("condition must be a 1-D bool tensor");
  KILN_ASSIGN_OR_RETURN(int64_t axis, compress_axis(ctx.node(), in.rank()));
  // Without an axis the input is read flat.
  std::vector<int64_t> in_dims = axis < 0 ? std::vector<int64_t>{in.numel()} : in.dims();
  size_t a = axis < 0 ? 0 : static_cast<size_t>(axis);
  KILN_ASSIGN_OR_RETURN(auto sel, compress_selection(ctx.node(), cond, in_dims[a]));
  std::vector<int64_t> dims = in_dims;
  dims[a] = static_cast<int64_t>(sel.size());
  KILN_ASSIGN_OR_RETURN(Tensor * out, ctx.alloc_output(0, in.dtype(), dims));
  int64_t outer = span_product(in_dims, 0, a);
  int64_t inner = span_product(in_dims, a + 1, in_dims.size());
  const size_t elem = dtype_size(in.dtype());
  uint8_t* dst = out->mutable_bytes();
  int64_t o_pos = 0;
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i : sel) {
      copy_elems(dst, o_pos, in.bytes(), (o * in_dims[a] + i) * inner, inner, elem);
      o_pos += inner;
    }
  return Status::Ok();
}

}  // namespace

void register_select_ops(OpRegistry& r) {
  r.add(make_schema("OneHot", 3, 3, infer_onehot, cpu_onehot));
  r.add(make_schema("NonZero", 1, 1, infer_nonzero, cpu_nonzero));
  OpSchema trilu = make_schema("Trilu", 1, 2, infer_trilu, cpu_trilu);
  trilu.since_opset = 14;
  r.add(std::move(trilu));
  r.add(make_schema("Compress", 2, 2, infer_compress, cpu_compress));
}

}  // namespace kiln::index_family
