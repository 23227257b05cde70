// Small helpers shared by the op families: broadcasting index maps, reading
// constant shape/axes inputs, common inference rules.
#pragma once

#include <cstdint>
#include <vector>

#include "ops/op_schema.h"

namespace kiln {

// Maps each output element of a numpy broadcast to the element offset in one
// input. Usage: BroadcastIndex bi(out_dims, in_dims); bi.offset(i).
class BroadcastIndex {
 public:
  BroadcastIndex(const std::vector<int64_t>& out_dims, const std::vector<int64_t>& in_dims);
  int64_t offset(int64_t out_index) const;

 private:
  std::vector<int64_t> out_dims_;
  std::vector<int64_t> in_strides_;  // 0 on broadcast dims, aligned to out rank
  bool identity_ = false;
};

// A schema of `family` with the given arity, whose inference and CPU
// reference first check that every required input is present: arity checks
// count only trailing omitted inputs, so a required input left out in the
// middle ("" in ONNX) is caught here, before any op reads it.
OpSchema schema_with_required_inputs(const char* family, const char* name, int min_inputs, int max_inputs,
                                     InferFn infer, CpuFn cpu);

// Output i0 gets input 0's type and shape (unary elementwise ops).
Status infer_same_as_input0(InferContext& ctx);

// Reads an int64/int32 constant input as a vector; error naming the node if
// the input is not constant (the op needs its value at build time).
Expected<std::vector<int64_t>> constant_ints(const InferContext& ctx, size_t input, const char* what);

// Unravels a flat index into a multi-index of `dims` (row-major).
void unravel(int64_t index, const std::vector<int64_t>& dims, std::vector<int64_t>& out);

}  // namespace kiln
