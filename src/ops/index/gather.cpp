// Gather, GatherElements and GatherND: reads of data at positions taken from
// an index tensor. Every index is checked (negative ones wrap once) before
// anything is read.
#include <algorithm>

#include "ops/index/index_util.h"
#include "ops/op_util.h"

namespace kiln::index_family {
namespace {

// ---- Gather ----

Status infer_gather(InferContext& ctx) {
  const Shape& data = ctx.input_shape(0);
  KILN_RETURN_IF_ERROR(check_index_dtype(ctx.node(), ctx.input_dtype(1), "indices"));
  KILN_ASSIGN_OR_RETURN(int64_t axis_attr, ctx.node().attr_int("axis", 0));
  KILN_ASSIGN_OR_RETURN(int64_t axis, check_axis(ctx.node(), axis_attr, ctx.input_rank(0), "axis"));
  size_t a = static_cast<size_t>(axis);
  KILN_RETURN_IF_ERROR(check_const_indices(ctx, 1, data[a], "index"));
  Shape out;
  out.dims.assign(data.dims.begin(), data.dims.begin() + axis);
  for (const Dim& d : ctx.input_shape(1).dims) out.dims.push_back(d);
  out.dims.insert(out.dims.end(), data.dims.begin() + axis + 1, data.dims.end());
  ctx.set_output(0, ctx.input_dtype(0), std::move(out));
  return Status::Ok();
}

Status cpu_gather(CpuContext& ctx) {
  const Tensor& data = ctx.input(0);
  const Tensor& ind = ctx.input(1);
  const Node& node = ctx.node();
  KILN_RETURN_IF_ERROR(check_index_dtype(node, ind.dtype(), "indices"));
  KILN_ASSIGN_OR_RETURN(int64_t axis_attr, node.attr_int("axis", 0));
  KILN_ASSIGN_OR_RETURN(int64_t axis, check_axis(node, axis_attr, data.rank(), "axis"));
  size_t a = static_cast<size_t>(axis);
  int64_t n = data.dim(axis);
  std::vector<int64_t> idx(static_cast<size_t>(ind.numel()));
  for (int64_t j = 0; j < ind.numel(); ++j) {
    KILN_ASSIGN_OR_RETURN(idx[static_cast<size_t>(j)], wrap_index(node, ind.get_i64(j), n, "index"));
  }
  std::vector<int64_t> dims(data.dims().begin(), data.dims().begin() + axis);
  dims.insert(dims.end(), ind.dims().begin(), ind.dims().end());
  dims.insert(dims.end(), data.dims().begin() + axis + 1, data.dims().end());
  KILN_ASSIGN_OR_RETURN(Tensor * out, ctx.alloc_output(0, data.dtype(), dims));
  const size_t elem = dtype_size(data.dtype());
  int64_t outer = span_product(data.dims(), 0, a);
  int64_t inner = span_product(data.dims(), a + 1, data.dims().size());
  uint8_t* dst = out->mutable_bytes();
  int64_t o_pos = 0;
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i : idx) {
      copy_elems(dst, o_pos, data.bytes(), (o * n + i) * inner, inner, elem);
      o_pos += inner;
    }
  return Status::Ok();
}

// ---- GatherElements ----

// indices has data's rank; off the axis its dims may not exceed data's (each
// output element reads data at its own position there).
Status check_elementwise_dims(const Node& node, const Shape& data, const Shape& ind, int64_t axis, const char* what) {
  if (data.rank() != ind.rank())
    return node.error(ErrorCode::kInvalidArgument, what, " has rank ", ind.rank(), ", data has rank ", data.rank());
  for (size_t d = 0; d < data.rank(); ++d) {
    if (static_cast<int64_t>(d) == axis || !data[d].is_static() || !ind[d].is_static()) continue;
    if (ind[d].value > data[d].value)
      return node.error(ErrorCode::kInvalidArgument, what, " shape ", ind.to_string(), " exceeds data shape ",
                        data.to_string(), " on axis ", d);
  }
  return Status::Ok();
}

Status infer_gather_elements(InferContext& ctx) {
  const Shape& data = ctx.input_shape(0);
  KILN_RETURN_IF_ERROR(check_index_dtype(ctx.node(), ctx.input_dtype(1), "indices"));
  KILN_ASSIGN_OR_RETURN(int64_t axis_attr, ctx.node().attr_int("axis", 0));
  KILN_ASSIGN_OR_RETURN(int64_t axis, check_axis(ctx.node(), axis_attr, ctx.input_rank(0), "axis"));
  KILN_RETURN_IF_ERROR(check_elementwise_dims(ctx.node(), data, ctx.input_shape(1), axis, "indices"));
  KILN_RETURN_IF_ERROR(check_const_indices(ctx, 1, data[static_cast<size_t>(axis)], "index"));
  ctx.set_output(0, ctx.input_dtype(0), ctx.input_shape(1));
  return Status::Ok();
}

Status cpu_gather_elements(CpuContext& ctx) {
  const Tensor& data = ctx.input(0);
  const Tensor& ind = ctx.input(1);
  const Node& node = ctx.node();
  KILN_RETURN_IF_ERROR(check_index_dtype(node, ind.dtype(), "indices"));
  KILN_ASSIGN_OR_RETURN(int64_t axis_attr, node.attr_int("axis", 0));
  KILN_ASSIGN_OR_RETURN(int64_t axis, check_axis(node, axis_attr, data.rank(), "axis"));
  KILN_RETURN_IF_ERROR(check_elementwise_dims(node, data.shape(), ind.shape(), axis, "indices"));
  KILN_ASSIGN_OR_RETURN(Tensor * out, ctx.alloc_output(0, data.dtype(), ind.dims()));
  std::vector<int64_t> strides = contiguous_strides(data.dims());
  const size_t elem = dtype_size(data.dtype());
  uint8_t* dst = out->mutable_bytes();
  std::vector<int64_t> pos;
  for (int64_t p = 0; p < ind.numel(); ++p) {
    KILN_ASSIGN_OR_RETURN(int64_t i, wrap_index(node, ind.get_i64(p), data.dim(axis), "index"));
    unravel(p, ind.dims(), pos);
    pos[static_cast<size_t>(axis)] = i;
    int64_t src = 0;
    for (size_t d = 0; d < pos.size(); ++d) src += pos[d] * strides[d];
    copy_elems(dst, p, data.bytes(), src, 1, elem);
  }
  return Status::Ok();
}

// ---- GatherND ----

// Checks GatherND's ranks and batch dims; returns the index tuple length k,
// or -1 when it is symbolic.
Expected<int64_t> gather_nd_k(const Node& node, const Shape& data, const Shape& ind, int64_t b) {
  int64_t r = static_cast<int64_t>(data.rank()), q = static_cast<int64_t>(ind.rank());
  if (r < 1 || q < 1) return node.error(ErrorCode::kInvalidArgument, "data and indices must have rank >= 1");
  if (b < 0 || b >= std::min(r, q))
    return node.error(ErrorCode::kOutOfRange, "batch_dims ", b, " must be in [0, ", std::min(r, q), ")");
  for (size_t d = 0; d < static_cast<size_t>(b); ++d)
    if (data[d].is_static() && ind[d].is_static() && data[d].value != ind[d].value)
      return node.error(ErrorCode::kInvalidArgument, "batch dim ", d, " of data ", data.to_string(),
                        " and indices ", ind.to_string(), " differ");
  const Dim& last = ind[static_cast<size_t>(q - 1)];
  if (!last.is_static()) return int64_t{-1};
  if (last.value < 1 || last.value > r - b)
    return node.error(ErrorCode::kOutOfRange, "indices' last dim ", last.value, " must be in [1, ", r - b, "]");
  return last.value;
}

Status infer_gather_nd(InferContext& ctx) {
  const Shape& data = ctx.input_shape(0);
  const Shape& ind = ctx.input_shape(1);
  KILN_RETURN_IF_ERROR(check_index_dtype(ctx.node(), ctx.input_dtype(1), "indices"));
  KILN_ASSIGN_OR_RETURN(int64_t b, ctx.node().attr_int("batch_dims", 0));
  KILN_ASSIGN_OR_RETURN(int64_t k, gather_nd_k(ctx.node(), data, ind, b));
  if (k < 0) {
    ctx.set_output_unknown_rank(0, ctx.input_dtype(0));
    return Status::Ok();
  }
  Shape out;
  out.dims.assign(ind.dims.begin(), ind.dims.end() - 1);
  // Batch dims: take data's where indices' are symbolic.
  for (size_t d = 0; d < static_cast<size_t>(b); ++d)
    if (!out[d].is_static()) out[d] = data[d];
  out.dims.insert(out.dims.end(), data.dims.begin() + b + k, data.dims.end());
  ctx.set_output(0, ctx.input_dtype(0), std::move(out));
  return Status::Ok();
}

Status cpu_gather_nd(CpuContext& ctx) {
  const Tensor& data = ctx.input(0);
  const Tensor& ind = ctx.input(1);
  const Node& node = ctx.node();
  KILN_RETURN_IF_ERROR(check_index_dtype(node, ind.dtype(), "indices"));
  KILN_ASSIGN_OR_RETURN(int64_t b, node.attr_int("batch_dims", 0));
  KILN_ASSIGN_OR_RETURN(int64_t k, gather_nd_k(node, data.shape(), ind.shape(), b));
  const std::vector<int64_t>& dd = data.dims();
  const std::vector<int64_t>& id = ind.dims();
  size_t bb = static_cast<size_t>(b), kk = static_cast<size_t>(k);
  std::vector<int64_t> dims(id.begin(), id.end() - 1);
  dims.insert(dims.end(), dd.begin() + b + k, dd.end());
  KILN_ASSIGN_OR_RETURN(Tensor * out, ctx.alloc_output(0, data.dtype(), dims));
  int64_t batches = span_product(dd, 0, bb);
  int64_t block = span_product(dd, bb, dd.size());           // data elements per batch
  int64_t tuples = span_product(id, bb, id.size() - 1);       // index tuples per batch
  int64_t slice = span_product(dd, bb + kk, dd.size());       // elements per tuple
  std::vector<int64_t> strides = contiguous_strides(std::vector<int64_t>(dd.begin() + b, dd.end()));
  const size_t elem = dtype_size(data.dtype());
  uint8_t* dst = out->mutable_bytes();
  for (int64_t bi = 0; bi < batches; ++bi)
    for (int64_t t = 0; t < tuples; ++t) {
      int64_t tuple = bi * tuples + t;
      int64_t src = bi * block;
      for (size_t m = 0; m < kk; ++m) {
        int64_t raw = ind.get_i64(tuple * k + static_cast<int64_t>(m));
        KILN_ASSIGN_OR_RETURN(int64_t i, wrap_index(node, raw, dd[bb + m], "index"));
        src += i * strides[m];
      }
      copy_elems(dst, tuple * slice, data.bytes(), src, slice, elem);
    }
  return Status::Ok();
}

}  // namespace

void register_gather_ops(OpRegistry& r) {
  r.add(make_schema("Gather", 2, 2, infer_gather, cpu_gather));
  r.add(make_schema("GatherElements", 2, 2, infer_gather_elements, cpu_gather_elements));
  r.add(make_schema("GatherND", 2, 2, infer_gather_nd, cpu_gather_nd));
}

}  // namespace kiln::index_family
