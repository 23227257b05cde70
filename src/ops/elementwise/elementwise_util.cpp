#include "ops/elementwise/elementwise_util.h"

#include <cmath>

#include "base/float_types.h"

namespace kiln {

namespace {
const DType kAllDTypes[] = {DType::kFloat32,      DType::kFloat16,    DType::kBFloat16, DType::kFloat64,
                            DType::kFloat8E4M3FN, DType::kFloat8E5M2, DType::kInt8,     DType::kUInt8,
                            DType::kInt32,        DType::kInt64,      DType::kBool};
}  // namespace

bool dtype_in(DType t, uint32_t set) { return t != DType::kUndefined && (dtype_bit(t) & set) != 0; }

std::string dtype_set_names(uint32_t set) {
  std::string out;
  for (DType t : kAllDTypes) {
    if (!dtype_in(t, set)) continue;
    if (!out.empty()) out += ", ";
    out += dtype_name(t);
  }
  return out;
}

Status check_input_type(const InferContext& ctx, size_t input, uint32_t allowed) {
  if (!ctx.has_input(input)) return ctx.error("input ", input, " is required but missing");
  DType t = ctx.input_dtype(input);
  if (dtype_in(t, allowed)) return Status::Ok();
  return ctx.error("input ", input, " ('", ctx.node().inputs[input]->name, "') is ", dtype_name(t), "; ", ctx.node().op,
                   " takes ", dtype_set_names(allowed));
}

Status check_same_types(const InferContext& ctx, size_t first, size_t last) {
  DType t = ctx.input_dtype(first);
  for (size_t i = first + 1; i < last && i < ctx.num_inputs(); ++i) {
    if (!ctx.has_input(i)) continue;
    if (ctx.input_dtype(i) != t)
      return ctx.error("input ", i, " ('", ctx.node().inputs[i]->name, "') is ", dtype_name(ctx.input_dtype(i)),
                       " but input ", first, " is ", dtype_name(t), "; they must have the same type");
  }
  return Status::Ok();
}

Status infer_unary(InferContext& ctx, uint32_t allowed) {
  KILN_RETURN_IF_ERROR(check_input_type(ctx, 0, allowed));
  ctx.set_output(0, ctx.input_dtype(0), ctx.input_shape(0));
  return Status::Ok();
}

Status infer_broadcast(InferContext& ctx, uint32_t allowed, DType out_type) {
  KILN_RETURN_IF_ERROR(check_input_type(ctx, 0, allowed));
  KILN_RETURN_IF_ERROR(check_same_types(ctx, 0, ctx.num_inputs()));
  Shape shape = ctx.input_shape(0);
  for (size_t i = 1; i < ctx.num_inputs(); ++i) {
    if (!ctx.has_input(i)) return ctx.error("input ", i, " is required but missing");
    auto b = broadcast_shapes(shape, ctx.input_shape(i));
    if (!b.ok()) return ctx.error(b.status().message());
    shape = std::move(b).value();
  }
  ctx.set_output(0, out_type == DType::kUndefined ? ctx.input_dtype(0) : out_type, std::move(shape));
  return Status::Ok();
}

Expected<double> finite_float_attr(const Node& node, const char* name, float dflt) {
  KILN_ASSIGN_OR_RETURN(float v, node.attr_float(name, dflt));
  if (!std::isfinite(v))
    return node.error(ErrorCode::kInvalidArgument, "attribute '", name, "' is ", v, "; it must be finite");
  return static_cast<double>(v);
}

Expected<std::vector<int64_t>> broadcast_input_dims(const CpuContext& ctx) {
  std::vector<int64_t> dims;
  bool first = true;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    if (!ctx.has_input(i)) continue;
    if (first) {
      dims = ctx.input(i).dims();
      first = false;
      continue;
    }
    auto b = broadcast_dims(dims, ctx.input(i).dims());
    if (!b.ok()) return ctx.error(b.status().message());
    dims = std::move(b).value();
  }
  return dims;
}

OpSchema elementwise_schema(const char* family, const char* name, int min_inputs, int max_inputs, InferFn infer,
                            CpuFn cpu, int64_t since_opset) {
  OpSchema s;
  s.name = name;
  s.family = family;
  s.min_inputs = min_inputs;
  s.max_inputs = max_inputs;
  s.since_opset = since_opset;
  s.infer = std::move(infer);
  s.cpu = std::move(cpu);
  s.elementwise = true;
  return s;
}

float to_float_round_odd(double v) {
  float f = static_cast<float>(v);
  if (!std::isfinite(v) || static_cast<double>(f) == v) return f;
  uint32_t b = float_bits(f);
  // Truncate toward zero (one step back if rounding went up), then force the
  // last bit to 1: the inexact result stays distinguishable from a tie.
  if (std::fabs(static_cast<double>(f)) > std::fabs(v)) b -= 1;
  return bits_float(b | 1u);
}

void store_rounded(Tensor& t, int64_t i, double v, bool saturate) {
  switch (t.dtype()) {
    case DType::kFloat16:
      t.mutable_data<uint16_t>()[i] = float_to_half_bits(to_float_round_odd(v));
      return;
    case DType::kBFloat16:
      t.mutable_data<uint16_t>()[i] = float_to_bf16_bits(to_float_round_odd(v));
      return;
    case DType::kFloat8E4M3FN:
      t.mutable_data<uint8_t>()[i] = float_to_e4m3fn_bits(to_float_round_odd(v), saturate);
      return;
    case DType::kFloat8E5M2:
      t.mutable_data<uint8_t>()[i] = float_to_e5m2_bits(to_float_round_odd(v), saturate);
      return;
    default:
      t.set_f64(i, v);
      return;
  }
}

double round_to_dtype(double v, DType t) {
  switch (t) {
    case DType::kFloat32:
      return static_cast<float>(v);
    case DType::kFloat16:
      return half_bits_to_float(float_to_half_bits(to_float_round_odd(v)));
    case DType::kBFloat16:
      return bf16_bits_to_float(float_to_bf16_bits(to_float_round_odd(v)));
    case DType::kFloat8E4M3FN:
      return e4m3fn_bits_to_float(float_to_e4m3fn_bits(to_float_round_odd(v)));
    case DType::kFloat8E5M2:
      return e5m2_bits_to_float(float_to_e5m2_bits(to_float_round_odd(v)));
    default:
      return v;
  }
}

double round_half_even(double v) {
  if (!std::isfinite(v)) return v;
  double r = std::floor(v);
  double frac = v - r;  // exact: v and floor(v) share the exponent range
  if (frac > 0.5 || (frac == 0.5 && std::fmod(r, 2.0) != 0.0)) r += 1.0;
  return std::copysign(r, v);  // keeps -0 for inputs in (-0.5, 0]
}

}  // namespace kiln
