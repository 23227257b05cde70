// Helpers shared inside the norm family: dtype checks, stash_type, the
// per-channel parameter checks, and the per-file register functions.
#pragma once

#include <cstdint>
#include <vector>

#include "ops/op_schema.h"

namespace kiln::norm_ops {

// Ok if input `i` is fp32/fp16/bf16/fp64, else `unsupported` naming it.
Status check_float(const InferContext& ctx, size_t i, const char* what);

// The dtype named by `stash_type` (an ONNX float type code, default 1 = fp32).
Expected<DType> stash_dtype(const Node& node);

// Input `i` must be 1-D with `channels` entries (when both are static).
Status check_per_channel(const InferContext& ctx, size_t i, const char* what, const Dim& channels);

// Same at run time, where sizes are known: guards every indexed read.
Status check_count(const CpuContext& ctx, size_t i, const char* what, int64_t count);

// Input `i` must broadcast one way to a tensor of `shape` (numpy rules,
// its rank at most shape's, each dim equal or 1).
Status check_unidirectional(const InferContext& ctx, size_t i, const char* what, const Shape& shape);
Status check_unidirectional(const CpuContext& ctx, size_t i, const char* what, const std::vector<int64_t>& dims);

// Product of dims[from, to), saturating (only reached with a zero dim elsewhere).
int64_t dims_product(const std::vector<int64_t>& dims, size_t from, size_t to);

void register_batch_instance_ops(OpRegistry& r);  // BatchNormalization, InstanceNormalization
void register_layer_rms_lp_ops(OpRegistry& r);    // LayerNormalization, RMSNormalization, LpNormalization
void register_group_norm_op(OpRegistry& r);       // GroupNormalization
void add_norm_cases(OpRegistry& r);

}  // namespace kiln::norm_ops
