// Ops that change how a tensor's elements are indexed: Reshape, Flatten,
// Squeeze and Unsqueeze only relabel dims (the output shares the input's
// bytes); Transpose moves elements.
#include <algorithm>
#include <set>
#include <string>

#include "base/checked_math.h"
#include "ops/shape/shape_util.h"

namespace kiln::shape_family {
namespace {

// ---- Reshape ----

// Static part, named symbols and anonymous unknowns of a list of dims.
struct DimFactors {
  int64_t product = 1;
  bool overflow = false;
  std::multiset<std::string> symbols;
  int anonymous = 0;
};

DimFactors factor(const std::vector<Dim>& dims, int64_t skip) {
  DimFactors f;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (static_cast<int64_t>(i) == skip) continue;
    const Dim& d = dims[i];
    if (d.is_static()) {
      auto p = checked_mul(f.product, d.value);
      if (!p) f.overflow = true;
      f.product = p.value_or(0);
    } else if (d.symbol.empty()) {
      ++f.anonymous;
    } else {
      f.symbols.insert(d.symbol);
    }
  }
  return f;
}

// Output shape of Reshape. 0 copies the input dim (unless allowzero) and -1
// takes the remaining size, also across symbolic dims when the symbols cancel:
// [batch,3,4] to [-1,12] gives [batch,12].
Expected<Shape> reshape_shape(const Node& node, const Shape& in, const std::vector<int64_t>& target,
                              bool allowzero, const InferContext* ctx) {
  Shape out;
  int64_t infer_at = -1;
  bool has_zero = false;
  for (size_t i = 0; i < target.size(); ++i) {
    int64_t v = target[i];
    if (v == -1) {
      if (infer_at >= 0) return node.error(ErrorCode::kInvalidArgument, "shape has more than one -1");
      infer_at = static_cast<int64_t>(i);
      out.dims.emplace_back();
    } else if (v < -1) {
      return node.error(ErrorCode::kInvalidArgument, "shape value ", v, " at index ", i, " is negative");
    } else if (v == 0 && !allowzero) {
      if (i >= in.rank())
        return node.error(ErrorCode::kInvalidArgument, "shape value 0 at index ", i,
                          " copies a dim the input of rank ", in.rank(), " does not have");
      out.dims.push_back(in[i]);
    } else {
      has_zero |= v == 0;
      out.dims.emplace_back(v);
    }
  }
  if (allowzero && has_zero && infer_at >= 0)
    return node.error(ErrorCode::kInvalidArgument, "with allowzero=1 the shape cannot hold both 0 and -1");

  DimFactors fin = factor(in.dims, -1);
  DimFactors fout = factor(out.dims, infer_at);
  if (fin.overflow || fout.overflow) return node.error(ErrorCode::kOutOfRange, "element count overflows int64");
  // Cancel the symbols both sides share.
  bool out_cancels = fout.anonymous == 0;
  for (const std::string& s : fout.symbols) {
    auto it = fin.symbols.find(s);
    if (it == fin.symbols.end()) {
      out_cancels = false;
      break;
    }
    fin.symbols.erase(it);
  }
  bool in_static_rest = fin.symbols.empty() && fin.anonymous == 0;
  if (infer_at >= 0) {
    Dim& d = out.dims[static_cast<size_t>(infer_at)];
    if (fout.product == 0)
      return node.error(ErrorCode::kInvalidArgument, "cannot infer the -1 dim of ", out.to_string(),
                        ": the other dims multiply to 0");
    if (!out_cancels) {
      d = unknown(ctx);
    } else if (fin.product == 0) {
      d = Dim(0);
    } else if (in_static_rest) {
      if (fin.product % fout.product != 0)
        return node.error(ErrorCode::kInvalidArgument, "cannot reshape ", in.to_string(), " to ",
                          dims_to_string(target));
      d = Dim(fin.product / fout.product);
    } else if (fin.symbols.size() == 1 && fin.anonymous == 0 && fin.product == fout.product) {
      d = Dim::symbolic(*fin.symbols.begin());
    } else {
      d = unknown(ctx);
    }
  } else if (out_cancels && in_static_rest && fin.product != fout.product) {
    return node.error(ErrorCode::kInvalidArgument, "cannot reshape ", in.to_string(), " to ", out.to_string(),
                      ": element counts differ");
  }
  return out;
}

Expected<bool> allowzero_attr(const Node& node) {
  KILN_ASSIGN_OR_RETURN(int64_t a, node.attr_int("allowzero", 0));
  if (a != 0 && a != 1) return node.error(ErrorCode::kInvalidArgument, "allowzero must be 0 or 1, got ", a);
  return a == 1;
}

Status infer_reshape(InferContext& ctx) {
  KILN_RETURN_IF_ERROR(check_int_list_input(ctx, 1, "shape"));
  KILN_ASSIGN_OR_RETURN(bool allowzero, allowzero_attr(ctx.node()));
  KILN_ASSIGN_OR_RETURN(auto target, const_ints(ctx, 1, "shape", true));
  if (target) {
    KILN_ASSIGN_OR_RETURN(Shape out, reshape_shape(ctx.node(), ctx.input_shape(0), *target, allowzero, &ctx));
    ctx.set_output(0, ctx.input_dtype(0), std::move(out));
    return Status::Ok();
  }
  // The shape is computed at run time: its length gives the rank.
  const Dim& len = ctx.input_shape(1)[0];
  if (!len.is_static()) {
    ctx.set_output_unknown_rank(0, ctx.input_dtype(0));
    return Status::Ok();
  }
  Shape out;
  for (int64_t i = 0; i < len.value; ++i) out.dims.push_back(ctx.unknown_dim());
  ctx.set_output(0, ctx.input_dtype(0), std::move(out));
  return Status::Ok();
}

// Relabels the input's bytes with new dims, checking the element count.
Status set_relabelled(CpuContext& ctx, const Shape& out) {
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> dims, static_or_internal(ctx.node(), out));
  auto t = ctx.input(0).reshaped(dims);
  if (!t.ok()) return t.status().with_context(ctx.node().label());
  ctx.set_output(0, std::move(t).value());
  return Status::Ok();
}

Status cpu_reshape(CpuContext& ctx) {
  KILN_ASSIGN_OR_RETURN(bool allowzero, allowzero_attr(ctx.node()));
  KILN_ASSIGN_OR_RETURN(auto target, int_values(ctx.node(), ctx.input(1), "shape", true));
  KILN_ASSIGN_OR_RETURN(Shape out, reshape_shape(ctx.node(), shape_of(ctx.input(0)), target, allowzero, nullptr));
  return set_relabelled(ctx, out);
}

// ---- Flatten ----

Expected<Shape> flatten_shape(const Node& node, const Shape& in, const InferContext* ctx) {
  int64_t rank = static_cast<int64_t>(in.rank());
  KILN_ASSIGN_OR_RETURN(int64_t axis, node.attr_int("axis", 1));
  // Flatten alone accepts axis == rank (everything in the outer dim).
  if (axis < -rank || axis > rank)
    return node.error(ErrorCode::kOutOfRange, "axis ", axis, " is out of range [", -rank, ", ", rank, "]");
  if (axis < 0) axis += rank;
  std::vector<Dim> outer(in.dims.begin(), in.dims.begin() + axis);
  std::vector<Dim> inner(in.dims.begin() + axis, in.dims.end());
  KILN_ASSIGN_OR_RETURN(Dim a, dim_product(node, outer, ctx));
  KILN_ASSIGN_OR_RETURN(Dim b, dim_product(node, inner, ctx));
  return Shape({a, b});
}

Status infer_flatten(InferContext& ctx) {
  KILN_ASSIGN_OR_RETURN(Shape out, flatten_shape(ctx.node(), ctx.input_shape(0), &ctx));
  ctx.set_output(0, ctx.input_dtype(0), std::move(out));
  return Status::Ok();
}

Status cpu_flatten(CpuContext& ctx) {
  KILN_ASSIGN_OR_RETURN(Shape out, flatten_shape(ctx.node(), shape_of(ctx.input(0)), nullptr));
  return set_relabelled(ctx, out);
}

// ---- Squeeze / Unsqueeze ----

// Axes normalised against `rank`; each may appear once.
Expected<std::vector<int64_t>> distinct_axes(const Node& node, const std::vector<int64_t>& axes, int64_t rank) {
  std::vector<int64_t> out;
  for (int64_t a : axes) {
    KILN_ASSIGN_OR_RETURN(int64_t n, check_axis(node, a, rank, "axis"));
    if (std::find(out.begin(), out.end(), n) != out.end())
      return node.error(ErrorCode::kInvalidArgument, "axis ", a, " appears twice in axes");
    out.push_back(n);
  }
  return out;
}

// Squeeze with explicit axes (each dim must be 1; symbolic dims are taken to
// be 1) or, without, of every static 1 dim.
Expected<Shape> squeeze_shape(const Node& node, const Shape& in, const std::vector<int64_t>* axes) {
  int64_t rank = static_cast<int64_t>(in.rank());
  Shape out;
  if (!axes) {
    for (const Dim& d : in.dims)
      if (!(d.is_static() && d.value == 1)) out.dims.push_back(d);
    return out;
  }
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> norm, distinct_axes(node, *axes, rank));
  for (int64_t i = 0; i < rank; ++i) {
    const Dim& d = in[static_cast<size_t>(i)];
    bool squeezed = std::find(norm.begin(), norm.end(), i) != norm.end();
    if (squeezed && d.is_static() && d.value != 1)
      return node.error(ErrorCode::kInvalidArgument, "cannot squeeze axis ", i, " of size ", d.value);
    if (!squeezed) out.dims.push_back(d);
  }
  return out;
}

Status infer_squeeze(InferContext& ctx) {
  DType dt = ctx.input_dtype(0);
  const Shape& in = ctx.input_shape(0);
  if (!ctx.has_input(1)) {
    // A symbolic dim might be 1 at run time: the rank is not known.
    if (!in.is_static()) {
      ctx.set_output_unknown_rank(0, dt);
      return Status::Ok();
    }
    KILN_ASSIGN_OR_RETURN(Shape out, squeeze_shape(ctx.node(), in, nullptr));
    ctx.set_output(0, dt, std::move(out));
    return Status::Ok();
  }
  KILN_RETURN_IF_ERROR(check_int_list_input(ctx, 1, "axes"));
  KILN_ASSIGN_OR_RETURN(auto axes, const_ints(ctx, 1, "axes", true));
  if (axes) {
    KILN_ASSIGN_OR_RETURN(Shape out, squeeze_shape(ctx.node(), in, &*axes));
    ctx.set_output(0, dt, std::move(out));
    return Status::Ok();
  }
  const Dim& len = ctx.input_shape(1)[0];
  if (!len.is_static() || len.value > static_cast<int64_t>(in.rank())) {
    if (len.is_static()) return ctx.error("cannot squeeze ", len.value, " axes from rank ", in.rank());
    ctx.set_output_unknown_rank(0, dt);
    return Status::Ok();
  }
  Shape out;
  for (int64_t i = 0; i < static_cast<int64_t>(in.rank()) - len.value; ++i) out.dims.push_back(ctx.unknown_dim());
  ctx.set_output(0, dt, std::move(out));
  return Status::Ok();
}

Status cpu_squeeze(CpuContext& ctx) {
  Shape in = shape_of(ctx.input(0));
  if (!ctx.has_input(1)) {
    KILN_ASSIGN_OR_RETURN(Shape out, squeeze_shape(ctx.node(), in, nullptr));
    return set_relabelled(ctx, out);
  }
  KILN_ASSIGN_OR_RETURN(auto axes, int_values(ctx.node(), ctx.input(1), "axes", true));
  KILN_ASSIGN_OR_RETURN(Shape out, squeeze_shape(ctx.node(), in, &axes));
  return set_relabelled(ctx, out);
}

Expected<Shape> unsqueeze_shape(const Node& node, const Shape& in, const std::vector<int64_t>& axes) {
  int64_t out_rank = static_cast<int64_t>(in.rank() + axes.size());
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> norm, distinct_axes(node, axes, out_rank));
  Shape out;
  size_t next = 0;
  for (int64_t i = 0; i < out_rank; ++i) {
    if (std::find(norm.begin(), norm.end(), i) != norm.end())
      out.dims.emplace_back(1);
    else
      out.dims.push_back(in[next++]);
  }
  return out;
}

Status infer_unsqueeze(InferContext& ctx) {
  DType dt = ctx.input_dtype(0);
  const Shape& in = ctx.input_shape(0);
  KILN_RETURN_IF_ERROR(check_int_list_input(ctx, 1, "axes"));
  KILN_ASSIGN_OR_RETURN(auto axes, const_ints(ctx, 1, "axes", true));
  if (axes) {
    KILN_ASSIGN_OR_RETURN(Shape out, unsqueeze_shape(ctx.node(), in, *axes));
    ctx.set_output(0, dt, std::move(out));
    return Status::Ok();
  }
  const Dim& len = ctx.input_shape(1)[0];
  if (!len.is_static()) {
    ctx.set_output_unknown_rank(0, dt);
    return Status::Ok();
  }
  Shape out;
  for (int64_t i = 0; i < static_cast<int64_t>(in.rank()) + len.value; ++i) out.dims.push_back(ctx.unknown_dim());
  ctx.set_output(0, dt, std::move(out));
  return Status::Ok();
}

Status cpu_unsqueeze(CpuContext& ctx) {
  KILN_ASSIGN_OR_RETURN(auto axes, int_values(ctx.node(), ctx.input(1), "axes", true));
  KILN_ASSIGN_OR_RETURN(Shape out, unsqueeze_shape(ctx.node(), shape_of(ctx.input(0)), axes));
  return set_relabelled(ctx, out);
}

// ---- Transpose ----

// perm, by default the reversed dims; must be a permutation of [0, rank).
Expected<std::vector<int64_t>> transpose_perm(const Node& node, int64_t rank) {
  std::vector<int64_t> perm;
  if (node.has_attr("perm")) {
    KILN_ASSIGN_OR_RETURN(perm, node.attr_ints("perm"));
  } else {
    for (int64_t i = rank; i-- > 0;) perm.push_back(i);
  }
  if (static_cast<int64_t>(perm.size()) != rank)
    return node.error(ErrorCode::kInvalidArgument, "perm has ", perm.size(), " entries for rank ", rank);
  std::vector<bool> seen(static_cast<size_t>(rank), false);
  for (int64_t p : perm) {
    if (p < 0 || p >= rank)
      return node.error(ErrorCode::kOutOfRange, "perm entry ", p, " is out of range for rank ", rank);
    if (seen[static_cast<size_t>(p)])
      return node.error(ErrorCode::kInvalidArgument, "perm entry ", p, " appears twice");
    seen[static_cast<size_t>(p)] = true;
  }
  return perm;
}

Status infer_transpose(InferContext& ctx) {
  const Shape& in = ctx.input_shape(0);
  KILN_ASSIGN_OR_RETURN(auto perm, transpose_perm(ctx.node(), ctx.input_rank(0)));
  Shape out;
  for (int64_t p : perm) out.dims.push_back(in[static_cast<size_t>(p)]);
  ctx.set_output(0, ctx.input_dtype(0), std::move(out));
  return Status::Ok();
}

Status cpu_transpose(CpuContext& ctx) {
  const Tensor& in = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(auto perm, transpose_perm(ctx.node(), in.rank()));
  std::vector<int64_t> in_strides = contiguous_strides(in.dims());
  std::vector<int64_t> dims, strides;
  for (int64_t p : perm) {
    dims.push_back(in.dim(p));
    strides.push_back(in_strides[static_cast<size_t>(p)]);
  }
  KILN_ASSIGN_OR_RETURN(Tensor * out, ctx.alloc_output(0, in.dtype(), dims));
  strided_copy(*out, in, 0, strides);
  return Status::Ok();
}

}  // namespace

void register_layout_ops(OpRegistry& r) {
  r.add(make_schema("Reshape", 2, 2, infer_reshape, cpu_reshape));
  r.add(make_schema("Flatten", 1, 1, infer_flatten, cpu_flatten));
  r.add(make_schema("Squeeze", 1, 2, infer_squeeze, cpu_squeeze));
  r.add(make_schema("Unsqueeze", 2, 2, infer_unsqueeze, cpu_unsqueeze));
  r.add(make_schema("Transpose", 1, 1, infer_transpose, cpu_transpose));
}

}  // namespace kiln::shape_family
