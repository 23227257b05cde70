// Scaled dot-product attention as one op (domain "kiln"), created by the
// fuse_attention pass from the layers the earlier passes leave of it:
//
//   kiln.FusedAttention(Q, K, V, B?) = MatMul(FusedSoftmax(alpha * Q x K^T, B), V)
//
// Q [..., Sq, D], K [..., Sk, D], V [..., Sk, Dv] share their batch dims; B
// (the mask) broadcasts to the scores [..., Sq, Sk]; nan_to_zero as in
// kiln.FusedSoftmax. transposed_heads (4 flags: Q, K, V, Y) marks a tensor
// stored with its last-but-two and last-but-one axes swapped, [.., S, H, D]
// for the [.., H, S, D] above: the layout the Q/K/V projections write, so
// fuse_attention can drop the head transposes around the op. The reference
// runs the three layers' own references, so it rounds the scores and the
// probabilities to the input type exactly where the unfused engine does.
#include <cmath>
#include <utility>
#include <vector>

#include "ops/families.h"
#include "ops/fused/fused_util.h"

namespace kiln {
namespace {

struct AttentionAttrs {
  float alpha = 1;
  int64_t nan_to_zero = 0;
  std::vector<int64_t> transposed_heads = {0, 0, 0, 0};
};

Expected<AttentionAttrs> read_attrs(const Node& n) {
  AttentionAttrs a;
  KILN_ASSIGN_OR_RETURN(a.alpha, n.attr_float("alpha", 1.f));
  KILN_ASSIGN_OR_RETURN(a.nan_to_zero, n.attr_int("nan_to_zero", 0));
  if (a.nan_to_zero != 0 && a.nan_to_zero != 1)
    return n.error(ErrorCode::kInvalidArgument, "nan_to_zero must be 0 or 1, got ", a.nan_to_zero);
  KILN_ASSIGN_OR_RETURN(a.transposed_heads, n.attr_ints("transposed_heads", {0, 0, 0, 0}));
  if (a.transposed_heads.size() != 4) return n.error(ErrorCode::kInvalidArgument, "transposed_heads needs 4 flags");
  for (int64_t f : a.transposed_heads)
    if (f != 0 && f != 1) return n.error(ErrorCode::kInvalidArgument, "transposed_heads flags must be 0 or 1");
  return a;
}

// Swaps the last-but-two and last-but-one dims (the heads and the sequence).
Shape swap_heads(Shape s, bool swap) {
  if (swap) std::swap(s.dims[s.rank() - 3], s.dims[s.rank() - 2]);
  return s;
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
  OpSchema s = fused_schema("FusedAttention", 3, 4);
  s.infer = [](InferContext& ctx) -> Status {
    KILN_ASSIGN_OR_RETURN(AttentionAttrs a, read_attrs(ctx.node()));
    const DType t = ctx.input_dtype(0);
    if (t != DType::kFloat32 && t != DType::kFloat16 && t != DType::kBFloat16 && t != DType::kFloat64)
      return ctx.unsupported("Q is ", dtype_name(t), "; FusedAttention takes float32, float16, bfloat16, float64");
    for (size_t i = 1; i < ctx.num_inputs(); ++i)
      if (ctx.has_input(i) && ctx.input_dtype(i) != t)
        return ctx.error("input ", i, " is ", dtype_name(ctx.input_dtype(i)), ", Q is ", dtype_name(t));
    const size_t r = ctx.input_shape(0).rank();
    if (r < 2 || ctx.input_shape(1).rank() != r || ctx.input_shape(2).rank() != r)
      return ctx.error("Q, K and V must have one rank >= 2, got ", ctx.input_shape(0).to_string(), ", ",
                       ctx.input_shape(1).to_string(), ", ", ctx.input_shape(2).to_string());
    const bool swaps = a.transposed_heads != std::vector<int64_t>{0, 0, 0, 0};
    if (swaps && r < 3) return ctx.error("transposed_heads needs rank >= 3, got rank ", r);
    // Q, K, V in their logical [.., H, S, D] order.
    const Shape q = swap_heads(ctx.input_shape(0), a.transposed_heads[0]);
    const Shape k = swap_heads(ctx.input_shape(1), a.transposed_heads[1]);
    const Shape v = swap_heads(ctx.input_shape(2), a.transposed_heads[2]);
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
    ctx.set_output(0, t, swap_heads(out, a.transposed_heads[3]));
    return Status::Ok();
  };
  s.cpu = [](CpuContext& ctx) -> Status {
    const Node& n = ctx.node();
    KILN_ASSIGN_OR_RETURN(AttentionAttrs a, read_attrs(n));
    // Q, K, V in [.., H, S, D] order (a copy where stored transposed).
    const size_t r = ctx.input(0).rank();
    Tensor logical[3];
    const Tensor* in[3];
    for (size_t i = 0; i < 3; ++i) {
      in[i] = &ctx.input(i);
      if (!a.transposed_heads[i]) continue;
      KILN_ASSIGN_OR_RETURN(logical[i], run_component("Transpose", n, {{"perm", Attr::of_ints(perm_swapping(r, r - 3, r - 2))}},
                                                      {in[i]}, ctx.limits()));
      in[i] = &logical[i];
    }
    KILN_ASSIGN_OR_RETURN(Tensor scores, run_kiln_component("FusedMatMul", n,
                                                            {{"activation", Attr::of_string("")},
                                                             {"alpha", Attr::of_float(a.alpha)},
                                                             {"transB", Attr::of_int(1)}},
                                                            {in[0], in[1]}, ctx.limits()));
    const Tensor* mask = ctx.has_input(3) ? &ctx.input(3) : nullptr;
    KILN_ASSIGN_OR_RETURN(Tensor p, run_kiln_component("FusedSoftmax", n,
                                                       {{"axis", Attr::of_int(-1)},
                                                        {"nan_to_zero", Attr::of_int(a.nan_to_zero)}},
                                                       {&scores, mask}, ctx.limits()));
    KILN_ASSIGN_OR_RETURN(Tensor y, run_component("MatMul", n, {}, {&p, in[2]}, ctx.limits()));
    if (a.transposed_heads[3]) {
      KILN_ASSIGN_OR_RETURN(y, run_component("Transpose", n, {{"perm", Attr::of_ints(perm_swapping(r, r - 3, r - 2))}}, {&y},
                                             ctx.limits()));
    }
    ctx.set_output(0, std::move(y));
    return Status::Ok();
  };
  r.add(std::move(s));
}

// BERT's head (64) with its masks, a longer key sequence than query, head
// sizes of both kernels' paths, a fully masked row, no mask, fp16 and bf16,
// heads stored [b, s, h, d].
void add_fused_attention_cases(OpRegistry& r) {
  auto in = [](DType t, std::vector<int64_t> dims, double lo, double hi) {
    return CaseInput::random(t, std::move(dims), lo, hi);
  };
  auto att = [&](const std::string& name, std::vector<CaseInput> inputs, float alpha, int64_t nan_to_zero,
                 std::vector<int64_t> transposed_heads = {}) {
    OpCase c;
    c.name = "kiln.FusedAttention/" + name;
    c.op = "FusedAttention";
    c.domain = "kiln";
    c.attrs["alpha"] = Attr::of_float(alpha);
    c.attrs["nan_to_zero"] = Attr::of_int(nan_to_zero);
    if (!transposed_heads.empty()) c.attrs["transposed_heads"] = Attr::of_ints(transposed_heads);
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
  // Q, K, V as the projections write them ([b, s, h, d]) and Y likewise; then K alone.
  att("bshd_layouts", {in(f32, {2, 40, 3, 64}, -1, 1), in(f32, {2, 40, 3, 64}, -1, 1),
                       in(f32, {2, 40, 3, 64}, -1, 1), in(f32, {2, 1, 1, 40}, -3, 0)}, 0.125f, 1, {1, 1, 1, 1});
  att("bshd_k_only", {in(f32, {1, 2, 33, 32}, -1, 1), in(f32, {1, 70, 2, 32}, -1, 1),
                      in(f32, {1, 2, 70, 32}, -1, 1)}, 0.2f, 0, {0, 1, 0, 0});
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
