// Slice, Expand and Tile: outputs whose elements are read from the input
// through per-axis offsets (strided_copy) or, for Tile, modulo the input dims.
#include <algorithm>

#include "base/checked_math.h"
#include "ops/op_util.h"
#include "ops/shape/shape_util.h"

namespace kiln::shape_family {
namespace {

// ---- Slice ----

// An `end` at least this large (or a `start` this negative) means "to the
// end" on a symbolic dim: what exporters write for an open slice.
constexpr int64_t kOpenEnd = (int64_t{1} << 31) - 1;

struct SliceAxis {
  int64_t axis, start, end, step;
};

// Pairs starts/ends/axes/steps per axis, checking lengths, axes and steps.
Expected<std::vector<SliceAxis>> slice_axes(const Node& node, int64_t rank, const std::vector<int64_t>& starts,
                                            const std::vector<int64_t>& ends, const std::vector<int64_t>* axes,
                                            const std::vector<int64_t>* steps) {
  size_t n = starts.size();
  if (ends.size() != n) return node.error(ErrorCode::kInvalidArgument, "starts has ", n, " entries, ends ", ends.size());
  if (axes && axes->size() != n)
    return node.error(ErrorCode::kInvalidArgument, "starts has ", n, " entries, axes ", axes->size());
  if (steps && steps->size() != n)
    return node.error(ErrorCode::kInvalidArgument, "starts has ", n, " entries, steps ", steps->size());
  if (!axes && static_cast<int64_t>(n) > rank)
    return node.error(ErrorCode::kInvalidArgument, n, " starts for an input of rank ", rank);
  std::vector<SliceAxis> out;
  std::vector<bool> seen(static_cast<size_t>(rank), false);
  for (size_t i = 0; i < n; ++i) {
    SliceAxis s{static_cast<int64_t>(i), starts[i], ends[i], steps ? (*steps)[i] : 1};
    if (axes) {
      KILN_ASSIGN_OR_RETURN(s.axis, check_axis(node, (*axes)[i], rank, "axis"));
    }
    if (seen[static_cast<size_t>(s.axis)])
      return node.error(ErrorCode::kInvalidArgument, "axis ", s.axis, " is sliced twice");
    seen[static_cast<size_t>(s.axis)] = true;
    if (s.step == 0) return node.error(ErrorCode::kInvalidArgument, "step of axis ", s.axis, " is 0");
    out.push_back(s);
  }
  return out;
}

// First index and length of a slice of an axis of static size d, clamped as
// the spec says (negative start/end count from the end).
void clamp_slice(int64_t d, SliceAxis s, int64_t& first, int64_t& len) {
  first = 0;
  len = 0;
  if (d == 0) return;
  int64_t start = s.start < 0 ? s.start + d : s.start;
  int64_t end = s.end < 0 ? s.end + d : s.end;
  int64_t diff;
  if (s.step > 0) {
    start = std::clamp<int64_t>(start, 0, d);
    end = std::clamp<int64_t>(end, 0, d);
    diff = end - start;
  } else {
    start = std::clamp<int64_t>(start, 0, d - 1);
    end = std::clamp<int64_t>(end, -1, d - 1);
    diff = start - end;
  }
  first = start;
  if (diff <= 0) return;
  // |step| > diff - 1 whenever step is INT64_MIN, whose negation overflows.
  int64_t mag = s.step == INT64_MIN ? INT64_MAX : (s.step > 0 ? s.step : -s.step);
  len = 1 + (diff - 1) / mag;
}

// Slice of a symbolic dim: the whole dim forwards or backwards keeps it.
Dim slice_symbolic(const Dim& d, SliceAxis s, const InferContext* ctx) {
  bool from_start = s.start == 0 || s.start <= -kOpenEnd;
  if (s.step == 1 && from_start && s.end >= kOpenEnd) return d;
  bool from_end = s.start == -1 || s.start >= kOpenEnd;
  if (s.step == -1 && from_end && s.end <= -kOpenEnd) return d;
  return unknown(ctx);
}

Status check_slice_inputs(const InferContext& ctx) {
  const char* names[] = {"data", "starts", "ends", "axes", "steps"};
  for (size_t i = 1; i < 5; ++i) {
    if (!ctx.has_input(i)) continue;
    KILN_RETURN_IF_ERROR(check_int_list_input(ctx, i, names[i]));
    if (ctx.input_dtype(i) != ctx.input_dtype(1))
      return ctx.error(names[i], " is ", dtype_name(ctx.input_dtype(i)), " but starts is ",
                       dtype_name(ctx.input_dtype(1)));
  }
  if (!ctx.has_input(1) || !ctx.has_input(2)) return ctx.error("starts and ends are required");
  return Status::Ok();
}

Status infer_slice(InferContext& ctx) {
  KILN_RETURN_IF_ERROR(check_slice_inputs(ctx));
  const Shape& in = ctx.input_shape(0);
  int64_t rank = ctx.input_rank(0);
  KILN_ASSIGN_OR_RETURN(auto starts, const_ints(ctx, 1, "starts", true));
  KILN_ASSIGN_OR_RETURN(auto ends, const_ints(ctx, 2, "ends", true));
  KILN_ASSIGN_OR_RETURN(auto axes, const_ints(ctx, 3, "axes", true));
  KILN_ASSIGN_OR_RETURN(auto steps, const_ints(ctx, 4, "steps", true));
  bool axes_known = !ctx.has_input(3) || axes;
  bool steps_known = !ctx.has_input(4) || steps;
  Shape out = in;
  if (starts && ends && axes_known && steps_known) {
    const std::vector<int64_t>* ax = axes ? &*axes : nullptr;
    const std::vector<int64_t>* st = steps ? &*steps : nullptr;
    KILN_ASSIGN_OR_RETURN(auto params, slice_axes(ctx.node(), rank, *starts, *ends, ax, st));
    for (const SliceAxis& s : params) {
      Dim& d = out[static_cast<size_t>(s.axis)];
      if (!d.is_static()) {
        d = slice_symbolic(d, s, &ctx);
        continue;
      }
      int64_t first, len;
      clamp_slice(d.value, s, first, len);
      d = Dim(len);
    }
  } else if (axes_known && (axes || ctx.input_shape(1)[0].is_static())) {
    // Which axes are sliced is known, not by how much.
    std::vector<int64_t> which = axes ? *axes : std::vector<int64_t>();
    if (!axes)
      for (int64_t i = 0; i < ctx.input_shape(1)[0].value; ++i) which.push_back(i);
    for (int64_t a : which) {
      KILN_ASSIGN_OR_RETURN(int64_t n, check_axis(ctx.node(), a, rank, "axis"));
      out[static_cast<size_t>(n)] = ctx.unknown_dim();
    }
  } else {
    for (Dim& d : out.dims) d = ctx.unknown_dim();
  }
  ctx.set_output(0, ctx.input_dtype(0), std::move(out));
  return Status::Ok();
}

Status cpu_slice(CpuContext& ctx) {
  const Tensor& in = ctx.input(0);
  const Node& node = ctx.node();
  if (!ctx.has_input(1) || !ctx.has_input(2)) return ctx.error("starts and ends are required");
  KILN_ASSIGN_OR_RETURN(auto starts, int_values(node, ctx.input(1), "starts", true));
  KILN_ASSIGN_OR_RETURN(auto ends, int_values(node, ctx.input(2), "ends", true));
  std::vector<int64_t> axes, steps;
  if (ctx.has_input(3)) {
    KILN_ASSIGN_OR_RETURN(axes, int_values(node, ctx.input(3), "axes", true));
  }
  if (ctx.has_input(4)) {
    KILN_ASSIGN_OR_RETURN(steps, int_values(node, ctx.input(4), "steps", true));
  }
  const std::vector<int64_t>* ax = ctx.has_input(3) ? &axes : nullptr;
  const std::vector<int64_t>* st = ctx.has_input(4) ? &steps : nullptr;
  KILN_ASSIGN_OR_RETURN(auto params, slice_axes(node, in.rank(), starts, ends, ax, st));
  std::vector<int64_t> in_strides = contiguous_strides(in.dims());
  std::vector<int64_t> dims = in.dims();
  std::vector<int64_t> strides = in_strides;
  int64_t base = 0;
  for (const SliceAxis& s : params) {
    size_t a = static_cast<size_t>(s.axis);
    int64_t first, len;
    clamp_slice(dims[a], s, first, len);
    dims[a] = len;
    base += first * in_strides[a];
    // A step far beyond the dim only ever takes one element.
    strides[a] = len > 1 ? s.step * in_strides[a] : 0;
  }
  KILN_ASSIGN_OR_RETURN(Tensor * out, ctx.alloc_output(0, in.dtype(), dims));
  strided_copy(*out, in, base, strides);
  return Status::Ok();
}

// ---- Expand ----

Status infer_expand(InferContext& ctx) {
  KILN_RETURN_IF_ERROR(check_int_list_input(ctx, 1, "shape"));
  const Shape& in = ctx.input_shape(0);
  KILN_ASSIGN_OR_RETURN(auto target, const_ints(ctx, 1, "shape", true));
  if (target) {
    for (int64_t v : *target)
      if (v < 0) return ctx.error("shape value ", v, " is negative");
    auto out = broadcast_shapes(in, Shape::of(*target));
    if (!out.ok()) return out.status().with_context(ctx.node().label());
    ctx.set_output(0, ctx.input_dtype(0), std::move(out).value());
    return Status::Ok();
  }
  const Dim& len = ctx.input_shape(1)[0];
  if (!len.is_static()) {
    ctx.set_output_unknown_rank(0, ctx.input_dtype(0));
    return Status::Ok();
  }
  // An input dim other than 1 survives whatever the target says there.
  size_t rank = std::max(in.rank(), static_cast<size_t>(len.value));
  Shape out;
  for (size_t i = 0; i < rank; ++i) {
    size_t lead = rank - in.rank();
    const Dim* d = i >= lead ? &in[i - lead] : nullptr;
    out.dims.push_back(d && d->is_static() && d->value != 1 ? *d : ctx.unknown_dim());
  }
  ctx.set_output(0, ctx.input_dtype(0), std::move(out));
  return Status::Ok();
}

Status cpu_expand(CpuContext& ctx) {
  const Tensor& in = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(auto target, int_values(ctx.node(), ctx.input(1), "shape", true));
  for (int64_t v : target)
    if (v < 0) return ctx.error("shape value ", v, " is negative");
  auto dims = broadcast_dims(in.dims(), target);
  if (!dims.ok()) return dims.status().with_context(ctx.node().label());
  KILN_ASSIGN_OR_RETURN(Tensor * out, ctx.alloc_output(0, in.dtype(), *dims));
  std::vector<int64_t> in_strides = contiguous_strides(in.dims());
  size_t lead = dims->size() - in.dims().size();
  std::vector<int64_t> strides(dims->size(), 0);
  for (size_t i = 0; i < in.dims().size(); ++i) strides[lead + i] = in.dims()[i] == 1 ? 0 : in_strides[i];
  strided_copy(*out, in, 0, strides);
  return Status::Ok();
}

// ---- Tile ----

Expected<Shape> tile_shape(const Node& node, const Shape& in, const std::vector<int64_t>& repeats,
                           const InferContext* ctx) {
  if (repeats.size() != in.rank())
    return node.error(ErrorCode::kInvalidArgument, "repeats has ", repeats.size(), " entries for rank ", in.rank());
  Shape out;
  for (size_t i = 0; i < repeats.size(); ++i) {
    int64_t r = repeats[i];
    if (r < 0) return node.error(ErrorCode::kInvalidArgument, "repeat ", r, " of axis ", i, " is negative");
    const Dim& d = in[i];
    if (d.is_static()) {
      auto n = checked_mul(d.value, r);
      if (!n) return node.error(ErrorCode::kOutOfRange, "tiled size of axis ", i, " overflows int64");
      out.dims.emplace_back(*n);
    } else {
      out.dims.push_back(r == 1 ? d : r == 0 ? Dim(0) : unknown(ctx));
    }
  }
  return out;
}

Status infer_tile(InferContext& ctx) {
  KILN_RETURN_IF_ERROR(check_int_list_input(ctx, 1, "repeats"));
  const Shape& in = ctx.input_shape(0);
  KILN_ASSIGN_OR_RETURN(auto repeats, const_ints(ctx, 1, "repeats", true));
  if (repeats) {
    KILN_ASSIGN_OR_RETURN(Shape out, tile_shape(ctx.node(), in, *repeats, &ctx));
    ctx.set_output(0, ctx.input_dtype(0), std::move(out));
    return Status::Ok();
  }
  Shape out;
  for (const Dim& d : in.dims) out.dims.push_back(d.is_static() && d.value == 0 ? Dim(0) : ctx.unknown_dim());
  ctx.set_output(0, ctx.input_dtype(0), std::move(out));
  return Status::Ok();
}

Status cpu_tile(CpuContext& ctx) {
  const Tensor& in = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(auto repeats, int_values(ctx.node(), ctx.input(1), "repeats", true));
  KILN_ASSIGN_OR_RETURN(Shape shape, tile_shape(ctx.node(), shape_of(in), repeats, nullptr));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> dims, static_or_internal(ctx.node(), shape));
  KILN_ASSIGN_OR_RETURN(Tensor * out, ctx.alloc_output(0, in.dtype(), dims));
  std::vector<int64_t> in_strides = contiguous_strides(in.dims());
  const size_t elem = dtype_size(in.dtype());
  uint8_t* dst = out->mutable_bytes();
  std::vector<int64_t> idx;
  for (int64_t o = 0; o < out->numel(); ++o) {
    unravel(o, dims, idx);
    int64_t src = 0;
    for (size_t d = 0; d < dims.size(); ++d) src += (idx[d] % in.dims()[d]) * in_strides[d];
    copy_elems(dst, o, in.bytes(), src, 1, elem);
  }
  return Status::Ok();
}

}  // namespace

void register_slice_ops(OpRegistry& r) {
  r.add(make_schema("Slice", 3, 5, infer_slice, cpu_slice));
  r.add(make_schema("Expand", 2, 2, infer_expand, cpu_expand));
  r.add(make_schema("Tile", 2, 2, infer_tile, cpu_tile));
}

}  // namespace kiln::shape_family
