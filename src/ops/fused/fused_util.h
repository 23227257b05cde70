// Helpers of the kiln.* fused ops: a fused op's inference and CPU reference
// are those of the ONNX ops it replaces, run on the fused node's inputs, so
// the reference stays exactly what the unfused graph computes.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "ops/op_schema.h"

namespace kiln {

// The schema of kiln.`name` (family "fused", opset 1) taking min..max inputs.
OpSchema fused_schema(const char* name, int min_inputs, int max_inputs);

// The Transpose perm of a `rank`-axis tensor that exchanges axes a and b.
std::vector<int64_t> perm_swapping(size_t rank, size_t a, size_t b);

// Runs ai.onnx `op`'s CPU reference (newest opset) on `inputs` (nullptr for
// an omitted input) as a node named like `parent` with `attrs`; output 0.
Expected<Tensor> run_component(const std::string& op, const Node& parent, const std::map<std::string, Attr>& attrs,
                               const std::vector<const Tensor*>& inputs, const Limits& limits);

// The same for one of Kiln's own ops (domain "kiln", opset 1), so a fused
// op can be the composition of other fused ops.
Expected<Tensor> run_kiln_component(const std::string& op, const Node& parent,
                                    const std::map<std::string, Attr>& attrs,
                                    const std::vector<const Tensor*>& inputs, const Limits& limits);

// Infers ai.onnx `op` on `inputs` (values of the fused node, nullptr for an
// omitted input) with `attrs`, and sets the fused node's output 0 to its
// output 0's type and shape.
Status infer_component(const std::string& op, InferContext& ctx, const std::vector<Value*>& inputs,
                       const std::map<std::string, Attr>& attrs);

}  // namespace kiln
