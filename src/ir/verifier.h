// Structural checks of a graph, run after import and after every pass in
// tests: SSA form, user/producer links, topological order, graph I/O.
#pragma once

#include "base/status.h"
#include "ir/graph.h"

namespace kiln {

Status verify_graph(const Graph& graph);

}  // namespace kiln
