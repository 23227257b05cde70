// Inlines model-local functions (ModelProto.functions) into the main graph at
// the protobuf level, before IR conversion: each call node is replaced by the
// function body with values renamed under the call's name and attribute
// references (ref_attr_name) bound to the call's attributes or the
// function's defaults. Nested calls are expanded up to a fixed depth.
#pragma once

#include <map>
#include <string>

#include "base/limits.h"
#include "base/status.h"
#include "onnx/onnx_model.h"

namespace kiln::onnx {

// A node together with the opset versions its domain resolves against (the
// model's imports for graph nodes, the function's imports for inlined ones).
struct ResolvedNode {
  NodeProto node;
  const std::map<std::string, int64_t>* opsets = nullptr;
};

// Returns the graph's nodes with every call of a local function expanded.
// `model_opsets` maps domain ("" for ai.onnx) to version; the returned nodes
// point into `opset_storage`, which must outlive them.
Expected<std::vector<ResolvedNode>> inline_functions(const ModelProto& model,
                                                     const std::map<std::string, int64_t>& model_opsets,
                                                     std::vector<std::map<std::string, int64_t>>& opset_storage,
                                                     const Limits& limits);

// Normalises a domain name: "ai.onnx" and "" are the same domain.
inline std::string canonical_domain(const std::string& d) { return d == "ai.onnx" ? std::string() : d; }

}  // namespace kiln::onnx
