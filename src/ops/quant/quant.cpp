// QuantizeLinear and DequantizeLinear, opsets 13..24: per-tensor, per-axis
// and blocked (opset 21+) scales; int8/uint8/fp8 quantized types (int16,
// uint16, 4-bit, fnuz and float4 are unsupported: Kiln has no such dtypes).
//
//   Quantize:   y = saturate(round_half_even(x / scale) + zero_point)
//   Dequantize: y = (x - zero_point) * scale
//
// The division runs in the `precision` type (opset 23+), else in the scale's
// type: both operands and the quotient are rounded to it, which is exactly
// what an fp16/bf16/fp32 division gives. NaN quantizes to the type's lowest
// value, as onnx.reference and ONNX Runtime do.
#include <cmath>

#include "ops/elementwise/elementwise_util.h"
#include "ops/families.h"
#include "ops/quant/quant_util.h"

namespace kiln {

void add_quant_cases(OpRegistry& r);

namespace {

constexpr uint32_t kQuantTypes = dtype_bit(DType::kInt8) | dtype_bit(DType::kUInt8) | kFp8Types;
constexpr uint32_t kScaleTypes = dtype_bit(DType::kFloat32) | dtype_bit(DType::kFloat16) | dtype_bit(DType::kBFloat16);
constexpr uint32_t kQuantizeInputTypes = kScaleTypes | dtype_bit(DType::kInt32);

// An optional dtype attribute (0 = absent); `allowed` are the types Kiln takes,
// other valid ONNX codes are unsupported.
Expected<DType> optional_dtype_attr(const Node& node, const char* name, uint32_t allowed) {
  KILN_ASSIGN_OR_RETURN(int64_t code, node.attr_int(name, 0));
  if (code == 0) return DType::kUndefined;
  if (code < 0 || code > 26)
    return node.error(ErrorCode::kInvalidArgument, "attribute '", name, "' = ", code, " is not an ONNX data type");
  DType t = dtype_from_onnx(static_cast<int32_t>(code));
  if (!dtype_in(t, allowed))
    return node.error(t == DType::kUndefined ? ErrorCode::kUnsupported : ErrorCode::kInvalidArgument, "attribute '",
                      name, "' = ", onnx_dtype_name(static_cast<int32_t>(code)), " is not supported; ", node.op,
                      " takes ", dtype_set_names(allowed));
  return t;
}

// ---- QuantizeLinear ---------------------------------------------------------------------
struct QuantizeAttrs {
  QuantLayoutAttrs layout;
  bool saturate = true;
  DType out = DType::kUndefined;        // from output_dtype or the zero point
  DType precision = DType::kUndefined;  // division type; kUndefined = the scale's
};

Expected<QuantizeAttrs> quantize_attrs(const Node& node, DType zero_point_type) {
  QuantizeAttrs a;
  KILN_ASSIGN_OR_RETURN(a.layout, read_layout_attrs(node));
  KILN_ASSIGN_OR_RETURN(int64_t sat, node.attr_int("saturate", 1));
  if (sat != 0 && sat != 1)
    return node.error(ErrorCode::kInvalidArgument, "attribute 'saturate' is ", sat, "; it must be 0 or 1");
  a.saturate = sat == 1;
  KILN_ASSIGN_OR_RETURN(DType out, optional_dtype_attr(node, "output_dtype", kQuantTypes));
  if (zero_point_type != DType::kUndefined && out != DType::kUndefined && out != zero_point_type)
    return node.error(ErrorCode::kInvalidArgument, "output_dtype is ", dtype_name(out), " but the zero point is ",
                      dtype_name(zero_point_type));
  a.out = zero_point_type != DType::kUndefined ? zero_point_type : out != DType::kUndefined ? out : DType::kUInt8;
  KILN_ASSIGN_OR_RETURN(
      a.precision,
      optional_dtype_attr(node, "precision", kScaleTypes | dtype_bit(DType::kFloat64) | dtype_bit(DType::kInt32)));
  return a;
}

Status quantize_infer(InferContext& ctx) {
  KILN_RETURN_IF_ERROR(check_input_type(ctx, 0, kQuantizeInputTypes));
  KILN_RETURN_IF_ERROR(check_input_type(ctx, 1, kQuantizeInputTypes));
  bool has_zp = ctx.has_input(2);
  if (has_zp) KILN_RETURN_IF_ERROR(check_input_type(ctx, 2, kQuantTypes));
  KILN_ASSIGN_OR_RETURN(QuantizeAttrs a, quantize_attrs(ctx.node(), has_zp ? ctx.input_dtype(2) : DType::kUndefined));
  KILN_RETURN_IF_ERROR(
      check_layout(ctx.node(), a.layout, ctx.input_shape(0), ctx.input_shape(1), has_zp ? &ctx.input_shape(2) : nullptr)
          .status());
  ctx.set_output(0, a.out, ctx.input_shape(0));
  return Status::Ok();
}

// The value x / scale rounded to the precision type, as a double.
double quotient(double x, double scale, DType precision) {
  double xp = round_to_dtype(x, precision), sp = round_to_dtype(scale, precision);
  return round_to_dtype(xp / sp, precision);
}

Status quantize_cpu(CpuContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& scale = ctx.input(1);
  const Tensor* zp = ctx.has_input(2) ? &ctx.input(2) : nullptr;
  KILN_ASSIGN_OR_RETURN(QuantizeAttrs a, quantize_attrs(ctx.node(), zp ? zp->dtype() : DType::kUndefined));
  Shape zp_shape = zp ? zp->shape() : Shape();
  KILN_ASSIGN_OR_RETURN(QuantLayout layout,
                        check_layout(ctx.node(), a.layout, x.shape(), scale.shape(), zp ? &zp_shape : nullptr));
  ScaleIndex sidx(layout, x.dims());
  DType precision = a.precision != DType::kUndefined ? a.precision : scale.dtype();
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.alloc_output(0, a.out, x.dims()));
  bool to_int = !dtype_is_float(a.out);
  double lo = a.out == DType::kInt8 ? -128 : 0, hi = a.out == DType::kInt8 ? 127 : 255;
  for (int64_t i = 0; i < x.numel(); ++i) {
    int64_t s = sidx(i);
    double q = quotient(x.get_f64(i), scale.get_f64(s), precision);
    double z = zp ? zp->get_f64(s) : 0.0;
    if (to_int) {
      double v = std::isnan(q) ? lo : std::min(std::max(round_half_even(q) + z, lo), hi);
      y->set_i64(i, static_cast<int64_t>(v));
    } else {
      store_rounded(*y, i, q + z, a.saturate);
    }
  }
  return Status::Ok();
}

// ---- DequantizeLinear ---------------------------------------------------------------------
constexpr uint32_t kDequantInputTypes = kQuantTypes | dtype_bit(DType::kInt32);

Status dequantize_infer(InferContext& ctx) {
  KILN_RETURN_IF_ERROR(check_input_type(ctx, 0, kDequantInputTypes));
  KILN_RETURN_IF_ERROR(check_input_type(ctx, 1, kScaleTypes));
  bool has_zp = ctx.has_input(2);
  if (has_zp) {
    KILN_RETURN_IF_ERROR(check_input_type(ctx, 2, kDequantInputTypes));
    if (ctx.input_dtype(2) != ctx.input_dtype(0))
      return ctx.error("zero point is ", dtype_name(ctx.input_dtype(2)), " but x is ", dtype_name(ctx.input_dtype(0)),
                       "; they must have the same type");
  }
  KILN_ASSIGN_OR_RETURN(QuantLayoutAttrs la, read_layout_attrs(ctx.node()));
  KILN_RETURN_IF_ERROR(
      check_layout(ctx.node(), la, ctx.input_shape(0), ctx.input_shape(1), has_zp ? &ctx.input_shape(2) : nullptr)
          .status());
  KILN_ASSIGN_OR_RETURN(DType out, optional_dtype_attr(ctx.node(), "output_dtype", kScaleTypes));
  ctx.set_output(0, out != DType::kUndefined ? out : ctx.input_dtype(1), ctx.input_shape(0));
  return Status::Ok();
}

Status dequantize_cpu(CpuContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& scale = ctx.input(1);
  const Tensor* zp = ctx.has_input(2) ? &ctx.input(2) : nullptr;
  KILN_ASSIGN_OR_RETURN(QuantLayoutAttrs la, read_layout_attrs(ctx.node()));
  Shape zp_shape = zp ? zp->shape() : Shape();
  KILN_ASSIGN_OR_RETURN(QuantLayout layout,
                        check_layout(ctx.node(), la, x.shape(), scale.shape(), zp ? &zp_shape : nullptr));
  KILN_ASSIGN_OR_RETURN(DType out, optional_dtype_attr(ctx.node(), "output_dtype", kScaleTypes));
  if (out == DType::kUndefined) out = scale.dtype();
  ScaleIndex sidx(layout, x.dims());
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.alloc_output(0, out, x.dims()));
  for (int64_t i = 0; i < x.numel(); ++i) {
    int64_t s = sidx(i);
    // Integer differences are exact in double (|x - zp| < 2^33).
    double d = x.get_f64(i) - (zp ? zp->get_f64(s) : 0.0);
    store_rounded(*y, i, d * scale.get_f64(s));
  }
  return Status::Ok();
}

}  // namespace

void register_quant_ops(OpRegistry& r) {
  OpSchema q;
  q.name = "QuantizeLinear";
  q.family = "quant";
  q.min_inputs = 2;
  q.max_inputs = 3;
  q.infer = quantize_infer;
  q.cpu = quantize_cpu;
  r.add(std::move(q));
  OpSchema d;
  d.name = "DequantizeLinear";
  d.family = "quant";
  d.min_inputs = 2;
  d.max_inputs = 3;
  d.infer = dequantize_infer;
  d.cpu = dequantize_cpu;
  r.add(std::move(d));
  add_quant_cases(r);
}

}  // namespace kiln
