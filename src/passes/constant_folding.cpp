// Evaluates every node whose inputs are all constants on the CPU reference
// and replaces it by its outputs' values. Unlike the importer's folding
// (shape arithmetic only), this folds tensors of any size up to the limits:
// weight transposes, casts and reshapes of initializers.
#include "backends/cpu/interpreter.h"
#include "passes/pipeline.h"

namespace kiln {

Status fold_constants(Graph& graph, const Limits& limits) {
  std::vector<Node*> folded;
  for (const auto& n : graph.nodes()) {
    Node* node = n.get();
    bool all_constant = true;
    for (const Value* in : node->inputs)
      if (in && !in->constant) all_constant = false;
    if (!all_constant) continue;
    std::vector<const Tensor*> args;
    for (const Value* in : node->inputs) args.push_back(in ? in->constant.get() : nullptr);
    auto values = run_node_cpu(*node, args, limits);
    if (!values.ok()) return values.status().with_context("constant folding");
    for (size_t i = 0; i < node->outputs.size(); ++i)
      if (node->outputs[i]) node->outputs[i]->constant = std::make_shared<const Tensor>(std::move((*values)[i]));
    folded.push_back(node);
  }
  for (Node* node : folded) graph.remove_node(node);
  return Status::Ok();
}

}  // namespace kiln
