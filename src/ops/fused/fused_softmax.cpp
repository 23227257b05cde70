// Attention's masked softmax as one op (domain "kiln"), created by the
// fuse_softmax pass:
//
//   kiln.FusedSoftmax(X, B?) = Softmax(X + B) along the last axis,
//                              then NaN -> 0 when nan_to_zero (Where(IsNaN(p), 0, p))
//
// B (the mask) broadcasts to X one way; the axis must be the last one, so a
// kernel reads each row of X (and its bias row) once and writes it once. The
// reference runs Add and Softmax's own reference kernels, so X + B is rounded
// to X's type as the unfused Add's output was.
#include <cmath>

#include "ops/families.h"
#include "ops/fused/fused_util.h"

namespace kiln {
namespace {

// B broadcasts to X one way only (numpy rules), so the output keeps X's shape.
bool bias_broadcasts(const Shape& b, const Shape& x) {
  if (b.rank() > x.rank()) return false;
  for (size_t i = 0; i < b.rank(); ++i) {
    const Dim& d = b[b.rank() - 1 - i];
    if (!(d == Dim(1)) && !(d == x[x.rank() - 1 - i])) return false;
  }
  return true;
}

Status check_softmax_attrs(const Node& n, size_t rank, bool* nan_to_zero) {
  KILN_ASSIGN_OR_RETURN(int64_t axis, n.attr_int("axis", -1));
  const int64_t r = static_cast<int64_t>(rank);
  if (axis != -1 && axis != r - 1)
    return n.error(ErrorCode::kInvalidArgument, "axis ", axis, " is not the last axis of a rank-", r,
                   " input; FusedSoftmax runs along the last axis only");
  KILN_ASSIGN_OR_RETURN(int64_t flag, n.attr_int("nan_to_zero", 0));
  if (flag != 0 && flag != 1) return n.error(ErrorCode::kInvalidArgument, "nan_to_zero must be 0 or 1, got ", flag);
  *nan_to_zero = flag == 1;
  return Status::Ok();
}

void register_fused_softmax(OpRegistry& r) {
  OpSchema s = fused_schema("FusedSoftmax", 1, 2);
  s.infer = [](InferContext& ctx) -> Status {
    const DType t = ctx.input_dtype(0);
    if (t != DType::kFloat32 && t != DType::kFloat16 && t != DType::kBFloat16 && t != DType::kFloat64)
      return ctx.unsupported("input X is ", dtype_name(t), "; FusedSoftmax takes float32, float16, bfloat16, float64");
    const Shape& x = ctx.input_shape(0);
    if (x.rank() == 0) return ctx.error("input X must have rank >= 1");
    bool nan_to_zero = false;
    KILN_RETURN_IF_ERROR(check_softmax_attrs(ctx.node(), x.rank(), &nan_to_zero));
    if (ctx.has_input(1)) {
      if (ctx.input_dtype(1) != t)
        return ctx.error("bias B is ", dtype_name(ctx.input_dtype(1)), ", X is ", dtype_name(t));
      if (!bias_broadcasts(ctx.input_shape(1), x))
        return ctx.error("bias B ", ctx.input_shape(1).to_string(), " does not broadcast to X ", x.to_string());
    }
    ctx.set_output(0, t, x);
    return Status::Ok();
  };
  s.cpu = [](CpuContext& ctx) -> Status {
    const Node& n = ctx.node();
    const Tensor* x = &ctx.input(0);
    bool nan_to_zero = false;
    KILN_RETURN_IF_ERROR(check_softmax_attrs(n, static_cast<size_t>(x->rank()), &nan_to_zero));
    Tensor sum;
    if (ctx.has_input(1)) {
      if (!bias_broadcasts(Shape::of(ctx.input(1).dims()), Shape::of(x->dims())))
        return ctx.error("bias B ", dims_to_string(ctx.input(1).dims()), " does not broadcast to X ",
                         dims_to_string(x->dims()));
      KILN_ASSIGN_OR_RETURN(sum, run_component("Add", n, {}, {x, &ctx.input(1)}, ctx.limits()));
      x = &sum;
    }
    KILN_ASSIGN_OR_RETURN(Tensor y, run_component("Softmax", n, {{"axis", Attr::of_int(-1)}}, {x}, ctx.limits()));
    // Rows that are NaN throughout (all -inf, or a NaN/+inf in the row) become 0.
    if (nan_to_zero)
      for (int64_t k = 0; k < y.numel(); ++k)
        if (std::isnan(y.get_f64(k))) y.set_f64(k, 0.0);
    ctx.set_output(0, std::move(y));
    return Status::Ok();
  };
  r.add(std::move(s));
}

// Attention-mask shapes ([B,1,1,S], [B,1,S,S], scalar, per-row), rows that
// take the warp path (<= 1024) and the block path, fully masked rows.
void add_fused_softmax_cases(OpRegistry& r) {
  auto sm = [&](const std::string& name, std::vector<CaseInput> inputs, int64_t nan_to_zero) {
    OpCase c;
    c.name = "kiln.FusedSoftmax/" + name;
    c.op = "FusedSoftmax";
    c.domain = "kiln";
    c.attrs["axis"] = Attr::of_int(-1);
    c.attrs["nan_to_zero"] = Attr::of_int(nan_to_zero);
    // Outputs are rounded to X's type: one unit in the last place apart is a pass.
    const DType t = inputs[0].dtype;
    c.tolerance = t == DType::kFloat16 ? 2e-3 : t == DType::kBFloat16 ? 1e-2 : 1e-5;
    c.inputs = std::move(inputs);
    r.add_case(std::move(c));
  };
  auto in = [](DType t, std::vector<int64_t> dims, double lo, double hi, bool constant = false) {
    return CaseInput::random(t, std::move(dims), lo, hi, constant);
  };
  const DType f32 = DType::kFloat32;
  const double inf = INFINITY;
  // Batch 0 is masked throughout (NaN rows -> 0); batch 1 masks two columns.
  CaseInput mask = in(f32, {2, 1, 1, 7}, 0, 0);
  mask.fvalues = {-inf, -inf, -inf, -inf, -inf, -inf, -inf, 0, 0, -inf, 0, 0, -inf, 0};
  sm("mask_b11s_fully_masked", {in(f32, {2, 3, 5, 7}, -4, 4), mask}, 1);
  sm("mask_b1ss", {in(f32, {2, 3, 5, 7}, -4, 4), in(f32, {2, 1, 5, 7}, -3, 3)}, 0);
  sm("scalar_bias_fp16", {in(DType::kFloat16, {4, 33}, -5, 5), in(DType::kFloat16, {}, -1, 1, true)}, 1);
  sm("row_bias_bf16", {in(DType::kBFloat16, {2, 4, 129}, -5, 5), in(DType::kBFloat16, {4, 1}, -2, 2)}, 0);
  sm("const_bias_1024", {in(f32, {3, 1024}, -8, 8), in(f32, {1024}, -2, 2, true)}, 1);
  sm("long_rows_bias", {in(f32, {2, 3, 1500}, -8, 8), in(f32, {2, 1, 1500}, -2, 2)}, 1);
  sm("no_bias", {in(f32, {5, 33}, -5, 5)}, 0);
  sm("fp64", {in(DType::kFloat64, {3, 6}, -5, 5), in(DType::kFloat64, {6}, -1, 1)}, 1);
}

}  // namespace

void register_fused_softmax_ops(OpRegistry& r) {
  register_fused_softmax(r);
  add_fused_softmax_cases(r);
}

}  // namespace kiln
