#include "passes/pipeline.h"

#include "ir/verifier.h"

namespace kiln {

Status run_build_passes(Graph& graph, const PassOptions& options) {
  KILN_RETURN_IF_ERROR(fold_constants(graph, options.limits));
  KILN_RETURN_IF_ERROR(materialize_outputs(graph));
  graph.remove_dead_nodes();
  KILN_RETURN_IF_ERROR(fold_batchnorm(graph));
  KILN_RETURN_IF_ERROR(fuse_gelu(graph));
  if (options.fuse) {
    KILN_RETURN_IF_ERROR(fuse_conv(graph));
    KILN_RETURN_IF_ERROR(fuse_matmul(graph));
    KILN_RETURN_IF_ERROR(fold_matmul_operands(graph));
    KILN_RETURN_IF_ERROR(fuse_softmax(graph));
    KILN_RETURN_IF_ERROR(fuse_attention(graph, options.fp16));
    KILN_RETURN_IF_ERROR(fuse_layernorm(graph));
  }
  // Precision last: fused layers convert as a whole, with their weights.
  if (options.fp16) KILN_RETURN_IF_ERROR(convert_to_fp16(graph));
  graph.remove_dead_nodes();
  graph.remove_dead_values();
  return verify_graph(graph);
}

}  // namespace kiln
