// Activations: Relu, LeakyRelu, PRelu, Sigmoid, HardSigmoid, HardSwish, Tanh,
// Erf, Gelu, Softplus, Softsign, Elu, Selu, Celu, ThresholdedRelu, Mish.
// Values compute in double and round once on store. Float attributes are
// read as float (their ONNX type) and widened, so alpha=0.01 is 0.01f.
#include <cmath>
#include <numbers>

#include "ops/elementwise/elementwise_util.h"
#include "ops/families.h"

namespace kiln {

void add_activation_cases(OpRegistry& r);

namespace {

constexpr uint32_t kReluTypes = kFloatTypes | kSignedIntTypes;  // opset 14 added int8/int32/int64
constexpr uint32_t kPReluTypes = kFloatTypes | dtype_bit(DType::kInt32) | dtype_bit(DType::kInt64);

double softplus(double x) { return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)); }

double sigmoid(double x) {
  // Split by sign so exp never overflows.
  if (x >= 0) return 1.0 / (1.0 + std::exp(-x));
  double e = std::exp(x);
  return e / (1.0 + e);
}

// Clamp to [0, 1]; NaN stays NaN (numpy.clip does the same).
double clamp01(double v) { return v < 0 ? 0.0 : v > 1 ? 1.0 : v; }

OpSchema act(const char* name, InferFn infer, CpuFn cpu, int64_t since = 13) {
  return elementwise_schema("activation", name, 1, 1, std::move(infer), std::move(cpu), since);
}

InferFn floats_only() {
  return [](InferContext& ctx) { return infer_unary(ctx, kFloatTypes); };
}

// A float activation without attributes.
OpSchema plain(const char* name, double (*fn)(double), int64_t since = 13) {
  return act(
      name, floats_only(), [fn](CpuContext& ctx) { return unary_float_map(ctx, fn); }, since);
}

// A float activation with float attributes (names and defaults), each finite.
template <typename Fn>
OpSchema with_attrs(const char* name, std::vector<std::pair<const char*, float>> attrs, Fn fn,
                    Status (*check)(const Node&, const std::vector<double>&) = nullptr) {
  auto read = [attrs, check](const Node& node) -> Expected<std::vector<double>> {
    std::vector<double> v;
    for (const auto& [key, dflt] : attrs) {
      KILN_ASSIGN_OR_RETURN(double a, finite_float_attr(node, key, dflt));
      v.push_back(a);
    }
    if (check) KILN_RETURN_IF_ERROR(check(node, v));
    return v;
  };
  return act(
      name,
      [read](InferContext& ctx) {
        KILN_RETURN_IF_ERROR(read(ctx.node()).status());
        return infer_unary(ctx, kFloatTypes);
      },
      [read, fn](CpuContext& ctx) {
        KILN_ASSIGN_OR_RETURN(std::vector<double> a, read(ctx.node()));
        return unary_float_map(ctx, [&](double x) { return fn(x, a); });
      });
}

Status celu_check(const Node& node, const std::vector<double>& a) {
  if (a[0] == 0)
    return node.error(ErrorCode::kInvalidArgument, "attribute 'alpha' must be nonzero (Celu divides by it)");
  return Status::Ok();
}

// ---- Gelu -------------------------------------------------------------------------------
Expected<bool> gelu_tanh(const Node& node) {
  Expected<std::string> mode = node.attr_string("approximate", "none");
  if (!mode.ok()) return mode.status();
  if (*mode != "none" && *mode != "tanh")
    return node.error(ErrorCode::kInvalidArgument, "attribute 'approximate' is '", *mode,
                      "'; it must be 'none' or 'tanh'");
  return *mode == "tanh";
}

Status gelu_cpu(CpuContext& ctx) {
  KILN_ASSIGN_OR_RETURN(bool tanh_form, gelu_tanh(ctx.node()));
  if (tanh_form) {
    const double k = std::sqrt(2.0 / std::numbers::pi);
    return unary_float_map(ctx, [k](double x) { return 0.5 * x * (1.0 + std::tanh(k * (x + 0.044715 * x * x * x))); });
  }
  return unary_float_map(ctx, [](double x) { return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))); });
}

// ---- PRelu: slope broadcasts to X (unidirectionally) ----------------------------------------
Status prelu_infer(InferContext& ctx) {
  KILN_RETURN_IF_ERROR(check_input_type(ctx, 0, kPReluTypes));
  KILN_RETURN_IF_ERROR(check_input_type(ctx, 1, kPReluTypes));
  KILN_RETURN_IF_ERROR(check_same_types(ctx, 0, 2));
  const Shape& x = ctx.input_shape(0);
  const Shape& s = ctx.input_shape(1);
  auto b = broadcast_shapes(x, s);
  bool ok = b.ok() && b->rank() == x.rank();
  for (size_t i = 0; ok && i < x.rank(); ++i)
    if (x[i].is_static() && (*b)[i].is_static() && x[i].value != (*b)[i].value) ok = false;
  if (!ok) return ctx.error("slope shape ", s.to_string(), " does not broadcast to X shape ", x.to_string());
  ctx.set_output(0, ctx.input_dtype(0), x);
  return Status::Ok();
}

Status prelu_cpu(CpuContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& slope = ctx.input(1);
  auto b = broadcast_dims(x.dims(), slope.dims());
  if (!b.ok() || *b != x.dims())
    return ctx.error("slope shape ", dims_to_string(slope.dims()), " does not broadcast to X shape ",
                     dims_to_string(x.dims()));
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.alloc_output(0, x.dtype(), x.dims()));
  BroadcastIndex is(x.dims(), slope.dims());
  bool is_float = dtype_is_float(x.dtype());
  for (int64_t i = 0; i < x.numel(); ++i) {
    if (is_float) {
      double v = x.get_f64(i);
      y->set_f64(i, v < 0 ? v * slope.get_f64(is.offset(i)) : v);
    } else {
      int64_t v = x.get_i64(i);
      y->set_i64(i, v < 0 ? wrap_mul(v, slope.get_i64(is.offset(i))) : v);
    }
  }
  return Status::Ok();
}

}  // namespace

void register_activation_ops(OpRegistry& r) {
  r.add(act(
      "Relu", [](InferContext& ctx) { return infer_unary(ctx, kReluTypes); },
      [](CpuContext& ctx) {
        return unary_map(
            ctx, ctx.input(0).dtype(), [](double x) { return x > 0 ? x : (std::isnan(x) ? x : 0.0); },
            [](int64_t x) -> int64_t { return x > 0 ? x : 0; });
      }));
  r.add(plain("Sigmoid", sigmoid));
  r.add(plain("Tanh", [](double x) { return std::tanh(x); }));
  r.add(plain("Erf", [](double x) { return std::erf(x); }));
  r.add(plain("Softplus", softplus));
  r.add(plain("Softsign", [](double x) { return x / (1.0 + std::fabs(x)); }));
  r.add(plain(
      "HardSwish", [](double x) { return x * clamp01(x / 6.0 + 0.5); }, 14));
  r.add(plain(
      "Mish", [](double x) { return x * std::tanh(softplus(x)); }, 18));
  r.add(with_attrs("LeakyRelu", {{"alpha", 0.01f}},
                   [](double x, const std::vector<double>& a) { return x < 0 ? a[0] * x : x; }));
  r.add(with_attrs("HardSigmoid", {{"alpha", 0.2f}, {"beta", 0.5f}},
                   [](double x, const std::vector<double>& a) { return clamp01(a[0] * x + a[1]); }));
  r.add(with_attrs("Elu", {{"alpha", 1.0f}},
                   [](double x, const std::vector<double>& a) { return x < 0 ? a[0] * std::expm1(x) : x; }));
  r.add(with_attrs(
      "Selu", {{"alpha", 1.67326319217681884765625f}, {"gamma", 1.05070102214813232421875f}},
      [](double x, const std::vector<double>& a) { return x > 0 ? a[1] * x : a[1] * a[0] * std::expm1(x); }));
  r.add(with_attrs(
      "Celu", {{"alpha", 1.0f}},
      [](double x, const std::vector<double>& a) {
        return std::max(0.0, x) + std::min(0.0, a[0] * std::expm1(x / a[0]));
      },
      celu_check));
  r.add(with_attrs("ThresholdedRelu", {{"alpha", 1.0f}},
                   [](double x, const std::vector<double>& a) { return x > a[0] ? x : 0.0; }));
  r.add(act(
      "Gelu",
      [](InferContext& ctx) {
        KILN_RETURN_IF_ERROR(gelu_tanh(ctx.node()).status());
        return infer_unary(ctx, kFloatTypes);
      },
      gelu_cpu, 20));
  OpSchema prelu = elementwise_schema("activation", "PRelu", 2, 2, prelu_infer, prelu_cpu);
  r.add(std::move(prelu));
  add_activation_cases(r);
}

}  // namespace kiln
