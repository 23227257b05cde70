// ScatterND and ScatterElements: a copy of data with elements at indexed
// positions replaced or combined (reduction add/mul/max/min) with updates.
// Updates apply in index order, so duplicate indices give a deterministic
// result (the last one wins with reduction none).
#include "ops/index/index_util.h"
#include "ops/op_util.h"

namespace kiln::index_family {
namespace {

Status check_updates_dtype(const Node& node, DType data, DType updates) {
  if (data != updates)
    return node.error(ErrorCode::kInvalidArgument, "updates is ", dtype_name(updates), ", data is ",
                      dtype_name(data));
  return Status::Ok();
}

// ---- ScatterND ----

// Checks ranks and that updates' shape is indices.shape[:-1] + data.shape[k:].
Status check_scatter_nd(const Node& node, const Shape& data, const Shape& ind, const Shape& upd) {
  int64_t r = static_cast<int64_t>(data.rank()), q = static_cast<int64_t>(ind.rank());
  if (r < 1 || q < 1) return node.error(ErrorCode::kInvalidArgument, "data and indices must have rank >= 1");
  const Dim& last = ind[static_cast<size_t>(q - 1)];
  if (!last.is_static()) return Status::Ok();
  int64_t k = last.value;
  if (k > r) return node.error(ErrorCode::kOutOfRange, "indices' last dim ", k, " exceeds data rank ", r);
  Shape want;
  want.dims.assign(ind.dims.begin(), ind.dims.end() - 1);
  want.dims.insert(want.dims.end(), data.dims.begin() + k, data.dims.end());
  bool ok = want.rank() == upd.rank();
  for (size_t d = 0; ok && d < want.rank(); ++d)
    if (want[d].is_static() && upd[d].is_static() && want[d].value != upd[d].value) ok = false;
  if (!ok)
    return node.error(ErrorCode::kInvalidArgument, "updates shape ", upd.to_string(), " should be ",
                      want.to_string());
  return Status::Ok();
}

Status infer_scatter_nd(InferContext& ctx) {
  KILN_RETURN_IF_ERROR(check_index_dtype(ctx.node(), ctx.input_dtype(1), "indices"));
  KILN_RETURN_IF_ERROR(check_updates_dtype(ctx.node(), ctx.input_dtype(0), ctx.input_dtype(2)));
  KILN_RETURN_IF_ERROR(reduction_attr(ctx.node()).status());
  KILN_RETURN_IF_ERROR(check_scatter_nd(ctx.node(), ctx.input_shape(0), ctx.input_shape(1), ctx.input_shape(2)));
  ctx.set_output(0, ctx.input_dtype(0), ctx.input_shape(0));
  return Status::Ok();
}

Status cpu_scatter_nd(CpuContext& ctx) {
  const Tensor& data = ctx.input(0);
  const Tensor& ind = ctx.input(1);
  const Tensor& upd = ctx.input(2);
  const Node& node = ctx.node();
  KILN_RETURN_IF_ERROR(check_index_dtype(node, ind.dtype(), "indices"));
  KILN_RETURN_IF_ERROR(check_updates_dtype(node, data.dtype(), upd.dtype()));
  KILN_ASSIGN_OR_RETURN(Reduction red, reduction_attr(node));
  KILN_RETURN_IF_ERROR(check_scatter_nd(node, data.shape(), ind.shape(), upd.shape()));
  KILN_ASSIGN_OR_RETURN(Tensor * out, alloc_copy(ctx, 0, data));
  const std::vector<int64_t>& dd = data.dims();
  int64_t k = ind.dims().back();
  size_t kk = static_cast<size_t>(k);
  int64_t tuples = span_product(ind.dims(), 0, ind.dims().size() - 1);
  int64_t slice = span_product(dd, kk, dd.size());
  std::vector<int64_t> strides = contiguous_strides(dd);
  for (int64_t t = 0; t < tuples; ++t) {
    int64_t dst = 0;
    for (size_t m = 0; m < kk; ++m) {
      int64_t raw = ind.get_i64(t * k + static_cast<int64_t>(m));
      KILN_ASSIGN_OR_RETURN(int64_t i, wrap_index(node, raw, dd[m], "index"));
      dst += i * strides[m];
    }
    for (int64_t s = 0; s < slice; ++s) apply_reduction(*out, dst + s, upd, t * slice + s, red);
  }
  return Status::Ok();
}

// ---- ScatterElements ----

// Same ranks; updates' shape is indices'; off the axis indices' dims may not
// exceed data's.
Status check_scatter_elements(const Node& node, const Shape& data, const Shape& ind, const Shape& upd,
                              int64_t axis) {
  if (data.rank() != ind.rank() || ind.rank() != upd.rank())
    return node.error(ErrorCode::kInvalidArgument, "data, indices and updates must have one rank, got ",
                      data.to_string(), ", ", ind.to_string(), ", ", upd.to_string());
  for (size_t d = 0; d < data.rank(); ++d) {
    if (ind[d].is_static() && upd[d].is_static() && ind[d].value != upd[d].value)
      return node.error(ErrorCode::kInvalidArgument, "indices shape ", ind.to_string(), " and updates shape ",
                        upd.to_string(), " differ");
    if (static_cast<int64_t>(d) != axis && ind[d].is_static() && data[d].is_static() && ind[d].value > data[d].value)
      return node.error(ErrorCode::kInvalidArgument, "indices shape ", ind.to_string(), " exceeds data shape ",
                        data.to_string(), " on axis ", d);
  }
  return Status::Ok();
}

Status infer_scatter_elements(InferContext& ctx) {
  const Node& node = ctx.node();
  KILN_RETURN_IF_ERROR(check_index_dtype(node, ctx.input_dtype(1), "indices"));
  KILN_RETURN_IF_ERROR(check_updates_dtype(node, ctx.input_dtype(0), ctx.input_dtype(2)));
  KILN_RETURN_IF_ERROR(reduction_attr(node).status());
  KILN_ASSIGN_OR_RETURN(int64_t axis_attr, node.attr_int("axis", 0));
  KILN_ASSIGN_OR_RETURN(int64_t axis, check_axis(node, axis_attr, ctx.input_rank(0), "axis"));
  KILN_RETURN_IF_ERROR(check_scatter_elements(node, ctx.input_shape(0), ctx.input_shape(1), ctx.input_shape(2), axis));
  KILN_RETURN_IF_ERROR(check_const_indices(ctx, 1, ctx.input_shape(0)[static_cast<size_t>(axis)], "index"));
  ctx.set_output(0, ctx.input_dtype(0), ctx.input_shape(0));
  return Status::Ok();
}

Status cpu_scatter_elements(CpuContext& ctx) {
  const Tensor& data = ctx.input(0);
  const Tensor& ind = ctx.input(1);
  const Tensor& upd = ctx.input(2);
  const Node& node = ctx.node();
  KILN_RETURN_IF_ERROR(check_index_dtype(node, ind.dtype(), "indices"));
  KILN_RETURN_IF_ERROR(check_updates_dtype(node, data.dtype(), upd.dtype()));
  KILN_ASSIGN_OR_RETURN(Reduction red, reduction_attr(node));
  KILN_ASSIGN_OR_RETURN(int64_t axis_attr, node.attr_int("axis", 0));
  KILN_ASSIGN_OR_RETURN(int64_t axis, check_axis(node, axis_attr, data.rank(), "axis"));
  KILN_RETURN_IF_ERROR(check_scatter_elements(node, data.shape(), ind.shape(), upd.shape(), axis));
  KILN_ASSIGN_OR_RETURN(Tensor * out, alloc_copy(ctx, 0, data));
  std::vector<int64_t> strides = contiguous_strides(data.dims());
  std::vector<int64_t> pos;
  for (int64_t p = 0; p < ind.numel(); ++p) {
    KILN_ASSIGN_OR_RETURN(int64_t i, wrap_index(node, ind.get_i64(p), data.dim(axis), "index"));
    unravel(p, ind.dims(), pos);
    pos[static_cast<size_t>(axis)] = i;
    int64_t dst = 0;
    for (size_t d = 0; d < pos.size(); ++d) dst += pos[d] * strides[d];
    apply_reduction(*out, dst, upd, p, red);
  }
  return Status::Ok();
}

}  // namespace

void register_scatter_ops(OpRegistry& r) {
  r.add(make_schema("ScatterND", 3, 3, infer_scatter_nd, cpu_scatter_nd));
  r.add(make_schema("ScatterElements", 3, 3, infer_scatter_elements, cpu_scatter_elements));
}

}  // namespace kiln::index_family
