// GroupNormalization. Opset 21 (canonical) has per-channel scale and bias;
// opset 18 had one per group. `upgrade` expands constant per-group
// parameters to per-channel ones; otherwise the kernel tells the two forms
// apart by the parameters' length (they coincide when groups == channels).
#include <algorithm>
#include <cmath>

#include "ops/infer.h"
#include "ops/norm/norm_util.h"

namespace kiln::norm_ops {
namespace {

constexpr int64_t kPerChannelOpset = 21;

Expected<int64_t> num_groups(const Node& node) {
  KILN_ASSIGN_OR_RETURN(int64_t g, node.attr_int("num_groups"));
  if (g <= 0) return node.error(ErrorCode::kInvalidArgument, "attribute 'num_groups' must be positive, got ", g);
  return g;
}

Status infer_group_norm(InferContext& ctx) {
  const Node& node = ctx.node();
  const char* names[] = {"X", "scale", "bias"};
  for (size_t i = 0; i < 3; ++i) {
    KILN_RETURN_IF_ERROR(check_float(ctx, i, names[i]));
    if (ctx.input_dtype(i) != ctx.input_dtype(0))
      return ctx.error(names[i], " (input ", i, ") must have X's type ", dtype_name(ctx.input_dtype(0)), ", got ",
                       dtype_name(ctx.input_dtype(i)));
  }
  const Shape& x = ctx.input_shape(0);
  if (x.rank() < 2) return ctx.error("X must have rank >= 2 (N x C x ...), got shape ", x.to_string());
  KILN_ASSIGN_OR_RETURN(int64_t groups, num_groups(node));
  KILN_RETURN_IF_ERROR(node.attr_float("epsilon", 1e-5f).status());
  KILN_RETURN_IF_ERROR(stash_dtype(node).status());
  const Dim& c = x[1];
  if (c.is_static() && c.value % groups != 0)
    return ctx.error(c.value, " channels do not split into num_groups = ", groups, " equal groups");
  for (size_t i = 1; i < 3; ++i) {
    const Shape& s = ctx.input_shape(i);
    if (s.rank() != 1) return ctx.error(names[i], " (input ", i, ") must be 1-D, got shape ", s.to_string());
    if (!s[0].is_static() || !c.is_static()) continue;
    bool per_channel = s[0].value == c.value;
    bool per_group = node.opset < kPerChannelOpset && s[0].value == groups;
    if (!per_channel && !per_group)
      return ctx.error(names[i], " (input ", i, ") has ", s[0].value, " entries; expected ",
                       node.opset < kPerChannelOpset ? str("num_groups = ", groups, " (opset < 21) or ") : "",
                       c.value, " (one per channel)");
  }
  ctx.set_output(0, ctx.input_dtype(0), x);
  return Status::Ok();
}

// Per-group constant to per-channel constant: each value repeated for the
// channels of its group.
Status upgrade_group_norm(Node& node, Graph& graph) {
  if (node.opset >= kPerChannelOpset || !node.has_input(0) || !node.has_input(1) || !node.has_input(2))
    return Status::Ok();
  const Value* x = node.inputs[0];
  if (!x->shape_known || x->shape.rank() < 2 || !x->shape[1].is_static()) return Status::Ok();
  auto groups = num_groups(node);
  if (!groups.ok()) return Status::Ok();  // inference reports it
  int64_t c = x->shape[1].value, g = *groups;
  if (g == c || c % g != 0) return Status::Ok();
  for (size_t i = 1; i < 3; ++i) {
    const Value* v = node.inputs[i];
    if (!v->constant || v->constant->rank() != 1 || v->constant->numel() != g) return Status::Ok();
  }
  for (size_t i = 1; i < 3; ++i) {
    Value* old = node.inputs[i];
    const Tensor& per_group = *old->constant;
    KILN_ASSIGN_OR_RETURN(Tensor per_channel, Tensor::alloc(per_group.dtype(), {c}));
    for (int64_t ch = 0; ch < c; ++ch) per_channel.set_f64(ch, per_group.get_f64(ch / (c / g)));
    auto it = std::find(old->users.begin(), old->users.end(), &node);
    if (it != old->users.end()) old->users.erase(it);
    add_constant_input(graph, node, i, std::move(per_channel), i == 1 ? "scale" : "bias");
  }
  return Status::Ok();
}

Status run_group_norm(CpuContext& ctx) {
  const Node& node = ctx.node();
  const Tensor& x = ctx.input(0);
  if (x.rank() < 2) return ctx.error("X must have rank >= 2, got ", dims_to_string(x.dims()));
  KILN_ASSIGN_OR_RETURN(int64_t groups, num_groups(node));
  KILN_ASSIGN_OR_RETURN(float eps_f, node.attr_float("epsilon", 1e-5f));
  int64_t n_count = x.dim(0), c = x.dim(1);
  if (c % groups != 0) return ctx.error(c, " channels do not split into num_groups = ", groups, " equal groups");
  const Tensor& scale = ctx.input(1);
  const Tensor& bias = ctx.input(2);
  bool per_group = false;
  if (node.opset < kPerChannelOpset && scale.numel() == groups && scale.numel() != c) {
    per_group = true;
    KILN_RETURN_IF_ERROR(check_count(ctx, 1, "scale", groups));
    KILN_RETURN_IF_ERROR(check_count(ctx, 2, "bias", groups));
  } else {
    KILN_RETURN_IF_ERROR(check_count(ctx, 1, "scale", c));
    KILN_RETURN_IF_ERROR(check_count(ctx, 2, "bias", c));
  }
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.alloc_output(0, x.dtype(), x.dims()));
  if (x.numel() == 0) return Status::Ok();
  int64_t spatial = x.numel() / (n_count * c);
  int64_t per = c / groups;  // channels per group
  int64_t block = per * spatial;
  double eps = eps_f;
  for (int64_t n = 0; n < n_count; ++n) {
    for (int64_t g = 0; g < groups; ++g) {
      int64_t base = (n * c + g * per) * spatial;  // the group's channels are contiguous
      double sum = 0, sq = 0;
      for (int64_t k = 0; k < block; ++k) sum += x.get_f64(base + k);
      double mean = sum / static_cast<double>(block);
      for (int64_t k = 0; k < block; ++k) {
        double d = x.get_f64(base + k) - mean;
        sq += d * d;
      }
      double inv = 1.0 / std::sqrt(sq / static_cast<double>(block) + eps);
      for (int64_t k = 0; k < block; ++k) {
        int64_t p = per_group ? g : g * per + k / spatial;
        y->set_f64(base + k, (x.get_f64(base + k) - mean) * inv * scale.get_f64(p) + bias.get_f64(p));
      }
    }
  }
  return Status::Ok();
}

}  // namespace

void register_group_norm_op(OpRegistry& r) {
  OpSchema s;
  s.name = "GroupNormalization";
  s.family = "norm";
  s.min_inputs = s.max_inputs = 3;
  s.since_opset = 18;
  s.infer = infer_group_norm;
  s.cpu = run_group_norm;
  s.upgrade = upgrade_group_norm;
  r.add(std::move(s));
}

}  // namespace kiln::norm_ops
