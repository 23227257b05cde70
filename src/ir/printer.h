// Readable text dump of a graph, one node per line:
//   %y: float32[1,64,56,56] = Conv(%x, %w, %b) {kernel_shape=[3,3], pads=[1,1,1,1]}
#pragma once

#include <string>

#include "ir/graph.h"

namespace kiln {

std::string print_graph(const Graph& graph);

}  // namespace kiln
