#include "ops/families.h"

namespace kiln {

// Called once by OpRegistry::global(). Explicit calls instead of static
// self-registration, which static libraries drop without whole-archive links.
void register_all_families(OpRegistry& r) {
  register_elementwise_ops(r);
  register_activation_ops(r);
  register_conv_ops(r);
  register_pool_ops(r);
  register_resize_ops(r);
  register_norm_ops(r);
  register_reduce_ops(r);
  register_matmul_ops(r);
  register_shape_ops(r);
  register_index_ops(r);
  register_quant_ops(r);
  register_fused_ops(r);
  register_fused_norm_ops(r);
  register_fused_softmax_ops(r);
  register_fused_attention_ops(r);
}

}  // namespace kiln
