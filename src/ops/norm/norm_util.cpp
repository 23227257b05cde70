#include "ops/norm/norm_util.h"

#include "base/checked_math.h"

namespace kiln::norm_ops {

Status check_float(const InferContext& ctx, size_t i, const char* what) {
  DType t = ctx.input_dtype(i);
  if (t == DType::kFloat32 || t == DType::kFloat16 || t == DType::kBFloat16 || t == DType::kFloat64)
    return Status::Ok();
  return ctx.unsupported(what, " (input ", i, ") has type ", dtype_name(t),
                         "; supported: float32, float16, bfloat16, float64");
}

Expected<DType> stash_dtype(const Node& node) {
  KILN_ASSIGN_OR_RETURN(int64_t code, node.attr_int("stash_type", 1));
  DType t = code >= 0 && code <= INT32_MAX ? dtype_from_onnx(static_cast<int32_t>(code)) : DType::kUndefined;
  if (t != DType::kFloat32 && t != DType::kFloat16 && t != DType::kBFloat16 && t != DType::kFloat64)
    return node.error(ErrorCode::kInvalidArgument, "attribute 'stash_type' is ", code,
                      "; it must be an ONNX float type code (1 = float32, 10, 11, 16)");
  return t;
}

Status check_per_channel(const InferContext& ctx, size_t i, const char* what, const Dim& channels) {
  const Shape& s = ctx.input_shape(i);
  if (s.rank() != 1) return ctx.error(what, " (input ", i, ") must be 1-D, got shape ", s.to_string());
  if (s[0].is_static() && channels.is_static() && s[0].value != channels.value)
    return ctx.error(what, " (input ", i, ") has ", s[0].value, " entries for ", channels.value, " channels");
  return Status::Ok();
}

Status check_count(const CpuContext& ctx, size_t i, const char* what, int64_t count) {
  const Tensor& t = ctx.input(i);
  if (t.rank() != 1 || t.numel() != count)
    return ctx.error(what, " (input ", i, ") has shape ", dims_to_string(t.dims()), "; expected [", count, "]");
  return Status::Ok();
}

Status check_unidirectional(const InferContext& ctx, size_t i, const char* what, const Shape& shape) {
  const Shape& s = ctx.input_shape(i);
  if (s.rank() > shape.rank())
    return ctx.error(what, " (input ", i, ") of shape ", s.to_string(), " does not broadcast to ", shape.to_string());
  size_t off = shape.rank() - s.rank();
  for (size_t d = 0; d < s.rank(); ++d) {
    const Dim& a = s[d];
    const Dim& b = shape[off + d];
    if (a.is_static() && b.is_static() && a.value != 1 && a.value != b.value)
      return ctx.error(what, " (input ", i, ") of shape ", s.to_string(), " does not broadcast to ", shape.to_string());
  }
  return Status::Ok();
}

Status check_unidirectional(const CpuContext& ctx, size_t i, const char* what, const std::vector<int64_t>& dims) {
  const Tensor& t = ctx.input(i);
  bool ok = t.rank() <= static_cast<int64_t>(dims.size());
  size_t off = ok ? dims.size() - static_cast<size_t>(t.rank()) : 0;
  for (int64_t d = 0; ok && d < t.rank(); ++d)
    if (t.dim(d) != 1 && t.dim(d) != dims[off + static_cast<size_t>(d)]) ok = false;
  if (!ok)
    return ctx.error(what, " (input ", i, ") of shape ", dims_to_string(t.dims()), " does not broadcast to ",
                     dims_to_string(dims));
  return Status::Ok();
}

int64_t dims_product(const std::vector<int64_t>& dims, size_t from, size_t to) {
  int64_t p = 1;
  for (size_t d = from; d < to && d < dims.size(); ++d) p = checked_mul(p, dims[d]).value_or(INT64_MAX);
  return p;
}

}  // namespace kiln::norm_ops
