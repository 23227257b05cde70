#include "ops/families.h"

namespace kiln {

// Placeholder until the family's ops land.
void register_pool_ops(OpRegistry&) {}

}  // namespace kiln
