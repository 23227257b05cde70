// TopK (k as input 1; ties keep the smaller index first) and CumSum
// (axis as input 1; exclusive and reverse attributes).
#include <algorithm>
#include <cmath>
#include <type_traits>
#include <utility>

#include "ops/reduce/reduce_util.h"

namespace kiln::reduce_ops {
namespace {

// Ascending order with NaN above every number (numpy's sort order), so the
// comparison is a strict weak order even with NaNs.
int order(double a, double b) {
  bool na = std::isnan(a), nb = std::isnan(b);
  if (na || nb) return na == nb ? 0 : (na ? 1 : -1);
  return a < b ? -1 : (a > b ? 1 : 0);
}
int order(int64_t a, int64_t b) { return a < b ? -1 : (a > b ? 1 : 0); }

// Reads K: one int64 value (shape [1], or a scalar).
Expected<int64_t> read_k(const Node& node, const Tensor& k) {
  if (k.dtype() != DType::kInt64) return node.error(ErrorCode::kInvalidArgument, "K (input 1) must be int64, got ", dtype_name(k.dtype()));
  if (k.rank() > 1 || k.numel() != 1)
    return node.error(ErrorCode::kInvalidArgument, "K (input 1) must hold one value, got shape ", dims_to_string(k.dims()));
  int64_t v = k.get_i64(0);
  if (v < 0) return node.error(ErrorCode::kInvalidArgument, "K is ", v, "; it must not be negative");
  return v;
}

Status infer_topk(InferContext& ctx) {
  const Node& node = ctx.node();
  KILN_RETURN_IF_ERROR(check_dtype(ctx, 0, numeric_and_byte_types(), "X"));
  KILN_ASSIGN_OR_RETURN(int64_t axis, attr_axis(node, ctx.input_rank(0), -1));
  KILN_RETURN_IF_ERROR(attr_flag(node, "largest", 1).status());
  KILN_RETURN_IF_ERROR(attr_flag(node, "sorted", 1).status());
  if (ctx.input_dtype(1) != DType::kInt64)
    return ctx.error("K (input 1) must be int64, got ", dtype_name(ctx.input_dtype(1)));
  if (ctx.input_rank(1) > 1) return ctx.error("K (input 1) must be 1-D, got rank ", ctx.input_rank(1));
  if (auto kn = ctx.input_shape(1).numel(); kn.ok() && *kn != 1)
    return ctx.error("K (input 1) must hold one value, got shape ", ctx.input_shape(1).to_string());
  Shape out = ctx.input_shape(0);
  const Dim& axis_dim = out[static_cast<size_t>(axis)];
  if (const Tensor* k = ctx.input_value(1)) {
    KILN_ASSIGN_OR_RETURN(int64_t kv, read_k(node, *k));
    if (axis_dim.is_static() && kv > axis_dim.value)
      return ctx.error("K = ", kv, " is larger than dim ", axis, " of X (", axis_dim.value, ")");
    out[static_cast<size_t>(axis)] = Dim(kv);
  } else {
    out[static_cast<size_t>(axis)] = ctx.unknown_dim("k");
  }
  ctx.set_output(0, ctx.input_dtype(0), out);
  ctx.set_output(1, DType::kInt64, out);
  return Status::Ok();
}

// Writes the k best (value, index) pairs of one line into the outputs.
template <typename V, typename Get>
void topk_line(const Get& get, int64_t in_base, int64_t n, int64_t k, int64_t stride, int64_t out_base, bool largest,
               Tensor& values, Tensor& indices, std::vector<std::pair<V, int64_t>>& line) {
  line.clear();
  for (int64_t j = 0; j < n; ++j) line.emplace_back(get(in_base + j * stride), j);
  auto before = [largest](const std::pair<V, int64_t>& a, const std::pair<V, int64_t>& b) {
    int c = order(a.first, b.first);
    if (c != 0) return largest ? c > 0 : c < 0;
    return a.second < b.second;
  };
  std::partial_sort(line.begin(), line.begin() + k, line.end(), before);
  for (int64_t j = 0; j < k; ++j) {
    const auto& [v, idx] = line[static_cast<size_t>(j)];
    if constexpr (std::is_same_v<V, double>) values.set_f64(out_base + j * stride, v);
    else values.set_i64(out_base + j * stride, v);
    indices.set_i64(out_base + j * stride, idx);
  }
}

Status run_topk(CpuContext& ctx) {
  const Node& node = ctx.node();
  const Tensor& x = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(int64_t axis, attr_axis(node, x.rank(), -1));
  KILN_ASSIGN_OR_RETURN(bool largest, attr_flag(node, "largest", 1));
  KILN_ASSIGN_OR_RETURN(int64_t k, read_k(node, ctx.input(1)));
  int64_t n = x.dim(axis);
  if (k > n) return ctx.error("K = ", k, " is larger than dim ", axis, " of X (", n, ")");
  // sorted=0 leaves the order unspecified; sorted order is a valid answer.
  std::vector<int64_t> out_dims = x.dims();
  out_dims[static_cast<size_t>(axis)] = k;
  KILN_ASSIGN_OR_RETURN(Tensor * values, ctx.alloc_output(0, x.dtype(), out_dims));
  KILN_ASSIGN_OR_RETURN(Tensor * indices, ctx.alloc_output(1, DType::kInt64, out_dims));
  if (values->numel() == 0) return Status::Ok();
  AxisSplit s = split_at_axis(x.dims(), axis);
  std::vector<std::pair<double, int64_t>> fline;
  std::vector<std::pair<int64_t, int64_t>> iline;
  for (int64_t o = 0; o < s.outer; ++o) {
    for (int64_t i = 0; i < s.inner; ++i) {
      int64_t in_base = o * n * s.inner + i;
      int64_t out_base = o * k * s.inner + i;
      if (dtype_is_float(x.dtype()))
        topk_line<double>([&](int64_t at) { return x.get_f64(at); }, in_base, n, k, s.inner, out_base, largest, *values,
                          *indices, fline);
      else
        topk_line<int64_t>([&](int64_t at) { return x.get_i64(at); }, in_base, n, k, s.inner, out_base, largest,
                           *values, *indices, iline);
    }
  }
  return Status::Ok();
}

Status check_axis_input(const Node& node, DType dtype, int64_t rank, int64_t numel) {
  if (dtype != DType::kInt64 && dtype != DType::kInt32)
    return node.error(ErrorCode::kInvalidArgument, "axis (input 1) must be int32 or int64, got ", dtype_name(dtype));
  if (rank > 1 || (numel >= 0 && numel != 1))
    return node.error(ErrorCode::kInvalidArgument, "axis (input 1) must hold one value");
  return Status::Ok();
}

Status infer_cumsum(InferContext& ctx) {
  const Node& node = ctx.node();
  KILN_RETURN_IF_ERROR(check_dtype(ctx, 0, numeric_types(), "x"));
  KILN_RETURN_IF_ERROR(attr_flag(node, "exclusive", 0).status());
  KILN_RETURN_IF_ERROR(attr_flag(node, "reverse", 0).status());
  auto n = ctx.input_shape(1).numel();
  KILN_RETURN_IF_ERROR(check_axis_input(node, ctx.input_dtype(1), ctx.input_rank(1), n.ok() ? *n : -1));
  if (const Tensor* a = ctx.input_value(1))
    KILN_RETURN_IF_ERROR(node_axis(node, a->get_i64(0), ctx.input_rank(0), "axis").status());
  ctx.set_output(0, ctx.input_dtype(0), ctx.input_shape(0));
  return Status::Ok();
}

Status run_cumsum(CpuContext& ctx) {
  const Node& node = ctx.node();
  const Tensor& x = ctx.input(0);
  const Tensor& a = ctx.input(1);
  KILN_RETURN_IF_ERROR(check_axis_input(node, a.dtype(), a.rank(), a.numel()));
  KILN_ASSIGN_OR_RETURN(int64_t axis, node_axis(node, a.get_i64(0), x.rank(), "axis"));
  KILN_ASSIGN_OR_RETURN(bool exclusive, attr_flag(node, "exclusive", 0));
  KILN_ASSIGN_OR_RETURN(bool reverse, attr_flag(node, "reverse", 0));
  KILN_ASSIGN_OR_RETURN(Tensor * out, ctx.alloc_output(0, x.dtype(), x.dims()));
  if (x.numel() == 0) return Status::Ok();
  AxisSplit s = split_at_axis(x.dims(), axis);
  bool is_float = dtype_is_float(x.dtype());
  for (int64_t o = 0; o < s.outer; ++o) {
    for (int64_t i = 0; i < s.inner; ++i) {
      double fsum = 0;
      uint64_t isum = 0;  // wraps like the integer types do
      for (int64_t j = 0; j < s.n; ++j) {
        int64_t k = reverse ? s.n - 1 - j : j;
        int64_t at = (o * s.n + k) * s.inner + i;
        if (!exclusive) {
          if (is_float) fsum += x.get_f64(at);
          else isum += static_cast<uint64_t>(x.get_i64(at));
        }
        if (is_float) out->set_f64(at, fsum);
        else out->set_i64(at, static_cast<int64_t>(isum));
        if (exclusive) {
          if (is_float) fsum += x.get_f64(at);
          else isum += static_cast<uint64_t>(x.get_i64(at));
        }
      }
    }
  }
  return Status::Ok();
}

}  // namespace

void register_topk_cumsum_ops(OpRegistry& r) {
  OpSchema topk;
  topk.name = "TopK";
  topk.family = "reduce";
  topk.min_inputs = topk.max_inputs = 2;
  topk.min_outputs = topk.max_outputs = 2;
  topk.infer = infer_topk;
  topk.cpu = run_topk;
  r.add(std::move(topk));

  OpSchema cumsum;
  cumsum.name = "CumSum";
  cumsum.family = "reduce";
  cumsum.min_inputs = cumsum.max_inputs = 2;
  cumsum.infer = infer_cumsum;
  cumsum.cpu = run_cumsum;
  r.add(std::move(cumsum));
}

}  // namespace kiln::reduce_ops
