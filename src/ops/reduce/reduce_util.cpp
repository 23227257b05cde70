#include "ops/reduce/reduce_util.h"

#include <algorithm>

#include "base/checked_math.h"

namespace kiln::reduce_ops {

std::vector<DType> float_types() { return {DType::kFloat32, DType::kFloat16, DType::kBFloat16, DType::kFloat64}; }

std::vector<DType> numeric_types() {
  std::vector<DType> t = float_types();
  t.push_back(DType::kInt32);
  t.push_back(DType::kInt64);
  return t;
}

std::vector<DType> numeric_and_byte_types() {
  std::vector<DType> t = numeric_types();
  t.push_back(DType::kInt8);
  t.push_back(DType::kUInt8);
  return t;
}

Status check_dtype(const InferContext& ctx, size_t input, const std::vector<DType>& allowed, const char* what) {
  DType t = ctx.input_dtype(input);
  if (std::find(allowed.begin(), allowed.end(), t) != allowed.end()) return Status::Ok();
  std::string names;
  for (DType a : allowed) names += str(names.empty() ? "" : ", ", dtype_name(a));
  return ctx.unsupported(what, " (input ", input, ") has type ", dtype_name(t), "; supported: ", names);
}

Expected<bool> attr_flag(const Node& node, const char* key, int64_t dflt) {
  KILN_ASSIGN_OR_RETURN(int64_t v, node.attr_int(key, dflt));
  if (v != 0 && v != 1)
    return node.error(ErrorCode::kInvalidArgument, "attribute '", key, "' must be 0 or 1, got ", v);
  return v == 1;
}

Expected<int64_t> node_axis(const Node& node, int64_t axis, int64_t rank, const char* what) {
  if (axis < -rank || axis >= rank)
    return node.error(ErrorCode::kInvalidArgument, what, " ", axis, " is out of range for rank ", rank,
                      rank == 0 ? " (the op needs an input of rank >= 1)" : str(" (allowed: ", -rank, " to ", rank - 1, ")"));
  return axis < 0 ? axis + rank : axis;
}

Expected<int64_t> attr_axis(const Node& node, int64_t rank, int64_t dflt) {
  KILN_ASSIGN_OR_RETURN(int64_t axis, node.attr_int("axis", dflt));
  return node_axis(node, axis, rank, "axis");
}

AxisSplit split_at_axis(const std::vector<int64_t>& dims, int64_t axis) {
  // A tensor with a zero dim may have other dims whose product overflows;
  // saturate (such splits are only walked when the count is zero anyway).
  auto mul = [](int64_t a, int64_t b) { return checked_mul(a, b).value_or(INT64_MAX); };
  AxisSplit s;
  for (int64_t i = 0; i < static_cast<int64_t>(dims.size()); ++i) {
    int64_t d = dims[static_cast<size_t>(i)];
    if (i < axis) s.outer = mul(s.outer, d);
    else if (i == axis) s.n = d;
    else s.inner = mul(s.inner, d);
  }
  return s;
}

int64_t dtype_min_i64(DType t) {
  switch (t) {
    case DType::kInt8: return INT8_MIN;
    case DType::kInt32: return INT32_MIN;
    case DType::kInt64: return INT64_MIN;
    default: return 0;  // uint8, bool
  }
}

int64_t dtype_max_i64(DType t) {
  switch (t) {
    case DType::kInt8: return INT8_MAX;
    case DType::kUInt8: return UINT8_MAX;
    case DType::kInt32: return INT32_MAX;
    case DType::kInt64: return INT64_MAX;
    case DType::kBool: return 1;
    default: return 0;
  }
}

}  // namespace kiln::reduce_ops
