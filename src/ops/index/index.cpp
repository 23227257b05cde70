#include "ops/families.h"
#include "ops/index/index_util.h"

namespace kiln {

// Gather*, Scatter*, OneHot, NonZero, Trilu, Compress, NonMaxSuppression:
// ops that read or write at positions given by data.
void register_index_ops(OpRegistry& r) {
  index_family::register_gather_ops(r);
  index_family::register_scatter_ops(r);
  index_family::register_select_ops(r);
  index_family::register_nms_ops(r);
  index_family::add_index_cases(r);
}

}  // namespace kiln
