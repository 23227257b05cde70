// Helpers shared by the index family: index checks that name the node, the
// scatter reductions, and whole-element byte copies (the family's gathers
// are dtype-generic).
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include "ops/op_schema.h"

namespace kiln::index_family {

// Register functions of the family's files (called from index.cpp).
void register_gather_ops(OpRegistry& r);   // Gather, GatherElements, GatherND
void register_scatter_ops(OpRegistry& r);  // ScatterND, ScatterElements
void register_select_ops(OpRegistry& r);   // OneHot, NonZero, Trilu, Compress
void register_nms_ops(OpRegistry& r);      // NonMaxSuppression
void add_index_cases(OpRegistry& r);

// A schema of this family with the given arity (one output).
OpSchema make_schema(const char* name, int min_inputs, int max_inputs, InferFn infer, CpuFn cpu);

// Axis in [-rank, rank) normalised to [0, rank); kOutOfRange naming the node.
Expected<int64_t> check_axis(const Node& node, int64_t axis, int64_t rank, const char* what);

// An index read from data: negative values count from the end once; anything
// still outside [0, dim) is a kOutOfRange error naming the node.
Expected<int64_t> wrap_index(const Node& node, int64_t index, int64_t dim, const char* what);

// Error unless `t` is int32 or int64 (index tensors).
Status check_index_dtype(const Node& node, DType t, const char* what);

// Index tensor of a graph in inference: its values when constant, checked
// against a static `dim` (errors surface at build time), else nothing.
Status check_const_indices(const InferContext& ctx, size_t input, const Dim& dim, const char* what);

enum class Reduction { kNone, kAdd, kMul, kMax, kMin };
// The `reduction` attribute of ScatterND/ScatterElements, checked against
// the opset that introduced each value (add/mul 16, max/min 18).
Expected<Reduction> reduction_attr(const Node& node);
// out[i] = reduce(out[i], upd[j]); floats in double, integers in int64
// (wrapping like the hardware), bool as logical or/and.
void apply_reduction(Tensor& out, int64_t i, const Tensor& upd, int64_t j, Reduction r);

// Copies `count` whole elements of `elem` bytes each.
inline void copy_elems(uint8_t* dst, int64_t dst_index, const uint8_t* src, int64_t src_index, int64_t count,
                       size_t elem) {
  if (count <= 0) return;
  std::memcpy(dst + static_cast<size_t>(dst_index) * elem, src + static_cast<size_t>(src_index) * elem,
              static_cast<size_t>(count) * elem);
}

// Product of dims[begin, end) of an existing tensor's dims.
int64_t span_product(const std::vector<int64_t>& dims, size_t begin, size_t end);

// Output `i` allocated as a copy of `src` (Scatter* start from their data).
Expected<Tensor*> alloc_copy(CpuContext& ctx, size_t i, const Tensor& src);

}  // namespace kiln::index_family
