// Runs a graph node by node on the CPU reference kernels. This is Kiln's
// ground truth: constant folding, conformance tests and every GPU kernel test
// compare against it.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "base/limits.h"
#include "base/status.h"
#include "ir/graph.h"
#include "ops/op_schema.h"

namespace kiln {

// Runs one node on already-computed inputs (nullptr for omitted ones).
// Checks each output against the node's inferred type and static shape, so
// an inference bug shows as an error naming the node.
Expected<std::vector<Tensor>> run_node_cpu(const Node& node, const std::vector<const Tensor*>& inputs,
                                           const Limits& limits, const OpRegistry& registry = OpRegistry::global());

// Runs the whole graph. `inputs` maps graph input names to tensors; each must
// match the declared type and static dims (symbolic dims bind consistently).
// Returns the graph outputs in order.
Expected<std::vector<Tensor>> run_graph_cpu(const Graph& graph, const std::map<std::string, Tensor>& inputs,
                                            const Limits& limits = {});

// Checks one input tensor against its graph input declaration; binds symbols.
Status check_input(const Value& decl, const Tensor& t, std::map<std::string, int64_t>& symbols);

}  // namespace kiln
