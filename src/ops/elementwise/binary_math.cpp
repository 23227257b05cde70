// Broadcasting arithmetic: Add, Sub, Mul, Div, Pow, Mod and the variadic
// Min, Max, Sum, Mean. Floats compute in double and round once on store;
// integers compute in wrapping int64 and wrap again to their width on store,
// as numpy and ONNX Runtime do.
#include <cmath>
#include <limits>

#include "ops/elementwise/elementwise_util.h"

namespace kiln {
namespace {

constexpr uint32_t kPowBaseTypes = kFloatTypes | dtype_bit(DType::kInt32) | dtype_bit(DType::kInt64);

Status infer_same(InferContext& ctx) { return infer_broadcast(ctx, kNumericTypes); }

OpSchema binary(const char* name, InferFn infer, CpuFn cpu) {
  return elementwise_schema("elementwise", name, 2, 2, std::move(infer), std::move(cpu));
}

// ---- Div ------------------------------------------------------------------------
Status div_cpu(CpuContext& ctx) {
  bool by_zero = false;
  KILN_RETURN_IF_ERROR(binary_map(
      ctx, ctx.input(0).dtype(), [](double a, double b) { return a / b; },
      [&](int64_t a, int64_t b) -> int64_t {
        if (b == 0) {
          by_zero = true;
          return 0;
        }
        if (b == -1) return wrap_neg(a);  // INT64_MIN / -1 overflows
        return a / b;                     // C++ truncates toward zero, as ONNX asks
      }));
  if (by_zero) return ctx.error("integer division by zero (input 1 holds a 0)");
  return Status::Ok();
}

// ---- Mod ------------------------------------------------------------------------
Expected<bool> read_fmod(const Node& node) {
  KILN_ASSIGN_OR_RETURN(int64_t fmod, node.attr_int("fmod", 0));
  if (fmod != 0 && fmod != 1)
    return node.error(ErrorCode::kInvalidArgument, "attribute 'fmod' is ", fmod, "; it must be 0 or 1");
  return fmod == 1;
}

Status mod_infer(InferContext& ctx) {
  KILN_RETURN_IF_ERROR(read_fmod(ctx.node()).status());
  return infer_broadcast(ctx, kNumericTypes);
}

// fmod=0: the result takes the divisor's sign (Python's %); fmod=1: the
// dividend's (C's fmod / %).
double float_mod(double a, double b, bool c_fmod) {
  double r = std::fmod(a, b);
  if (c_fmod || std::isnan(r)) return r;
  if (r == 0) return std::copysign(0.0, b);
  if ((r < 0) != (b < 0)) r += b;
  return r;
}

Status mod_cpu(CpuContext& ctx) {
  KILN_ASSIGN_OR_RETURN(bool c_fmod, read_fmod(ctx.node()));
  bool by_zero = false;
  KILN_RETURN_IF_ERROR(binary_map(
      ctx, ctx.input(0).dtype(), [&](double a, double b) { return float_mod(a, b, c_fmod); },
      [&](int64_t a, int64_t b) -> int64_t {
        if (b == 0) {
          by_zero = true;
          return 0;
        }
        if (b == -1) return 0;  // INT64_MIN % -1 overflows
        int64_t r = a % b;
        if (!c_fmod && r != 0 && ((r < 0) != (b < 0))) r += b;
        return r;
      }));
  if (by_zero) return ctx.error("integer modulo by zero (input 1 holds a 0)");
  return Status::Ok();
}

// ---- Pow ------------------------------------------------------------------------
Status pow_infer(InferContext& ctx) {
  KILN_RETURN_IF_ERROR(check_input_type(ctx, 0, kPowBaseTypes));
  KILN_RETURN_IF_ERROR(check_input_type(ctx, 1, kNumericTypes));
  auto shape = broadcast_shapes(ctx.input_shape(0), ctx.input_shape(1));
  if (!shape.ok()) return ctx.error(shape.status().message());
  ctx.set_output(0, ctx.input_dtype(0), std::move(shape).value());
  return Status::Ok();
}

// Exact integer power with wrap-around; false for 0 to a negative power.
bool int_pow(int64_t base, int64_t exp, int64_t& out) {
  if (exp < 0) {
    // 1/base^|exp| truncated toward zero: nonzero only for |base| == 1.
    if (base == 0) return false;
    out = base == 1 ? 1 : base == -1 ? ((exp & 1) ? -1 : 1) : 0;
    return true;
  }
  int64_t result = 1;
  while (exp > 0) {
    if (exp & 1) result = wrap_mul(result, base);
    base = wrap_mul(base, base);
    exp >>= 1;
  }
  out = result;
  return true;
}

Status pow_cpu(CpuContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& e = ctx.input(1);
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> dims, broadcast_input_dims(ctx));
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.alloc_output(0, x.dtype(), dims));
  BroadcastIndex ix(dims, x.dims()), ie(dims, e.dims());
  bool int_base = !dtype_is_float(x.dtype());
  bool int_exp = !dtype_is_float(e.dtype());
  for (int64_t i = 0; i < y->numel(); ++i) {
    if (int_base && int_exp) {
      int64_t r;
      if (!int_pow(x.get_i64(ix.offset(i)), e.get_i64(ie.offset(i)), r))
        return ctx.error("integer 0 raised to a negative power (element ", i, ")");
      y->set_i64(i, r);
    } else {
      // An integer base with a float exponent computes in double and truncates.
      y->set_f64(i, std::pow(x.get_f64(ix.offset(i)), e.get_f64(ie.offset(i))));
    }
  }
  return Status::Ok();
}

// ---- variadic Min / Max / Sum / Mean ------------------------------------------------
enum class Fold { kMin, kMax, kSum, kMean };

double fold_float(Fold op, double acc, double v) {
  switch (op) {
    case Fold::kMin:
      return (std::isnan(acc) || std::isnan(v)) ? std::numeric_limits<double>::quiet_NaN() : std::min(acc, v);
    case Fold::kMax:
      return (std::isnan(acc) || std::isnan(v)) ? std::numeric_limits<double>::quiet_NaN() : std::max(acc, v);
    default:
      return acc + v;
  }
}

Status fold_cpu(CpuContext& ctx, Fold op) {
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> dims, broadcast_input_dims(ctx));
  DType t = ctx.input(0).dtype();
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.alloc_output(0, t, dims));
  std::vector<BroadcastIndex> index;
  std::vector<const Tensor*> ins;
  for (size_t k = 0; k < ctx.num_inputs(); ++k) {
    if (!ctx.has_input(k)) continue;
    ins.push_back(&ctx.input(k));
    index.emplace_back(dims, ctx.input(k).dims());
  }
  bool is_float = dtype_is_float(t);
  for (int64_t i = 0; i < y->numel(); ++i) {
    if (is_float) {
      double acc = ins[0]->get_f64(index[0].offset(i));
      for (size_t k = 1; k < ins.size(); ++k) acc = fold_float(op, acc, ins[k]->get_f64(index[k].offset(i)));
      if (op == Fold::kMean) acc /= static_cast<double>(ins.size());
      y->set_f64(i, acc);
    } else {
      int64_t acc = ins[0]->get_i64(index[0].offset(i));
      for (size_t k = 1; k < ins.size(); ++k) {
        int64_t v = ins[k]->get_i64(index[k].offset(i));
        acc = op == Fold::kMin ? std::min(acc, v) : std::max(acc, v);
      }
      y->set_i64(i, acc);
    }
  }
  return Status::Ok();
}

OpSchema variadic(const char* name, uint32_t types, Fold op) {
  return elementwise_schema(
      "elementwise", name, 1, std::numeric_limits<int>::max(),
      [types](InferContext& ctx) { return infer_broadcast(ctx, types); },
      [op](CpuContext& ctx) { return fold_cpu(ctx, op); });
}

}  // namespace

void register_binary_math_ops(OpRegistry& r) {
  r.add(binary("Add", infer_same, [](CpuContext& ctx) {
    return binary_map(
        ctx, ctx.input(0).dtype(), [](double a, double b) { return a + b; }, wrap_add);
  }));
  r.add(binary("Sub", infer_same, [](CpuContext& ctx) {
    return binary_map(
        ctx, ctx.input(0).dtype(), [](double a, double b) { return a - b; }, wrap_sub);
  }));
  r.add(binary("Mul", infer_same, [](CpuContext& ctx) {
    return binary_map(
        ctx, ctx.input(0).dtype(), [](double a, double b) { return a * b; }, wrap_mul);
  }));
  r.add(binary("Div", infer_same, div_cpu));
  r.add(binary("Mod", mod_infer, mod_cpu));
  r.add(binary("Pow", pow_infer, pow_cpu));
  r.add(variadic("Min", kNumericTypes, Fold::kMin));
  r.add(variadic("Max", kNumericTypes, Fold::kMax));
  r.add(variadic("Sum", kFloatTypes, Fold::kSum));
  r.add(variadic("Mean", kFloatTypes, Fold::kMean));
}

}  // namespace kiln
