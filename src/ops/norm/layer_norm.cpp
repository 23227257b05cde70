// LayerNormalization (opset 17), RMSNormalization (opset 23) and
// LpNormalization. Each normalizes rows of X flattened to
// [prod(dims[:axis]), prod(dims[axis:])]; scale and bias broadcast one way
// to X. Statistics in double; stash_type only picks the dtype of
// LayerNormalization's Mean and InvStdDev outputs.
#include <cmath>

#include "ops/norm/norm_util.h"
#include "ops/op_util.h"

namespace kiln::norm_ops {
namespace {

Expected<int64_t> norm_axis(const Node& node, int64_t rank, int64_t dflt) {
  KILN_ASSIGN_OR_RETURN(int64_t axis, node.attr_int("axis", dflt));
  if (axis < -rank || axis >= rank)
    return node.error(ErrorCode::kInvalidArgument, "axis ", axis, " is out of range for rank ", rank,
                      rank == 0 ? " (X must have rank >= 1)" : str(" (allowed: ", -rank, " to ", rank - 1, ")"));
  return axis < 0 ? axis + rank : axis;
}

// Scale/bias of LayerNormalization and RMSNormalization.
Status check_affine(const InferContext& ctx, size_t i, const char* what, bool same_type_as_x) {
  KILN_RETURN_IF_ERROR(check_float(ctx, i, what));
  if (same_type_as_x && ctx.input_dtype(i) != ctx.input_dtype(0))
    return ctx.error(what, " (input ", i, ") must have X's type ", dtype_name(ctx.input_dtype(0)), ", got ",
                     dtype_name(ctx.input_dtype(i)));
  return check_unidirectional(ctx, i, what, ctx.input_shape(0));
}

Status infer_layer_norm(InferContext& ctx) {
  const Node& node = ctx.node();
  KILN_RETURN_IF_ERROR(check_float(ctx, 0, "X"));
  KILN_RETURN_IF_ERROR(check_affine(ctx, 1, "Scale", true));
  if (ctx.has_input(2)) KILN_RETURN_IF_ERROR(check_affine(ctx, 2, "B", true));
  const Shape& x = ctx.input_shape(0);
  KILN_ASSIGN_OR_RETURN(int64_t axis, norm_axis(node, ctx.input_rank(0), -1));
  KILN_RETURN_IF_ERROR(node.attr_float("epsilon", 1e-5f).status());
  KILN_ASSIGN_OR_RETURN(DType stash, stash_dtype(node));
  ctx.set_output(0, ctx.input_dtype(0), x);
  Shape stats;
  for (size_t d = 0; d < x.rank(); ++d) stats.dims.push_back(static_cast<int64_t>(d) < axis ? x[d] : Dim(1));
  for (size_t i = 1; i < 3; ++i)
    if (node.has_output(i)) ctx.set_output(i, stash, stats);
  return Status::Ok();
}

enum class Norm { kLayer, kRms };

// Shared kernel of LayerNormalization and RMSNormalization.
Status run_row_norm(CpuContext& ctx, Norm kind) {
  const Node& node = ctx.node();
  const Tensor& x = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(int64_t axis, norm_axis(node, x.rank(), -1));
  KILN_ASSIGN_OR_RETURN(float eps_f, node.attr_float("epsilon", 1e-5f));
  KILN_ASSIGN_OR_RETURN(DType stash, stash_dtype(node));
  KILN_RETURN_IF_ERROR(check_unidirectional(ctx, 1, "Scale", x.dims()));
  bool has_bias = kind == Norm::kLayer && ctx.has_input(2);
  if (has_bias) KILN_RETURN_IF_ERROR(check_unidirectional(ctx, 2, "B", x.dims()));
  const Tensor& scale = ctx.input(1);
  // RMSNormalization's Y takes the scale's type (V); LayerNormalization's X's.
  DType y_type = kind == Norm::kRms ? scale.dtype() : x.dtype();
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.alloc_output(0, y_type, x.dims()));
  std::vector<int64_t> stats_dims;
  for (int64_t d = 0; d < x.rank(); ++d) stats_dims.push_back(d < axis ? x.dim(d) : 1);
  Tensor* mean_out = nullptr;
  Tensor* inv_out = nullptr;
  if (kind == Norm::kLayer && ctx.wants_output(1)) {
    KILN_ASSIGN_OR_RETURN(mean_out, ctx.alloc_output(1, stash, stats_dims));
  }
  if (kind == Norm::kLayer && ctx.wants_output(2)) {
    KILN_ASSIGN_OR_RETURN(inv_out, ctx.alloc_output(2, stash, stats_dims));
  }
  int64_t rows = dims_product(x.dims(), 0, static_cast<size_t>(axis));
  int64_t cols = dims_product(x.dims(), static_cast<size_t>(axis), x.dims().size());
  // With no elements only the statistics outputs (of empty rows: NaN) remain;
  // their allocation bounds `rows`.
  if (x.numel() == 0 && !mean_out && !inv_out) return Status::Ok();
  BroadcastIndex scale_at(x.dims(), scale.dims());
  BroadcastIndex bias_at(x.dims(), has_bias ? ctx.input(2).dims() : std::vector<int64_t>{});
  double eps = eps_f;
  for (int64_t r = 0; r < rows; ++r) {
    int64_t base = r * cols;
    double mean = 0;
    if (kind == Norm::kLayer) {
      double sum = 0;
      for (int64_t j = 0; j < cols; ++j) sum += x.get_f64(base + j);
      mean = sum / static_cast<double>(cols);
    }
    double sq = 0;
    for (int64_t j = 0; j < cols; ++j) {
      double d = x.get_f64(base + j) - mean;
      sq += d * d;
    }
    double inv = 1.0 / std::sqrt(sq / static_cast<double>(cols) + eps);
    if (mean_out) mean_out->set_f64(r, mean);
    if (inv_out) inv_out->set_f64(r, inv);
    for (int64_t j = 0; j < cols; ++j) {
      int64_t at = base + j;
      double v = (x.get_f64(at) - mean) * inv * scale.get_f64(scale_at.offset(at));
      if (has_bias) v += ctx.input(2).get_f64(bias_at.offset(at));
      y->set_f64(at, v);
    }
  }
  return Status::Ok();
}

Status infer_rms_norm(InferContext& ctx) {
  const Node& node = ctx.node();
  KILN_RETURN_IF_ERROR(check_float(ctx, 0, "X"));
  KILN_RETURN_IF_ERROR(check_affine(ctx, 1, "scale", false));
  KILN_RETURN_IF_ERROR(norm_axis(node, ctx.input_rank(0), -1).status());
  KILN_RETURN_IF_ERROR(node.attr_float("epsilon", 1e-5f).status());
  KILN_RETURN_IF_ERROR(stash_dtype(node).status());
  ctx.set_output(0, ctx.input_dtype(1), ctx.input_shape(0));
  return Status::Ok();
}

Expected<int64_t> lp_order(const Node& node) {
  KILN_ASSIGN_OR_RETURN(int64_t p, node.attr_int("p", 2));
  if (p != 1 && p != 2) return node.error(ErrorCode::kInvalidArgument, "attribute 'p' is ", p, "; only 1 and 2 are defined");
  return p;
}

Status infer_lp_norm(InferContext& ctx) {
  KILN_RETURN_IF_ERROR(check_float(ctx, 0, "input"));
  KILN_RETURN_IF_ERROR(norm_axis(ctx.node(), ctx.input_rank(0), -1).status());
  KILN_RETURN_IF_ERROR(lp_order(ctx.node()).status());
  ctx.set_output(0, ctx.input_dtype(0), ctx.input_shape(0));
  return Status::Ok();
}

Status run_lp_norm(CpuContext& ctx) {
  const Tensor& x = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(int64_t axis, norm_axis(ctx.node(), x.rank(), -1));
  KILN_ASSIGN_OR_RETURN(int64_t p, lp_order(ctx.node()));
  KILN_ASSIGN_OR_RETURN(Tensor * y, ctx.alloc_output(0, x.dtype(), x.dims()));
  if (x.numel() == 0) return Status::Ok();
  size_t a = static_cast<size_t>(axis);
  int64_t outer = dims_product(x.dims(), 0, a);
  int64_t n = x.dims()[a];
  int64_t inner = dims_product(x.dims(), a + 1, x.dims().size());
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      int64_t base = o * n * inner + i;
      double norm = 0;
      for (int64_t k = 0; k < n; ++k) {
        double v = x.get_f64(base + k * inner);
        norm += p == 1 ? std::fabs(v) : v * v;
      }
      if (p == 2) norm = std::sqrt(norm);
      // A zero norm gives zeros rather than 0/0.
      for (int64_t k = 0; k < n; ++k) {
        int64_t at = base + k * inner;
        y->set_f64(at, norm == 0 ? 0.0 : x.get_f64(at) / norm);
      }
    }
  }
  return Status::Ok();
}

OpSchema schema(const char* name, int min_in, int max_in, int max_out, int64_t since, InferFn infer, CpuFn cpu) {
  OpSchema s;
  s.name = name;
  s.family = "norm";
  s.min_inputs = min_in;
  s.max_inputs = max_in;
  s.max_outputs = max_out;
  s.since_opset = since;
  s.infer = std::move(infer);
  s.cpu = std::move(cpu);
  return s;
}

}  // namespace

void register_layer_rms_lp_ops(OpRegistry& r) {
  r.add(schema("LayerNormalization", 2, 3, 3, 17, infer_layer_norm,
               [](CpuContext& ctx) { return run_row_norm(ctx, Norm::kLayer); }));
  r.add(schema("RMSNormalization", 2, 2, 1, 23, infer_rms_norm,
               [](CpuContext& ctx) { return run_row_norm(ctx, Norm::kRms); }));
  r.add(schema("LpNormalization", 1, 1, 1, 13, infer_lp_norm, run_lp_norm));
}

}  // namespace kiln::norm_ops
