// Applies an op's shape/type inference to a node in a graph: checks arity,
// runs the schema's infer function, and writes dtype, shape and (where the
// op computed it) constant value onto the node's output values.
#pragma once

#include "base/limits.h"
#include "base/status.h"
#include "ir/graph.h"
#include "ops/op_schema.h"

namespace kiln {

Status infer_node(Node& node, const Limits& limits, const OpRegistry& registry = OpRegistry::global());

// Runs infer_node over every node in order; stops at the first error.
Status infer_graph(Graph& graph, const Limits& limits, const OpRegistry& registry = OpRegistry::global());

// Adds `value` as a constant input at `index` of `node` (for opset upgrades
// that turn attributes into inputs). Pads with omitted inputs if needed.
Value* add_constant_input(Graph& graph, Node& node, size_t index, Tensor value, const std::string& hint);

}  // namespace kiln
