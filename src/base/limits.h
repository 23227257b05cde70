// Limits that protect Kiln from hostile or broken models. One struct, passed
// explicitly (no environment variables); every allocation sized by a model
// is checked against it.
#pragma once

#include <cstdint>

namespace kiln {

struct Limits {
  // Largest single tensor a kernel or the importer may allocate.
  int64_t max_tensor_bytes = int64_t{4} << 30;
  // Largest output the importer folds into a constant (shape arithmetic).
  int64_t max_folded_elements = int64_t{1} << 16;
  // Subgraph / function nesting depth.
  int max_nesting_depth = 16;
  // Nodes after inlining functions.
  int64_t max_nodes = 1'000'000;
};

}  // namespace kiln
