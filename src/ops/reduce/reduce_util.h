// Helpers shared inside the reduce family (Reduce*, ArgMax/Min, Softmax,
// TopK, CumSum): dtype checks, axis attributes and the outer/axis/inner
// split that single-axis kernels iterate over.
#pragma once

#include <cstdint>
#include <vector>

#include "ops/op_schema.h"

namespace kiln::reduce_ops {

// Dtype sets of the ONNX type constraints, restricted to the types Kiln has.
std::vector<DType> float_types();                // fp32, fp16, bf16, fp64
std::vector<DType> numeric_types();              // float_types + int32, int64
std::vector<DType> numeric_and_byte_types();     // numeric_types + int8, uint8

// Ok if input `input` has a dtype in `allowed`; else `unsupported`, naming the
// input and the allowed types.
Status check_dtype(const InferContext& ctx, size_t input, const std::vector<DType>& allowed, const char* what);

// Attribute that must be 0 or 1 (keepdims, select_last_index, ...).
Expected<bool> attr_flag(const Node& node, const char* key, int64_t dflt);

// The `axis` attribute normalised to [0, rank); an error naming the node otherwise.
Expected<int64_t> attr_axis(const Node& node, int64_t rank, int64_t dflt);

// Normalises `axis` for a tensor of `rank`, with an error naming the node.
Expected<int64_t> node_axis(const Node& node, int64_t axis, int64_t rank, const char* what);

// dims = [outer..., n, inner...] around one axis, for kernels that walk
// element (o, k, i) at offset (o * n + k) * inner + i.
struct AxisSplit {
  int64_t outer = 1;
  int64_t n = 1;
  int64_t inner = 1;
};
AxisSplit split_at_axis(const std::vector<int64_t>& dims, int64_t axis);

// Smallest / largest value of an integer or bool dtype, as int64.
int64_t dtype_min_i64(DType t);
int64_t dtype_max_i64(DType t);

void register_reduce_math_ops(OpRegistry& r);   // Reduce*
void register_arg_softmax_ops(OpRegistry& r);   // ArgMax, ArgMin, Softmax, LogSoftmax, Hardmax
void register_topk_cumsum_ops(OpRegistry& r);   // TopK, CumSum
void add_reduce_cases(OpRegistry& r);

}  // namespace kiln::reduce_ops
