// Type conversion and value plumbing: Cast, CastLike, Clip, Identity.
//
// Cast follows ONNX's table: float->float rounds to nearest even (fp8
// saturating unless saturate=0), float->int truncates (out of range is
// undefined by ONNX; Kiln clamps to int64 then wraps), int->int wraps,
// anything->bool is "!= 0". round_mode only concerns float8e8m0, which Kiln
// does not support, so it is validated and otherwise has no effect.
#include <cmath>
#include <cstring>
#include <limits>

#include "ops/elementwise/elementwise_util.h"

namespace kiln {
namespace {

// Highest TensorProto.DataType code ONNX defines (int2 = 26).
constexpr int64_t kMaxOnnxTypeCode = 26;

Expected<DType> dtype_attr(const Node& node, const char* attr) {
  KILN_ASSIGN_OR_RETURN(int64_t code, node.attr_int(attr));
  if (code < 1 || code > kMaxOnnxTypeCode)
    return node.error(ErrorCode::kInvalidArgument, "attribute '", attr, "' = ", code, " is not an ONNX data type");
  DType t = dtype_from_onnx(static_cast<int32_t>(code));
  if (t == DType::kUndefined)
    return node.error(ErrorCode::kUnsupported, "casting to ", onnx_dtype_name(static_cast<int32_t>(code)),
                      " is not supported");
  return t;
}

struct CastOptions {
  bool saturate = true;
};

Expected<CastOptions> cast_options(const Node& node) {
  CastOptions o;
  KILN_ASSIGN_OR_RETURN(int64_t sat, node.attr_int("saturate", 1));
  if (sat != 0 && sat != 1)
    return node.error(ErrorCode::kInvalidArgument, "attribute 'saturate' is ", sat, "; it must be 0 or 1");
  o.saturate = sat == 1;
  KILN_ASSIGN_OR_RETURN(std::string mode, node.attr_string("round_mode", "up"));
  if (mode != "up" && mode != "down" && mode != "nearest")
    return node.error(ErrorCode::kInvalidArgument, "attribute 'round_mode' is '", mode,
                      "'; it must be 'up', 'down' or 'nearest'");
  return o;
}

void cast_elements(const Tensor& x, Tensor& y, bool saturate) {
  if (x.dtype() == y.dtype()) {
    if (x.nbytes()) std::memcpy(y.mutable_bytes(), x.bytes(), x.nbytes());
    return;
  }
  bool src_float = dtype_is_float(x.dtype());
  bool dst_float = dtype_is_float(y.dtype());
  for (int64_t i = 0; i < x.numel(); ++i) {
    if (src_float) {
      double v = x.get_f64(i);
      if (dst_float) {
        store_rounded(y, i, v, saturate);
      } else {
        y.set_f64(i, v);  // bool: != 0 (NaN is true); ints: truncate toward zero
      }
    } else {
      int64_t v = x.get_i64(i);
      if (y.dtype() == DType::kFloat32) {
        y.mutable_data<float>()[i] = static_cast<float>(v);  // one rounding, also above 2^53
      } else if (dst_float) {
        store_rounded(y, i, static_cast<double>(v), saturate);
      } else {
        y.set_i64(i, v);  // wraps to the narrower width; bool is != 0
      }
    }
  }
}

Status cast_infer(InferContext& ctx) {
  KILN_ASSIGN_OR_RETURN(DType to, dtype_attr(ctx.node(), "to"));
  KILN_RETURN_IF_ERROR(cast_options(ctx.node()).status());
  KILN_RETURN_IF_ERROR(check_input_type(ctx, 0, kAllTypes));
  ctx.set_output(0, to, ctx.input_shape(0));
  return Status::Ok();
}

Status cast_to(CpuContext& ctx, DType to) {
  KILN_ASSIGN_OR_RETURN(CastOptions o, cast_options(ctx.node()));
  const Tensor& x = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.alloc_output(0, to, x.dims()));
  cast_elements(x, *y, o.saturate);
  return Status::Ok();
}

Status cast_cpu(CpuContext& ctx) {
  KILN_ASSIGN_OR_RETURN(DType to, dtype_attr(ctx.node(), "to"));
  return cast_to(ctx, to);
}

Status castlike_infer(InferContext& ctx) {
  KILN_RETURN_IF_ERROR(cast_options(ctx.node()).status());
  KILN_RETURN_IF_ERROR(check_input_type(ctx, 0, kAllTypes));
  KILN_RETURN_IF_ERROR(check_input_type(ctx, 1, kAllTypes));
  ctx.set_output(0, ctx.input_dtype(1), ctx.input_shape(0));
  return Status::Ok();
}

// ---- Clip ----------------------------------------------------------------------------
Status clip_infer(InferContext& ctx) {
  KILN_RETURN_IF_ERROR(check_input_type(ctx, 0, kNumericTypes));
  KILN_RETURN_IF_ERROR(check_same_types(ctx, 0, 3));
  for (size_t i = 1; i < 3; ++i) {
    if (!ctx.has_input(i)) continue;
    // ONNX wants scalars; exporters also write shape [1].
    auto n = ctx.input_shape(i).numel();
    if (n.ok() && *n != 1)
      return ctx.error("input ", i, " (", i == 1 ? "min" : "max", ") must hold one value, got shape ",
                       ctx.input_shape(i).to_string());
  }
  ctx.set_output(0, ctx.input_dtype(0), ctx.input_shape(0));
  return Status::Ok();
}

Status clip_cpu(CpuContext& ctx) {
  const Tensor& x = ctx.input(0);
  for (size_t i = 1; i < 3; ++i)
    if (ctx.has_input(i) && ctx.input(i).numel() != 1)
      return ctx.error("input ", i, " must hold one value, got shape ", dims_to_string(ctx.input(i).dims()));
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.alloc_output(0, x.dtype(), x.dims()));
  bool has_lo = ctx.has_input(1), has_hi = ctx.has_input(2);
  if (dtype_is_float(x.dtype())) {
    double lo = has_lo ? ctx.input(1).get_f64(0) : -std::numeric_limits<double>::infinity();
    double hi = has_hi ? ctx.input(2).get_f64(0) : std::numeric_limits<double>::infinity();
    for (int64_t i = 0; i < x.numel(); ++i) {
      double v = x.get_f64(i);  // NaN passes through
      if (v < lo) v = lo;
      if (v > hi) v = hi;  // min > max gives max everywhere, as ONNX says
      y->set_f64(i, v);
    }
  } else {
    int64_t lo = has_lo ? ctx.input(1).get_i64(0) : std::numeric_limits<int64_t>::min();
    int64_t hi = has_hi ? ctx.input(2).get_i64(0) : std::numeric_limits<int64_t>::max();
    for (int64_t i = 0; i < x.numel(); ++i) y->set_i64(i, std::min(std::max(x.get_i64(i), lo), hi));
  }
  return Status::Ok();
}

}  // namespace

void register_cast_ops(OpRegistry& r) {
  r.add(elementwise_schema("elementwise", "Cast", 1, 1, cast_infer, cast_cpu));
  r.add(elementwise_schema(
      "elementwise", "CastLike", 2, 2, castlike_infer,
      [](CpuContext& ctx) { return cast_to(ctx, ctx.input(1).dtype()); }, 15));
  r.add(elementwise_schema("elementwise", "Clip", 1, 3, clip_infer, clip_cpu));
  r.add(elementwise_schema(
      "elementwise", "Identity", 1, 1, [](InferContext& ctx) { return infer_unary(ctx, kAllTypes); },
      [](CpuContext& ctx) {
        ctx.set_output(0, ctx.input(0));  // shares the bytes; a later write copies
        return Status::Ok();
      }));
}

}  // namespace kiln
