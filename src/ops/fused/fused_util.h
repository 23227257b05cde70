// Helpers of the kiln.* fused ops: a fused op's inference and CPU reference
// are those of the ONNX ops it replaces, run on the fused node's inputs, so
// the reference stays exactly what the unfused graph computes.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "ops/op_schema.h"

namespace kiln {

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
