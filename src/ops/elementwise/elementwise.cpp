#include "ops/elementwise/elementwise_util.h"
#include "ops/families.h"

namespace kiln {

void register_elementwise_ops(OpRegistry& r) {
  register_binary_math_ops(r);
  register_unary_math_ops(r);
  register_logic_ops(r);
  register_cast_ops(r);
  add_elementwise_cases(r);
}

}  // namespace kiln
