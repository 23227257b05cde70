#include "ops/families.h"

namespace kiln {

// Placeholder until the family's ops land.
void register_matmul_ops(OpRegistry&) {}

}  // namespace kiln
