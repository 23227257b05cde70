#include "ops/index/index_util.h"

#include <algorithm>

#include "ops/op_util.h"

namespace kiln::index_family {

OpSchema make_schema(const char* name, int min_inputs, int max_inputs, InferFn infer, CpuFn cpu) {
  return schema_with_required_inputs("index", name, min_inputs, max_inputs, std::move(infer), std::move(cpu));
}

Expected<int64_t> check_axis(const Node& node, int64_t axis, int64_t rank, const char* what) {
  if (axis < -rank || axis >= rank)
    return node.error(ErrorCode::kOutOfRange, what, " ", axis, " is out of range for rank ", rank);
  return axis < 0 ? axis + rank : axis;
}

Expected<int64_t> wrap_index(const Node& node, int64_t index, int64_t dim, const char* what) {
  int64_t i = index < 0 ? index + dim : index;
  if (i < 0 || i >= dim)
    return node.error(ErrorCode::kOutOfRange, what, " ", index, " is out of range for a dim of size ", dim);
  return i;
}

Status check_index_dtype(const Node& node, DType t, const char* what) {
  if (t != DType::kInt64 && t != DType::kInt32)
    return node.error(ErrorCode::kInvalidArgument, what, " must be int32 or int64, got ", dtype_name(t));
  return Status::Ok();
}

Status check_const_indices(const InferContext& ctx, size_t input, const Dim& dim, const char* what) {
  const Tensor* t = ctx.input_value(input);
  if (!t || !dim.is_static()) return Status::Ok();
  for (int64_t i = 0; i < t->numel(); ++i) {
    auto w = wrap_index(ctx.node(), t->get_i64(i), dim.value, what);
    if (!w.ok()) return w.status();
  }
  return Status::Ok();
}

Expected<Reduction> reduction_attr(const Node& node) {
  KILN_ASSIGN_OR_RETURN(std::string r, node.attr_string("reduction", "none"));
  Reduction out;
  int64_t since = 16;
  if (r == "none") {
    return Reduction::kNone;
  } else if (r == "add") {
    out = Reduction::kAdd;
  } else if (r == "mul") {
    out = Reduction::kMul;
  } else if (r == "max") {
    out = Reduction::kMax;
    since = 18;
  } else if (r == "min") {
    out = Reduction::kMin;
    since = 18;
  } else {
    return node.error(ErrorCode::kInvalidArgument, "unknown reduction '", r, "'");
  }
  if (node.opset < since)
    return node.error(ErrorCode::kInvalidArgument, "reduction '", r, "' needs opset ", since, ", the model has ",
                      node.opset);
  return out;
}

void apply_reduction(Tensor& out, int64_t i, const Tensor& upd, int64_t j, Reduction r) {
  if (r == Reduction::kNone) {
    size_t elem = dtype_size(out.dtype());
    copy_elems(out.mutable_bytes(), i, upd.bytes(), j, 1, elem);
    return;
  }
  if (dtype_is_float(out.dtype())) {
    double a = out.get_f64(i), b = upd.get_f64(j);
    double v = r == Reduction::kAdd ? a + b : r == Reduction::kMul ? a * b : r == Reduction::kMax ? std::max(a, b)
                                                                                                  : std::min(a, b);
    out.set_f64(i, v);
    return;
  }
  int64_t a = out.get_i64(i), b = upd.get_i64(j);
  // Unsigned add/mul wrap instead of overflowing (undefined for int64).
  uint64_t ua = static_cast<uint64_t>(a), ub = static_cast<uint64_t>(b);
  int64_t v = r == Reduction::kAdd   ? static_cast<int64_t>(ua + ub)
              : r == Reduction::kMul ? static_cast<int64_t>(ua * ub)
              : r == Reduction::kMax ? std::max(a, b)
                                     : std::min(a, b);
  out.set_i64(i, v);
}

int64_t span_product(const std::vector<int64_t>& dims, size_t begin, size_t end) {
  int64_t n = 1;
  for (size_t i = begin; i < end; ++i) n *= dims[i];
  return n;
}

Expected<Tensor*> alloc_copy(CpuContext& ctx, size_t i, const Tensor& src) {
  KILN_ASSIGN_OR_RETURN(Tensor * out, ctx.alloc_output(i, src.dtype(), src.dims()));
  if (src.nbytes()) std::memcpy(out->mutable_bytes(), src.bytes(), src.nbytes());
  return out;
}

}  // namespace kiln::index_family
