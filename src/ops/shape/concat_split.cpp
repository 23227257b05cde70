// Concat and Split: blocks of whole rows along one axis, copied with memcpy.
#include <limits>

#include "base/checked_math.h"
#include "ops/shape/shape_util.h"

namespace kiln::shape_family {
namespace {

// ---- Concat ----

// Output shape of Concat: every dim but `axis` must agree (a symbolic dim
// takes a static one's size), the axis dims add up.
Expected<Shape> concat_shape(const Node& node, const std::vector<Shape>& ins, int64_t axis_attr,
                             const InferContext* ctx) {
  int64_t rank = static_cast<int64_t>(ins[0].rank());
  KILN_ASSIGN_OR_RETURN(int64_t axis, check_axis(node, axis_attr, rank, "axis"));
  Shape out = ins[0];
  int64_t sum = 0;
  int symbolic = 0;
  const Dim* symbol = nullptr;
  for (size_t k = 0; k < ins.size(); ++k) {
    const Shape& s = ins[k];
    if (static_cast<int64_t>(s.rank()) != rank)
      return node.error(ErrorCode::kInvalidArgument, "input ", k, " has rank ", s.rank(), ", input 0 has rank ",
                        rank);
    for (int64_t d = 0; d < rank; ++d) {
      const Dim& dim = s[static_cast<size_t>(d)];
      Dim& o = out[static_cast<size_t>(d)];
      if (d == axis) {
        if (!dim.is_static()) {
          ++symbolic;
          symbol = &dim;
          continue;
        }
        auto next = checked_add(sum, dim.value);
        if (!next) return node.error(ErrorCode::kOutOfRange, "concatenated size overflows int64");
        sum = *next;
      } else if (dim.is_static() && o.is_static() && dim.value != o.value) {
        return node.error(ErrorCode::kInvalidArgument, "input ", k, " has shape ", s.to_string(),
                          ", which does not match ", ins[0].to_string(), " outside axis ", axis);
      } else if (dim.is_static()) {
        o = dim;
      }
    }
  }
  Dim& a = out[static_cast<size_t>(axis)];
  if (symbolic == 0)
    a = Dim(sum);
  else if (symbolic == 1 && sum == 0)
    a = *symbol;
  else
    a = unknown(ctx);
  return out;
}

Status infer_concat(InferContext& ctx) {
  KILN_ASSIGN_OR_RETURN(int64_t axis, ctx.node().attr_int("axis"));
  std::vector<Shape> shapes;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    if (!ctx.has_input(i)) return ctx.error("input ", i, " is missing");
    if (ctx.input_dtype(i) != ctx.input_dtype(0))
      return ctx.error("input ", i, " is ", dtype_name(ctx.input_dtype(i)), ", input 0 is ",
                       dtype_name(ctx.input_dtype(0)));
    shapes.push_back(ctx.input_shape(i));
  }
  KILN_ASSIGN_OR_RETURN(Shape out, concat_shape(ctx.node(), shapes, axis, &ctx));
  ctx.set_output(0, ctx.input_dtype(0), std::move(out));
  return Status::Ok();
}

Status cpu_concat(CpuContext& ctx) {
  KILN_ASSIGN_OR_RETURN(int64_t axis_attr, ctx.node().attr_int("axis"));
  DType dt = ctx.input(0).dtype();
  std::vector<Shape> shapes;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    if (!ctx.has_input(i)) return ctx.error("input ", i, " is missing");
    if (ctx.input(i).dtype() != dt) return ctx.error("input ", i, " has another dtype than input 0");
    shapes.push_back(shape_of(ctx.input(i)));
  }
  KILN_ASSIGN_OR_RETURN(Shape shape, concat_shape(ctx.node(), shapes, axis_attr, nullptr));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> dims, static_or_internal(ctx.node(), shape));
  KILN_ASSIGN_OR_RETURN(Tensor * out, ctx.alloc_output(0, dt, dims));
  size_t axis = static_cast<size_t>(axis_attr < 0 ? axis_attr + out->rank() : axis_attr);
  const size_t elem = dtype_size(dt);
  int64_t outer = span_product(dims, 0, axis);
  int64_t out_row = span_product(dims, axis, dims.size());
  uint8_t* dst = out->mutable_bytes();
  int64_t col = 0;  // where this input's block starts within an output row
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    const Tensor& in = ctx.input(i);
    int64_t row = span_product(in.dims(), axis, in.dims().size());
    for (int64_t o = 0; o < outer; ++o) copy_elems(dst, o * out_row + col, in.bytes(), o * row, row, elem);
    col += row;
  }
  return Status::Ok();
}

// ---- Split ----

// Sizes of Split's outputs along the axis: from the split input, else
// num_outputs (or the number of outputs) chunks of ceil(dim / n) with a
// smaller last one.
Expected<std::vector<Dim>> split_sizes(const Node& node, const Dim& dim, const std::vector<int64_t>* split,
                                       size_t n, const InferContext* ctx) {
  std::vector<Dim> sizes;
  if (split) {
    if (node.has_attr("num_outputs"))
      return node.error(ErrorCode::kInvalidArgument, "split input and num_outputs attribute are both given");
    if (split->size() != n)
      return node.error(ErrorCode::kInvalidArgument, "split has ", split->size(), " entries for ", n, " outputs");
    int64_t sum = 0;
    for (int64_t v : *split) {
      if (v < 0) return node.error(ErrorCode::kInvalidArgument, "split entry ", v, " is negative");
      auto next = checked_add(sum, v);
      if (!next) return node.error(ErrorCode::kOutOfRange, "split entries overflow int64");
      sum = *next;
      sizes.emplace_back(v);
    }
    if (dim.is_static() && sum != dim.value)
      return node.error(ErrorCode::kInvalidArgument, "split entries add up to ", sum, ", the axis has size ",
                        dim.value);
    return sizes;
  }
  int64_t parts = static_cast<int64_t>(n);
  if (node.has_attr("num_outputs")) {
    KILN_ASSIGN_OR_RETURN(parts, node.attr_int("num_outputs", 0));
    if (parts != static_cast<int64_t>(n))
      return node.error(ErrorCode::kInvalidArgument, "num_outputs is ", parts, " but the node has ", n, " outputs");
  }
  if (parts < 1) return node.error(ErrorCode::kInvalidArgument, "Split needs at least one output");
  if (!dim.is_static()) {
    for (int64_t i = 0; i < parts; ++i) sizes.push_back(parts == 1 ? dim : unknown(ctx));
    return sizes;
  }
  // Before opset 18 the parts had to be equal.
  if (node.opset < 18 && dim.value % parts != 0)
    return node.error(ErrorCode::kInvalidArgument, "size ", dim.value, " does not split into ", parts, " equal parts");
  int64_t chunk = dim.value / parts + (dim.value % parts != 0 ? 1 : 0);
  int64_t last = dim.value - chunk * (parts - 1);
  if (last < 0)
    return node.error(ErrorCode::kInvalidArgument, "cannot split size ", dim.value, " into ", parts,
                      " chunks of ", chunk);
  for (int64_t i = 0; i + 1 < parts; ++i) sizes.emplace_back(chunk);
  sizes.emplace_back(last);
  return sizes;
}

Status infer_split(InferContext& ctx) {
  const Shape& in = ctx.input_shape(0);
  KILN_ASSIGN_OR_RETURN(int64_t axis_attr, ctx.node().attr_int("axis", 0));
  KILN_ASSIGN_OR_RETURN(int64_t axis, check_axis(ctx.node(), axis_attr, ctx.input_rank(0), "axis"));
  const Dim& dim = in[static_cast<size_t>(axis)];
  std::vector<Dim> sizes;
  if (ctx.has_input(1)) {
    KILN_RETURN_IF_ERROR(check_int_list_input(ctx, 1, "split"));
    KILN_ASSIGN_OR_RETURN(auto split, const_ints(ctx, 1, "split", true));
    if (split) {
      KILN_ASSIGN_OR_RETURN(sizes, split_sizes(ctx.node(), dim, &*split, ctx.num_outputs(), &ctx));
    } else {
      for (size_t i = 0; i < ctx.num_outputs(); ++i) sizes.push_back(ctx.unknown_dim());
    }
  } else {
    KILN_ASSIGN_OR_RETURN(sizes, split_sizes(ctx.node(), dim, nullptr, ctx.num_outputs(), &ctx));
  }
  for (size_t i = 0; i < ctx.num_outputs(); ++i) {
    Shape out = in;
    out[static_cast<size_t>(axis)] = sizes[i];
    ctx.set_output(i, ctx.input_dtype(0), std::move(out));
  }
  return Status::Ok();
}

Status cpu_split(CpuContext& ctx) {
  const Tensor& in = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(int64_t axis_attr, ctx.node().attr_int("axis", 0));
  KILN_ASSIGN_OR_RETURN(int64_t axis, check_axis(ctx.node(), axis_attr, in.rank(), "axis"));
  std::vector<int64_t> split;
  if (ctx.has_input(1)) {
    KILN_ASSIGN_OR_RETURN(split, int_values(ctx.node(), ctx.input(1), "split", true));
  }
  const std::vector<int64_t>* given = ctx.has_input(1) ? &split : nullptr;
  KILN_ASSIGN_OR_RETURN(auto sizes, split_sizes(ctx.node(), Dim(in.dim(axis)), given, ctx.num_outputs(), nullptr));
  const size_t elem = dtype_size(in.dtype());
  const size_t a = static_cast<size_t>(axis);
  int64_t outer = span_product(in.dims(), 0, a);
  int64_t inner = span_product(in.dims(), a + 1, in.dims().size());
  int64_t in_row = in.dim(axis) * inner;
  int64_t col = 0;
  for (size_t i = 0; i < ctx.num_outputs(); ++i) {
    std::vector<int64_t> dims = in.dims();
    dims[a] = sizes[i].value;
    int64_t row = dims[a] * inner;
    if (ctx.wants_output(i)) {
      KILN_ASSIGN_OR_RETURN(Tensor * out, ctx.alloc_output(i, in.dtype(), dims));
      uint8_t* dst = out->mutable_bytes();
      for (int64_t o = 0; o < outer; ++o) copy_elems(dst, o * row, in.bytes(), o * in_row + col, row, elem);
    }
    col += row;
  }
  return Status::Ok();
}

// Opset 13-17 Split without a split input makes as many parts as outputs;
// the canonical (opset 18) form says so with num_outputs.
Status upgrade_split(Node& node, Graph&) {
  if (node.opset < 18 && !node.has_input(1) && !node.has_attr("num_outputs"))
    node.attrs["num_outputs"] = Attr::of_int(static_cast<int64_t>(node.outputs.size()));
  return Status::Ok();
}

}  // namespace

void register_concat_split_ops(OpRegistry& r) {
  OpSchema concat = make_schema("Concat", 1, std::numeric_limits<int>::max(), infer_concat, cpu_concat);
  r.add(std::move(concat));
  OpSchema split = make_schema("Split", 1, 2, infer_split, cpu_split);
  split.max_outputs = std::numeric_limits<int>::max();
  split.upgrade = upgrade_split;
  r.add(std::move(split));
}

}  // namespace kiln::shape_family
