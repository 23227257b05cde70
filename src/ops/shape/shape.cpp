#include "ops/families.h"
#include "ops/shape/shape_util.h"

namespace kiln {

// Reshape, Transpose, Concat, Slice, Shape, ...: ops that move, relabel or
// produce elements without arithmetic on them (dtype-generic where ONNX is).
void register_shape_ops(OpRegistry& r) {
  shape_family::register_layout_ops(r);
  shape_family::register_concat_split_ops(r);
  shape_family::register_slice_ops(r);
  shape_family::register_source_ops(r);
  shape_family::add_shape_cases(r);
}

}  // namespace kiln
