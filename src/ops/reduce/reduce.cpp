// Reduce* ops: ReduceSum, ReduceMean, ReduceMax, ReduceMin, ReduceProd,
// ReduceL1, ReduceL2, ReduceLogSum, ReduceLogSumExp, ReduceSumSquare.
//
// Canonical form (opset 18, ReduceSum 13): `axes` is optional input 1.
// Older forms carry `axes` as an attribute; `upgrade` moves it to a constant
// input. Floats reduce in double; integers in int64 with wrap-around (as the
// narrow integer types do), except L2/LogSum/LogSumExp which go through double.
#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

#include "base/checked_math.h"
#include "ops/families.h"
#include "ops/infer.h"
#include "ops/reduce/reduce_util.h"

namespace kiln {
namespace reduce_ops {
namespace {

enum class Kind { kSum, kMean, kMax, kMin, kProd, kL1, kL2, kLogSum, kLogSumExp, kSumSquare };

struct ReduceOp {
  const char* name;
  Kind kind;
  int64_t axes_input_opset;  // first opset where axes is an input
};

constexpr ReduceOp kReduceOps[] = {
    {"ReduceSum", Kind::kSum, 13},         {"ReduceMean", Kind::kMean, 18},
    {"ReduceMax", Kind::kMax, 18},         {"ReduceMin", Kind::kMin, 18},
    {"ReduceProd", Kind::kProd, 18},       {"ReduceL1", Kind::kL1, 18},
    {"ReduceL2", Kind::kL2, 18},           {"ReduceLogSum", Kind::kLogSum, 18},
    {"ReduceLogSumExp", Kind::kLogSumExp, 18}, {"ReduceSumSquare", Kind::kSumSquare, 18},
};

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::vector<DType> allowed_types(Kind kind, int64_t opset) {
  if (kind != Kind::kMax && kind != Kind::kMin) return numeric_types();
  std::vector<DType> t = numeric_and_byte_types();
  if (opset >= 20) t.push_back(DType::kBool);
  return t;
}

// The axes attribute of an old-form node; error if the node is canonical.
Expected<std::optional<std::vector<int64_t>>> attr_axes(const Node& node, const ReduceOp& op) {
  if (!node.has_attr("axes")) return std::optional<std::vector<int64_t>>();
  if (node.opset >= op.axes_input_opset)
    return node.error(ErrorCode::kInvalidArgument, "attribute 'axes' is not valid at opset ", node.opset, "; since opset ",
                      op.axes_input_opset, " axes is input 1");
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> axes, node.attr_ints("axes"));
  return std::optional<std::vector<int64_t>>(std::move(axes));
}

Status check_axes_tensor(const Node& node, DType dtype, size_t rank) {
  if (dtype != DType::kInt64 && dtype != DType::kInt32)
    return node.error(ErrorCode::kInvalidArgument, "axes (input 1) must be int64, got ", dtype_name(dtype));
  if (rank > 1) return node.error(ErrorCode::kInvalidArgument, "axes (input 1) must be 1-D, got rank ", rank);
  return Status::Ok();
}

// Which dims of a rank-`rank` input are reduced. Empty axes reduce every dim,
// or none with noop_with_empty_axes (each element then reduces alone).
Expected<std::vector<bool>> reduced_mask(const Node& node, int64_t rank, const std::vector<int64_t>& axes, bool noop) {
  if (axes.empty()) return std::vector<bool>(static_cast<size_t>(rank), !noop);
  std::vector<bool> mask(static_cast<size_t>(rank), false);
  for (int64_t a : axes) {
    KILN_ASSIGN_OR_RETURN(int64_t ax, node_axis(node, a, rank, "axes entry"));
    if (mask[static_cast<size_t>(ax)])
      return node.error(ErrorCode::kInvalidArgument, "axes name dim ", ax, " more than once");
    mask[static_cast<size_t>(ax)] = true;
  }
  return mask;
}

Status infer_reduce(InferContext& ctx, const ReduceOp& op) {
  const Node& node = ctx.node();
  KILN_RETURN_IF_ERROR(check_dtype(ctx, 0, allowed_types(op.kind, node.opset), "data"));
  KILN_ASSIGN_OR_RETURN(bool keepdims, attr_flag(node, "keepdims", 1));
  KILN_ASSIGN_OR_RETURN(bool noop, attr_flag(node, "noop_with_empty_axes", 0));
  const Shape& in = ctx.input_shape(0);
  int64_t rank = ctx.input_rank(0);
  DType dtype = ctx.input_dtype(0);

  KILN_ASSIGN_OR_RETURN(auto from_attr, attr_axes(node, op));
  std::vector<int64_t> axes;
  if (from_attr) {
    axes = *from_attr;
  } else if (ctx.has_input(1)) {
    KILN_RETURN_IF_ERROR(check_axes_tensor(node, ctx.input_dtype(1), ctx.input_shape(1).rank()));
    const Tensor* value = ctx.input_value(1);
    if (value) {
      axes = value->to_i64_vector();
    } else {
      // Axes known only at run time: keep what the shapes alone tell.
      const Shape& as = ctx.input_shape(1);
      int64_t count = as.rank() == 0 ? 1 : (as[0].is_static() ? as[0].value : -1);
      if (count > rank) return ctx.error("axes (input 1) has ", count, " entries for an input of rank ", rank);
      if (count != 0) {
        if (!keepdims && count < 0) {
          ctx.set_output_unknown_rank(0, dtype);
          return Status::Ok();
        }
        Shape out;
        for (int64_t d = 0; d < rank; ++d) {
          const Dim& dim = in[static_cast<size_t>(d)];
          if (keepdims) out.dims.push_back(dim.is_static() && dim.value == 1 ? Dim(1) : ctx.unknown_dim("reduced"));
        }
        if (!keepdims)
          for (int64_t d = 0; d < rank - count; ++d) out.dims.push_back(ctx.unknown_dim("reduced"));
        ctx.set_output(0, dtype, std::move(out));
        return Status::Ok();
      }
    }
  }
  KILN_ASSIGN_OR_RETURN(std::vector<bool> mask, reduced_mask(node, rank, axes, noop));
  Shape out;
  for (int64_t d = 0; d < rank; ++d) {
    if (!mask[static_cast<size_t>(d)]) out.dims.push_back(in[static_cast<size_t>(d)]);
    else if (keepdims) out.dims.push_back(Dim(1));
  }
  ctx.set_output(0, dtype, std::move(out));
  return Status::Ok();
}

// Moves the opset 13-17 `axes` attribute into a constant input.
Status upgrade_reduce(Node& node, Graph& graph, const ReduceOp& op) {
  if (node.opset >= op.axes_input_opset || !node.has_attr("axes")) return Status::Ok();
  if (node.has_input(1))
    return node.error(ErrorCode::kInvalidArgument, "has both an 'axes' attribute and an axes input at opset ",
                      node.opset);
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> axes, node.attr_ints("axes"));
  // Element by element: Tensor::from_i64 memcpys from data(), null when empty.
  KILN_ASSIGN_OR_RETURN(Tensor t, Tensor::alloc(DType::kInt64, {static_cast<int64_t>(axes.size())}));
  for (size_t i = 0; i < axes.size(); ++i) t.set_i64(static_cast<int64_t>(i), axes[i]);
  add_constant_input(graph, node, 1, std::move(t), "axes");
  node.attrs.erase("axes");
  return Status::Ok();
}

// Walks the offsets of a sub-grid (dims with strides) in row-major order.
class OffsetWalker {
 public:
  OffsetWalker(std::vector<int64_t> dims, std::vector<int64_t> strides)
      : dims_(std::move(dims)), strides_(std::move(strides)), idx_(dims_.size()) {
    count_ = 1;
    for (int64_t d : dims_) count_ = d == 0 ? 0 : count_ * d;  // callers ensure no overflow
  }
  int64_t count() const { return count_; }

  template <typename F>
  void for_each(int64_t base, F&& f) {
    std::fill(idx_.begin(), idx_.end(), 0);
    int64_t off = base;
    for (int64_t n = 0; n < count_; ++n) {
      f(off);
      for (size_t d = dims_.size(); d-- > 0;) {
        off += strides_[d];
        if (++idx_[d] < dims_[d]) break;
        off -= strides_[d] * dims_[d];
        idx_[d] = 0;
      }
    }
  }

 private:
  std::vector<int64_t> dims_, strides_;
  std::vector<int64_t> idx_;
  int64_t count_ = 0;
};

double reduce_float(Kind kind, const Tensor& x, OffsetWalker& red, int64_t base) {
  int64_t n = red.count();
  switch (kind) {
    case Kind::kMax:
    case Kind::kMin: {
      bool is_max = kind == Kind::kMax;
      double best = is_max ? -kInf : kInf;
      bool nan = false;
      red.for_each(base, [&](int64_t i) {
        double v = x.get_f64(i);
        if (std::isnan(v)) nan = true;
        else if (is_max ? v > best : v < best) best = v;
      });
      return nan ? kNaN : best;
    }
    case Kind::kProd: {
      double p = 1;
      red.for_each(base, [&](int64_t i) { p *= x.get_f64(i); });
      return p;
    }
    case Kind::kLogSumExp: {
      // max + log(sum(exp(x - max))): no overflow for large inputs.
      double m = -kInf;
      bool nan = false;
      red.for_each(base, [&](int64_t i) {
        double v = x.get_f64(i);
        if (std::isnan(v)) nan = true;
        else if (v > m) m = v;
      });
      if (nan) return kNaN;
      if (std::isinf(m)) return m;  // empty or all -inf: -inf; any +inf: +inf
      double s = 0;
      red.for_each(base, [&](int64_t i) { s += std::exp(x.get_f64(i) - m); });
      return m + std::log(s);
    }
    default: {
      double s = 0;
      red.for_each(base, [&](int64_t i) {
        double v = x.get_f64(i);
        if (kind == Kind::kL1) v = std::fabs(v);
        else if (kind == Kind::kL2 || kind == Kind::kSumSquare) v = v * v;
        s += v;
      });
      if (kind == Kind::kMean) return n == 0 ? kNaN : s / static_cast<double>(n);
      if (kind == Kind::kL2) return std::sqrt(s);
      if (kind == Kind::kLogSum) return std::log(s);
      return s;
    }
  }
}

// Integer reductions in uint64 so overflow wraps (no undefined behaviour).
int64_t reduce_int(Kind kind, const Tensor& x, OffsetWalker& red, int64_t base) {
  switch (kind) {
    case Kind::kMax:
    case Kind::kMin: {
      bool is_max = kind == Kind::kMax;
      int64_t best = is_max ? dtype_min_i64(x.dtype()) : dtype_max_i64(x.dtype());
      red.for_each(base, [&](int64_t i) {
        int64_t v = x.get_i64(i);
        if (is_max ? v > best : v < best) best = v;
      });
      return best;
    }
    case Kind::kProd: {
      uint64_t p = 1;
      red.for_each(base, [&](int64_t i) { p *= static_cast<uint64_t>(x.get_i64(i)); });
      return static_cast<int64_t>(p);
    }
    default: {
      uint64_t s = 0;
      red.for_each(base, [&](int64_t i) {
        uint64_t v = static_cast<uint64_t>(x.get_i64(i));
        if (kind == Kind::kL1 && x.get_i64(i) < 0) v = 0 - v;
        else if (kind == Kind::kSumSquare) v = v * v;
        s += v;
      });
      int64_t sum = static_cast<int64_t>(s);
      if (kind == Kind::kMean) return red.count() == 0 ? 0 : sum / red.count();
      return sum;
    }
  }
}

Status run_reduce(CpuContext& ctx, const ReduceOp& op) {
  const Node& node = ctx.node();
  const Tensor& x = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(bool keepdims, attr_flag(node, "keepdims", 1));
  KILN_ASSIGN_OR_RETURN(bool noop, attr_flag(node, "noop_with_empty_axes", 0));
  KILN_ASSIGN_OR_RETURN(auto from_attr, attr_axes(node, op));
  std::vector<int64_t> axes;
  if (from_attr) {
    axes = *from_attr;
  } else if (ctx.has_input(1)) {
    const Tensor& a = ctx.input(1);
    KILN_RETURN_IF_ERROR(check_axes_tensor(node, a.dtype(), static_cast<size_t>(a.rank())));
    axes = a.to_i64_vector();
  }
  KILN_ASSIGN_OR_RETURN(std::vector<bool> mask, reduced_mask(node, x.rank(), axes, noop));

  const std::vector<int64_t>& dims = x.dims();
  // Row-major strides, saturating: a zero-size input may have dims whose
  // product overflows (its offsets are then never read).
  std::vector<int64_t> strides(dims.size(), 1);
  for (size_t d = dims.size(); d-- > 1;) strides[d - 1] = checked_mul(strides[d], dims[d]).value_or(INT64_MAX);
  std::vector<int64_t> out_dims, kept_dims, kept_strides, red_dims, red_strides;
  bool empty_reduction = false;
  for (size_t d = 0; d < dims.size(); ++d) {
    if (mask[d]) {
      red_dims.push_back(dims[d]);
      red_strides.push_back(strides[d]);
      if (dims[d] == 0) empty_reduction = true;
      if (keepdims) out_dims.push_back(1);
    } else {
      kept_dims.push_back(dims[d]);
      kept_strides.push_back(strides[d]);
      out_dims.push_back(dims[d]);
    }
  }
  KILN_ASSIGN_OR_RETURN(Tensor * out, ctx.alloc_output(0, x.dtype(), out_dims));
  if (out->numel() == 0) return Status::Ok();
  // With a zero reduced dim the other reduced dims may multiply past int64:
  // the reduced set is empty, so walk none of it.
  if (empty_reduction) {
    red_dims.assign(1, 0);
    red_strides.assign(1, 0);
  }
  OffsetWalker kept(kept_dims, kept_strides);
  OffsetWalker red(red_dims, red_strides);

  bool use_float = dtype_is_float(x.dtype()) || op.kind == Kind::kL2 || op.kind == Kind::kLogSum ||
                   op.kind == Kind::kLogSumExp;
  int64_t o = 0;
  kept.for_each(0, [&](int64_t base) {
    if (use_float) out->set_f64(o, reduce_float(op.kind, x, red, base));
    else out->set_i64(o, reduce_int(op.kind, x, red, base));
    ++o;
  });
  return Status::Ok();
}

}  // namespace

void register_reduce_math_ops(OpRegistry& r) {
  for (const ReduceOp& op : kReduceOps) {
    OpSchema s;
    s.name = op.name;
    s.family = "reduce";
    s.min_inputs = 1;
    s.max_inputs = 2;
    s.since_opset = 13;
    s.infer = [op](InferContext& ctx) { return infer_reduce(ctx, op); };
    s.cpu = [op](CpuContext& ctx) { return run_reduce(ctx, op); };
    if (op.axes_input_opset > 13) s.upgrade = [op](Node& node, Graph& g) { return upgrade_reduce(node, g, op); };
    r.add(std::move(s));
  }
}

}  // namespace reduce_ops

void register_reduce_ops(OpRegistry& r) {
  reduce_ops::register_reduce_math_ops(r);
  reduce_ops::register_arg_softmax_ops(r);
  reduce_ops::register_topk_cumsum_ops(r);
  reduce_ops::add_reduce_cases(r);
}

}  // namespace kiln
