// Engines write their outputs into caller-bound memory, so every graph
// output must be produced by a layer: outputs that are constants or graph
// inputs get an Identity node.
#include "passes/pipeline.h"

namespace kiln {

Status materialize_outputs(Graph& graph) {
  for (Value*& out : graph.outputs) {
    if (out->producer && !out->is_graph_input) continue;
    Value* source = out;
    std::string name = out->name;
    // A constant output hands its name to the copy, so callers bind it as
    // before; a graph input cannot (inputs and outputs share one namespace).
    if (!source->is_graph_input) KILN_RETURN_IF_ERROR(graph.rename_value(source, name + "__value"));
    Value* copy = graph.add_unique_value(source->is_graph_input ? name + "_copy" : name);
    copy->dtype = source->dtype;
    copy->shape = source->shape;
    copy->shape_known = source->shape_known;
    // The copy takes the output's name slot in the graph's output list.
    source->is_graph_output = false;
    copy->is_graph_output = true;
    KILN_RETURN_IF_ERROR(graph.add_node("Identity", name + "_identity", {source}, {copy}, "", 13).status());
    out = copy;
  }
  return Status::Ok();
}

}  // namespace kiln
