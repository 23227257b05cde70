// Unary math: Sqrt, Exp, Log, Reciprocal, Neg, Abs, Sign, Floor, Ceil, Round
// and the trigonometric/hyperbolic functions. Floats compute in double and
// round once on store; integers (Neg, Abs, Sign) in wrapping int64.
#include <cmath>
#include <limits>

#include "ops/elementwise/elementwise_util.h"

namespace kiln {
namespace {

using FloatFn = double (*)(double);

// A float-only unary op whose value is fn(x).
OpSchema float_unary(const char* name, FloatFn fn) {
  return elementwise_schema(
      "elementwise", name, 1, 1, [](InferContext& ctx) { return infer_unary(ctx, kFloatTypes); },
      [fn](CpuContext& ctx) { return unary_float_map(ctx, fn); });
}

double sign_f(double x) {
  if (std::isnan(x)) return x;
  return x > 0 ? 1.0 : x < 0 ? -1.0 : 0.0;
}

}  // namespace

void register_unary_math_ops(OpRegistry& r) {
  r.add(float_unary("Sqrt", [](double x) { return std::sqrt(x); }));
  r.add(float_unary("Exp", [](double x) { return std::exp(x); }));
  r.add(float_unary("Log", [](double x) { return std::log(x); }));
  r.add(float_unary("Reciprocal", [](double x) { return 1.0 / x; }));
  r.add(float_unary("Floor", [](double x) { return std::floor(x); }));
  r.add(float_unary("Ceil", [](double x) { return std::ceil(x); }));
  r.add(float_unary("Round", round_half_even));
  r.add(float_unary("Sin", [](double x) { return std::sin(x); }));
  r.add(float_unary("Cos", [](double x) { return std::cos(x); }));
  r.add(float_unary("Tan", [](double x) { return std::tan(x); }));
  r.add(float_unary("Asin", [](double x) { return std::asin(x); }));
  r.add(float_unary("Acos", [](double x) { return std::acos(x); }));
  r.add(float_unary("Atan", [](double x) { return std::atan(x); }));
  r.add(float_unary("Sinh", [](double x) { return std::sinh(x); }));
  r.add(float_unary("Cosh", [](double x) { return std::cosh(x); }));
  r.add(float_unary("Asinh", [](double x) { return std::asinh(x); }));
  r.add(float_unary("Acosh", [](double x) { return std::acosh(x); }));
  r.add(float_unary("Atanh", [](double x) { return std::atanh(x); }));

  r.add(elementwise_schema(
      "elementwise", "Neg", 1, 1, [](InferContext& ctx) { return infer_unary(ctx, kFloatTypes | kSignedIntTypes); },
      [](CpuContext& ctx) {
        return unary_map(
            ctx, ctx.input(0).dtype(), [](double x) { return -x; }, wrap_neg);
      }));
  r.add(elementwise_schema(
      "elementwise", "Abs", 1, 1, [](InferContext& ctx) { return infer_unary(ctx, kNumericTypes); },
      [](CpuContext& ctx) {
        return unary_map(
            ctx, ctx.input(0).dtype(), [](double x) { return std::fabs(x); },
            [](int64_t x) { return x < 0 ? wrap_neg(x) : x; });
      }));
  r.add(elementwise_schema(
      "elementwise", "Sign", 1, 1, [](InferContext& ctx) { return infer_unary(ctx, kNumericTypes); },
      [](CpuContext& ctx) {
        return unary_map(ctx, ctx.input(0).dtype(), sign_f, [](int64_t x) -> int64_t { return (x > 0) - (x < 0); });
      }));
}

}  // namespace kiln
