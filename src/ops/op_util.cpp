#include "ops/op_util.h"

namespace kiln {

OpSchema schema_with_required_inputs(const char* family, const char* name, int min_inputs, int max_inputs,
                                     InferFn infer, CpuFn cpu) {
  OpSchema s;
  s.name = name;
  s.family = family;
  s.min_inputs = min_inputs;
  s.max_inputs = max_inputs;
  size_t required = static_cast<size_t>(min_inputs);
  s.infer = [infer = std::move(infer), required](InferContext& ctx) {
    for (size_t i = 0; i < required; ++i)
      if (!ctx.has_input(i)) return ctx.error("required input ", i, " is missing");
    return infer(ctx);
  };
  s.cpu = [cpu = std::move(cpu), required](CpuContext& ctx) {
    for (size_t i = 0; i < required; ++i)
      if (!ctx.has_input(i)) return ctx.error("required input ", i, " is missing");
    return cpu(ctx);
  };
  return s;
}

BroadcastIndex::BroadcastIndex(const std::vector<int64_t>& out_dims, const std::vector<int64_t>& in_dims)
    : out_dims_(out_dims), in_strides_(out_dims.size(), 0) {
  identity_ = out_dims == in_dims;
  size_t offset = out_dims.size() - in_dims.size();
  int64_t stride = 1;
  for (size_t i = in_dims.size(); i-- > 0;) {
    in_strides_[offset + i] = in_dims[i] == 1 ? 0 : stride;
    stride *= in_dims[i];
  }
}

int64_t BroadcastIndex::offset(int64_t out_index) const {
  if (identity_) return out_index;
  int64_t off = 0;
  for (size_t i = out_dims_.size(); i-- > 0;) {
    int64_t d = out_dims_[i];
    if (d == 0) return 0;
    off += (out_index % d) * in_strides_[i];
    out_index /= d;
  }
  return off;
}

Status infer_same_as_input0(InferContext& ctx) {
  ctx.set_output(0, ctx.input_dtype(0), ctx.input_shape(0));
  return Status::Ok();
}

Expected<std::vector<int64_t>> constant_ints(const InferContext& ctx, size_t input, const char* what) {
  const Tensor* t = ctx.input_value(input);
  if (!t) return ctx.unsupported(what, " (input ", input, ") must be a constant");
  if (t->dtype() != DType::kInt64 && t->dtype() != DType::kInt32)
    return ctx.error(what, " (input ", input, ") must be int64 or int32, got ", dtype_name(t->dtype()));
  return t->to_i64_vector();
}

void unravel(int64_t index, const std::vector<int64_t>& dims, std::vector<int64_t>& out) {
  out.resize(dims.size());
  for (size_t i = dims.size(); i-- > 0;) {
    int64_t d = dims[i] == 0 ? 1 : dims[i];
    out[i] = index % d;
    index /= d;
  }
}

}  // namespace kiln
