// Helpers shared by the shape family's files: axis checks that name the node,
// integer inputs read as vectors, products of possibly symbolic dims, and
// byte copies of whole elements (the family's kernels are dtype-generic).
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <vector>

#include "ops/op_schema.h"

namespace kiln::shape_family {

// Register functions of the family's files (called from shape.cpp).
void register_layout_ops(OpRegistry& r);     // Reshape, Flatten, Squeeze, Unsqueeze, Transpose
void register_concat_split_ops(OpRegistry& r);  // Concat, Split
void register_slice_ops(OpRegistry& r);      // Slice, Expand, Tile
void register_source_ops(OpRegistry& r);     // Shape, Size, ConstantOfShape, Range, Constant, Dropout
void add_shape_cases(OpRegistry& r);

// A schema of this family with the given arity (one output).
OpSchema make_schema(const char* name, int min_inputs, int max_inputs, InferFn infer, CpuFn cpu);

// A fresh unknown dim in inference; an anonymous one when `ctx` is null (the
// kernels, whose shapes are all static, never keep it).
Dim unknown(const InferContext* ctx);

// Axis in [-rank, rank) normalised to [0, rank); kOutOfRange naming the node.
Expected<int64_t> check_axis(const Node& node, int64_t axis, int64_t rank, const char* what);

// Values of an int32/int64 tensor (shape, axes, repeats inputs); error naming
// the input otherwise, or when `rank1` and the tensor is not 1-D.
Expected<std::vector<int64_t>> int_values(const Node& node, const Tensor& t, const char* what, bool rank1);

// The constant value of input i in inference, read as ints; nullopt when the
// input is absent or not constant.
Expected<std::optional<std::vector<int64_t>>> const_ints(const InferContext& ctx, size_t i, const char* what,
                                                         bool rank1);

// Error unless input i is 1-D int32/int64 (an index or shape list).
Status check_int_list_input(const InferContext& ctx, size_t i, const char* what);

// Product of dims: static when all are, the one symbol when it is the only
// non-1 dim, 0 when any dim is 0, unknown otherwise. Overflow is an error.
Expected<Dim> dim_product(const Node& node, const std::vector<Dim>& dims, const InferContext* ctx);

// Small int64 / float32 tensors from values; unlike Tensor::from_i64 and
// from_f32 these never memcpy from an empty vector's null data.
Tensor i64_tensor(const std::vector<int64_t>& values, std::vector<int64_t> dims);
Tensor f32_tensor(const std::vector<float>& values, std::vector<int64_t> dims);

// Static dims of a tensor as a Shape (kernels reuse the inference rules).
inline Shape shape_of(const Tensor& t) { return Shape::of(t.dims()); }

// The static dims of a shape the kernel computed; internal error if some dim
// stayed unknown (a bug: a kernel's inputs are all static).
Expected<std::vector<int64_t>> static_or_internal(const Node& node, const Shape& s);

// Copies `count` whole elements of `elem` bytes each.
inline void copy_elems(uint8_t* dst, int64_t dst_index, const uint8_t* src, int64_t src_index, int64_t count,
                       size_t elem) {
  if (count <= 0) return;
  std::memcpy(dst + static_cast<size_t>(dst_index) * elem, src + static_cast<size_t>(src_index) * elem,
              static_cast<size_t>(count) * elem);
}

// Product of dims[begin, end) of a static shape (already known not to overflow
// because a tensor of these dims exists).
int64_t span_product(const std::vector<int64_t>& dims, size_t begin, size_t end);

// out[idx] = in[base + sum(idx[d] * strides[d])] for every multi-index of
// out's dims: Transpose (permuted strides), Slice (scaled strides and a base)
// and Expand (zero strides on broadcast dims). Offsets are in elements.
void strided_copy(Tensor& out, const Tensor& in, int64_t base, const std::vector<int64_t>& strides);

}  // namespace kiln::shape_family
