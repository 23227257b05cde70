// Internal to the conv family: pieces registered by register_conv_ops.
#pragma once

#include <vector>

#include "ops/op_schema.h"

namespace kiln {

void register_conv_transpose_op(OpRegistry& r);
void add_conv_cases(OpRegistry& r);

// Conv and ConvTranspose accept fp32, fp16, bf16 and fp64.
Status check_conv_dtypes(const InferContext& ctx);

// Static dims of a shape, -1 where symbolic.
std::vector<int64_t> dims_or_unknown(const Shape& s);

// The elements of a float tensor as T (float for narrow types, double for fp64).
template <typename T>
std::vector<T> to_vector(const Tensor& t) {
  std::vector<T> v(static_cast<size_t>(t.numel()));
  for (int64_t i = 0; i < t.numel(); ++i) v[static_cast<size_t>(i)] = static_cast<T>(t.get_f64(i));
  return v;
}

}  // namespace kiln
