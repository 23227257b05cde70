// Pad (opsets 13-24): constant / reflect / edge / wrap, pads as an input
// (negative values crop), optional constant_value and axes inputs. Negative
// pads crop first; the other modes then pad from the cropped data. Reflect
// repeats its mirror when the pad is longer than the axis (numpy semantics).
// The kernel maps each output position of each axis to a source position (or
// "constant") and copies element bytes, so every dtype is exact.
#include <algorithm>
#include <cstring>

#include "base/checked_math.h"
#include "ops/resize/resize_family.h"

namespace kiln {

namespace {

enum class PadMode { kConstant, kReflect, kEdge, kWrap };

Expected<PadMode> read_mode(const Node& node) {
  KILN_ASSIGN_OR_RETURN(std::string m, node.attr_string("mode", "constant"));
  if (m == "constant") return PadMode::kConstant;
  if (m == "reflect") return PadMode::kReflect;
  if (m == "edge") return PadMode::kEdge;
  if (m == "wrap") return PadMode::kWrap;
  return node.error(ErrorCode::kInvalidArgument, "mode '", m, "' is not one of constant, reflect, edge, wrap");
}

Expected<std::vector<int64_t>> normalize_axes(const Node& node, const std::vector<int64_t>& axes, int64_t rank) {
  std::vector<int64_t> out;
  std::vector<bool> seen(static_cast<size_t>(rank), false);
  for (int64_t a : axes) {
    auto n = normalize_axis(a, rank, "axes");
    if (!n.ok()) return n.status().with_context(node.label());
    if (seen[static_cast<size_t>(*n)])
      return node.error(ErrorCode::kInvalidArgument, "axis ", a, " appears twice in axes");
    seen[static_cast<size_t>(*n)] = true;
    out.push_back(*n);
  }
  return out;
}

// Per-axis begin/end pads from the pads and axes values.
Expected<std::vector<std::pair<int64_t, int64_t>>> axis_pads(const Node& node, const std::vector<int64_t>& pads,
                                                             const std::vector<int64_t>& axes, int64_t rank) {
  if (pads.size() != 2 * axes.size())
    return node.error(ErrorCode::kInvalidArgument, "pads has ", pads.size(), " values; expected ", 2 * axes.size(),
                      " (begin and end for ", axes.size(), " axes)");
  std::vector<std::pair<int64_t, int64_t>> out(static_cast<size_t>(rank), {0, 0});
  for (size_t i = 0; i < axes.size(); ++i) out[static_cast<size_t>(axes[i])] = {pads[i], pads[i + axes.size()]};
  return out;
}

Expected<int64_t> padded_size(const Node& node, int64_t in, std::pair<int64_t, int64_t> p, size_t axis) {
  auto out = checked_add(in, p.first);
  if (out) out = checked_add(*out, p.second);
  if (!out) return node.error(ErrorCode::kInvalidArgument, "padded size of axis ", axis, " overflows");
  if (*out < 0)
    return node.error(ErrorCode::kInvalidArgument, "pads (", p.first, ", ", p.second, ") remove more than the ", in,
                      " elements of axis ", axis);
  return *out;
}

Status check_inputs(const InferContext& ctx) {
  if (ctx.input_rank(1) != 1) return ctx.error("pads must be 1-D, got shape ", ctx.input_shape(1).to_string());
  DType pt = ctx.input_dtype(1);
  if (pt != DType::kInt64 && pt != DType::kInt32) return ctx.error("pads has type ", dtype_name(pt), "; expected int64");
  if (ctx.has_input(2)) {
    if (ctx.input_dtype(2) != ctx.input_dtype(0))
      return ctx.error("constant_value has type ", dtype_name(ctx.input_dtype(2)), " but data has type ",
                       dtype_name(ctx.input_dtype(0)));
    auto n = ctx.input_shape(2).numel();
    if (ctx.input_rank(2) > 1 || (n.ok() && *n != 1))
      return ctx.error("constant_value must be a scalar, got shape ", ctx.input_shape(2).to_string());
  }
  if (ctx.has_input(3)) {
    DType at = ctx.input_dtype(3);
    if (at != DType::kInt64 && at != DType::kInt32) return ctx.error("axes has type ", dtype_name(at), "; expected int64");
    if (ctx.input_rank(3) != 1) return ctx.error("axes must be 1-D, got shape ", ctx.input_shape(3).to_string());
  }
  return Status::Ok();
}

Status infer_pad(InferContext& ctx) {
  const Node& node = ctx.node();
  if (ctx.input_dtype(0) == DType::kUndefined) return ctx.unsupported("data has an unsupported type");
  KILN_RETURN_IF_ERROR(read_mode(node).status());
  KILN_RETURN_IF_ERROR(check_inputs(ctx));
  const Shape& xs = ctx.input_shape(0);
  const int64_t rank = static_cast<int64_t>(xs.rank());
  std::vector<Dim> out = xs.dims;
  std::vector<int64_t> axes;
  bool axes_known = true;
  if (ctx.has_input(3)) {
    const Tensor* t = ctx.input_value(3);
    axes_known = t != nullptr;
    if (t) {
      KILN_ASSIGN_OR_RETURN(axes, normalize_axes(node, t->to_i64_vector(), rank));
    }
  } else {
    for (int64_t i = 0; i < rank; ++i) axes.push_back(i);
  }
  const Tensor* pads_t = ctx.input_value(1);
  if (!axes_known || !pads_t) {  // pads or axes come at run time
    for (size_t i = 0; i < out.size(); ++i)
      if (!axes_known || std::find(axes.begin(), axes.end(), static_cast<int64_t>(i)) != axes.end())
        out[i] = ctx.unknown_dim();
    ctx.set_output(0, ctx.input_dtype(0), Shape(out));
    return Status::Ok();
  }
  KILN_ASSIGN_OR_RETURN(auto pads, axis_pads(node, pads_t->to_i64_vector(), axes, rank));
  for (size_t i = 0; i < out.size(); ++i) {
    if (xs[i].is_static()) {
      KILN_ASSIGN_OR_RETURN(int64_t n, padded_size(node, xs[i].value, pads[i], i));
      out[i] = Dim(n);
    } else if (pads[i].first != 0 || pads[i].second != 0) {
      out[i] = ctx.unknown_dim();
    }
  }
  ctx.set_output(0, ctx.input_dtype(0), Shape(out));
  return Status::Ok();
}

// Source position along one axis for each output position, -1 = constant.
Expected<std::vector<int64_t>> source_map(const Node& node, PadMode mode, int64_t in, std::pair<int64_t, int64_t> p,
                                          int64_t out, size_t axis) {
  const int64_t core_start = std::max<int64_t>(0, -p.first);
  const int64_t core_len = in - core_start - std::max<int64_t>(0, -p.second);
  if (core_len < 0)
    return node.error(ErrorCode::kInvalidArgument, "pads (", p.first, ", ", p.second, ") crop more than the ", in,
                      " elements of axis ", axis);
  const int64_t lead = std::max<int64_t>(0, p.first);
  if (core_len == 0 && mode != PadMode::kConstant && out > 0)
    return node.error(ErrorCode::kInvalidArgument, "cannot pad empty axis ", axis, " in ",
                      mode == PadMode::kEdge ? "edge" : mode == PadMode::kWrap ? "wrap" : "reflect", " mode");
  std::vector<int64_t> src(static_cast<size_t>(out));
  for (int64_t o = 0; o < out; ++o) {
    int64_t r = o - lead;
    if (r < 0 || r >= core_len) {
      switch (mode) {
        case PadMode::kConstant: src[static_cast<size_t>(o)] = -1; continue;
        case PadMode::kEdge: r = std::clamp<int64_t>(r, 0, core_len - 1); break;
        case PadMode::kWrap: r = ((r % core_len) + core_len) % core_len; break;
        case PadMode::kReflect: {
          if (core_len == 1) {
            r = 0;
            break;
          }
          int64_t period = 2 * (core_len - 1);
          r = ((r % period) + period) % period;
          if (r >= core_len) r = period - r;
          break;
        }
      }
    }
    src[static_cast<size_t>(o)] = core_start + r;
  }
  return src;
}

Status run_pad(CpuContext& ctx) {
  const Node& node = ctx.node();
  const Tensor& x = ctx.input(0);
  const int64_t rank = x.rank();
  KILN_ASSIGN_OR_RETURN(PadMode mode, read_mode(node));
  std::vector<int64_t> axes;
  if (ctx.has_input(3)) {
    KILN_ASSIGN_OR_RETURN(axes, normalize_axes(node, ctx.input(3).to_i64_vector(), rank));
  } else {
    for (int64_t i = 0; i < rank; ++i) axes.push_back(i);
  }
  KILN_ASSIGN_OR_RETURN(auto pads, axis_pads(node, ctx.input(1).to_i64_vector(), axes, rank));
  const size_t es = dtype_size(x.dtype());
  std::vector<uint8_t> fill(es, 0);
  if (ctx.has_input(2)) {
    const Tensor& c = ctx.input(2);
    if (c.dtype() != x.dtype() || c.numel() != 1)
      return ctx.error("constant_value must be one ", dtype_name(x.dtype()), " value, got ", c.to_string());
    std::memcpy(fill.data(), c.bytes(), es);
  }
  std::vector<int64_t> out_dims;
  for (size_t i = 0; i < static_cast<size_t>(rank); ++i) {
    KILN_ASSIGN_OR_RETURN(int64_t n, padded_size(node, x.dim(static_cast<int64_t>(i)), pads[i], i));
    out_dims.push_back(n);
  }
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.alloc_output(0, x.dtype(), out_dims));
  if (y->numel() == 0) return Status::Ok();
  std::vector<std::vector<int64_t>> maps;
  for (size_t i = 0; i < static_cast<size_t>(rank); ++i) {
    KILN_ASSIGN_OR_RETURN(auto m, source_map(node, mode, x.dim(static_cast<int64_t>(i)), pads[i], out_dims[i], i));
    maps.push_back(std::move(m));
  }
  const std::vector<int64_t> strides = contiguous_strides(x.dims());
  const uint8_t* src = x.bytes();
  uint8_t* dst = y->mutable_bytes();
  std::vector<int64_t> o(static_cast<size_t>(rank), 0);
  for (int64_t e = 0; e < y->numel(); ++e) {
    int64_t off = 0;
    bool constant = false;
    for (size_t j = 0; j < o.size() && !constant; ++j) {
      int64_t s = maps[j][static_cast<size_t>(o[j])];
      constant = s < 0;
      off += s * strides[j];
    }
    std::memcpy(dst + static_cast<size_t>(e) * es, constant ? fill.data() : src + static_cast<size_t>(off) * es, es);
    for (size_t j = o.size(); j-- > 0;) {
      if (++o[j] < out_dims[j]) break;
      o[j] = 0;
    }
  }
  return Status::Ok();
}

}  // namespace

void register_pad_op(OpRegistry& r) {
  OpSchema s;
  s.name = "Pad";
  s.family = "resize";
  s.min_inputs = 2;
  s.max_inputs = 4;
  s.infer = infer_pad;
  s.cpu = run_pad;
  r.add(std::move(s));
}

}  // namespace kiln
