// Quantization granularity shared by QuantizeLinear and DequantizeLinear:
// which scale (and zero point) element applies to each element of x.
//
//   per-tensor: scale is a scalar (or holds one value)
//   per-axis:   scale is 1-D of length x.shape[axis]
//   blocked:    scale has x's rank; along `axis` it has ceil(D / block_size)
//               entries, each covering block_size consecutive elements
#pragma once

#include <cstdint>
#include <vector>

#include "ir/graph.h"

namespace kiln {

struct QuantLayoutAttrs {
  int64_t axis = 1;
  int64_t block_size = 0;
};

struct QuantLayout {
  enum Kind { kPerTensor, kPerAxis, kBlocked } kind = kPerTensor;
  int64_t axis = 0;        // normalised; unused per tensor
  int64_t block_size = 0;  // blocked only
};

Expected<QuantLayoutAttrs> read_layout_attrs(const Node& node);

// Validates the scale and zero-point shapes against x (symbolic dims are
// checked where static) and picks the granularity. `axis` is only checked
// when it matters (per-axis, blocked), as ONNX says.
Expected<QuantLayout> check_layout(const Node& node, const QuantLayoutAttrs& attrs, const Shape& x, const Shape& scale,
                                   const Shape* zero_point);

// Maps a flat index of x to the flat index of its scale element. The layout
// must have been checked against these (static) dims.
class ScaleIndex {
 public:
  ScaleIndex(const QuantLayout& layout, const std::vector<int64_t>& x_dims);
  int64_t operator()(int64_t i) const;

 private:
  QuantLayout::Kind kind_;
  int64_t dim_ = 1, inner_ = 1, scale_dim_ = 1, block_ = 1;
};

}  // namespace kiln
