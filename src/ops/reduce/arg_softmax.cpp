// Single-axis ops of the reduce family: ArgMax, ArgMin (int64 indices),
// Softmax, LogSoftmax and Hardmax (opset 13 semantics: one axis, default -1).
#include <cmath>

#include "ops/reduce/reduce_util.h"

namespace kiln::reduce_ops {
namespace {

// -1, 0 or 1 as `a` is worse than, as good as, or better than `b` for a max
// (or, with `is_max` false, a min). NaN beats every number, as in numpy's
// argmax/argmin, so the order stays total.
int compare(double a, double b, bool is_max) {
  bool na = std::isnan(a), nb = std::isnan(b);
  if (na || nb) return na == nb ? 0 : (na ? 1 : -1);
  if (a == b) return 0;
  return (a > b) == is_max ? 1 : -1;
}

int compare(int64_t a, int64_t b, bool is_max) {
  if (a == b) return 0;
  return (a > b) == is_max ? 1 : -1;
}

// Index along the axis of the best element of the line starting at `base`
// (elements base + k * stride, k < n; n > 0). Ties keep the first index,
// or the last with `last`.
template <typename V, typename Get>
int64_t best_index(const Get& get, int64_t base, int64_t n, int64_t stride, bool is_max, bool last) {
  int64_t best = 0;
  V best_v = get(base);
  for (int64_t k = 1; k < n; ++k) {
    V v = get(base + k * stride);
    int c = compare(v, best_v, is_max);
    if (c > 0 || (c == 0 && last)) {
      best = k;
      best_v = v;
    }
  }
  return best;
}

int64_t line_best(const Tensor& x, int64_t base, int64_t n, int64_t stride, bool is_max, bool last) {
  if (dtype_is_float(x.dtype()))
    return best_index<double>([&](int64_t i) { return x.get_f64(i); }, base, n, stride, is_max, last);
  return best_index<int64_t>([&](int64_t i) { return x.get_i64(i); }, base, n, stride, is_max, last);
}

Status infer_arg(InferContext& ctx) {
  const Node& node = ctx.node();
  KILN_RETURN_IF_ERROR(check_dtype(ctx, 0, numeric_and_byte_types(), "data"));
  KILN_ASSIGN_OR_RETURN(int64_t axis, attr_axis(node, ctx.input_rank(0), 0));
  KILN_ASSIGN_OR_RETURN(bool keepdims, attr_flag(node, "keepdims", 1));
  KILN_RETURN_IF_ERROR(attr_flag(node, "select_last_index", 0).status());
  Shape out;
  const Shape& in = ctx.input_shape(0);
  for (size_t d = 0; d < in.rank(); ++d) {
    if (static_cast<int64_t>(d) != axis) out.dims.push_back(in[d]);
    else if (keepdims) out.dims.push_back(Dim(1));
  }
  ctx.set_output(0, DType::kInt64, std::move(out));
  return Status::Ok();
}

Status run_arg(CpuContext& ctx, bool is_max) {
  const Node& node = ctx.node();
  const Tensor& x = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(int64_t axis, attr_axis(node, x.rank(), 0));
  KILN_ASSIGN_OR_RETURN(bool keepdims, attr_flag(node, "keepdims", 1));
  KILN_ASSIGN_OR_RETURN(bool last, attr_flag(node, "select_last_index", 0));
  std::vector<int64_t> out_dims;
  for (int64_t d = 0; d < x.rank(); ++d) {
    if (d != axis) out_dims.push_back(x.dim(d));
    else if (keepdims) out_dims.push_back(1);
  }
  KILN_ASSIGN_OR_RETURN(Tensor * out, ctx.alloc_output(0, DType::kInt64, out_dims));
  if (out->numel() == 0) return Status::Ok();
  AxisSplit s = split_at_axis(x.dims(), axis);
  if (s.n == 0)
    return ctx.error(is_max ? "ArgMax" : "ArgMin", " over axis ", axis, " of size 0 of ", dims_to_string(x.dims()),
                     " has no answer");
  for (int64_t o = 0; o < s.outer; ++o)
    for (int64_t i = 0; i < s.inner; ++i)
      out->set_i64(o * s.inner + i, line_best(x, o * s.n * s.inner + i, s.n, s.inner, is_max, last));
  return Status::Ok();
}

enum class Soft { kSoftmax, kLogSoftmax, kHardmax };

Status infer_softmax(InferContext& ctx) {
  KILN_RETURN_IF_ERROR(check_dtype(ctx, 0, float_types(), "input"));
  KILN_RETURN_IF_ERROR(attr_axis(ctx.node(), ctx.input_rank(0), -1).status());
  ctx.set_output(0, ctx.input_dtype(0), ctx.input_shape(0));
  return Status::Ok();
}

Status run_softmax(CpuContext& ctx, Soft kind) {
  const Tensor& x = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(int64_t axis, attr_axis(ctx.node(), x.rank(), -1));
  KILN_ASSIGN_OR_RETURN(Tensor * out, ctx.alloc_output(0, x.dtype(), x.dims()));
  if (x.numel() == 0) return Status::Ok();
  AxisSplit s = split_at_axis(x.dims(), axis);
  for (int64_t o = 0; o < s.outer; ++o) {
    for (int64_t i = 0; i < s.inner; ++i) {
      int64_t base = o * s.n * s.inner + i;
      if (kind == Soft::kHardmax) {
        int64_t k = line_best(x, base, s.n, s.inner, true, false);
        out->set_f64(base + k * s.inner, 1.0);
        continue;
      }
      // Shift by the max so exp never overflows.
      double m = -INFINITY;
      for (int64_t k = 0; k < s.n; ++k) m = std::fmax(m, x.get_f64(base + k * s.inner));
      double sum = 0;
      for (int64_t k = 0; k < s.n; ++k) sum += std::exp(x.get_f64(base + k * s.inner) - m);
      double log_sum = std::log(sum);
      for (int64_t k = 0; k < s.n; ++k) {
        int64_t at = base + k * s.inner;
        double shifted = x.get_f64(at) - m;
        out->set_f64(at, kind == Soft::kSoftmax ? std::exp(shifted) / sum : shifted - log_sum);
      }
    }
  }
  return Status::Ok();
}

OpSchema schema(const char* name, InferFn infer, CpuFn cpu) {
  OpSchema s;
  s.name = name;
  s.family = "reduce";
  s.since_opset = 13;
  s.infer = std::move(infer);
  s.cpu = std::move(cpu);
  return s;
}

}  // namespace

void register_arg_softmax_ops(OpRegistry& r) {
  r.add(schema("ArgMax", infer_arg, [](CpuContext& ctx) { return run_arg(ctx, true); }));
  r.add(schema("ArgMin", infer_arg, [](CpuContext& ctx) { return run_arg(ctx, false); }));
  r.add(schema("Softmax", infer_softmax, [](CpuContext& ctx) { return run_softmax(ctx, Soft::kSoftmax); }));
  r.add(schema("LogSoftmax", infer_softmax, [](CpuContext& ctx) { return run_softmax(ctx, Soft::kLogSoftmax); }));
  r.add(schema("Hardmax", infer_softmax, [](CpuContext& ctx) { return run_softmax(ctx, Soft::kHardmax); }));
}

}  // namespace kiln::reduce_ops
