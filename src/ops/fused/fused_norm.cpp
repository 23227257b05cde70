// Fused normalizations (domain "kiln"), created by the build passes:
//
//   kiln.FusedLayerNorm(X, Z, Scale, B?) = LayerNormalization(X + Z, Scale, B)
//
// the "skip layer norm" of transformer encoders: the residual sum is never
// written to memory. X + Z is rounded to X's type before normalizing, as the
// unfused Add's output was. Attributes are LayerNormalization's (axis,
// epsilon, stash_type), axis restricted to the last one: a kernel reads one
// row of X and one of Z per output row. There is no Mean/InvStdDev output.
#include "ops/families.h"
#include "ops/fused/fused_util.h"

namespace kiln {
namespace {

Status check_last_axis(const Node& n, int64_t rank) {
  if (rank == 0) return n.error(ErrorCode::kInvalidArgument, "input X must have rank >= 1");
  KILN_ASSIGN_OR_RETURN(int64_t axis, n.attr_int("axis", -1));
  if (axis != -1 && axis != rank - 1)
    return n.error(ErrorCode::kInvalidArgument, "axis ", axis, " is not the last axis of a rank-", rank,
                   " input; FusedLayerNorm normalizes along the last axis only");
  return Status::Ok();
}

void register_fused_layer_norm(OpRegistry& r) {
  OpSchema s = fused_schema("FusedLayerNorm", 3, 4);
  s.infer = [](InferContext& ctx) -> Status {
    const Node& n = ctx.node();
    KILN_RETURN_IF_ERROR(check_last_axis(n, ctx.input_rank(0)));
    if (ctx.input_dtype(1) != ctx.input_dtype(0) || !(ctx.input_shape(1) == ctx.input_shape(0)))
      return ctx.error("Z must have X's type and shape ", n.inputs[0]->type_string(), ", got ",
                       n.inputs[1]->type_string());
    // The sum has X's type and shape, so LayerNormalization infers on X.
    return infer_component("LayerNormalization", ctx,
                           {n.inputs[0], n.inputs[2], ctx.has_input(3) ? n.inputs[3] : nullptr}, n.attrs);
  };
  s.cpu = [](CpuContext& ctx) -> Status {
    const Node& n = ctx.node();
    const Tensor& x = ctx.input(0);
    const Tensor& z = ctx.input(1);
    KILN_RETURN_IF_ERROR(check_last_axis(n, x.rank()));
    if (z.dtype() != x.dtype() || z.dims() != x.dims())
      return ctx.error("Z (", dtype_name(z.dtype()), dims_to_string(z.dims()), ") must have X's type and shape (",
                       dtype_name(x.dtype()), dims_to_string(x.dims()), ")");
    KILN_ASSIGN_OR_RETURN(Tensor sum, run_component("Add", n, {}, {&x, &z}, ctx.limits()));
    const Tensor* bias = ctx.has_input(3) ? &ctx.input(3) : nullptr;
    KILN_ASSIGN_OR_RETURN(Tensor y,
                          run_component("LayerNormalization", n, n.attrs, {&sum, &ctx.input(2), bias}, ctx.limits()));
    ctx.set_output(0, std::move(y));
    return Status::Ok();
  };
  r.add(std::move(s));
}

// BERT's width (vector register rows), odd widths (scalar rows), rows too
// long for registers (the three-pass kernel), runtime parameters, every
// attribute, fp16/bf16/fp64, no bias, empty and rank-1 inputs.
void add_fused_norm_cases(OpRegistry& r) {
  auto ln = [&](const std::string& name, DType t, std::vector<int64_t> dims, bool bias,
                std::map<std::string, Attr> attrs = {}, bool const_params = true) {
    const int64_t w = dims.back();
    OpCase c;
    c.name = "kiln.FusedLayerNorm/" + name;
    c.op = "FusedLayerNorm";
    c.domain = "kiln";
    c.attrs = std::move(attrs);
    c.inputs = {CaseInput::random(t, dims, -3, 3), CaseInput::random(t, dims, -2, 2),
                CaseInput::random(t, {w}, 0.5, 1.5, const_params)};
    if (bias) c.inputs.push_back(CaseInput::random(t, {w}, -1, 1, const_params));
    // Kernels compute in float32: an output near a rounding boundary of a
    // half type may land one unit in the last place away.
    c.tolerance = t == DType::kFloat16 ? 2e-3 : t == DType::kBFloat16 ? 1e-2 : 1e-5;
    r.add_case(std::move(c));
  };
  ln("bert_768", DType::kFloat32, {2, 3, 768}, true, {{"epsilon", Attr::of_float(1e-12f)}});
  ln("fp16_768", DType::kFloat16, {4, 768}, true);
  ln("fp16_33", DType::kFloat16, {3, 5, 33}, true);
  ln("bf16_1000_no_bias", DType::kBFloat16, {3, 1000}, false);
  ln("width7_axis_eps_stash", DType::kFloat32, {2, 3, 7}, true,
     {{"axis", Attr::of_int(2)}, {"epsilon", Attr::of_float(0.1f)}, {"stash_type", Attr::of_int(1)}});
  ln("runtime_params", DType::kFloat32, {4, 65}, true, {}, false);
  ln("long_rows", DType::kFloat32, {2, 40000}, true);
  ln("rank1", DType::kFloat32, {10}, true, {{"axis", Attr::of_int(0)}});
  ln("empty_rows", DType::kFloat32, {0, 8}, true);
  ln("fp64", DType::kFloat64, {3, 8}, true);
}

}  // namespace

void register_fused_norm_ops(OpRegistry& r) {
  register_fused_layer_norm(r);
  add_fused_norm_cases(r);
}

}  // namespace kiln
