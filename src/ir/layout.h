// Memory layout of a 4-D activation, chosen by the builder per value.
#pragma once

#include <cstdint>

namespace kiln {

enum class Layout : uint8_t {
  kLinear = 0,  // row-major in ONNX dim order (NCHW for images)
  kNHWC = 1,    // channels last; dims are still listed in ONNX order (N,C,H,W)
};
const char* layout_name(Layout l);

}  // namespace kiln
