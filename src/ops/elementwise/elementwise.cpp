#include "ops/families.h"

namespace kiln {

// Placeholder until the family's ops land.
void register_elementwise_ops(OpRegistry&) {}

}  // namespace kiln
