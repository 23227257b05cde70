#include "ir/layout.h"

namespace kiln {

const char* layout_name(Layout l) {
  switch (l) {
    case Layout::kLinear: return "linear";
    case Layout::kNHWC: return "nhwc";
  }
  return "?";
}

}  // namespace kiln
