// BatchNormalization and InstanceNormalization, and the family's register
// function. Statistics are computed in double.
//
// BatchNormalization's canonical form is opset 15: inputs X, scale, B,
// input_mean, input_var; outputs Y and, with training_mode=1, running_mean
// and running_var. The opset 9 form (accepted at opset 13) marks training by
// its extra outputs; `upgrade` turns that into training_mode=1.
#include <cmath>

#include "ops/families.h"
#include "ops/norm/norm_util.h"

namespace kiln {
namespace norm_ops {
namespace {

// X is [N, C, D1, ...]: per-channel loops walk n, c and the spatial block.
struct NcsSplit {
  int64_t n = 0, c = 0, spatial = 0;
};
NcsSplit split_ncs(const Tensor& x) {
  return {x.dim(0), x.dim(1), dims_product(x.dims(), 2, x.dims().size())};
}

Status check_same_dtype(const InferContext& ctx, size_t a, size_t b) {
  if (ctx.input_dtype(a) != ctx.input_dtype(b))
    return ctx.error("inputs ", a, " and ", b, " must have the same type, got ", dtype_name(ctx.input_dtype(a)),
                     " and ", dtype_name(ctx.input_dtype(b)));
  return Status::Ok();
}

Status infer_batch_norm(InferContext& ctx) {
  const Node& node = ctx.node();
  const char* names[] = {"X", "scale", "B", "input_mean", "input_var"};
  for (size_t i = 0; i < 5; ++i) KILN_RETURN_IF_ERROR(check_float(ctx, i, names[i]));
  // Type constraints tightened over opsets: 9 ties all five, 14 ties
  // scale/B to X, 15 only pairs scale with B and mean with var.
  KILN_RETURN_IF_ERROR(check_same_dtype(ctx, 1, 2));
  KILN_RETURN_IF_ERROR(check_same_dtype(ctx, 3, 4));
  if (node.opset < 15) KILN_RETURN_IF_ERROR(check_same_dtype(ctx, 0, 1));
  if (node.opset < 14) KILN_RETURN_IF_ERROR(check_same_dtype(ctx, 0, 3));
  const Shape& x = ctx.input_shape(0);
  if (x.rank() < 2) return ctx.error("X must have rank >= 2 (N x C x ...), got shape ", x.to_string());
  for (size_t i = 1; i < 5; ++i) KILN_RETURN_IF_ERROR(check_per_channel(ctx, i, names[i], x[1]));
  KILN_RETURN_IF_ERROR(node.attr_float("epsilon", 1e-5f).status());
  KILN_RETURN_IF_ERROR(node.attr_float("momentum", 0.9f).status());
  KILN_ASSIGN_OR_RETURN(int64_t training, node.attr_int("training_mode", 0));
  if (training != 0 && training != 1) return ctx.error("attribute 'training_mode' must be 0 or 1, got ", training);
  if (!training && (node.has_output(1) || node.has_output(2)))
    return ctx.error("running_mean/running_var outputs are only valid with training_mode=1");
  ctx.set_output(0, ctx.input_dtype(0), x);
  for (size_t i = 1; i < 3; ++i)
    if (node.has_output(i)) ctx.set_output(i, ctx.input_dtype(3), Shape({x[1]}));
  return Status::Ok();
}

Status run_batch_norm(CpuContext& ctx) {
  const Node& node = ctx.node();
  const Tensor& x = ctx.input(0);
  if (x.rank() < 2) return ctx.error("X must have rank >= 2, got ", dims_to_string(x.dims()));
  NcsSplit s = split_ncs(x);
  const char* names[] = {"X", "scale", "B", "input_mean", "input_var"};
  for (size_t i = 1; i < 5; ++i) KILN_RETURN_IF_ERROR(check_count(ctx, i, names[i], s.c));
  KILN_ASSIGN_OR_RETURN(float eps, node.attr_float("epsilon", 1e-5f));
  KILN_ASSIGN_OR_RETURN(float momentum_f, node.attr_float("momentum", 0.9f));
  KILN_ASSIGN_OR_RETURN(int64_t training, node.attr_int("training_mode", 0));
  const Tensor& scale = ctx.input(1);
  const Tensor& bias = ctx.input(2);
  const Tensor& in_mean = ctx.input(3);
  const Tensor& in_var = ctx.input(4);
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.alloc_output(0, x.dtype(), x.dims()));
  Tensor* run_mean = nullptr;
  Tensor* run_var = nullptr;
  if (training && ctx.wants_output(1)) {
    KILN_ASSIGN_OR_RETURN(run_mean, ctx.alloc_output(1, in_mean.dtype(), {s.c}));
  }
  if (training && ctx.wants_output(2)) {
    KILN_ASSIGN_OR_RETURN(run_var, ctx.alloc_output(2, in_var.dtype(), {s.c}));
  }
  double momentum = momentum_f;
  for (int64_t c = 0; c < s.c; ++c) {
    double mean = in_mean.get_f64(c);
    double var = in_var.get_f64(c);
    if (training) {
      // Batch statistics over N and the spatial dims (population variance).
      double count = static_cast<double>(s.n) * static_cast<double>(s.spatial);
      double sum = 0, sq = 0;
      for (int64_t n = 0; n < s.n; ++n)
        for (int64_t k = 0; k < s.spatial; ++k) sum += x.get_f64((n * s.c + c) * s.spatial + k);
      mean = sum / count;
      for (int64_t n = 0; n < s.n; ++n)
        for (int64_t k = 0; k < s.spatial; ++k) {
          double d = x.get_f64((n * s.c + c) * s.spatial + k) - mean;
          sq += d * d;
        }
      var = sq / count;
      if (run_mean) run_mean->set_f64(c, in_mean.get_f64(c) * momentum + mean * (1 - momentum));
      if (run_var) run_var->set_f64(c, in_var.get_f64(c) * momentum + var * (1 - momentum));
    }
    double inv = 1.0 / std::sqrt(var + static_cast<double>(eps));
    double sc = scale.get_f64(c), b = bias.get_f64(c);
    for (int64_t n = 0; n < s.n; ++n)
      for (int64_t k = 0; k < s.spatial; ++k) {
        int64_t at = (n * s.c + c) * s.spatial + k;
        y->set_f64(at, (x.get_f64(at) - mean) * inv * sc + b);
      }
  }
  return Status::Ok();
}

// Opset 9 form: outputs mean and var (1, 2) mean training; saved_mean and
// saved_var (3, 4) have no canonical counterpart.
Status upgrade_batch_norm(Node& node, Graph&) {
  if (node.opset >= 14) return Status::Ok();
  if (node.has_output(3) || node.has_output(4))
    return node.error(ErrorCode::kUnsupported, "the saved_mean/saved_var training outputs of opset ", node.opset,
                      " are not supported");
  if (node.outputs.size() > 3) node.outputs.resize(3);
  if (node.has_output(1) || node.has_output(2)) node.attrs["training_mode"] = Attr::of_int(1);
  return Status::Ok();
}

Status infer_instance_norm(InferContext& ctx) {
  const Node& node = ctx.node();
  const char* names[] = {"input", "scale", "B"};
  for (size_t i = 0; i < 3; ++i) KILN_RETURN_IF_ERROR(check_float(ctx, i, names[i]));
  KILN_RETURN_IF_ERROR(check_same_dtype(ctx, 0, 1));
  KILN_RETURN_IF_ERROR(check_same_dtype(ctx, 0, 2));
  const Shape& x = ctx.input_shape(0);
  if (x.rank() < 2) return ctx.error("input must have rank >= 2 (N x C x ...), got shape ", x.to_string());
  for (size_t i = 1; i < 3; ++i) KILN_RETURN_IF_ERROR(check_per_channel(ctx, i, names[i], x[1]));
  KILN_RETURN_IF_ERROR(node.attr_float("epsilon", 1e-5f).status());
  ctx.set_output(0, ctx.input_dtype(0), x);
  return Status::Ok();
}

Status run_instance_norm(CpuContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.rank() < 2) return ctx.error("input must have rank >= 2, got ", dims_to_string(x.dims()));
  NcsSplit s = split_ncs(x);
  KILN_RETURN_IF_ERROR(check_count(ctx, 1, "scale", s.c));
  KILN_RETURN_IF_ERROR(check_count(ctx, 2, "B", s.c));
  KILN_ASSIGN_OR_RETURN(float eps, ctx.node().attr_float("epsilon", 1e-5f));
  const Tensor& scale = ctx.input(1);
  const Tensor& bias = ctx.input(2);
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.alloc_output(0, x.dtype(), x.dims()));
  if (x.numel() == 0) return Status::Ok();
  for (int64_t n = 0; n < s.n; ++n) {
    for (int64_t c = 0; c < s.c; ++c) {
      int64_t base = (n * s.c + c) * s.spatial;
      double sum = 0, sq = 0;
      for (int64_t k = 0; k < s.spatial; ++k) sum += x.get_f64(base + k);
      double mean = sum / static_cast<double>(s.spatial);
      for (int64_t k = 0; k < s.spatial; ++k) {
        double d = x.get_f64(base + k) - mean;
        sq += d * d;
      }
      double inv = 1.0 / std::sqrt(sq / static_cast<double>(s.spatial) + static_cast<double>(eps));
      double sc = scale.get_f64(c), b = bias.get_f64(c);
      for (int64_t k = 0; k < s.spatial; ++k) y->set_f64(base + k, (x.get_f64(base + k) - mean) * inv * sc + b);
    }
  }
  return Status::Ok();
}

}  // namespace

void register_batch_instance_ops(OpRegistry& r) {
  OpSchema bn;
  bn.name = "BatchNormalization";
  bn.family = "norm";
  bn.min_inputs = bn.max_inputs = 5;
  bn.max_outputs = 3;
  bn.infer = infer_batch_norm;
  bn.cpu = run_batch_norm;
  bn.upgrade = upgrade_batch_norm;
  r.add(std::move(bn));

  OpSchema in;
  in.name = "InstanceNormalization";
  in.family = "norm";
  in.min_inputs = in.max_inputs = 3;
  in.infer = infer_instance_norm;
  in.cpu = run_instance_norm;
  r.add(std::move(in));
}

}  // namespace norm_ops

void register_norm_ops(OpRegistry& r) {
  norm_ops::register_batch_instance_ops(r);
  norm_ops::register_layer_rms_lp_ops(r);
  norm_ops::register_group_norm_op(r);
  norm_ops::add_norm_cases(r);
}

}  // namespace kiln
