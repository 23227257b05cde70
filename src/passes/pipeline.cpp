#include "passes/pipeline.h"

#include "ir/verifier.h"

namespace kiln {

Status run_build_passes(Graph& graph, const PassOptions& options) {
  KILN_RETURN_IF_ERROR(fold_constants(graph, options.limits));
  KILN_RETURN_IF_ERROR(materialize_outputs(graph));
  graph.remove_dead_nodes();
  if (options.fp16) KILN_RETURN_IF_ERROR(convert_to_fp16(graph));
  graph.remove_dead_nodes();
  graph.remove_dead_values();
  return verify_graph(graph);
}

}  // namespace kiln
