// Scaled dot-product attention as one op (domain "kiln"), created by the
// fuse_attention pass from the layers the earlier passes leave of it:
//
//   kiln.FusedAttention(Q, K, V, B?) = MatMul(FusedSoftmax(alpha * Q x K^T, B), V)
//
// Q [..., Sq, D], K [..., Sk, D], V [..., Sk, Dv] share their batch dims; B
// (the mask) broadcasts to the scores [..., Sq, Sk]; nan_to_zero as in
// kiln.FusedSoftmax. The reference runs the three layers' own references,
// so it rounds the scores and the probabilities to the input type exactly
// where the unfused engine does.
#include <cmath>

#include "ops/families.h"
#include "ops/fused/fused_util.h"

namespace kiln {
namespace {

struct AttentionAttrs {
  float alpha = 1;
  int64_t nan_to_zero = 0;
};

Expected<AttentionAttrs> read_attrs(const Node& n) {
  AttentionAttrs a;
  KILN_ASSIGN_OR_RETURN(a.alpha, n.attr_float("alpha", 1.f));
  KILN_ASSIGN_OR_RETURN(a.nan_to_zero, n.attr_int("nan_to_zero", 0));
  if (a.nan_to_zero != 0 && a.nan_to_zero != 1)
    return n.error(ErrorCode::kInvalidArgument, "nan_to_zero must be 0 or 1, got ", a.nan_to_zero);
  return a;
}

// B broadcasts one way to `scores` (numpy rules).
bool broadcasts_to(const Shape& b, const Shape& scores) {
  if (b.rank() > scores.rank()) return false;
  for (size_t i = 0; i < b.rank(); ++i) {
    const Dim& d = b[b.rank() - 1 - i];
    if (!(d == Dim(1)) && !(d == scores[scores.rank() - 1 - i])) return false;
  }
  return true;
}

void register_fused_attention(OpRegistry& r) {
  OpSchema s;
  s.domain = "kiln";
  s.name = "FusedAttention";
  s.family = "fused";
  s.min_inputs = 3;
  s.max_inputs = 4;
  s.since_opset = 1;
  s.infer = [](InferContext& ctx) -> Status {
    KILN_RETURN_IF_ERROR(read_attrs(ctx.node()).status());
    const DType t = ctx.input_dtype(0);
    if (t != DType::kFloat32 && t != DType::kFloat16 && t != DType::kBFloat16 && t != DType::kFloat64)
      return ctx.unsupported("Q is ", dtype_name(t), "; FusedAttention takes float32, float16, bfloat16, float64");
    for (size_t i = 1; i < ctx.num_inputs(); ++i)
      if (ctx.has_input(i) && ctx.input_dtype(i) != t)
        return ctx.error("input ", i, " is ", dtype_name(ctx.input_dtype(i)), ", Q is ", dtype_name(t));
    const Shape& q = ctx.input_shape(0);
    const Shape& k = ctx.input_shape(1);
    const Shape& v = ctx.input_shape(2);
    const size_t r = q.rank();
    if (r < 2 || k.rank() != r || v.rank() != r)
      return ctx.error("Q, K and V must have one rank >= 2, got ", q.to_string(), ", ", k.to_string(), ", ",
                       v.to_string());
    for (size_t i = 0; i + 2 < r; ++i)
      if (!(q[i] == k[i]) || !(q[i] == v[i]))
        return ctx.error("Q, K and V must share their batch dims, got ", q.to_string(), ", ", k.to_string(), ", ",
                         v.to_string());
    if (!(k[r - 1] == q[r - 1])) return ctx.error("K's last dim must be Q's (D), got ", k.to_string());
    if (!(v[r - 2] == k[r - 2])) return ctx.error("V's second-last dim must be K's (Sk), got ", v.to_string());
    Shape scores = q;
    scores.dims[r - 1] = k[r - 2];
    if (ctx.has_input(3) && !broadcasts_to(ctx.input_shape(3), scores))
      return ctx.error("mask B ", ctx.input_shape(3).to_string(), " does not broadcast to the scores ",
                       scores.to_string());
    Shape out = q;
    out.dims[r - 1] = v[r - 1];
    ctx.set_output(0, t, out);
    return Status::Ok();
  };
  s.cpu = [](CpuContext& ctx) -> Status {
    const Node& n = ctx.node();
    KILN_ASSIGN_OR_RETURN(AttentionAttrs a, read_attrs(n));
    KILN_ASSIGN_OR_RETURN(Tensor scores, run_kiln_component("FusedMatMul", n,
                                                            {{"activation", Attr::of_string("")},
                                                             {"alpha", Attr::of_float(a.alpha)},
                                                             {"transB", Attr::of_int(1)}},
                                                            {&ctx.input(0), &ctx.input(1)}, ctx.limits()));
    const Tensor* mask = ctx.has_input(3) ? &ctx.input(3) : nullptr;
    KILN_ASSIGN_OR_RETURN(Tensor p, run_kiln_component("FusedSoftmax", n,
                                                       {{"axis", Attr::of_int(-1)},
                                                        {"nan_to_zero", Attr::of_int(a.nan_to_zero)}},
                                                       {&scores, mask}, ctx.limits()));
    KILN_ASSIGN_OR_RETURN(Tensor y, run_component("MatMul", n, {}, {&p, &ctx.input(2)}, ctx.limits()));
    ctx.set_output(0, std::move(y));
    return Status::Ok();
  };
  r.add(std::move(s));
}

// BERT's head (64) with its masks, a longer key sequence than query, head
// sizes of both kernels' paths, a fully masked row, no mask, fp16 and bf16.
void add_fused_attention_cases(OpRegistry& r) {
  auto in = [](DType t, std::vector<int64_t> dims, double lo, double hi) {
    return CaseInput::random(t, std::move(dims), lo, hi);
  };
  auto att = [&](const std::string& name, std::vector<CaseInput> inputs, float alpha, int64_t nan_to_zero) {
    OpCase c;
    c.name = "kiln.FusedAttention/" + name;
    c.op = "FusedAttention";
    c.domain = "kiln";
    c.attrs["alpha"] = Attr::of_float(alpha);
    c.attrs["nan_to_zero"] = Attr::of_int(nan_to_zero);
    const DType t = inputs[0].dtype;
    c.tolerance = t == DType::kFloat16 ? 2e-3 : t == DType::kBFloat16 ? 1e-2 : 1e-5;
    c.inputs = std::move(inputs);
    r.add_case(std::move(c));
  };
  const DType f32 = DType::kFloat32;
  att("bert_head64_mask_b11s", {in(f32, {2, 3, 40, 64}, -1, 1), in(f32, {2, 3, 40, 64}, -1, 1),
                                in(f32, {2, 3, 40, 64}, -1, 1), in(f32, {2, 1, 1, 40}, -3, 0)}, 0.125f, 1);
  att("long_keys_mask_b1ss", {in(f32, {1, 2, 17, 32}, -1, 1), in(f32, {1, 2, 150, 32}, -1, 1),
                              in(f32, {1, 2, 150, 48}, -1, 1), in(f32, {1, 1, 17, 150}, -3, 0)}, 0.2f, 0);
  att("no_mask_rank3", {in(f32, {4, 9, 16}, -2, 2), in(f32, {4, 70, 16}, -2, 2), in(f32, {4, 70, 16}, -2, 2)},
      0.25f, 0);
  att("head128_fp16", {in(DType::kFloat16, {1, 2, 65, 128}, -1, 1), in(DType::kFloat16, {1, 2, 65, 128}, -1, 1),
                       in(DType::kFloat16, {1, 2, 65, 128}, -1, 1)}, 0.088f, 0);
  att("odd_head_bf16", {in(DType::kBFloat16, {2, 5, 24}, -1, 1), in(DType::kBFloat16, {2, 7, 24}, -1, 1),
                        in(DType::kBFloat16, {2, 7, 40}, -1, 1)}, 0.2f, 1);
  // Batch 0's keys are all masked (-inf): its rows are 0 with nan_to_zero.
  CaseInput mask = in(f32, {2, 1, 1, 6}, 0, 0);
  const double inf = INFINITY;
  mask.fvalues = {-inf, -inf, -inf, -inf, -inf, -inf, 0, -inf, 0, 0, -inf, 0};
  att("fully_masked_batch", {in(f32, {2, 2, 3, 16}, -1, 1), in(f32, {2, 2, 6, 16}, -1, 1),
                             in(f32, {2, 2, 6, 16}, -1, 1), mask}, 0.25f, 1);
}

}  // namespace

void register_fused_attention_ops(OpRegistry& r) {
  register_fused_attention(r);
  add_fused_attention_cases(r);
}

}  // namespace kiln
